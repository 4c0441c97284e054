"""Whether an HTTP client is still there, asked from an endpoint's worker thread.

FastAPI runs our endpoints (plain functions) on worker threads while the event loop keeps
the connection. A client that hangs up while its statement is translated or waited for
should free that thread: the loop learns of the hang-up (an ``http.disconnect`` message),
and the thread asks the loop, at most every ``EVERY_S``, through anyio's bridge back to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio.from_thread
from starlette.requests import Request

# A question to the event loop costs a thread hop; translation asks between its steps and
# the job wait every slice, so a tenth of a second bounds both the cost and the delay.
EVERY_S = 0.1


def client_gone(request: Request) -> Callable[[], bool]:
    """A callable telling whether ``request``'s client has disconnected (once gone, always
    gone). Outside a worker thread of the loop (tests calling an endpoint directly) it
    answers False."""
    asked = -EVERY_S
    gone = False

    def check() -> bool:
        nonlocal asked, gone
        now = time.monotonic()
        if gone or now - asked < EVERY_S:
            return gone
        asked = now
        try:
            gone = anyio.from_thread.run(request.is_disconnected)
        except RuntimeError:  # not on a thread the loop started
            return False
        return gone

    return check
