"""Sessions on both engines. Spark starts once per test run (it takes seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
