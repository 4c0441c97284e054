"""The Arrow Flight SQL endpoint (``dsgrid-sql serve``), installed as
``dsgrid_sql.flight_server``.

BI tools, ADBC, JDBC, pandas and polars connect here; every query runs through the same
session as the REPL and the Python API. Modules: ``proto`` (messages in a private descriptor
pool), ``schemas`` and ``sqlinfo`` (what the specification fixes), ``metadata`` (the catalog
as Flight SQL metadata), ``state`` (sessions, handles, running queries), ``streaming``,
``auth``, ``tls``, ``status`` (errors as gRPC codes) and ``server`` (the RPCs).
"""

from __future__ import annotations

from typing import Any

__all__ = ["FlightSqlServer", "ServerConfig"]


def __getattr__(name: str) -> Any:
    # Lazy: importing the package must not start pyarrow.flight for users who never serve.
    if name == "FlightSqlServer":
        from . import server

        return getattr(server, name)
    if name == "ServerConfig":
        from .config import ServerConfig

        return ServerConfig
    raise AttributeError(name)
