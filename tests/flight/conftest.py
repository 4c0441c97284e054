"""Real Flight SQL servers on 127.0.0.1, port 0, for the client tests.

``make_server(registry, tls=..., auth=..., **config)`` starts an in-process server and
returns a handle with its URI, client options and credentials; every server is closed at
the end of the test session. TLS uses a self-signed certificate made with openssl.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dsgrid_sql.flight_server import FlightSqlServer, ServerConfig

# The user of `users_file` (tests/conftest.py).
USER, PASSWORD = "analyst", "correct horse battery staple"


@dataclass
class Running:
    server: FlightSqlServer
    tls: bool
    auth: bool
    cert_pem: str | None

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def uri(self) -> str:
        # "localhost" matches the certificate's name; plaintext uses the address itself.
        return f"grpc+tls://localhost:{self.port}" if self.tls else f"grpc://127.0.0.1:{self.port}"

    def adbc_kwargs(self, password: str = PASSWORD) -> dict[str, str]:
        kwargs: dict[str, str] = {}
        if self.auth:
            kwargs.update(username=USER, password=password)
        if self.tls:
            assert self.cert_pem is not None
            kwargs["adbc.flight.sql.client_option.tls_root_certs"] = self.cert_pem
        return kwargs

    def flight_client(self) -> Any:
        import pyarrow.flight as flight

        if self.tls:
            return flight.FlightClient(self.uri, tls_root_certs=self.cert_pem)
        return flight.FlightClient(self.uri)

    def call_options(self, client: Any) -> Any:
        """Call options carrying a Bearer token (after a Basic handshake) when auth is on."""
        import pyarrow.flight as flight

        if not self.auth:
            return flight.FlightCallOptions()
        header = client.authenticate_basic_token(USER.encode(), PASSWORD.encode())
        return flight.FlightCallOptions(headers=[header])


@pytest.fixture(scope="session")
def make_server(
    tls_files: tuple[Path, Path], users_file: Path
) -> Iterator[Callable[..., Running]]:
    started: list[FlightSqlServer] = []

    def start(registry: Path, *, tls: bool = False, auth: bool = False, **config: Any) -> Running:
        cert, key = tls_files
        server = FlightSqlServer(
            ServerConfig(
                registry=registry,
                port=0,
                tls_cert=cert if tls else None,
                tls_key=key if tls else None,
                users_file=users_file if auth else None,
                **config,
            )
        )
        started.append(server)
        return Running(server, tls, auth, cert.read_text() if tls else None)

    yield start
    for server in started:
        server.close()


@pytest.fixture(scope="session")
def efs_server(make_server: Callable[..., Running], efs_dir: Path) -> Running:
    """Plaintext, no auth, over the dsgrid-built fixture."""
    return make_server(efs_dir)


@pytest.fixture(scope="session")
def secure_server(make_server: Callable[..., Running], efs_dir: Path) -> Running:
    """TLS and auth over the dsgrid-built fixture."""
    return make_server(efs_dir, tls=True, auth=True)
