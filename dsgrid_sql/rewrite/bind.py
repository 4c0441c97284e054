"""Bind a parsed query to the catalog and replace every catalog table by what computes it.

The steps, in order (each a function below):

1. ``substitute_parameters`` — ``?`` / ``$1`` placeholders become literals;
2. ``resolve_tables`` — every table name resolves to a catalog table (or a CTE), with a
   positioned "Did you mean" error otherwise; file readers and table functions are refused;
3. ``expand_stars`` — ``*`` over a data table means its core columns (dimensions, time,
   value, dataset_id), never its supplemental columns, which would multiply value;
4. ``canonicalize_columns`` — exact dimension names (``"US States"``) and base-dimension
   slugs become the column names, keeping the user's spelling as the output name;
5. ``qualify`` (sqlglot) — every column gets its table; unknown columns become
   ``UnknownColumnError`` with a suggestion;
6. ``check_literals`` — a dimension column compared with a string that is not one of its
   records is an error (a typo must not return an empty result); numbers compared with
   record ids are a type error;
7. ``collect_restrictions`` — simple WHERE predicates on dimension columns become sets of
   record ids to push below the mappings (the predicates themselves stay in place, so the
   result equals the unpushed plan);
8. ``used_columns`` — the columns each reference reads, so the plan computes only those;
9. ``mark_only_summed`` — references whose rows the query only sums (linear in value), so an
   annual dataset need not be spread over every project hour (summed.py);
10. ``push_conditional_sums`` — of those, sums of a CASE on dimension columns become sums of
   columns the plan computes before its mappings (conditional.py).

translate.py then replaces data tables by their mapping-plan subqueries, and other catalog
tables by registered Arrow inputs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.schema import MappingSchema

from dsgrid_sql.catalog import Catalog, Column, ColumnRole, DimensionType, Table
from dsgrid_sql.catalog.catalog import VERSION_MARK, split_schema_version
from dsgrid_sql.catalog.names import slugify
from dsgrid_sql.catalog.tables import Projection, sql_type_name
from dsgrid_sql.errors import (
    AmbiguousNameError,
    CatalogError,
    DsgridSqlError,
    SqlSyntaxError,
    TypeMismatchError,
    UnknownColumnError,
    UnknownRecordError,
    UnknownSchemaError,
    UnknownTableError,
    UnsupportedSqlError,
)
from dsgrid_sql.suggest import did_you_mean

from . import versions
from .cache import remembered, table_key
from .conditional import Atom, ConditionalSum
from .conditional import push_conditional_sums as _push_conditional_sums
from .forms import series_table
from .joined import read_by_nested
from .parse import node_position, position_at
from .summed import only_summed
from .table_plan import Restrictions
from .time_window import TimeWindow, window_of
from .versions import AsOf

CORE_ROLES = {ColumnRole.DIMENSION, ColumnRole.TIME, ColumnRole.VALUE, ColumnRole.DATASET_ID}
ID_ROLES = {ColumnRole.DIMENSION, ColumnRole.SUPPLEMENTAL, ColumnRole.RECORD_NAME}


@dataclass
class Binding:
    """One reference to a catalog table in the query."""

    table: Table
    node: exp.Table
    alias: str
    used: list[str] = field(default_factory=list)
    restrictions: Restrictions = field(default_factory=Restrictions)
    # The query reads the rows only through sums linear in value (see summed.py).
    only_summed: bool = False
    # Conditional sums the plan computes as columns (conditional.py).
    conditional: tuple[ConditionalSum, ...] = ()


@dataclass
class BindContext:
    text: str
    catalog: Catalog
    dialect: str
    default_schema: str | None
    bindings: list[Binding] = field(default_factory=list)
    # The session's pin to a time or to project versions (SET as_of); None: current.
    as_of: AsOf | None = None
    # The bound statement's scopes and the bindings each reads (_bindings_by_scope), kept
    # between the passes that only read the tree: each traversal walks the whole tree, a
    # tenth of a second for a WHERE of 10,000 terms. A pass that changes it forgets them.
    _scopes: tuple[exp.Expression, list[tuple[Scope, dict[str, Binding]]]] | None = field(
        default=None, repr=False
    )

    def position(self, node: exp.Expression | None) -> Any:
        return node_position(self.text, node)

    def forget_scopes(self) -> None:
        self._scopes = None

    def drop_bindings_inside(self, nodes: Iterable[exp.Expression]) -> None:
        """A rewrite took these parts out of the statement: the tables in them are read no
        more (not planned, not registered), and the kept scopes are stale."""
        gone = {id(t) for node in nodes for t in node.find_all(exp.Table)}
        self.bindings = [b for b in self.bindings if id(b.node) not in gone]
        self.forget_scopes()


# -- 1. parameters ---------------------------------------------------------------------------


def substitute_parameters(
    statement: exp.Expression, params: Sequence[Any] | dict[str, Any] | None
) -> exp.Expression:
    placeholders = [n for n in statement.walk() if isinstance(n, exp.Placeholder | exp.Parameter)]
    if not placeholders:
        if params:
            raise SqlSyntaxError(f"The query has no parameters but {len(params)} were given.")
        return statement
    params = params if params is not None else []
    next_positional = 0
    for node in _in_text_order(statement, placeholders):
        name = node.name
        if isinstance(params, dict):
            if name not in params:
                raise SqlSyntaxError(f"No value was given for parameter '{name or '?'}'.")
            value = params[name]
        else:
            if name and name.isdigit():
                index = int(name) - 1
            else:
                index = next_positional
                next_positional += 1
            if not 0 <= index < len(params):
                raise SqlSyntaxError(
                    f"The query uses parameter {index + 1} but {len(params)} value(s) were given."
                )
            value = params[index]
        node.replace(literal(value))
    return statement


def _in_text_order(
    statement: exp.Expression, placeholders: list[exp.Expression]
) -> list[exp.Expression]:
    """The placeholders in the order they appear in the SQL text, which is the order ``?``
    values are given in. Neither walk of the tree gives it (a CTE and LIMIT are stored after
    the select list), and parsed nodes keep no positions; generated SQL keeps the clauses in
    text order, so each placeholder is tagged, the statement generated once, and the tags
    are read back in order."""
    if len(placeholders) < 2:
        return placeholders
    tags = {f"dsgridsqlparam{i}x": node for i, node in enumerate(placeholders)}
    originals = {}
    for tag, node in tags.items():
        originals[tag] = node.args.get("this")
        node.set("this", tag)
    try:
        text = statement.sql(dialect="duckdb")
    finally:
        for tag, node in tags.items():
            node.set("this", originals[tag])
    order = re.findall(r"dsgridsqlparam\d+x", text)
    if sorted(order) != sorted(tags):  # never expected: keep the tree's order then
        return placeholders
    return [tags[tag] for tag in order]


def literal(value: Any) -> exp.Expression:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float | Decimal):
        return exp.Literal.number(value)
    if isinstance(value, datetime):
        text = value.isoformat(sep=" ")
        return exp.cast(
            exp.Literal.string(text),
            exp.DataType.build("TIMESTAMPTZ" if value.tzinfo else "TIMESTAMP"),
        )
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("DATE"))
    if isinstance(value, str):
        return exp.Literal.string(value)
    raise SqlSyntaxError(f"A parameter of type {type(value).__name__} cannot be bound.")


# -- 2. tables -------------------------------------------------------------------------------


# Spark reads files through a data source name used as a schema: parquet.`/path`.
_FILE_SOURCES = {
    "parquet", "csv", "json", "orc", "avro", "text", "binaryfile", "delta", "jdbc", "hive",
    "iceberg", "libsvm", "image", "xml",
}  # fmt: skip
_FILE_NAME = re.compile(
    r"[/\\*?]|^\w+://|^~|\.(parquet|csv|tsv|json|jsonl|ndjson|txt|gz|zst|arrow|feather|orc|avro"
    r"|xlsx?|db|sqlite3?|duckdb|ya?ml|toml|ipc)$",
    re.I,
)


def resolve_tables(statement: exp.Expression, ctx: BindContext) -> None:
    for node in list(statement.find_all(exp.Table)):
        if isinstance(node.this, exp.Anonymous) and node.this.name.lower() == PROJECTED:
            table = _projection(node, ctx)
            # From here on it is a table like any other, named by what it projects.
            node.set("this", exp.to_identifier(table.name))
            node.set("db", exp.to_identifier(table.schema))
            alias = node.alias or "projected"
            ctx.bindings.append(Binding(table, node, alias))
            node.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
            continue
        if not isinstance(node.this, exp.Identifier):
            series = series_table(node, ctx.dialect)
            if series is not None:
                node.replace(series)
                continue
            inner = node.this
            if isinstance(inner, exp.Anonymous):
                what = inner.name.lower()
            elif isinstance(inner, exp.Func):
                what = inner.sql_name().lower()
            else:
                what = inner.sql()
            raise UnsupportedSqlError(
                f"Reading '{what}' is not allowed: queries may read only catalog tables.",
                position=ctx.position(node),
            )
        for part in ("db", "catalog"):
            value = node.args.get(part)
            if value is not None and not isinstance(value, exp.Identifier):
                # `a..b` (an empty schema) and other shapes no catalog name has.
                raise UnknownTableError(
                    f"'{node.sql(dialect=ctx.dialect)}' is not a table name the catalog has.",
                    position=ctx.position(node),
                )
        if not node.args.get("db") and node.name.lower() in _visible_ctes(node):
            if node.args.get("version") is not None:
                raise UnsupportedSqlError(
                    f"'{node.name}' is a CTE: only catalog tables have versions.",
                    position=ctx.position(node.args["version"].expression),
                )
            continue
        versions.pin(node, ctx.catalog, ctx.as_of, lambda n: _lookup_table(n, ctx), ctx.position)
        table = _lookup_table(node, ctx)
        alias = node.alias or table.name
        ctx.bindings.append(Binding(table, node, alias))
        # Name the reference by its alias so every column can be qualified with it.
        node.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))


PROJECTED = "projected"
_PROJECTION_ARGUMENTS = ("initial", "growth", "base_year", "method")


def _projection(node: exp.Table, ctx: BindContext) -> Table:
    """``[<project>.]projected('initial', 'growth' [, base_year => 2020]
    [, method => 'exponential_growth'])``: arguments by position or by name."""
    call = node.this
    values: dict[str, Any] = {}
    for position, argument in enumerate(call.expressions):
        if isinstance(argument, exp.Kwarg | exp.PropertyEQ | exp.EQ):
            name = argument.this.name.lower()
            argument = argument.expression
            if name not in _PROJECTION_ARGUMENTS:
                raise SqlSyntaxError(
                    f"projected() has no argument '{name}'.",
                    suggestion=did_you_mean(name, _PROJECTION_ARGUMENTS),
                    position=ctx.position(argument),
                )
        elif position < len(_PROJECTION_ARGUMENTS):
            name = _PROJECTION_ARGUMENTS[position]
        else:
            raise SqlSyntaxError(
                "projected() takes at most four arguments: the initial-value dataset, the "
                "growth-rate dataset, base_year and method.",
                position=ctx.position(argument),
            )
        if not isinstance(argument, exp.Literal):
            raise SqlSyntaxError(
                f"projected()'s {name} must be a literal.", position=ctx.position(argument)
            )
        values[name] = argument.this
    if "initial" not in values or "growth" not in values:
        raise SqlSyntaxError(
            "projected() needs the initial-value dataset and the growth-rate dataset, as in "
            "projected('initial_dataset', 'growth_dataset').",
            position=ctx.position(node),
        )
    base_year = values.get("base_year")
    if base_year is not None and not str(base_year).strip().isdigit():
        raise SqlSyntaxError(
            f"projected()'s base_year must be a year, not '{base_year}'.",
            position=ctx.position(node),
        )
    schema_node = node.args.get("db")
    schema = (
        _match(schema_node, ctx.catalog.list_project_ids())
        if schema_node is not None
        else ctx.default_schema or ctx.catalog.default_schema
    )
    if schema is None:
        raise UnknownSchemaError(
            "projected() needs a project: qualify it (test_efs.projected(...)) or USE one.",
            position=ctx.position(node),
        )
    projection = Projection(
        str(values["initial"]),
        str(values["growth"]),
        str(values.get("method", "exponential_growth")),
        None if base_year is None else int(base_year),
    )
    return ctx.catalog.projection_table(schema, projection)


def _visible_ctes(node: exp.Expression) -> set[str]:
    """The CTE names a table reference can mean: those of the WITH clauses around it, and
    in a CTE's own body only the CTEs before it (itself too when RECURSIVE), as the engines
    scope them. A name outside every scope is a catalog name, never an engine one."""
    names: set[str] = set()
    child, parent = node, node.parent
    while parent is not None:
        if isinstance(parent, exp.With):
            ctes = list(parent.expressions)
            index = next((i for i, cte in enumerate(ctes) if cte is child), len(ctes))
            upto = index + 1 if parent.args.get("recursive") else index
            names.update(cte.alias_or_name.lower() for cte in ctes[:upto])
        else:
            with_ = parent.args.get("with_") or parent.args.get("with")
            if isinstance(with_, exp.With) and child is not with_:
                names.update(cte.alias_or_name.lower() for cte in with_.expressions)
        child, parent = parent, parent.parent
    return names


def _refuse_file(node: exp.Table, ctx: BindContext) -> None:
    """A name that can only mean a file (a path, a URL, a data file's suffix, Spark's
    ``parquet.`path```) is a file read, refused as one."""
    schema_node = node.args.get("db")
    source = schema_node.name.lower() if schema_node is not None else ""
    if source in _FILE_SOURCES or _FILE_NAME.search(node.name):
        raise UnsupportedSqlError(
            f"Reading the file '{node.name}' is not allowed: queries may read only catalog "
            "tables.",
            hint="SHOW TABLES lists the tables; COPY (query) TO writes results to files.",
            position=ctx.position(node),
        )


def _lookup_table(node: exp.Table, ctx: BindContext) -> Table:
    try:
        return _find_table(node, ctx)
    except (UnknownTableError, UnknownSchemaError):
        _refuse_file(node, ctx)
        raise


def _find_table(node: exp.Table, ctx: BindContext) -> Table:
    catalog = ctx.catalog
    catalog_part = node.args.get("catalog")
    if catalog_part is not None and catalog_part.name != catalog.name:
        raise UnknownTableError(
            f"Unknown catalog '{catalog_part.name}'.",
            suggestion=did_you_mean(catalog_part.name, [catalog.name]),
            position=ctx.position(catalog_part),
        )
    name = node.name
    schema_node = node.args.get("db")
    if schema_node is not None:
        schema = _match(schema_node, catalog.list_schemas())
        base, version = split_schema_version(schema_node.name)
        if schema is None and version is not None:
            # "test_efs@1.1.0": a project schema read at a version (versions.py).
            matched = _match(exp.to_identifier(base), catalog.list_schemas())
            if matched is not None:
                schema = f"{matched}{VERSION_MARK}{version}"
        if schema is None:
            raise UnknownSchemaError(
                f"Unknown schema '{schema_node.name}'.",
                suggestion=did_you_mean(schema_node.name, catalog.list_schemas()),
                position=ctx.position(schema_node),
            )
        tables = [t.name for t in catalog.list_tables(schema)]
        table_name = _match(node.this, tables)
        if table_name is None:
            catalog.check_left_out(schema, name)
            raise UnknownTableError(
                f"Unknown table '{name}' in schema '{schema}'.",
                suggestion=did_you_mean(name, tables),
                position=ctx.position(node),
            )
        return catalog.get_table(schema, table_name)
    default = ctx.default_schema or catalog.default_schema
    if default is not None:
        tables = [t.name for t in catalog.list_tables(default)]
        table_name = _match(node.this, tables)
        if table_name is not None:
            return catalog.get_table(default, table_name)
    everywhere = [t for t in catalog.list_tables() if _match(node.this, [t.name])]
    if len(everywhere) == 1:
        return everywhere[0]
    if len(everywhere) > 1:
        raise AmbiguousNameError(
            f"Table '{name}' exists in several schemas "
            f"({', '.join(t.schema for t in everywhere)}).",
            hint="Qualify it with its schema, or choose a project with USE.",
            position=ctx.position(node),
        )
    if default is not None:
        catalog.check_left_out(default, name)
    candidates = [t.name for t in catalog.list_tables(default)] if default else []
    candidates += [t.qualified_name for t in catalog.list_tables()]
    hint = None if default else "No project is chosen: qualify the table or USE a project."
    raise UnknownTableError(
        f"Unknown table '{name}'.",
        suggestion=did_you_mean(name, candidates),
        position=ctx.position(node),
        hint=hint,
    )


def _match(identifier: exp.Identifier, names: Iterable[str]) -> str | None:
    """Quoted names match exactly; unquoted ones case-insensitively."""
    names = list(names)
    if identifier.this in names:
        return identifier.this
    if not identifier.quoted:
        lowered = {n.lower(): n for n in names}
        return lowered.get(identifier.this.lower())
    return None


# -- 3. stars --------------------------------------------------------------------------------


def expand_stars(statement: exp.Expression, ctx: BindContext) -> None:
    """Expand ``*`` and ``t.*`` over catalog tables; stars over derived tables are left to
    qualify, which sees the (already expanded) derived columns."""
    by_node = {id(b.node): b for b in ctx.bindings}
    for scope in traverse_scope(statement):
        select = scope.expression
        if not isinstance(select, exp.Select):
            continue
        stars = [
            e
            for e in select.expressions
            if isinstance(e, exp.Star)
            or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
        ]
        if not stars:
            continue
        sources = scope.selected_sources
        if not all(
            isinstance(node, exp.Table) and id(node) in by_node for node, _ in sources.values()
        ):
            continue
        new: list[exp.Expression] = []
        for projection in select.expressions:
            if projection in stars:
                only = projection.table if isinstance(projection, exp.Column) else None
                star = projection.this if isinstance(projection, exp.Column) else projection
                columns = [
                    (alias, column)
                    for alias, (node, _) in sources.items()
                    if not only or alias == only
                    for column in star_columns(by_node[id(node)].table)
                ]
                new += _star_projections(star, columns, ctx)
            else:
                new.append(projection)
        select.set("expressions", new)


def _star_projections(
    star: exp.Star, columns: list[tuple[str, Column]], ctx: BindContext
) -> list[exp.Expression]:
    """The columns a star means, less its EXCLUDE list, with its REPLACE expressions and
    RENAME aliases (DuckDB's ``* EXCLUDE (...) REPLACE (... AS c) RENAME (c AS d)``), and
    only those matching its ILIKE pattern."""

    def named(node: exp.Expression) -> Column:
        name = node.name if isinstance(node, exp.Column | exp.Identifier) else node.sql()
        found = next((c for _, c in columns if _is_named(c, name)), None)
        if found is None:
            raise UnknownColumnError(
                f"Column '{name}' is not one of the columns * selects.",
                suggestion=did_you_mean(name, [c.name for _, c in columns]),
                position=ctx.position(node),
            )
        return found

    excluded = {named(n).name for n in star.args.get("except_") or star.args.get("except") or []}
    replaced = {named(exp.to_identifier(a.alias)).name: a for a in star.args.get("replace") or []}
    renamed = {named(a.this).name: a.alias for a in star.args.get("rename") or []}
    pattern = star.args.get("ilike")
    matcher = (
        _like_regex(pattern.name, ignore_case=True) if isinstance(pattern, exp.Literal) else None
    )
    out: list[exp.Expression] = []
    for alias, column in columns:
        if column.name in excluded or (matcher and not matcher.fullmatch(column.name)):
            continue
        if column.name in replaced:
            replacement = replaced[column.name]
            out.append(exp.alias_(replacement.this.copy(), column.name, quoted=True))
        elif column.name in renamed:
            ref = exp.column(column.name, table=alias, quoted=True)
            out.append(exp.alias_(ref, renamed[column.name], quoted=True))
        else:
            out.append(exp.column(column.name, table=alias, quoted=True))
    return out


def _is_named(column: Column, name: str) -> bool:
    return (
        column.name == name
        or column.name.lower() == name.lower()
        or any(n.lower() == name.lower() for n in column.dimension_names)
    )


def star_columns(table: Table) -> list[Column]:
    if table.is_data:
        return [c for c in table.columns if c.role in CORE_ROLES]
    return list(table.columns)


# -- 4. column spellings ---------------------------------------------------------------------


def canonicalize_columns(statement: exp.Expression, ctx: BindContext) -> None:
    tables = [b.table for b in ctx.bindings]
    canonical = {c.name for t in tables for c in t.columns}
    for column in list(statement.find_all(exp.Column)):
        identifier = column.this
        if not isinstance(identifier, exp.Identifier) or identifier.this in canonical:
            continue
        found = {
            t.find_column(identifier.this).name  # type: ignore[union-attr]
            for t in tables
            if t.find_column(identifier.this) is not None
            and (identifier.quoted or identifier.this.lower() == identifier.this.lower())
        }
        if len(found) != 1:
            continue
        (name,) = found
        spelled = identifier.this
        column.set("this", exp.to_identifier(name, quoted=True))
        if isinstance(column.parent, exp.Select) and column.arg_key == "expressions":
            column.replace(exp.alias_(column.copy(), spelled, quoted=True))


def name_output_columns(statement: exp.Expression, dialect: str) -> None:
    """Unnamed computed output columns are named by their SQL text (``SUM(value)``), as
    DuckDB names them, so results name columns alike on every engine."""
    select = statement
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return
    for projection in list(select.expressions):
        if isinstance(projection, exp.Column | exp.Alias | exp.Star):
            continue
        projection.replace(
            exp.alias_(projection.copy(), projection.sql(dialect=dialect), quoted=True)
        )


# -- 5. qualify ------------------------------------------------------------------------------


def _schema_for(catalog: Catalog, tables: list[Table], dialect: str) -> MappingSchema:
    """The sqlglot schema of the bound tables, built once per catalog (see cache.py)."""

    def build() -> MappingSchema:
        mapping: dict[str, dict[str, dict[str, str]]] = {}
        for t in tables:
            columns = {c.name: _sqlglot_type(c) for c in t.columns}
            mapping.setdefault(t.schema, {})[t.name] = columns
        return MappingSchema(mapping, dialect=dialect)

    key = ("schema", tuple(table_key(t) for t in tables), dialect)
    return remembered(catalog, key, build)


def bound_schema(ctx: BindContext) -> MappingSchema:
    """The sqlglot schema of the tables the query reads."""
    return _schema_for(ctx.catalog, [b.table for b in ctx.bindings], ctx.dialect)


def qualify_columns(statement: exp.Expression, ctx: BindContext) -> exp.Expression:
    schema = bound_schema(ctx)
    try:
        return qualify(
            statement,
            schema=schema,
            dialect=ctx.dialect,
            quote_identifiers=False,
            validate_qualify_columns=True,
            identify=False,
        )
    except OptimizeError as exc:
        raise _column_error(str(exc), statement, ctx) from None


def _sqlglot_type(column: Column) -> str:
    name = sql_type_name(column.type)
    return "TIMESTAMPTZ" if name == "TIMESTAMP WITH TIME ZONE" else name


def _column_error(message: str, statement: exp.Expression, ctx: BindContext) -> DsgridSqlError:
    match = re.search(r"Column '([^']+)' could not be resolved", message)
    if match:
        name = match.group(1).split(".")[-1].strip('"`')
        node = next((c for c in statement.find_all(exp.Column) if c.name == name), None)
        candidates = [c.name for b in ctx.bindings for c in b.table.columns]
        where = ""
        if len(ctx.bindings) == 1:
            where = f" in table '{ctx.bindings[0].table.qualified_name}'"
        left_out = _left_out_column(name, ctx)
        if left_out is not None:
            return CatalogError(
                f"Column '{name}' is left out: {left_out.rstrip('.')}.",
                position=ctx.position(node),
            )
        return UnknownColumnError(
            f"Unknown column '{name}'{where}.",
            suggestion=did_you_mean(name, candidates),
            position=ctx.position(node),
        )
    if "Ambiguous" in message or "ambiguous" in message:
        return AmbiguousNameError(
            message.split(". Line")[0].rstrip(".") + "; qualify it with its table."
        )
    return SqlSyntaxError(f"The query cannot be bound: {message.split('. Line')[0].rstrip('.')}.")


def _left_out_column(name: str, ctx: BindContext) -> str | None:
    """Why a column a data table would have is missing: its supplemental dimension cannot be
    read (the column of a dimension is its name's slug, or the name itself)."""
    for binding in ctx.bindings:
        project_id = binding.table.project_id
        if not binding.table.is_data or project_id is None:
            continue
        project = ctx.catalog.project(project_id, binding.table.project_version)
        for dim_name, why in project.left_out_dimensions.items():
            if name.lower() in (dim_name.lower(), slugify(dim_name)):
                return why
    return None


# -- 6 and 7. literals and pushdown ------------------------------------------------------------


def _bound_column(
    node: exp.Expression, by_alias: dict[str, Binding]
) -> tuple[Binding, Column] | None:
    if not isinstance(node, exp.Column) or not node.table:
        return None
    binding = by_alias.get(node.table)
    if binding is None or not binding.table.is_data:
        return None
    column = binding.table.find_column(node.name)
    return None if column is None else (binding, column)


def _bindings_by_scope(
    statement: exp.Expression, ctx: BindContext
) -> list[tuple[Scope, dict[str, Binding]]]:
    if ctx._scopes is not None and ctx._scopes[0] is statement:
        return ctx._scopes[1]
    by_node = {id(b.node): b for b in ctx.bindings}
    result = []
    for scope in traverse_scope(statement):
        aliases = {
            alias: by_node[id(node)]
            for alias, (node, _) in scope.selected_sources.items()
            if isinstance(node, exp.Table) and id(node) in by_node
        }
        result.append((scope, aliases))
    ctx._scopes = (statement, result)
    return result


def tables_by_scope(
    statement: exp.Expression, ctx: BindContext
) -> list[tuple[Scope, dict[str, Table]]]:
    """Every scope with the catalog table of each alias it reads (the rewrites that decide
    on tables, not bindings: dimension_joins.py, subquery_values.py)."""
    return [
        (scope, {alias: b.table for alias, b in aliases.items()})
        for scope, aliases in _bindings_by_scope(statement, ctx)
    ]


def scope_queries(statement: exp.Expression, ctx: BindContext) -> list[exp.Expression]:
    """Every query of the statement (a SELECT or a set operation), from the scopes kept
    between passes."""
    return [scope.expression for scope, _ in _bindings_by_scope(statement, ctx)]


def check_literals(
    statement: exp.Expression,
    ctx: BindContext,
    records: Callable[[Binding, Column], tuple[set[str], set[str]]],
) -> None:
    """Compare every string literal against the records of the dimension column it meets."""
    for scope, aliases in _bindings_by_scope(statement, ctx):
        for node in scope.expression.find_all(
            exp.EQ, exp.NEQ, exp.In, exp.GT, exp.GTE, exp.LT, exp.LTE
        ):
            pairs: list[tuple[exp.Expression, list[exp.Expression]]] = []
            if isinstance(node, exp.In):
                pairs.append((node.this, list(node.expressions)))
            else:
                pairs.append((node.this, [node.expression]))
                pairs.append((node.expression, [node.this]))
            for column_node, others in pairs:
                bound = _bound_column(column_node, aliases)
                if bound is None or bound[1].role not in ID_ROLES | {ColumnRole.DATASET_ID}:
                    continue
                binding, column = bound
                for other in others:
                    if isinstance(other, exp.Literal) and not other.is_string:
                        raise TypeMismatchError(
                            f"Column '{column.name}' holds record ids as strings; compare it with "
                            f"'{other.this}', not {other.this}.",
                            position=ctx.position(other) or ctx.position(column_node),
                        )
                    if not isinstance(other, exp.Literal) or isinstance(
                        node, exp.GT | exp.GTE | exp.LT | exp.LTE
                    ):
                        continue
                    valid, counterpart = records(binding, column)
                    if other.this in valid:
                        continue
                    kind = "record name" if column.role is ColumnRole.RECORD_NAME else "record"
                    if column.role is ColumnRole.DATASET_ID:
                        kind = "dataset"
                    hint = None
                    if other.this in counterpart:
                        # An id where a name is expected, or the reverse: say which is which.
                        close: str | None = counterpart[other.this]
                        if column.role is ColumnRole.RECORD_NAME:
                            hint = (
                                f"'{other.this}' is a record id; "
                                f"compare {column.names_column} with ids."
                            )
                        else:
                            hint = (
                                f"'{other.this}' is a record name; "
                                f"compare {column.name}_name with names."
                            )
                    else:
                        close = did_you_mean(other.this, sorted(valid))
                        if close is not None and close.lower() == other.this.lower():
                            hint = "Record ids are case-sensitive."
                    label = column.dimension_names[0] if column.dimension_names else column.name
                    raise UnknownRecordError(
                        f"Unknown {kind} '{other.this}' for column '{column.name}' ({label}).",
                        suggestion=close,
                        hint=hint,
                        position=_literal_position(ctx, other, column_node),
                    )


def _literal_position(
    ctx: BindContext, literal_node: exp.Expression, fallback: exp.Expression
) -> Any:
    start = literal_node.meta.get("start") if literal_node.meta else None
    if start is not None:
        return node_position(ctx.text, literal_node)
    quoted = f"'{literal_node.this}'"
    index = ctx.text.find(quoted)
    if index >= 0:
        return position_at(ctx.text, index, index + len(quoted))
    return ctx.position(fallback)


@dataclass(frozen=True)
class Allowed:
    """What one predicate keeps: project base ids of a type and, for a supplemental
    column, the supplemental ids too."""

    dimension_type: DimensionType
    base_ids: frozenset[str]
    supplemental_column: str | None = None
    supplemental_ids: frozenset[str] | None = None


def collect_restrictions(
    statement: exp.Expression,
    ctx: BindContext,
    evaluate: Callable[[Binding, Column, Callable[[str], bool]], Allowed | None],
) -> None:
    """Top-level AND-ed WHERE predicates on one dimension column and literals become
    restrictions of the binding; anything else is left alone."""
    for scope, aliases in _bindings_by_scope(statement, ctx):
        select = scope.expression
        if not isinstance(select, exp.Select) or select.args.get("where") is None:
            continue
        for predicate in conjuncts(select.args["where"].this):
            timed = _time_window(predicate, aliases)
            if timed is not None:
                binding, window = timed
                held = binding.restrictions.time
                binding.restrictions.time = window if held is None else held.intersect(window)
                continue
            test = _predicate_test(predicate, aliases)
            if test is None:
                continue
            binding, column, matches = test
            restrictions = binding.restrictions
            if column.role is ColumnRole.DATASET_ID:
                ids = frozenset(i for i in binding.table.dataset_ids if matches(i))
                current = restrictions.datasets
                restrictions.datasets = ids if current is None else current & ids
                continue
            allowed = evaluate(binding, column, matches)
            if allowed is None:
                continue
            if allowed.supplemental_column is not None and allowed.supplemental_ids is not None:
                key = allowed.supplemental_column
                previous = restrictions.supplemental.get(key)
                restrictions.supplemental[key] = (
                    allowed.supplemental_ids
                    if previous is None
                    else previous & allowed.supplemental_ids
                )
            previous_base = restrictions.base.get(allowed.dimension_type)
            restrictions.base[allowed.dimension_type] = (
                allowed.base_ids if previous_base is None else previous_base & allowed.base_ids
            )


def conjuncts(node: exp.Expression) -> list[exp.Expression]:
    """The AND-ed parts of a predicate, left to right (iteratively: BI tools send long
    chains)."""
    out: list[exp.Expression] = []
    stack = [node]
    while stack:
        item = stack.pop()
        item = item.unnest() if isinstance(item, exp.Paren) else item
        if isinstance(item, exp.And):
            stack.extend((item.expression, item.this))
        else:
            out.append(item)
    return out


def _predicate_test(
    predicate: exp.Expression, aliases: dict[str, Binding]
) -> tuple[Binding, Column, Callable[[str], bool]] | None:
    negate = False
    if isinstance(predicate, exp.Not):
        negate = True
        predicate = (
            predicate.this.unnest() if isinstance(predicate.this, exp.Paren) else predicate.this
        )
    test: Callable[[str], bool] | None = None
    column_node: exp.Expression | None = None
    if isinstance(predicate, exp.EQ | exp.NEQ):
        left, right = predicate.this, predicate.expression
        if isinstance(left, exp.Literal):
            left, right = right, left
        if isinstance(right, exp.Literal) and right.is_string:
            value = right.this
            column_node = left
            test = (
                (lambda v, x=value: v == x)
                if isinstance(predicate, exp.EQ)
                else (lambda v, x=value: v != x)
            )
    elif isinstance(predicate, exp.In) and predicate.args.get("negate"):
        return None
    elif isinstance(predicate, exp.In) and not predicate.args.get("query"):
        values = predicate.expressions
        if values and all(isinstance(v, exp.Literal) and v.is_string for v in values):
            wanted = {v.this for v in values}
            column_node = predicate.this
            test = lambda v, w=wanted: v in w  # noqa: E731
    elif isinstance(predicate, exp.Like | exp.ILike) and isinstance(
        predicate.expression, exp.Literal
    ):
        # sqlglot marks `a NOT LIKE 'x'` with negate=True rather than wrapping it in NOT.
        negate = negate != bool(predicate.args.get("negate"))
        pattern = _like_regex(predicate.expression.this, isinstance(predicate, exp.ILike))
        column_node = predicate.this
        test = lambda v, p=pattern: p.fullmatch(v) is not None  # noqa: E731
    elif isinstance(predicate, exp.Between):
        low, high = predicate.args.get("low"), predicate.args.get("high")
        if all(isinstance(x, exp.Literal) and x.is_string for x in (low, high)):
            column_node = predicate.this
            test = lambda v, lo=low.this, hi=high.this: lo <= v <= hi  # noqa: E731
    if test is None or column_node is None:
        return None
    bound = _bound_column(column_node, aliases)
    if bound is None or bound[1].role not in ID_ROLES | {ColumnRole.DATASET_ID}:
        return None
    final = (lambda v, t=test: not t(v)) if negate else test
    return bound[0], bound[1], final


def _time_window(
    predicate: exp.Expression, aliases: dict[str, Binding]
) -> tuple[Binding, TimeWindow] | None:
    """A comparison of a data table's project ``timestamp`` with instant literals, as the
    window of project time it keeps (time_window.py)."""
    sides = [predicate.this]
    if isinstance(predicate, exp.Binary):
        sides.append(predicate.expression)
    for node in sides:
        bound = _bound_column(node, aliases)
        if bound is None or bound[1].role is not ColumnRole.TIME:
            continue
        window = window_of(predicate, node)
        if window is not None:
            return bound[0], window
    return None


def _like_regex(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    out = []
    for char in pattern:
        out.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
    return re.compile("".join(out), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


# -- 8. used columns -------------------------------------------------------------------------


def used_columns(statement: exp.Expression, ctx: BindContext) -> None:
    for scope, aliases in _bindings_by_scope(statement, ctx):
        for column in scope.columns:
            binding = aliases.get(column.table)
            if binding is None or column.name in binding.used:
                continue
            if any(c.name == column.name for c in binding.conditional):
                continue  # computed by the plan (conditional.py), not a column of the table
            binding.used.append(column.name)


# -- 9. only summed --------------------------------------------------------------------------


def mark_only_summed(statement: exp.Expression, ctx: BindContext) -> None:
    # One data table per SELECT: joined with dimension tables, CTEs or subqueries, its
    # rows may be summed first (each meets the same rows of the other side, so a sum of
    # value times them is the same); two data tables joined count each other's rows.
    for scope, aliases in _bindings_by_scope(statement, ctx):
        data = [(alias, b) for alias, b in aliases.items() if b.table.is_data]
        if len(data) != 1:
            continue
        ((alias, binding),) = data
        # A query nested in this one that reads its rows (correlated) sees them one by one.
        if read_by_nested(scope, alias):
            continue
        binding.only_summed = only_summed(scope.expression, alias, binding.table)


# -- 10. conditional sums --------------------------------------------------------------------


def push_conditional_sums(
    statement: exp.Expression,
    ctx: BindContext,
    evaluate: Callable[[Binding, Column, Callable[[str], bool]], Allowed | None],
    types_read: Callable[[Table, list[Column]], frozenset[DimensionType]],
    pushdown: bool = True,
) -> None:
    """In each SELECT that only sums one data table's rows, sums of CASEs whose conditions
    read dimension columns (by id or name) become sums of columns the table plan computes
    (conditional.py); ``evaluate`` turns a predicate into the project ids it keeps, as for
    pushed filters. Run before ``used_columns``: the columns the CASEs read are no longer
    read by the query. With ``pushdown``, WHERE conjuncts on those columns that
    collect_restrictions pushed are true of every row the plan yields: they need not keep
    the column either."""
    changed = False
    for scope, aliases in _bindings_by_scope(statement, ctx):
        if len(aliases) != 1 or len(scope.selected_sources) != 1:
            continue
        ((alias, binding),) = aliases.items()
        table = binding.table
        if not binding.only_summed or not table.is_data or table.projection is not None:
            continue

        def atom(
            predicate: exp.Expression, aliases: dict[str, Binding] = aliases
        ) -> tuple[Column, Atom] | None:
            test = _predicate_test(predicate, aliases)
            if test is None:
                return None
            bound, column, matches = test
            base = column
            if column.role is ColumnRole.RECORD_NAME:
                base = bound.table.get_column(column.names_column or "")
            if base.role is not ColumnRole.DIMENSION:
                return None  # supplementals, dataset_id: not pushed
            allowed = evaluate(bound, column, matches)
            if allowed is None or allowed.supplemental_column is not None:
                return None
            return base, Atom(allowed.dimension_type, allowed.base_ids)

        guaranteed: list[tuple[exp.Expression, DimensionType]] = []
        where = scope.expression.args.get("where")
        if pushdown and where is not None:
            for conjunct in conjuncts(where.this):
                found = atom(conjunct)
                if found is not None:
                    guaranteed.append((conjunct, found[1].dim_type))
        binding.conditional = _push_conditional_sums(
            scope.expression,
            alias,
            binding.table,
            atom,
            lambda columns, table=binding.table: types_read(table, columns),
            guaranteed,
        )
        if binding.conditional:
            changed = True  # sums were replaced by the plan's columns
    if changed:
        ctx.forget_scopes()
