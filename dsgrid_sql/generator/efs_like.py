"""A registry shaped like dsgrid's own ``test_efs`` test project, with generated values.

dsgrid's test suite registers a small ComStock project, ``test_efs``: eight counties in four
states, commercial building types, two end uses in different units, one dataset model year
spread over five project model years with multipliers, a dataset stored as two tables and
the same data as one table, and a third dataset registered but never submitted. Real-world
shapes in little space, which is why this project's tests were written against it.

:func:`generate_efs_like` writes a registry with the same *structure* — project and dataset
ids, dimension names and record ids (public facts: county FIPS codes, states, census
divisions, the DOE prototype building types), mapping types and fractions, three project
versions, the time configurations — and load values drawn from a seed. So the test suite
runs from a clone of this repository alone; the values differ from dsgrid's fixture, and
tests that compare numbers take dsgrid's answers for this registry from files dsgrid
computed (``make dsgrid-expected``).

The one oddity of the original kept on purpose: ``test_efs_comstock_time_in_parts`` is
registered with a time-in-parts time dimension while its Parquet holds a ``timestamp``
column, as dsgrid's fixture does (readers must trust the Parquet).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .design import (
    BASE_MODULE,
    TIME_FORMAT,
    TIME_ZONE,
    DatasetDef,
    DimensionDef,
    MappingDef,
    ProjectDef,
    _assign_ids,
    all_supplementals,
    subset_group,
)
from .geography import County, State

PROJECT_ID = "test_efs"
YEAR = 2012
HOURS = 168  # the first week of 2012
UNPIVOTED, COMSTOCK, TIME_IN_PARTS = (
    "test_efs_comstock_unpivoted",
    "test_efs_comstock",
    "test_efs_comstock_time_in_parts",
)

# FIPS id, county, state, IANA zone.
COUNTIES = (
    ("06073", "San Diego County", "CA", "America/Los_Angeles"),
    ("06075", "San Francisco County", "CA", "America/Los_Angeles"),
    ("48141", "El Paso County", "TX", "America/Chicago"),
    ("48201", "Harris County", "TX", "America/Chicago"),
    ("36001", "Albany County", "NY", "America/New_York"),
    ("36119", "Westchester County", "NY", "America/New_York"),
    ("08031", "Denver County", "CO", "America/Denver"),
    ("08059", "Jefferson County", "CO", "America/Denver"),
)
# State → (name, census division, census region).
STATES = {
    "CA": ("California", "pacific", "west"),
    "CO": ("Colorado", "mountain", "west"),
    "TX": ("Texas", "west_south_central", "south"),
    "NY": ("New York", "mid_atlantic", "northeast"),
}
DIVISIONS = {
    "pacific": "Pacific",
    "west_south_central": "West South Central",
    "mountain": "Mountain",
    "mid_atlantic": "Mid Atlantic",
}
REGIONS = {"west": "West", "south": "South", "northeast": "Northeast"}
# The DOE commercial prototype buildings ComStock models, and the one residential prototype
# that dsgrid's test project files under the residential subset.
BUILDING_TYPES = {
    "FullServiceRestaurant": "Full Service Restaurant",
    "Hospital": "Hospital",
    "LargeHotel": "Large Hotel",
    "LargeOffice": "Large Office",
    "MediumOffice": "Medium Office",
    "MidriseApartment": "Midrise Apartment Building",
    "Outpatient": "Outpatient Treatment Facility",
    "PrimarySchool": "Primary School",
    "QuickServiceRestaurant": "Quick Service Restaurant",
    "SmallHotel": "Small Hotel",
    "SmallOffice": "Small Office",
    "StandaloneRetail": "Standalone Retail Store",
    "StripMall": "Strip Mall",
    "Warehouse": "Warehouse",
}
RESIDENTIAL = ("MidriseApartment",)
# Dataset subsector → project subsector multipliers (0.9, 1.0, 1.1, 1.2 in turn).
SUBSECTOR_MULTIPLIERS = (0.9, 1.0, 1.1, 1.2)
# Project end uses: id → (name, unit); the dataset states both in MWh, so cooling converts.
END_USES = {"fans": ("Fans", "MWh"), "cooling": ("Space Cooling", "kWh")}
END_USE_MULTIPLIERS = {"fans": 0.9, "cooling": 1.0}
# The dataset's one model year spread over the project's, growing 10 % a decade.
MODEL_YEARS = {"2010": 0.9, "2020": 1.0, "2030": 1.1, "2040": 1.2, "2050": 1.3}
DATASET_MODEL_YEAR = "2012"
EST = timezone(timedelta(hours=-5))


def design_efs_like(seed: int = 0) -> ProjectDef:
    """Every configuration of the test_efs-shaped registry."""

    def dim(name: str, dim_type: str, cls: str, description: str, records: list[dict],
            **kw: Any) -> DimensionDef:  # fmt: skip
        return DimensionDef(name, dim_type, cls, description, records, **kw)

    county_records = [
        {"id": fips, "name": name, "time_zone": zone, "state": state}
        for fips, name, state, zone in COUNTIES
    ]
    geography = dim(
        "US Counties 2010 - ComStock Only",
        "geography",
        "County",
        "US counties with ComStock data: FIPS ids, state and IANA time zone.",
        county_records,
    )
    sector = dim(
        "EFS Sectors - ComStock Only",
        "sector",
        "Sector",
        "Commercial and residential sectors.",
        [
            {"id": "com", "name": "Commercial", "category": ""},
            {"id": "res", "name": "Residential", "category": ""},
        ],
    )

    def building_types(prefix: str = "", only: tuple[str, ...] | None = None) -> list[dict]:
        return [
            {"id": f"{prefix}{k}", "name": v, "sector": "", "abbr": ""}
            for k, v in BUILDING_TYPES.items()
            if only is None or k in only
        ]

    subsector = dim(
        "ComStock Subsectors EFS",
        "subsector",
        "Subsector",
        "The 14 DOE prototype buildings ComStock models.",
        building_types(),
    )
    metric = dim(
        "EFS Detailed End Uses - ComStock Only",
        "metric",
        "EnergyEndUse",
        "End uses of the study, each in its own unit.",
        [
            {"id": k, "name": n, "fuel_id": "electricity", "unit": u}
            for k, (n, u) in END_USES.items()
        ],
    )
    weather_year = dim(
        f"{YEAR} Weather Year",
        "weather_year",
        "WeatherYear",
        f"Weather year {YEAR}.",
        [{"id": str(YEAR), "name": str(YEAR)}],
    )
    model_year = dim(
        "Model Years 2010 to 2050",
        "model_year",
        "ModelYear",
        "Model years every decade from 2010 to 2050.",
        [{"id": y, "name": y} for y in MODEL_YEARS],
    )
    scenario = dim(
        "Reference Scenario",
        "scenario",
        "Scenario",
        "The reference scenario.",
        [{"id": "baseline", "name": "Baseline"}],
    )
    project_time = dim(
        "Time-2012-EST-hourly-periodBeginning-noDST-noLeapDayAdjustment-total",
        "time",
        "Time",
        "Hourly 2012 EST, period-beginning, no daylight saving, first week.",
        [],
        time=_time("period_beginning", {"dtype": "timestamp_tz", "time_column": "timestamp"}),
    )
    bases = [geography, sector, subsector, metric, weather_year, model_year, scenario]
    bases.append(project_time)

    commercial = tuple(k for k in BUILDING_TYPES if k not in RESIDENTIAL)
    selectors = [
        dim(
            "commercial_subsectors2",
            "subsector",
            "Subsector",
            "Commercial building types (subset selector).",
            building_types(only=commercial),
        ),
        dim(
            "residential_subsectors",
            "subsector",
            "Subsector",
            "Residential building types (subset selector).",
            building_types(only=RESIDENTIAL),
        ),
    ]
    group = subset_group("Subsectors by Sector", subsector, selectors)

    def from_counties(target: DimensionDef, description: str, key: int) -> MappingDef:
        def to_id(state: str) -> str:
            return state if key < 0 else STATES[state][key]

        records = [
            {"from_id": fips, "to_id": to_id(state), "from_fraction": 1.0}
            for fips, _, state, _ in COUNTIES
        ]
        return MappingDef(geography, target, "many_to_one_aggregation", description, records)

    states = dim(
        "US States",
        "geography",
        "State",
        "US states.",
        [
            {
                "id": a,
                "name": n,
                "time_zone": None,
                "is_conus": True,
                "census_division": d,
                "census_region": r,
            }
            for a, (n, d, r) in STATES.items()
        ],
    )
    divisions = dim(
        "US Census Divisions",
        "geography",
        "CensusDivision",
        "US census divisions.",
        [{"id": k, "name": v, "time_zone": None} for k, v in DIVISIONS.items()],
    )
    regions = dim(
        "US Census Regions",
        "geography",
        "CensusRegion",
        "US census regions.",
        [{"id": k, "name": v, "time_zone": None} for k, v in REGIONS.items()],
    )
    commercial_all = dim(
        "Commercial Subsectors",
        "subsector",
        "SubsectorDimensionBaseModel",
        "All commercial building types as one.",
        [{"id": "commercial_subsectors", "name": "Commercial Subsectors"}],
        module=BASE_MODULE,
    )
    five_year = dim(
        "Five Year Intervals",
        "model_year",
        "ModelYear",
        "Five-year intervals from 2010 to 2050.",
        [{"id": str(y), "name": str(y)} for y in range(2010, 2051, 5)],
    )
    five_year_records = []
    for year in MODEL_YEARS:
        y = int(year)
        five_year_records.append({"from_id": year, "to_id": year, "from_fraction": 1.0})
        if y > 2010:
            five_year_records.append({"from_id": year, "to_id": str(y - 5), "from_fraction": 0.5})
        if y < 2050:
            five_year_records.append({"from_id": year, "to_id": str(y + 5), "from_fraction": 0.5})
    five_year_records.sort(key=lambda r: (r["to_id"], r["from_id"]))
    supplementals: list[tuple[DimensionDef, MappingDef]] = [
        (group.supplemental, group.mapping),
        (states, from_counties(states, "Counties to states.", -1)),
        (divisions, from_counties(divisions, "Counties to census divisions.", 1)),
        (regions, from_counties(regions, "Counties to census regions.", 2)),
        (
            commercial_all,
            MappingDef(
                subsector,
                commercial_all,
                "many_to_one_aggregation",
                "Commercial building types to one record; residential ones are dropped.",
                [
                    {
                        "from_id": r,
                        "to_id": None if r in RESIDENTIAL else "commercial_subsectors",
                        "from_fraction": 1.0,
                    }
                    for r in subsector.record_ids
                ],
            ),
        ),
        (
            five_year,
            MappingDef(
                model_year,
                five_year,
                "many_to_one_assignment",
                "Decades to five-year intervals, halves in between.",
                five_year_records,
            ),
        ),
    ]
    supplementals += all_supplementals(
        PROJECT_ID, (geography, sector, subsector, weather_year, model_year, scenario)
    )

    # The datasets' own dimensions: prefixed building types, end uses in MWh, one model year.
    dataset_subsector = dim(
        "ComStock Subsectors EFS with formatted prefix",
        "subsector",
        "Subsector",
        "ComStock building types with the sector as prefix.",
        building_types("com__"),
    )
    dataset_metric = dim(
        "ComStock End Uses",
        "metric",
        "EnergyEndUse",
        "ComStock end uses, in MWh.",
        [
            {"id": f"com_{k}", "name": n, "fuel_id": "electricity", "unit": "MWh"}
            for k, (n, _) in END_USES.items()
        ],
    )
    dataset_model_year = dim(
        f"Model Year {DATASET_MODEL_YEAR}",
        "model_year",
        "ModelYear",
        f"Model year {DATASET_MODEL_YEAR} only.",
        [{"id": DATASET_MODEL_YEAR, "name": DATASET_MODEL_YEAR}],
    )
    ending = "Time-2012-EST-hourly-periodEnding-noDST-noLeapDayAdjustment-total-UTChour1start"
    dataset_time = dim(
        ending,
        "time",
        "Time",
        "Hourly 2012 EST, period-ending, no daylight saving, first week.",
        [],
        time=_time("period_ending", {"dtype": "timestamp_tz", "time_column": "timestamp"}),
    )
    parts_time = dim(
        f"{ending}-timeinparts",
        "time",
        "Time",
        "As the period-ending time, stated as year, month, day and hour columns.",
        [],
        time=_time(
            "period_ending",
            {
                "dtype": "time_format_in_parts",
                "year_column": "year",
                "month_column": "month",
                "day_column": "day",
                "hour_column": "hour",
                "offset_column": None,
            },
        ),
    )
    mappings = [
        MappingDef(
            dataset_model_year,
            model_year,
            "one_to_many_explicit_multipliers",
            "The dataset's model year to the project's, with growth multipliers.",
            [
                {"from_id": DATASET_MODEL_YEAR, "to_id": y, "from_fraction": f}
                for y, f in MODEL_YEARS.items()
            ],
        ),
        MappingDef(
            dataset_metric,
            metric,
            "one_to_one_explicit_multipliers",
            "ComStock end uses to the project's.",
            [
                {"from_id": f"com_{k}", "to_id": k, "from_fraction": END_USE_MULTIPLIERS[k]}
                for k in END_USES
            ],
        ),
        MappingDef(
            dataset_subsector,
            subsector,
            "one_to_one_explicit_multipliers",
            "Prefixed building types to the project's.",
            [
                {
                    "from_id": f"com__{k}",
                    "to_id": k,
                    "from_fraction": SUBSECTOR_MULTIPLIERS[i % len(SUBSECTOR_MULTIPLIERS)],
                }
                # Commercial types take the multipliers in turn, then the residential one.
                for i, k in enumerate([*commercial, *RESIDENTIAL])
            ],
        ),
    ]
    base_map = {d.type: d for d in bases}

    def dataset(dataset_id: str, index: int, table_format: str, time: DimensionDef) -> DatasetDef:
        dims = {
            "geography": geography,
            "sector": sector,
            "subsector": dataset_subsector,
            "metric": dataset_metric,
            "weather_year": weather_year,
            "model_year": dataset_model_year,
            "scenario": scenario,
            "time": time,
        }
        return DatasetDef(
            dataset_id=dataset_id,
            template="commercial",
            table_format=table_format,
            description=f"Generated ComStock-shaped load data ({table_format}).",
            data_source="comstock",
            dimensions=dims,
            trivial=["weather_year", "model_year", "scenario"],
            mappings=mappings,
            bases=base_map,
            index=index,
            sector="com",
            subsector_selector=(group.name, "commercial_subsectors2"),
            metric_ids=["__all__"],
        )

    # As in dsgrid's fixture: the project lists the two-table dataset first, the unpivoted
    # one is registered and submitted first (project 1.1.0), then the two-table one (1.2.0);
    # the time-in-parts one is registered but not listed in the project.
    datasets = [
        dataset(COMSTOCK, 1, "two_table", dataset_time),
        dataset(UNPIVOTED, 0, "one_table", dataset_time),
    ]
    unlisted = [dataset(TIME_IN_PARTS, 2, "two_table", parts_time)]
    counties = [
        County(fips, name, State(fips[:2], state, STATES[state][0], STATES[state][1], zone))
        for fips, name, state, zone in COUNTIES
    ]
    project = ProjectDef(
        PROJECT_ID,
        "Test EFS project (generated values)",
        "A project shaped like dsgrid's test_efs, with generated load values.",
        bases,
        [group],
        supplementals,
        datasets,
        counties,
        unlisted=unlisted,
        submission_order=(UNPIVOTED, COMSTOCK),
    )
    _assign_ids(project, seed)
    return project


def _time(interval: str, column_format: dict[str, Any]) -> dict[str, Any]:
    start = datetime(YEAR, 1, 1, 1 if interval == "period_ending" else 0)
    end = start + timedelta(hours=HOURS - 1)
    return {
        "time_type": "datetime",
        "column_format": column_format,
        "time_zone_format": {"format_type": "aligned_in_absolute_time", "time_zone": TIME_ZONE},
        "measurement_type": "total",
        "ranges": [
            {
                "start": start.strftime(TIME_FORMAT),
                "end": end.strftime(TIME_FORMAT),
                "str_format": TIME_FORMAT,
                "frequency": "PT1H",
            }
        ],
        "time_interval_type": interval,
    }


# -- load data --------------------------------------------------------------------------------


def write_efs_like_data(folder: Path, project: ProjectDef, dataset: DatasetDef, seed: int) -> int:
    """Parquet of one dataset (table, and the lookup for two_table), with the association
    files dsgrid's registration check reads; rows of values written."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 2012])  # the same values for every dataset, as in EFS
    counties = [c[0] for c in COUNTIES]
    subsectors = dataset.dimensions["subsector"].record_ids
    # The residential building type's rows are in sector res, the others in com.
    sector_of = {s: "res" if s.removeprefix("com__") in RESIDENTIAL else "com" for s in subsectors}
    associated = [(sector_of[s], s) for s in subsectors]
    unassociated = [("res" if sector == "com" else "com", s) for sector, s in associated]
    pairs = [(c, s) for c in counties for s in subsectors]
    # Six county/building pairs without data, listed as missing associations.
    commercial = [p for p in pairs if sector_of[p[1]] == "com"]
    missing = {commercial[int(i)] for i in rng.choice(len(commercial), size=6, replace=False)}
    present = [p for p in pairs if p not in missing]
    end_uses = dataset.dimensions["metric"].record_ids
    hours = np.arange(HOURS)
    # Period-ending: the first value covers the hour ending 01:00 EST.
    start = datetime(YEAR, 1, 1, 1, tzinfo=EST)
    timestamps = int(start.timestamp()) * 1_000_000 + hours * 3_600_000_000
    local_hour = (hours + 1) % 24
    daily = 1.0 + 0.5 * np.sin(2 * np.pi * (local_hour - 9) / 24)
    scale = rng.uniform(0.2, 3.0, size=len(present))
    values = []
    for metric in end_uses:
        noise = rng.lognormal(0.0, 0.1, size=(len(present), HOURS))
        block = scale[:, None] * daily[None, :] * noise
        if "cooling" in metric:
            # Winter nights need no cooling: exact zeros, as real ComStock data has.
            block = np.where(local_hour[None, :] < 7, 0.0, block * 0.05)
        values.append(block)
    data = np.stack(values, axis=1)  # (pair, metric, hour)
    n_pairs, n_metrics = len(present), len(end_uses)
    pair_index = np.repeat(np.arange(n_pairs), n_metrics * HOURS)
    metric_index = np.tile(np.repeat(np.arange(n_metrics), HOURS), n_pairs)
    hour_index = np.tile(hours, n_pairs * n_metrics)
    columns = {
        "timestamp": pa.array(timestamps[hour_index], pa.timestamp("us", tz="UTC")),
        "metric": pa.array([end_uses[i] for i in metric_index], pa.string()),
        "value": pa.array(data.reshape(-1), pa.float64()),
    }
    if dataset.table_format == "one_table":
        table = pa.table(
            {
                "timestamp": columns["timestamp"],
                "geography": pa.array([present[i][0] for i in pair_index], pa.string()),
                "sector": pa.array([sector_of[present[i][1]] for i in pair_index], pa.string()),
                "subsector": pa.array([present[i][1] for i in pair_index], pa.string()),
                "metric": columns["metric"],
                "value": columns["value"],
            }
        )
        pq.write_table(table, folder / "table.parquet")
        _associations(folder, "missing_associations", "sector__subsector", unassociated)
    else:
        ids = np.arange(1, n_pairs + 1, dtype=np.int64) * 7
        lookup = pa.table(
            {
                "geography": pa.array([c for c, _ in present], pa.string()),
                "sector": pa.array([sector_of[s] for _, s in present], pa.string()),
                "subsector": pa.array([s for _, s in present], pa.string()),
                "id": pa.array(ids, pa.int64()),
            }
        )
        table = pa.table(
            {
                "id": pa.array(ids[pair_index].astype(np.int32), pa.int32()),
                "timestamp": columns["timestamp"],
                "metric": columns["metric"],
                "value": columns["value"],
            }
        )
        pq.write_table(table, folder / "table.parquet")
        pq.write_table(lookup, folder / "lookup_table.parquet")
        _associations(folder, "expected_associations", "sector__subsector", associated)
    _associations(folder, "missing_associations", "geography__subsector", sorted(missing))
    return table.num_rows


def _associations(folder: Path, kind: str, name: str, pairs: list[tuple[str, str]]) -> None:
    left, right = name.split("__")
    target = folder / kind
    target.mkdir(exist_ok=True)
    table = pa.table(
        {
            left: pa.array([a for a, _ in pairs], pa.string()),
            right: pa.array([b for _, b in pairs], pa.string()),
        }
    )
    pq.write_table(table, target / f"{name}.parquet")
