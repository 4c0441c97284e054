"""Real servers for the HTTP tests: one ServerCore with Flight SQL and the HTTP API on
127.0.0.1, port 0, as `dsgrid-sql serve --http-port 0` runs them; closed after each test
(or at the end of the session for the shared ones)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from dsgrid_sql.flight_server import FlightSqlServer
from dsgrid_sql.http.server import HttpServer
from dsgrid_sql.service.config import ServerConfig
from dsgrid_sql.service.core import ServerCore


@dataclass
class Served:
    core: ServerCore
    flight: FlightSqlServer
    http: HttpServer
    cert: Path | None = None

    @property
    def url(self) -> str:
        return self.http.url

    @property
    def flight_uri(self) -> str:
        return f"grpc://127.0.0.1:{self.flight.port}"

    def client(self, auth: tuple[str, str] | None = None, **kwargs: Any) -> httpx.Client:
        import ssl

        verify: Any = True
        if self.cert is not None:
            verify = ssl.create_default_context(cafile=str(self.cert))
        return httpx.Client(base_url=self.url, auth=auth, timeout=60, verify=verify, **kwargs)

    def close(self) -> None:
        self.http.close()
        self.flight.close()
        self.core.close()


def serve(registry: Path, jobs_dir: Path, **settings: Any) -> Served:
    config = ServerConfig(registry=registry, port=0, jobs_dir=jobs_dir, **settings)
    core = ServerCore(config)
    flight = FlightSqlServer(config, core)
    http = HttpServer(core, "127.0.0.1", 0)
    return Served(core, flight, http, settings.get("tls_cert"))


@pytest.fixture
def make_http(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """Start servers in a test; each is stopped when the test ends."""
    started: list[Served] = []

    def start(registry: Path, **settings: Any) -> Served:
        settings.setdefault("jobs_dir", tmp_path / f"jobs-{len(started)}")
        jobs_dir = settings.pop("jobs_dir")
        served = serve(registry, jobs_dir, **settings)
        started.append(served)
        return served

    yield start
    for served in reversed(started):
        served.close()


@pytest.fixture(scope="module")
def efs_http(efs_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One plain server over test_efs for the tests that only read."""
    served = serve(efs_dir, tmp_path_factory.mktemp("jobs"))
    yield served
    served.close()
