"""TLS options for the server: a certificate and key, and optionally a CA whose client
certificates are required (mutual TLS)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.flight as flight

from dsgrid_sql.errors import DsgridSqlError

from .config import ServerConfig


class TlsConfigError(DsgridSqlError):
    code = "tls_config"


def _read(path: str | Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise TlsConfigError(f"The TLS {what} '{path}' cannot be read: {exc.strerror}.") from None


def server_options(config: ServerConfig) -> dict[str, Any]:
    """Keyword arguments for ``FlightServerBase`` (none for plaintext)."""
    if config.tls_cert is None and config.tls_key is None:
        if config.tls_client_ca is not None:
            raise TlsConfigError("Client certificate checks need --tls-cert and --tls-key.")
        return {}
    if config.tls_cert is None or config.tls_key is None:
        raise TlsConfigError("TLS needs both a certificate (--tls-cert) and a key (--tls-key).")
    options: dict[str, Any] = {
        "tls_certificates": [
            flight.CertKeyPair(_read(config.tls_cert, "certificate"), _read(config.tls_key, "key"))
        ]
    }
    if config.tls_client_ca is not None:
        options["verify_client"] = True
        options["root_certificates"] = _read(config.tls_client_ca, "client CA")
    return options
