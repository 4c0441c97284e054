"""The SQL surface users write, on both engines: each query's result must be the same on
DuckDB and Spark (rows compared after sorting, values to 1e-9)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

import dsgrid_sql
from dsgrid_sql.session import Session

QUERIES = {
    "cte_and_having": """
        WITH s AS (SELECT us_states, model_year, SUM(value) AS v FROM data GROUP BY ALL)
        SELECT us_states, COUNT(*) AS years, MAX(v) AS top FROM s GROUP BY us_states HAVING COUNT(*) = 5
    """,
    "window": """
        SELECT us_states, model_year, v, RANK() OVER (PARTITION BY model_year ORDER BY v DESC) AS r
        FROM (SELECT us_states, model_year, SUM(value) AS v FROM test_efs_comstock GROUP BY ALL)
    """,
    "union_intersect_except": """
        SELECT us_states FROM data WHERE metric = 'fans'
        UNION SELECT us_states FROM data WHERE metric = 'cooling'
        EXCEPT SELECT id FROM test_efs_dimensions.us_states WHERE id = 'TX'
    """,
    "case_cast_limit_offset": """
        SELECT geography, CASE WHEN SUM(value) > 1e6 THEN 'big' ELSE 'small' END AS size,
               CAST(COUNT(*) AS DOUBLE) AS n
        FROM data GROUP BY geography ORDER BY geography LIMIT 5 OFFSET 1
    """,
    "join_dimension_table": """
        SELECT c.state, d.metric_name, SUM(d.value) AS v
        FROM data AS d JOIN test_efs_dimensions.geography AS c ON d.geography = c.id
        WHERE d.model_year BETWEEN '2020' AND '2040' GROUP BY ALL
    """,
    "two_supplementals_and_names": """
        SELECT us_census_regions, five_year_intervals, us_census_regions_name, SUM(value) AS v
        FROM test_efs_comstock GROUP BY ALL
    """,
    "time_functions": """
        SELECT EXTRACT(hour FROM timestamp) AS h, DATE_TRUNC('day', timestamp) AS d, SUM(value) AS v
        FROM test_efs_comstock WHERE geography LIKE '06%' GROUP BY ALL
    """,
    "local_time": """
        SELECT time_zone, MIN(local_timestamp) AS first_local, MIN(timestamp) AS first_utc
        FROM data GROUP BY ALL
    """,
    "registry_tables": """
        SELECT p.project_id, COUNT(*) AS datasets FROM registry.project_datasets p GROUP BY ALL
    """,
    "not_in_and_names": """
        SELECT metric_name, SUM(value) AS v FROM data
        WHERE us_states NOT IN ('CA', 'TX') AND subsector_name LIKE '%Office%' GROUP BY ALL
    """,
}


@pytest.fixture(scope="module")
def both(efs_dir: Path) -> Iterator[tuple[Session, Session]]:
    with (
        dsgrid_sql.connect(efs_dir, engine="duckdb") as d,
        dsgrid_sql.connect(efs_dir, engine="spark") as s,
    ):
        yield d, s


def _canonical(value: object) -> object:
    if isinstance(value, float):
        return round(value, 6 - math.floor(math.log10(abs(value))) if value else 0)
    return value


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_same_result_on_both_engines(both: tuple[Session, Session], name: str) -> None:
    duck, spark = both
    left = duck.sql(QUERIES[name]).to_arrow()
    right = spark.sql(QUERIES[name]).to_arrow()
    assert left.column_names == right.column_names
    assert left.num_rows == right.num_rows > 0
    key = lambda row: tuple(str(_canonical(v)) for v in row.values())  # noqa: E731
    for a, b in zip(
        sorted(left.to_pylist(), key=key), sorted(right.to_pylist(), key=key), strict=True
    ):
        for column in left.column_names:
            if isinstance(a[column], float):
                assert a[column] == pytest.approx(b[column], rel=1e-9), (name, column)
            else:
                assert a[column] == b[column], (name, column)


def test_local_timestamp_is_wall_clock(both: tuple[Session, Session]) -> None:
    duck, _ = both
    rows = duck.sql(QUERIES["local_time"]).to_arrow().to_pylist()
    by_zone = {r["time_zone"]: r for r in rows}
    # Project time starts 2012-01-01 00:00 EST = 05:00 UTC; Los Angeles is UTC-8 in January.
    assert str(by_zone["America/Los_Angeles"]["first_local"]) == "2011-12-31 21:00:00"
    assert str(by_zone["America/New_York"]["first_local"]) == "2012-01-01 00:00:00"
    assert by_zone["America/Denver"]["first_local"].tzinfo is None


@pytest.mark.parametrize("table", ["data", "dsgrid_demo_dimensions.geography"])
def test_a_table_sample_reads_part_of_the_table(small_session: Session, table: str) -> None:
    # The sample was once dropped with the virtual table it was attached to.
    full = small_session.sql(f"SELECT COUNT(*) AS n FROM {table}").to_arrow()["n"][0].as_py()
    text = f"SELECT COUNT(*) AS n FROM {table} AS t TABLESAMPLE (50 PERCENT)"
    if table == "data":
        sampled = small_session.sql(text).to_arrow()["n"][0].as_py()
        assert 0 < sampled < full
    assert "TABLESAMPLE" in small_session.translate(text).sql.upper()
