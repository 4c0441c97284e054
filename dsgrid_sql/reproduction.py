"""Reproduce a written result: run its recorded query again, pinned to the project versions
it recorded, and say whether the answer is the same.

Every export (COPY, ``--output``, ``to_parquet``) and every job result records its lineage in
the Parquet metadata (export.py): the query, the project and dataset versions, the registry.
Same rows with values equal to 1e-12 (relative) is "the same"; anything else is reported
with what differs — rows added or missing, values changed — so a changed data file, a
re-registered dataset or a different engine shows.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dsgrid_sql.errors import DsgridSqlError
from dsgrid_sql.export import METADATA_KEY
from dsgrid_sql.rewrite.versions import AsOf

TOLERANCE = 1e-12
SHOWN = 5  # differing rows quoted in a report


class ReproduceError(DsgridSqlError):
    code = "reproduce"


@dataclass
class Reproduction:
    """What running a recorded query again gave."""

    path: Path
    query: str
    versions: dict[str, str]
    rows_before: int
    rows_after: int
    same: bool
    max_relative_difference: float = 0.0
    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        pinned = ", ".join(f"{p}@{v}" for p, v in self.versions.items()) or "no project"
        if self.same:
            head = (
                f"Reproduced: {self.rows_after} rows, values within {TOLERANCE:g} "
                f"(largest relative difference {self.max_relative_difference:.1e}), "
                f"read at {pinned}."
            )
        else:
            head = (
                f"Not reproduced: {self.rows_before} rows written, {self.rows_after} now "
                f"(read at {pinned})."
            )
        return "\n".join([head, *self.notes, *self.differences])


def recorded_lineage(path: str | Path) -> dict[str, Any]:
    """The lineage a Parquet file written by dsgrid-sql carries."""
    target = Path(path)
    try:
        metadata = pq.read_schema(target).metadata or {}
    except (OSError, pa.ArrowException) as exc:
        raise ReproduceError(f"Cannot read '{target}' as Parquet: {exc}.") from None
    raw = metadata.get(METADATA_KEY)
    if raw is None:
        raise ReproduceError(
            f"'{target}' records no query: it was not written by dsgrid-sql (or was rewritten "
            "by another tool)."
        )
    try:
        return dict(json.loads(raw))
    except ValueError:
        raise ReproduceError(f"The lineage recorded in '{target}' is not readable.") from None


def reproduce(
    path: str | Path,
    registry: str | Path | None = None,
    *,
    engine: str | None = None,
    **connect_options: Any,
) -> Reproduction:
    """Run the query ``path`` records at the versions it records (on ``registry``, default
    the one it names) and compare the answers."""
    from dsgrid_sql.session import connect

    lineage = recorded_lineage(path)
    query = lineage.get("query")
    if not isinstance(query, str) or not query.strip():
        raise ReproduceError(f"'{path}' records no query text.")
    versions = {str(k): str(v) for k, v in (lineage.get("projects") or {}).items() if v}
    location = registry or lineage.get("registry")
    if not location:
        raise ReproduceError(f"'{path}' names no registry; pass one.")
    before = pq.read_table(path)
    with connect(location, engine=engine or lineage.get("engine"), **connect_options) as session:
        for project_id, version in versions.items():
            session.catalog.versioned_schema(project_id, version)  # still registered?
        session.as_of = AsOf(versions=tuple(sorted(versions.items())))
        result = session.sql(query)
        after = result.to_arrow()
        notes = list(result.notes)
        now = session.lineage_sources(result)["datasets"]
    recorded = {str(k): str(v) for k, v in (lineage.get("datasets") or {}).items()}
    for dataset_id, version in sorted(recorded.items()):
        if now.get(dataset_id) != version:
            notes.append(
                f"Dataset {dataset_id} was read at version {version}; now at "
                f"{now.get(dataset_id) or 'none'}."
            )
    same, worst, differences = compare(before, after)
    return Reproduction(
        path=Path(path),
        query=query,
        versions=versions,
        rows_before=before.num_rows,
        rows_after=after.num_rows,
        same=same,
        max_relative_difference=worst,
        differences=differences,
        notes=notes,
    )


def compare(before: pa.Table, after: pa.Table) -> tuple[bool, float, list[str]]:
    """(same, largest relative difference, sentences about what differs). Rows are matched
    after sorting both tables on every column, numbers last."""
    if before.column_names != after.column_names:
        return (
            False,
            math.inf,
            [f"Columns differ: {before.column_names} written, {after.column_names} now."],
        )
    before, after = before.replace_schema_metadata(None), after.replace_schema_metadata(None)
    numeric = [
        name for name in before.column_names
        if pa.types.is_floating(before.schema.field(name).type)
        or pa.types.is_decimal(before.schema.field(name).type)
    ]  # fmt: skip
    keys = [n for n in before.column_names if n not in numeric] + numeric
    order = [(k, "ascending") for k in keys]
    old = before.sort_by(order).to_pylist() if keys else before.to_pylist()
    new = after.sort_by(order).to_pylist() if keys else after.to_pylist()
    differences: list[str] = []
    worst = 0.0
    if len(old) != len(new):
        differences.append(f"Row counts differ: {len(old)} written, {len(new)} now.")
    differing = 0
    for index, (a, b) in enumerate(zip(old, new, strict=False)):
        differs = [k for k in keys if k not in numeric and a[k] != b[k]]
        for name in numeric:
            x, y = a[name], b[name]
            if x is None or y is None:
                if x is not y:
                    differs.append(name)
                continue
            x, y = float(x), float(y)
            relative = abs(x - y) / max(abs(x), abs(y)) if x != y else 0.0
            worst = max(worst, relative)
            if relative > TOLERANCE:
                differs.append(name)
        if differs:
            differing += 1
            if differing <= SHOWN:
                differences.append(f"Row {index + 1} differs in {', '.join(differs)}: {a} → {b}.")
    if differing > SHOWN:
        differences.append(f"… and {differing - SHOWN} more differing rows.")
    return not differences, worst, differences
