"""Typed models for every dimension and time type; slugs and their allocation."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from dsgrid_sql.catalog import Catalog
from dsgrid_sql.catalog.models import (
    AnnualTimeDimensionModel,
    DateTimeDimensionModel,
    DimensionMappingModel,
    DimensionType,
    IndexTimeDimensionModel,
    NoOpTimeDimensionModel,
    RecordDimensionModel,
    RepresentativePeriodTimeDimensionModel,
    parse_dimension,
)
from dsgrid_sql.catalog.names import NameAllocator, slugify

HEADER = {"version": "1.0.0", "dimension_id": "d1", "module": "dsgrid.dimension.standard"}


def _time(**fields: object) -> dict:
    return {**HEADER, "type": "time", "name": "T", "class": "Time", **fields}


@pytest.mark.parametrize(
    ("data", "cls"),
    [
        (_time(time_type="datetime", time_interval_type="period_ending"), DateTimeDimensionModel),
        (
            _time(time_type="annual", ranges=[{"start": "2030", "end": "2050", "frequency": 10}]),
            AnnualTimeDimensionModel,
        ),
        (
            _time(time_type="representative_period", format="one_week_per_month_by_hour"),
            RepresentativePeriodTimeDimensionModel,
        ),
        (
            _time(time_type="index", starting_timestamps=["2012-01-01 00:00:00"]),
            IndexTimeDimensionModel,
        ),
        (_time(time_type="noop"), NoOpTimeDimensionModel),
        (
            {
                **HEADER,
                "type": "scenario",
                "name": "S",
                "class": "Scenario",
                "records": [{"id": "a", "name": "A"}],
            },
            RecordDimensionModel,
        ),
    ],
)
def test_every_time_type_parses(data: dict, cls: type) -> None:
    assert isinstance(parse_dimension(data), cls)


def test_both_time_zone_formats() -> None:
    absolute = parse_dimension(
        _time(
            time_type="datetime",
            time_zone_format={"format_type": "aligned_in_absolute_time", "time_zone": "Etc/GMT+5"},
        )
    )
    assert absolute.time_zone == "Etc/GMT+5"
    clock = parse_dimension(
        _time(
            time_type="datetime",
            time_zone_format={
                "format_type": "aligned_in_std_clock_time",
                "time_zones": ["US/Eastern", "US/Central"],
            },
        )
    )
    assert clock.time_zone is None
    assert clock.time_zone_format.time_zones == ("US/Eastern", "US/Central")


def test_records_coerce_numeric_ids_and_keep_fields() -> None:
    dim = parse_dimension(
        {
            **HEADER,
            "type": "model_year",
            "name": "Y",
            "class": "ModelYear",
            "records": [{"id": 2010, "name": 2010}],
        }
    )
    assert dim.records[0].id == "2010"
    metric = parse_dimension(
        {
            **HEADER,
            "type": "metric",
            "name": "M",
            "class": "EnergyEndUse",
            "records": [{"id": "a", "name": "A", "unit": "kWh", "fuel_id": "electricity"}],
        }
    )
    assert metric.records[0].fields == {"unit": "kWh", "fuel_id": "electricity"}
    assert metric.type is DimensionType.METRIC


def test_mapping_null_to_id_and_default_fraction() -> None:
    ref = {"type": "metric", "dimension_id": "x", "version": "1.0.0"}
    mapping = DimensionMappingModel.from_json(
        {
            "version": "1.0.0",
            "mapping_id": "m",
            "from_dimension": ref,
            "to_dimension": ref,
            "records": [
                {"from_id": "a", "to_id": None},
                {"from_id": "b", "to_id": "c", "from_fraction": None},
            ],
        }
    )
    assert [(r.to_id, r.from_fraction) for r in mapping.records] == [(None, 1.0), ("c", 1.0)]
    assert mapping.raw["mapping_id"] == "m"


def test_slugify() -> None:
    assert slugify("US States") == "us_states"
    assert (
        slugify("EFS Detailed End Uses - ComStock Only") == "efs_detailed_end_uses_comstock_only"
    )
    assert slugify("2012 Weather Year") == "d_2012_weather_year"
    assert slugify("Énergie (totale)") == "energie_totale"
    assert slugify("---") == "dimension"


def test_allocator_is_collision_free_with_twins() -> None:
    names = NameAllocator({"geography", "geography_name"}, twin_suffix="_name")
    assert names.allocate("us_states") == "us_states"
    assert names.allocate("us_states") == "us_states_2"
    # "us_states_name" is the twin of us_states: a dimension slugged so must not take it.
    assert names.allocate("us_states_name") == "us_states_name_2"
    assert names.allocate("geography") == "geography_2"


def test_colliding_dimension_names_get_distinct_columns(efs_dir: Path, tmp_path: Path) -> None:
    """A supplemental dimension whose slug equals another's gets a suffixed column."""
    shutil.copy(efs_dir / "registry.db", tmp_path / "registry.db")
    conn = sqlite3.connect(tmp_path / "registry.db")
    (text,) = conn.execute(
        "SELECT model FROM models WHERE model_type='dimension' "
        "AND json_extract(model,'$.name')='US Census Divisions'"
    ).fetchone()
    model = json.loads(text)
    conn.execute(
        "UPDATE models SET model = ? WHERE model_type='dimension' AND model_id = ?",
        (json.dumps({**model, "name": "US-States"}), model["dimension_id"]),
    )
    conn.commit()
    conn.close()
    with Catalog.open(tmp_path / "registry.db", data_path=efs_dir / "data") as catalog:
        table = catalog.get_table("test_efs", "data")
        assert table.get_column("us_states").dimension_names == ("US States",)
        assert table.get_column("us_states_2").dimension_names == ("US-States",)
        assert table.find_column("US-States").name == "us_states_2"
        names = [c.name for c in table.columns]
        assert len(names) == len(set(names))


def test_in_progress_project_with_unregistered_dataset(efs_dir: Path, tmp_path: Path) -> None:
    shutil.copy(efs_dir / "registry.db", tmp_path / "registry.db")
    conn = sqlite3.connect(tmp_path / "registry.db")
    (text,) = conn.execute(
        "SELECT model FROM models WHERE model_id='test_efs' AND version='1.2.0'"
    ).fetchone()
    model = json.loads(text)
    model["status"] = "In Progress"
    model["datasets"].append(
        {
            "dataset_id": "dgen_never_registered",
            "dataset_type": "modeled",
            "status": "Unregistered",
        }
    )
    conn.execute(
        "UPDATE models SET model = ? WHERE model_id='test_efs' AND version='1.2.0'",
        (json.dumps(model),),
    )
    conn.commit()
    conn.close()
    with Catalog.open(tmp_path / "registry.db", data_path=efs_dir / "data") as catalog:
        project = catalog.project("test_efs")
        assert project.model.status == "In Progress"
        assert len(project.submitted_datasets) == 2
        rows = catalog.table_data(catalog.get_table("registry", "project_datasets")).to_pylist()
        missing = next(r for r in rows if r["dataset_id"] == "dgen_never_registered")
        assert missing["is_registered"] is False and missing["table_name"] is None
        assert "dgen_never_registered" not in [t.name for t in catalog.list_tables("test_efs")]
