"""Configurations of the dataset shapes real projects add to the three basic ones:
representative-period time (TEMPO's vehicle charging), index time (the IEF/DECARB industry
data), and growth rates with the initial values they grow (Standard Scenarios).

Each function returns a :class:`DatasetDef` for design.py, which hands them the project's
base dimensions; load_shapes.py writes their Parquet. dsgrid's own rules for these shapes
(dsgrid-format.md §4.3; dsgrid 0.4's config models) decide every field: a representative
dataset covers all 12 months (``ranges: [{start: 1, end: 12}]``), an index dataset has one
range with a starting timestamp, and both read time in their geography's time zone — from
their own geography records, or from the project's when they set
``use_project_geography_time_zone``.
"""

from __future__ import annotations

from datetime import datetime

from .design import (
    SUBSECTOR_GROUP,
    SUBSECTOR_SELECTORS,
    DatasetDef,
    DimensionDef,
    MappingDef,
)
from .spec import GeneratorSpec

# The EV and process datasets come from one model year and one scenario, grown onto the
# project's years as the commercial data is.
BASE_YEAR = "2020"
PROCESS_END_USE = "plug_loads"


def representative_dataset(
    spec: GeneratorSpec,
    dataset_id: str,
    template: str,
    index: int,
    base: dict[str, DimensionDef],
    ev_metric: DimensionDef,
) -> DatasetDef:
    """Weekly (``ev_rep_week``: month × day of week × hour, period-beginning, the dataset's
    own geography zones) or weekday/weekend (``ev_rep_weekday``: month × weekday flag × hour,
    period-ending, zones from the project's geography records) EV charging profiles."""
    weekly = template == "ev_rep_week"
    fmt = (
        "one_week_per_month_by_hour"
        if weekly
        else "one_weekday_day_and_one_weekend_day_per_month_by_hour"
    )
    interval = "period_beginning" if weekly else "period_ending"
    time = DimensionDef(
        # dsgrid allows letters, digits, _, - and spaces in names (REGEX_VALID_REGISTRY_NAME).
        f"Representative {'Week' if weekly else 'Weekday and Weekend Day'} per Month - "
        f"{interval.replace('_', ' ')}",
        "time",
        "Time",
        f"Hourly profiles of a representative {'week' if weekly else 'weekday and weekend day'}"
        " per month, in local time.",
        time={
            "time_type": "representative_period",
            "measurement_type": "total",
            "format": fmt,
            "ranges": [{"start": 1, "end": 12}],
            "time_interval_type": interval,
        },
    )
    geography = base["geography"]
    if not weekly:
        # Geography records without time zones (TEMPO's own county list): the zones come
        # from the project's geography, which this dataset's ids equal.
        geography = DimensionDef(
            "Counties - Charging Model",
            "geography",
            "County",
            "The charging model's counties; time zones come from the project's geography.",
            [{"id": r["id"], "name": r["name"], "state": r["state"]} for r in geography.records],
        )
    dims, mappings = _grown_dimensions(spec, template, base, ev_metric, geography)
    if not weekly:
        mappings.insert(
            0,
            MappingDef(
                geography,
                base["geography"],
                "one_to_one",
                "The charging model's counties are the project's.",
                [
                    {"from_id": r["id"], "to_id": r["id"], "from_fraction": 1.0}
                    for r in geography.records
                ],
            ),
        )
    dims["time"] = time
    bases = dict(base)
    if spec.ev_metric_base:
        bases["metric"] = ev_metric
    else:
        mappings.append(
            MappingDef(
                ev_metric,
                base["metric"],
                "one_to_one",
                "EV charging is one of the project end uses.",
                [{"from_id": r, "to_id": r, "from_fraction": 1.0} for r in ev_metric.record_ids],
            )
        )
    return DatasetDef(
        dataset_id,
        template,
        "one_table",
        f"Electric-vehicle charging (generated), representative periods ({fmt}).",
        "tempo-like",
        dims,
        ["weather_year", "model_year", "scenario"],
        mappings,
        bases,
        index,
        "res",
        (SUBSECTOR_GROUP, SUBSECTOR_SELECTORS["res"]),
        list(ev_metric.record_ids),
        use_project_geography_time_zone=not weekly,
    )


def index_dataset(
    spec: GeneratorSpec,
    dataset_id: str,
    template: str,
    index: int,
    base: dict[str, DimensionDef],
) -> DatasetDef:
    """Industrial process loads with index time: ``industry_index`` is period-beginning with
    the spring-forward hour dropped and the fall-back hour duplicated; ``industry_index_pe``
    is period-ending with the fall-back hour interpolated. Index 0 is the project's first
    hour as local wall clock; every county's zone differs, so time wraps into the year."""
    ending = template == "industry_index_pe"
    interval = "period_ending" if ending else "period_beginning"
    first = datetime(spec.weather_year, 1, 1, 1 if ending else 0)
    time = DimensionDef(
        f"Hour Index {spec.weather_year} - {interval.replace('_', ' ')}",
        "time",
        "Time",
        f"{spec.hours} hourly periods counted from {first:%Y-%m-%d %H:%M} local time.",
        time={
            "time_type": "index",
            "measurement_type": "total",
            "ranges": [
                {
                    "start": 0,
                    "end": spec.hours - 1,
                    "starting_timestamp": first.strftime("%Y-%m-%d %H:%M:%S"),
                    "str_format": "%Y-%m-%d %H:%M:%S",
                    "frequency": "PT1H",
                }
            ],
            "time_interval_type": interval,
        },
    )
    metric = DimensionDef(
        "Industrial Process Loads - Dataset",
        "metric",
        "EnergyEndUse",
        "Process electricity as the industrial model reports it, in kWh.",
        [
            {
                "id": "process_electricity",
                "name": "Process Electricity",
                "fuel_id": "electricity",
                "unit": "kWh",
            }
        ],
    )
    dims, mappings = _grown_dimensions(spec, template, base, metric, base["geography"])
    mappings.append(
        MappingDef(
            metric,
            base["metric"],
            "many_to_one_aggregation",
            "Process electricity counts as plug and process loads.",
            [{"from_id": "process_electricity", "to_id": PROCESS_END_USE, "from_fraction": 1.0}],
        )
    )
    dims["time"] = time
    adjustment = {
        "spring_forward_hour": "drop",
        "fall_back_hour": "interpolate" if ending else "duplicate",
    }
    return DatasetDef(
        dataset_id,
        template,
        "one_table",
        f"Industrial process loads (generated), index time ({interval}).",
        "industry-like",
        dims,
        ["weather_year", "model_year", "scenario"],
        mappings,
        dict(base),
        index,
        "com",
        (SUBSECTOR_GROUP, SUBSECTOR_SELECTORS["com"]),
        [PROCESS_END_USE],
        wrap_time_allowed=True,
        daylight_saving_adjustment=adjustment,
    )


def _grown_dimensions(
    spec: GeneratorSpec,
    template: str,
    base: dict[str, DimensionDef],
    metric: DimensionDef,
    geography: DimensionDef,
) -> tuple[dict[str, DimensionDef], list[MappingDef]]:
    """One model year and one scenario, mapped onto the project's years with growth and
    duplicated onto its scenarios: the data itself stays one profile per series."""
    model_year = DimensionDef(
        f"Model Year {BASE_YEAR} - {template}",
        "model_year",
        "ModelYear",
        "The one model year of the runs.",
        [{"id": BASE_YEAR, "name": BASE_YEAR}],
    )
    scenario = DimensionDef(
        f"Single Scenario - {template}",
        "scenario",
        "Scenario",
        "The runs have no scenario variation.",
        [{"id": "baseline", "name": "Baseline"}],
    )
    growth = {y: round(1.0 + 0.08 * (int(y) - int(BASE_YEAR)) / 10, 6) for y in spec.model_years}
    mappings = [
        MappingDef(
            model_year,
            base["model_year"],
            "one_to_many_explicit_multipliers",
            "The run's model year to the project's, with growth.",
            [{"from_id": BASE_YEAR, "to_id": y, "from_fraction": g} for y, g in growth.items()],
        ),
        MappingDef(
            scenario,
            base["scenario"],
            "duplication",
            "The single scenario applies to every project scenario.",
            [{"from_id": "baseline", "to_id": s, "from_fraction": 1.0} for s in spec.scenarios],
        ),
    ]
    dims: dict[str, DimensionDef] = {
        "geography": geography,
        "sector": base["sector"],
        "subsector": base["subsector"],
        "metric": metric,
        "weather_year": base["weather_year"],
        "model_year": model_year,
        "scenario": scenario,
    }
    return dims, mappings


def growth_dataset(
    spec: GeneratorSpec, dataset_id: str, index: int, base: dict[str, DimensionDef]
) -> DatasetDef:
    """Annual growth rates of residential energy per county, building type, end use, model
    year and scenario (Standard Scenarios' AEO growth factors), with no time (NoOp): the
    factors a projection grows an initial-value dataset by."""
    time = DimensionDef(
        "No Time - Growth Rates",
        "time",
        "NoOpTime",
        "Growth rates have no time.",
        time={"time_type": "noop"},
    )
    dims = {
        "geography": base["geography"],
        "sector": base["sector"],
        "subsector": base["subsector"],
        "metric": base["metric"],
        "weather_year": base["weather_year"],
        "model_year": base["model_year"],
        "scenario": base["scenario"],
        "time": time,
    }
    return DatasetDef(
        dataset_id,
        "growth",
        "one_table",
        "Annual growth rates of residential energy use (generated), no time.",
        "aeo-like",
        dims,
        ["weather_year"],
        [],
        dict(base),
        index,
        "res",
        (SUBSECTOR_GROUP, SUBSECTOR_SELECTORS["res"]),
        list(base["metric"].record_ids),
        qualifier={
            "dataset_qualifier_type": "growth_rate",
            "growth_rate_type": "exponential_annual",
        },
    )
