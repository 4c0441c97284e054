"""Which queries may sum annual data instead of spreading it over every project hour
(rewrite/summed.py). Results are checked against dsgrid's rule in
tests/query/test_mapping_rules.py; here, the decision and the plan it gives."""

from __future__ import annotations

import pytest

from dsgrid_sql.catalog import Catalog
from dsgrid_sql.rewrite.dataset_plan import DatasetPlan
from dsgrid_sql.rewrite.translate import Translation, translate

P = "dsgrid_demo"
EV = f"{P}_ev_annual"
M = f"{P}_dimensions.metric"

SUMMED = [
    f"SELECT SUM(value) FROM {P}.data",
    f"SELECT us_states, metric, SUM(value) AS v FROM {P}.data WHERE model_year = '2030' "
    "GROUP BY ALL",
    f"SELECT us_states, SUM(CASE WHEN scenario = 'reference' THEN value ELSE -value END) "
    f"FROM {P}.data GROUP BY 1",
    f"SELECT metric, SUM(value * 2) / 1000, SUM(value / 3.6 - value) FROM {P}.data GROUP BY 1",
    f"SELECT metric, SUM(IF(sector = 'res', value, NULL)) FROM {P}.data GROUP BY 1",
    f"SELECT metric, SUM(CASE metric WHEN 'fans' THEN 0 ELSE value END) FROM {P}.data GROUP BY 1",
    f"SELECT metric, SUM(COALESCE(value, 0)), SUM(CAST(value AS DOUBLE)) FROM {P}.data GROUP BY 1",
    f"SELECT metric, MIN(model_year), MAX(geography), SUM(value) FROM {P}.data GROUP BY 1",
    f"SELECT metric, SUM(value) AS v FROM {P}.data GROUP BY 1 HAVING SUM(value) > 0 "
    "ORDER BY v DESC LIMIT 3",
    f"SELECT model_year, SUM(value) FROM {P}.{EV} GROUP BY ROLLUP (model_year)",
    f"SELECT end_uses_by_fuel_type, unit, model_year, SUM(value) FROM {P}.data GROUP BY ALL",
    f"SELECT geography_name, SUM(value) FROM {P}.{EV} GROUP BY 1",
    # The aggregating SELECT is a CTE's; what reads the CTE does not matter.
    f"WITH t AS (SELECT metric, SUM(value) AS v FROM {P}.data GROUP BY 1) "
    "SELECT metric, v / 2, COUNT(*) OVER () FROM t",
    # Window functions of an aggregating SELECT see its groups, not the table's rows.
    f"SELECT metric, SUM(value), SUM(SUM(value)) OVER () FROM {P}.data GROUP BY 1",
    f"SELECT metric, RANK() OVER (ORDER BY SUM(value) DESC), COUNT(*) OVER () "
    f"FROM {P}.data GROUP BY 1",
]

SPREAD = [
    # Row counts and other aggregates see the copies.
    f"SELECT metric, COUNT(*) FROM {P}.data GROUP BY 1",
    f"SELECT metric, COUNT(value), SUM(value) FROM {P}.data GROUP BY 1",
    f"SELECT metric, AVG(value) FROM {P}.data GROUP BY 1",
    f"SELECT metric, MIN(value) FROM {P}.data GROUP BY 1",
    f"SELECT metric, SUM(DISTINCT value) FROM {P}.data GROUP BY 1",
    f"SELECT metric, SUM(1) FROM {P}.data GROUP BY 1",
    f"SELECT metric, STDDEV(value) FROM {P}.data GROUP BY 1",
    f"SELECT metric, fsum(value) FROM {P}.data GROUP BY 1",
    # Not linear in value.
    f"SELECT metric, SUM(value + 1) FROM {P}.data GROUP BY 1",
    f"SELECT metric, SUM(value * value) FROM {P}.data GROUP BY 1",
    f"SELECT metric, SUM(ABS(value)) FROM {P}.data GROUP BY 1",
    f"SELECT metric, SUM(CASE WHEN value > 1 THEN value END) FROM {P}.data GROUP BY 1",
    f"SELECT metric, SUM(CASE WHEN sector = 'res' THEN value ELSE 1 END) FROM {P}.data GROUP BY 1",
    f"SELECT metric, SUM(1 / value) FROM {P}.data GROUP BY 1",
    f"SELECT metric, SUM(CAST(value AS INT)) FROM {P}.data GROUP BY 1",
    # value read outside a sum.
    f"SELECT metric, SUM(value) FROM {P}.data WHERE value > 0 GROUP BY 1",
    f"SELECT metric, value, SUM(value) FROM {P}.data GROUP BY 1, 2",
    f"SELECT metric, SUM(value) FILTER (WHERE value > 0) FROM {P}.data GROUP BY 1",
    # Time read: every copy has its own timestamp.
    f"SELECT timestamp, SUM(value) FROM {P}.data GROUP BY 1",
    f"SELECT metric, SUM(value) FROM {P}.data WHERE timestamp > '2018-01-02' GROUP BY 1",
    f"SELECT metric, MAX(local_timestamp), SUM(value) FROM {P}.data GROUP BY 1",
    # Not an aggregate over the table itself.
    f"SELECT * FROM {P}.{EV}",
    f"SELECT metric, SUM(value) FROM (SELECT * FROM {P}.data) AS d GROUP BY 1",
    f"SELECT metric, SUM(value) OVER (PARTITION BY metric) FROM {P}.data",
    f"SELECT metric, SUM(value), AVG(value) OVER () FROM {P}.data GROUP BY 1, value",
    # Joined: the other side's rows counted, or summed, or paired by position or nearness,
    # or a query reading this table's rows (correlated), or another data table.
    f"SELECT d.metric, COUNT(*) FROM {P}.data d JOIN {M} m ON d.metric = m.id GROUP BY 1",
    f"SELECT d.metric, SUM(d.value), SUM(LENGTH(m.name)) FROM {P}.data d "
    f"JOIN {M} m ON d.metric = m.id GROUP BY 1",
    f"SELECT d.metric, SUM(d.value) FROM {P}.data d ASOF JOIN {M} m ON d.metric >= m.id "
    "GROUP BY 1",
    f"SELECT d.metric, SUM(d.value) FROM {P}.data d POSITIONAL JOIN {M} m GROUP BY 1",
    f"SELECT metric, SUM(value) FROM {P}.data d "
    f"WHERE EXISTS (SELECT 1 FROM {M} m WHERE m.id = d.metric) GROUP BY 1",
    # Correlated two levels down, beside a table of the same alias deeper still.
    f"SELECT metric, SUM(value) FROM {P}.data d WHERE EXISTS (SELECT 1 FROM {M} m "
    f"WHERE m.id = d.metric AND EXISTS (SELECT 1 FROM {P}.{EV} d WHERE d.metric = m.id)) "
    "GROUP BY 1",
    f"SELECT d.metric, SUM(d.value) FROM {P}.data d JOIN {P}.data e ON d.metric = e.metric "
    "GROUP BY 1",
    f"SELECT d.metric, d.value FROM {P}.data d JOIN {M} m ON d.metric = m.id",
]
# Joined with a dimension table, a CTE or a subquery, or filtered by a query that does not
# read its rows: each row meets the same rows of the other side whatever rows share its
# values, so the table's rows may be summed first (the annual rows summed, not spread).
JOINED = [
    f"SELECT d.metric, SUM(d.value) FROM {P}.data d JOIN {M} m ON d.metric = m.id GROUP BY 1",
    f"SELECT d.metric, m.name, SUM(d.value * 2) FROM {P}.data d "
    f"LEFT JOIN {M} m ON d.metric = m.id GROUP BY 1, 2",
    f"SELECT metric, SUM(value) FROM {P}.data "
    f"WHERE metric IN (SELECT id FROM {M} WHERE name LIKE 'c%') GROUP BY 1",
    f"SELECT metric, SUM(value) FROM {P}.data GROUP BY 1 "
    f"HAVING SUM(value) > (SELECT COUNT(*) FROM {P}.{EV})",
    f"WITH top AS (SELECT metric FROM {P}.data GROUP BY 1 ORDER BY SUM(value) DESC LIMIT 2) "
    f"SELECT d.metric, d.us_states, SUM(d.value) FROM {P}.data d JOIN top t "
    "ON d.metric = t.metric GROUP BY 1, 2",
    f"SELECT d.metric, SUM(d.value * t.k) FROM {P}.data d "
    "CROSS JOIN (SELECT 1 AS k UNION ALL SELECT 2) AS t GROUP BY 1",
]


def _ev_plan(translation: Translation) -> DatasetPlan:
    plans = [d for p in translation.plans for d in p.datasets if d.dataset_id == EV]
    assert plans, "the annual dataset is not in the plan"
    return plans[0]


@pytest.mark.parametrize("sql", SUMMED)
def test_only_summed_queries_sum_the_annual_rows(small_catalog: Catalog, sql: str) -> None:
    for target in ("duckdb", "spark"):
        translation = translate(sql, small_catalog, target=target)
        plan = _ev_plan(translation)
        assert plan.spread_summed
        assert "CROSS JOIN" not in translation.sql
        assert not any(i.name.startswith("__dsgrid_time_") for i in plan.inputs)


@pytest.mark.parametrize("sql", SPREAD)
def test_other_queries_spread_annual_rows_over_every_hour(
    small_catalog: Catalog, sql: str
) -> None:
    translation = translate(sql, small_catalog)
    plan = _ev_plan(translation)
    assert not plan.spread_summed
    assert "CROSS JOIN" in translation.sql


@pytest.mark.parametrize("sql", JOINED)
def test_a_table_joined_or_filtered_by_a_query_is_summed_first(
    small_catalog: Catalog, sql: str
) -> None:
    for target in ("duckdb", "spark"):
        translation = translate(sql, small_catalog, target=target)
        # The outer reference to data comes first; a query nested in it plans its own.
        assert _ev_plan(translation).spread_summed


def test_a_query_shape_keeps_its_own_plan(small_catalog: Catalog) -> None:
    """The plan cache tells a summed shape from a spread one with the same columns."""
    summed = translate(f"SELECT metric, SUM(value) FROM {P}.data GROUP BY 1", small_catalog)
    spread = translate(f"SELECT metric, COUNT(value) FROM {P}.data GROUP BY 1", small_catalog)
    assert _ev_plan(summed).spread_summed
    assert not _ev_plan(spread).spread_summed
    # Another text of the same shape (the same text would be a remembered translation).
    again = translate(
        f"SELECT metric, SUM(value) AS total FROM {P}.data GROUP BY 1", small_catalog
    )
    assert again.plans[0] is summed.plans[0]


def test_a_very_long_sum_still_translates(small_catalog: Catalog) -> None:
    """Deciding must not fail a query the engines run: past Python's recursion limit the
    decision is the literal spread (DuckDB itself takes expressions up to 1,000 deep)."""
    sql = f"SELECT metric, SUM(value{' + 0' * 900}) FROM {P}.data GROUP BY 1"
    translation = translate(sql, small_catalog)
    assert not _ev_plan(translation).spread_summed
    short = f"SELECT metric, SUM(value{' + 0' * 100}) FROM {P}.data GROUP BY 1"
    assert _ev_plan(translate(short, small_catalog)).spread_summed
