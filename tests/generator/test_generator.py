"""The registry generator: deterministic, dsgrid-shaped, consistent with its own configs."""

from __future__ import annotations

import sqlite3
import zoneinfo
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from pydantic import ValidationError

from dsgrid_sql.catalog import Catalog, DimensionType
from dsgrid_sql.catalog.models import AnnualTimeDimensionModel, DateTimeDimensionModel
from dsgrid_sql.errors import GeneratorError
from dsgrid_sql.generator import GeneratorSpec, estimate_rows, generate_registry
from dsgrid_sql.generator import load_data as load_data_module

TINY = GeneratorSpec(counties=4, hours=24)


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_same_bytes_other_seed_other_values(tmp_path: Path) -> None:
    a = generate_registry(tmp_path / "a", TINY).path.parent
    b = generate_registry(tmp_path / "b", TINY).path.parent
    assert _files(a) == _files(b)
    c = generate_registry(tmp_path / "c", TINY.model_copy(update={"seed": 1})).path.parent
    table = "data/data/dsgrid_demo_residential/1.0.0/table.parquet"
    values_a = pq.read_table(a / table).column("value")
    values_c = pq.read_table(c / table).column("value")
    assert len(values_a) == len(values_c) and values_a != values_c


def test_registry_tables_as_dsgrid_writes_them(small_registry: Path) -> None:
    conn = sqlite3.connect(small_registry)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"key_value", "registrations", "models", "current_versions", "contains"}
    keys = dict(conn.execute("SELECT key, value FROM key_value"))
    assert keys["data_path"] == "data" and keys["data_store_type"] == "filesystem"
    messages = [r[0] for r in conn.execute("SELECT log_message FROM registrations ORDER BY id")]
    assert messages[0] == "Register project dsgrid_demo"
    assert messages[-1] == "Submit dataset dsgrid_demo_ev_annual to project dsgrid_demo"
    # Every model's JSON carries its own row id and version, as dsgrid's do.
    for row_id, version, text in conn.execute("SELECT id, version, model FROM models"):
        assert f'"id": {row_id},' in text and f'"version": "{version}"' in text
    versions = [
        r[0]
        for r in conn.execute("SELECT version FROM models WHERE model_type='project' ORDER BY id")
    ]
    assert versions == ["1.0.0", "1.1.0", "1.2.0", "1.3.0"]
    conn.close()


def test_shapes_real_projects_have(small_catalog: Catalog) -> None:
    project = small_catalog.project("dsgrid_demo")
    datasets = {d.dataset_id: d for d in project.submitted_datasets}
    commercial = datasets["dsgrid_demo_commercial"]
    residential = datasets["dsgrid_demo_residential"]
    ev = datasets["dsgrid_demo_ev_annual"]
    assert commercial.config.table_format == "two_table"
    assert residential.config.table_format == "one_table"
    # Period-ending dataset time against period-beginning project time.
    assert commercial.time_dimension.time_interval_type == "period_ending"
    assert project.time_dimension.model.time_interval_type == "period_beginning"
    assert isinstance(ev.time_dimension, AnnualTimeDimensionModel)
    assert ev.time_columns() == ("time_year",)
    # A dataset's metric records are exactly the metrics in its data (dsgrid compares them):
    # the EV data's one end use maps onto the project's "End Uses".
    assert [r.id for r in ev.dimensions[DimensionType.METRIC].records] == ["ev_charging"]
    assert {(r.from_id, r.to_id) for m in ev.mappings for r in m.model.records} == {
        ("ev_charging", "ev_charging")
    }
    # Different units between dataset and project metrics.
    dataset_units = {r.fields["unit"] for r in commercial.dimensions[DimensionType.METRIC].records}
    project_units = {
        r.fields["unit"] for r in project.base_dimensions_of(DimensionType.METRIC)[0].records
    }
    assert dataset_units == {"kWh", "therm"} and project_units == {"MWh"}
    mappings = {m.model.to_dimension.type: m.model for m in commercial.mappings}
    # Fractions, one-to-many model years and null to_id.
    subsector_records = mappings[DimensionType.SUBSECTOR].records
    assert any(r.to_id is None for r in subsector_records)
    assert {r.from_fraction for r in subsector_records if r.from_id == "com__office"} == {
        0.35,
        0.65,
    }
    years = mappings[DimensionType.MODEL_YEAR].records
    assert len({r.from_id for r in years}) == 1 and len(years) == 4
    assert len({r.from_fraction for r in years}) == 4
    # Supplemental dimensions with fractional mappings, auto-generated and subset groups.
    supplementals = {d.name: d for d in project.supplemental_dimensions}
    assert {
        "US States",
        "US Census Regions",
        "End Uses by Fuel Type",
        "Five Year Intervals",
    } <= set(supplementals)
    fuel = supplementals["End Uses by Fuel Type"].base_mapping.records
    assert {(r.to_id, r.from_fraction) for r in fuel if r.from_id == "heating_dual_fuel"} == {
        ("electricity", 0.25),
        ("natural_gas", 0.75),
    }
    assert {
        r.from_fraction for r in supplementals["Five Year Intervals"].base_mapping.records
    } == {0.5, 1.0}
    assert "all_dsgrid_demo_geographies" in supplementals
    assert {d.subset_group for d in project.subset_dimensions} == {"Building Types by Sector"}
    # Trivial dimensions are absent from the stored data.
    assert set(commercial.config.trivial_dimensions) == {"weather_year", "model_year", "scenario"}
    assert not {"weather_year", "model_year", "scenario"} & set(commercial.load_schema().names)


def test_counties_look_real(small_catalog: Catalog) -> None:
    geography = small_catalog.project("dsgrid_demo").base_dimensions_of(DimensionType.GEOGRAPHY)[0]
    assert len(geography.records) == 12
    for record in geography.records:
        assert len(record.id) == 5 and record.id.isdigit() and int(record.id[2:]) % 2 == 1
        zoneinfo.ZoneInfo(record.fields["time_zone"])
        assert len(record.fields["state"]) == 2
    assert len({r.fields["time_zone"] for r in geography.records}) >= 3


def test_load_data_consistent_with_configs(small_catalog: Catalog) -> None:
    """What dsgrid checks at registration: every value in the data is a record of the
    dataset's dimension, combinations absent from the data are listed as missing
    associations, and the times are the dataset's time range."""
    project = small_catalog.project("dsgrid_demo")
    total = 0
    for dataset in project.submitted_datasets:
        files = dataset.files()
        table = pq.read_table(files.table)
        total += table.num_rows
        lookup = pq.read_table(files.lookup) if files.lookup else None
        stored = lookup if lookup is not None else table
        for dim_type, dim in dataset.dimensions.items():
            if dim_type == DimensionType.TIME or dim_type.value not in (
                table.column_names + (lookup.column_names if lookup else [])
            ):
                continue
            source = table if dim_type.value in table.column_names else stored
            values = set(pc.unique(source.column(dim_type.value)).to_pylist())
            assert values <= {r.id for r in dim.records}, (dataset.dataset_id, dim_type)
        if isinstance(dataset.time_dimension, DateTimeDimensionModel):
            hours = pc.unique(table.column("timestamp"))
            assert len(hours) == 48
            first = pc.min(table.column("timestamp")).as_py()
            expected_hour = (
                6 if dataset.time_dimension.time_interval_type == "period_ending" else 5
            )
            assert (first.year, first.month, first.day, first.hour) == (2018, 1, 1, expected_hour)
        missing_file = files.table.parent / "missing_associations" / "geography__subsector.parquet"
        if missing_file.exists():
            # Present and missing (geography, subsector) pairs partition the cross product.
            missing = {tuple(r.values()) for r in pq.read_table(missing_file).to_pylist()}
            present = {
                tuple(r.values()) for r in stored.select(["geography", "subsector"]).to_pylist()
            }
            assert not missing & present
            geographies = {g for g, _ in missing | present}
            subsectors = {s for _, s in missing | present}
            assert missing | present == {(g, s) for g in geographies for s in subsectors}
    assert total == estimate_rows(GeneratorSpec(counties=12, hours=48))


def test_scaling_factor_some_unscaled(small_catalog: Catalog) -> None:
    """Half the lookup rows are unscaled. They say 1.0, not null: dsgrid's query would treat
    null as 1, but its registration rejects any null in the lookup table."""
    files = small_catalog.dataset_files("dsgrid_demo_commercial")
    scaling = pq.read_table(files.lookup).column("scaling_factor")
    assert scaling.null_count == 0
    unscaled = pc.sum(pc.equal(scaling, 1.0)).as_py()
    assert 0 < unscaled < len(scaling)
    assert 0.8 <= pc.min(scaling).as_py() <= pc.max(scaling).as_py() <= 1.2


def test_odd_shapes(odd_registry: Path) -> None:
    with Catalog.open(odd_registry) as catalog:
        project = catalog.project("odd")
        assert project.model.status == "In Progress"
        assert [d.dataset_id for d in project.datasets if not d.is_submitted] == [
            "odd_residential_2"
        ]
        assert len(project.base_dimensions_of(DimensionType.METRIC)) == 2
        assert sorted(len(g) for g in project.dataset_groups()) == [1, 3]
        data_metric = catalog.get_table("odd", "data").get_column("metric")
        assert set(data_metric.dimension_names) == {"End Uses", "EV Charging End Uses"}
        ev_metric = catalog.get_table("odd", "odd_ev_annual").get_column("metric")
        assert ev_metric.dimension_names == ("EV Charging End Uses",)
        # The fuel supplemental maps from "End Uses" only, so the EV table lacks it.
        assert (
            catalog.get_table("odd", "odd_ev_annual").find_column("end_uses_by_fuel_type") is None
        )
        assert catalog.get_table("odd", "odd_commercial_2").find_column("end_uses_by_fuel_type")
        # Repeated templates share dimensions and mappings, as datasets of one model do.
        c1, c2 = (
            d for d in project.submitted_datasets if d.dataset_id.startswith("odd_commercial")
        )
        assert [m.model.mapping_id for m in c1.mappings] == [
            m.model.mapping_id for m in c2.mappings
        ]
        datasets = catalog.table_data(catalog.get_table("registry", "datasets")).to_pylist()
        assert {r["dataset_id"]: r["submitted_to"] for r in datasets}["odd_residential_2"] == ""


def test_existing_output_is_refused(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(GeneratorError, match="already exists"):
        generate_registry(tmp_path / "taken", TINY)


def test_failure_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def failing(*args: object, **kwargs: object) -> int:
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return 0

    monkeypatch.setattr("dsgrid_sql.generator.write_dataset", failing)
    with pytest.raises(OSError, match="disk full"):
        generate_registry(tmp_path / "out", TINY)
    assert list(tmp_path.iterdir()) == []
    assert load_data_module.write_dataset is not failing


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"counties": 0}, "greater than or equal to 1"),
        ({"counties": 5000}, "less than or equal to 3108"),
        ({"model_years": ("20x0",)}, "four-digit years"),
        ({"project_id": "Bad Name"}, "lower-case letters"),
        ({"datasets": 2, "unsubmitted": 3}, "unsubmitted must not exceed datasets"),
        ({"model_years": ("2020", "2025", "2040")}, "evenly spaced"),
    ],
)
def test_spec_validation(params: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        GeneratorSpec(**params)


def test_uneven_model_years_without_annual_dataset() -> None:
    spec = GeneratorSpec(model_years=("2040", "2020", "2025"), datasets=2)
    assert spec.model_years == ("2020", "2025", "2040")
