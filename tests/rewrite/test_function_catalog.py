"""The functions a query may call come from the engines' own catalogs (issue 23):
dsgrid_sql/rewrite/functions.json, written by tools/function_catalog.py, must say what DuckDB
and Spark report today, and the README's coverage table what the allowlist lets through."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import dsgrid_sql
from dsgrid_sql.errors import DsgridSqlError
from dsgrid_sql.rewrite import functions

REPO = Path(__file__).resolve().parents[2]
STALE = "functions.json is stale: run `python tools/function_catalog.py` and commit the file"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "function_catalog", REPO / "tools" / "function_catalog.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("function_catalog", module)
    spec.loader.exec_module(module)
    return module


TOOL = _tool()


def _same_lists(engine: str, report: dict[str, Any]) -> None:
    committed = functions._committed()[engine]
    assert report["version"] == committed["version"], STALE
    assert sorted(report["functions"]) == sorted(committed["functions"]), STALE
    assert report["refused"] == committed["refused"], STALE
    for name, entry in report["functions"].items():
        mine = committed["functions"][name]
        for key in ("kind", "clock", "probe"):
            assert entry.get(key) == mine.get(key), f"{name}.{key}: {STALE}"


def test_duckdb_functions_are_what_duckdb_reports() -> None:
    _same_lists("duckdb", TOOL.duckdb_report())


def test_spark_functions_are_what_spark_reports() -> None:
    from dsgrid_sql.engine.spark import spark_session

    _same_lists("spark", TOOL.spark_report(spark_session()))


def test_deny_lists_refuse_what_reaches_outside_the_data() -> None:
    committed = functions._committed()
    for name in ("current_setting", "getvariable", "version", "current_user", "user"):
        assert not functions.allowed("duckdb", name)
    assert committed["duckdb"]["refused"]["random"].startswith("impure")
    for name in ("reflect", "java_method", "input_file_name", "current_user", "xpath"):
        assert not functions.allowed("spark", name)
    assert committed["spark"]["refused"]["uuid"].startswith("impure")
    # Every denied name the engine has is refused for the family it was listed under.
    for engine, families in (("duckdb", TOOL.DUCKDB_DENIED), ("spark", TOOL.SPARK_DENIED)):
        refused = committed[engine]["refused"]
        for family, names in families.items():
            for name in names:
                assert name not in committed[engine]["functions"]
                if name in refused:
                    assert family in refused[name], (engine, name)


@pytest.fixture(scope="module")
def pair(small_registry: Path) -> Any:
    sessions = {
        (source, engine): dsgrid_sql.connect(small_registry, engine=engine, dialect=source)
        for source in functions.ENGINES
        for engine in functions.ENGINES
    }
    yield sessions
    for session in sessions.values():
        session.close()


# Every 12th function each way, and the everyday ones: their recorded verdict (equal on both
# engines, or not) is what running their example on both engines gives today.
EVERYDAY = {
    "duckdb": ["dayname", "monthname", "split_part", "md5", "time_bucket", "date_diff",
               "dayofweek", "isodow", "regexp_replace", "hash", "quantile_cont", "median"],
    "spark": ["dayname", "dayofweek", "percentile_cont", "datediff", "hash", "rank"],
}  # fmt: skip


def _sample(engine: str) -> list[str]:
    names = [n for n, e in functions.functions(engine).items() if e.get(_other(engine))]
    return sorted(set(names[::12]) | {n for n in EVERYDAY[engine] if n in names})


def _other(engine: str) -> str:
    return next(e for e in functions.ENGINES if e != engine)


@pytest.mark.parametrize("engine", functions.ENGINES)
def test_recorded_verdicts_hold_on_both_engines(pair: Any, engine: str) -> None:
    other = _other(engine)
    committed = functions._committed()
    unverified = {k: v for k, v in committed.items() if k != "verified"}
    wrong = []
    with functions.override(unverified):
        for name in _sample(engine):
            entry = committed[engine]["functions"][name]
            got = TOOL.verdict(pair[(engine, engine)], pair[(engine, other)], engine, name, entry)
            if got != entry.get(other):
                wrong.append((name, entry.get(other), got))
    assert wrong == [], STALE


def test_coverage_is_at_least_95_percent_and_published() -> None:
    table = TOOL.coverage_table()
    for engine in functions.ENGINES:
        for kind, (allowed, total) in TOOL.coverage(engine).items():
            assert allowed >= 0.95 * total, (engine, kind, allowed, total)
    readme = (REPO / "README.md").read_text()
    assert table in readme, (
        "README's function coverage table: run tools/function_catalog.py --coverage"
    )


def test_the_refusal_of_a_denied_function_says_why(small_registry: Path) -> None:
    with dsgrid_sql.connect(small_registry) as session:
        with pytest.raises(DsgridSqlError) as caught:
            session.sql("SELECT current_setting('threads') AS t")
        assert caught.value.message == (
            "Function 'current_setting' is not allowed: it reads the engine's state."
        )
        with pytest.raises(DsgridSqlError) as caught:
            session.sql("SELECT random() AS r")
        assert "not deterministic" in caught.value.message
        with pytest.raises(DsgridSqlError) as caught:
            session.sql("SELECT dayname_of(DATE '2024-01-01') AS d")
        assert caught.value.suggestion == "dayname"
        session.dialect = "duckdb"
        with pytest.raises(DsgridSqlError) as caught:
            session.sql("SELECT xxhash64('a') AS h")
        assert "SET dialect = 'spark'" in (caught.value.hint or "")
