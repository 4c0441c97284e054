"""The ``dsgrid-sql`` command line: parses options, calls the library, prints results.

This is one of the two modules allowed to print (the other is the REPL's renderer). Every
:class:`~dsgrid_sql.errors.DsgridSqlError` becomes one ``Error: ...`` message and exit code 1;
a user never sees a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from dsgrid_sql import cli_jobs, cli_serve
from dsgrid_sql.cli_options import registry_options
from dsgrid_sql.errors import DsgridSqlError
from dsgrid_sql.render import format_json, format_rows, format_table
from dsgrid_sql.version import __version__

DEMO_DIR = "demo"
DEMO_QUERIES = (
    (
        "Energy by state and end use over the demo's 168 hours, reference scenario, 2030 (MWh)",
        "SELECT us_states, metric, ROUND(SUM(value), 1) AS mwh FROM data "
        "WHERE scenario = 'reference' AND model_year = '2030' GROUP BY ALL ORDER BY ALL LIMIT 12",
    ),
    (
        "Peak hour by census region: sum per hour, then the maximum",
        "SELECT us_census_regions, MAX(mwh) AS peak_mwh, ARG_MAX(timestamp, mwh) AS peak_hour "
        "FROM "
        "(SELECT us_census_regions, timestamp, SUM(value) AS mwh FROM data "
        "WHERE model_year = '2030' AND scenario = 'reference' GROUP BY ALL) "
        "GROUP BY ALL ORDER BY 1",
    ),
    (
        "Electricity vs natural gas by scenario (dual-fuel heating split 25/75)",
        "SELECT scenario, end_uses_by_fuel_type, ROUND(SUM(value)) AS mwh FROM data "
        "GROUP BY ALL ORDER BY ALL",
    ),
)
FORMATS = click.Choice(["table", "json"])


class _Group(click.Group):
    """A click group that turns DsgridSqlError into a one-line error and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DsgridSqlError as exc:
            message = exc.message
            if exc.hint:
                message += f"\nHint: {exc.hint}"
            raise click.ClickException(message) from None


def _open_catalog(ctx: click.Context) -> Any:
    from dsgrid_sql.catalog import Catalog

    registry = ctx.obj.get("registry")
    if registry is None:
        raise click.UsageError(
            "No registry given: pass --registry PATH or set DSGRID_SQL_REGISTRY.", ctx
        )
    return Catalog.open(
        registry,
        data_path=ctx.obj.get("data_path"),
        storage_options=_storage_options(ctx),
    )


def _storage_options(ctx: click.Context) -> Any:
    from dsgrid_sql.storage import StorageOptions

    return StorageOptions.parse(ctx.obj.get("storage_options") or ())


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dsgrid-sql")
@registry_options
@click.pass_context
def main(ctx: click.Context) -> None:
    """dsgrid-sql: query dsgrid registries with SQL.

    --registry and --data-path go before the command or after it (after wins).
    """
    ctx.ensure_object(dict)


# -- catalog ------------------------------------------------------------------------------------


@main.group(cls=_Group, invoke_without_command=True)
@registry_options
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def catalog(ctx: click.Context, fmt: str) -> None:
    """Show what a registry holds: projects, datasets, schemas, tables and columns.

    Without a subcommand, prints projects, datasets and tables.
    """
    ctx.obj["format"] = fmt
    if ctx.invoked_subcommand is None:
        with _open_catalog(ctx) as cat:
            _emit(
                ctx,
                [_projects(cat), _datasets(cat), _tables(cat, None)],
            )


@catalog.command("projects")
@registry_options
@click.pass_context
def catalog_projects(ctx: click.Context) -> None:
    """List projects with their versions and datasets."""
    with _open_catalog(ctx) as cat:
        _emit(ctx, [_projects(cat)])


@catalog.command("datasets")
@registry_options
@click.pass_context
def catalog_datasets(ctx: click.Context) -> None:
    """List datasets, submitted or not, with their versions."""
    with _open_catalog(ctx) as cat:
        _emit(ctx, [_datasets(cat)])


@catalog.command("schemas")
@registry_options
@click.pass_context
def catalog_schemas(ctx: click.Context) -> None:
    """List schemas."""
    with _open_catalog(ctx) as cat:
        rows = [[s, len(cat.list_tables(s)), cat.schema_remarks(s)] for s in cat.list_schemas()]
        _emit(ctx, [("Schemas", ["schema", "tables", "remarks"], rows)])


@catalog.command("tables")
@registry_options
@click.argument("schema", required=False)
@click.pass_context
def catalog_tables(ctx: click.Context, schema: str | None) -> None:
    """List tables, of every schema or of SCHEMA."""
    with _open_catalog(ctx) as cat:
        _emit(ctx, [_tables(cat, schema)])


@catalog.command("columns")
@registry_options
@click.argument("schema", required=False)
@click.pass_context
def catalog_columns(ctx: click.Context, schema: str | None) -> None:
    """List the columns of every table, or of the tables of SCHEMA."""
    from dsgrid_sql.catalog.tables import sql_type_name

    with _open_catalog(ctx) as cat:
        rows = [
            [t.schema, t.name, c.name, sql_type_name(c.type), c.remarks]
            for t in cat.list_tables(schema)
            for c in t.columns
        ]
        _emit(ctx, [("Columns", ["schema", "table", "column", "type", "remarks"], rows)])


@catalog.command("describe")
@registry_options
@click.argument("table")
@click.pass_context
def catalog_describe(ctx: click.Context, table: str) -> None:
    """Show the columns of TABLE (schema.table, or a table of the project) with types and
    remarks."""
    from dsgrid_sql.catalog.tables import sql_type_name

    with _open_catalog(ctx) as cat:
        found = cat.resolve_table(table)
        rows = [
            [
                c.name,
                sql_type_name(c.type),
                "YES" if c.nullable else "NO",
                c.role.value,
                ", ".join(c.aliases),
                c.remarks,
            ]
            for c in found.columns
        ]
        title = f"{found.catalog}.{found.qualified_name} ({found.table_type}): {found.remarks}"
        _emit(
            ctx,
            [(title, ["column", "type", "nullable", "role", "also known as", "remarks"], rows)],
        )


def _registry_rows(cat: Any, table: str) -> list[dict[str, Any]]:
    """Rows of a registry-schema table: the catalog's one listing of projects and datasets."""
    return list(cat.table_data(cat.get_table("registry", table)).to_pylist())


def _projects(cat: Any) -> tuple[str, list[str], list[list[Any]]]:
    rows = [
        [
            r["project_id"],
            r["version"],
            r["versions"],
            r["status"],
            r["submitted_dataset_count"],
            r["dataset_count"],
        ]
        for r in _registry_rows(cat, "projects")
    ]
    return ("Projects", ["project", "version", "versions", "status", "submitted", "listed"], rows)


def _datasets(cat: Any) -> tuple[str, list[str], list[list[Any]]]:
    rows = [
        [
            r["dataset_id"],
            r["version"],
            r["versions"],
            r["table_format"],
            r["submitted_to"] or "(not submitted)",
        ]
        for r in _registry_rows(cat, "datasets")
    ]
    return ("Datasets", ["dataset", "version", "versions", "layout", "submitted to"], rows)


def _tables(cat: Any, schema: str | None) -> tuple[str, list[str], list[list[Any]]]:
    rows = [
        [t.schema, t.name, t.table_type, len(t.columns), t.remarks]
        for t in cat.list_tables(schema)
    ]
    return ("Tables", ["schema", "table", "type", "columns", "remarks"], rows)


def _emit(ctx: click.Context, sections: list[tuple[str, list[str], list[list[Any]]]]) -> None:
    if ctx.obj.get("format") == "json":
        data = {
            title.split(" (")[0].split(":")[0].lower(): [
                dict(zip(headers, row, strict=True)) for row in rows
            ]
            for title, headers, rows in sections
        }
        click.echo(format_json(data if len(sections) > 1 else next(iter(data.values()))))
        return
    click.echo(
        "\n\n".join(format_table(headers, rows, title) for title, headers, rows in sections)
    )


# -- queries ------------------------------------------------------------------------------------


def _session_options(function: Any) -> Any:
    options = [
        click.option(
            "--engine",
            envvar="DSGRID_BACKEND_ENGINE",
            type=click.Choice(["duckdb", "spark"]),
            help="Query engine (env DSGRID_BACKEND_ENGINE; default duckdb).",
        ),
        click.option(
            "--dialect",
            default="duckdb",
            show_default=True,
            help="SQL dialect of the input: duckdb (ANSI-style), spark, postgres, trino, ...",
        ),
        click.option("--project", help="Schema unqualified table names resolve in."),
        click.option(
            "--spark-master",
            envvar="DSGRID_SQL_SPARK_MASTER",
            metavar="URL",
            help="Spark master URL (spark://host:7077, yarn, k8s://...).",
        ),
        click.option(
            "--spark-remote",
            envvar="SPARK_REMOTE",
            metavar="URL",
            help="Spark Connect URL (sc://host:15002).",
        ),
        click.option(
            "--spark-conf",
            multiple=True,
            metavar="KEY=VALUE",
            help="Extra Spark setting (repeatable).",
        ),
        click.option(
            "--export-dir",
            type=click.Path(file_okay=False),
            help="COPY writes only under this folder.",
        ),
        click.option(
            "--no-pushdown", is_flag=True, help="Do not push filters below the mappings."
        ),
        click.option(
            "-f",
            "--file",
            "sql_file",
            type=click.File("r"),
            help="Read the SQL from a file ('-' for stdin).",
        ),
        click.argument("sql", required=False),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _read_sql(sql: str | None, sql_file: Any) -> str:
    if sql_file is not None:
        return str(sql_file.read())
    if sql is None or sql == "-":
        if sys.stdin.isatty():
            raise click.UsageError("Give the SQL as an argument, with -f FILE, or on stdin.")
        return sys.stdin.read()
    return sql


def _registry(ctx: click.Context) -> str:
    registry = ctx.obj.get("registry")
    if registry is None:
        raise click.UsageError(
            "No registry given: pass --registry PATH or set DSGRID_SQL_REGISTRY.", ctx
        )
    return str(registry)


def _spark_conf(params: dict[str, Any]) -> dict[str, str] | None:
    conf = {}
    for item in params["spark_conf"]:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"'{item}' is not KEY=VALUE.", param_hint="--spark-conf")
        conf[key] = value
    return conf or None


def _connect(ctx: click.Context, params: dict[str, Any]) -> Any:
    import dsgrid_sql

    registry = _registry(ctx)
    return dsgrid_sql.connect(
        registry,
        engine=params["engine"],
        dialect=params["dialect"],
        data_path=ctx.obj.get("data_path"),
        storage_options=_storage_options(ctx),
        project=params["project"],
        export_dir=params["export_dir"],
        pushdown=not params["no_pushdown"],
        spark_master=params["spark_master"],
        spark_remote=params["spark_remote"],
        spark_conf=_spark_conf(params),
    )


@main.command()
@registry_options
@_session_options
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help="Write the result to .parquet or .csv."
)
@click.option("--overwrite", is_flag=True, help="Replace --output if it exists.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json", "markdown"]),
    default="table",
    show_default=True,
    help="How to print the result.",
)
@click.pass_context
def query(
    ctx: click.Context, output: str | None, overwrite: bool, fmt: str, **params: Any
) -> None:
    """Run SQL against the registry and print (or --output) the result.

    A query sent again runs from its translation kept in the user cache directory while the
    registry and its data files are unchanged (DSGRID_SQL_CACHE_DIR=off turns that off).
    """
    text = _read_sql(params.pop("sql"), params.pop("sql_file"))
    from dsgrid_sql import translation_cache

    key = _cache_key(ctx, params, text)
    cached = translation_cache.lookup(key) if key is not None else None
    if cached is not None:
        _run_cached(cached, text, params, output, overwrite, fmt)
        return
    # The catalog is imported only now: a cached query never loads it (nor sqlglot, pydantic).
    from dsgrid_sql.catalog.paths import watched

    with watched() as looked_at, _connect(ctx, params) as session:
        result = session.sql(text)
        for note in result.notes:
            click.echo(f"Note: {note}", err=True)
        if output:
            target, rows = result.write(output, overwrite=overwrite)
            click.echo(f"Wrote {rows} rows to {target}.", err=True)
        elif result.message and result.translation is None and fmt == "table":
            click.echo(result.message)
        else:
            click.echo(format_rows(result.to_arrow(), fmt))
        if key is not None and result.translation is not None:
            translation_cache.store(
                key,
                result.translation,
                registry_file=session.catalog.registry_path,
                watched=looked_at,
                lineage=session.lineage_sources(result),
            )


def _cache_key(ctx: click.Context, params: dict[str, Any], text: str) -> str | None:
    """The translation cache's name for this query (None: not a query, or the cache is
    off)."""
    from dsgrid_sql import statements, translation_cache
    from dsgrid_sql.engine import default_engine_name

    registry = _registry(ctx)
    if translation_cache.cache_root() is None:
        return None
    if _remote_named(ctx, registry):
        # Remote objects have no cheap identity to check per query (a request each): a
        # remote registry's queries are planned afresh.
        return None
    try:
        if not isinstance(statements.classify(text), statements.Query):
            return None
    except DsgridSqlError:
        return None  # the session reports it
    try:
        settings = translation_cache.engine_settings(
            registry=registry,
            data_path=ctx.obj.get("data_path"),
            engine=(params["engine"] or default_engine_name()).lower(),
            dialect=params["dialect"],
            project=params["project"],
            pushdown=not params["no_pushdown"],
        )
    except OSError:  # the working directory is gone: relative paths mean nothing
        return None
    return translation_cache.entry_key(text, settings)


def _remote_named(ctx: click.Context, registry: str) -> bool:
    from dsgrid_sql.storage import is_remote

    return is_remote(registry) or is_remote(str(ctx.obj.get("data_path") or ""))


def _run_cached(
    cached: Any, text: str, params: dict[str, Any], output: str | None, overwrite: bool, fmt: str
) -> None:
    """A query from its kept translation: the engine alone, as the session would run it."""
    from dsgrid_sql.engine import default_engine_name, make_engine

    name = (params["engine"] or default_engine_name()).lower()
    engine = make_engine(
        name,
        spark_master=params["spark_master"],
        spark_remote=params["spark_remote"],
        spark_conf=_spark_conf(params),
    )
    try:
        for note in cached.notes:
            click.echo(f"Note: {note}", err=True)
        reader = engine.run(cached.sql, cached.inputs, repeatable=cached.repeatable)
        if output:
            from dsgrid_sql.export import lineage, write_result

            target, rows = write_result(
                reader,
                output,
                metadata=lineage(text, cached.lineage, name),
                overwrite=overwrite,
                export_dir=params["export_dir"],
                # The registry and the data this query reads are never written over.
                protected=[Path(cached.lineage["registry"])]
                + [Path(i.path) for i in cached.inputs if getattr(i, "path", None)],
            )
            click.echo(f"Wrote {rows} rows to {target}.", err=True)
            return
        click.echo(format_rows(reader.read_all(), fmt))
    finally:
        engine.close()


@main.command()
@registry_options
@_session_options
@click.pass_context
def explain(ctx: click.Context, **params: Any) -> None:
    """Show the mapping plan per dataset (mappings, pushed filters, unit and time
    conversions), then the engine SQL."""
    text = _read_sql(params.pop("sql"), params.pop("sql_file"))
    with _connect(ctx, params) as session:
        click.echo(session.explain(text))


@main.command()
@registry_options
@_session_options
@click.option(
    "--to",
    "target",
    type=click.Choice(["duckdb", "spark"]),
    help="Engine dialect (default: the engine's).",
)
@click.pass_context
def translate(ctx: click.Context, target: str | None, **params: Any) -> None:
    """Print the engine SQL a query becomes."""
    text = _read_sql(params.pop("sql"), params.pop("sql_file"))
    with _connect(ctx, params) as session:
        click.echo(
            session.translate(text, target=target or params["engine"]).ast.sql(
                dialect=target or session.engine_name, identify=True, pretty=True
            )
        )


# -- repl ---------------------------------------------------------------------------------------


@main.command()
@registry_options
@_session_options
@click.option(
    "-c",
    "--command",
    "commands",
    multiple=True,
    metavar="SQL",
    help="Run SQL (or a \\command) and exit; repeatable.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "vertical", "csv", "json", "markdown"]),
    help="How to print results (default: the REPL config's, table).",
)
@click.pass_context
def repl(ctx: click.Context, commands: tuple[str, ...], fmt: str | None, **params: Any) -> None:
    """Interactive SQL with completion of tables, columns and dimension records.

    With -c SQL, -f FILE, SQL as an argument, or SQL on stdin (not a terminal), runs the
    statements (split on ';'; backslash commands one per line) and exits non-zero on the
    first error. Type \\? in the REPL for its commands.
    """
    from dsgrid_sql.repl import run_repl

    sql, sql_file = params.pop("sql"), params.pop("sql_file")
    script: str | None = None
    if commands:
        # Each -c ends as a statement of its own (the ';' on its own line, after any trailing
        # comment); a backslash command ends at its line's end.
        script = "\n".join(
            c.strip() if c.strip().startswith("\\") else c + "\n;" for c in commands
        )
    elif sql_file is not None or sql is not None:
        script = _read_sql(sql, sql_file)
    elif not sys.stdin.isatty():
        script = sys.stdin.read()
    with _connect(ctx, params) as session:
        code = run_repl(session, script=script, fmt=fmt)
    ctx.exit(code)


# -- generate and demo ------------------------------------------------------------------------


@main.command()
@click.argument("output", type=click.Path(file_okay=False, path_type=Path))
@click.option("--project-id", default="dsgrid_demo", show_default=True)
@click.option("--counties", type=int, default=60, show_default=True)
@click.option("--hours", type=int, default=168, show_default=True, help="Hours of hourly data.")
@click.option(
    "--datasets",
    type=int,
    default=None,
    help="Number of datasets, cycling through the templates [default: one per template].",
)
@click.option(
    "--templates",
    default="commercial,residential,ev_annual",
    show_default=True,
    help="Dataset shapes, comma-separated, or 'all': commercial, residential, ev_annual, "
    "ev_rep_week, ev_rep_weekday (representative periods), industry_index, industry_index_pe "
    "(index time), growth (growth rates, no time).",
)
@click.option(
    "--unsubmitted",
    type=int,
    default=0,
    show_default=True,
    help="Register the last N datasets without submitting them.",
)
@click.option("--model-years", default="2020,2030,2040,2050", show_default=True)
@click.option("--scenarios", default="reference,high_electrification", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--ev-metric-base", is_flag=True, help="Give EV data its own metric base dimension.")
@click.option(
    "--dataset-versions",
    type=int,
    default=1,
    show_default=True,
    help="Register the first submitted dataset again N-1 times (versions 1.1.0, 1.2.0, ...; "
    "values ×1.1 each time), with a project version naming each.",
)
@click.option(
    "--legacy-seed",
    type=int,
    default=None,
    help="Spell the models in other ways dsgrid accepts (absent and null fields, aliases, "
    "legacy forms), chosen by this seed.",
)
@click.option(
    "--like",
    type=click.Choice(["test_efs"]),
    default=None,
    help="Instead of the options above, a registry shaped like dsgrid's own test project "
    "test_efs (its ids, dimensions, mappings and versions; values from --seed).",
)
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT if it exists.")
def generate(output: Path, overwrite: bool, like: str | None, **params: Any) -> None:
    """Write a dsgrid registry (registry.db + Parquet) into OUTPUT."""
    from dsgrid_sql.generator import estimate_rows, generate_efs_like, generate_registry

    if like is not None:
        result = generate_efs_like(output, seed=params["seed"], overwrite=overwrite)
        click.echo(str(result.path))
        return
    spec = _spec(**params)
    click.echo(f"Generating {estimate_rows(spec):,} value rows into {output} ...", err=True)
    result = generate_registry(output, spec, overwrite=overwrite)
    for dataset_id, rows in result.rows.items():
        click.echo(f"  {dataset_id}: {rows:,} rows", err=True)
    click.echo(str(result.path))


@main.command()
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEMO_DIR,
    show_default=True,
    help="Where the demo registry lives.",
)
@click.pass_context
def demo(ctx: click.Context, output: Path) -> None:
    """Generate the demo registry (once) and show what it holds."""
    from dsgrid_sql.generator import GeneratorSpec, generate_registry

    registry = output / "registry.db"
    if not registry.exists():
        click.echo(f"Generating the demo registry in {output} ...", err=True)
        generate_registry(output, GeneratorSpec())
    ctx.obj["registry"] = str(registry)
    ctx.obj["format"] = "table"
    with _open_catalog(ctx) as cat:
        project_id = cat.list_project_ids()[0]
        _emit(ctx, [_projects(cat), _datasets(cat), _tables(cat, project_id)])
        columns = cat.get_table(project_id, "data").columns
        click.echo(f"\nColumns of {project_id}.data: {', '.join(c.name for c in columns)}")
    import dsgrid_sql

    with dsgrid_sql.connect(registry) as session:
        for title, sql in DEMO_QUERIES:
            click.echo(f"\n-- {title}\n{sql};")
            click.echo(format_rows(session.sql(sql).to_arrow(), "table"))


def _spec(**params: Any) -> Any:
    from pydantic import ValidationError

    from dsgrid_sql.generator import GeneratorSpec
    from dsgrid_sql.generator.spec import ALL_TEMPLATES

    params["model_years"] = tuple(y.strip() for y in params["model_years"].split(",") if y.strip())
    params["scenarios"] = tuple(s.strip() for s in params["scenarios"].split(",") if s.strip())
    templates = params["templates"].strip()
    params["templates"] = (
        ALL_TEMPLATES
        if templates == "all"
        else tuple(t.strip() for t in templates.split(",") if t.strip())
    )
    try:
        return GeneratorSpec(**params)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "parameters"
        raise click.BadParameter(err["msg"], param_hint=f"--{field.replace('_', '-')}") from None


# -- serve (the Flight SQL endpoint's commands live in cli_serve.py) -----------------------

main.add_command(cli_serve.serve)
main.add_command(cli_serve.users)
main.add_command(cli_serve.web)


# -- jobs on a server (cli_jobs.py) ----------------------------------------------------------

main.add_command(cli_jobs.jobs)


def run() -> None:
    """Entry point that never shows a traceback for a broken pipe."""
    try:
        main()
    except BrokenPipeError:
        sys.stderr.close()


@main.command()
@registry_options
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--engine", type=click.Choice(["duckdb", "spark"]),
              help="Engine (default: the one FILE was written with).")  # fmt: skip
@click.pass_context
def reproduce(ctx: click.Context, file: str, engine: str | None) -> None:
    """Run the query FILE records (an export or a job result) again, pinned to the project
    versions it records, and say whether the answer is the same (exit 0) or not (exit 1).
    The registry is the one FILE names unless --registry gives another."""
    from dsgrid_sql.reproduction import reproduce as run

    outcome = run(file, ctx.obj.get("registry"), engine=engine, data_path=ctx.obj.get("data_path"))
    click.echo(outcome.summary())
    if not outcome.same:
        raise SystemExit(1)
