"""The Python API: ``connect()`` → ``Session``; ``session.sql()`` → ``Result``.

A session joins the three lower layers: the catalog (registry), the rewrite (SQL → mapped
SQL) and an engine (DuckDB or Spark). Front ends — CLI, REPL, DB-API, Flight — call this and
never build SQL themselves.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa

from dsgrid_sql import statements as st
from dsgrid_sql.catalog import Catalog, ColumnRole, arrays
from dsgrid_sql.catalog.tables import INFORMATION_SCHEMA, sql_type_name
from dsgrid_sql.engine import ENGINES, Engine, default_engine_name, make_engine
from dsgrid_sql.errors import (
    DsgridSqlError,
    UnknownNameError,
    UnknownSchemaError,
    UnsupportedSqlError,
)
from dsgrid_sql.explain import explain_text
from dsgrid_sql.export import export_format, lineage, resolve_export_path, write_result
from dsgrid_sql.rewrite.parse import (
    DEFAULT_LIMITS,
    SqlLimits,
    check_dialect,
    check_limits,
    parameter_count,
    sql_limits,
    too_deep,
)
from dsgrid_sql.rewrite.translate import Translation, translate
from dsgrid_sql.rewrite.versions import AsOf, parse_as_of
from dsgrid_sql.suggest import did_you_mean

SETTINGS = ("dialect", "engine", "schema", "pushdown", "aggregate_early", "as_of")


class Result:
    """The outcome of one statement. Queries run on first access to their rows."""

    def __init__(
        self,
        session: Session,
        text: str,
        *,
        translation: Translation | None = None,
        table: pa.Table | None = None,
        message: str | None = None,
        notes: list[str] | None = None,
    ) -> None:
        self._session = session
        self.text = text
        self.translation = translation
        self._table = table
        self.message = message
        self._notes = notes or []
        self._lock = threading.Lock()
        # Names this result's engine query, so that it alone can be cancelled.
        self.id = uuid.uuid4().hex

    @property
    def notes(self) -> list[str]:
        """What the rows leave out and why (datasets the registry cannot read); empty when
        nothing is left out. Front ends show these beside the rows."""
        return self.translation.notes if self.translation is not None else self._notes

    @property
    def schema(self) -> pa.Schema:
        return self.to_arrow().schema

    def to_reader(self, *, progress: bool = False) -> pa.RecordBatchReader:
        """Batches as the engine produces them (read once); with ``progress`` the engine
        tracks how far the query is (Engine.progress, by this result's id)."""
        if self._table is not None:
            return pa.RecordBatchReader.from_batches(self._table.schema, self._table.to_batches())
        assert self.translation is not None
        return self._session._run(self.translation, tag=self.id, progress=progress)

    def plan_schema(self) -> pa.Schema:
        """The schema the rows will have, without running the query."""
        if self._table is not None:
            return self._table.schema
        assert self.translation is not None
        return self._session.engine.schema(self.translation.sql, self.translation.inputs)

    def cancel(self) -> None:
        """Stop this result's engine query if it is running (from any thread)."""
        if self.translation is not None:
            self._session.cancel(self.id)

    def to_arrow(self) -> pa.Table:
        with self._lock:
            if self._table is None:
                self._table = self.to_reader().read_all()
            return self._table

    def to_pandas(self) -> Any:
        return self.to_arrow().to_pandas()

    def to_polars(self) -> Any:
        import polars as pl

        return pl.from_arrow(self.to_arrow())

    def to_parquet(
        self,
        path: str | Path,
        *,
        partition_by: Sequence[str] | None = None,
        overwrite: bool = False,
    ) -> Any:
        """Write the rows as Parquet to ``path`` (a local path or an ``s3://`` URL); returns
        where they were written."""
        target, _ = self.write(
            path, file_format="parquet", partition_by=partition_by, overwrite=overwrite
        )
        return target

    def write(
        self,
        path: str | Path,
        *,
        file_format: str | None = None,
        partition_by: Sequence[str] | None = None,
        overwrite: bool = False,
    ) -> tuple[Any, int]:
        """Write the rows to Parquet or CSV (from the suffix unless given; a format the
        suffix contradicts is an error), atomically, with lineage metadata and inside the
        session's export directory; returns (path, rows)."""
        file_format = export_format(path, file_format)
        return write_result(
            self.to_reader(),
            path,
            file_format=file_format,
            partition_by=partition_by,
            metadata=self._session.lineage(self),
            overwrite=overwrite,
            export_dir=self._session.export_dir,
            protected=self._session.registry_paths(),
            storage_options=self._session.catalog.storage_options,
        )

    def explain(self) -> str:
        if self.translation is None:
            return self.message or "(not a query)"
        return explain_text(self.translation)


class Session:
    """A registry, an engine and the settings queries run with."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        engine: str | Engine | None = None,
        dialect: str = "duckdb",
        schema: str | None = None,
        export_dir: str | Path | None = None,
        pushdown: bool = True,
        aggregate_early: bool = True,
        engine_options: dict[str, Any] | None = None,
        allow_copy: bool = True,
        max_sql_length: int = DEFAULT_LIMITS.max_length,
        max_nesting_depth: int = DEFAULT_LIMITS.max_depth,
        max_series_rows: int = DEFAULT_LIMITS.max_series_rows,
        jobs_dir: str | Path | None = None,
    ) -> None:
        self.catalog = catalog
        # Where submit() keeps jobs (None: DSGRID_SQL_JOBS_DIR or the user's data folder).
        self.jobs_dir = jobs_dir
        # Project tables read as the registry held them at a time or versions (SET as_of;
        # rewrite/versions.py); None reads current versions.
        self.as_of: AsOf | None = None
        self._jobs: Any = None
        # Parsing guards (DESIGN.md §8): characters of SQL text, levels of nesting, rows of
        # one generate_series; 0 = none.
        self.limits = SqlLimits(max_sql_length, max_nesting_depth, max_series_rows)
        # An Engine instance is shared with its owner (a server runs one engine for all its
        # clients); the session neither replaces nor closes it.
        self._engine: Engine | None = engine if isinstance(engine, Engine) else None
        self._owns_engine = self._engine is None
        name = engine.name if isinstance(engine, Engine) else engine
        self.engine_name = (name or default_engine_name()).lower()
        if self.engine_name not in ENGINES:
            raise DsgridSqlError(
                f"Unknown engine '{self.engine_name}'.", hint=f"Engines: {', '.join(ENGINES)}."
            )
        check_dialect(dialect)
        self.dialect = dialect
        self.schema = None
        if schema is not None:
            self.use(schema)
        self.export_dir = export_dir
        # A server lets remote clients COPY only into its export directory.
        self.allow_copy = allow_copy
        self.pushdown = pushdown
        # Sum each dataset over the columns a query reads before its mappings, where the
        # query only sums (off: the literal plan, for comparison).
        self.aggregate_early = aggregate_early
        self._engine_options = engine_options or {}
        self._engine_lock = threading.Lock()

    # -- engine ---------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        with self._engine_lock:
            if self._engine is None or self._engine.name != self.engine_name:
                if self._engine is not None and self._owns_engine:
                    self._engine.close()
                self._engine = make_engine(self.engine_name, **self._engine_options)
                self._owns_engine = True
            return self._engine

    def _run(
        self, translation: Translation, tag: str | None = None, progress: bool = False
    ) -> pa.RecordBatchReader:
        return self.engine.run(
            translation.sql,
            translation.inputs,
            tag=tag,
            repeatable=translation.repeatable,
            progress=progress,
        )

    def submit(self, text: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        """Run a query as a job: returns a ``Job`` at once (``status()``, ``wait()``,
        ``result()``, ``cancel()``); its result is kept as Parquet in the jobs directory,
        where ``dsgrid_sql.jobs.open_job(id)`` finds it from any process. A mistake in the
        SQL is raised here, not later."""
        from dsgrid_sql.jobs import Job, JobRunner, JobStore, local_owner

        with self._engine_lock:
            if self._jobs is None:
                self._jobs = JobRunner(JobStore(self.jobs_dir))
        owner = local_owner()
        record = self._jobs.submit(self, text, params, owner=owner)
        return Job(record.id, owner, runner=self._jobs, store=self._jobs.store)

    def cancel(self, tag: str | None = None) -> None:
        """Stop one running query (by its Result.id) or, with no tag, all of them."""
        if self._engine is not None:
            self._engine.cancel(tag)

    def close(self) -> None:
        if self._jobs is not None:
            self._jobs.close()
        if self._engine is not None and self._owns_engine:
            self._engine.close()
        self.catalog.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- statements -----------------------------------------------------------------------

    @property
    def current_schema(self) -> str | None:
        return self.schema or self.catalog.default_schema

    def translate(
        self,
        text: str,
        *,
        target: str | None = None,
        params: Any = None,
        read_subqueries: bool = True,
    ) -> Translation:
        try:
            with sql_limits(self.limits):
                return translate(
                    text,
                    self.catalog,
                    dialect=self.dialect,
                    target=target or self.engine_name,
                    default_schema=self.current_schema,
                    params=params,
                    pushdown=self.pushdown,
                    aggregate_early=self.aggregate_early,
                    read_query=self._read_query,
                    as_of=self.as_of,
                    read_subqueries=read_subqueries,
                )
        except RecursionError:
            # A shape the nesting limit does not count can still be too deep to rewrite.
            raise too_deep(self.limits) from None

    def _read_query(self, text: str) -> pa.Table:
        """A query's answer: the values a PIVOT without an IN list pivots on, a subquery's
        answer read first (rewrite/subquery_values.py); within the request's time limit,
        since it runs inside a translation (Engine.read_within_time_limit)."""
        translation = self.translate(text)
        return self.engine.read_within_time_limit(
            translation.sql, translation.inputs, repeatable=translation.repeatable
        )

    def sql(self, text: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Result:
        statement = st.classify(text)
        if isinstance(statement, st.Query):
            # Parsing checks the limits (translate); checking here too scanned it twice.
            return Result(self, text, translation=self.translate(text, params=params))
        check_limits(text, self.dialect, self.limits)
        if params:
            raise UnsupportedSqlError("Parameters are only accepted by queries.")
        return self._meta(statement, text)

    def explain(self, text: str) -> str:
        return explain_text(self.translate(text))

    def parameter_count(self, text: str) -> int:
        """How many ``?`` / ``$n`` placeholders a statement has (0 for non-queries)."""
        if not isinstance(st.classify(text), st.Query):
            return 0
        with sql_limits(self.limits):
            return parameter_count(text, self.dialect)

    def result_schema(self, text: str) -> pa.Schema:
        """The schema ``sql(text)`` will produce, without running the query or any side
        effect of the statement (clients ask for it before they bind parameters)."""
        statement = st.classify(text)
        if isinstance(statement, st.Query):
            # Unbound placeholders become NULL: the result's columns do not depend on them.
            params = [None] * self.parameter_count(text)
            # No subquery is read first (rewrite/subquery_values.py): its answer changes
            # no column, and a client asks for the schema before every statement it runs.
            translation = self.translate(text, params=params or None, read_subqueries=False)
            return Result(self, text, translation=translation).plan_schema()
        fixed = _STATEMENT_SCHEMAS.get(type(statement))
        if fixed is not None:
            return fixed
        return self._meta(statement, text).to_arrow().schema

    def use(self, schema: str) -> None:
        schemas = self.catalog.list_schemas()
        match = (
            schema if schema in schemas else {s.lower(): s for s in schemas}.get(schema.lower())
        )
        if match is None:
            raise UnknownSchemaError(
                f"Unknown schema '{schema}'.", suggestion=did_you_mean(schema, schemas)
            )
        self.schema = match

    def set(self, name: str, value: str) -> str:
        name = name.lower()
        if name == "dialect":
            check_dialect(value.lower())
            self.dialect = value.lower()
        elif name == "engine":
            if value.lower() not in ENGINES:
                raise DsgridSqlError(
                    f"Unknown engine '{value}'.", hint=f"Engines: {', '.join(ENGINES)}."
                )
            self.engine_name = value.lower()
        elif name in ("schema", "project"):
            self.use(value)
        elif name in ("pushdown", "aggregate_early"):
            setattr(self, name, _switch(name, value))
        elif name == "as_of":
            as_of = parse_as_of(value)
            for project_id, version in as_of.versions if as_of is not None else ():
                self.catalog.versioned_schema(project_id, version)  # known, or an error now
            self.as_of = as_of
            return f"as_of = {as_of.text() if as_of is not None else 'current versions'}"
        else:
            raise UnsupportedSqlError(
                f"Unknown setting '{name}'.",
                suggestion=did_you_mean(name, list(SETTINGS)),
                hint=f"Settings: {', '.join(SETTINGS)}.",
            )
        return f"{name} = {getattr(self, 'engine_name' if name == 'engine' else name, value)}"

    def registry_paths(self) -> list[Any]:
        """The registry's own file and data folder (local paths or S3 prefixes): exports
        never write there."""
        paths: list[Any] = [Path(self.catalog.registry_path), self.catalog.data_root]
        if self.catalog.source.remote:
            paths.append(self.catalog.source.location)
        return paths

    def lineage(self, result: Result) -> dict[str, Any]:
        """What a written file records about where its numbers came from."""
        return lineage(result.text, self.lineage_sources(result), self.engine_name)

    def lineage_sources(self, result: Result) -> dict[str, Any]:
        """The projects and datasets (with versions) a result read, and the registry."""
        projects: dict[str, str] = {}
        datasets: dict[str, str] = {}
        if result.translation is not None:
            for table in result.translation.tables:
                if table.project_id:
                    projects[table.project_id] = table.project_version or ""
            for plan in result.translation.plans:
                for dataset_plan in plan.datasets:
                    datasets[dataset_plan.dataset_id] = dataset_plan.dataset.version or ""
        return {
            "projects": projects,
            "datasets": datasets,
            # As the user named it: an s3:// URL for a remote registry, never its cache copy.
            "registry": str(self.catalog.source),
        }

    def _meta(self, statement: st.Statement, text: str) -> Result:
        catalog = self.catalog
        # SHOW statements read the catalog's own registry and information_schema tables,
        # so they list exactly what those tables (and BI tools) see.
        if isinstance(statement, st.ShowProjects):
            projects = self._catalog_rows("registry", "projects")
            columns = ["project_id", "version", "status", "problem"]
            return Result(self, text, table=projects.select(columns))
        if isinstance(statement, st.ShowSchemas):
            schemata = self._catalog_rows(INFORMATION_SCHEMA, "schemata")
            return Result(self, text, table=schemata.select(["schema_name", "remarks"]))
        if isinstance(statement, st.ShowTables):
            schema = statement.schema or self.current_schema
            if schema is not None:
                self.catalog.list_tables(schema)  # an unknown schema is an error here
            tables = self._catalog_rows(INFORMATION_SCHEMA, "tables")
            if schema is not None:
                keep = [s == schema for s in tables["table_schema"].to_pylist()]
                tables = tables.filter(arrays.array(keep, pa.bool_()))
            columns = ["table_schema", "table_name", "table_type", "remarks"]
            left_out = catalog.problems(schema)
            return Result(self, text, table=tables.select(columns), notes=left_out)
        if isinstance(statement, st.Describe):
            table = catalog.resolve_table(statement.table, self.current_schema)
            rows = [
                {
                    "column_name": c.name,
                    "column_type": sql_type_name(c.type),
                    "null": "YES" if c.nullable else "NO",
                    "role": c.role.value,
                    "remarks": c.remarks,
                }
                for c in table.columns
            ]
            return Result(
                self,
                text,
                table=_table(rows, ["column_name", "column_type", "null", "role", "remarks"]),
            )
        if isinstance(statement, st.ShowDimensions):
            name = statement.table or "data"
            table = catalog.resolve_table(name, self.current_schema)
            rows = [
                {
                    "column_name": c.name,
                    "category": "base" if c.role is ColumnRole.DIMENSION else "supplemental",
                    "dimension_type": c.dimension_type.value if c.dimension_type else None,
                    "dimension_names": ", ".join(c.dimension_names),
                    "remarks": c.remarks,
                }
                for c in table.columns
                if c.role in (ColumnRole.DIMENSION, ColumnRole.SUPPLEMENTAL)
            ]
            return Result(
                self, text,
                table=_table(
                    rows,
                    ["column_name", "category", "dimension_type", "dimension_names", "remarks"],
                ),
            )  # fmt: skip
        if isinstance(statement, st.ShowVersions):
            versions = self._catalog_rows("registry", "versions")
            if statement.of is not None:
                ids = versions["model_id"].to_pylist()
                if statement.of not in ids:
                    raise UnknownNameError(
                        f"The registry has no project, dataset, dimension or mapping "
                        f"'{statement.of}'.",
                        suggestion=did_you_mean(statement.of, sorted(set(ids))),
                    )
                keep = [i == statement.of for i in ids]
                versions = versions.filter(arrays.array(keep, pa.bool_()))
            return Result(self, text, table=versions)
        if isinstance(statement, st.Explain):
            plan = self.explain(statement.query)
            table = arrays.table({"plan": plan.split("\n")})
            return Result(self, text, table=table, message=plan)
        if isinstance(statement, st.Use):
            self.use(statement.schema)
            return Result(
                self,
                text,
                table=arrays.table({"schema": [self.schema]}),
                message=f"Using {self.schema}.",
            )
        if isinstance(statement, st.SetOption):
            message = self.set(statement.name, statement.value)
            table = arrays.table({"setting": [message]})
            return Result(self, text, table=table, message=message)
        if isinstance(statement, st.Copy):
            return self._copy(statement, text)
        raise AssertionError(statement)  # pragma: no cover

    def _catalog_rows(self, schema: str, name: str) -> pa.Table:
        return self.catalog.table_data(self.catalog.get_table(schema, name))

    def _copy(self, statement: st.Copy, text: str) -> Result:
        if not self.allow_copy:
            raise UnsupportedSqlError(
                "COPY is not allowed here: no export directory is configured.",
                hint="Start the server with --export-dir DIR to let clients write files there.",
            )
        options = statement.options
        given = options.get("FORMAT")
        # As DuckDB's COPY: the file name's .csv or .parquet says the format unless FORMAT does.
        file_format = export_format(statement.path, None if given is None else str(given))
        partition = options.get("PARTITION_BY") or []
        partition_by = [partition] if isinstance(partition, str) else list(partition)
        overwrite = str(options.get("OVERWRITE", "false")).lower() in ("true", "1", "on")
        unknown = set(options) - {"FORMAT", "PARTITION_BY", "OVERWRITE"}
        if unknown:
            raise UnsupportedSqlError(
                f"Unknown COPY option {', '.join(sorted(unknown))}.",
                hint="COPY options: FORMAT parquet|csv, PARTITION_BY (columns), OVERWRITE true.",
            )
        # Refuse a path outside the export directory before the engine runs anything.
        resolve_export_path(statement.path, self.export_dir)
        result = Result(self, statement.query, translation=self.translate(statement.query))
        target, rows = result.write(
            statement.path, file_format=file_format, partition_by=partition_by, overwrite=overwrite
        )
        message = f"Wrote {rows} rows to {target}."
        return Result(
            self,
            text,
            table=arrays.table(
                {"rows": [rows], "path": [str(target)]}, _STATEMENT_SCHEMAS[st.Copy]
            ),
            message=message,
        )


# Result schemas of statements with side effects, known without running them.
_STATEMENT_SCHEMAS: dict[type, pa.Schema] = {
    st.Use: pa.schema([("schema", pa.string())]),
    st.SetOption: pa.schema([("setting", pa.string())]),
    st.Copy: pa.schema([("rows", pa.int64()), ("path", pa.string())]),
}


def _table(rows: list[dict[str, Any]], columns: list[str]) -> pa.Table:
    return arrays.table({c: [r.get(c) for r in rows] for c in columns})


def _switch(name: str, value: str) -> bool:
    text = value.lower()
    if text in ("on", "true", "1", "yes"):
        return True
    if text in ("off", "false", "0", "no"):
        return False
    raise UnsupportedSqlError(f"Setting '{name}' is on or off, not '{value}'.")


def connect(
    registry: str | Path,
    *,
    engine: str | None = None,
    dialect: str = "duckdb",
    data_path: str | Path | None = None,
    storage_options: Any = None,
    project: str | None = None,
    export_dir: str | Path | None = None,
    pushdown: bool = True,
    aggregate_early: bool = True,
    spark_master: str | None = None,
    spark_remote: str | None = None,
    spark_conf: dict[str, str] | None = None,
    memory_limit: str | None = None,
    result_cache_mb: float = 0,
    max_sql_length: int = DEFAULT_LIMITS.max_length,
    max_nesting_depth: int = DEFAULT_LIMITS.max_depth,
    max_series_rows: int = DEFAULT_LIMITS.max_series_rows,
    jobs_dir: str | Path | None = None,
) -> Session:
    """Open a registry for SQL: a local ``registry.db`` (or its folder, or a ``sqlite:///``
    URL) or an ``s3://`` URL of either. ``storage_options`` (a dict, ``KEY=VALUE`` texts or a
    ``StorageOptions``) say how to reach object storage, beside the AWS environment variables:
    endpoint, region, anonymous, path_style, tls, connect_timeout, request_timeout, profile,
    access_key_id, secret_access_key, session_token.

    Example:
        >>> import dsgrid_sql
        >>> with dsgrid_sql.connect("registry.db") as session:  # doctest: +SKIP
        ...     session.sql("SELECT us_states, SUM(value) FROM data GROUP BY ALL").to_pandas()
    """
    catalog = Catalog.open(registry, data_path=data_path, storage_options=storage_options)
    try:
        return Session(
            catalog,
            engine=engine,
            dialect=dialect,
            schema=project,
            export_dir=export_dir,
            pushdown=pushdown,
            aggregate_early=aggregate_early,
            engine_options={
                "spark_master": spark_master,
                "spark_remote": spark_remote,
                "spark_conf": spark_conf,
                "storage_options": catalog.storage_options,
                "memory_limit": memory_limit,
                "result_cache_mb": result_cache_mb,
            },
            max_sql_length=max_sql_length,
            max_nesting_depth=max_nesting_depth,
            max_series_rows=max_series_rows,
            jobs_dir=jobs_dir,
        )
    except BaseException:
        catalog.close()
        raise
