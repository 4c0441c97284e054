"""The optimizer passes the DuckDB engine turns off, on every cursor a query runs on.

``partitioned_execution`` re-reads a whole Parquet file once per range of a grouped column
(issue 21): it shows only on files of tens of millions of rows, too large for a test, so the
setting itself is what is checked here; bench/results/2026-12-04-partitioned-execution.md
measures its effect.
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from dsgrid_sql.engine import duckdb as duckdb_engine
from dsgrid_sql.engine.duckdb import DuckDBEngine


def _disabled(conn) -> set[str]:  # type: ignore[no-untyped-def]
    value = conn.execute("SELECT current_setting('disabled_optimizers')").fetchone()[0]
    return {name.strip() for name in str(value).split(",") if name.strip()}


def test_queries_run_with_partitioned_execution_off() -> None:
    engine = DuckDBEngine()
    try:
        known = {
            r[0] for r in engine._conn.execute("SELECT name FROM duckdb_optimizers()").fetchall()
        }
        if "partitioned_execution" not in known:
            pytest.skip("this DuckDB has no partitioned_execution pass")  # older DuckDB
        # Queries run on cursors of the engine's connection: the setting must reach them.
        cursor = engine._conn.cursor()
        assert "partitioned_execution" in _disabled(cursor)
        table = engine.execute("SELECT current_setting('disabled_optimizers') AS s", []).read_all()
        assert "partitioned_execution" in table.column("s")[0].as_py()
    finally:
        engine.close()


def test_a_pass_this_duckdb_does_not_know_is_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """Naming a pass DuckDB does not have is an error: an older or newer DuckDB without it
    still opens, with the passes it does have turned off."""
    monkeypatch.setattr(
        duckdb_engine, "DISABLED_OPTIMIZERS", ("no_such_pass", "common_subexpressions")
    )
    engine = DuckDBEngine()
    try:
        assert _disabled(engine._conn) == {"common_subexpressions"}
        answer = engine.execute("SELECT 1 + 1 AS two", []).read_all()
        assert answer == pa.table({"two": pa.array([2], pa.int32())})
    finally:
        engine.close()
