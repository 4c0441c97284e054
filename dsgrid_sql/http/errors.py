"""Errors as HTTP answers: the one error tree's sentence as JSON, with the status code a client
can act on (README "HTTP API")."""

from __future__ import annotations

from typing import Any

from dsgrid_sql.errors import (
    DsgridSqlError,
    JobBudgetError,
    JobNotFinishedError,
    LimitError,
    QueryCancelledError,
    QueryTimeoutError,
    ServerBusyError,
    UnknownJobError,
    UnsupportedSqlError,
)
from dsgrid_sql.service.auth import AuthenticationError


class HttpError(DsgridSqlError):
    """A request the API cannot take as sent (bad JSON, too big, wrong method)."""

    code = "bad_request"

    def __init__(self, message: str, *, status: int = 400, code: str | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.status = status
        if code is not None:
            self.code = code  # type: ignore[misc]


def status_of(error: DsgridSqlError) -> int:
    """The HTTP status of an error: 4xx for what the client can change, 5xx for the server."""
    if isinstance(error, HttpError):
        return error.status
    if isinstance(error, AuthenticationError):
        return 401
    if isinstance(error, UnknownJobError):
        return 404
    if isinstance(error, JobNotFinishedError):
        return 409
    if isinstance(error, (ServerBusyError, JobBudgetError)):
        return 429
    if isinstance(error, QueryTimeoutError):
        return 504
    if isinstance(error, QueryCancelledError):
        return 409
    if isinstance(error, UnsupportedSqlError) and error.code == "not_allowed":
        return 403  # refused on purpose (DESIGN.md §8), not misspelled
    if isinstance(error, LimitError):
        return 400
    if error.code in ("engine_unavailable", "registry_locked"):
        return 503
    return 400


def error_body(error: DsgridSqlError | dict[str, Any], **extra: Any) -> dict[str, Any]:
    """``{code, message, hint?, position?}`` plus what the answer adds (a job id)."""
    data = error.to_dict() if isinstance(error, DsgridSqlError) else dict(error)
    body = {key: value for key, value in data.items() if value is not None or key in ("code",)}
    body.update(extra)
    return body
