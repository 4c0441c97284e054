"""Sessions on both engines. Spark starts once per test run (it takes seconds)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

import dsgrid_sql
from dsgrid_sql.generator import GeneratorSpec, generate_efs_like, generate_registry
from dsgrid_sql.session import Session

# Registries of the shapes real projects have, with dsgrid's own answers for them
# (tests/dsgrid_expected; test_dsgrid_shapes.py).
CASES_DIR = Path(__file__).resolve().parents[1] / "dsgrid_expected"
CASES = json.loads((CASES_DIR / "cases.json").read_text())

ENGINES = ["duckdb", "spark"]


def sorted_rows(table) -> list[tuple]:  # type: ignore[no-untyped-def]
    """A result's rows as tuples, in an order that does not depend on the plan."""
    rows = [tuple(r.values()) for r in table.to_pylist()]
    return sorted(rows, key=lambda r: tuple((x is None, str(x)) for x in r))


def assert_same_rows(on: list[tuple], off: list[tuple]) -> None:
    """Two plans' rows: keys exactly, sums at a relative 1e-9 (they add in other orders)."""
    assert len(on) == len(off)
    for a, b in zip(on, off, strict=True):
        for x, y in zip(a, b, strict=True):
            if isinstance(x, float) and isinstance(y, float):
                assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9), (a, b)
            else:
                assert x == y, (a, b)


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


@pytest.fixture(scope="module")
def demo(small_registry: Path, engine: str) -> Iterator[Session]:
    """The small registry, a session of each module's own: a module that changes a
    threshold of the rewrite does not meet another module's remembered translations."""
    with dsgrid_sql.connect(small_registry, engine=engine) as session:
        yield session


@pytest.fixture(scope="session")
def case_registries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("dsgrid_cases")
    registries = {}
    for name, spec in CASES["registries"].items():
        if spec.get("like") == "test_efs":
            registries[name] = generate_efs_like(root / name).path
        else:
            registries[name] = generate_registry(root / name, GeneratorSpec(**spec)).path
    return registries


@pytest.fixture(scope="session")
def case_sessions(case_registries: dict[str, Path], engine: str) -> Iterator[dict[str, Session]]:
    sessions = {n: dsgrid_sql.connect(p, engine=engine) for n, p in case_registries.items()}
    yield sessions
    for session in sessions.values():
        session.close()
