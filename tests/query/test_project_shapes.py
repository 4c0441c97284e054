"""What real projects add, beyond the numbers test_dsgrid_shapes compares with dsgrid: growth
rates kept out of `data`, projections with other base years and methods (against an
independent computation from the mapped inputs), time filters and pushdown on zoned time,
and clear errors for every wrong projected() call. Both engines."""

from __future__ import annotations

import math

import pytest

from dsgrid_sql.errors import DsgridSqlError
from dsgrid_sql.session import Session

GROWTH = "dsgrid_demo_growth"
INITIAL = "dsgrid_demo_residential"
KEYS = ("geography", "sector", "subsector", "metric", "weather_year", "scenario")


def rows(session: Session, sql: str) -> list[dict]:
    return session.sql(sql).to_arrow().to_pylist()


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def test_growth_rates_are_never_stacked_into_data(case_sessions: dict[str, Session]) -> None:
    session = case_sessions["projection"]
    stacked = {r["dataset_id"] for r in rows(session, "SELECT DISTINCT dataset_id FROM data")}
    assert stacked == {INITIAL}
    qualifiers = {
        r["dataset_id"]: r["qualifier_type"]
        for r in rows(session, "SELECT dataset_id, qualifier_type FROM registry.datasets")
    }
    assert qualifiers == {INITIAL: "quantity", GROWTH: "growth_rate"}
    columns = [r["column_name"] for r in rows(session, f"DESCRIBE {GROWTH}")]
    assert "timestamp" not in columns and "local_timestamp" not in columns
    assert "value" in columns and "us_states" in columns
    growth = rows(session, f"SELECT COUNT(*) AS n, MIN(value) AS lo FROM {GROWTH}")[0]
    assert growth["n"] > 0 and -0.01 < growth["lo"] < 0.03  # rates, not energy


def _independent_projection(
    session: Session, base_year: int, method: str
) -> dict[tuple[str, str, str], float]:
    """The projection from its two mapped inputs, joined in Python: totals by geography,
    metric and model year."""
    initial = rows(session, f"SELECT {', '.join(KEYS)}, model_year, value FROM {INITIAL}")
    rates: dict[tuple, dict[str, float]] = {}
    for r in rows(session, f"SELECT {', '.join(KEYS)}, model_year, value FROM {GROWTH}"):
        rates.setdefault(tuple(r[k] for k in KEYS), {})[r["model_year"]] = r["value"]
    totals: dict[tuple[str, str, str], float] = {}
    for r in initial:
        key = tuple(r[k] for k in KEYS)
        for year, rate in rates.get(key, {}).items():
            if method == "exponential_growth":
                if r["model_year"] != str(base_year):
                    continue
                value = r["value"] * (1 + rate) ** (int(year) - base_year)
            elif year == r["model_year"]:
                value = r["value"] * rate
            else:
                continue
            out = (r["geography"], r["metric"], year)
            totals[out] = totals.get(out, 0.0) + value
    return totals


@pytest.mark.parametrize(
    ("arguments", "base_year", "method"),
    [
        ("base_year => 2030", 2030, "exponential_growth"),
        ("2030, 'exponential_growth'", 2030, "exponential_growth"),
        ("method => 'annual_multiplier'", 2020, "annual_multiplier"),
    ],
)
def test_projection_equals_its_inputs_combined(
    case_sessions: dict[str, Session], arguments: str, base_year: int, method: str
) -> None:
    session = case_sessions["projection"]
    got = {
        (r["geography"], r["metric"], r["model_year"]): r["v"]
        for r in rows(
            session,
            f"SELECT geography, metric, model_year, SUM(value) AS v "
            f"FROM dsgrid_demo.projected('{INITIAL}', '{GROWTH}', {arguments}) GROUP BY ALL",
        )
    }
    expected = _independent_projection(session, base_year, method)
    assert got.keys() == expected.keys()
    assert all(close(got[k], v) for k, v in expected.items())


def test_projection_takes_supplementals_filters_and_names(
    case_sessions: dict[str, Session],
) -> None:
    session = case_sessions["projection"]
    by_state = rows(
        session,
        f"SELECT us_states, model_year_name, SUM(value) AS v FROM projected('{INITIAL}', "
        f"'{GROWTH}') AS p WHERE p.model_year = '2040' AND metric = 'cooling' GROUP BY ALL",
    )
    total = rows(
        session,
        f"SELECT SUM(value) AS v FROM projected('{INITIAL}', '{GROWTH}') "
        "WHERE model_year = '2040' AND metric = 'cooling'",
    )[0]["v"]
    assert {r["model_year_name"] for r in by_state} == {"2040"}
    assert close(sum(r["v"] for r in by_state), total)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (f"projected('{INITIAL}', 'dsgrid_demo_growht')", "Did you mean 'dsgrid_demo_growth'"),
        (f"projected('{GROWTH}', '{INITIAL}')", "the first argument of projected() is the"),
        (f"projected('{INITIAL}', '{INITIAL}')", "is a quantity dataset with time"),
        (f"projected('{INITIAL}', '{GROWTH}', base_year => 2025)", "base_year 2025 is not"),
        (f"projected('{INITIAL}', '{GROWTH}', method => 'linear')", "Unknown construction"),
        (f"projected('{INITIAL}', '{GROWTH}', base => 2020)", "has no argument 'base'"),
        (f"projected('{INITIAL}')", "needs the initial-value dataset and the growth-rate"),
        (f"projected('{INITIAL}', '{GROWTH}', 2020, 'x', 1)", "at most four arguments"),
        (f"projected('{INITIAL}', '{GROWTH}', base_year => 'soon')", "must be a year"),
    ],
)
def test_wrong_projections_are_one_clear_sentence(
    case_sessions: dict[str, Session], call: str, message: str
) -> None:
    with pytest.raises(DsgridSqlError) as info:
        case_sessions["projection"].sql(f"SELECT COUNT(*) FROM {call}")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


ZONED = ("dsgrid_demo_ev_rep_week", "dsgrid_demo_industry_index_pe")


@pytest.mark.parametrize("table", ZONED)
def test_zoned_time_summed_equals_spread(case_sessions: dict[str, Session], table: str) -> None:
    """A sum that reads no time uses one row per stored period (× how many project hours it
    stands for); reading time keeps the hourly rows. Both give the same totals."""
    session = case_sessions["shapes"]
    summed = rows(session, f"SELECT scenario, SUM(value) AS v FROM {table} GROUP BY ALL")
    spread = rows(
        session,
        f"SELECT scenario, SUM(CASE WHEN timestamp IS NOT NULL THEN value END) AS v "
        f"FROM {table} GROUP BY ALL",
    )
    assert "summed over the project timestamps" in session.explain(
        f"SELECT SUM(value) FROM {table}"
    )
    by_scenario = {r["scenario"]: r["v"] for r in spread}
    assert {r["scenario"] for r in summed} == set(by_scenario)
    assert all(close(r["v"], by_scenario[r["scenario"]]) for r in summed)


@pytest.mark.parametrize("table", ZONED)
def test_zoned_time_filters_and_local_time(case_sessions: dict[str, Session], table: str) -> None:
    session = case_sessions["shapes"]
    query = (
        f"SELECT EXTRACT(hour FROM local_timestamp) AS h, SUM(value) AS v FROM {table} "
        "WHERE geography = '04001' AND timestamp >= TIMESTAMPTZ '2018-07-01 00:00:00+00' "
        "AND timestamp < TIMESTAMPTZ '2018-07-02 00:00:00+00' GROUP BY ALL"
    )
    pushed = {r["h"]: r["v"] for r in rows(session, query)}
    assert sorted(pushed) == list(range(24))  # one Phoenix day, every local hour
    session.set("pushdown", "off")
    try:
        unpushed = {r["h"]: r["v"] for r in rows(session, query)}
    finally:
        session.set("pushdown", "on")
    assert pushed.keys() == unpushed.keys()
    assert all(close(pushed[h], unpushed[h]) for h in pushed)
