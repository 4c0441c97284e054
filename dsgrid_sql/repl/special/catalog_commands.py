"""Backslash commands that browse the catalog: tables, columns, dimensions, records,
mappings. They read the catalog's own API; none of them writes SQL."""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from dsgrid_sql.catalog import ColumnRole, Table
from dsgrid_sql.catalog.tables import (
    DIMENSIONS_SCHEMA_SUFFIX,
    MAPPINGS_SCHEMA_SUFFIX,
    sql_type_name,
)
from dsgrid_sql.errors import DsgridSqlError, UnknownDimensionError
from dsgrid_sql.suggest import did_you_mean

from .registry import ArgKind, Output, command

if TYPE_CHECKING:
    from dsgrid_sql.catalog import Catalog
    from dsgrid_sql.repl.app import Repl


def _rows_table(headers: list[str], rows: list[list[Any]]) -> pa.Table:
    """A table of plain values; a column holding only whole numbers stays numeric so it
    right-aligns."""
    columns = {}
    for i, header in enumerate(headers):
        values = [r[i] for r in rows]
        numeric = values and all(isinstance(v, int) and not isinstance(v, bool) for v in values)
        columns[header] = pa.array(values, pa.int64() if numeric else pa.string())
    return pa.table(columns) if headers else pa.table({})


def _matches(pattern: str, *texts: str) -> bool:
    """A glob when the pattern has wildcards, else a case-insensitive substring."""
    pattern = pattern.lower()
    if any(c in pattern for c in "*?["):
        return any(fnmatch.fnmatchcase(t.lower(), pattern) for t in texts)
    return any(pattern in t.lower() for t in texts)


def _project_of(repl: Repl) -> str:
    """The project the current schema belongs to; an error when none is chosen."""
    catalog = repl.session.catalog
    schema = repl.session.current_schema
    projects = catalog.list_project_ids()
    for project_id in projects:
        if schema in (
            project_id,
            project_id + DIMENSIONS_SCHEMA_SUFFIX,
            project_id + MAPPINGS_SCHEMA_SUFFIX,
        ):
            return project_id
    raise DsgridSqlError(
        "No project is chosen.",
        hint=f"USE one of: {', '.join(projects)}." if projects else "The registry has none.",
    )


@command("\\dt [pattern]", "List tables of the current schema, or those matching a pattern.",
         args=(ArgKind.PATTERN,))  # fmt: skip
def list_tables(repl: Repl, arg: str) -> list[Output]:
    catalog = repl.session.catalog
    schema = repl.session.current_schema
    if arg:
        tables = [
            t for t in catalog.list_tables() if _matches(arg, t.name, f"{t.schema}.{t.name}")
        ]
    else:
        tables = catalog.list_tables(schema)
    rows = [[t.schema, t.name, t.kind.value, len(t.columns), t.remarks] for t in tables]
    title = f"Tables matching '{arg}'" if arg else f"Tables of {schema or 'the catalog'}"
    headers = ["schema", "table", "kind", "columns", "remarks"]
    return [Output(title, _rows_table(headers, rows))]


@command("\\d [table]", "Describe a table: columns, types, roles, remarks (no table: \\dt).",
         args=(ArgKind.TABLE,))  # fmt: skip
def describe(repl: Repl, arg: str) -> list[Output]:
    if not arg:
        return list_tables(repl, "")
    table = repl.session.catalog.resolve_table(arg, repl.session.current_schema)
    rows = [
        [c.name, sql_type_name(c.type), c.role.value, ", ".join(c.aliases), c.remarks]
        for c in table.columns
    ]
    headers = ["column", "type", "role", "also known as", "remarks"]
    title = f"{table.qualified_name}: {table.remarks}"
    return [Output(title, _rows_table(headers, rows))]


@command("\\dd [pattern]", "List the dimensions of the current project: columns, records "
         "tables, record counts.", args=(ArgKind.PATTERN,))  # fmt: skip
def list_dimensions(repl: Repl, arg: str) -> list[Output]:
    catalog = repl.session.catalog
    project_id = _project_of(repl)
    project = catalog.project(project_id)
    names = catalog.project_names(project_id)
    rows = []
    for dim in project.dimensions:
        if dim.category.value == "base" and dim.type.value == "time":
            column = ", ".join(c.name for c in names.time_columns)
        elif dim.category.value == "base":
            column = names.base_columns.get(dim.type, "")
        else:
            column = names.supplemental_columns.get(dim.name, "")
        table = names.dimension_tables.get((dim.dimension_id, dim.version), "")
        if arg and not _matches(arg, dim.name, column, table):
            continue
        rows.append(
            [column, dim.category.value, dim.type.value, dim.name, len(dim.records), table]
        )
    headers = ["column", "category", "type", "dimension", "records", "records table"]
    return [Output(f"Dimensions of {project_id}", _rows_table(headers, rows))]


def _dimension_table(catalog: Catalog, project_id: str, name: str) -> Table:
    """The records table of a dimension named by its records table, its data column (or a
    column alias), or its exact dimension name."""
    schema = project_id + DIMENSIONS_SCHEMA_SUFFIX
    found = catalog.find_table(schema, name)
    if found is not None:
        return found
    names = catalog.project_names(project_id)
    project = catalog.project(project_id)
    data = catalog.get_table(project_id, "data")
    column = data.find_column(name)
    dimension_names: tuple[str, ...] = ()
    if column is not None and column.role in (ColumnRole.DIMENSION, ColumnRole.SUPPLEMENTAL):
        dimension_names = column.dimension_names
    elif any(d.name == name for d in project.dimensions):
        dimension_names = (name,)
    for dimension_name in dimension_names:
        dim = project.get_dimension(dimension_name)
        table_name = names.dimension_tables.get((dim.dimension_id, dim.version))
        if table_name is not None:
            return catalog.get_table(schema, table_name)
    candidates = [t.name for t in catalog.list_tables(schema)]
    candidates += [
        c.name for c in data.columns if c.role in (ColumnRole.DIMENSION, ColumnRole.SUPPLEMENTAL)
    ]
    raise UnknownDimensionError(
        f"Project '{project_id}' has no dimension '{name}'.",
        suggestion=did_you_mean(name, candidates),
        hint="\\dd lists the dimensions.",
    )


def _first_argument(arg: str) -> tuple[str, str]:
    """Split off the first argument; a double-quoted one may hold spaces (``"US States"``)."""
    arg = arg.strip()
    if arg.startswith('"'):
        end = arg.find('"', 1)
        if end > 0:
            return arg[1:end], arg[end + 1 :].strip()
    name, _, rest = arg.partition(" ")
    return name, rest.strip()


@command("\\records <dimension> [pattern]", "List records (id, name, fields) of a dimension; "
         "the pattern matches ids and names.",
         args=(ArgKind.DIMENSION, ArgKind.RECORD))  # fmt: skip
def list_records(repl: Repl, arg: str) -> list[Output]:
    name, pattern = _first_argument(arg)
    if not name:
        raise DsgridSqlError(
            "\\records needs a dimension.", hint="\\records us_states; \\dd lists dimensions."
        )
    catalog = repl.session.catalog
    project_id = _project_of(repl)
    table = _dimension_table(catalog, project_id, name)
    data = catalog.table_data(table)
    pattern = pattern.strip()
    if pattern:
        keep = [
            _matches(pattern, str(i), str(n or ""))
            for i, n in zip(
                data.column("id").to_pylist(), data.column("name").to_pylist(), strict=True
            )
        ]
        data = data.filter(pa.array(keep, pa.bool_()))
    title = f"Records of {table.qualified_name}" + (f" matching '{pattern}'" if pattern else "")
    return [Output(title, data)]


@command("\\mappings [pattern]", "List the dimension mappings of the current project.",
         args=(ArgKind.PATTERN,))  # fmt: skip
def list_mappings(repl: Repl, arg: str) -> list[Output]:
    catalog = repl.session.catalog
    project_id = _project_of(repl)
    tables = catalog.list_tables(project_id + MAPPINGS_SCHEMA_SUFFIX)
    rows = [
        [t.name, t.remarks.split(" mapping ")[0], t.remarks]
        for t in tables
        if not arg or _matches(arg, t.name, t.remarks)
    ]
    headers = ["table", "kind", "remarks"]
    return [Output(f"Mappings of {project_id}", _rows_table(headers, rows))]
