"""Writing results to Parquet (and CSV) atomically, with lineage metadata.

Everything is written to a temporary sibling path and renamed into place at the end, so a
failure or Ctrl-C leaves nothing behind and a reader never sees half a file. When an export
directory is configured, paths must lie inside it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from dsgrid_sql.errors import ExportError

METADATA_KEY = b"dsgrid_sql"


def resolve_export_path(path: str | Path, export_dir: str | Path | None) -> Path:
    """The target path; relative to and confined within ``export_dir`` when one is set."""
    target = Path(path).expanduser()
    if export_dir is None:
        return target.resolve()
    root = Path(export_dir).expanduser().resolve()
    resolved = (root / target).resolve() if not target.is_absolute() else target.resolve()
    if root != resolved and root not in resolved.parents:
        raise ExportError(
            f"Cannot write '{path}': exports must stay inside the export directory '{root}'.",
            hint="Give a path relative to the export directory.",
        )
    return resolved


def write_result(
    reader: pa.RecordBatchReader,
    path: str | Path,
    *,
    file_format: str = "parquet",
    partition_by: Sequence[str] | None = None,
    metadata: dict[str, Any] | None = None,
    overwrite: bool = False,
    export_dir: str | Path | None = None,
) -> tuple[Path, int]:
    """Write every batch of ``reader`` to ``path``; returns (path, rows written)."""
    target = resolve_export_path(path, export_dir)
    if target.exists() and not overwrite:
        raise ExportError(
            f"'{target}' already exists; nothing was written.",
            hint="Choose another path, or allow overwriting (OVERWRITE true / --overwrite).",
        )
    if not target.parent.is_dir():
        raise ExportError(f"Cannot write '{target}': the folder '{target.parent}' does not exist.")
    file_format = file_format.lower()
    if file_format not in ("parquet", "csv"):
        raise ExportError(f"Unknown export format '{file_format}'; use parquet or csv.")
    partition_by = list(partition_by or [])
    missing = [c for c in partition_by if c not in reader.schema.names]
    if missing:
        raise ExportError(
            f"Cannot partition by {', '.join(missing)}: the result has no such column.",
            hint=f"Result columns: {', '.join(reader.schema.names)}.",
        )
    schema = reader.schema
    if metadata:
        schema = schema.with_metadata(
            {**(schema.metadata or {}), METADATA_KEY: json.dumps(metadata).encode()}
        )
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    rows = 0
    try:
        if partition_by:
            if file_format != "parquet":
                raise ExportError("Partitioned exports are written as Parquet only.")
            out = staging / "out"
            batches = _counting(reader)
            import pyarrow.dataset as pads  # loads pandas: only when partitioning

            pads.write_dataset(
                pa.RecordBatchReader.from_batches(schema, batches),
                out,
                format="parquet",
                partitioning=partition_by,
                partitioning_flavor="hive",
                existing_data_behavior="error",
            )
            rows = batches.count  # type: ignore[attr-defined]
        else:
            out = staging / "out"
            if file_format == "parquet":
                with pq.ParquetWriter(out, schema) as writer:
                    for batch in reader:
                        writer.write_batch(batch)
                        rows += batch.num_rows
            else:
                with pacsv.CSVWriter(out, reader.schema) as writer:
                    for batch in reader:
                        writer.write_batch(batch)
                        rows += batch.num_rows
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        os.replace(out, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target, rows


class _counting:
    """Iterates batches and counts their rows."""

    def __init__(self, reader: pa.RecordBatchReader) -> None:
        self._reader = reader
        self.count = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        for batch in self._reader:
            self.count += batch.num_rows
            yield batch
