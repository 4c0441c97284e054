"""How many queries run at once, in all and per user, across every front end of a server.

A Flight query that would go over a limit waits a short while for a slot (a dashboard opening
a dozen tiles on one shared account gets a dozen answers, not refusals), then is refused
(clients retry UNAVAILABLE); a job waits in its queue instead (it was submitted for later)."""

from __future__ import annotations

import threading
import time
from collections import Counter

from dsgrid_sql.errors import ServerBusyError


class Admission:
    def __init__(self, max_total: int = 0, max_per_user: int = 0, wait_s: float = 0.0) -> None:
        # 0 = no limit.
        self.max_total = max_total
        self.max_per_user = max_per_user
        # Seconds a query waits for a slot before it is refused.
        self.wait_s = wait_s
        self._running: Counter[str] = Counter()
        self._changed = threading.Condition()

    def _refusal(self, user: str) -> ServerBusyError | None:
        total = sum(self._running.values())
        if self.max_total and total >= self.max_total:
            return ServerBusyError(
                f"The server is running its limit of {self.max_total} queries; try again shortly."
            )
        if self.max_per_user and self._running[user] >= self.max_per_user:
            return ServerBusyError(
                f"User '{user}' is running the limit of {self.max_per_user} queries at once; "
                "try again when one finishes."
            )
        return None

    def enter(self, user: str) -> None:
        """Count one more running query of ``user``; waits up to ``wait_s`` for a slot,
        then refuses it."""
        deadline = time.monotonic() + self.wait_s
        with self._changed:
            while (refusal := self._refusal(user)) is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise refusal
                self._changed.wait(left)
            self._running[user] += 1

    def enter_when_free(self, user: str, stop: threading.Event, poll_s: float = 0.5) -> bool:
        """Wait until ``user`` may run one more query; False when ``stop`` was set first."""
        with self._changed:
            while self._refusal(user) is not None:
                if stop.is_set():
                    return False
                self._changed.wait(poll_s)
            self._running[user] += 1
            return True

    def leave(self, user: str) -> None:
        with self._changed:
            self._running[user] -= 1
            if self._running[user] <= 0:
                del self._running[user]
            self._changed.notify_all()

    def running(self, user: str | None = None) -> int:
        with self._changed:
            return self._running[user] if user is not None else sum(self._running.values())
