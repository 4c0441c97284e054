"""Kept results (engine/results.py) on both engines: a repeated query is answered without the
engine and with the same rows; what could be wrong is never served — queries that change
between runs, results cut short, results too large to keep, files rewritten in place."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dsgrid_sql
from dsgrid_sql.engine.results import ENTRY_BYTES, ResultCache
from dsgrid_sql.errors import QueryExecutionError
from dsgrid_sql.rewrite.cache import TEXT_UNIT, Lru, text_weight
from dsgrid_sql.rewrite.inputs import ParquetInput
from dsgrid_sql.session import Session

AGGREGATE = (
    "SELECT us_states, SUM(value) AS mwh FROM data WHERE model_year = '2030' "
    "GROUP BY ALL ORDER BY 1"
)


@pytest.fixture(scope="module")
def keeping(small_registry: Path, engine: str) -> Iterator[Session]:
    with dsgrid_sql.connect(small_registry, engine=engine, result_cache_mb=64) as session:
        yield session


class Runs:
    """Counts the engine's executions (a kept result is served without one)."""

    def __init__(self, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sql: list[str] = []
        engine = session.engine
        execute = engine.execute

        def counted(sql: str, inputs: Any, **kwargs: Any) -> pa.RecordBatchReader:
            self.sql.append(sql)
            return execute(sql, inputs, **kwargs)

        monkeypatch.setattr(engine, "execute", counted)


def test_a_repeated_query_is_answered_from_the_kept_result(
    keeping: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = Runs(keeping, monkeypatch)
    first = keeping.sql(AGGREGATE).to_arrow()
    again = keeping.sql(AGGREGATE).to_arrow()
    # Another spelling of the same query has the same engine SQL: also kept.
    respelled = keeping.sql(AGGREGATE.replace("SELECT", "select\n  ", 1)).to_arrow()
    assert len(runs.sql) == 1
    assert first.num_rows > 0
    assert again.equals(first) and respelled.equals(first)
    # Parameters are part of the engine SQL: each value is its own result.
    by_year = "SELECT us_states, SUM(value) AS mwh FROM data WHERE model_year = ? GROUP BY ALL"
    a = keeping.sql(by_year, ["2030"]).to_arrow()
    b = keeping.sql(by_year, ["2040"]).to_arrow()
    assert keeping.sql(by_year, ["2030"]).to_arrow().equals(a)
    assert len(runs.sql) == 3 and not a.equals(b)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT CURRENT_DATE AS today, COUNT(*) AS n FROM data",
        "SELECT CURRENT_TIMESTAMP AS started",
        "SELECT COUNT(*) AS n FROM data TABLESAMPLE (10 PERCENT)",
    ],
)
def test_queries_that_change_between_runs_are_never_kept(
    keeping: Session, monkeypatch: pytest.MonkeyPatch, sql: str
) -> None:
    runs = Runs(keeping, monkeypatch)
    keeping.sql(sql).to_arrow()
    keeping.sql(sql).to_arrow()
    assert len(runs.sql) == 2
    assert not keeping.translate(sql).repeatable
    assert keeping.translate(AGGREGATE).repeatable


def test_only_whole_results_are_kept(keeping: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = Runs(keeping, monkeypatch)
    sql = "SELECT geography, timestamp, value FROM data WHERE model_year = '2040'"
    reader = keeping.sql(sql).to_reader()
    reader.read_next_batch()
    reader.close()  # a client that stops reading midway...
    del reader  # ...and lets go of it (pyarrow's close keeps the batch source alive)
    whole = keeping.sql(sql).to_arrow()
    assert len(runs.sql) == 2
    assert keeping.sql(sql).to_arrow().equals(whole)
    assert len(runs.sql) == 2


def test_a_stream_that_fails_midway_keeps_nothing(
    keeping: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = keeping.engine
    execute = engine.execute

    def failing(sql: str, inputs: Any, **kwargs: Any) -> pa.RecordBatchReader:
        reader = execute(sql, inputs, **kwargs)

        def batches() -> Iterator[pa.RecordBatch]:
            yield reader.read_next_batch()
            raise QueryExecutionError("The engine failed midway.")

        return pa.RecordBatchReader.from_batches(reader.schema, batches())

    sql = "SELECT geography, value FROM data WHERE model_year = '2030' AND value > 0"
    monkeypatch.setattr(engine, "execute", failing)
    with pytest.raises(QueryExecutionError, match="midway"):
        keeping.sql(sql).to_arrow()
    monkeypatch.setattr(engine, "execute", execute)
    runs = Runs(keeping, monkeypatch)
    whole = keeping.sql(sql).to_arrow()
    assert len(runs.sql) == 1 and whole.num_rows > 0


def test_a_result_over_a_quarter_of_the_budget_streams_without_being_kept(
    small_registry: Path, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with dsgrid_sql.connect(small_registry, engine=engine, result_cache_mb=0.25) as session:
        assert session.engine.results.entry_limit == 2**16
        runs = Runs(session, monkeypatch)
        large = "SELECT geography, timestamp, value FROM data LIMIT 20000"  # ~0.6 MB
        small = "SELECT id, name FROM dsgrid_demo_dimensions.us_states"
        for _ in range(2):
            assert session.sql(large).to_arrow().num_rows == 20000
            assert session.sql(small).to_arrow().num_rows > 0
        assert runs.sql.count(runs.sql[0]) == 2  # the large one ran twice
        assert len(runs.sql) == 3  # the small one once
        assert 0 < session.engine.results.bytes <= session.engine.results.entry_limit


def test_no_budget_keeps_nothing(small_session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = Runs(small_session, monkeypatch)
    small_session.sql(AGGREGATE).to_arrow()
    small_session.sql(AGGREGATE).to_arrow()
    assert len(runs.sql) == 2 and small_session.engine.results.bytes == 0


def test_a_data_file_rewritten_in_place_is_read_again(
    small_registry: Path, tmp_path: Path
) -> None:
    # DuckDB: Spark keeps its own listing of a file it has read, which this does not test.
    registry = tmp_path / "registry"
    shutil.copytree(small_registry.parent, registry)
    db = registry / small_registry.name
    sql = "SELECT SUM(value) AS total FROM data"
    with dsgrid_sql.connect(db, engine="duckdb", result_cache_mb=64) as session:
        before = session.sql(sql).to_arrow()["total"][0].as_py()
        assert session.sql(sql).to_arrow()["total"][0].as_py() == before  # kept
        for item in session.translate(sql).inputs:
            if isinstance(item, ParquetInput):
                for path in item.files or (item.path,):
                    table = pq.read_table(path)
                    if "value" in table.column_names:
                        doubled = pa.compute.multiply(table["value"], 2.0)
                        index = table.column_names.index("value")
                        pq.write_table(table.set_column(index, "value", doubled), path)
        after = session.sql(sql).to_arrow()["total"][0].as_py()
    assert after == pytest.approx(2 * before, rel=1e-12)


def test_least_recently_used_weights_go_first() -> None:
    cache = Lru(10, weigh=lambda key, value: len(value))
    cache.store("a", "aaaa")
    cache.store("b", "bbbb")
    assert cache.lookup("a") == "aaaa"  # now b is the least recently used
    cache.store("c", "cccc")
    assert (cache.lookup("a"), cache.lookup("b"), cache.lookup("c")) == ("aaaa", None, "cccc")
    assert cache.weight == 8
    cache.store("d", "d" * 11)  # heavier than the whole cache: not kept, nothing dropped
    assert cache.lookup("d") is None and cache.weight == 8
    cache.store("a", "aa")  # replaced, its weight with it
    assert cache.weight == 6
    cache.remove("a")  # and removed: its weight goes, an absent key is no error
    cache.remove("a")
    assert cache.lookup("a") is None and cache.weight == 4


def test_a_kept_result_weighs_its_key_and_its_objects() -> None:
    """A one-row result of a long query text costs far more than its buffers: its key and
    the table's objects count, so a budget holds few of them, not millions."""
    cache = ResultCache(budget_mb=1)
    sql = "SELECT 1 AS one WHERE x IN (" + ", ".join(str(i) for i in range(12_000)) + ")"
    table = pa.table({"one": [1]})
    for i in range(100):
        key = (f"{sql} -- {i}", (("/data/table.parquet", 10, 20),))
        for _ in cache.keeping(key, table.to_reader()):
            pass
    one = len(sql) + len("/data/table.parquet") + 64 + ENTRY_BYTES
    assert table.get_total_buffer_size() < 100  # what alone was weighed before
    assert cache.bytes <= cache.budget
    assert len(cache._kept._entries) == cache.budget // (one + 10)  # the newest of the 100
    assert cache.reader((f"{sql} -- 99", (("/data/table.parquet", 10, 20),))) is not None
    assert cache.reader((f"{sql} -- 0", (("/data/table.parquet", 10, 20),))) is None


def test_caches_of_texts_count_a_long_text_by_its_size() -> None:
    """The engines' caches keyed by SQL (result schemas, texts run prepared) hold as many
    short texts as entries, and fewer long ones: a text counts once per TEXT_UNIT."""
    short, long = "SELECT 1", "SELECT 1 -- " + "x" * (10 * TEXT_UNIT)
    assert (text_weight(short), text_weight(long)) == (1, 11)
    cache = Lru(64, weigh=lambda sql, _: text_weight(sql))
    for i in range(64):
        cache.store(f"{short} -- {i}", True)
    assert cache.weight == 64 and cache.lookup(f"{short} -- 0")
    for i in range(10):
        cache.store(f"{long} {i}", True)
    assert cache.weight <= 64
    assert cache.lookup(f"{long} 9") and not cache.lookup(f"{long} 3")
