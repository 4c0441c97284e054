"""A job: a query submitted for later, its state, and the record kept of it on disk."""

from __future__ import annotations

import enum
import re
import secrets
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from dsgrid_sql.errors import UnknownJobError

# 128 random bits as hex: the only shape of id that is ever looked up on disk, so a request
# cannot name a path ("../x", "a/b") by way of a job id.
ID_PATTERN = re.compile(r"[0-9a-f]{32}")


class JobState(enum.StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    # Finished, and its result removed after the time to live.
    EXPIRED = "EXPIRED"

    @property
    def finished(self) -> bool:
        return self not in (JobState.QUEUED, JobState.RUNNING)


def job_error(code: str, message: str) -> dict[str, Any]:
    """A job's error in the one shape every error has (DsgridSqlError.to_dict)."""
    return {"code": code, "message": message, "hint": None, "position": None}


def new_job_id() -> str:
    return secrets.token_hex(16)


def check_job_id(job_id: str) -> str:
    """The id when it has the shape of one; any other text is an unknown job."""
    if not isinstance(job_id, str) or not ID_PATTERN.fullmatch(job_id):
        raise UnknownJobError(f"Unknown job '{shown(job_id)}'.")
    return job_id


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def seconds(iso: str | None) -> float | None:
    return None if iso is None else datetime.fromisoformat(iso).timestamp()


@dataclass
class JobRecord:
    """Everything a front end shows of a job; written as JSON beside its result."""

    id: str
    owner: str
    sql: str
    state: JobState = JobState.QUEUED
    parameters: list[Any] | dict[str, Any] | None = None
    engine: str | None = None
    created_at: str = field(default_factory=now_iso)
    started_at: str | None = None
    finished_at: str | None = None
    # When a cancel was asked for a job that was running then: until the engine stops (a
    # large result's batch can take seconds on a loaded machine), the job is still RUNNING,
    # and this says the stop is on its way.
    cancel_requested_at: str | None = None
    # In [0, 1] while running when the engine can tell; 1 once succeeded.
    progress: float | None = None
    rows: int | None = None
    # Bytes of the kept Parquet result (what the disk budgets count).
    bytes: int | None = None
    # [{"name": ..., "type": ...}] of the result, once it succeeded.
    columns: list[dict[str, str]] | None = None
    # {"code", "message", "hint", "position"} when failed or cancelled.
    error: dict[str, Any] | None = None
    # Where the job runs ("host:pid"): a restarted server fails only its own dead jobs.
    runner: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobRecord:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["state"] = JobState(values.get("state", JobState.QUEUED))
        return cls(**values)

    def public(self) -> dict[str, Any]:
        """What a client is shown (the runner's process is the server's business)."""
        data = self.to_json()
        data.pop("runner", None)
        return data


def shown(text: object) -> str:
    """A client's text in a message, cut to 40 characters."""
    whole = str(text)
    return whole if len(whole) <= 40 else whole[:37] + "..."
