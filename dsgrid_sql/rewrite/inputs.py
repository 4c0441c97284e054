"""Named relations a rewritten query reads: Parquet scans and small Arrow tables.

The rewrite refers to them by name in the SQL it generates; an engine registers each name
once (a view over Parquet, or an in-memory Arrow table) before running the SQL. Names are
derived from what the relation holds, so the same content always gets the same name and an
engine can keep it registered across queries.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa


def input_name(kind: str, *parts: object) -> str:
    digest = hashlib.sha1("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:12]
    return f"__dsgrid_{kind}_{digest}"


@dataclass(frozen=True)
class ParquetInput:
    """A Parquet file or a directory of part files (Spark-written, maybe hive-partitioned)."""

    name: str
    path: Path
    # Files found in a directory, so engines that need a file list (DuckDB) get one.
    files: tuple[Path, ...]


@dataclass(frozen=True)
class ArrowInput:
    """A small in-memory table: mapping records, dimension records, project timestamps."""

    name: str
    table: pa.Table = field(compare=False, repr=False)

    @classmethod
    def of(cls, kind: str, table: pa.Table) -> ArrowInput:
        """Named by its content: engines shared by sessions over different registries (one
        Spark session per process) can never confuse two tables that share ids."""
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        digest = hashlib.sha1(sink.getvalue().to_pybytes()).hexdigest()[:12]
        return cls(f"__dsgrid_{kind}_{digest}", table)


Input = ParquetInput | ArrowInput
