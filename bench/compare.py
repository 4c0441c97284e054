"""Are two answers to one question the same? The one comparison every benchmark uses before
a time counts: rows matched by sorting on the key columns (other columns break ties),
non-numeric columns equal, numbers equal to a relative 1e-9 (sums come out in
engine-dependent order, so never exactly)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

RELATIVE = 1e-9


class Mismatch(AssertionError):
    pass


@dataclass
class Comparison:
    rows: int
    worst: float  # largest relative difference of a numeric column (inf when rows differ)
    problem: str | None  # the first difference, None when the answers are the same

    @property
    def same(self) -> bool:
        return self.problem is None


def _numeric(field: pa.Field) -> bool:
    return pa.types.is_floating(field.type) or pa.types.is_decimal(field.type)


def compare(ours: pa.Table, theirs: pa.Table, keys: Sequence[str]) -> Comparison:
    if sorted(ours.column_names) != sorted(theirs.column_names):
        return Comparison(
            ours.num_rows, np.inf, f"columns {ours.column_names} vs {theirs.column_names}"
        )
    if ours.num_rows != theirs.num_rows:
        return Comparison(ours.num_rows, np.inf, f"{ours.num_rows} vs {theirs.num_rows} rows")
    theirs = theirs.select(ours.column_names)
    others = [f.name for f in ours.schema if f.name not in keys and not _numeric(f)]
    numbers = [f.name for f in ours.schema if f.name not in keys and _numeric(f)]
    order = [(name, "ascending") for name in [*keys, *others, *numbers]]
    a, b = ours.sort_by(order), theirs.sort_by(order)
    worst = 0.0
    for name in a.column_names:
        x, y = a[name], b[name]
        if name in numbers:
            xs = x.cast(pa.float64()).to_numpy(zero_copy_only=False)
            ys = y.cast(pa.float64()).to_numpy(zero_copy_only=False)
            scale = np.maximum(np.abs(xs), np.abs(ys))
            with np.errstate(invalid="ignore", divide="ignore"):
                rel = np.where(scale > 0, np.abs(xs - ys) / np.where(scale > 0, scale, 1), 0.0)
            rel = np.where(np.isnan(xs) & np.isnan(ys), 0.0, rel)
            rel = np.where(np.isnan(rel), np.inf, rel)
            if rel.size and rel.max() > worst:
                worst = float(rel.max())
                if worst > RELATIVE:
                    i = int(rel.argmax())
                    return Comparison(
                        a.num_rows,
                        worst,
                        f"{name} at row {i}: {float(xs[i])!r} vs {float(ys[i])!r}",
                    )
        else:
            y = y.cast(x.type) if y.type != x.type else y
            if not x.equals(y):
                equal = pc.fill_null(pc.equal(x, y), False).to_numpy(zero_copy_only=False)
                i = int(np.flatnonzero(~equal)[0]) if (~equal).any() else 0
                return Comparison(a.num_rows, np.inf, f"{name} at row {i}: {x[i]} vs {y[i]}")
    return Comparison(a.num_rows, worst, None)


def assert_same(ours: pa.Table, theirs: pa.Table, keys: Sequence[str], what: str) -> float:
    """The largest relative difference; raises :class:`Mismatch` naming ``what`` otherwise."""
    result = compare(ours, theirs, keys)
    if not result.same:
        raise Mismatch(f"{what}: {result.problem}")
    return result.worst
