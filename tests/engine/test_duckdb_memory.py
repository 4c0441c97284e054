"""The engine reports the memory its own buffers hold (the soak bench places RSS with it)."""

from __future__ import annotations

import pyarrow as pa

from dsgrid_sql.engine.duckdb import DuckDBEngine
from dsgrid_sql.rewrite.inputs import ArrowInput


def test_duckdb_counts_a_registered_table_and_nothing_once_closed() -> None:
    engine = DuckDBEngine()
    try:
        before = engine.memory_bytes()
        assert before is not None
        rows = 2_000_000
        table = pa.table({"id": pa.array(range(rows), pa.int64())})
        engine.register([ArrowInput.of("big", table)])  # copied into a DuckDB table
        during = engine.memory_bytes()
        assert during is not None and during - before >= rows * 8 // 2  # compressed at most 2×
    finally:
        engine.close()
    assert engine.memory_bytes() is None
