"""The catalog reads every spelling dsgrid 0.4 accepts, with dsgrid's meaning.

Two halves: each legacy form on its own (model by model, with what dsgrid makes of it, as
dsgrid's own validators were seen to do), and a seeded sweep of whole registries written in
random mixtures of those forms by the generator (`legacy_seed`; `make dsgrid-check` has dsgrid
accept such registries), each answering exactly as the canonical registry does."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import dsgrid_sql
from dsgrid_sql.catalog.models import (
    DatasetModel,
    DateTimeDimensionModel,
    DimensionMappingModel,
    DimensionReference,
    IndexTimeDimensionModel,
    ProjectDatasetModel,
    parse_dimension,
    parse_frequency,
)
from dsgrid_sql.generator import GeneratorSpec, generate_registry

TIME: dict[str, Any] = {
    "id": 8,
    "version": "1.0.0",
    "name": "Time",
    "type": "time",
    "dimension_id": "t",
    "class": "Time",
    "time_type": "datetime",
    "time_interval_type": "period_beginning",
    "ranges": [{"start": "2018-01-01 00:00:00", "end": "2018-01-01 23:00:00"}],
    "time_zone_format": {"format_type": "aligned_in_absolute_time", "time_zone": "Etc/GMT+5"},
}


def datetime_model(**changes: Any) -> DateTimeDimensionModel:
    data = {**TIME, **changes}
    for key in [k for k, v in changes.items() if v is None]:
        del data[key]
    model = parse_dimension(data)
    assert isinstance(model, DateTimeDimensionModel)
    return model


@pytest.mark.parametrize(
    "changes",
    [
        {"time_zone_format": {"format_type": "aligned", "time_zone": "Etc/GMT+6"}},
        {"time_zone_format": {"format_type": "aligned_in_absolute_time", "timezone": "Etc/GMT+6"}},
        {"time_zone_format": {"format_type": "aligned", "timezone": "Etc/GMT+6"}},
        {"time_zone_format": None, "timezone": "Etc/GMT+6"},
        {
            "time_zone_format": None,
            "datetime_format": {"format_type": "aligned", "time_zone": "Etc/GMT+6"},
        },
        # The top-level `timezone` wins over the format's own zone, as in dsgrid.
        {"timezone": "Etc/GMT+6"},
        {
            "time_zone_format": {
                "format_type": "aligned_in_absolute_time",
                "time_zone": " Etc/GMT+6 ",
            }
        },
    ],
)
def test_legacy_time_zone_spellings(changes: dict[str, Any]) -> None:
    model = datetime_model(**changes)
    assert model.time_zone_format is not None
    assert model.time_zone_format.format_type == "aligned_in_absolute_time"
    assert model.time_zone == "Etc/GMT+6"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("PT1H", timedelta(hours=1)),
        (3600, timedelta(hours=1)),
        (3600.0, timedelta(hours=1)),
        ("01:00:00", timedelta(hours=1)),
        ("PT1.0H", timedelta(hours=1)),
        ("PT0.5H", timedelta(minutes=30)),
        ("P1W", timedelta(days=7)),
        ("P0DT1H0M0S", timedelta(hours=1)),
        (None, timedelta(hours=1)),
    ],
)
def test_frequency_forms(value: Any, expected: timedelta) -> None:
    assert parse_frequency(value) == expected


def test_range_settings_written_once_apply_to_every_range() -> None:
    model = datetime_model(
        str_format="%Y-%m-%dT%H:%M:%S",
        frequency="PT15M",
        ranges=[{"start": "2018-01-01T00:00:00", "end": "2018-01-01T23:45:00", "frequency": 3600}],
        leap_day_adjustment="none",
    )
    (r,) = model.ranges
    assert r.str_format == "%Y-%m-%dT%H:%M:%S" and parse_frequency(r.frequency) == timedelta(
        minutes=15
    )


def test_index_time_legacy_top_level_fields() -> None:
    model = parse_dimension(
        {
            **{k: v for k, v in TIME.items() if k != "time_zone_format"},
            "time_type": "index",
            "ranges": [{"start": 0, "end": 23}],
            "starting_timestamps": ["2018-01-01 00:00:00"],
            "frequency": 3600,
        }
    )
    assert isinstance(model, IndexTimeDimensionModel)
    assert model.ranges[0].starting_timestamp == "2018-01-01 00:00:00"
    assert parse_frequency(model.ranges[0].frequency) == timedelta(hours=1)


def test_dataset_optional_fields() -> None:
    model = DatasetModel.from_json(
        {"version": " 1.0.0 ", "dataset_id": "d", "tags": None, "registry_data_layout": None,
         "data_layout": {"table_format": "one_table", "value_format": "stacked",
                         "data_file": {"path": None}}}
    )  # fmt: skip
    assert model.tags is None and model.version == "1.0.0"
    assert model.table_format == "one_table" and model.dataset_type == "unspecified"
    assert model.qualifier_type == "quantity" and model.enable_unit_conversion


def test_mapping_spellings() -> None:
    model = DimensionMappingModel.from_json(
        {
            "version": "1.0.0",
            "mapping_id": "m",
            "from_dimension": {
                "dimension_type": "subsector",
                "dimension_id": "a",
                "version": "1.0.0",
            },
            "to_dimension": {"type": "subsector", "dimension_id": "b", "version": " 1.0.0"},
            "records": [
                {"from_id": " x ", "to_id": ""},
                {"from_id": "y", "to_id": "  "},
                {"from_id": "z", "to_id": " w ", "from_fraction": "0.5"},
            ],
        }
    )
    assert model.mapping_type == "many_to_one_aggregation"
    assert model.archetype == "many_to_one_map_fraction_sum_from_id_eq1"
    assert [(r.from_id, r.to_id, r.from_fraction) for r in model.records] == [
        ("x", None, 1.0),
        ("y", None, 1.0),
        ("z", "w", 0.5),
    ]
    assert model.to_dimension.version == "1.0.0"
    assert (
        DimensionReference.model_validate(
            {"dimension_type": "geography", "dimension_id": "g", "version": "1.0.0"}
        ).type
        == "geography"
    )


def test_project_entry_defaults() -> None:
    entry = ProjectDatasetModel.from_json(
        {"dataset_id": "d", "time_based_data_adjustment": {"daylight_saving_adjustment": {}}}
    )
    assert entry.time_based_data_adjustment.leap_day_adjustment == "none"
    assert entry.time_based_data_adjustment.daylight_saving_adjustment.fall_back_hour == "none"
    assert not entry.wrap_time_allowed and entry.base_dimension_names == {}


# -- the sweep -----------------------------------------------------------------------------

SPEC = GeneratorSpec(
    counties=3,
    hours=24,
    templates=(
        "commercial",
        "residential",
        "ev_annual",
        "ev_rep_week",
        "ev_rep_weekday",
        "industry_index",
        "industry_index_pe",
        "growth",
    ),
)
SEEDS = range(1, 51)
QUERIES = (
    "SELECT dataset_id, metric, model_year, scenario, SUM(value) AS v FROM data GROUP BY ALL",
    "SELECT us_states, end_uses_by_fuel_type, SUM(value) AS v FROM data GROUP BY ALL",
    "SELECT geography, timestamp, SUM(value) AS v FROM dsgrid_demo_industry_index_pe GROUP BY ALL",
    "SELECT geography, local_standard_timestamp AS t, SUM(value) AS v FROM dsgrid_demo_ev_rep_weekday GROUP BY ALL",
    "SELECT model_year, metric, SUM(value) AS v FROM projected('dsgrid_demo_residential', 'dsgrid_demo_growth') GROUP BY ALL",
    "SELECT dimension_name, type, category, column_name, record_count FROM registry.project_dimensions",
    "SELECT dimension_name, id, name, fields FROM registry.dimension_records",
    "SELECT mapping_type, from_id, to_id, from_fraction FROM registry.mapping_records JOIN registry.dimension_mappings USING (mapping_id)",
)


def answers(registry: Path) -> list[dict[tuple, Any]]:
    with dsgrid_sql.connect(registry) as session:
        assert session.catalog.problems() == []
        result = []
        for sql in QUERIES:
            rows = session.sql(sql).to_arrow().to_pylist()
            keys = [k for k in (rows[0] if rows else {}) if k != "v"]
            # Sums per key where the query sums, else how often each row occurs.
            counted: dict[tuple, Any] = {}
            for r in rows:
                key = tuple(str(r[k]) for k in keys)
                if "v" in r:
                    counted[key] = counted.get(key, 0.0) + r["v"]
                else:
                    counted[key] = counted.get(key, 0) + 1
            result.append(counted)
        return result


@pytest.fixture(scope="module")
def canonical(tmp_path_factory: pytest.TempPathFactory) -> list[dict[tuple, Any]]:
    return answers(generate_registry(tmp_path_factory.mktemp("canonical") / "reg", SPEC).path)


def test_every_spelling_dsgrid_accepts_answers_alike(
    canonical: list[dict[tuple, Any]], tmp_path: Path
) -> None:
    for seed in SEEDS:
        spec = SPEC.model_copy(update={"legacy_seed": seed})
        registry = generate_registry(tmp_path / f"seed{seed}", spec).path
        for sql, got, expected in zip(QUERIES, answers(registry), canonical, strict=True):
            assert got.keys() == expected.keys(), (seed, sql)
            for key, value in expected.items():
                if isinstance(value, float):
                    assert math.isclose(got[key], value, rel_tol=1e-9), (seed, sql, key)
                else:
                    assert got[key] == value, (seed, sql, key)


@pytest.mark.parametrize(
    ("time", "columns"),
    [
        (
            {"time_type": "index", "ranges": [{"start": 0, "end": 23,
             "starting_timestamp": "2018-01-01 00:00:00"}]},
            ["time_index"],
        ),
        (
            {"time_type": "representative_period",
             "format": "one_weekday_day_and_one_weekend_day_per_month_by_hour",
             "ranges": [{"start": 1, "end": 12}]},
            ["month", "is_weekday", "hour"],
        ),
    ],
)  # fmt: skip
def test_a_project_with_other_time_is_described_and_refused_clearly(
    tmp_path: Path, time: dict[str, Any], columns: list[str]
) -> None:
    """A project whose own time is index or representative periods opens and lists its
    time columns in dsgrid's order; a query is one sentence saying it is not supported."""
    import json
    import sqlite3

    from dsgrid_sql.errors import UnsupportedSqlError

    registry = generate_registry(tmp_path / "reg", GeneratorSpec(counties=2, hours=24)).path
    con = sqlite3.connect(registry)
    project = json.loads(
        con.execute(
            "SELECT model FROM models WHERE model_type = 'project' ORDER BY id DESC"
        ).fetchone()[0]
    )
    time_ref = next(
        r for r in project["dimensions"]["base_dimension_references"] if r["type"] == "time"
    )
    (row_id, text) = con.execute(
        "SELECT id, model FROM models WHERE model_id = ? AND version = ?",
        (time_ref["dimension_id"], time_ref["version"]),
    ).fetchone()
    model = {
        k: v for k, v in json.loads(text).items() if k not in ("column_format", "time_zone_format")
    }
    model.update(time)
    con.execute("UPDATE models SET model = ? WHERE id = ?", (json.dumps(model), row_id))
    con.commit()
    con.close()
    with dsgrid_sql.connect(registry) as session:
        described = session.sql("DESCRIBE data").to_arrow().to_pylist()
        assert [c["column_name"] for c in described if c["role"] == "time"] == columns
        with pytest.raises(UnsupportedSqlError, match="time are not supported yet"):
            session.sql("SELECT SUM(value) FROM data")
