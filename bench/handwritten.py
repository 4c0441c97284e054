"""The peer an analyst would otherwise be: the analyst questions as an engine expert writes
them by hand over the same Parquet files.

The expert knows the registry: which files hold which dataset, each dataset's mappings
(small tables, loaded once and not timed), the project's hours. They write only the joins a
question needs, drop unmapped records (``to_id`` null) up front, spread the annual EV data
without a cross join when no question reads its hours, and shift period-ending time with
integer arithmetic. The SQL is written once in DuckDB's dialect (with each engine's own
microsecond functions) and transpiled by sqlglot for Spark, where the export question is its
SELECT, which the caller writes with Spark's own Parquet writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import sqlglot
from sqlglot import exp

import dsgrid_sql
from dsgrid_sql.catalog import DimensionType, Project
from dsgrid_sql.rewrite.time_mapping import instant_range
from dsgrid_sql.rewrite.units import unit_factor

from .questions import MODEL_YEAR, STATE
from .scale import PROJECT

# Mapping tables the queries join: our name → the catalog's mapping table.
MAPPINGS = {
    "com_subsector": "commercial_building_types_dataset__subsector",
    "com_metric": "commercial_end_uses_dataset__metric",
    "com_model_year": "model_year_2018__model_year",
    "com_scenario": "single_scenario__scenario",
    "res_metric": "residential_end_uses_dataset__metric",
    "ev_metric": "ev_charging_end_uses__metric",
    "states": "geography__us_states",
    "regions": "geography__us_census_regions",
    "fuels": "metric__end_uses_by_fuel_type",
}
# Metric mappings that also convert the dataset's unit to the project's.
UNIT_MAPPINGS = {
    "com_metric": "bench_commercial",
    "res_metric": "bench_residential",
    "ev_metric": "bench_ev_annual",
}
METRIC = DimensionType.METRIC
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HOUR_US = 3_600_000_000
PERIODS_PER_YEAR = 8760  # dsgrid spreads an annual value over a non-leap year's hours


@dataclass
class HandWritten:
    """Everything the expert's queries need: Parquet files per view, small tables, SQL."""

    parquet: dict[str, Path]  # view name → file
    tables: dict[str, pa.Table]  # small tables (mappings, project hours)
    sql: dict[str, str]  # question id → DuckDB SQL ("{output}" for the export)
    spark: dict[str, str]  # question id → Spark SQL (the export: its SELECT only)


def build(registry: Path) -> HandWritten:
    with dsgrid_sql.connect(registry) as session:
        tables = {}
        for name, mapping in MAPPINGS.items():
            table = session.sql(
                f"SELECT from_id, to_id, from_fraction FROM bench_mappings.{mapping} "
                "WHERE to_id IS NOT NULL"
            ).to_arrow()
            tables[name] = table
        # Units: the expert folds each dataset's kWh → MWh into its metric mapping, as they
        # would after reading the dataset's metric records.
        project = session.catalog.project(PROJECT)
        for name, dataset_id in UNIT_MAPPINGS.items():
            tables[name] = _with_units(tables[name], project, dataset_id)
        # The project's hours, as the expert reads them from the project's time config.
        time_model = project.time_dimension.model
        project_hours = instant_range(time_model, "The project time dimension")
    data = registry / "data" / "data"
    parquet = {
        "com_t": data / "bench_commercial" / "1.0.0" / "table.parquet",
        "com_l": data / "bench_commercial" / "1.0.0" / "lookup_table.parquet",
        "res_t": data / "bench_residential" / "1.0.0" / "table.parquet",
        "ev_t": data / "bench_ev_annual" / "1.0.0" / "table.parquet",
    }
    tables["project_hours"] = pa.table({"timestamp": project_hours.timestamps()})
    start = (project_hours.start - _EPOCH) // timedelta(microseconds=1)
    count = project_hours.count
    spark = {q: spark_sql(sql) for q, sql in _queries(start, count, "spark").items()}
    return HandWritten(parquet, tables, _queries(start, count, "duckdb"), spark)


def _with_units(mapping: pa.Table, project: Project, dataset_id: str) -> pa.Table:
    dataset = next(d for d in project.submitted_datasets if d.dataset_id == dataset_id)
    from_units = {r.id: r.fields.get("unit") for r in dataset.dimensions[METRIC].records}
    to_units = {r.id: r.fields.get("unit") for r in dataset.base_dimensions[METRIC].records}
    factors = [
        unit_factor(from_units.get(f), to_units.get(t), context=dataset_id)
        for f, t in zip(
            mapping.column("from_id").to_pylist(), mapping.column("to_id").to_pylist(), strict=True
        )
    ]
    fractions = [
        x * f for x, f in zip(mapping.column("from_fraction").to_pylist(), factors, strict=True)
    ]
    return mapping.set_column(2, "from_fraction", pa.array(fractions, pa.float64()))


# Each engine's instant ↔ microseconds functions (sqlglot leaves them as written).
_MICROS = {
    "duckdb": ("epoch_us", "make_timestamptz"),
    "spark": ("unix_micros", "timestamp_micros"),
}


def _queries(start_us: int, hours: int, engine: str) -> dict[str, str]:
    length_us = hours * _HOUR_US
    to_us, from_us = _MICROS[engine]
    # Commercial time is period-ending, the project's period-beginning: one hour earlier,
    # and the first hour wraps to the end of the project's range.
    com_time = (
        f"{from_us}(CASE WHEN {to_us}(t.timestamp) - {_HOUR_US} < {start_us} "
        f"THEN {to_us}(t.timestamp) - {_HOUR_US} + {length_us} "
        f"ELSE {to_us}(t.timestamp) - {_HOUR_US} END)"
    )
    com_value = (
        "t.value * COALESCE(l.scaling_factor, 1.0) * ms.from_fraction * mm.from_fraction "
        "* my.from_fraction * sc.from_fraction"
    )
    com_from = (
        "com_t t JOIN com_l l ON t.id = l.id "
        "JOIN com_subsector ms ON l.subsector = ms.from_id "
        "JOIN com_metric mm ON t.metric = mm.from_id "
        "JOIN com_model_year my ON my.from_id = '2018' {year} "
        "JOIN com_scenario sc ON sc.from_id = 'baseline'"
    )
    year = f"AND my.to_id = '{MODEL_YEAR}'"

    def rows(columns: dict[str, tuple[str, str, str]], *, one_year: bool, hourly: bool) -> str:
        """The three datasets' rows with the given columns (com, res, ev expressions)."""
        com = ", ".join(f"{c[0]} AS {n}" for n, c in columns.items())
        res = ", ".join(f"{c[1]} AS {n}" for n, c in columns.items())
        ev = ", ".join(f"{c[2]} AS {n}" for n, c in columns.items())
        ev_value = f"e.value * em.from_fraction / {PERIODS_PER_YEAR}"
        if not hourly:  # the sum of its spread over every project hour, in one row
            ev_value += f" * {hours}"
        return (
            f"SELECT {com}, {com_value} AS value "
            f"FROM {com_from.format(year=year if one_year else '')} "
            f"UNION ALL SELECT {res}, r.value * rm.from_fraction AS value "
            "FROM res_t r JOIN res_metric rm ON r.metric = rm.from_id "
            + (f"WHERE r.model_year = '{MODEL_YEAR}' " if one_year else "")
            + f"UNION ALL SELECT {ev}, {ev_value} AS value "
            "FROM ev_t e JOIN ev_metric em ON e.metric = em.from_id "
            + ("CROSS JOIN project_hours h " if hourly else "")
            + (f"WHERE e.time_year = '{MODEL_YEAR}'" if one_year else "")
        )

    geo = ("l.geography", "r.geography", "e.geography")
    metric = ("mm.to_id", "rm.to_id", "em.to_id")
    time = (com_time, "r.timestamp", "h.timestamp")
    scenario = ("sc.to_id", "r.scenario", "e.scenario")
    model_year = ("my.to_id", "r.model_year", "e.time_year")
    fuel_columns = {"metric": metric, "model_year": model_year}
    queries = {
        "state_enduse_totals": (
            "SELECT s.to_id AS us_states, x.metric, SUM(x.value * s.from_fraction) AS value "
            f"FROM ({rows({'geography': geo, 'metric': metric}, one_year=True, hourly=False)}) x "
            "JOIN states s ON x.geography = s.from_id GROUP BY 1, 2"
        ),
        "state_hourly_profile": (
            "SELECT x.timestamp, SUM(x.value * s.from_fraction) AS value "
            f"FROM ({rows({'geography': geo, 'timestamp': time}, one_year=False, hourly=True)}) x "
            f"JOIN states s ON x.geography = s.from_id AND s.to_id = '{STATE}' "
            "GROUP BY 1 ORDER BY 1"
        ),
        "regional_peak": (
            "SELECT us_census_regions, MAX(value) AS peak FROM ("
            "SELECT g.to_id AS us_census_regions, x.timestamp, "
            "SUM(x.value * g.from_fraction) AS value "
            f"FROM ({rows({'geography': geo, 'timestamp': time}, one_year=True, hourly=True)}) x "
            "JOIN regions g ON x.geography = g.from_id GROUP BY 1, 2) GROUP BY 1"
        ),
        "scenario_difference": (
            "SELECT s.to_id AS us_states, SUM(CASE WHEN x.scenario = 'high_electrification' "
            "THEN x.value ELSE -x.value END * s.from_fraction) AS difference "
            f"FROM ({rows({'geography': geo, 'scenario': scenario}, one_year=True, hourly=False)})"
            " x "
            "JOIN states s ON x.geography = s.from_id GROUP BY 1"
        ),
        "fuel_type_totals": (
            "SELECT f.to_id AS end_uses_by_fuel_type, x.model_year, "
            "SUM(x.value * f.from_fraction) AS value "
            f"FROM ({rows(fuel_columns, one_year=False, hourly=False)}) x "
            "JOIN fuels f ON x.metric = f.from_id GROUP BY 1, 2"
        ),
    }
    export_columns = {
        "geography": geo,
        "sector": ("l.sector", "r.sector", "e.sector"),
        "subsector": ("ms.to_id", "r.subsector", "e.subsector"),
        "metric": metric,
        "model_year": model_year,
        "weather_year": ("'2018'", "'2018'", "'2018'"),
        "scenario": scenario,
        "timestamp": time,
        "dataset_id": ("'bench_commercial'", "'bench_residential'", "'bench_ev_annual'"),
    }
    queries["state_export"] = (
        "COPY (SELECT x.geography, x.sector, x.subsector, x.metric, x.model_year, "
        "x.weather_year, x.scenario, x.timestamp, x.value * s.from_fraction AS value, "
        f"x.dataset_id FROM ({rows(export_columns, one_year=True, hourly=True)}) x "
        f"JOIN states s ON x.geography = s.from_id AND s.to_id = '{STATE}') "
        "TO '{output}' (FORMAT parquet)"
    )
    return queries


def spark_sql(duckdb_sql: str) -> str:
    """The same query for Spark; of a COPY, only the SELECT (the caller writes the file)."""
    tree = sqlglot.parse_one(duckdb_sql, read="duckdb")
    if isinstance(tree, exp.Copy):
        tree = tree.this.unnest() if isinstance(tree.this, exp.Subquery) else tree.this
    return tree.sql(dialect="spark")
