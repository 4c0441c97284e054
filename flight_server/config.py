"""The server's settings live one layer down (service/config.py), shared by every front end
of ``dsgrid-sql serve``; Flight reads them from there."""

from __future__ import annotations

from dsgrid_sql.service.config import DEFAULT_PORT, ServerConfig

__all__ = ["DEFAULT_PORT", "ServerConfig"]
