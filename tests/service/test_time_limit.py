"""The request time limit (rewrite/deadline.py) where the work cannot look at it: a step run
on its own thread is stopped waiting for at the limit, the caller is free at once."""

from __future__ import annotations

import threading
import time

import pyarrow as pa
import pytest

from dsgrid_sql.engine.duckdb import DuckDBEngine
from dsgrid_sql.errors import QueryCancelledError, QueryTimeoutError
from dsgrid_sql.rewrite.deadline import check_time, time_limit, within_time_limit
from dsgrid_sql.rewrite.inputs import ArrowInput


def test_work_that_never_looks_at_the_limit_is_left_at_it() -> None:
    gate = threading.Event()
    finished = threading.Event()

    def blocked() -> int:
        gate.wait(60)
        finished.set()
        return 1

    with time_limit(0.2), pytest.raises(QueryTimeoutError, match=r"longer than 0\.2 s"):
        within_time_limit(blocked)
    gate.set()  # the work ends by itself; nobody waits for its answer
    assert finished.wait(60)
    with time_limit(5.0):
        assert within_time_limit(lambda: 2) == 2
    with time_limit(None, cancelled=lambda: True), pytest.raises(QueryCancelledError):
        within_time_limit(lambda: gate.wait(60) and threading.Event().wait(60))
    with pytest.raises(ZeroDivisionError), time_limit(5.0):
        within_time_limit(lambda: 1 // 0)  # the work's own error reaches the caller
    check_time()  # outside any limit: never stops


def test_a_schema_probe_duckdb_plans_for_seconds_stops_at_the_limit() -> None:
    """DuckDB plans a long OR chain for seconds without looking for an interrupt."""
    engine = DuckDBEngine()
    try:
        table = ArrowInput.of("t", pa.table({"value": [0.5, 1.5, 2.5]}))
        terms = " OR ".join(f"value = {i}.25" for i in range(10_000))
        sql = f'SELECT COUNT(*) AS n FROM "{table.name}" WHERE {terms}'
        with time_limit(0.3), pytest.raises(QueryTimeoutError):
            engine.schema(sql, [table])
        # The engine answers the next query meanwhile.
        small = f'SELECT COUNT(*) AS n FROM "{table.name}"'
        assert engine.execute(small, [table]).read_all().column("n").to_pylist() == [3]
    finally:
        engine.close()


def test_a_schema_probe_spark_analyses_for_seconds_stops_at_the_limit() -> None:
    """Spark parses and analyses a 2,000-term OR chain for seconds (no job runs: nothing to
    cancel); the caller gets the timeout at the limit and the engine answers meanwhile."""
    pytest.importorskip("pyspark")
    from dsgrid_sql.engine.spark import SparkEngine

    engine = SparkEngine()  # the test run's one local Spark session
    table = ArrowInput.of("t", pa.table({"value": [0.5, 1.5, 2.5]}))
    terms = " OR ".join(f"value = {i}.25" for i in range(2_000))
    sql = f"SELECT COUNT(*) AS n FROM `{table.name}` WHERE {terms}"
    with time_limit(0.3), pytest.raises(QueryTimeoutError, match=r"longer than 0\.3 s"):
        engine.schema(sql, [table])
    small = f"SELECT COUNT(*) AS n FROM `{table.name}`"
    assert engine.execute(small, [table]).read_all().column("n").to_pylist() == [3]
    # The abandoned probe ends by itself and lets go of the view it read.
    deadline = time.monotonic() + 120
    while any(table.name in names for names in SparkEngine._reading.values()):
        assert time.monotonic() < deadline, "the abandoned probe still holds its view"
        time.sleep(0.05)
