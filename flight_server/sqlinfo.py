"""GetSqlInfo: what the server tells clients about itself.

Every id the Flight SQL JDBC driver reads is answered, each in the union child the driver
casts it to (a wrong child is a ClassCastException in DBeaver or Tableau; a missing one was a
NullPointerException before driver 19). Values describe dsgrid-sql's read-only SQL surface.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import pyarrow as pa
from sqlglot.dialects.duckdb import DuckDB

from dsgrid_sql.rewrite.allowlist import function_names
from dsgrid_sql.version import __version__

from .schemas import SQL_INFO, SQL_INFO_UNION, SQL_INFO_UNION_FIELDS

VENDOR_NAME = "dsgrid-sql"

# Union child type codes (schemas.SQL_INFO_UNION_FIELDS order).
STRING, BOOL, BIGINT, BITMASK, STRING_LIST, INT_LIST_MAP = range(6)


def _bits(*positions: int) -> int:
    """An int32 bitmask with the given enum positions set (SqlInfo bitmask convention)."""
    value = 0
    for position in positions:
        value |= 1 << position
    return value


def _keywords() -> list[str]:
    return sorted({k.upper() for k in DuckDB.Tokenizer.KEYWORDS if k.replace("_", "").isalpha()})


@cache
def info_values(statement_timeout_ms: int = 0) -> dict[int, tuple[int, object]]:
    """id → (union child, value) for every id the server answers."""
    no_limit = 0  # "no limit or unknown" for every SQL_MAX_* id
    values: dict[int, tuple[int, object]] = {
        0: (STRING, VENDOR_NAME),
        1: (STRING, __version__),
        2: (STRING, pa.__version__),
        3: (BOOL, True),  # read-only
        4: (BOOL, True),  # SQL
        5: (BOOL, False),  # Substrait
        8: (BITMASK, 0),  # transactions: none
        9: (BOOL, True),  # cancellation
        10: (BOOL, False),  # bulk ingestion
        11: (BOOL, False),
        100: (BITMASK, statement_timeout_ms),
        101: (BITMASK, 0),
        500: (BOOL, False),  # DDL: catalogs, schemas, tables
        501: (BOOL, False),
        502: (BOOL, False),
        503: (BITMASK, 1),  # identifiers: case insensitive
        504: (STRING, '"'),
        505: (BITMASK, 0),  # quoted identifiers: case sensitive (unknown = 0)
        506: (BOOL, True),
        507: (BITMASK, 3),  # nulls sorted at end (DuckDB's default)
        508: (STRING_LIST, _keywords()),
        509: (STRING_LIST, [n.upper() for n in function_names("numeric")]),
        510: (STRING_LIST, [n.upper() for n in function_names("string")]),
        511: (STRING_LIST, [n.upper() for n in function_names("system")]),
        512: (STRING_LIST, [n.upper() for n in function_names("datetime")]),
        513: (STRING, "\\"),
        514: (STRING, ""),
        515: (BOOL, True),
        516: (BOOL, True),
        517: (INT_LIST_MAP, {}),
        518: (BOOL, True),
        519: (BOOL, False),
        520: (BOOL, True),
        521: (BOOL, True),
        522: (BITMASK, _bits(0, 1)),  # GROUP BY unrelated / beyond select
        523: (BOOL, True),
        524: (BOOL, True),
        525: (BITMASK, _bits(0, 1)),  # minimum and core grammar
        526: (BITMASK, _bits(0)),  # ANSI-92 entry level
        527: (BOOL, False),
        528: (BITMASK, 2),  # full outer joins
        529: (STRING, "schema"),
        530: (STRING, "procedure"),
        531: (STRING, "catalog"),
        532: (BOOL, True),
        533: (BITMASK, 0),
        534: (BITMASK, 0),
        535: (BITMASK, 0),
        536: (BOOL, False),
        537: (BOOL, False),
        538: (BITMASK, _bits(0, 1, 2, 3)),  # subqueries: comparisons, EXISTS, IN, quantified
        539: (BOOL, True),
        540: (BITMASK, _bits(0, 1)),  # UNION, UNION ALL
        556: (BOOL, False),
        562: (BIGINT, 0),  # default isolation: none
        563: (BOOL, False),
        564: (BITMASK, 0),
        565: (BOOL, False),
        566: (BOOL, False),
        567: (BITMASK, _bits(1)),  # forward-only result sets
        568: (BITMASK, 0),
        569: (BITMASK, _bits(1)),  # read-only concurrency for forward-only sets
        570: (BITMASK, 0),
        571: (BITMASK, 0),
        572: (BOOL, False),
        573: (BOOL, False),
        574: (BOOL, False),
        575: (BOOL, False),
        576: (BOOL, False),
    }
    for info_id in (*range(541, 556), *range(557, 562)):
        values[info_id] = (BIGINT, no_limit)
    return dict(sorted(values.items()))


def sql_info_table(ids: Iterable[int] = (), statement_timeout_ms: int = 0) -> pa.Table:
    """The GetSqlInfo answer for ``ids`` (all ids when empty); unknown ids are left out, as
    the specification asks."""
    values = info_values(statement_timeout_ms)
    wanted = [i for i in ids if i in values] if ids else list(values)
    children: list[list[object]] = [[] for _ in range(6)]
    type_ids: list[int] = []
    offsets: list[int] = []
    for info_id in wanted:
        child, value = values[info_id]
        type_ids.append(child)
        offsets.append(len(children[child]))
        children[child].append(list(value.items()) if child == INT_LIST_MAP else value)
    arrays = [
        pa.array(items, type=field.type)
        for items, field in zip(children, SQL_INFO_UNION_FIELDS, strict=True)
    ]
    # from_buffers keeps the children NOT NULL as declared (UnionArray.from_dense would not).
    type_id_buffer = pa.array(type_ids, pa.int8()).buffers()[1]
    offset_buffer = pa.array(offsets, pa.int32()).buffers()[1]
    union = pa.Array.from_buffers(
        SQL_INFO_UNION, len(wanted), [None, type_id_buffer, offset_buffer], children=arrays
    )
    return pa.Table.from_arrays([pa.array(wanted, pa.uint32()), union], schema=SQL_INFO)
