"""Jobs on disk: one folder per job under the jobs directory, its record and its result.

    <jobs dir>/<id>/job.json         the record (written to a temporary name, then renamed)
    <jobs dir>/<id>/result.parquet   the result with lineage metadata (staged, then renamed)

Any process that can read the folder can read a job: a server after a restart, the CLI, a
notebook. Nothing is ever half-written under a final name. A record that cannot be read is
skipped (another process may be replacing it), never an error for the whole listing.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dsgrid_sql.errors import (
    JobBudgetError,
    JobNotFinishedError,
    QueryCancelledError,
    UnknownJobError,
)
from dsgrid_sql.export import METADATA_KEY, process_alive

from .model import JobRecord, JobState, check_job_id, job_error, now_iso, seconds

RECORD = "job.json"
RESULT = "result.parquet"
DEFAULT_TTL_S = 24 * 3600.0
# A folder without a record this old was left by a process that died while creating it.
ORPHAN_AGE_S = 3600.0
# How often the bytes kept by every process's jobs are read from disk again.
KEPT_REREAD_S = 10.0


def default_jobs_dir() -> Path:
    """``DSGRID_SQL_JOBS_DIR``, else the user's data directory (results outlive caches)."""
    configured = os.environ.get("DSGRID_SQL_JOBS_DIR")
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("dsgrid-sql", appauthor=False)) / "jobs"


def this_runner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class JobStore:
    """Reads and writes job records and results under ``root``.

    Budgets (bytes of kept results; 0 = none) are checked before a job is accepted and while
    its result is written, so a result never fills the disk past them."""

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        user_budget_bytes: int = 0,
        total_budget_bytes: int = 0,
    ) -> None:
        self.root = Path(root).expanduser() if root is not None else default_jobs_dir()
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.ttl_s = ttl_s
        self.user_budget_bytes = user_budget_bytes
        self.total_budget_bytes = total_budget_bytes
        # Bytes of kept results by job: (owner, bytes). Kept up to date by this process's
        # writes and read again from disk now and then for other processes' (budgets are
        # checked on every submission; reading every record each time grew with the jobs).
        self._kept: dict[str, tuple[str, int]] = {}
        self._kept_read = -float("inf")
        self._kept_lock = threading.Lock()

    # -- records ----------------------------------------------------------------------------

    def folder(self, job_id: str) -> Path:
        return self.root / check_job_id(job_id)

    def result_path(self, job_id: str) -> Path:
        return self.folder(job_id) / RESULT

    def save(self, record: JobRecord) -> None:
        """Write the record atomically (a reader sees the old one or the new one)."""
        folder = self.folder(record.id)
        folder.mkdir(exist_ok=True, mode=0o700)
        temporary = folder / f".{RECORD}.{os.getpid()}-{time.monotonic_ns()}"
        temporary.write_text(json.dumps(record.to_json(), indent=1))
        os.replace(temporary, folder / RECORD)
        self._note(record)

    def _note(self, record: JobRecord) -> None:
        with self._kept_lock:
            if record.state is JobState.SUCCEEDED and record.bytes:
                self._kept[record.id] = (record.owner, record.bytes)
            else:
                self._kept.pop(record.id, None)

    def load(self, job_id: str) -> JobRecord:
        try:
            data = json.loads((self.folder(job_id) / RECORD).read_text())
            return JobRecord.from_json(data)
        except (OSError, ValueError, TypeError, KeyError):
            raise UnknownJobError(f"Unknown job '{job_id}'.") from None

    def get(self, job_id: str, owner: str | None) -> JobRecord:
        """The record, for its owner only: another user's job is unknown, like a made-up
        one (``owner=None`` is the store's own housekeeping)."""
        record = self.load(job_id)
        if owner is not None and record.owner != owner:
            raise UnknownJobError(f"Unknown job '{job_id}'.")
        return record

    def records(self, owner: str | None = None) -> list[JobRecord]:
        """Every readable record (of ``owner``), newest first."""
        found = []
        for folder in self._folders():
            try:
                record = self.load(folder.name)
            except UnknownJobError:
                continue
            if owner is None or record.owner == owner:
                found.append(record)
        found.sort(key=lambda r: r.created_at, reverse=True)
        return found

    def delete(self, job_id: str, owner: str | None) -> None:
        self.get(job_id, owner)
        shutil.rmtree(self.folder(job_id), ignore_errors=True)
        with self._kept_lock:
            self._kept.pop(job_id, None)

    def _folders(self) -> Iterator[Path]:
        try:
            entries = list(self.root.iterdir())
        except OSError:
            return
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink():
                try:
                    check_job_id(entry.name)
                except UnknownJobError:
                    continue
                yield entry

    # -- results ----------------------------------------------------------------------------

    def open_result(self, job_id: str, owner: str | None) -> pq.ParquetFile:
        record = self.get(job_id, owner)
        if record.state is not JobState.SUCCEEDED:
            raise JobNotFinishedError(_not_ready(record))
        try:
            return pq.ParquetFile(self.result_path(job_id))
        except OSError:
            raise JobNotFinishedError(f"The result of job '{job_id}' is no longer kept.") from None

    def write_result(
        self,
        record: JobRecord,
        reader: pa.RecordBatchReader,
        metadata: dict[str, Any],
        *,
        cancelled: Any = None,
    ) -> tuple[int, int, pa.Schema]:
        """Write the result under a staging name and rename it into place; returns (rows,
        bytes, schema). Stops with a clear error when it would go over a disk budget; the
        staging file is removed on any failure."""
        folder = self.folder(record.id)
        folder.mkdir(exist_ok=True, mode=0o700)
        room = self.room(record.owner)
        schema = reader.schema.with_metadata(
            {**(reader.schema.metadata or {}), METADATA_KEY: json.dumps(metadata).encode()}
        )
        staging = folder / f".{RESULT}.partial-{os.getpid()}-{time.monotonic_ns()}"
        rows = 0
        try:
            with (
                pa.OSFile(str(staging), "wb") as sink,
                pq.ParquetWriter(sink, schema) as writer,
            ):
                for batch in reader:
                    if cancelled is not None and cancelled():
                        raise QueryCancelledError("The query was cancelled.")
                    writer.write_batch(batch)
                    rows += batch.num_rows
                    if room is not None and sink.tell() > room:
                        raise self._over_budget(record.owner, writing=True)
            size = staging.stat().st_size
            if room is not None and size > room:
                raise self._over_budget(record.owner, writing=True)
            os.replace(staging, folder / RESULT)
        finally:
            staging.unlink(missing_ok=True)
        return rows, size, reader.schema

    # -- budgets ----------------------------------------------------------------------------

    def usage(self, owner: str | None = None) -> int:
        """Bytes of kept results (of ``owner``)."""
        now = time.monotonic()
        if now - self._kept_read > KEPT_REREAD_S:
            kept = {
                r.id: (r.owner, r.bytes)
                for r in self.records()
                if r.state is JobState.SUCCEEDED and r.bytes
            }
            with self._kept_lock:
                self._kept = kept
                self._kept_read = now
        with self._kept_lock:
            return sum(size for who, size in self._kept.values() if owner in (None, who))

    def room(self, owner: str) -> int | None:
        """Bytes ``owner`` may still keep (None: no budget applies)."""
        limits = []
        if self.user_budget_bytes:
            limits.append(self.user_budget_bytes - self.usage(owner))
        if self.total_budget_bytes:
            limits.append(self.total_budget_bytes - self.usage())
        return max(0, min(limits)) if limits else None

    def check_room(self, owner: str) -> None:
        """Refuse a new job when its owner's (or everyone's) kept results fill a budget."""
        room = self.room(owner)
        if room is not None and room <= 0:
            raise self._over_budget(owner)

    def _over_budget(self, owner: str, *, writing: bool = False) -> JobBudgetError:
        """The error naming the tighter of the two budgets."""
        mine, everyone = self.usage(owner), self.usage()
        user_room = self.user_budget_bytes - mine if self.user_budget_bytes else None
        total_room = self.total_budget_bytes - everyone if self.total_budget_bytes else None
        hint = (
            "Delete finished jobs (`dsgrid-sql jobs delete ID`, DELETE /api/v1/statements/ID "
            "or the Flight action jobs.delete) or wait for them to expire."
        )
        if user_room is not None and (total_room is None or user_room <= total_room):
            kept = f"user '{owner}' keeps {_mib(mine)} of job results"
            limit = _mib(self.user_budget_bytes)
        else:
            kept = f"the server keeps {_mib(everyone)} of job results"
            limit = _mib(self.total_budget_bytes)
        if writing:
            return JobBudgetError(
                f"The job's result outgrew the disk budget ({kept}, limit {limit}); nothing was "
                "kept.",
                hint=hint,
            )
        return JobBudgetError(f"No room for another job: {kept}, limit {limit}.", hint=hint)

    # -- housekeeping -----------------------------------------------------------------------

    def recover(self) -> list[str]:
        """Mark jobs whose process is gone (a server that restarted) as failed; returns
        their ids. Jobs of a process still running (another server on the same folder) are
        left alone."""
        host = socket.gethostname()
        failed = []
        for record in self.records():
            if record.state.finished:
                continue
            runner_host, _, pid = (record.runner or "").rpartition(":")
            if runner_host == host and pid.isdigit() and process_alive(int(pid)):
                continue
            if runner_host not in (host, "") and record.runner:
                continue  # another machine's job: its own server recovers it
            record.state = JobState.FAILED
            record.finished_at = record.finished_at or now_iso()
            record.error = job_error(
                "server_restarted",
                "The server restarted while the job was queued or running; submit it again.",
            )
            self.save(record)
            for leftover in self.folder(record.id).glob(f".{RESULT}.partial-*"):
                leftover.unlink(missing_ok=True)
            failed.append(record.id)
        return failed

    def expire(self, now: float | None = None) -> list[str]:
        """Results of jobs finished longer than the time to live ago are removed and the job
        becomes EXPIRED; its record goes one more time to live later. Returns expired ids."""
        now = time.time() if now is None else now
        expired = []
        for record in self.records():
            finished = seconds(record.finished_at)
            if finished is None:
                continue
            age = now - finished
            if record.state is JobState.EXPIRED:
                if age >= 2 * self.ttl_s:
                    shutil.rmtree(self.folder(record.id), ignore_errors=True)
                continue
            if age >= self.ttl_s:
                self.result_path(record.id).unlink(missing_ok=True)
                record.state = JobState.EXPIRED
                self.save(record)
                expired.append(record.id)
        for folder in self._folders():
            if not (folder / RECORD).exists():
                try:
                    old = now - folder.stat().st_mtime >= ORPHAN_AGE_S
                except OSError:
                    continue
                if old:
                    shutil.rmtree(folder, ignore_errors=True)
        return expired


def _not_ready(record: JobRecord) -> str:
    if record.state is JobState.EXPIRED:
        return f"The result of job '{record.id}' expired and was removed."
    if record.state in (JobState.FAILED, JobState.CANCELLED):
        reason = (record.error or {}).get("message") or ""
        return f"Job '{record.id}' has no result: it is {record.state.value}. {reason}".strip()
    return f"Job '{record.id}' is {record.state.value}: its result is not ready yet."


def _mib(size: int) -> str:
    """A size as people read it (bytes, KiB, MiB, GiB)."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size:,} bytes"

    return True
