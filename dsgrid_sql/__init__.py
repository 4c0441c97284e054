"""dsgrid-sql: a SQL gateway over dsgrid registries."""

from __future__ import annotations

from .errors import DsgridSqlError
from .version import __version__

__all__ = ["DsgridSqlError", "__version__"]
