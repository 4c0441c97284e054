"""Jobs on disk: one folder per job under the jobs directory, its record and its result.

    <jobs dir>/<id>/job.json         the record (written to a temporary name, then renamed)
    <jobs dir>/<id>/result.parquet   the result with lineage metadata (staged, then renamed)

Any process that can read the folder can read a job: a server after a restart, the CLI, a
notebook. Nothing is ever half-written under a final name. A record that cannot be read is
skipped (another process may be replacing it), never an error for the whole listing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
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
# How often the folder is looked at again for other processes' jobs (budgets count them).
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


@dataclass(frozen=True)
class _Entry:
    """What the store needs of a record without reading it again: budgets, expiry, lists
    by owner. ``stamp`` is the record file's (inode, mtime, size) when it was read."""

    stamp: tuple[int, int, int]
    owner: str
    state: JobState
    bytes: int
    finished: float | None

    @property
    def kept(self) -> int:
        """Bytes of a kept result (what the budgets count)."""
        return self.bytes if self.state is JobState.SUCCEEDED else 0

    @classmethod
    def of(cls, record: JobRecord, stamp: tuple[int, int, int]) -> _Entry:
        return cls(
            stamp,
            record.owner,
            record.state,
            record.bytes or 0,
            seconds(record.finished_at),
        )


def _stamp(path: str | Path) -> tuple[int, int, int]:
    stat = os.stat(path)
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


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
        # Every job's entry by id. This process's saves update it at once; other
        # processes' jobs are found by looking at the folder again (refresh), which reads
        # only records whose file changed. Budgets are checked on every submission and
        # expiry runs every minute: reading every record each time took 0.2 s at 5,000
        # jobs and grew with them, on a server that keeps a day of jobs (issue 20).
        self._index: dict[str, _Entry] = {}
        # Bytes of kept results by owner, kept with the index (a sum over every job on each
        # submission would grow with them again).
        self._kept: dict[str, int] = {}
        # Folders without a record (being created, or left by a process that died).
        self._unrecorded: dict[str, float] = {}
        # Ids this process saved or deleted while a refresh was running: theirs wins.
        self._touched: set[str] = set()
        self._index_lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._read_at = -float("inf")

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
        try:
            entry: _Entry | None = _Entry.of(record, _stamp(folder / RECORD))
        except OSError:  # deleted meanwhile by another process
            entry = None
        self._note(record.id, entry)

    def _note(self, job_id: str, entry: _Entry | None) -> None:
        with self._index_lock:
            old = self._index.pop(job_id, None)
            if old is not None and old.kept:
                self._kept[old.owner] -= old.kept
            if entry is not None:
                self._index[job_id] = entry
                if entry.kept:
                    self._kept[entry.owner] = self._kept.get(entry.owner, 0) + entry.kept
            self._touched.add(job_id)

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
        """Every readable record (of ``owner``), newest first; only ``owner``'s are read."""
        found = []
        for job_id in self._ids(lambda entry: owner is None or entry.owner == owner):
            try:
                record = self.load(job_id)
            except UnknownJobError:
                continue
            if owner is None or record.owner == owner:
                found.append(record)
        found.sort(key=lambda r: r.created_at, reverse=True)
        return found

    def delete(self, job_id: str, owner: str | None) -> None:
        self.get(job_id, owner)
        shutil.rmtree(self.folder(job_id), ignore_errors=True)
        self._note(job_id, None)

    def _ids(self, keep: Any = None) -> list[str]:
        """Ids of the jobs in the folder now (whose entry passes ``keep``)."""
        self.refresh(force=True)
        with self._index_lock:
            return [i for i, entry in self._index.items() if keep is None or keep(entry)]

    def refresh(self, *, force: bool = False) -> None:
        """Bring the index up to the folder (at most every KEPT_REREAD_S unless ``force``):
        one stat per job, and a read only of records that changed or are new. One thread
        refreshes at a time; another finds the index as the running refresh leaves it."""
        if not force and time.monotonic() - self._read_at < KEPT_REREAD_S:
            return
        with self._refresh_lock:
            if not force and time.monotonic() - self._read_at < KEPT_REREAD_S:
                return
            started = time.monotonic()
            with self._index_lock:
                known = dict(self._index)
                self._touched = set()
            fresh: dict[str, _Entry] = {}
            unrecorded: dict[str, float] = {}
            for folder in self._folders():
                try:
                    stamp = _stamp(os.path.join(folder.path, RECORD))
                except OSError:
                    with contextlib.suppress(OSError):  # removed meanwhile
                        unrecorded[folder.name] = folder.stat().st_mtime
                    continue
                entry = known.get(folder.name)
                if entry is None or entry.stamp != stamp:
                    try:
                        entry = _Entry.of(self.load(folder.name), stamp)
                    except UnknownJobError:
                        continue
                fresh[folder.name] = entry
            with self._index_lock:
                for job_id in self._touched:  # this process's news beat the folder's
                    if job_id in self._index:
                        fresh[job_id] = self._index[job_id]
                    else:
                        fresh.pop(job_id, None)
                self._index = fresh
                self._kept = {}
                for entry in fresh.values():
                    if entry.kept:
                        self._kept[entry.owner] = self._kept.get(entry.owner, 0) + entry.kept
                self._unrecorded = unrecorded
                self._touched = set()
                self._read_at = started

    def _folders(self) -> Iterator[os.DirEntry[str]]:
        try:
            with os.scandir(self.root) as scan:
                entries = list(scan)
        except OSError:
            return
        for entry in entries:
            try:
                if not entry.is_dir(follow_symlinks=False):
                    continue
                check_job_id(entry.name)
            except (OSError, UnknownJobError):
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
        self.refresh()
        with self._index_lock:
            return sum(self._kept.values()) if owner is None else self._kept.get(owner, 0)

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
        for job_id in self._ids(lambda entry: not entry.state.finished):
            try:
                record = self.load(job_id)
            except UnknownJobError:
                continue
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
        # Only records old enough to change are read (the index knows when each finished).
        due = self._ids(
            lambda entry: (
                entry.finished is not None
                and now - entry.finished
                >= (2 if entry.state is JobState.EXPIRED else 1) * self.ttl_s
            )
        )
        for job_id in due:
            try:
                record = self.load(job_id)
            except UnknownJobError:
                continue
            finished = seconds(record.finished_at)
            if finished is None:
                continue
            age = now - finished
            if record.state is JobState.EXPIRED:
                if age >= 2 * self.ttl_s:
                    shutil.rmtree(self.folder(record.id), ignore_errors=True)
                    self._note(record.id, None)
                continue
            if age >= self.ttl_s:
                self.result_path(record.id).unlink(missing_ok=True)
                record.state = JobState.EXPIRED
                self.save(record)
                expired.append(record.id)
        with self._index_lock:
            unrecorded = dict(self._unrecorded)
        for name, modified in unrecorded.items():
            if now - modified >= ORPHAN_AGE_S and not (self.root / name / RECORD).exists():
                shutil.rmtree(self.root / name, ignore_errors=True)
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
