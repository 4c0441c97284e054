"""Sessions on both engines. Spark starts once per test run (it takes seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

import dsgrid_sql
from dsgrid_sql.session import Session

ENGINES = ["duckdb", "spark"]


@pytest.fixture(scope="session", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def efs_session(efs_dir: Path, engine: str) -> Iterator[Session]:
    with dsgrid_sql.connect(efs_dir, engine=engine) as session:
        yield session


@pytest.fixture(scope="session")
def efs_duckdb(efs_dir: Path) -> Iterator[Session]:
    with dsgrid_sql.connect(efs_dir, engine="duckdb") as session:
        yield session


@pytest.fixture(scope="session")
def small_session(small_registry: Path, engine: str) -> Iterator[Session]:
    with dsgrid_sql.connect(small_registry, engine=engine) as session:
        yield session


def sorted_rows(table: pa.Table, keys: list[str] | None = None) -> list[dict]:
    """Rows in a deterministic order (results have no order without ORDER BY)."""
    keys = keys or [n for n in table.column_names if n != "value"]
    return sorted(table.to_pylist(), key=lambda r: tuple(str(r[k]) for k in keys))


def assert_close(actual: float, expected: float, rel: float = 1e-9) -> None:
    assert actual == pytest.approx(expected, rel=rel, abs=1e-12), (actual, expected)
