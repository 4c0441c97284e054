"""The HTTP API served by uvicorn on a thread of the server process, beside Flight SQL.

The socket is bound here, before uvicorn starts, so port 0 gives a known free port at once
and a port in use is one clear error, not a log line on another thread.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dsgrid_sql.errors import DsgridSqlError
from dsgrid_sql.service.core import ServerCore

if TYPE_CHECKING:
    from .app import Extension

log = logging.getLogger("dsgrid_sql.http")


class HttpServerError(DsgridSqlError):
    code = "http_server"


class HttpServer:
    def __init__(
        self,
        core: ServerCore,
        host: str = "127.0.0.1",
        port: int = 0,
        extensions: Sequence[Extension] = (),
    ) -> None:
        import uvicorn

        from .app import create_app

        config = core.config
        self.core = core
        self.host = host
        self._socket = _bind(host, port)
        self.port = self._socket.getsockname()[1]
        options: dict[str, Any] = {}
        if config.tls_cert:
            options.update(ssl_certfile=str(config.tls_cert), ssl_keyfile=str(config.tls_key))
            if config.tls_client_ca:
                options.update(
                    ssl_ca_certs=str(config.tls_client_ca), ssl_cert_reqs=ssl.CERT_REQUIRED
                )
        self._uvicorn = uvicorn.Server(
            uvicorn.Config(
                create_app(core, extensions),
                log_level="warning",
                access_log=False,
                # Streams of big results wait on slow clients; keep idle connections short.
                timeout_keep_alive=15,
                lifespan="off",
                **options,
            )
        )
        self._thread = threading.Thread(target=self._serve, name="dsgrid-sql-http", daemon=True)
        self._thread.start()
        while not self._uvicorn.started:
            if not self._thread.is_alive():
                raise HttpServerError(
                    f"The HTTP server on {host}:{self.port} could not start; see the log."
                )
            self._thread.join(0.02)

    @property
    def url(self) -> str:
        scheme = "https" if self.core.config.tls_cert else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def _serve(self) -> None:
        try:
            asyncio.run(self._uvicorn.serve(sockets=[self._socket]))
        except Exception:
            log.exception("The HTTP server stopped")

    def close(self) -> None:
        self._uvicorn.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it (Linux): a streamed answer's small last chunk is sent
    # at once, not held ~40 ms by Nagle's algorithm waiting for the client's delayed ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = (
            "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc.strerror})"
        )
        raise HttpServerError(f"The HTTP address {host}:{port} {reason}.") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock
