"""What the server remembers between calls: the registry's current catalog, client sessions,
prepared statements, tickets and running queries.

Every handle is a random 128-bit value bound to the user who made it; another user's handle
is "unknown", exactly like a made-up one. Idle entries expire (config TTLs), so clients that
vanish leave nothing behind.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from dsgrid_sql.catalog import Catalog
from dsgrid_sql.engine import Engine
from dsgrid_sql.service.admission import Admission
from dsgrid_sql.service.catalogs import CatalogHolder
from dsgrid_sql.service.core import make_session
from dsgrid_sql.session import Result, Session

from .config import ServerConfig
from .status import ProtocolError

log = logging.getLogger("dsgrid_sql.flight_server")


@dataclass
class ClientSession:
    """One client's settings (current schema, dialect), as a dsgrid-sql Session."""

    key: str
    user: str
    session: Session
    last_used: float = field(default_factory=time.monotonic)


@dataclass
class Prepared:
    handle: bytes
    user: str
    text: str
    parameter_count: int
    schema: pa.Schema
    # The catalog the schema was found in (a registry change may change it); weakly, so an
    # idle prepared statement does not keep a registry version that is no longer current.
    catalog: weakref.ref[Catalog]
    # Bound parameter rows (DoPut); None until bound.
    parameters: list[list[Any]] | None = None
    last_used: float = field(default_factory=time.monotonic)


@dataclass
class Ticket:
    """A query planned by GetFlightInfo and waiting for DoGet."""

    handle: bytes
    user: str
    results: list[Result]
    schema: pa.Schema
    created: float = field(default_factory=time.monotonic)


@dataclass
class Running:
    """A query whose results are streaming. Registered only while its stream runs (the
    gRPC call is alive then); nothing here touches the call's context from another thread,
    which would outlive the call and crash."""

    handle: bytes
    user: str
    results: list[Result]
    deadline: float | None
    cancelled: bool = False
    timed_out: bool = False

    def cancel(self) -> None:
        self.cancelled = True
        for result in self.results:
            result.cancel()


class ServerState:
    def __init__(
        self,
        config: ServerConfig,
        engine: Engine,
        catalogs: CatalogHolder | None = None,
        admission: Admission | None = None,
    ) -> None:
        self.config = config
        self.admission = admission or Admission(
            config.max_concurrent_queries, config.max_queries_per_user, config.queue_wait_s
        )
        self.engine = engine
        self.catalogs = catalogs or CatalogHolder(
            config.registry,
            data_path=config.data_path,
            poll_s=config.registry_poll_s,
            storage_options=config.storage_options,
        )
        self._lock = threading.Lock()
        self._sessions: dict[str, ClientSession] = {}
        self._prepared: dict[bytes, Prepared] = {}
        self._tickets: dict[bytes, Ticket] = {}
        self._running: dict[bytes, Running] = {}
        self._stop = threading.Event()
        self._watchdog = threading.Thread(
            target=self._watch, name="dsgrid-sql-watchdog", daemon=True
        )
        self._watchdog.start()

    # -- sessions ---------------------------------------------------------------------------

    def session(self, key: str, user: str) -> ClientSession:
        catalog = self.catalogs.current()
        with self._lock:
            client = self._sessions.get(key)
            if client is None or client.user != user:
                session = make_session(self.config, catalog, self.engine)
                client = ClientSession(key, user, session)
                self._sessions[key] = client
            else:
                client.session.catalog = catalog
                client.last_used = time.monotonic()
            return client

    def close_session(self, key: str) -> bool:
        with self._lock:
            return self._sessions.pop(key, None) is not None

    # -- prepared statements ----------------------------------------------------------------

    def add_prepared(self, prepared: Prepared) -> None:
        with self._lock:
            owned = sum(1 for p in self._prepared.values() if p.user == prepared.user)
            if owned >= self.config.max_prepared_per_user:
                oldest = min(
                    (p for p in self._prepared.values() if p.user == prepared.user),
                    key=lambda p: p.last_used,
                )
                del self._prepared[oldest.handle]
            self._prepared[prepared.handle] = prepared

    def prepared(self, handle: bytes, user: str) -> Prepared:
        with self._lock:
            prepared = self._prepared.get(handle)
            if prepared is None or prepared.user != user:
                raise ProtocolError("Unknown or closed prepared statement handle.")
            prepared.last_used = time.monotonic()
            return prepared

    def close_prepared(self, handle: bytes, user: str) -> None:
        with self._lock:
            prepared = self._prepared.get(handle)
            if prepared is not None and prepared.user == user:
                del self._prepared[handle]

    # -- tickets and running queries --------------------------------------------------------

    def add_ticket(self, user: str, results: list[Result], schema: pa.Schema) -> bytes:
        handle = new_handle()
        with self._lock:
            self._tickets[handle] = Ticket(handle, user, results, schema)
        return handle

    def take_ticket(self, handle: bytes, user: str) -> Ticket:
        """A ticket is redeemed once: its results stream once."""
        with self._lock:
            ticket = self._tickets.get(handle)
            if ticket is None or ticket.user != user:
                raise ProtocolError("Unknown or expired ticket; ask for the query again.")
            del self._tickets[handle]
            return ticket

    def start(self, running: Running) -> None:
        """Register a query, or refuse it when the server or its user is at the limit
        (counted with the server's other front ends and jobs: service/admission.py)."""
        self.admission.enter(running.user)
        with self._lock:
            self._running[running.handle] = running

    def finish(self, handle: bytes) -> None:
        with self._lock:
            running = self._running.pop(handle, None)
        if running is not None:
            self.admission.leave(running.user)

    def cancel(self, handle: bytes, user: str) -> str:
        """'cancelled', 'not_cancellable' (already finished) or 'unknown'."""
        with self._lock:
            running = self._running.get(handle)
            ticket = self._tickets.get(handle)
            if running is not None and running.user == user:
                running.cancel()
                return "cancelled"
            if ticket is not None and ticket.user == user:
                del self._tickets[handle]
                return "cancelled"
        return "unknown"

    def counts(self) -> dict[str, int]:
        """Open handles by kind (tests check they return to zero)."""
        with self._lock:
            return {
                "sessions": len(self._sessions),
                "prepared": len(self._prepared),
                "tickets": len(self._tickets),
                "running": len(self._running),
            }

    # -- housekeeping -----------------------------------------------------------------------

    def _watch(self) -> None:
        """Cancel queries whose time ran out; drop idle handles. (A client that goes away is
        noticed by its own stream, between batches.)"""
        last_sweep = time.monotonic()
        while not self._stop.wait(0.05):
            now = time.monotonic()
            with self._lock:
                running = list(self._running.values())
            for query in running:
                if query.cancelled:
                    # Again until its stream ends: DuckDB does not look for an interrupt
                    # while it plans, so one sent then would be lost and the query run on.
                    query.cancel()
                    continue
                if query.deadline is not None and now >= query.deadline:
                    query.timed_out = True
                    query.cancel()
            if now - last_sweep >= 1.0:
                last_sweep = now
                self._sweep(now)

    def _sweep(self, now: float) -> None:
        config = self.config
        with self._lock:
            for handle in [
                h for h, t in self._tickets.items() if now - t.created > config.ticket_ttl_s
            ]:
                del self._tickets[handle]
            for handle in [
                h for h, p in self._prepared.items() if now - p.last_used > config.prepared_ttl_s
            ]:
                del self._prepared[handle]
            for key in [
                k for k, s in self._sessions.items() if now - s.last_used > config.session_ttl_s
            ]:
                del self._sessions[key]

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            running = list(self._running.values())
        for query in running:
            query.cancel()
        self._watchdog.join(timeout=2)


def new_handle() -> bytes:
    return secrets.token_bytes(16)
