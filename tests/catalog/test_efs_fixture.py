"""The catalog against test_efs: the registry dsgrid 0.4 itself built (../shared/fixtures) where
it is present, else the generated stand-in of the same shape (generator/efs_like.py).

Expected values are read independently from the SQLite JSON where they are not facts the
fixture's README states (project, datasets, versions)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pyarrow as pa
import pytest

from dsgrid_sql.catalog import Catalog, ColumnRole, DimensionCategory, DimensionType
from dsgrid_sql.catalog.models import DateTimeDimensionModel


def _raw_models(efs_dir: Path, model_type: str) -> list[dict]:
    conn = sqlite3.connect(f"file:{efs_dir / 'registry.db'}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT m.model FROM current_versions c JOIN models m ON m.id = c.current_id "
            "WHERE c.model_type = ?",
            (model_type,),
        ).fetchall()
    finally:
        conn.close()
    return [json.loads(r[0]) for r in rows]


def test_lists_exactly_the_project_and_its_versions(efs_catalog: Catalog) -> None:
    assert efs_catalog.list_project_ids() == ["test_efs"]
    assert efs_catalog.project_versions("test_efs") == ["1.0.0", "1.1.0", "1.2.0"]
    project = efs_catalog.project("test_efs")
    assert project.version == "1.2.0"
    assert project.model.status == "Complete"
    # Every version stays reachable.
    first = efs_catalog.project("test_efs", "1.0.0")
    assert [d.is_submitted for d in first.datasets] == [False, False]
    assert [d.dataset_id for d in efs_catalog.project("test_efs", "1.1.0").submitted_datasets] == [
        "test_efs_comstock_unpivoted"
    ]


def test_submitted_and_unsubmitted_datasets(efs_catalog: Catalog) -> None:
    assert efs_catalog.list_dataset_ids() == [
        "test_efs_comstock",
        "test_efs_comstock_time_in_parts",
        "test_efs_comstock_unpivoted",
    ]
    project = efs_catalog.project("test_efs")
    assert sorted(d.dataset_id for d in project.submitted_datasets) == [
        "test_efs_comstock",
        "test_efs_comstock_unpivoted",
    ]
    rows = efs_catalog.table_data(efs_catalog.get_table("registry", "datasets")).to_pylist()
    submitted_to = {r["dataset_id"]: r["submitted_to"] for r in rows}
    assert submitted_to == {
        "test_efs_comstock": "test_efs",
        "test_efs_comstock_time_in_parts": "",
        "test_efs_comstock_unpivoted": "test_efs",
    }
    layouts = {r["dataset_id"]: r["table_format"] for r in rows}
    assert layouts["test_efs_comstock"] == "two_table"
    assert layouts["test_efs_comstock_unpivoted"] == "one_table"


def test_dimensions_with_record_counts(efs_catalog: Catalog, efs_dir: Path) -> None:
    project = efs_catalog.project("test_efs")
    raw = {m["dimension_id"]: m for m in _raw_models(efs_dir, "dimension")}
    raw_project = _raw_models(efs_dir, "project")[0]["dimensions"]

    def expected(refs: list[dict]) -> dict[str, int]:
        return {
            raw[r["dimension_id"]]["name"]: len(raw[r["dimension_id"]].get("records", []))
            for r in refs
        }

    got_base = {d.name: len(d.records) for d in project.base_dimensions}
    assert got_base == expected(raw_project["base_dimension_references"])
    assert got_base["US Counties 2010 - ComStock Only"] == 8
    assert got_base["ComStock Subsectors EFS"] == 14
    got_supp = {d.name: len(d.records) for d in project.supplemental_dimensions}
    assert got_supp == expected(raw_project["supplemental_dimension_references"])
    assert got_supp["US States"] == 4
    assert {d.name for d in project.supplemental_dimensions} >= {
        f"all_test_efs_{t}"
        for t in (
            "geographies",
            "sectors",
            "subsectors",
            "weather_years",
            "model_years",
            "scenarios",
        )
    }
    subsets = {d.name: (d.subset_group, len(d.records)) for d in project.subset_dimensions}
    assert subsets == {
        "commercial_subsectors2": ("Subsectors by Sector", 13),
        "residential_subsectors": ("Subsectors by Sector", 1),
    }
    assert all(
        d.category is DimensionCategory.SUPPLEMENTAL for d in project.supplemental_dimensions
    )
    # Every supplemental dimension has its base→supplemental mapping.
    assert all(d.base_mapping is not None for d in project.supplemental_dimensions)


def test_mappings_with_fractions(efs_catalog: Catalog) -> None:
    project = efs_catalog.project("test_efs")
    comstock = next(d for d in project.datasets if d.dataset_id == "test_efs_comstock")
    by_type = {m.model.to_dimension.type: m for m in comstock.mappings}
    assert set(by_type) == {
        DimensionType.MODEL_YEAR,
        DimensionType.METRIC,
        DimensionType.SUBSECTOR,
    }
    model_years = {
        (r.from_id, r.to_id): r.from_fraction
        for r in by_type[DimensionType.MODEL_YEAR].model.records
    }
    assert model_years == {
        ("2012", "2010"): 0.9,
        ("2012", "2020"): 1.0,
        ("2012", "2030"): 1.1,
        ("2012", "2040"): 1.2,
        ("2012", "2050"): 1.3,
    }
    assert by_type[DimensionType.SUBSECTOR].to_dimension.name == "ComStock Subsectors EFS"
    table = efs_catalog.get_table("test_efs_mappings", "model_year__five_year_intervals")
    rows = efs_catalog.table_data(table).to_pylist()
    assert {"from_id": "2010", "to_id": "2015", "from_fraction": 0.5} in rows
    assert table.arrow_schema.field("from_fraction").type == pa.float64()


def test_units_and_time_zones_on_records(efs_catalog: Catalog) -> None:
    project = efs_catalog.project("test_efs")
    metric = project.base_dimensions_of(DimensionType.METRIC)[0]
    assert {r.id: r.fields["unit"] for r in metric.records} == {"fans": "MWh", "cooling": "kWh"}
    geography = project.base_dimensions_of(DimensionType.GEOGRAPHY)[0]
    zones = {r.id: r.fields["time_zone"] for r in geography.records}
    assert zones["06073"] == "America/Los_Angeles"
    comstock = next(d for d in project.datasets if d.dataset_id == "test_efs_comstock")
    dataset_metric = comstock.dimensions[DimensionType.METRIC]
    assert {r.id: r.fields["unit"] for r in dataset_metric.records} == {
        "com_fans": "MWh",
        "com_cooling": "MWh",
    }


def test_time_configuration(efs_catalog: Catalog) -> None:
    project = efs_catalog.project("test_efs")
    time = project.time_dimension
    assert time is not None and isinstance(time.model, DateTimeDimensionModel)
    assert time.model.time_zone == "Etc/GMT+5"
    assert time.model.time_interval_type == "period_beginning"
    assert (time.model.ranges[0].start, time.model.ranges[0].end) == (
        "2012-01-01 00:00:00",
        "2012-01-07 23:00:00",
    )
    comstock = next(d for d in project.datasets if d.dataset_id == "test_efs_comstock")
    assert comstock.time_dimension.time_interval_type == "period_ending"
    assert comstock.time_columns() == ("timestamp",)


def test_stale_time_in_parts_config_trusts_parquet(efs_catalog: Catalog) -> None:
    model = efs_catalog.dataset("test_efs_comstock_time_in_parts")
    time_ref = next(r for r in model.dimension_references if r.type == DimensionType.TIME)
    time = efs_catalog.find_dimension(time_ref.dimension_id, time_ref.version)
    assert time.column_format.columns == ("year", "month", "day", "hour")
    assert efs_catalog.dataset_files("test_efs_comstock_time_in_parts").time_columns() == (
        "timestamp",
    )


def test_two_table_files(efs_catalog: Catalog, efs_dir: Path) -> None:
    files = efs_catalog.dataset_files("test_efs_comstock")
    folder = efs_dir / "data" / "data" / "test_efs_comstock" / "1.0.0"
    assert files.table == folder / "table.parquet"
    assert files.lookup == folder / "lookup_table.parquet"
    assert set(files.load_schema().names) == {
        "id",
        "timestamp",
        "metric",
        "value",
        "geography",
        "sector",
        "subsector",
    }
    assert efs_catalog.dataset_files("test_efs_comstock_unpivoted").lookup is None


def test_duplicate_contains_edges_are_tolerated(dsgrid_efs_dir: Path) -> None:
    """dsgrid 0.4 writes some `contains` edges twice; a quirk of dsgrid's own writing that
    the generated stand-in has no reason to copy."""
    conn = sqlite3.connect(f"file:{dsgrid_efs_dir / 'registry.db'}?mode=ro", uri=True)
    raw = conn.execute("SELECT parent_id, child_id FROM contains").fetchall()
    conn.close()
    with Catalog.open(dsgrid_efs_dir / "registry.db") as catalog:
        edges = catalog._db.contains_edges()
    assert len(edges) == len(set(raw)) < len(raw)


def test_virtual_schemas_and_tables(efs_catalog: Catalog) -> None:
    assert efs_catalog.list_schemas() == [
        "test_efs",
        "test_efs_dimensions",
        "test_efs_mappings",
        "registry",
        "information_schema",
    ]
    assert [t.name for t in efs_catalog.list_tables("test_efs")] == [
        "data",
        "test_efs_comstock",
        "test_efs_comstock_unpivoted",
    ]
    registry = {t.name for t in efs_catalog.list_tables("registry")}
    assert registry >= {
        "projects", "datasets", "project_datasets", "dimensions", "dimension_records",
        "dimension_mappings", "mapping_records", "registrations",
    }  # fmt: skip
    dims = {t.name for t in efs_catalog.list_tables("test_efs_dimensions")}
    assert {"geography", "us_states", "subsectors_by_sector", "commercial_subsectors2"} <= dims


def test_data_table_columns(efs_catalog: Catalog) -> None:
    table = efs_catalog.get_table("test_efs", "data")
    names = [c.name for c in table.columns]
    assert names[:10] == [
        "geography", "sector", "subsector", "metric", "model_year", "weather_year", "scenario",
        "timestamp", "value", "dataset_id",
    ]  # fmt: skip
    schema = table.arrow_schema
    assert schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert schema.field("value").type == pa.float64()
    assert schema.field("geography").type == pa.string()
    assert schema.field("local_timestamp").type == pa.timestamp("us")
    us_states = table.get_column("us_states")
    assert us_states.role is ColumnRole.SUPPLEMENTAL
    assert table.find_column("US States") is us_states
    assert table.find_column("US Counties 2010 - ComStock Only") is table.get_column("geography")
    assert table.find_column("us_counties_2010_comstock_only") is table.get_column("geography")
    assert table.get_column("us_states_name").names_column == "us_states"
    assert {"time_zone", "local_timestamp", "unit", "geography_name", "metric_name"} <= set(names)
    assert "MWh" in table.get_column("unit").remarks and "kWh" in table.get_column("unit").remarks
    assert "US States" in us_states.remarks


def test_information_schema_matches_catalog(efs_catalog: Catalog) -> None:
    columns = efs_catalog.table_data(efs_catalog.get_table("information_schema", "columns"))
    assert columns.num_rows == sum(len(t.columns) for t in efs_catalog.list_tables())
    rows = [
        r
        for r in columns.to_pylist()
        if r["table_name"] == "data" and r["column_name"] == "timestamp"
    ]
    assert rows[0]["data_type"] == "TIMESTAMP WITH TIME ZONE" and rows[0]["is_nullable"] == "NO"
    tables = efs_catalog.table_data(efs_catalog.get_table("information_schema", "tables"))
    assert tables.num_rows == len(efs_catalog.list_tables())


def test_registry_tables_have_their_declared_schemas(efs_catalog: Catalog) -> None:
    for table in efs_catalog.list_tables("registry"):
        data = efs_catalog.table_data(table)
        assert data.schema.remove_metadata() == table.arrow_schema.remove_metadata(), table.name
        assert data.num_rows > 0, table.name
    records = efs_catalog.table_data(
        efs_catalog.get_table("registry", "dimension_records")
    ).to_pylist()
    ca = next(r for r in records if r["id"] == "06073")
    assert json.loads(ca["fields"]) == {"state": "CA", "time_zone": "America/Los_Angeles"}


def test_dimension_tables_have_records(efs_catalog: Catalog) -> None:
    states = efs_catalog.table_data(efs_catalog.get_table("test_efs_dimensions", "us_states"))
    assert sorted(states.column("id").to_pylist()) == ["CA", "CO", "NY", "TX"]
    assert "census_region" in states.column_names
    assert states.schema.field("is_conus").type == pa.bool_()


@pytest.mark.parametrize(
    ("name", "schema", "table"),
    [
        ("data", "test_efs", "data"),
        ("test_efs.data", "test_efs", "data"),
        ("us_states", "test_efs_dimensions", "us_states"),
        ('"registry"."projects"', "registry", "projects"),
    ],
)
def test_resolve_table(efs_catalog: Catalog, name: str, schema: str, table: str) -> None:
    found = efs_catalog.resolve_table(name)
    assert (found.schema, found.name) == (schema, table)
