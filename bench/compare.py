"""Are two answers to one question the same? Rows matched on key columns, numbers equal to
a relative 1e-9 (sums come out in engine-dependent order, so never exactly)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pyarrow as pa

RELATIVE = 1e-9


class Mismatch(AssertionError):
    pass


def _rows(table: pa.Table, keys: Sequence[str]) -> dict[tuple, dict]:
    rows = {}
    for row in table.to_pylist():
        key = tuple(str(row[k]) for k in keys)
        if key in rows:  # duplicate keys: compare the numbers summed per key
            for name, value in row.items():
                if isinstance(value, float) and name not in keys:
                    rows[key][name] += value
            continue
        rows[key] = dict(row)
    return rows


def max_relative_difference(ours: pa.Table, theirs: pa.Table, keys: Sequence[str]) -> float:
    """The largest relative difference of a numeric column over rows matched by ``keys``;
    raises :class:`Mismatch` when the rows or columns themselves differ."""
    if sorted(ours.column_names) != sorted(theirs.column_names):
        raise Mismatch(f"columns differ: {ours.column_names} vs {theirs.column_names}")
    a, b = _rows(ours, keys), _rows(theirs, keys)
    if a.keys() != b.keys():
        missing = sorted(set(b) - set(a))[:3]
        extra = sorted(set(a) - set(b))[:3]
        raise Mismatch(f"rows differ: missing {missing}, unexpected {extra}")
    worst = 0.0
    for key, row in a.items():
        other = b[key]
        for name, value in row.items():
            if name in keys:
                continue
            if isinstance(value, float) or isinstance(other[name], float):
                scale = max(abs(value), abs(other[name]), 1e-300)
                worst = max(worst, abs(value - other[name]) / scale)
            elif value != other[name]:
                raise Mismatch(f"{name} differs at {key}: {value!r} vs {other[name]!r}")
    return worst


def assert_same(ours: pa.Table, theirs: pa.Table, keys: Sequence[str], what: str) -> float:
    try:
        worst = max_relative_difference(ours, theirs, keys)
    except Mismatch as exc:
        raise Mismatch(f"{what}: {exc}") from None
    if not worst <= RELATIVE or math.isnan(worst):
        raise Mismatch(f"{what}: values differ by {worst:.3g} (relative)")
    return worst
