"""Metadata answers: the gateway's catalog as Flight SQL catalogs, schemas, tables and types.

One Flight SQL catalog per registry; each catalog schema is a ``db_schema``; each virtual
table a table, with its Arrow schema (and per-column ``ARROW:FLIGHT:SQL:*`` metadata that
JDBC ``getColumns`` and ADBC ``GetObjects`` read) when asked.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import pyarrow as pa

from dsgrid_sql.catalog import Catalog
from dsgrid_sql.catalog.tables import Column, Table, sql_type_name

from . import schemas

LIKE_ESCAPE = "\\"
# Flight SQL's column metadata keys. The specification's comment says DB_SCHEMA_NAME, but
# every reference implementation (C++, Java, Go) reads SCHEMA_NAME.
META = "ARROW:FLIGHT:SQL:"


_ANY_ONE, _ANY_MANY = object(), object()


@lru_cache(maxsize=256)
def _like_tokens(pattern: str) -> tuple[object, ...]:
    tokens: list[object] = []
    escaped = False
    for char in pattern:
        if escaped:
            tokens.append(char)
            escaped = False
        elif char == LIKE_ESCAPE:
            escaped = True
        elif char == "%":
            if not tokens or tokens[-1] is not _ANY_MANY:  # %% is %
                tokens.append(_ANY_MANY)
        elif char == "_":
            tokens.append(_ANY_ONE)
        else:
            tokens.append(char)
    if escaped:
        tokens.append(LIKE_ESCAPE)
    return tuple(tokens)


def matches(pattern: str | None, value: str) -> bool:
    """SQL LIKE, in time proportional to pattern × value: a backtracking regex takes
    exponential time on patterns such as '%_%_%_…x', which any client may send."""
    if pattern is None:
        return True
    tokens = _like_tokens(pattern)
    p = v = 0
    star, mark = -1, 0
    while v < len(value):
        token = tokens[p] if p < len(tokens) else None
        if token is _ANY_MANY:
            star, mark = p, v
            p += 1
        elif token is not None and (token is _ANY_ONE or token == value[v]):
            p += 1
            v += 1
        elif star >= 0:
            p, mark = star + 1, mark + 1
            v = mark
        else:
            return False
    while p < len(tokens) and tokens[p] is _ANY_MANY:
        p += 1
    return p == len(tokens)


def column_field(table: Table, column: Column) -> pa.Field:
    """A table column as an Arrow field carrying Flight SQL column metadata."""
    metadata = {
        "CATALOG_NAME": table.catalog,
        "SCHEMA_NAME": table.schema,
        "TABLE_NAME": table.name,
        "TYPE_NAME": sql_type_name(column.type),
        "IS_READ_ONLY": "1",
        "IS_SEARCHABLE": "1",
        "IS_AUTO_INCREMENT": "0",
        "IS_CASE_SENSITIVE": "1" if pa.types.is_string(column.type) else "0",
        "REMARKS": column.remarks,
    }
    precision_scale = _precision_scale(column.type)
    if precision_scale is not None:
        metadata["PRECISION"], metadata["SCALE"] = (str(v) for v in precision_scale)
    return pa.field(
        column.name,
        column.type,
        nullable=column.nullable,
        metadata={f"{META}{k}": v for k, v in metadata.items() if v is not None},
    )


def _precision_scale(arrow_type: pa.DataType) -> tuple[int, int] | None:
    if pa.types.is_float64(arrow_type):
        return 15, 0
    if pa.types.is_int64(arrow_type):
        return 19, 0
    if pa.types.is_int32(arrow_type):
        return 10, 0
    if pa.types.is_decimal(arrow_type):
        return arrow_type.precision, arrow_type.scale
    return None


def table_schema(table: Table) -> pa.Schema:
    return pa.schema([column_field(table, c) for c in table.columns])


def result_field_metadata(arrow_type: pa.DataType) -> dict[str, str]:
    """Column metadata for a query result column (its SQL type name)."""
    return {f"{META}TYPE_NAME": sql_type_name(arrow_type), f"{META}IS_READ_ONLY": "1"}


def catalogs(catalog: Catalog) -> pa.Table:
    return pa.Table.from_pylist([{"catalog_name": catalog.name}], schema=schemas.CATALOGS)


def _catalog_matches(catalog: Catalog, wanted: str | None) -> bool:
    # An empty string means "tables without a catalog": there are none here.
    return wanted is None or wanted == catalog.name


def db_schemas(catalog: Catalog, catalog_name: str | None, pattern: str | None) -> pa.Table:
    rows = []
    if _catalog_matches(catalog, catalog_name):
        rows = [
            {"catalog_name": catalog.name, "db_schema_name": schema}
            for schema in sorted(catalog.list_schemas())
            if matches(pattern, schema)
        ]
    return pa.Table.from_pylist(rows, schema=schemas.DB_SCHEMAS)


def tables(
    catalog: Catalog,
    catalog_name: str | None,
    schema_pattern: str | None,
    table_pattern: str | None,
    table_types: Iterable[str],
    include_schema: bool,
) -> pa.Table:
    wanted_types = {t.upper() for t in table_types}
    rows = []
    if _catalog_matches(catalog, catalog_name):
        for schema in sorted(catalog.list_schemas()):
            if not matches(schema_pattern, schema):
                continue
            for table in catalog.list_tables(schema):
                if not matches(table_pattern, table.name):
                    continue
                if wanted_types and table.table_type.upper() not in wanted_types:
                    continue
                row: dict[str, object] = {
                    "catalog_name": catalog.name,
                    "db_schema_name": schema,
                    "table_name": table.name,
                    "table_type": table.table_type,
                }
                if include_schema:
                    row["table_schema"] = table_schema(table).serialize().to_pybytes()
                rows.append(row)
    # The specification's order: catalog, schema, table type, table name.
    rows.sort(key=lambda r: (r["db_schema_name"], r["table_type"], r["table_name"]))
    target = schemas.TABLES_WITH_SCHEMA if include_schema else schemas.TABLES
    return pa.Table.from_pylist(rows, schema=target)


def table_types(catalog: Catalog) -> pa.Table:
    types = sorted({t.table_type for s in catalog.list_schemas() for t in catalog.list_tables(s)})
    return pa.Table.from_pylist([{"table_type": t} for t in types], schema=schemas.TABLE_TYPES)


# -- types ------------------------------------------------------------------------------------

# (type name, XDBC data type, column size, literal prefix/suffix, SQL data type, subcode)
# for every type a dsgrid-sql result can carry. XDBC codes follow the Flight SQL enum
# (BIT for booleans, DATETIME with a subcode for date/time types).
_XDBC_TYPES = [
    ("BIGINT", -5, 19, None, -5, None),
    ("BOOLEAN", -7, 1, None, -7, None),
    ("INTEGER", 4, 10, None, 4, None),
    ("DOUBLE", 8, 15, None, 8, None),
    ("VARCHAR", 12, None, "'", 12, None),
    ("DATE", 91, 10, "'", 9, 1),
    ("TIMESTAMP", 93, 26, "'", 9, 3),
    ("TIMESTAMP WITH TIME ZONE", 93, 32, "'", 9, 3),
]


def xdbc_type_info(data_type: int | None) -> pa.Table:
    rows = []
    for name, code, size, quote, sql_code, subcode in _XDBC_TYPES:
        if data_type is not None and data_type != code:
            continue
        rows.append(
            {
                "type_name": name,
                "data_type": code,
                "column_size": size,
                "literal_prefix": quote,
                "literal_suffix": quote,
                "create_params": None,
                "nullable": 1,  # columns may hold nulls
                "case_sensitive": name == "VARCHAR",
                "searchable": 3,  # usable in WHERE with any operator
                "unsigned_attribute": False if code in (-5, 4, 8) else None,
                "fixed_prec_scale": False,
                "auto_increment": None,
                "local_type_name": name,
                "minimum_scale": None,
                "maximum_scale": None,
                "sql_data_type": sql_code,
                "datetime_subcode": subcode,
                "num_prec_radix": 10 if code in (-5, 4, 8) else None,
                "interval_precision": None,
            }
        )
    rows.sort(key=lambda r: (r["data_type"], r["type_name"]))
    return pa.Table.from_pylist(rows, schema=schemas.XDBC_TYPE_INFO)
