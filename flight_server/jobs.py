"""Jobs over Flight: the ``jobs.*`` actions, the ``("jobs", id)`` path descriptor and its
ticket.

A job is the service's (dsgrid_sql/jobs); this module only reads requests and writes
answers. Action bodies and answers are JSON (UTF-8): a client needs no Flight SQL message to
use jobs. A job's ticket names the job, not the connection, so any connection (or process)
of the job's owner redeems it; the owner check is made at every call.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight
import pyarrow.parquet as pq

from dsgrid_sql.export import METADATA_KEY
from dsgrid_sql.jobs import JobRecord
from dsgrid_sql.jobs.model import check_job_id, shown

from .status import ProtocolError
from .streaming import declared_schema

ACTIONS = [
    ("jobs.submit", 'Run a query as a job. Body: {"sql": "...", "parameters": [...]} (JSON); '
     "answer: the job (JSON)."),
    ("jobs.status", 'A job. Body: {"id": "...", "wait_timeout": seconds}: with wait_timeout, '
     "answers when the job's state changes or the time is up (at most 60 s)."),
    ("jobs.list", "Your jobs, newest first: one JSON record per result."),
    ("jobs.cancel", 'Cancel a queued or running job. Body: {"id": "..."}; answer: the job.'),
    ("jobs.delete", 'Delete a job and its kept result. Body: {"id": "..."}.'),
]  # fmt: skip

# JSON bodies are small: SQL text (itself limited by the session) and a few values.
MAX_BODY_BYTES = 4 * 2**20
MAX_WAIT_S = 60.0
TICKET_PREFIX = b"jobs/"
PATH_HINT = 'A job is named by the path descriptor ("jobs", ID).'

FIELDS = {
    "jobs.submit": ("sql", "parameters"),
    "jobs.status": ("id", "wait_timeout"),
    "jobs.list": (),
    "jobs.cancel": ("id",),
    "jobs.delete": ("id",),
}


def body(action: str, data: bytes) -> dict[str, Any]:
    """The action's JSON object (an empty body is an empty object)."""
    if len(data) > MAX_BODY_BYTES:
        raise ProtocolError(
            f"The body of {action} is {len(data):,} bytes, over the limit of {MAX_BODY_BYTES:,}."
        )
    if not data.strip():
        value: Any = {}
    else:
        try:
            value = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ProtocolError(f"The body of {action} is not JSON (UTF-8).") from None
    if not isinstance(value, dict):
        raise ProtocolError(f"The body of {action} must be a JSON object.")
    allowed = FIELDS[action]
    unknown = sorted(k for k in value if k not in allowed)
    if unknown:
        expected = ", ".join(allowed) if allowed else "no fields"
        raise ProtocolError(f"{action} has no field '{shown(unknown[0])}'; it takes {expected}.")
    return value


def job_id(action: str, request: dict[str, Any]) -> str:
    value = request.get("id")
    if not isinstance(value, str):
        raise ProtocolError(f'{action} needs "id", the job\'s id (a string).')
    return check_job_id(_printable(value))


def submitted(request: dict[str, Any]) -> tuple[str, Any]:
    """(SQL text, parameters) of a jobs.submit body."""
    sql = request.get("sql")
    if not isinstance(sql, str) or not sql.strip():
        raise ProtocolError('jobs.submit needs "sql", the query (a non-empty string).')
    params = request.get("parameters")
    if params is None:
        return sql, None
    values = params.values() if isinstance(params, dict) else params
    if not isinstance(params, list | dict) or not all(
        v is None or isinstance(v, bool | int | float | str) for v in values
    ):
        raise ProtocolError(
            '"parameters" must be a list (or an object, by name) of strings, numbers, '
            "booleans or nulls."
        )
    if isinstance(params, dict) and not params:
        return sql, None
    return sql, params or None


def wait_timeout(request: dict[str, Any]) -> float:
    value = request.get("wait_timeout", 0)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ProtocolError('"wait_timeout" must be a number of seconds.')
    if value < 0:
        raise ProtocolError('"wait_timeout" cannot be negative.')
    return min(float(value), MAX_WAIT_S)


def answer(record: JobRecord | dict[str, Any]) -> bytes:
    data = record.public() if isinstance(record, JobRecord) else record
    return json.dumps(data).encode()


# -- descriptors and tickets ---------------------------------------------------------------


def path_job_id(descriptor: flight.FlightDescriptor) -> str:
    path = list(descriptor.path or [])
    if len(path) != 2 or path[0] != b"jobs":
        raise ProtocolError(f"Unknown path descriptor. {PATH_HINT}")
    return check_job_id(_printable(path[1].decode("utf-8", "replace")))


def ticket(job_id: str) -> bytes:
    return TICKET_PREFIX + job_id.encode()


def is_job_ticket(data: bytes) -> bool:
    # Flight SQL tickets are protobuf Any messages (first byte 0x0a): never this prefix.
    return data.startswith(TICKET_PREFIX)


def ticket_job_id(data: bytes) -> str:
    return check_job_id(_printable(data[len(TICKET_PREFIX) :].decode("utf-8", "replace")))


def info_job_id(info: flight.FlightInfo) -> str | None:
    """The job a FlightInfo names (by its descriptor or its ticket), if it names one."""
    descriptor = info.descriptor
    if (
        descriptor is not None
        and descriptor.descriptor_type == flight.DescriptorType.PATH
        and list(descriptor.path or [])[:1] == [b"jobs"]
    ):
        return path_job_id(descriptor)
    for endpoint in info.endpoints:
        if is_job_ticket(endpoint.ticket.ticket):
            return ticket_job_id(endpoint.ticket.ticket)
    return None


def result_schema(parquet: pq.ParquetFile) -> pa.Schema:
    """What a job's stream carries: the declared schema every query result has, with the
    result's lineage (query, versions, engine) kept in the schema's metadata."""
    kept = parquet.schema_arrow
    schema = declared_schema(kept)
    lineage = (kept.metadata or {}).get(METADATA_KEY)
    return schema.with_metadata({METADATA_KEY: lineage}) if lineage else schema


def _printable(text: str) -> str:
    """An id as an error may quote it: control characters (a NUL ends a gRPC status
    message) shown as '?'. A real id is hex, so it is unchanged."""
    return "".join(c if c.isprintable() else "?" for c in text)
