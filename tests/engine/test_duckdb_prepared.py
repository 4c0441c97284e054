"""DuckDB cursors kept between queries with the statements they planned (engine/prepared.py):
a query asked again with a small result runs its plan; a new text or a large result streams as
before; released inputs take their statements along; a cancelled query's cursor never serves
another query."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pyarrow as pa
import pytest

from dsgrid_sql.engine import prepared
from dsgrid_sql.engine.duckdb import DuckDBEngine
from dsgrid_sql.errors import QueryCancelledError, QueryExecutionError
from dsgrid_sql.rewrite.cache import TEXT_UNIT, text_weight
from dsgrid_sql.rewrite.inputs import ArrowInput

TABLE = ArrowInput.of("t", pa.table({"k": ["a", "b", "a", "c"], "v": [1.0, 2.0, 3.0, 4.0]}))
BY_KEY = f'SELECT k, SUM(v) AS v FROM "{TABLE.name}" GROUP BY k ORDER BY k'
TOTAL = f'SELECT SUM(v) AS v FROM "{TABLE.name}"'
# ~10^10 rows: runs until cancelled.
ENDLESS = "SELECT SUM(a.range * b.range) AS s FROM range(100000) a, range(100000) b"


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    engine = DuckDBEngine()
    yield engine
    engine.close()


def _run(engine: DuckDBEngine, sql: str, inputs: list = [TABLE]) -> list[dict]:  # noqa: B006
    return engine.execute(sql, inputs).read_all().to_pylist()


def _wait_for(condition, timeout: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The EXECUTE texts the engine runs."""
    texts: list[str] = []
    statement = prepared.PreparedCursor.statement

    def recorded(self, sql, inputs):  # type: ignore[no-untyped-def]
        texts.append(statement(self, sql, inputs))
        return texts[-1]

    monkeypatch.setattr(prepared.PreparedCursor, "statement", recorded)
    return texts


def test_a_small_result_asked_again_runs_its_plan(
    engine: DuckDBEngine, statements: list[str]
) -> None:
    expected = [{"k": "a", "v": 4.0}, {"k": "b", "v": 2.0}, {"k": "c", "v": 4.0}]
    assert _run(engine, BY_KEY) == expected
    # A new text streams on a cursor of its own: nothing prepared.
    assert statements == [] and engine.prepared_count() == 0
    for _ in range(2):
        assert _run(engine, BY_KEY) == expected
    assert len(statements) == 2 and statements[0] == statements[1]
    assert statements[0].startswith("EXECUTE ")
    assert engine.prepared_count() == 1
    for _ in range(2):
        assert _run(engine, TOTAL) == [{"v": 10.0}]
    assert engine.prepared_count() == 2  # the same cursor, another statement


def test_a_large_or_unfinished_result_always_streams(
    engine: DuckDBEngine, statements: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB runs a prepared statement to its end before the first batch: a query whose
    rows are many (here more than 2), or whose reader was closed midway, is never prepared."""
    monkeypatch.setattr(prepared, "SMALL_RESULT_ROWS", 2)
    for _ in range(3):
        assert len(_run(engine, BY_KEY)) == 3
    for _ in range(3):
        reader = engine.execute(TOTAL, [TABLE])
        reader.close()  # not read: how many rows it has is not known
    del reader  # its batches go with it
    assert statements == [] and engine.prepared_count() == 0
    assert _wait_for(lambda: engine.running_count() == 0)


def test_released_inputs_take_their_statements_along(engine: DuckDBEngine) -> None:
    for _ in range(2):
        assert _run(engine, BY_KEY)[0] == {"k": "a", "v": 4.0}
    assert engine.prepared_count() == 1
    assert engine.release_idle(0.0) == [TABLE.name]
    assert engine.prepared_count() == 0
    # Asked again: registered again, streamed, then planned again.
    for _ in range(2):
        assert _run(engine, BY_KEY)[0] == {"k": "a", "v": 4.0}
    assert engine.prepared_count() == 1


def test_the_statements_a_cursor_keeps_are_bounded(
    engine: DuckDBEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prepared, "STATEMENTS_PER_CURSOR", 2)
    for limit in range(1, 5):
        for _ in range(2):
            assert len(_run(engine, f"{BY_KEY} LIMIT {limit}")) == min(limit, 3)
    assert engine.prepared_count() == 2
    assert _run(engine, f"{BY_KEY} LIMIT 1") == [{"k": "a", "v": 4.0}]  # evicted: planned again


def test_long_texts_count_by_their_size_among_a_cursors_statements(
    engine: DuckDBEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cursor keeps as many statements as STATEMENTS_PER_CURSOR of short texts, fewer long
    ones (a plan grows with its text), and always the one it just planned."""
    monkeypatch.setattr(prepared, "STATEMENTS_PER_CURSOR", 8)
    padding = " OR k = 'z'" * (TEXT_UNIT // 11 * 3)
    for limit in range(1, 5):
        sql = f"SELECT k FROM \"{TABLE.name}\" WHERE k = 'a'{padding} LIMIT {limit}"
        assert text_weight(sql) == 4
        for _ in range(2):
            assert _run(engine, sql) == [{"k": "a"}] * min(limit, 2)
    assert engine.prepared_count() == 2  # 2 × 4 units of 8
    for limit in range(1, 9):
        for _ in range(2):
            _run(engine, f"{BY_KEY} LIMIT {limit}")
    assert engine.prepared_count() == 8


def test_a_cancelled_querys_cursor_serves_no_other_query(engine: DuckDBEngine) -> None:
    for _ in range(2):
        assert _run(engine, TOTAL) == [{"v": 10.0}]  # one idle cursor, one statement
    assert engine.prepared_count() == 1
    engine._ended(ENDLESS, 1)  # as if it had run before with one row: it runs prepared
    errors: list[BaseException] = []

    def endless() -> None:
        try:
            engine.execute(ENDLESS, [], tag="endless").read_all()
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    worker = threading.Thread(target=endless)
    worker.start()
    # It took the idle cursor: nothing idle is left.
    assert _wait_for(lambda: engine.running_count() == 1 and engine.prepared_count() == 0)
    # Cancelled until it stops, as the front ends do: an interrupt that reaches DuckDB before
    # the statement starts is not kept for it.
    deadline = time.monotonic() + 60
    while worker.is_alive() and time.monotonic() < deadline:
        engine.cancel("endless")
        worker.join(0.1)
    assert not worker.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], QueryCancelledError)
    # Closed, not kept: its statements went with it, and the next query gets a new cursor.
    assert engine.running_count() == 0 and engine.prepared_count() == 0
    assert _run(engine, TOTAL) == [{"v": 10.0}]
    assert engine.prepared_count() == 1


def test_a_query_that_does_not_bind_reports_duckdbs_error(engine: DuckDBEngine) -> None:
    with pytest.raises(QueryExecutionError, match="nope"):
        _run(engine, f'SELECT nope FROM "{TABLE.name}"')
    assert engine.running_count() == 0
    assert _run(engine, TOTAL) == [{"v": 10.0}]


def test_queries_at_once_each_get_a_cursor_of_their_own(engine: DuckDBEngine) -> None:
    queries = {
        BY_KEY: [{"k": "a", "v": 4.0}, {"k": "b", "v": 2.0}, {"k": "c", "v": 4.0}],
        TOTAL: [{"v": 10.0}],
        f'SELECT COUNT(*) AS n FROM "{TABLE.name}"': [{"n": 4}],
    }
    start = threading.Barrier(8)
    wrong: list[object] = []

    def client(index: int) -> None:
        start.wait(60)
        for round_ in range(15):
            sql = list(queries)[(index + round_) % len(queries)]
            try:
                got = _run(engine, sql)
            except BaseException as exc:  # reported to the test below
                wrong.append(exc)
                continue
            if got != queries[sql]:
                wrong.append((sql, got))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not wrong
    assert engine.running_count() == 0
    # At most IDLE_CURSORS cursors kept, each with at most the three statements.
    assert 1 <= engine.prepared_count() <= prepared.IDLE_CURSORS * len(queries)
