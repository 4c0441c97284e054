"""A statement's time limit and cancellation while it is parsed and translated.

A server's query timeout used to start when the engine started: a huge SQL text (30,000 OR
terms take seconds to parse and translate) held a server thread for as long as that took,
whatever the limit. A front end now opens a ``time_limit`` around the work it does for a
request; the rewrite calls ``check_time()`` between its steps (parsing, binding, planning,
generating), which raises the timeout (or the cancellation, when the client has gone) at
the first step boundary past the limit, and the thread is free for the next request.
Nothing is half-done: a step either finishes or is never started, and nothing a stopped
translation made is kept (the translation cache keeps only finished translations).

The limit lives in a context variable, like the SQL size limits (parse.sql_limits): each
server thread sees its own request's limit, and code outside any limit never stops.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

from dsgrid_sql.errors import QueryCancelledError, QueryTimeoutError


@dataclass(frozen=True)
class _Limit:
    seconds: float
    at: float | None  # time.monotonic() past which the work stops; None: cancellation only
    cancelled: Callable[[], bool] | None


_ACTIVE: ContextVar[_Limit | None] = ContextVar("dsgrid_sql_time_limit", default=None)
# How often a caller waiting for work on another thread looks at its limit.
WAIT_SLICE_S = 0.05

T = TypeVar("T")


@contextlib.contextmanager
def time_limit(
    seconds: float | None, *, cancelled: Callable[[], bool] | None = None
) -> Iterator[None]:
    """Work inside stops at the next ``check_time()`` once ``seconds`` have passed (none or
    0: no limit) or once ``cancelled()`` is true."""
    at = time.monotonic() + seconds if seconds else None
    token = _ACTIVE.set(_Limit(seconds or 0.0, at, cancelled))
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def check_time() -> None:
    """Raise if the current request is past its time limit or was cancelled."""
    limit = _ACTIVE.get()
    if limit is None:
        return
    if limit.cancelled is not None and limit.cancelled():
        raise QueryCancelledError("The query was cancelled.")
    if limit.at is not None and time.monotonic() >= limit.at:
        raise timeout_error(limit.seconds)


def timeout_error(seconds: float) -> QueryTimeoutError:
    """The one sentence for a statement over the server's time limit, wherever it was."""
    return QueryTimeoutError(f"The query ran longer than {seconds:g} s, the server's limit.")


def within_time_limit(work: Callable[[], T]) -> T:
    """``work()``, stopped waiting for at the current limit when there is one.

    For a step that cannot look at the limit itself: DuckDB does not look for an interrupt
    while it binds and plans, and planning the schema probe of a long OR chain took 40 s.
    The work runs on a thread of its own while the caller waits, checking its limit (and
    its cancellation) every WAIT_SLICE_S; past it the caller gets the timeout error and is
    free, and the work finishes in the background with nobody waiting for its result."""
    if _ACTIVE.get() is None:
        return work()
    outcome: dict[str, object] = {}
    done = threading.Event()

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # handed to the caller, if it still waits
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name="dsgrid-sql-limited", daemon=True).start()
    while not done.wait(WAIT_SLICE_S):
        check_time()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
