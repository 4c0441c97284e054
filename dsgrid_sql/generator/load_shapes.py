"""Load data of the shapes design_shapes.py configures: representative-period EV charging,
index-time process loads and growth rates.

dsgrid's registration checks decide the layout (dsgrid-format.md §4.3): every time array
(each combination of the stored dimension columns) holds every period exactly once — all
12 × 7 × 24 (or 12 × 2 × 24) representative hours, or every index of the range — and the
time columns have dsgrid's fixed names and integer types (``month`` 1–12, ``day_of_week``
0 = Monday, ``hour`` 0–23, ``is_weekday``, ``time_index``). Values are drawn from generators
seeded by (seed, dataset, …), so a seed fixes the bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .design import DatasetDef, ProjectDef
from .load_data import (
    ROW_GROUP_SIZE,
    _chosen_ids,
    _own_subsectors,
    _rng,
    _strings,
    _write_missing_associations,
)
from .spec import GeneratorSpec

_DIMENSION_COLUMNS = ("geography", "sector", "subsector", "metric")


def write_representative(
    folder: Path, project: ProjectDef, dataset: DatasetDef, spec: GeneratorSpec
) -> int:
    """One charging profile per (county, building type): an evening peak, more on weekends,
    a little more in winter."""
    weekly = dataset.template == "ev_rep_week"
    counties = [c.id for c in project.counties]
    subsectors = _own_subsectors(dataset)
    (metric,) = dataset.dimensions["metric"].record_ids
    k = spec.residential_subsectors_per_county
    rng = _rng(spec, dataset)
    chosen = [np.sort(rng.choice(len(subsectors), size=k, replace=False)) for _ in counties]
    _write_missing_associations(folder, dataset, counties, _chosen_ids(subsectors, chosen))
    county_scale = rng.lognormal(0.0, 0.5, size=len(counties)) * 40.0
    subsector_scale = rng.uniform(0.5, 1.5, size=len(subsectors))

    days = 7 if weekly else 2
    month, day, hour = (a.ravel() for a in np.indices((12, days, 24)))
    month = month + 1
    weekend = day >= 5 if weekly else day == 0  # is_weekday False is the weekend day
    profile = (
        (1.0 + 0.8 * np.exp(-((hour - 19.0) ** 2) / 8.0))
        * np.where(weekend, 1.2, 1.0)
        * (1.0 + 0.1 * np.cos(2 * np.pi * (month - 1) / 12))
    )
    periods = len(profile)
    series = [(ci, int(si)) for ci in range(len(counties)) for si in chosen[ci]]
    n = len(series)
    county_index = np.array([c for c, _ in series])
    subsector_index = np.array([s for _, s in series])
    scale = county_scale[county_index] * subsector_scale[subsector_index]
    values = scale[:, None] * profile[None, :] * rng.lognormal(0.0, 0.1, size=(n, periods))
    columns: dict[str, pa.Array] = {
        "geography": _strings(counties, np.repeat(county_index, periods)),
        "sector": pa.array(["res"] * (n * periods), pa.string()),
        "subsector": _strings(subsectors, np.repeat(subsector_index, periods)),
        "metric": pa.array([metric] * (n * periods), pa.string()),
        "month": pa.array(np.tile(month, n).astype(np.int64)),
    }
    if weekly:
        columns["day_of_week"] = pa.array(np.tile(day, n).astype(np.int64))
    else:
        columns["is_weekday"] = pa.array(np.tile(day == 1, n))
    columns["hour"] = pa.array(np.tile(hour, n).astype(np.int64))
    columns["value"] = pa.array(values.ravel())
    table = pa.table(columns)
    pq.write_table(table, folder / "table.parquet", row_group_size=ROW_GROUP_SIZE)
    return table.num_rows


def write_index(
    folder: Path, project: ProjectDef, dataset: DatasetDef, spec: GeneratorSpec
) -> int:
    """Process loads per (county, building type) and hour index: two shifts a day on a
    flat base."""
    counties = [c.id for c in project.counties]
    subsectors = _own_subsectors(dataset)
    (metric,) = dataset.dimensions["metric"].record_ids
    k = min(spec.commercial_subsectors_per_county, len(subsectors))
    rng = _rng(spec, dataset)
    chosen = [np.sort(rng.choice(len(subsectors), size=k, replace=False)) for _ in counties]
    _write_missing_associations(folder, dataset, counties, _chosen_ids(subsectors, chosen))
    county_scale = rng.lognormal(0.0, 0.6, size=len(counties)) * 900.0
    subsector_scale = rng.uniform(0.3, 2.0, size=len(subsectors))
    index = np.arange(spec.hours, dtype=np.int64)
    hour = index % 24
    profile = 0.6 + 0.4 * ((hour >= 6) & (hour < 22))
    series = [(ci, int(si)) for ci in range(len(counties)) for si in chosen[ci]]
    n = len(series)
    county_index = np.array([c for c, _ in series])
    subsector_index = np.array([s for _, s in series])
    scale = county_scale[county_index] * subsector_scale[subsector_index]
    values = scale[:, None] * profile[None, :] * rng.lognormal(0.0, 0.1, size=(n, spec.hours))
    table = pa.table(
        {
            "geography": _strings(counties, np.repeat(county_index, spec.hours)),
            "sector": pa.array(["com"] * (n * spec.hours), pa.string()),
            "subsector": _strings(subsectors, np.repeat(subsector_index, spec.hours)),
            "metric": pa.array([metric] * (n * spec.hours), pa.string()),
            "time_index": pa.array(np.tile(index, n)),
            "value": pa.array(values.ravel()),
        }
    )
    pq.write_table(table, folder / "table.parquet", row_group_size=ROW_GROUP_SIZE)
    return table.num_rows


def write_growth(
    folder: Path, project: ProjectDef, dataset: DatasetDef, spec: GeneratorSpec
) -> int:
    """A growth rate per (county, residential building type, end use, model year,
    scenario): around 1% a year, higher for electric end uses under electrification."""
    counties = [c.id for c in project.counties]
    subsectors = _own_subsectors(dataset)
    metrics = dataset.dimensions["metric"].record_ids
    years = list(spec.model_years)
    scenarios = list(spec.scenarios)
    _write_missing_associations(folder, dataset, counties, [set(subsectors) for _ in counties])
    rng = _rng(spec, dataset)
    shape = (len(counties), len(subsectors), len(metrics), len(years), len(scenarios))
    rates = rng.uniform(-0.005, 0.025, size=shape)
    grid = np.indices(shape).reshape(len(shape), -1)
    table = pa.table(
        {
            "geography": _strings(counties, grid[0]),
            "sector": pa.array(["res"] * grid.shape[1], pa.string()),
            "subsector": _strings(subsectors, grid[1]),
            "metric": _strings(list(metrics), grid[2]),
            "model_year": _strings(years, grid[3]),
            "scenario": _strings(scenarios, grid[4]),
            "value": pa.array(rates.ravel()),
        }
    )
    pq.write_table(table, folder / "table.parquet")
    return table.num_rows
