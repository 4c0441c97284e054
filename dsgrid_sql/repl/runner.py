"""Running a statement so Ctrl-C can stop it: the work runs on a worker thread while the
main thread waits, shows elapsed time, and on KeyboardInterrupt asks the engine to cancel.

Only the main thread receives SIGINT, so waiting there (rather than running the query there)
is what lets Ctrl-C reach us while DuckDB or Spark is busy in native code.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import IO, Any, TypeVar

from dsgrid_sql.errors import QueryCancelledError

T = TypeVar("T")

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
# How long to wait for the engine to stop after a cancel before giving the prompt back.
CANCEL_GRACE_S = 10.0


class Progress:
    """Elapsed time on a terminal's stderr once work has run ``after_s`` seconds."""

    def __init__(self, stream: IO[str] | None, after_s: float) -> None:
        self._stream = stream if stream is not None and _isatty(stream) else None
        self._after_s = after_s
        self._shown = False
        self._frame = 0

    def tick(self, elapsed_s: float, note: str = "Ctrl-C cancels") -> None:
        if self._stream is None or elapsed_s < self._after_s:
            return
        self._frame = (self._frame + 1) % len(SPINNER)
        self._stream.write(f"\r\x1b[K{SPINNER[self._frame]} {elapsed_s:5.1f} s  {note}")
        self._stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self._stream is not None and self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._shown = False


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def run_cancellable(
    work: Callable[[threading.Event], T],
    cancel: Callable[[], None],
    progress: Progress | None = None,
) -> T:
    """Run ``work(stop)`` on a worker thread and return its result (or raise its error).

    On Ctrl-C: set ``stop`` (for work that reads batches), call ``cancel`` (the engine's
    interrupt), wait for the worker to finish, and raise :class:`QueryCancelledError`. A
    second Ctrl-C stops waiting.
    """
    stop = threading.Event()
    done = threading.Event()
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = work(stop)
        except BaseException as exc:  # handed to the main thread, which decides what to show
            outcome["error"] = exc
        finally:
            done.set()

    worker = threading.Thread(target=target, name="query", daemon=True)
    start = time.monotonic()
    worker.start()
    try:
        while not done.wait(0.1):
            if progress is not None:
                progress.tick(time.monotonic() - start)
    except KeyboardInterrupt:
        stop.set()
        cancel()
        if not _wait_for_cancel(done, start, progress):
            raise QueryCancelledError(
                "The query was cancelled, but the engine has not stopped yet.",
                hint="It may keep working in the background; the next query can wait for it.",
            ) from None
        raise QueryCancelledError("The query was cancelled.") from None
    finally:
        if progress is not None:
            progress.clear()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _wait_for_cancel(done: threading.Event, start: float, progress: Progress | None) -> bool:
    """Wait for the worker after a cancel; whether it finished."""
    deadline = time.monotonic() + CANCEL_GRACE_S
    try:
        while not done.wait(0.1) and time.monotonic() < deadline:
            if progress is not None:
                progress.tick(time.monotonic() - start, "cancelling (Ctrl-C again: stop waiting)")
    except KeyboardInterrupt:
        pass  # the user would rather have the prompt than wait for the engine
    return done.is_set()
