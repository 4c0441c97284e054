"""Load data of generated datasets, streamed to Parquet chunk by chunk.

Rows are produced per block of counties with numpy and appended to a ``ParquetWriter``, so
memory stays bounded by one block whatever the scale. Values follow a daily and seasonal
shape per end use, scaled per county and building type, with multiplicative noise; every
draw comes from a generator seeded by (seed, dataset, block), so a seed fixes the bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .design import (
    COMMERCIAL_DATASET_END_USES,
    RESIDENTIAL_DATASET_END_USES,
    DatasetDef,
    ProjectDef,
)
from .spec import GeneratorSpec

ROWS_PER_BLOCK = 2_000_000
ROW_GROUP_SIZE = 1_000_000
EST = timezone(timedelta(hours=-5))
TIMESTAMP = pa.timestamp("us", tz="UTC")


def write_dataset(
    folder: Path, project: ProjectDef, dataset: DatasetDef, spec: GeneratorSpec
) -> int:
    """Write ``table.parquet`` (and ``lookup_table.parquet``) for one dataset; rows written."""
    folder.mkdir(parents=True, exist_ok=True)
    if dataset.template == "commercial":
        return _commercial(folder, project, dataset, spec)
    if dataset.template == "residential":
        return _residential(folder, project, dataset, spec)
    if dataset.template == "ev_annual":
        return _ev_annual(folder, project, dataset, spec)
    # Imported here: load_shapes builds on this module's helpers.
    from . import load_shapes

    if dataset.template in ("ev_rep_week", "ev_rep_weekday"):
        return load_shapes.write_representative(folder, project, dataset, spec)
    if dataset.template in ("industry_index", "industry_index_pe"):
        return load_shapes.write_index(folder, project, dataset, spec)
    return load_shapes.write_growth(folder, project, dataset, spec)


def _rng(spec: GeneratorSpec, dataset: DatasetDef, *more: int) -> np.random.Generator:
    return np.random.default_rng([spec.seed, dataset.index, *more])


def _hour_offsets(spec: GeneratorSpec) -> np.ndarray:
    return np.arange(spec.hours, dtype=np.int64)


def _timestamps_us(spec: GeneratorSpec, first_local_hour: int) -> np.ndarray:
    start = datetime(spec.weather_year, 1, 1, first_local_hour, tzinfo=EST)
    start_us = int(start.timestamp()) * 1_000_000
    return start_us + _hour_offsets(spec) * 3_600_000_000


def _profiles(spec: GeneratorSpec, end_uses: list[str], first_local_hour: int) -> np.ndarray:
    """(end use, hour) shape factors around 1: a daily cycle and a season per end use."""
    local_hour = (first_local_hour + _hour_offsets(spec)) % 24
    day = ((first_local_hour + _hour_offsets(spec)) // 24) / 365.0
    daily = 1.0 + 0.45 * np.sin(2 * np.pi * (local_hour - 9) / 24)
    rows = []
    for end_use in end_uses:
        if "cooling" in end_use:
            season = 1.0 - 0.8 * np.cos(2 * np.pi * day)
        elif "heating" in end_use:
            season = 1.0 + 0.8 * np.cos(2 * np.pi * day)
        else:
            season = np.ones_like(day)
        rows.append(np.clip(daily * season, 0.05, None))
    return np.vstack(rows)


def _county_blocks(count: int, rows_per_county: int) -> Iterator[tuple[int, int]]:
    step = max(1, ROWS_PER_BLOCK // max(1, rows_per_county))
    for start in range(0, count, step):
        yield start, min(count, start + step)


def _strings(values: list[str], indices: np.ndarray) -> pa.Array:
    """A plain string column from indices into ``values`` (built as a dictionary, decoded)."""
    dictionary = pa.array(values, type=pa.string())
    encoded = pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), dictionary)
    return encoded.dictionary_decode()


def _write_missing_associations(
    folder: Path, dataset: DatasetDef, counties: list[str], chosen: list[set[str]]
) -> None:
    """List the dimension combinations the data lacks, as dsgrid's registration check needs:
    it requires the cross product of the dataset's dimension records minus the rows matching
    a ``missing_associations/<col>__<col>.parquet`` table (dataset_schema_handler_base.py::
    _check_dimension_associations). The data covers one sector, and in it the subsectors
    ``chosen`` per county. Pairs from other sectors go to ``sector__subsector`` (as in
    test_efs), the unchosen subsectors of the dataset's sector to ``geography__subsector``.
    """
    sectors = dataset.dimensions["sector"].record_ids
    subsectors = dataset.dimensions["subsector"].records
    own = [r["id"] for r in subsectors if r["sector"] == dataset.sector]
    other_sector = [
        (sector, r["id"])
        for sector in sectors
        for r in subsectors
        if sector != dataset.sector or r["sector"] != dataset.sector
    ]
    unchosen = [
        (c, s) for c, picked in zip(counties, chosen, strict=True) for s in own if s not in picked
    ]
    target = folder / "missing_associations"
    for name, pairs in (
        ("sector__subsector", other_sector),
        ("geography__subsector", unchosen),
    ):
        if not pairs:
            continue
        left, right = name.split("__")
        target.mkdir(exist_ok=True)
        table = pa.table(
            {
                left: pa.array([a for a, _ in pairs], pa.string()),
                right: pa.array([b for _, b in pairs], pa.string()),
            }
        )
        pq.write_table(table, target / f"{name}.parquet")


def _commercial(
    folder: Path, project: ProjectDef, dataset: DatasetDef, spec: GeneratorSpec
) -> int:
    counties = [c.id for c in project.counties]
    subsectors = _own_subsectors(dataset)
    end_uses = dataset.dimensions["metric"].record_ids
    k = spec.commercial_subsectors_per_county
    rng = _rng(spec, dataset)
    chosen = [np.sort(rng.choice(len(subsectors), size=k, replace=False)) for _ in counties]
    county_scale = rng.lognormal(0.0, 0.6, size=len(counties)) * 800.0
    subsector_scale = rng.uniform(0.3, 2.0, size=len(subsectors))
    end_use_scale = rng.uniform(0.2, 1.0, size=len(end_uses))
    # therm-valued end uses are ~34x smaller numbers than kWh for the same energy.
    end_use_scale *= [
        0.03 if COMMERCIAL_DATASET_END_USES[e][2] == "therm" else 1.0 for e in end_uses
    ]

    lookup_county = np.repeat(np.arange(len(counties)), k)
    lookup_subsector = np.concatenate(chosen)
    n_ids = len(lookup_county)
    ids = np.arange(1, n_ids + 1, dtype=np.int64)
    scaling = rng.uniform(0.8, 1.2, size=n_ids)
    # Half the rows are unscaled. dsgrid's query treats a null scaling factor as 1, but its
    # registration rejects any null in the lookup table (dataset_schema_handler_two_table.py::
    # _check_lookup_data_consistency), so unscaled rows say 1.0.
    scaling[rng.random(n_ids) < 0.5] = 1.0
    lookup = pa.table(
        {
            "geography": _strings(counties, lookup_county),
            "sector": pa.array(["com"] * n_ids, pa.string()),
            "subsector": _strings(subsectors, lookup_subsector),
            "id": pa.array(ids),
            "scaling_factor": pa.array(scaling),
        }
    )
    pq.write_table(lookup, folder / "lookup_table.parquet")
    _write_missing_associations(folder, dataset, counties, _chosen_ids(subsectors, chosen))

    first_hour = 1  # period-ending: the first hour ends at 01:00 local standard time
    timestamps = _timestamps_us(spec, first_hour)
    profiles = _profiles(spec, end_uses, first_hour)
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("timestamp", TIMESTAMP),
            ("metric", pa.string()),
            ("value", pa.float64()),
        ]
    )
    per_id = len(end_uses) * spec.hours
    rows = 0
    with pq.ParquetWriter(folder / "table.parquet", schema) as writer:
        for block, (lo, hi) in enumerate(_county_blocks(len(counties), k * per_id)):
            block_rng = _rng(spec, dataset, block + 1)
            block_ids = np.arange(lo * k, hi * k)
            n = len(block_ids)
            scale = (
                county_scale[lookup_county[block_ids]]
                * subsector_scale[lookup_subsector[block_ids]]
            )[:, None, None] * end_use_scale[None, :, None]
            values = (
                scale
                * profiles[None, :, :]
                * block_rng.lognormal(0.0, 0.1, size=(n, len(end_uses), spec.hours))
            )
            table = pa.table(
                {
                    "id": pa.array(np.repeat(ids[block_ids], per_id)),
                    "timestamp": pa.array(np.tile(timestamps, n * len(end_uses)), TIMESTAMP),
                    "metric": _strings(
                        end_uses, np.tile(np.repeat(np.arange(len(end_uses)), spec.hours), n)
                    ),
                    "value": pa.array(values.ravel()),
                },
                schema=schema,
            )
            writer.write_table(table, row_group_size=ROW_GROUP_SIZE)
            rows += table.num_rows
    return rows


def _residential(
    folder: Path, project: ProjectDef, dataset: DatasetDef, spec: GeneratorSpec
) -> int:
    counties = [c.id for c in project.counties]
    subsectors = _own_subsectors(dataset)
    end_uses = dataset.dimensions["metric"].record_ids
    years = list(spec.model_years)
    scenarios = list(spec.scenarios)
    k = spec.residential_subsectors_per_county
    rng = _rng(spec, dataset)
    chosen = [np.sort(rng.choice(len(subsectors), size=k, replace=False)) for _ in counties]
    county_scale = rng.lognormal(0.0, 0.6, size=len(counties)) * 1500.0
    subsector_scale = rng.uniform(0.2, 2.5, size=len(subsectors))
    end_use_scale = rng.uniform(0.2, 1.0, size=len(end_uses))
    end_use_scale *= [
        0.03 if RESIDENTIAL_DATASET_END_USES[e][2] == "therm" else 1.0 for e in end_uses
    ]
    electric = np.array([RESIDENTIAL_DATASET_END_USES[e][1] == "electricity" for e in end_uses])
    growth = np.array([1.0 + 0.01 * (int(y) - int(years[0])) for y in years])
    # Scenario index 1 (e.g. high electrification) shifts load from gas to electricity.
    scenario_factor = np.ones((len(scenarios), len(end_uses)))
    for s in range(1, len(scenarios)):
        scenario_factor[s] = np.where(electric, 1.0 + 0.2 * s, max(0.1, 1.0 - 0.3 * s))

    _write_missing_associations(folder, dataset, counties, _chosen_ids(subsectors, chosen))
    first_hour = 0  # period-beginning, like the project
    timestamps = _timestamps_us(spec, first_hour)
    profiles = _profiles(spec, end_uses, first_hour)
    schema = pa.schema(
        [
            ("timestamp", TIMESTAMP),
            ("geography", pa.string()),
            ("sector", pa.string()),
            ("subsector", pa.string()),
            ("metric", pa.string()),
            ("model_year", pa.string()),
            ("scenario", pa.string()),
            ("value", pa.float64()),
        ]
    )
    combos = k * len(end_uses) * len(years) * len(scenarios)
    rows = 0
    with pq.ParquetWriter(folder / "table.parquet", schema) as writer:
        for block, (lo, hi) in enumerate(_county_blocks(len(counties), combos * spec.hours)):
            block_rng = _rng(spec, dataset, block + 1)
            county_idx = np.arange(lo, hi)
            # Axes: county, subsector slot, year, scenario, end use, hour.
            sub_idx = np.stack([chosen[c] for c in county_idx])  # (n, k)
            scale = (
                county_scale[county_idx][:, None, None, None, None]
                * subsector_scale[sub_idx][:, :, None, None, None]
                * growth[None, None, :, None, None]
                * scenario_factor[None, None, None, :, :]
                * end_use_scale[None, None, None, None, :]
            )
            shape = (len(county_idx), k, len(years), len(scenarios), len(end_uses), spec.hours)
            values = scale[..., None] * profiles[None, None, None, None, :, :]
            values = values * block_rng.lognormal(0.0, 0.1, size=shape)
            grid = np.indices(shape[:-1]).reshape(len(shape) - 1, -1)
            reps = spec.hours
            table = pa.table(
                {
                    "timestamp": pa.array(np.tile(timestamps, grid.shape[1]), TIMESTAMP),
                    "geography": _strings(counties, np.repeat(county_idx[grid[0]], reps)),
                    "sector": pa.array(["res"] * (grid.shape[1] * reps), pa.string()),
                    "subsector": _strings(subsectors, np.repeat(sub_idx[grid[0], grid[1]], reps)),
                    "metric": _strings(end_uses, np.repeat(grid[4], reps)),
                    "model_year": _strings(years, np.repeat(grid[2], reps)),
                    "scenario": _strings(scenarios, np.repeat(grid[3], reps)),
                    "value": pa.array(values.ravel()),
                },
                schema=schema,
            )
            writer.write_table(table, row_group_size=ROW_GROUP_SIZE)
            rows += table.num_rows
    return rows


def _ev_annual(folder: Path, project: ProjectDef, dataset: DatasetDef, spec: GeneratorSpec) -> int:
    """Annual data: one row per (county, subsector, model year, scenario), a few per county
    even at full scale, so the table is built whole."""
    counties = [c.id for c in project.counties]
    subsectors = _own_subsectors(dataset)
    (metric,) = dataset.dimensions["metric"].record_ids
    years = list(spec.model_years)
    scenarios = list(spec.scenarios)
    k = spec.residential_subsectors_per_county
    rng = _rng(spec, dataset)
    chosen = [np.sort(rng.choice(len(subsectors), size=k, replace=False)) for _ in counties]
    county_scale = rng.lognormal(0.0, 0.8, size=len(counties)) * 2000.0
    adoption = np.array([(1 + i) ** 1.5 for i in range(len(years))])
    _write_missing_associations(folder, dataset, counties, _chosen_ids(subsectors, chosen))
    rows = []
    for ci, county in enumerate(counties):
        for si in chosen[ci]:
            for yi, year in enumerate(years):
                for si2, scenario in enumerate(scenarios):
                    value = (
                        county_scale[ci] * adoption[yi] * (1.0 + 0.5 * si2) * rng.lognormal(0, 0.1)
                    )
                    # dsgrid's annual time: the time_year column equals the model year.
                    rows.append(
                        (county, "res", subsectors[si], metric, year, scenario, year, float(value))
                    )
    columns = [
        "geography",
        "sector",
        "subsector",
        "metric",
        "model_year",
        "scenario",
        "time_year",
        "value",
    ]
    data = {name: [r[i] for r in rows] for i, name in enumerate(columns)}
    # Trivial dimensions are absent from stored data; dsgrid adds them back at load.
    for name in dataset.trivial:
        data.pop(name, None)
    table = pa.table(
        {
            name: pa.array(values, pa.float64() if name == "value" else pa.string())
            for name, values in data.items()
        }
    )
    pq.write_table(table, folder / "table.parquet")
    return table.num_rows


def _own_subsectors(dataset: DatasetDef) -> list[str]:
    """The dataset's subsector records of its own sector, the ones its data draws from."""
    records = dataset.dimensions["subsector"].records
    return [r["id"] for r in records if r["sector"] == dataset.sector]


def _chosen_ids(subsectors: list[str], chosen: list[np.ndarray]) -> list[set[str]]:
    return [{subsectors[i] for i in picked} for picked in chosen]
