"""Engines run engine SQL over registered inputs and return Arrow.

Two engines, one small interface: DuckDB in-process (the default) and Spark (local mode, a
cluster master URL, or Spark Connect). ``DSGRID_BACKEND_ENGINE`` chooses the default, as it
does in dsgrid.
"""

from __future__ import annotations

import os
from typing import Any

from dsgrid_sql.errors import DsgridSqlError
from dsgrid_sql.rewrite import TARGETS

from .base import Engine

# One engine per SQL target the rewrite generates.
ENGINES = TARGETS


def default_engine_name() -> str:
    name = os.environ.get("DSGRID_BACKEND_ENGINE", "duckdb").strip().lower() or "duckdb"
    return name


def make_engine(name: str | None = None, **options: Any) -> Engine:
    name = (name or default_engine_name()).lower()
    if name == "duckdb":
        from .duckdb import DuckDBEngine

        return DuckDBEngine(**{k: v for k, v in options.items() if k in DuckDBEngine.OPTIONS})
    if name == "spark":
        from .spark import SparkEngine

        return SparkEngine(**{k: v for k, v in options.items() if k in SparkEngine.OPTIONS})
    raise DsgridSqlError(
        f"Unknown engine '{name}'.", hint=f"Engines: {', '.join(ENGINES)} (DSGRID_BACKEND_ENGINE)."
    )


__all__ = ["ENGINES", "Engine", "default_engine_name", "make_engine"]
