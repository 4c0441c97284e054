"""The highest (lowest) hourly sum per key with annual datasets added after the MAX (MIN)
(rewrite/annual_peaks.py): the rows are those of the literal plan, which spreads the annual
data over every hour, on both engines — over the generated demo, and over a copy whose
time-varying data leaves hours, keys and values out, where each branch of the combination
(time-varying only, annual only, both with every hour, both with hours missing, NULL sums)
decides a key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import dsgrid_sql
from dsgrid_sql.rewrite import annual_peaks
from dsgrid_sql.session import Session

from .conftest import assert_same_rows, sorted_rows

D = "dsgrid_demo.data"
ONE_YEAR = "WHERE model_year = '2030' AND scenario = 'reference'"
FIRST_DAY = "WHERE timestamp < '2018-01-02 00:00:00+00'"
HOURLY = f"SELECT geography, timestamp, SUM(value) AS v FROM {D} {{where}} GROUP BY ALL"
PEAKS = [
    # The bench's question: top counties by their highest hour, one year and scenario.
    f"SELECT geography, MAX(v) AS peak FROM ({HOURLY.format(where=ONE_YEAR)}) AS h "
    "GROUP BY geography ORDER BY peak DESC LIMIT 5",
    f"SELECT geography, MIN(v) AS low FROM ({HOURLY.format(where='')}) AS h GROUP BY 1",
    # No key: the national peak hour.
    f"SELECT MAX(v) AS peak FROM (SELECT timestamp, SUM(value) AS v FROM {D} "
    "WHERE scenario = 'reference' GROUP BY timestamp) AS h",
    # Grouped more coarsely outside: the maximum of the per-key maxima.
    f"SELECT scenario, MAX(v) AS peak FROM (SELECT scenario, model_year, timestamp, "
    f"SUM(value) AS v FROM {D} GROUP BY ALL) AS h GROUP BY scenario",
    # A supplemental key, a filter on a supplemental and a name, HAVING, a rank over groups.
    f"SELECT us_states, MAX(v) AS peak, RANK() OVER (ORDER BY MAX(v) DESC) AS r FROM ("
    f"SELECT us_states, timestamp, SUM(value) AS v FROM {D} WHERE us_census_regions = 'south' "
    "AND metric_name IS NOT NULL GROUP BY us_states, timestamp) AS h "
    "GROUP BY us_states HAVING MAX(v) > 0",
    # The outer query filters keys; the key selected under another name.
    f"SELECT g, MAX(v) AS peak FROM (SELECT geography AS g, model_year, timestamp, "
    f"SUM(value) AS v FROM {D} GROUP BY geography, model_year, timestamp) AS h "
    "WHERE model_year IN ('2020', '2050') GROUP BY g",
    # The hourly sums as a CTE only this query reads, and a CTE reading that CTE.
    f"WITH hourly AS ({HOURLY.format(where='')}) SELECT geography, MAX(v) AS peak "
    "FROM hourly GROUP BY 1 ORDER BY 2 DESC LIMIT 3",
    f"WITH hourly AS ({HOURLY.format(where='')}), peaks AS (SELECT geography, MAX(v) AS peak "
    "FROM hourly AS h GROUP BY 1) SELECT * FROM peaks",
    # A filter on dataset_id that keeps both kinds.
    f"SELECT geography, MAX(v) AS peak FROM (SELECT geography, timestamp, SUM(value) AS v "
    f"FROM {D} WHERE dataset_id <> 'dsgrid_demo_commercial' GROUP BY ALL) AS h GROUP BY 1",
]
# Reading the hourly rows otherwise: the literal plan.
KEPT = [
    f"SELECT geography, AVG(v) AS a FROM ({HOURLY.format(where='')}) AS h GROUP BY 1",
    f"SELECT geography, MAX(v) AS hi, MIN(v) AS lo FROM ({HOURLY.format(where='')}) AS h "
    "GROUP BY 1",
    f"SELECT geography, MAX(timestamp) AS t, MAX(v) AS hi FROM ({HOURLY.format(where='')}) "
    "AS h GROUP BY 1",
    f"SELECT geography, MAX(v) OVER (PARTITION BY geography) AS hi FROM "
    f"({HOURLY.format(where='')}) AS h",
    f"SELECT geography, MAX(v) AS hi FROM ({HOURLY.format(where='WHERE value > 1')}) AS h "
    "GROUP BY 1",
    f"SELECT geography, MAX(v) AS hi FROM ({HOURLY.format(where=FIRST_DAY)}) AS h GROUP BY 1",
    f"SELECT geography, MAX(v) AS hi FROM ({HOURLY.format(where='')}) AS h "
    "WHERE v > 100 GROUP BY 1",
    f"SELECT geography, MAX(v) AS hi FROM (SELECT geography, timestamp, SUM(value) AS v "
    f"FROM {D} GROUP BY ALL HAVING SUM(value) > 0) AS h GROUP BY 1",
    f"SELECT COUNT(geography) AS n, MAX(v) AS hi FROM ({HOURLY.format(where='')}) AS h",
    # A CTE read twice: its rows are not this query's alone.
    f"WITH hourly AS ({HOURLY.format(where='')}) SELECT geography, MAX(v) AS peak "
    "FROM hourly GROUP BY 1 UNION ALL SELECT 'all', MAX(v) FROM hourly",
    # dataset_id as a key: no key would have both kinds of data.
    f"SELECT dataset_id, MAX(v) AS peak FROM (SELECT dataset_id, timestamp, SUM(value) AS v "
    f"FROM {D} GROUP BY ALL) AS h GROUP BY 1",
]
REWRITTEN = "annual datasets dsgrid_demo_ev_annual added to the"


def _both_ways(session: Session, sql: str) -> tuple[list[tuple], list[tuple], list[str]]:
    session.set("aggregate_early", "on")
    said = session.translate(sql).rewrites
    on = session.sql(sql).to_arrow()
    session.set("aggregate_early", "off")
    try:
        assert session.translate(sql).rewrites == []
        off = session.sql(sql).to_arrow()
    finally:
        session.set("aggregate_early", "on")
    assert on.schema == off.schema
    return sorted_rows(on), sorted_rows(off), said


@pytest.fixture(autouse=True)
def any_spread(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test registries are small (12 counties × 48 hours): rewrite whatever the size."""
    monkeypatch.setattr(annual_peaks, "SPREAD_ROWS_MIN", 0)


@pytest.mark.parametrize("sql", PEAKS)
def test_annual_data_after_the_peak_gives_the_literal_rows(demo: Session, sql: str) -> None:
    on, off, said = _both_ways(demo, sql)
    assert len(said) == 1 and REWRITTEN in said[0]
    assert on
    assert_same_rows(on, off)


def test_explain_says_which_datasets_and_keys(demo: Session) -> None:
    text = demo.explain(PEAKS[0])
    assert text.startswith(
        "Rewritten: dsgrid_demo.data: annual datasets dsgrid_demo_ev_annual added to the "
        "maximum of the sums per timestamp of dsgrid_demo_commercial, dsgrid_demo_residential "
        "as constants per geography (not spread over 48 timestamps)"
    )
    # The annual dataset is summed per key, not spread: no project-time join in its plan.
    annual = [
        d for p in demo.translate(PEAKS[0]).plans for d in p.datasets
        if d.dataset_id == "dsgrid_demo_ev_annual"
    ]  # fmt: skip
    assert [d.spread_summed for d in annual] == [True]


@pytest.mark.parametrize("sql", KEPT)
def test_other_reads_of_the_hourly_rows_keep_the_literal_plan(demo: Session, sql: str) -> None:
    on, off, said = _both_ways(demo, sql)
    assert said == []
    assert_same_rows(on, off)


def test_a_small_spread_keeps_the_literal_plan(
    small_registry: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below SPREAD_ROWS_MIN spread rows (key records × timestamps) the spread costs less
    than the rewrite's join: 12 counties × 48 hours are 576 rows. (A catalog remembers its
    translations: each threshold gets a session of its own.)"""
    for least, rewritten in ((12 * 48 + 1, False), (12 * 48, True)):
        monkeypatch.setattr(annual_peaks, "SPREAD_ROWS_MIN", least)
        with dsgrid_sql.connect(small_registry) as session:
            assert bool(session.translate(PEAKS[1]).rewrites) is rewritten


# Keys of the sparse copy, each decided by one branch of the combination.
PARTIAL = "01001"  # time-varying data in 42 of 48 hours: the annual value alone may win
NULL_VARYING = "04001"  # time-varying values all NULL: the annual value in every hour
NO_ANNUAL = "05001"  # no annual rows: the time-varying extreme
NULL_ANNUAL = "06001"  # annual values NULL: the time-varying extreme
ANNUAL_ONLY = "08001"  # no time-varying rows at all


def _rewrite_parquet(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    table = pq.read_table(path)
    pq.write_table(change(table), path)


def _null_where(table: pa.Table, mask: pa.Array) -> pa.Table:
    value = table.column("value")
    nulls = pa.nulls(len(table), value.type)
    index = table.schema.get_field_index("value")
    field = table.schema.field("value").with_nullable(True)
    return table.set_column(index, field, pc.if_else(mask, nulls, value))


@pytest.fixture(scope="module")
def sparse(small_registry: Path, tmp_path_factory: pytest.TempPathFactory, engine: str):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp(f"sparse_{engine}") / "registry"
    shutil.copytree(small_registry.parent, root)
    data = root / "data" / "data"
    first_hours = pa.scalar(
        pq.read_table(data / "dsgrid_demo_residential/1.0.0/table.parquet")
        .column("timestamp")
        .chunk(0)[0]
        .as_py()
        .replace(hour=11),
        pa.timestamp("us", "UTC"),
    )
    geography = pc.field("geography")
    _rewrite_parquet(
        data / "dsgrid_demo_commercial/1.0.0/lookup_table.parquet",
        lambda t: t.filter(
            pc.invert(pc.is_in(t["geography"], pa.array([PARTIAL, NULL_VARYING, ANNUAL_ONLY])))
        ),
    )

    def residential(table: pa.Table) -> pa.Table:
        table = table.filter(
            ~(
                ((geography == PARTIAL) & (pc.field("timestamp") < first_hours))
                | (geography == ANNUAL_ONLY)
            )
        )
        return _null_where(table, pc.equal(table["geography"], NULL_VARYING))

    _rewrite_parquet(data / "dsgrid_demo_residential/1.0.0/table.parquet", residential)

    def annual(table: pa.Table) -> pa.Table:
        table = table.filter(geography != NO_ANNUAL)
        return _null_where(table, pc.equal(table["geography"], NULL_ANNUAL))

    _rewrite_parquet(data / "dsgrid_demo_ev_annual/1.0.0/table.parquet", annual)
    with dsgrid_sql.connect(root, engine=engine) as session:
        yield session


@pytest.mark.parametrize("function", ["MAX", "MIN"])
@pytest.mark.parametrize("where", ["", ONE_YEAR], ids=["all", "2030"])
def test_every_branch_gives_the_literal_rows_where_data_is_missing(
    sparse: Session, function: str, where: str
) -> None:
    sql = (
        f"SELECT geography, {function}(v) AS x FROM ({HOURLY.format(where=where)}) AS h "
        "GROUP BY geography"
    )
    on, off, said = _both_ways(sparse, sql)
    assert len(said) == 1 and REWRITTEN in said[0]
    assert_same_rows(on, off)
    by_key = dict(off)
    assert set(by_key) >= {PARTIAL, NULL_VARYING, NO_ANNUAL, NULL_ANNUAL, ANNUAL_ONLY}
    if function == "MIN":
        # The hours without time-varying data hold the annual value alone, the lowest: the
        # answer a plan assuming every hour covered (MIN + annual) would miss.
        annual = dict(
            sorted_rows(
                sparse.sql(
                    f"SELECT geography, SUM(value) / 48 AS e FROM dsgrid_demo.dsgrid_demo_ev_annual "
                    f"{where} GROUP BY 1"
                ).to_arrow()
            )
        )
        assert by_key[PARTIAL] == pytest.approx(annual[PARTIAL], rel=1e-9)
        assert by_key[NULL_VARYING] == pytest.approx(annual[NULL_VARYING], rel=1e-9)
        assert by_key[ANNUAL_ONLY] == pytest.approx(annual[ANNUAL_ONLY], rel=1e-9)
