"""The functions each engine offers a query: read from functions.json, which
tools/function_catalog.py derives from the engines' own function catalogs (every pure
function: deterministic or reading the clock, no side effects, nothing outside the data).

No engine is started to know them; tests/rewrite/test_function_catalog.py checks the file
against both engines.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ENGINES = ("duckdb", "spark")
ENGINE_TITLES = {"duckdb": "DuckDB", "spark": "Spark"}
_SPARK_DIALECTS = {"spark", "spark2", "databricks", "hive"}


def engine_of_dialect(dialect: str) -> str | None:
    """The engine whose functions an input dialect names: Spark SQL's are Spark's, the
    default (DuckDB/ANSI) dialect's DuckDB's; other dialects (postgres, trino, ...) are no
    engine's own, and only the target engine's list applies to them."""
    if dialect in _SPARK_DIALECTS:
        return "spark"
    if dialect in ("duckdb", "", "ansi"):
        return "duckdb"
    return None


_OVERRIDE: list[dict[str, Any]] = []


def _catalog() -> dict[str, Any]:
    return _OVERRIDE[-1] if _OVERRIDE else _committed()


@functools.cache
def _committed() -> dict[str, Any]:
    return json.loads((Path(__file__).with_name("functions.json")).read_text())


@contextlib.contextmanager
def override(catalog: dict[str, Any]) -> Iterator[None]:
    """Use another catalog for a while (tools/function_catalog.py, while it checks one)."""
    _OVERRIDE.append(catalog)
    names.cache_clear()
    try:
        yield
    finally:
        _OVERRIDE.pop()
        names.cache_clear()


def verified() -> bool:
    """Whether the catalog records which functions give equal results on both engines."""
    return bool(_catalog().get("verified"))


def on_other_engine(source: str, name: str, target: str) -> str | None:
    """'equal' when the source engine's function gives the same results on the target engine
    (checked on its example), 'differs' when it does not, None when unknown."""
    entry = info(source, name)
    return None if entry is None else entry.get(target)


def catalog_version(engine: str) -> str:
    return str(_catalog()[engine]["version"])


def allowed(engine: str, name: str) -> bool:
    return name.lower() in _catalog()[engine]["functions"]


def info(engine: str, name: str) -> dict[str, Any] | None:
    return _catalog()[engine]["functions"].get(name.lower())


def refusal(engine: str, name: str) -> str | None:
    """Why the engine's function ``name`` is not allowed (None when it is, or is unknown)."""
    return _catalog()[engine]["refused"].get(name.lower())


def is_clock(engine: str, name: str) -> bool:
    entry = info(engine, name)
    return bool(entry and entry.get("clock"))


@functools.cache
def names(engine: str, group: str | None = None) -> tuple[str, ...]:
    """The allowed function names of an engine, all or one group's (JDBC's numeric, string,
    datetime, system; and aggregate, window, array)."""
    functions = _catalog()[engine]["functions"]
    return tuple(
        sorted(n for n, entry in functions.items() if group is None or entry.get("group") == group)
    )


def functions(engine: str) -> dict[str, dict[str, Any]]:
    return dict(_catalog()[engine]["functions"])
