"""The analyst questions of DESIGN.md, as every peer in the query benchmarks asks them.

Each question is one dsgrid-sql statement over the scale registries of :mod:`bench.scale`
(project ``bench``). The peers — hand-written engine SQL, dsgrid's own project query,
Spark in its three deployments — answer the same question their own way and must return
the same rows (relative 1e-9) before their times are compared.
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
)  # fmt: skip

BY_ID = {q.id: q for q in QUESTIONS}
