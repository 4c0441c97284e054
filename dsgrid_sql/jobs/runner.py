"""Running jobs: a queue, a few worker threads, progress, timeouts and cancellation.

A job's SQL is translated when it is submitted, so a mistake in it is answered at once
(like any query) instead of as a failed job later. Workers then run the query and write its
result through the store. Every state change is written to the job's record, so another
process (or this one after a restart) sees it.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dsgrid_sql.errors import (
    DsgridSqlError,
    JobError,
    QueryCancelledError,
    ServerBusyError,
    one_line,
)
from dsgrid_sql.session import Result, Session

from .model import JobRecord, JobState, job_error, new_job_id, now_iso
from .store import JobStore, this_runner

log = logging.getLogger("dsgrid_sql.jobs")

DEFAULT_MAX_RUNNING = 2
DEFAULT_MAX_QUEUED_PER_USER = 100
# Seconds close() waits for running jobs to stop before failing them.
STOP_WAIT_S = 30.0
# Seconds cancel() waits for a running job to stop before answering (still RUNNING, with
# cancel_requested_at set).
CANCEL_WAIT_S = 10.0


@dataclass
class _Live:
    """A job of this process that has not finished."""

    record: JobRecord
    session: Session
    result: Result
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    cancelled: bool = False
    timed_out: bool = False


class JobRunner:
    def __init__(
        self,
        store: JobStore,
        *,
        max_running: int = DEFAULT_MAX_RUNNING,
        max_queued_per_user: int = DEFAULT_MAX_QUEUED_PER_USER,
        timeout_s: float = 0.0,
        admission: Any = None,
        poll_s: float = 0.25,
        housekeeping_s: float | None = None,
    ) -> None:
        self.store = store
        self.timeout_s = timeout_s
        self.max_queued_per_user = max_queued_per_user
        self._admission = admission
        self._poll_s = poll_s
        # Expiry runs a few times per time to live (a short TTL is honoured promptly).
        self._housekeeping_s = housekeeping_s or min(60.0, max(0.2, store.ttl_s / 4))
        self._changed = threading.Condition()
        self._live: dict[str, _Live] = {}
        self._queue: collections.deque[str] = collections.deque()
        self._stop = threading.Event()
        # Called with each finished record and its seconds from submission (metrics).
        self.on_finish: Callable[[JobRecord, float], None] | None = None
        for job_id in store.recover():
            log.warning("Job %s was queued or running when the server stopped: failed.", job_id)
        store.expire()
        self._threads = [
            threading.Thread(target=self._work, name=f"dsgrid-sql-job-{n}", daemon=True)
            for n in range(max(1, max_running))
        ]
        self._threads.append(
            threading.Thread(target=self._watch, name="dsgrid-sql-jobs-watch", daemon=True)
        )
        for thread in self._threads:
            thread.start()

    # -- submitting -------------------------------------------------------------------------

    def submit(
        self,
        session: Session,
        sql: str,
        params: Any = None,
        *,
        owner: str,
    ) -> JobRecord:
        """Accept a job, or refuse it (a mistake in the SQL, a full budget or queue)."""
        if self._stop.is_set():
            raise ServerBusyError("The server is stopping; submit the job again shortly.")
        self.store.check_room(owner)
        waiting = self.count(JobState.QUEUED, owner)
        if self.max_queued_per_user and waiting >= self.max_queued_per_user:
            raise ServerBusyError(
                f"User '{owner}' has {waiting} jobs waiting, the limit; submit more when "
                "some have started."
            )
        result = session.sql(sql, params)
        record = JobRecord(
            id=new_job_id(),
            owner=owner,
            sql=sql,
            parameters=_plain(params),
            engine=session.engine_name,
            runner=this_runner(),
            notes=list(result.notes),
        )
        self.store.save(record)
        with self._changed:
            self._live[record.id] = _Live(record, session, result)
            self._queue.append(record.id)
            self._changed.notify_all()
        return _copy(record)

    # -- reading ----------------------------------------------------------------------------

    def status(self, job_id: str, owner: str | None) -> JobRecord:
        with self._changed:
            live = self._live.get(job_id)
            if live is not None and (owner is None or live.record.owner == owner):
                return _copy(live.record)
        return self.store.get(job_id, owner)

    def list(self, owner: str | None) -> list[JobRecord]:
        records = {r.id: r for r in self.store.records(owner)}
        with self._changed:
            for job_id, live in self._live.items():
                if job_id in records:
                    records[job_id] = _copy(live.record)
        return sorted(records.values(), key=lambda r: r.created_at, reverse=True)

    def wait(
        self,
        job_id: str,
        owner: str | None,
        timeout: float | None,
        until: Callable[[JobRecord], bool] | None = None,
    ) -> JobRecord:
        """The record once ``until`` holds (default: the job finished) or ``timeout``
        seconds passed. A job of another process is followed through its record."""
        until = until or (lambda record: record.state.finished)
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        record = self.status(job_id, owner)
        while not until(record):
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                break
            with self._changed:
                if job_id in self._live:
                    self._changed.wait(0.5 if left is None else min(left, 0.5))
                else:
                    self._changed.wait(min(0.1, left) if left is not None else 0.1)
            record = self.status(job_id, owner)
        return record

    # -- cancelling and deleting ------------------------------------------------------------

    def cancel(self, job_id: str, owner: str | None, wait: float = CANCEL_WAIT_S) -> JobRecord:
        """Stop a queued or running job; a finished one is left as it is. The record once
        the job ended, or after ``wait`` seconds still RUNNING with ``cancel_requested_at``
        set (the engine is interrupted again until the job ends)."""
        with self._changed:
            live = self._live.get(job_id)
            if live is not None and owner is not None and live.record.owner != owner:
                live = None  # another user's job is unknown to this one
            if live is not None:
                live.cancelled = True
                if live.record.state is JobState.QUEUED:
                    self._finish(live, JobState.CANCELLED, _cancelled_error())
                    return _copy(live.record)
                if live.record.cancel_requested_at is None:
                    live.record.cancel_requested_at = now_iso()
        if live is not None:
            live.result.cancel()
            return self.wait(job_id, owner, wait)
        record = self.store.get(job_id, owner)
        if not record.state.finished:
            raise JobError(
                f"Job '{job_id}' runs in another server process; cancel it there.",
            )
        return record

    def delete(self, job_id: str, owner: str | None) -> None:
        """Cancel the job if it still runs, then remove its record and result."""
        record = self.status(job_id, owner)
        if not record.state.finished:
            self.cancel(job_id, owner)
            self.wait(job_id, owner, 10.0)
        self.store.delete(job_id, owner)

    def running(self, owner: str | None = None) -> int:
        return self.count(JobState.RUNNING, owner)

    def count(self, state: JobState, owner: str | None = None) -> int:
        """This process's jobs in ``state`` (QUEUED or RUNNING; of ``owner``), from memory."""
        with self._changed:
            return sum(
                1
                for live in self._live.values()
                if live.record.state is state and (owner is None or live.record.owner == owner)
            )

    def close(self) -> None:
        """Stop the workers; jobs not finished are failed (and their queries cancelled)."""
        self._stop.set()
        with self._changed:
            live_jobs = list(self._live.values())
            self._changed.notify_all()
        for live in live_jobs:
            live.cancelled = True
        # Cancelled again while waiting: a query the engine had not registered yet when
        # first cancelled would otherwise run on (and hold the engine) after the workers.
        # DuckDB notices an interrupt between tasks, which can take seconds on a loaded
        # machine (a cross product's task); closing the engine under a running query fails.
        deadline = time.monotonic() + STOP_WAIT_S
        for thread in self._threads:
            while thread.is_alive() and time.monotonic() < deadline:
                for live in live_jobs:
                    live.result.cancel()
                thread.join(timeout=0.1)
        with self._changed:
            for live in list(self._live.values()):
                self._finish(live, JobState.FAILED, _stopped_error())

    # -- the work ---------------------------------------------------------------------------

    def _next(self) -> _Live | None:
        with self._changed:
            while not self._stop.is_set():
                while self._queue:
                    live = self._live.get(self._queue.popleft())
                    if live is not None and live.record.state is JobState.QUEUED:
                        return live
                self._changed.wait(0.5)
        return None

    def _work(self) -> None:
        while True:
            live = self._next()
            if live is None:
                return
            owner = live.record.owner
            if self._admission is not None and not self._admission.enter_when_free(
                owner, self._stop
            ):
                return
            try:
                self._run(live)
            finally:
                if self._admission is not None:
                    self._admission.leave(owner)

    def _run(self, live: _Live) -> None:
        record = live.record
        with self._changed:
            if live.cancelled or record.state is not JobState.QUEUED:
                return
            record.state = JobState.RUNNING
            record.started_at = now_iso()
            record.progress = 0.0
            live.started = time.monotonic()
            self.store.save(record)
            self._changed.notify_all()
        try:
            metadata = live.session.lineage(live.result)
            reader = live.result.to_reader(progress=True)
            rows, size, schema = self.store.write_result(
                record, reader, metadata, cancelled=lambda: live.cancelled
            )
        except QueryCancelledError:
            if live.timed_out:
                error = job_error(
                    "timeout",
                    f"The job ran longer than the limit of {self.timeout_s:g} seconds and was "
                    "stopped.",
                )
                self._finish(live, JobState.FAILED, error)
            elif self._stop.is_set():
                self._finish(live, JobState.FAILED, _stopped_error())
            else:
                self._finish(live, JobState.CANCELLED, _cancelled_error())
            return
        except DsgridSqlError as exc:
            self._finish(live, JobState.FAILED, exc.to_dict())
            return
        except Exception as exc:
            log.exception("Job %s failed unexpectedly", record.id)
            error = job_error("internal_error", f"The job failed: {one_line(exc)}.")
            self._finish(live, JobState.FAILED, error)
            return
        with self._changed:
            record.rows = rows
            record.bytes = size
            record.columns = [{"name": f.name, "type": str(f.type)} for f in schema]
            record.progress = 1.0
        self._finish(live, JobState.SUCCEEDED, None)

    def _finish(self, live: _Live, state: JobState, error: dict[str, Any] | None) -> None:
        with self._changed:
            record = live.record
            record.state = state
            record.error = error
            record.finished_at = now_iso()
            self.store.save(record)
            self._live.pop(record.id, None)
            self._changed.notify_all()
        if self.on_finish is not None:
            try:
                self.on_finish(_copy(record), time.monotonic() - live.submitted)
            except Exception:
                log.exception("on_finish failed for job %s", record.id)

    def _watch(self) -> None:
        """Progress of running jobs, their time limit, and expiry now and then."""
        last_expiry = time.monotonic()
        while not self._stop.wait(self._poll_s):
            now = time.monotonic()
            with self._changed:
                running = [
                    live for live in self._live.values() if live.record.state is JobState.RUNNING
                ]
            for live in running:
                if live.cancelled:
                    # Again until it ends: a cancel that came between RUNNING and the
                    # engine starting the query found nothing to stop the first time.
                    live.result.cancel()
                    continue
                if self.timeout_s and live.started and now - live.started > self.timeout_s:
                    live.timed_out = True
                    live.cancelled = True
                    live.result.cancel()
                    continue
                try:
                    progress = live.session.engine.progress(live.result.id)
                except Exception:
                    progress = None
                if progress is not None:
                    with self._changed:
                        current = live.record.progress or 0.0
                        live.record.progress = max(current, min(progress, 0.99))
            try:
                # Here rather than on a submission: the folder is looked at again (one
                # stat per job) off the request path.
                self.store.refresh()
            except OSError as exc:
                log.warning("Reading the jobs folder failed: %s", exc)
            if now - last_expiry >= self._housekeeping_s:
                last_expiry = now
                try:
                    self.store.expire()
                except OSError as exc:
                    log.warning("Expiring jobs failed: %s", exc)


def _cancelled_error() -> dict[str, Any]:
    return job_error("cancelled", "The job was cancelled.")


def _stopped_error() -> dict[str, Any]:
    return job_error(
        "server_stopped", "The server stopped before the job finished; submit it again."
    )


def _copy(record: JobRecord) -> JobRecord:
    return JobRecord.from_json(record.to_json())


def _plain(params: Any) -> Any:
    """Parameters as the record keeps them (JSON); values JSON cannot hold become text."""
    if params is None:
        return None
    if isinstance(params, dict):
        return {str(k): _value(v) for k, v in params.items()}
    return [_value(v) for v in params]


def _value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
