"""dsgrid-sql: a SQL gateway over dsgrid registries.

>>> import dsgrid_sql
>>> session = dsgrid_sql.connect("path/to/registry.db")  # doctest: +SKIP
>>> sql = "SELECT us_states, SUM(value) FROM data GROUP BY ALL"
>>> session.sql(sql).to_pandas()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from .errors import DsgridSqlError
from .version import __version__

__all__ = ["DsgridSqlError", "Result", "Session", "__version__", "connect", "reproduce"]


def __getattr__(name: str) -> Any:
    # The session pulls in sqlglot and DuckDB; load it on first use so the CLI's --help and
    # the catalog stay quick to import.
    if name in ("connect", "Session", "Result"):
        from . import session

        return getattr(session, name)
    if name == "reproduce":
        from .reproduction import reproduce

        return reproduce
    raise AttributeError(f"module 'dsgrid_sql' has no attribute {name!r}")
