"""Arrow arrays from Python values, built from their buffers.

pyarrow's own conversions from Python (``pa.array``, ``pa.table`` of lists,
``Table.from_pylist``, ``pa.scalar``) import pandas, when it is installed, the first time they
run — to ask whether the values are pandas objects. That import is 0.15–0.3 s of a command
that never uses pandas (``dsgrid-sql query`` runs in well under a second). The small tables the
catalog and the rewrite build — records, mappings, timestamps, time lookups — have five
types, and for those this module fills the Arrow buffers itself. Any other type, or a value
of an unexpected kind, goes through ``pa.array``, which gives the same result (or the same
error) as before.
"""

from __future__ import annotations

import array as _array
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

import pyarrow as pa

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)
# Microseconds per unit of a timestamp.
_PER_UNIT_US = {"s": 1_000_000, "ms": 1_000, "us": 1}


class _Fallback(Exception):
    """A value this module does not convert itself: pa.array decides."""


def array(values: Iterable[Any], arrow_type: pa.DataType) -> pa.Array:
    """``pa.array(values, type)`` without pyarrow's pandas probe, for string, int64,
    float64, bool and timestamp (s, ms, us; datetimes or integers) arrays."""
    values = values if isinstance(values, list) else list(values)
    try:
        return _build(values, arrow_type)
    except _Fallback:
        return pa.array(values, arrow_type)


def from_rows(rows: Sequence[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """``pa.Table.from_pylist(rows, schema=schema)``: a missing key is a null."""
    return pa.Table.from_arrays(
        [array([row.get(f.name) for row in rows], f.type) for f in schema], schema=schema
    )


def table(columns: Mapping[str, Iterable[Any]], schema: pa.Schema | None = None) -> pa.Table:
    """``pa.table`` of Python lists; without a schema every column is a string column."""
    if schema is None:
        schema = pa.schema([(name, pa.string()) for name in columns])
    return pa.Table.from_arrays([array(columns[f.name], f.type) for f in schema], schema=schema)


def _build(values: list[Any], arrow_type: pa.DataType) -> pa.Array:
    count = len(values)
    validity, nulls = _validity(values)
    if pa.types.is_string(arrow_type):
        if any(v is not None and not isinstance(v, str) for v in values):
            raise _Fallback
        try:
            encoded = [b"" if v is None else v.encode() for v in values]
            offsets = _array.array("i", [0, *accumulate(map(len, encoded))])
        except (UnicodeEncodeError, OverflowError):  # a lone surrogate; over 2 GiB of text
            raise _Fallback from None
        buffers = [validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
        return pa.Array.from_buffers(arrow_type, count, buffers, null_count=nulls)
    if pa.types.is_boolean(arrow_type):
        bits = bytearray((count + 7) // 8)
        for i, v in enumerate(values):
            if v is True:
                bits[i >> 3] |= 1 << (i & 7)
            elif v is not None and v is not False:
                raise _Fallback
        return pa.Array.from_buffers(
            arrow_type, count, [validity, pa.py_buffer(bits)], null_count=nulls
        )
    if pa.types.is_int64(arrow_type):
        numbers = [0 if v is None else v for v in values]
        if any(type(v) is not int for v in numbers):
            raise _Fallback
        return _fixed(arrow_type, count, validity, nulls, "q", numbers)
    if pa.types.is_float64(arrow_type):
        numbers = [0.0 if v is None else v for v in values]
        if any(type(v) is not float and type(v) is not int for v in numbers):
            raise _Fallback
        return _fixed(arrow_type, count, validity, nulls, "d", numbers)
    if pa.types.is_timestamp(arrow_type) and arrow_type.unit in _PER_UNIT_US:
        per_unit = _PER_UNIT_US[arrow_type.unit]
        return _fixed(
            arrow_type, count, validity, nulls, "q", [_ticks(v, per_unit) for v in values]
        )
    raise _Fallback


def _fixed(
    arrow_type: pa.DataType,
    count: int,
    validity: pa.Buffer | None,
    nulls: int,
    code: str,
    numbers: list[Any],
) -> pa.Array:
    try:
        data = _array.array(code, numbers)
    except OverflowError:
        raise _Fallback from None
    return pa.Array.from_buffers(
        arrow_type, count, [validity, pa.py_buffer(data)], null_count=nulls
    )


def _ticks(value: Any, per_unit: int) -> int:
    """A timestamp value in units since the epoch: integers are taken as they are, naive
    datetimes as UTC (as pa.array reads them)."""
    if value is None:
        return 0
    if type(value) is int:
        return value
    if not isinstance(value, datetime):
        raise _Fallback
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    micros = (value - _EPOCH) // _ONE_MICROSECOND
    if micros % per_unit:
        raise _Fallback  # pa.array refuses to truncate; let it say so
    return micros // per_unit


def _validity(values: list[Any]) -> tuple[pa.Buffer | None, int]:
    nulls = sum(v is None for v in values)
    if nulls == 0:
        return None, 0
    bits = bytearray((len(values) + 7) // 8)
    for i, v in enumerate(values):
        if v is not None:
            bits[i >> 3] |= 1 << (i & 7)
    return pa.py_buffer(bits), nulls
