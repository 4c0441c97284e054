"""``Job``: the Python handle of a submitted query (``session.submit(sql)``)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from dsgrid_sql.errors import JobError

from .model import JobRecord, JobState
from .runner import JobRunner
from .store import JobStore


class Job:
    """A query running (or run) for later. Its record and result live in the jobs
    directory, so ``open_job(id)`` finds it again from another process."""

    def __init__(self, job_id: str, owner: str, *, runner: JobRunner | None, store: JobStore):
        self.id = job_id
        self.owner = owner
        self._runner = runner
        self._store = store

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.state.value}>"

    def status(self) -> JobRecord:
        if self._runner is not None:
            return self._runner.status(self.id, self.owner)
        return self._store.get(self.id, self.owner)

    @property
    def state(self) -> JobState:
        return self.status().state

    def wait(self, timeout: float | None = None) -> JobRecord:
        """The record once the job finished, or after ``timeout`` seconds."""
        if self._runner is not None:
            return self._runner.wait(self.id, self.owner, timeout)
        import time

        deadline = None if timeout is None else time.monotonic() + timeout
        record = self.status()
        while not record.state.finished and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.1)
            record = self.status()
        return record

    def reader(self) -> pa.RecordBatchReader:
        """The result's batches (after the job succeeded)."""
        parquet = self._store.open_result(self.id, self.owner)
        return pa.RecordBatchReader.from_batches(
            parquet.schema_arrow, parquet.iter_batches(batch_size=65_536)
        )

    def result(self, timeout: float | None = None) -> pa.Table:
        """Wait for the job, then its rows; a failed or cancelled job raises its error."""
        record = self.wait(timeout)
        if not record.state.finished:
            raise JobError(f"Job '{self.id}' is still {record.state.value}.")
        return self.reader().read_all()

    @property
    def path(self) -> Path:
        """The kept Parquet result (with lineage metadata, as exports have)."""
        return self._store.result_path(self.id)

    def cancel(self) -> JobRecord:
        if self._runner is not None:
            return self._runner.cancel(self.id, self.owner)
        record = self.status()
        if not record.state.finished:
            raise JobError(f"Job '{self.id}' runs in another process; cancel it there.")
        return record

    def delete(self) -> None:
        if self._runner is not None:
            self._runner.delete(self.id, self.owner)
        else:
            self._store.delete(self.id, self.owner)
