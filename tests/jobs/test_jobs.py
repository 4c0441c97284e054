"""Jobs from Python (`session.submit`) and the job store underneath every front end: results
equal to direct queries, found again from another process, cancelled, expired, kept within
budgets, recovered after a crash, never half-written, never reachable by a made-up id."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import dsgrid_sql
from dsgrid_sql.errors import (
    JobBudgetError,
    JobNotFinishedError,
    UnknownColumnError,
    UnknownJobError,
)
from dsgrid_sql.jobs import JobRecord, JobState, JobStore, local_owner, open_job
from dsgrid_sql.jobs.model import seconds
from dsgrid_sql.jobs.store import this_runner

TOTALS = "SELECT us_states, SUM(value) AS v FROM test_efs.data GROUP BY ALL ORDER BY 1"
LONG = "SELECT SUM(a.x * b.x) AS s FROM range(9000000) a(x), range(90000) b(x)"


@pytest.fixture
def session(efs_dir: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    with dsgrid_sql.connect(efs_dir, jobs_dir=tmp_path / "jobs") as opened:
        yield opened


def _wait_for(condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_a_job_equals_the_direct_query_and_keeps_lineage(
    session, tmp_path: Path, same_answer
) -> None:  # type: ignore[no-untyped-def]
    job = session.submit(TOTALS)
    table = job.result(timeout=60)
    same_answer(table, session.sql(TOTALS).to_arrow())
    record = job.status()
    assert record.state is JobState.SUCCEEDED and record.rows == table.num_rows
    assert record.progress == 1.0 and record.bytes == job.path.stat().st_size
    assert record.owner == local_owner() and record.engine == "duckdb"
    lineage = json.loads(pq.read_schema(job.path).metadata[b"dsgrid_sql"])
    assert lineage["query"] == TOTALS and lineage["projects"] == {"test_efs": "1.2.0"}
    assert set(lineage["datasets"]) == {"test_efs_comstock", "test_efs_comstock_unpivoted"}
    # Nothing else is left in the job's folder: no staging files.
    assert sorted(p.name for p in job.path.parent.iterdir()) == ["job.json", "result.parquet"]


def test_parameters_and_mistakes(session) -> None:  # type: ignore[no-untyped-def]
    sql = "SELECT SUM(value) AS v FROM test_efs.data WHERE geography = ?"
    job = session.submit(sql, ["06073"])
    assert job.result(60)["v"][0].as_py() == pytest.approx(
        session.sql(sql, ["06073"]).to_arrow()["v"][0].as_py(), rel=1e-12
    )
    assert job.status().parameters == ["06073"]
    with pytest.raises(UnknownColumnError):
        session.submit("SELECT nope FROM test_efs.data")


def test_another_process_finds_the_job(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    job = session.submit(TOTALS)
    job.wait(60)
    script = textwrap.dedent(
        f"""
        from dsgrid_sql.jobs import open_job
        job = open_job({job.id!r}, {str(tmp_path / "jobs")!r})
        print(job.state.value, job.result().num_rows)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == ["SUCCEEDED", str(job.status().rows)]
    with pytest.raises(UnknownJobError):
        open_job("f" * 32, tmp_path / "jobs")


def test_cancel_a_running_job(session) -> None:  # type: ignore[no-untyped-def]
    job = session.submit(LONG)
    _wait_for(lambda: job.state is JobState.RUNNING)
    record = job.cancel()
    assert record.state is JobState.CANCELLED and record.error["code"] == "cancelled"
    _wait_for(lambda: session.engine.running_count() == 0)
    with pytest.raises(JobNotFinishedError, match="CANCELLED"):
        job.result()


def test_a_cancel_answered_before_the_job_stopped_says_it_was_requested(
    efs_dir: Path, tmp_path: Path
) -> None:
    """A loaded machine can take longer than the cancel's wait to stop the engine: the
    answer is then RUNNING with the request's time, and the job ends CANCELLED."""
    from dsgrid_sql.jobs import JobRunner

    with dsgrid_sql.connect(efs_dir) as session:
        runner = JobRunner(JobStore(tmp_path), max_running=1)
        try:
            job = runner.submit(session, LONG, owner="u")
            _wait_for(lambda: runner.status(job.id, "u").state is JobState.RUNNING)
            assert runner.status(job.id, "u").cancel_requested_at is None
            answer = runner.cancel(job.id, "u", wait=0.0)
            assert answer.cancel_requested_at is not None
            assert answer.cancel_requested_at >= answer.started_at
            assert answer.state in (JobState.RUNNING, JobState.CANCELLED)
            # A second request keeps the first one's time.
            again = runner.cancel(job.id, "u", wait=60.0)
            assert again.state is JobState.CANCELLED
            assert again.cancel_requested_at == answer.cancel_requested_at
            assert runner.status(job.id, "u").cancel_requested_at == answer.cancel_requested_at
        finally:
            runner.close()


def test_queued_jobs_wait_their_turn_and_can_be_cancelled(efs_dir: Path, tmp_path: Path) -> None:
    from dsgrid_sql.jobs import JobRunner

    with dsgrid_sql.connect(efs_dir) as session:
        runner = JobRunner(JobStore(tmp_path), max_running=1)
        try:
            first = runner.submit(session, LONG, owner="u")
            second = runner.submit(session, TOTALS, owner="u")
            _wait_for(lambda: runner.status(first.id, "u").state is JobState.RUNNING)
            assert runner.status(second.id, "u").state is JobState.QUEUED
            assert runner.cancel(second.id, "u").state is JobState.CANCELLED
            assert runner.cancel(first.id, "u").state is JobState.CANCELLED
            third = runner.submit(session, TOTALS, owner="u")
            assert runner.wait(third.id, "u", 60).state is JobState.SUCCEEDED
        finally:
            runner.close()


def test_a_job_of_another_owner_is_unknown(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    record = JobRecord(id="a" * 32, owner="alice", sql="SELECT 1", state=JobState.SUCCEEDED)
    store.save(record)
    assert store.get(record.id, "alice").owner == "alice"
    for owner in ("bob", "ALICE", ""):
        with pytest.raises(UnknownJobError):
            store.get(record.id, owner)
    assert store.records("bob") == []


@pytest.mark.parametrize(
    "job_id", ["../etc", "a" * 31, "A" * 32, "a" * 33, "", "job.json", "/" + "a" * 31, "a\0" * 16]
)
def test_only_real_ids_reach_the_disk(tmp_path: Path, job_id: str) -> None:
    store = JobStore(tmp_path / "jobs")
    with pytest.raises(UnknownJobError):
        store.get(job_id, None)
    with pytest.raises(UnknownJobError):
        store.result_path(job_id)


def test_a_crashed_processs_jobs_fail_and_a_live_ones_do_not(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    host = this_runner().rsplit(":", 1)[0]
    crashed = JobRecord(id="c" * 32, owner="u", sql="x", state=JobState.RUNNING,
                        runner=f"{host}:{dead}")  # fmt: skip
    alive = JobRecord(id="d" * 32, owner="u", sql="x", state=JobState.RUNNING,
                      runner=f"{host}:{os.getppid()}")  # fmt: skip
    store.save(crashed)
    store.save(alive)
    (store.folder(crashed.id) / f".result.parquet.partial-{dead}-1").write_bytes(b"half")
    assert store.recover() == [crashed.id]
    failed = store.get(crashed.id, "u")
    assert failed.state is JobState.FAILED and "restarted" in failed.error["message"]
    assert failed.finished_at is not None
    assert list(store.folder(crashed.id).iterdir()) == [store.folder(crashed.id) / "job.json"]
    assert store.get(alive.id, "u").state is JobState.RUNNING


def test_expiry_removes_the_result_then_the_record(tmp_path: Path) -> None:
    store = JobStore(tmp_path, ttl_s=100)
    record = JobRecord(id="e" * 32, owner="u", sql="x", state=JobState.SUCCEEDED,
                       finished_at="2026-01-01T00:00:00+00:00", bytes=4)  # fmt: skip
    store.save(record)
    store.result_path(record.id).write_bytes(b"PAR1")
    finished = seconds(record.finished_at)
    assert finished is not None
    assert store.expire(finished + 50) == []
    assert store.expire(finished + 101) == [record.id]
    assert store.get(record.id, "u").state is JobState.EXPIRED
    assert not store.result_path(record.id).exists()
    with pytest.raises(JobNotFinishedError, match="expired"):
        store.open_result(record.id, "u")
    store.expire(finished + 201)
    with pytest.raises(UnknownJobError):
        store.get(record.id, "u")


def test_budgets(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = JobStore(tmp_path / "budget", user_budget_bytes=1)
    record = JobRecord(id="b" * 32, owner="u", sql=TOTALS)
    reader = session.sql(TOTALS).to_reader()
    with pytest.raises(JobBudgetError, match="nothing was kept"):
        store.write_result(record, reader, {})
    assert list(store.folder(record.id).iterdir()) == []
    full = JobStore(tmp_path / "full", user_budget_bytes=10, total_budget_bytes=1000)
    full.save(JobRecord(id="f" * 32, owner="u", sql="x", state=JobState.SUCCEEDED, bytes=10))
    with pytest.raises(JobBudgetError, match="user 'u' keeps 10 bytes"):
        full.check_room("u")
    full.check_room("someone else")  # the total budget still has room


def test_budgets_and_expiry_read_only_records_that_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server keeps a day of jobs: budgets (every submission) and expiry (every minute)
    must not read every record each time. Another process's jobs still count."""
    ours = JobStore(tmp_path, ttl_s=100, user_budget_bytes=10_000)
    other = JobStore(tmp_path, ttl_s=100)  # another process on the same folder
    finished = "2026-01-01T00:00:00+00:00"
    for i in range(40):
        ours.save(JobRecord(id=f"{i:032x}", owner="u", sql="x", state=JobState.SUCCEEDED,
                            finished_at=finished, bytes=10))  # fmt: skip
    reads: list[str] = []
    load = JobStore.load

    def counted(self: JobStore, job_id: str) -> JobRecord:
        reads.append(job_id)
        return load(self, job_id)

    monkeypatch.setattr(JobStore, "load", counted)
    assert ours.usage("u") == 400  # its own saves: nothing read
    ours.refresh(force=True)
    assert ours.usage("u") == 400 and reads == []

    late = JobRecord(id="a" * 32, owner="u", sql="x", state=JobState.SUCCEEDED,
                     finished_at="2026-01-01T00:01:00+00:00", bytes=25)  # fmt: skip
    other.save(late)
    reads.clear()
    ours.refresh(force=True)
    assert reads == [late.id] and ours.usage("u") == 425 and ours.usage() == 425
    other.delete(late.id, "u")
    ours.refresh(force=True)
    assert ours.usage("u") == 400

    start = seconds(finished)
    assert start is not None
    reads.clear()
    assert ours.expire(start + 50) == [] and reads == []
    assert sorted(ours.expire(start + 101)) == [f"{i:032x}" for i in range(40)]
    assert len(reads) == 40 and ours.usage("u") == 0  # expired results are not kept
    reads.clear()
    assert ours.expire(start + 150) == [] and reads == []
    assert [r.id for r in ours.records("someone else")] == [] and reads == []


def test_records_are_replaced_whole(tmp_path: Path) -> None:
    """A reader never sees half a record: each save renames a complete file into place."""
    store = JobStore(tmp_path)
    record = JobRecord(id="9" * 32, owner="u", sql="SELECT " + "x" * 100_000)
    store.save(record)
    seen: list[str] = []
    import threading

    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.append(store.get(record.id, "u").state.value)

    reader = threading.Thread(target=read)
    reader.start()
    for state in [JobState.RUNNING, JobState.SUCCEEDED] * 50:
        record.state = state
        store.save(record)
    stop.set()
    reader.join()
    assert set(seen) <= {"QUEUED", "RUNNING", "SUCCEEDED"} and seen
    assert [p.name for p in store.folder(record.id).iterdir()] == ["job.json"]


def test_progress_is_reported_while_duckdb_scans() -> None:
    import threading

    from dsgrid_sql.engine.duckdb import DuckDBEngine

    engine = DuckDBEngine()
    sql = "SELECT COUNT(*) FROM range(20000000000) t(x) WHERE x % 7 = 3"
    try:
        # execute() itself runs an aggregate to its first batch: on a thread of its own.
        worker = threading.Thread(target=lambda: _drain(engine, sql, "scan"))
        worker.start()
        seen: list[float] = []

        def reported() -> bool:
            progress = engine.progress("scan")
            if progress is not None:
                seen.append(progress)
            return bool(seen) and seen[-1] > 0

        _wait_for(reported)
        assert 0 < seen[-1] <= 1
        engine.cancel("scan")
        worker.join(60)
        assert engine.progress("scan") is None
    finally:
        engine.close()


def _drain(engine: object, sql: str, tag: str) -> None:
    with contextlib.suppress(Exception):  # cancelled on purpose
        engine.execute(sql, [], tag=tag, progress=True).read_all()  # type: ignore[attr-defined]


def test_progress_is_reported_while_spark_runs() -> None:
    import threading

    pytest.importorskip("pyspark")
    from dsgrid_sql.engine.spark import SparkEngine

    engine = SparkEngine()  # the test run's one local Spark session
    sql = "SELECT COUNT(*) FROM range(0, 40000000000, 1, 64) WHERE id % 7 = 3"
    worker = threading.Thread(target=lambda: _drain(engine, sql, "spark-scan"))
    worker.start()
    seen: list[float] = []

    def reported() -> bool:
        progress = engine.progress("spark-scan")
        if progress is not None:
            seen.append(progress)
        return bool(seen) and seen[-1] > 0

    try:
        _wait_for(reported, timeout=120)
        assert 0 < seen[-1] <= 1
    finally:
        engine.cancel("spark-scan")
        worker.join(120)
    assert engine.progress("spark-scan") is None


@pytest.mark.parametrize("engine_name", ["duckdb", "spark"])
def test_idle_engine_inputs_are_released_but_never_under_a_query(
    efs_dir: Path, engine_name: str, same_answer
) -> None:  # type: ignore[no-untyped-def]
    """A long-running server drops engine inputs nobody has used for a while (those of
    registry versions that are no longer current); a running query's inputs stay."""
    if engine_name == "spark":
        pytest.importorskip("pyspark")
    with dsgrid_sql.connect(efs_dir, engine=engine_name) as session:
        engine = session.engine
        expected = session.sql(TOTALS).to_arrow()
        assert engine.release_idle(0.0)  # every view and table that query registered
        # Asked again, the query registers what it needs again and answers the same.
        same_answer(session.sql(TOTALS).to_arrow(), expected)
        translation = session.translate(TOTALS)
        reader = engine.execute(translation.sql, translation.inputs, tag="held")
        kept = {item.name for item in translation.inputs}
        try:
            assert not kept & set(engine.release_idle(0.0))  # in use: kept
            assert reader.read_all().num_rows == expected.num_rows
        finally:
            reader.close()
        # Once the query is done its inputs may go; the next query registers them again.
        assert kept <= set(engine.release_idle(0.0))
        same_answer(session.sql(TOTALS).to_arrow(), expected)
