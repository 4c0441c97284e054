"""The shapes of real projects through Flight SQL and ADBC: representative-period and index
time, a projection, time zones and local standard time answer as in-process, and a wrong
projection reaches the client as the same sentence."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest

import dsgrid_sql
from dsgrid_sql.generator import GeneratorSpec, generate_registry

from .conftest import Running

QUERIES = (
    "SELECT us_states, model_year, SUM(value) AS v FROM dsgrid_demo_ev_rep_week GROUP BY ALL",
    "SELECT geography, local_standard_timestamp AS t, SUM(value) AS v "
    "FROM dsgrid_demo_industry_index GROUP BY ALL",
    "SELECT EXTRACT(hour FROM timestamp AT TIME ZONE 'America/Denver') AS h, SUM(value) AS v "
    "FROM data GROUP BY ALL",
    "SELECT model_year, SUM(value) AS v FROM projected('dsgrid_demo_residential', "
    "'dsgrid_demo_growth', base_year => 2030) GROUP BY ALL",
)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = GeneratorSpec(
        counties=4,
        hours=48,
        templates=("residential", "ev_rep_week", "industry_index", "growth"),
    )
    return generate_registry(tmp_path_factory.mktemp("shapes") / "reg", spec).path


@pytest.fixture(scope="module")
def server(make_server: Callable[..., Running], registry: Path) -> Running:
    return make_server(registry)


def _rows(table) -> dict[tuple, float]:  # type: ignore[no-untyped-def]
    keys = [c for c in table.column_names if c != "v"]
    return {tuple(str(r[k]) for k in keys): r["v"] for r in table.to_pylist()}


@pytest.mark.parametrize("sql", QUERIES)
def test_answers_equal_in_process(server: Running, registry: Path, sql: str) -> None:
    import adbc_driver_flightsql.dbapi as flightsql

    with dsgrid_sql.connect(registry) as session:
        local = _rows(session.sql(sql).to_arrow())
    with flightsql.connect(server.uri, db_kwargs=server.adbc_kwargs(), autocommit=True) as conn:
        cursor = conn.cursor()
        cursor.execute(sql)
        remote = _rows(cursor.fetch_arrow_table())
        cursor.close()
    assert remote.keys() == local.keys() and remote
    assert all(math.isclose(remote[k], v, rel_tol=1e-12) for k, v in local.items())


def test_a_wrong_projection_is_the_same_sentence(server: Running) -> None:
    import adbc_driver_flightsql.dbapi as flightsql

    with flightsql.connect(server.uri, db_kwargs=server.adbc_kwargs(), autocommit=True) as conn:
        cursor = conn.cursor()
        with pytest.raises(Exception) as error:
            cursor.execute(
                "SELECT * FROM projected('dsgrid_demo_growth', 'dsgrid_demo_residential')"
            )
        cursor.close()
    assert "the first argument of projected() is the initial-value dataset" in str(error.value)
