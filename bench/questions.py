"""The analyst questions of DESIGN.md, as every peer in the query benchmarks asks them.

Each question is one dsgrid-sql statement over the scale registries of :mod:`bench.scale`
(project ``bench``). The peers — hand-written engine SQL, dsgrid's own project query,
Spark in its three deployments — answer the same question their own way and must return
the same rows (relative 1e-9) before their times are compared.

The first six are DESIGN.md's; the rest (issue 21) are the other shapes analysts write, so
that no one plan shape can be tuned to: several supplementals at once, shares and ratios,
day / month / local-day totals, top-N peaks, scenario and model-year differences, five-year
interpolation, window functions over an inner aggregate (and one in the SELECT that reads
the table, which keeps the literal plan), filtered subsets, per-dataset comparisons,
pivot-like CASE aggregates, a star join with a dimension's records as BI tools write it, and
a filter on time.
dsgrid itself (case 3) answers the first six.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Question:
    id: str
    title: str
    # dsgrid-sql text; "{output}" is a Parquet path for the export question.
    sql: str
    # Columns that identify a row (sorted on before results are compared).
    keys: tuple[str, ...]
    export: bool = False


STATE = "CO"
MODEL_YEAR = "2030"
# An evening and night inside every scale's project range (it starts 2018-01-01 05:00 UTC;
# the tests' registry has 30 hours), away from the first and last hours.
WINDOW = ("2018-01-01 17:00:00+00", "2018-01-02 04:00:00+00")

QUESTIONS: tuple[Question, ...] = (
    Question(
        "state_enduse_totals",
        f"Annual totals by state and end use, model year {MODEL_YEAR}",
        "SELECT us_states, metric, SUM(value) AS value FROM data "
        f"WHERE model_year = '{MODEL_YEAR}' GROUP BY us_states, metric",
        ("us_states", "metric"),
    ),
    Question(
        "state_hourly_profile",
        f"Hourly profile of one state ({STATE}), all datasets and model years",
        "SELECT timestamp, SUM(value) AS value FROM data "
        f"WHERE us_states = '{STATE}' GROUP BY timestamp ORDER BY timestamp",
        ("timestamp",),
    ),
    Question(
        "regional_peak",
        "Peak hour by census region: sum per hour, then the maximum",
        "SELECT us_census_regions, MAX(value) AS peak FROM ("
        "SELECT us_census_regions, timestamp, SUM(value) AS value FROM data "
        f"WHERE model_year = '{MODEL_YEAR}' GROUP BY us_census_regions, timestamp"
        ") AS hourly GROUP BY us_census_regions",
        ("us_census_regions",),
    ),
    Question(
        "scenario_difference",
        f"High electrification minus reference by state, model year {MODEL_YEAR}",
        "SELECT us_states, "
        "SUM(CASE WHEN scenario = 'high_electrification' THEN value ELSE -value END) "
        "AS difference FROM data "
        f"WHERE model_year = '{MODEL_YEAR}' GROUP BY us_states",
        ("us_states",),
    ),
    Question(
        "fuel_type_totals",
        "Totals by fuel type (a fractional supplemental mapping) and model year",
        "SELECT end_uses_by_fuel_type, model_year, SUM(value) AS value FROM data "
        "GROUP BY end_uses_by_fuel_type, model_year",
        ("end_uses_by_fuel_type", "model_year"),
    ),
    Question(
        "state_export",
        f"Every row of one state ({STATE}, model year {MODEL_YEAR}) exported to Parquet",
        "COPY (SELECT * FROM data "
        f"WHERE us_states = '{STATE}' AND model_year = '{MODEL_YEAR}') "
        "TO '{output}' (FORMAT parquet)",
        (
            "dataset_id", "geography", "sector", "subsector", "metric", "model_year",
            "weather_year", "scenario", "timestamp",
        ),
        export=True,
    ),
    Question(
        "electricity_share_division_interval",
        "Share of electricity by census division and five-year interval (three supplementals)",
        "SELECT us_census_divisions, five_year_intervals, "
        "SUM(CASE WHEN end_uses_by_fuel_type = 'electricity' THEN value ELSE 0 END) / SUM(value) "
        "AS electricity_share FROM data GROUP BY us_census_divisions, five_year_intervals",
        ("us_census_divisions", "five_year_intervals"),
    ),
    Question(
        "state_share_of_metric",
        f"Each state's share of the national total per end use (reference, {MODEL_YEAR}; "
        "a window over an inner aggregate)",
        "SELECT us_states, metric, value / SUM(value) OVER (PARTITION BY metric) AS share FROM ("
        "SELECT us_states, metric, SUM(value) AS value FROM data "
        f"WHERE model_year = '{MODEL_YEAR}' AND scenario = 'reference' "
        "GROUP BY us_states, metric) AS totals",
        ("us_states", "metric"),
    ),
    Question(
        "daily_region_totals",
        f"Daily totals (UTC days) by census region, model year {MODEL_YEAR}",
        "SELECT us_census_regions, date_trunc('day', timestamp) AS day, SUM(value) AS value "
        f"FROM data WHERE model_year = '{MODEL_YEAR}' GROUP BY us_census_regions, day",
        ("us_census_regions", "day"),
    ),
    Question(
        "local_day_state_totals",
        "Totals per state and local day (each county's own time zone), reference scenario",
        "SELECT us_states, date_trunc('day', local_timestamp) AS local_day, SUM(value) AS value "
        "FROM data WHERE scenario = 'reference' GROUP BY us_states, local_day",
        ("us_states", "local_day"),
    ),
    Question(
        "monthly_fuel_totals",
        "Monthly totals by fuel type (UTC months)",
        "SELECT date_trunc('month', timestamp) AS month, end_uses_by_fuel_type, "
        "SUM(value) AS value FROM data GROUP BY month, end_uses_by_fuel_type",
        ("month", "end_uses_by_fuel_type"),
    ),
    Question(
        "top_county_peaks",
        f"The ten counties with the highest single-hour demand (reference, {MODEL_YEAR})",
        "SELECT geography, MAX(value) AS peak FROM ("
        "SELECT geography, timestamp, SUM(value) AS value FROM data "
        f"WHERE model_year = '{MODEL_YEAR}' AND scenario = 'reference' "
        "GROUP BY geography, timestamp) AS hourly "
        "GROUP BY geography ORDER BY peak DESC LIMIT 10",
        ("geography",),
    ),
    Question(
        "model_year_growth",
        "Growth 2020 → 2030 by census division (a ratio of CASE sums), reference scenario",
        "SELECT us_census_divisions, "
        "SUM(CASE WHEN model_year = '2030' THEN value END) "
        "/ SUM(CASE WHEN model_year = '2020' THEN value END) AS growth FROM data "
        "WHERE scenario = 'reference' GROUP BY us_census_divisions",
        ("us_census_divisions",),
    ),
    Question(
        "five_year_metric_totals",
        "Totals by five-year interval (2025 interpolated from 2020 and 2030) and end use",
        "SELECT five_year_intervals, metric, SUM(value) AS value FROM data "
        "WHERE scenario = 'reference' GROUP BY five_year_intervals, metric",
        ("five_year_intervals", "metric"),
    ),
    Question(
        "moving_average_24h",
        f"National hourly total and its 24-hour moving average per scenario ({MODEL_YEAR}; "
        "a window over an inner aggregate)",
        "SELECT scenario, timestamp, value, AVG(value) OVER (PARTITION BY scenario "
        "ORDER BY timestamp ROWS BETWEEN 23 PRECEDING AND CURRENT ROW) AS moving_24h FROM ("
        "SELECT scenario, timestamp, SUM(value) AS value FROM data "
        f"WHERE model_year = '{MODEL_YEAR}' GROUP BY scenario, timestamp) AS hourly",
        ("scenario", "timestamp"),
    ),
    Question(
        "state_rank_same_select",
        f"States ranked by total ({MODEL_YEAR}), the window in the SELECT that reads the table",
        "SELECT us_states, SUM(value) AS value, RANK() OVER (ORDER BY SUM(value) DESC) AS rank "
        f"FROM data WHERE model_year = '{MODEL_YEAR}' GROUP BY us_states",
        ("us_states",),
    ),
    Question(
        "office_cooling_south",
        "Office cooling in the South census region by state and model year (a filtered subset)",
        "SELECT us_states, model_year, SUM(value) AS value FROM data "
        "WHERE subsector IN ('large_office', 'small_office') AND metric = 'cooling' "
        "AND us_census_regions = 'south' GROUP BY us_states, model_year",
        ("us_states", "model_year"),
    ),
    Question(
        "dataset_region_scenario",
        f"Totals per dataset, census region and scenario ({MODEL_YEAR})",
        "SELECT dataset_id, us_census_regions, scenario, SUM(value) AS value FROM data "
        f"WHERE model_year = '{MODEL_YEAR}' GROUP BY dataset_id, us_census_regions, scenario",
        ("dataset_id", "us_census_regions", "scenario"),
    ),
    Question(
        "commercial_residential_ratio",
        f"Commercial over residential demand by state (reference, {MODEL_YEAR}; two dataset "
        "tables joined)",
        "SELECT c.us_states, c.value / r.value AS ratio FROM ("
        "SELECT us_states, SUM(value) AS value FROM bench_commercial "
        f"WHERE model_year = '{MODEL_YEAR}' AND scenario = 'reference' GROUP BY us_states) AS c "
        "JOIN (SELECT us_states, SUM(value) AS value FROM bench_residential "
        f"WHERE model_year = '{MODEL_YEAR}' AND scenario = 'reference' GROUP BY us_states) AS r "
        "ON c.us_states = r.us_states",
        ("us_states",),
    ),
    Question(
        "state_metric_pivot",
        f"End uses as columns by state (pivot-like CASE sums, {MODEL_YEAR})",
        "SELECT us_states, "
        "SUM(CASE WHEN metric = 'cooling' THEN value ELSE 0 END) AS cooling, "
        "SUM(CASE WHEN metric = 'fans' THEN value ELSE 0 END) AS fans, "
        "SUM(CASE WHEN metric = 'ev_charging' THEN value ELSE 0 END) AS ev_charging "
        f"FROM data WHERE model_year = '{MODEL_YEAR}' GROUP BY us_states",
        ("us_states",),
    ),
    Question(
        "zone_hourly_star_join",
        "Hourly totals by time zone, as a BI tool's star join with the geography records",
        "SELECT g.time_zone, d.timestamp, SUM(d.value) AS value FROM data d "
        "JOIN bench_dimensions.geography g ON d.geography = g.id GROUP BY ALL",
        ("time_zone", "timestamp"),
    ),
    Question(
        "evening_state_hourly",
        "Hourly totals by state over one evening (a filter on time)",
        "SELECT us_states, timestamp, SUM(value) AS value FROM data "
        f"WHERE timestamp BETWEEN '{WINDOW[0]}' AND '{WINDOW[1]}' GROUP BY ALL",
        ("us_states", "timestamp"),
    ),
)  # fmt: skip

BY_ID = {q.id: q for q in QUESTIONS}
