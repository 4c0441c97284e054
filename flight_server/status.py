"""dsgrid-sql errors as gRPC statuses.

pyarrow's Flight server turns a Python exception into a gRPC status in two ways:
- pyarrow's Flight error classes carry their own code: CANCELLED, DEADLINE_EXCEEDED,
  UNAUTHENTICATED, PERMISSION_DENIED, UNAVAILABLE, INTERNAL, UNKNOWN;
- any other exception is mapped by type (ArrowInvalid → INVALID_ARGUMENT, ArrowKeyError →
  NOT_FOUND, ArrowNotImplementedError → UNIMPLEMENTED) and its formatted traceback is
  appended to the message. :func:`hide_tracebacks` keeps that text to the exception's class
  name (no frames, no server paths; the sentence is the message).

RESOURCE_EXHAUSTED and FAILED_PRECONDITION cannot be produced through pyarrow's server, so
a busy server answers UNAVAILABLE (the code clients retry), a result over a limit (or a full
job disk budget) INVALID_ARGUMENT (the query must change, or jobs be deleted), and the result
of a job that has not succeeded INVALID_ARGUMENT naming the job's state. An unknown job (or
another user's) is NOT_FOUND.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight

from dsgrid_sql.errors import (  # noqa: F401 - the limit errors are re-exported
    DsgridSqlError,
    JobNotFinishedError,
    LimitError,
    QueryCancelledError,
    QueryExecutionError,
    QueryTimeoutError,
    ServerBusyError,
    UnknownJobError,
    UnknownProjectError,
    UnknownSchemaError,
    UnknownTableError,
)


# The class names below are what a client reads after "Detail: Python exception:"; module
# "builtins" keeps the name bare.
class InvalidArgument(pa.ArrowInvalid):
    pass


class NotFound(pa.ArrowKeyError):
    pass


class Unimplemented(pa.ArrowNotImplementedError):
    pass


for _cls in (InvalidArgument, NotFound, Unimplemented):
    _cls.__module__ = "builtins"


class ProtocolError(DsgridSqlError):
    """A request that is not valid Flight SQL (undecodable, wrong type, unknown handle)."""

    code = "protocol_error"


class NotSupportedError(DsgridSqlError):
    """A Flight SQL feature this read-only gateway does not offer."""

    code = "not_supported"


def _sentence(error: DsgridSqlError) -> str:
    text = error.message
    if error.hint:
        text = f"{text.rstrip('.')}. {error.hint}"
    # pyarrow appends ". Detail: …"; no doubled period.
    return text.rstrip(".")


def to_flight_error(error: BaseException) -> BaseException:
    """The exception that gives a client the right gRPC code and our one sentence."""
    if isinstance(error, flight.FlightError):
        return error
    if not isinstance(error, DsgridSqlError):  # a bug: the log has it, the client a line
        return flight.FlightInternalError("The server failed to answer; see its log")
    message = _sentence(error)
    if isinstance(error, QueryCancelledError):
        return flight.FlightCancelledError(message)
    if isinstance(error, QueryTimeoutError):
        return flight.FlightTimedOutError(message)
    if isinstance(error, ServerBusyError):
        return flight.FlightUnavailableError(message)
    if isinstance(error, NotSupportedError):
        return Unimplemented(message)
    if isinstance(
        error, UnknownTableError | UnknownSchemaError | UnknownProjectError | UnknownJobError
    ):
        return NotFound(message)
    if isinstance(error, JobNotFinishedError):
        return InvalidArgument(message)
    if isinstance(error, QueryExecutionError):
        return flight.FlightInternalError(message)
    return InvalidArgument(message)


_servers_running = 0
_saved_limit: list[int | None] = []
_format_exception = traceback.format_exception
# What pyarrow appends after "Detail: Python exception:" for the errors made here: the class
# name, one string per class made once (see _format_for_pyarrow).
_DETAIL_LINES = {cls: cls.__name__ for cls in (InvalidArgument, NotFound, Unimplemented)}


def _format_for_pyarrow(exc: Any, /, *args: Any, **kwargs: Any) -> list[str]:
    """``traceback.format_exception`` while a server runs.

    pyarrow's server formats an exception it turns into a status with this function and
    never releases the lines it reads (PythonErrorDetail in pyarrow's C++ takes each line with
    PySequence_GetItem and drops it without a decref): every error answered leaked its
    sentence, twice for a statement refused at Prepare, ~250 bytes a failed query (~20 MB
    an hour in issue 20's soak). For the errors this module makes the lines are their class
    name, a string made once, whose leaked references cost nothing; the sentence is the
    status message already. Anything else is formatted as Python does (a bug, logged)."""
    error = args[0] if args else exc
    line = _DETAIL_LINES.get(type(error))
    if line is not None:
        return [line]
    return _format_exception(exc, *args, **kwargs)


def hide_tracebacks() -> None:
    """While a server runs, format Python exceptions without frames. This is process-wide:
    pyarrow formats them in C++ with ``traceback.format_exception`` after our code returns,
    and that function reads ``sys.tracebacklimit``."""
    global _servers_running
    if _servers_running == 0:
        _saved_limit[:] = [getattr(sys, "tracebacklimit", None)]
        sys.tracebacklimit = 0
        traceback.format_exception = _format_for_pyarrow
    _servers_running += 1


def restore_tracebacks() -> None:
    global _servers_running
    _servers_running = max(0, _servers_running - 1)
    if _servers_running == 0:
        traceback.format_exception = _format_exception
    if _servers_running == 0 and _saved_limit:
        previous = _saved_limit.pop()
        if previous is None:
            if hasattr(sys, "tracebacklimit"):
                del sys.tracebacklimit
        else:
            sys.tracebacklimit = previous
