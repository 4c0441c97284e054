"""Aggregating before the mappings (dataset_plan._early_aggregate) never changes an answer.

Each query runs with ``aggregate_early`` on and off on both engines, over registries of every
shape — dsgrid's test_efs (two-table, one-to-many model years, unit conversion, period-ending
time), the generated demo (three fractional supplementals, annual EV data), representative
periods and index time (interpolated and not), growth-rate projections — and the rows must
be equal (relative 1e-9). The plans must show that the early aggregate was taken where the
query only sums, and not where it does not. dsgrid's own answers for summed queries are
compared in test_dsgrid_shapes.py / test_dsgrid_expected.py, which now run this plan.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlglot import exp

import dsgrid_sql
from dsgrid_sql.catalog import DimensionType
from dsgrid_sql.rewrite import dataset_plan
from dsgrid_sql.rewrite.dataset_plan import LOOKUP_ZONE
from dsgrid_sql.rewrite.time_mapping import DatetimeShift
from dsgrid_sql.session import Session

from .conftest import assert_same_rows, sorted_rows

EFS = [
    "SELECT us_states, metric, SUM(value) AS v FROM test_efs.data GROUP BY ALL",
    "SELECT five_year_intervals, us_census_divisions, subsectors_by_sector, SUM(value) AS v "
    "FROM test_efs.data GROUP BY ALL",
    "SELECT date_trunc('day', timestamp) AS day, metric, SUM(value) AS v "
    "FROM test_efs.data GROUP BY ALL",
    "SELECT geography, MAX(v) AS peak FROM (SELECT geography, timestamp, SUM(value) AS v "
    "FROM test_efs.data GROUP BY ALL) GROUP BY 1",
    "SELECT SUM(value) AS v FROM test_efs.test_efs_comstock",
    "SELECT dataset_id, SUM(value) AS v FROM test_efs.data GROUP BY 1",
    "SELECT dataset_id, model_year, SUM(value * 2) / 1000 AS v FROM test_efs.data "
    "WHERE us_states IN ('CA', 'TX') AND timestamp < '2012-01-03 00:00:00+00' GROUP BY ALL",
    "SELECT metric_name, unit, geography_name, time_zone, SUM(value) AS v "
    "FROM test_efs.data GROUP BY ALL",
    "SELECT us_states, SUM(value) AS v, RANK() OVER (ORDER BY SUM(value) DESC) AS r "
    "FROM test_efs.data GROUP BY 1",
    "SELECT CAST(local_timestamp AS DATE) AS day, SUM(value) AS v FROM test_efs.data GROUP BY 1",
    "SELECT commercial_subsectors, SUM(CASE WHEN metric = 'fans' THEN value ELSE -value END) "
    "AS v FROM test_efs.data GROUP BY 1",
]
DEMO = [
    "SELECT us_census_divisions, five_year_intervals, end_uses_by_fuel_type, SUM(value) AS v "
    "FROM dsgrid_demo.data GROUP BY ALL",
    "SELECT date_trunc('day', timestamp) AS day, sector, SUM(value) AS v "
    "FROM dsgrid_demo.data GROUP BY ALL",
    "SELECT geography, timestamp, SUM(value) AS v FROM dsgrid_demo.data GROUP BY ALL "
    "ORDER BY v DESC, geography, timestamp LIMIT 10",
    "SELECT model_year, timestamp, SUM(value) AS v FROM dsgrid_demo.dsgrid_demo_ev_annual "
    "GROUP BY ALL",
    "SELECT us_states, SUM(CASE WHEN scenario = 'high_electrification' THEN value "
    "ELSE -value END) AS v FROM dsgrid_demo.data WHERE model_year = '2030' GROUP BY 1",
    "SELECT dataset_id, building_types_by_sector, SUM(value) AS v FROM dsgrid_demo.data "
    "GROUP BY ALL",
    "SELECT local_standard_timestamp, SUM(value) AS v FROM dsgrid_demo.data "
    "WHERE us_states = 'CA' GROUP BY 1",
    # Filters that hold read columns to one value (constants, not group keys), the annual
    # EV data among them with time read and not.
    "SELECT geography, timestamp, model_year, scenario, SUM(value) AS v FROM dsgrid_demo.data "
    "WHERE model_year = '2030' AND scenario = 'reference' GROUP BY ALL "
    "ORDER BY v DESC, geography, timestamp LIMIT 10",
    "SELECT model_year, us_states, SUM(value) AS v FROM dsgrid_demo.data "
    "WHERE model_year = '2030' GROUP BY ALL",
    "SELECT model_year, scenario, SUM(value) AS v FROM dsgrid_demo.dsgrid_demo_ev_annual "
    "WHERE scenario = 'reference' GROUP BY ALL",
    # A filtered subset that some datasets have no record of.
    "SELECT us_states, model_year, SUM(value) AS v FROM dsgrid_demo.data "
    "WHERE subsector IN ('small_office', 'warehouse') AND metric = 'cooling' "
    "AND us_census_regions = 'south' GROUP BY ALL",
    # Joined with a dimension table, a CTE or a subquery, or filtered by a query: summed
    # before the join (each row meets the same rows of the other side).
    "SELECT g.time_zone, d.timestamp, SUM(d.value) AS v FROM dsgrid_demo.data d "
    "JOIN dsgrid_demo_dimensions.geography g ON d.geography = g.id "
    "WHERE d.model_year = '2030' GROUP BY ALL",
    "WITH top AS (SELECT scenario, timestamp FROM (SELECT scenario, timestamp, ROW_NUMBER() "
    "OVER (PARTITION BY scenario ORDER BY SUM(value) DESC) AS rn FROM dsgrid_demo.data "
    "GROUP BY scenario, timestamp) WHERE rn <= 3) SELECT d.scenario, d.timestamp, d.us_states, "
    "SUM(d.value) AS v FROM dsgrid_demo.data d JOIN top t ON d.scenario = t.scenario "
    "AND d.timestamp = t.timestamp GROUP BY ALL",
    "SELECT us_states, model_year, SUM(value) AS v FROM dsgrid_demo.data WHERE us_states IN "
    "(SELECT us_states FROM dsgrid_demo.data GROUP BY 1 ORDER BY SUM(value) DESC LIMIT 3) "
    "GROUP BY ALL",
    "SELECT d.metric, t.k, SUM(d.value * t.k) AS v FROM dsgrid_demo.data d "
    "LEFT JOIN (SELECT 'cooling' AS m, 2 AS k UNION ALL SELECT 'cooling', 3) AS t "
    "ON d.metric = t.m GROUP BY ALL",
]
SHAPES = [
    f"SELECT geography, date_trunc('month', timestamp) AS month, SUM(value) AS v FROM {d} "
    "GROUP BY ALL"
    for d in (
        "dsgrid_demo_ev_rep_week",
        "dsgrid_demo_ev_rep_weekday",
        "dsgrid_demo_industry_index",
        "dsgrid_demo_industry_index_pe",
    )
] + [
    "SELECT metric, us_states, SUM(value) AS v FROM dsgrid_demo.data GROUP BY ALL",
    "SELECT timestamp, SUM(value) AS v FROM dsgrid_demo_industry_index_pe "
    "WHERE CAST(timestamp AS DATE) = DATE '2018-11-04' GROUP BY 1",
    "SELECT CAST(local_timestamp AS DATE) AS day, metric, SUM(value) AS v "
    "FROM dsgrid_demo_ev_rep_weekday WHERE model_year = '2030' GROUP BY ALL",
]
# Zoned time read hour by hour, geography read only through supplementals (or not at all):
# summed by each row's zone first, the time lookup joined once per zone (zone_folded).
SHAPE_DATASETS = (
    "dsgrid_demo_ev_rep_week",  # the dataset's own zones
    "dsgrid_demo_ev_rep_weekday",  # the project's zones, through an identity geography map
    "dsgrid_demo_industry_index",
    "dsgrid_demo_industry_index_pe",  # interpolated: two stored hours feed one timestamp
)
ZONED_BY_HOUR = [
    f"SELECT timestamp, SUM(value) AS v FROM {d} "
    "WHERE us_states = 'CO' AND scenario = 'reference' GROUP BY 1"
    for d in SHAPE_DATASETS
] + [
    "SELECT us_census_regions, timestamp, SUM(value) AS v FROM dsgrid_demo.data GROUP BY ALL",
    "SELECT timestamp, SUM(value) AS v FROM dsgrid_demo_ev_rep_weekday "
    "WHERE timestamp BETWEEN '2018-03-10 00:00:00+00' AND '2018-03-13 00:00:00+00' GROUP BY 1",
    "SELECT time_zone, local_timestamp, SUM(value) AS v FROM dsgrid_demo_ev_rep_week "
    "WHERE us_states IN ('AZ', 'CO') GROUP BY ALL",
    "SELECT us_states_name, CAST(local_timestamp AS DATE) AS day, SUM(value) AS v "
    "FROM dsgrid_demo_industry_index_pe WHERE model_year = '2030' GROUP BY ALL",
]
PROJECTION = [
    "SELECT model_year, us_states, SUM(value) AS v "
    "FROM projected('dsgrid_demo_residential', 'dsgrid_demo_growth') GROUP BY ALL",
    "SELECT us_states, SUM(value) AS v FROM dsgrid_demo.data GROUP BY ALL",
]
# Not only sums: the literal plan either way.
NOT_SUMMED = [
    "SELECT metric, COUNT(*) AS n, SUM(value) AS v FROM test_efs.data GROUP BY 1",
    "SELECT metric, AVG(value) AS v FROM test_efs.data GROUP BY 1",
    "SELECT us_states, SUM(value) AS v FROM test_efs.data WHERE value > 1 GROUP BY 1",
]


@pytest.fixture(scope="module")
def sessions(
    efs_dir: Path, small_registry: Path, case_registries: dict[str, Path], engine: str
) -> Iterator[dict[str, Session]]:
    opened = {
        "efs": dsgrid_sql.connect(efs_dir, engine=engine),
        "demo": dsgrid_sql.connect(small_registry, engine=engine),
        "shapes": dsgrid_sql.connect(case_registries["shapes"], engine=engine),
        "projection": dsgrid_sql.connect(case_registries["projection"], engine=engine),
    }
    yield opened
    for session in opened.values():
        session.close()


def _both_ways(session: Session, sql: str) -> tuple[list[tuple], list[tuple], bool]:
    session.set("aggregate_early", "on")
    translation = session.translate(sql)
    early = [d.aggregated_over is not None for p in translation.plans for d in p.datasets]
    on = session.sql(sql).to_arrow()
    session.set("aggregate_early", "off")
    try:
        assert not any(
            d.aggregated_over is not None for p in session.translate(sql).plans for d in p.datasets
        )
        off = session.sql(sql).to_arrow()
    finally:
        session.set("aggregate_early", "on")
    assert on.schema == off.schema
    return sorted_rows(on), sorted_rows(off), all(early) and bool(early)


CASES = (
    [("efs", q) for q in EFS]
    + [("demo", q) for q in DEMO]
    + [("shapes", q) for q in SHAPES + ZONED_BY_HOUR]
    + [("projection", q) for q in PROJECTION]
)


@pytest.mark.parametrize(("registry", "sql"), CASES)
def test_the_same_rows_either_way(sessions: dict[str, Session], registry: str, sql: str) -> None:
    on, off, early = _both_ways(sessions[registry], sql)
    assert_same_rows(on, off)
    assert on, "the query returns rows"
    if "projected(" not in sql:
        assert early, "every dataset was aggregated before its mappings"


@pytest.mark.parametrize("sql", NOT_SUMMED)
def test_queries_that_do_not_only_sum_keep_the_literal_plan(
    sessions: dict[str, Session], sql: str
) -> None:
    on, off, early = _both_ways(sessions["efs"], sql)
    assert_same_rows(on, off)
    assert not early


def test_a_projection_keeps_its_keys(sessions: dict[str, Session]) -> None:
    """Growth rates multiply per key: a projection's inputs are never summed early."""
    translation = sessions["projection"].translate(PROJECTION[0])
    assert all(d.aggregated_over is None for p in translation.plans for d in p.datasets)


def test_the_plan_sums_over_exactly_the_columns_read(
    sessions: dict[str, Session], efs_dir: Path, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = sessions["efs"]
    sql = "SELECT us_states, SUM(value) FROM test_efs.data WHERE metric = 'fans' GROUP BY 1"
    for dataset in session.translate(sql).plans[0].datasets:
        # Time not read and few counties: summed by geography, then us_states joined to those
        # sums (_few_base_groups); metric, held to one record by the filter, is a constant,
        # not a group key.
        assert dataset.aggregated_over == ("geography",)
        assert dataset.folded == () and dataset.joined_after == ("us_states",)
        counties = dataset.dataset.dimensions[DimensionType.GEOGRAPHY].records
        assert dataset.base_groups == len(counties)
        assert dataset.constants == (("metric", "fans"),)
        # The one-to-many model-year mapping of a trivial column: one weight, 0.9 + … + 1.3;
        # the metric mapping (with its unit factors) weighs each row by its end use.
        assert [t.value for t in dataset.weighed] == ["subsector", "metric", "model_year"]
    assert "supplemental us_states: joined to the sums by its base column (about " in (
        session.explain(sql)
    )
    # Read through geography itself too: the supplemental is joined to the summed rows.
    both = session.translate(
        "SELECT geography, us_states, SUM(value) FROM test_efs.data GROUP BY ALL"
    )
    for dataset in both.plans[0].datasets:
        assert dataset.aggregated_over == ("geography",) and dataset.folded == ()
        assert dataset.joined_after == ()  # geography is a key anyway
    # Where the base column's groups would be many, us_states is summed by in place of
    # geography (its mapping composed in). A new session: plans are kept per catalog.
    monkeypatch.setattr(dataset_plan, "BASE_GROUPS_MAX", 0)
    with dsgrid_sql.connect(efs_dir, engine=engine) as folding:
        for dataset in folding.translate(sql).plans[0].datasets:
            assert dataset.aggregated_over == ("us_states",)
            assert dataset.folded == ("us_states",) and dataset.joined_after == ()
            assert dataset.constants == (("metric", "fans"),)
        explained = folding.explain("SELECT us_states, SUM(value) FROM test_efs.data GROUP BY 1")
        assert (
            "aggregated before mapping (the query only sums value): SUM(value) by us_states"
            in explained
        )


TIME_AND_FUEL = [
    "SELECT timestamp, end_uses_by_fuel_type, SUM(value) AS v FROM dsgrid_demo.data GROUP BY ALL",
    "SELECT date_trunc('month', timestamp) AS month, end_uses_by_fuel_type, SUM(value) AS v "
    "FROM dsgrid_demo.data WHERE model_year = '2030' GROUP BY ALL",
]


@pytest.mark.parametrize("sql", TIME_AND_FUEL)
def test_time_read_a_supplemental_of_few_records_is_joined_to_the_hourly_sums(
    small_registry: Path, engine: str, monkeypatch: pytest.MonkeyPatch, sql: str
) -> None:
    """A question by hour (or month) and fuel: the datasets with plain datetime time are
    summed by (metric, timestamp), a few metrics × the project's hours, and the fuel
    supplemental joined to those sums, as the expert writes it, not to every stored row;
    the rows are the literal plan's on both engines. Over BASE_GROUPS_MAX groups (hours ×
    metrics), the supplemental is folded into the sum as before."""
    with dsgrid_sql.connect(small_registry, engine=engine) as session:
        datasets = [d for p in session.translate(sql).plans for d in p.datasets]
        hourly = [d for d in datasets if isinstance(d.time, DatetimeShift)]
        assert len(hourly) == 2
        for dataset in hourly:
            assert dataset.aggregated_over == ("metric", "timestamp"), dataset.dataset_id
            assert dataset.joined_after == ("end_uses_by_fuel_type",)
            assert dataset.folded == ()
            # The metrics the dataset stores × the 48 hours of the small project.
            assert dataset.base_groups is not None and dataset.base_groups % 48 == 0
        assert "joined to the sums by its base column" in session.explain(sql)
        on, off, early = _both_ways(session, sql)
        assert_same_rows(on, off)
        assert early and on
    fewest = min(d.base_groups or 0 for d in hourly)
    monkeypatch.setattr(dataset_plan, "BASE_GROUPS_MAX", fewest - 1)
    with dsgrid_sql.connect(small_registry, engine=engine) as folding:  # plans kept per catalog
        datasets = [d for p in folding.translate(sql).plans for d in p.datasets]
        for dataset in (d for d in datasets if isinstance(d.time, DatetimeShift)):
            assert dataset.folded == ("end_uses_by_fuel_type",) and dataset.joined_after == ()
        folded, _, _ = _both_ways(folding, sql)
        assert_same_rows(folded, off)


@pytest.mark.parametrize("most", [0, 10**9], ids=["fold", "join-after"])
def test_the_same_rows_whether_supplementals_are_folded_or_joined_after(
    efs_dir: Path, small_registry: Path, engine: str, monkeypatch: pytest.MonkeyPatch,
    most: int,
) -> None:  # fmt: skip
    """Whatever _few_base_groups decides (dataset_plan.BASE_GROUPS_MAX), summing by the
    supplemental (folded) or by its base column (the supplemental joined to the sums) gives
    the literal plan's rows, conditional sums included."""
    monkeypatch.setattr(dataset_plan, "BASE_GROUPS_MAX", most)
    cases = ((efs_dir, [*EFS[:5], *CONDITIONAL_EFS]), (small_registry, [*DEMO, *CONDITIONAL]))
    joined = folded = 0
    for path, queries in cases:
        with dsgrid_sql.connect(path, engine=engine) as session:
            for sql in queries:
                translation = session.translate(sql)
                datasets = [d for p in translation.plans for d in p.datasets]
                joined += sum(bool(d.joined_after) for d in datasets)
                folded += sum(bool(d.folded) for d in datasets)
                on, off, early = _both_ways(session, sql)
                assert_same_rows(on, off)
                assert early and on
    # Each way was taken: never joined after with nothing allowed, and with everything
    # allowed only where time is read (the pre-sum then keeps its hours).
    assert (joined == 0) if most == 0 else (joined > 0)
    assert folded > 0


@pytest.mark.parametrize("sql", ZONED_BY_HOUR)
def test_zoned_time_is_looked_up_per_zone_after_the_sum(
    sessions: dict[str, Session], sql: str
) -> None:
    """The expert's plan: the stored rows summed by (zone, supplementals, period), then the
    time lookup joined on the zone of the summed rows — no zone table joined per county."""
    translation = sessions["shapes"].translate(sql)
    for dataset in (d for p in translation.plans for d in p.datasets):
        assert dataset.zone_folded, dataset.dataset_id
        assert "geography" not in (dataset.aggregated_over or ())
        assert LOOKUP_ZONE in (dataset.aggregated_over or ())
        assert LOOKUP_ZONE not in dataset.folded  # internal, not a column of the table
        assert dataset.select is not None
        lookups = [j for j in dataset.select.find_all(exp.Join) if "timelookup" in j.this.name]
        assert len(lookups) == 1
        # Joined on the zone the early sum grouped by, above that sum.
        on_columns = {c.name for c in lookups[0].args["on"].find_all(exp.Column)}
        assert LOOKUP_ZONE in on_columns and "geography" not in on_columns
        summed = lookups[0].parent_select.args["from_"].this
        assert any(
            LOOKUP_ZONE in {c.alias_or_name for c in s.expressions} and s.args.get("group")
            for s in summed.find_all(exp.Select)
        )
        assert not any("zones" in i.name for i in dataset.inputs)
    assert "once per time zone" in sessions["shapes"].explain(sql)


def test_zoned_time_read_with_geography_keeps_the_county(sessions: dict[str, Session]) -> None:
    """Geography itself read: summed by county, the zone joined on it after (as before)."""
    translation = sessions["shapes"].translate(SHAPES[0])
    for dataset in translation.plans[0].datasets:
        assert not dataset.zone_folded
        assert dataset.aggregated_over is not None and "geography" in dataset.aggregated_over


@pytest.mark.parametrize("minimum", [0.0, math.inf], ids=["always", "never"])
def test_the_same_rows_whether_or_not_the_pre_sum_pays(
    efs_dir: Path, small_registry: Path, engine: str, monkeypatch: pytest.MonkeyPatch,
    minimum: float,
) -> None:  # fmt: skip
    """Whatever the estimate of rows per group decides (dataset_plan.MIN_ROWS_PER_GROUP),
    summing before the mappings or mapping the rows as stored gives the literal plan's rows."""
    monkeypatch.setattr(dataset_plan, "MIN_ROWS_PER_GROUP", minimum)
    for path, queries in ((efs_dir, EFS[:5]), (small_registry, DEMO)):
        with dsgrid_sql.connect(path, engine=engine) as session:
            for sql in queries:
                translation = session.translate(sql)
                datasets = [d for p in translation.plans for d in p.datasets]
                assert all(d.presummed is (minimum == 0.0) for d in datasets), sql
                on, off, early = _both_ways(session, sql)
                assert_same_rows(on, off)
                assert early and on


def test_the_pre_sum_is_skipped_where_groups_are_as_many_as_rows(
    small_registry: Path, engine: str
) -> None:
    """Grouped by every stored column but end use (one per county in the residential data),
    the residential rows are as many as the groups: mapped as stored, no hash aggregate."""
    with dsgrid_sql.connect(small_registry, engine=engine) as session:
        sql = (
            "SELECT geography, timestamp, SUM(value) AS v FROM dsgrid_demo.dsgrid_demo_residential "
            "WHERE model_year = '2030' AND scenario = 'reference' AND subsector = "
            "'single_family_detached' AND metric = 'cooling' GROUP BY ALL"
        )
        (dataset,) = session.translate(sql).plans[0].datasets
        assert dataset.rows_per_group is not None and dataset.rows_per_group < 3
        assert not dataset.presummed
        assert dataset.select is not None and not any(
            s.args.get("group") for s in dataset.select.find_all(exp.Select)
        )
        assert "not summed before mapping (about" in session.explain(sql)
        on, off, _ = _both_ways(session, sql)
        assert_same_rows(on, off)
        assert on


def test_filters_that_hold_a_column_to_one_value_make_it_a_constant(
    sessions: dict[str, Session],
) -> None:
    sql = DEMO[7]
    translation = sessions["demo"].translate(sql)
    datasets = translation.plans[0].datasets
    # Stored columns (a trivial one is a constant already, never a group key).
    assert {"dsgrid_demo_residential", "dsgrid_demo_ev_annual"} <= {
        d.dataset_id for d in datasets if ("scenario", "reference") in d.constants
    }
    for dataset in datasets:
        over = dataset.aggregated_over or ()
        assert "scenario" not in over and "model_year" not in over, dataset.dataset_id
    assert "scenario = 'reference'" in sessions["demo"].explain(sql)


def test_a_dataset_no_record_of_which_passes_the_filters_is_skipped(
    sessions: dict[str, Session],
) -> None:
    """No EV end use is cooling: the EV data is left out of the plan, and EXPLAIN says so."""
    sql = DEMO[10]
    translation = sessions["demo"].translate(sql)
    (plan,) = translation.plans
    assert "dsgrid_demo_ev_annual" not in {d.dataset_id for d in plan.datasets}
    assert ("dsgrid_demo_ev_annual", "no metric record passes the filters") in (
        plan.skipped_datasets
    )
    assert "Dataset dsgrid_demo_ev_annual: skipped, no metric record passes" in (
        sessions["demo"].explain(sql)
    )


def test_a_dataset_whose_parquet_holds_no_filtered_record_is_skipped(
    small_registry: Path, engine: str
) -> None:
    """The residential dimension of subsectors is the project's (offices included), but its
    data holds homes only: the row groups' statistics prove the office filter empty, so the
    branch is left out of the engine SQL, and the rows are those of the plan that scans it
    (pushdown off: no filter reaches the scan)."""
    sql = DEMO[10]
    with dsgrid_sql.connect(small_registry, engine=engine) as session:
        (plan,) = session.translate(sql).plans
        assert (
            "dsgrid_demo_residential",
            "its Parquet holds no row with the filtered subsector",
        ) in (plan.skipped_datasets)
        assert [d.dataset_id for d in plan.datasets] == ["dsgrid_demo_commercial"]
        assert "Dataset dsgrid_demo_residential: skipped, its Parquet holds" in session.explain(
            sql
        )
        pruned = sorted_rows(session.sql(sql).to_arrow())
        # Offices and homes together: the residential rows are read.
        both = sql.replace("'warehouse'", "'warehouse', 'single_family_detached'")
        assert "dsgrid_demo_residential" in {
            d.dataset_id for d in session.translate(both).plans[0].datasets
        }
        session.sql("SET pushdown = off")
        assert not session.translate(sql).plans[0].skipped_datasets
        assert_same_rows(pruned, sorted_rows(session.sql(sql).to_arrow()))
        assert pruned


def test_long_id_lists_are_semi_joins(
    small_registry: Path, engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pushed filter with more ids than dataset_plan.IN_LIST_MAX reads a registered table of
    them (one small join to plan) instead of a literal IN list; the rows are the same."""
    sql = DEMO[10]
    with dsgrid_sql.connect(small_registry, engine=engine) as session:
        literal = sorted_rows(session.sql(sql).to_arrow())
        # (The commercial load table, summed by id first, reads the lookup's kept ids by a
        # semi-join too: not one of a table of ids.)
        assert "__dsgrid_ids_" not in session.translate(sql).sql
    monkeypatch.setattr(dataset_plan, "IN_LIST_MAX", 1)
    with dsgrid_sql.connect(small_registry, engine=engine) as session:
        translation = session.translate(sql)
        assert all(
            DimensionType.GEOGRAPHY in d.semi_joined for p in translation.plans for d in p.datasets
        )
        assert "__dsgrid_ids_" in translation.sql
        assert "as a semi-join with a table of the ids" in session.explain(sql)
        assert_same_rows(sorted_rows(session.sql(sql).to_arrow()), literal)
        assert literal


# Conditional sums (rewrite/conditional.py): a SUM of a CASE on dimension columns is summed in
# the pre-sum where the dataset's mapping sends each stored record to one project record (the
# CASE's column is then no group key), else on the mapped rows with the column kept.
CONDITIONAL = [
    # ELSE -value; commercial's one stored scenario is duplicated onto both (a split record).
    "SELECT us_states, SUM(CASE WHEN scenario = 'high_electrification' THEN value "
    "ELSE -value END) AS v FROM dsgrid_demo.data WHERE model_year = '2030' GROUP BY 1",
    # No ELSE: NULL where no row of a group matches (commercial and residential have no EV
    # charging; the residential rows of no state are all EV either).
    "SELECT dataset_id, us_states, SUM(CASE WHEN metric = 'ev_charging' THEN value END) AS ev, "
    "SUM(value) AS total FROM dsgrid_demo.data GROUP BY ALL",
    # A ratio of two, model year in the commercial data a one-to-many mapping of one record.
    "SELECT us_census_divisions, SUM(CASE WHEN model_year = '2030' THEN value END) "
    "/ SUM(CASE WHEN model_year = '2020' THEN value END) AS growth FROM dsgrid_demo.data "
    "WHERE scenario = 'reference' GROUP BY 1",
    # Pivot-like: several, one per end use, by a supplemental.
    "SELECT us_states, SUM(CASE WHEN metric = 'cooling' THEN value ELSE 0 END) AS cooling, "
    "SUM(CASE WHEN metric = 'fans' THEN value ELSE 0 END) AS fans, "
    "SUM(CASE WHEN metric = 'ev_charging' THEN value ELSE 0 END) AS ev_charging "
    "FROM dsgrid_demo.data WHERE model_year = '2030' GROUP BY us_states",
    # Record names, IN lists, AND/OR/NOT, LIKE, IF and FILTER.
    "SELECT us_census_regions, SUM(CASE WHEN scenario_name = 'High Electrification' THEN value "
    "END) AS he, SUM(CASE WHEN metric_name IN ('Space Cooling', 'Fans') THEN value END) AS cf "
    "FROM dsgrid_demo.data GROUP BY 1",
    "SELECT model_year, SUM(CASE WHEN metric IN ('cooling', 'heat_pump_heating') "
    "AND NOT scenario = 'reference' THEN 2 * value WHEN metric LIKE 'heat%' THEN value / 2 "
    "ELSE 0 END) AS v, SUM(IF(scenario <> 'reference', value, NULL)) AS w, "
    "SUM(value) FILTER (WHERE metric = 'plug_loads') AS p FROM dsgrid_demo.data GROUP BY 1",
    # Unnamed: the output column is named by the user's text either way.
    "SELECT us_states, SUM(CASE WHEN scenario = 'reference' THEN value END) "
    "FROM dsgrid_demo.data GROUP BY 1",
    # Over the groups too: a rank and HAVING of the same sum (one computed column).
    "SELECT subsector, SUM(CASE WHEN model_year = '2030' THEN value ELSE 0 END) AS v, "
    "RANK() OVER (ORDER BY SUM(CASE WHEN model_year = '2030' THEN value ELSE 0 END) DESC) "
    "AS r FROM dsgrid_demo.data GROUP BY 1 "
    "HAVING SUM(CASE WHEN model_year = '2030' THEN value ELSE 0 END) > 0",
    # Time read: the annual EV data spread over the hours, the CASE on its time value.
    "SELECT timestamp, SUM(CASE WHEN model_year = '2050' THEN value END) AS v "
    "FROM dsgrid_demo.data WHERE scenario = 'reference' GROUP BY 1",
    # A filter on the CASE's column: the pushed filter holds it, the column leaves the plan.
    "SELECT us_census_divisions, SUM(CASE WHEN model_year = '2030' THEN value END) "
    "/ SUM(CASE WHEN model_year = '2020' THEN value END) AS growth FROM dsgrid_demo.data "
    "WHERE scenario = 'reference' AND model_year IN ('2020', '2030') GROUP BY 1",
    # No row at all passes the filter of one dataset's summed CASE, nor the query's groups.
    "SELECT us_states, SUM(CASE WHEN subsector = 'warehouse' THEN value END) AS w "
    "FROM dsgrid_demo.data WHERE metric = 'ev_charging' GROUP BY 1",
]
CONDITIONAL_EFS = [
    # dsgrid's own registry: unit conversion in the metric mapping's fractions, the
    # one-to-many model years, a two-table dataset.
    "SELECT us_states, model_year, SUM(CASE WHEN metric = 'fans' THEN value END) AS fans, "
    "SUM(CASE WHEN metric = 'cooling' THEN value END) AS cooling "
    "FROM test_efs.test_efs_comstock GROUP BY ALL",
]
# Model year is one stored record mapped onto several (one-to-many) in both EFS datasets:
# the CASE runs on the mapped rows everywhere.
FALLING_BACK_EFS = (
    "SELECT subsector, SUM(CASE WHEN model_year IN ('2020', '2030') THEN value "
    "ELSE -value END) AS v FROM test_efs.data GROUP BY 1"
)


def _conditional(translation) -> dict[str, list[str | None]]:  # type: ignore[no-untyped-def]
    """dataset id → for each conditional sum, None (summed before mapping) or why not."""
    return {
        d.dataset_id: [why for _, why in d.conditional]
        for p in translation.plans
        for d in p.datasets
    }


@pytest.mark.parametrize(
    ("registry", "sql"),
    [("demo", q) for q in CONDITIONAL]
    + [("efs", q) for q in CONDITIONAL_EFS]
    + [("efs", FALLING_BACK_EFS)],
)
def test_conditional_sums_give_the_same_rows(
    sessions: dict[str, Session], registry: str, sql: str
) -> None:
    session = sessions[registry]
    translation = session.translate(sql)
    assert "__dsgrid_cs0" in translation.sql
    pushed = _conditional(translation)
    if sql == FALLING_BACK_EFS:
        assert all(why is not None for whys in pushed.values() for why in whys), pushed
    else:  # some dataset sums at least one before its mappings
        assert any(why is None for whys in pushed.values() for why in whys), pushed
    on, off, early = _both_ways(session, sql)
    assert_same_rows(on, off)
    assert early


def test_a_case_without_else_is_null_where_no_row_matches(sessions: dict[str, Session]) -> None:
    session = sessions["demo"]
    sql = CONDITIONAL[1]
    on, off, _ = _both_ways(session, sql)
    assert_same_rows(on, off)
    by_dataset = {(r[0], r[1]): r[2] for r in on}
    assert all(v is None for (d, _), v in by_dataset.items() if d != "dsgrid_demo_ev_annual")
    assert all(v is not None for (d, _), v in by_dataset.items() if d == "dsgrid_demo_ev_annual")
    # Grouped by nothing the EV rows are filtered away: one row, a NULL sum.
    none = "SELECT SUM(CASE WHEN metric = 'cooling' THEN value END) AS v FROM dsgrid_demo.data "
    none += "WHERE dataset_id = 'dsgrid_demo_ev_annual'"
    on, off, _ = _both_ways(session, none)
    assert on == off == [(None,)]


def test_the_case_column_is_no_pre_sum_key(sessions: dict[str, Session]) -> None:
    session = sessions["demo"]
    translation = session.translate(CONDITIONAL[0])
    (plan,) = translation.plans
    assert [c.shown for c in plan.conditional] == [
        "SUM(CASE WHEN scenario = 'high_electrification' THEN value ELSE -value END)"
    ]
    assert "scenario" not in plan.columns and "value" not in plan.columns
    by_id = {d.dataset_id: d for d in plan.datasets}
    for dataset_id in ("dsgrid_demo_residential", "dsgrid_demo_ev_annual"):
        dataset = by_id[dataset_id]
        # Few counties: summed by geography, us_states joined to those sums.
        assert dataset.aggregated_over == ("geography",), dataset_id
        assert dataset.joined_after == ("us_states",), dataset_id
        assert [why for _, why in dataset.conditional] == [None]
        assert not dataset.value_summed  # only the conditional sum is read
    # Commercial's one stored scenario goes to both project scenarios: the CASE runs on the
    # mapped rows (its scenario a constant, no group key either way).
    commercial = by_id["dsgrid_demo_commercial"]
    ((_, why),) = commercial.conditional
    assert why is not None and "several project records" in why
    assert commercial.value_summed
    explained = session.explain(CONDITIONAL[0])
    assert (
        "conditional sums computed before mapping (their conditions decided on the stored ids, "
        "scenario not a group key): SUM(CASE WHEN scenario = 'high_electrification' THEN value "
        "ELSE -value END) as __dsgrid_cs0"
    ) in explained
    assert "computed after mapping, scenario stays a group key" in explained


def test_a_case_on_a_fractionally_mapped_column_keeps_it_a_key(
    sessions: dict[str, Session],
) -> None:
    """Commercial subsectors map onto building types with fractions (a stored record split
    among several): the CASE cannot be decided per stored row; the subsector stays a key."""
    sql = (
        "SELECT us_states, SUM(CASE WHEN subsector = 'large_office' THEN value END) AS v "
        "FROM dsgrid_demo.data GROUP BY 1"
    )
    session = sessions["demo"]
    by_id = {d.dataset_id: d for p in session.translate(sql).plans for d in p.datasets}
    commercial = by_id["dsgrid_demo_commercial"]
    assert commercial.conditional[0][1] is not None
    assert "subsector" in (commercial.aggregated_over or ())
    residential = by_id["dsgrid_demo_residential"]
    assert residential.conditional[0][1] is None
    assert "subsector" not in (residential.aggregated_over or ())
    on, off, _ = _both_ways(session, sql)
    assert_same_rows(on, off)
    assert any(r[1] is not None for r in on)


def test_a_case_column_read_elsewhere_is_not_pushed(sessions: dict[str, Session]) -> None:
    """Grouped by scenario anyway, the CASE would take no key away: the query is as written."""
    sql = (
        "SELECT scenario, SUM(CASE WHEN scenario = 'reference' THEN value END) AS v "
        "FROM dsgrid_demo.data GROUP BY 1"
    )
    translation = sessions["demo"].translate(sql)
    assert "__dsgrid_cs" not in translation.sql
    assert all(not p.conditional for p in translation.plans)
    on, off, _ = _both_ways(sessions["demo"], sql)
    assert_same_rows(on, off)


def test_conditional_sums_off_with_aggregate_early(sessions: dict[str, Session]) -> None:
    session = sessions["demo"]
    session.set("aggregate_early", "off")
    try:
        assert "__dsgrid_cs" not in session.translate(CONDITIONAL[3]).sql
    finally:
        session.set("aggregate_early", "on")


def test_a_pushed_filter_on_the_case_column_does_not_keep_it(
    sessions: dict[str, Session],
) -> None:
    """``WHERE model_year IN ('2020', '2030')`` is what the pushed filter keeps: true of every
    row of the plan, so it does not make model year a column (and key) again; without
    pushdown it does, and the sums are left as written."""
    session = sessions["demo"]
    sql = next(q for q in CONDITIONAL if "model_year IN ('2020', '2030')" in q)
    (plan,) = session.translate(sql).plans
    assert "model_year" not in plan.columns and len(plan.conditional) == 2
    residential = next(d for d in plan.datasets if d.dataset_id == "dsgrid_demo_residential")
    assert residential.scan_filters[DimensionType.MODEL_YEAR] == ("2020", "2030")
    assert residential.aggregated_over == ("geography",)
    assert residential.joined_after == ("us_census_divisions",)
    on, _, _ = _both_ways(session, sql)
    session.set("pushdown", "off")
    try:
        translation = session.translate(sql)
        assert "__dsgrid_cs" not in translation.sql
        unpushed = sorted_rows(session.sql(sql).to_arrow())
    finally:
        session.set("pushdown", "on")
    assert_same_rows(on, unpushed)


def test_a_two_table_load_table_is_summed_by_id_before_the_lookup(
    sessions: dict[str, Session],
) -> None:
    """The expert's plan for two-table data: the load table summed by id (and the load-table
    columns read) before the lookup join; with a filter on lookup columns, only the ids it
    keeps are read (a semi-join in that sum); with stored time read, not summed by id."""
    session = sessions["demo"]
    sql = DEMO[10]  # subsectors, cooling and the South: lookup and load-table filters
    (plan,) = session.translate(sql).plans
    commercial = next(d for d in plan.datasets if d.dataset_id == "dsgrid_demo_commercial")
    assert commercial.summed_by_id == ("id",)  # metric held to one record: a constant
    assert commercial.select is not None
    by_id = [
        s
        for s in commercial.select.find_all(exp.Select)
        if any(c.alias_or_name == "id" for c in s.expressions) and s.args.get("group")
    ]
    assert len(by_id) == 1 and "IN (SELECT" in by_id[0].sql()
    assert "load table summed by id before the lookup join" in session.explain(sql)
    on, off, _ = _both_ways(session, sql)
    assert_same_rows(on, off)
    hourly = "SELECT timestamp, SUM(value) AS v FROM dsgrid_demo.dsgrid_demo_commercial GROUP BY 1"
    (plan,) = session.translate(hourly).plans
    assert plan.datasets[0].summed_by_id == ()
    efs = sessions["efs"].translate(EFS[0]).plans[0]
    assert all(d.summed_by_id for d in efs.datasets if d.dataset_id == "test_efs_comstock")
