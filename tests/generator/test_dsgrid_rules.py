"""Generated registries follow the rules dsgrid 0.4 enforces when it registers a project and
its datasets, re-implemented here on the stored JSON and Parquet so that the suite needs no
dsgrid (tools/dsgrid_check runs dsgrid itself on generated registries)."""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

# Fields a record may have beyond id and name, per dimension class (dsgrid/dimension/
# standard.py); dsgrid rejects others and needs every record to have the same ones.
CLASS_FIELDS: dict[str, set[str]] = {
    "County": {"state", "time_zone"},
    "State": {"is_conus", "census_division", "census_region", "time_zone"},
    "CensusDivision": {"time_zone"},
    "CensusRegion": {"time_zone"},
    "Sector": {"category"},
    "Subsector": {"sector", "abbr"},
    "EnergyEndUse": {"fuel_id", "unit"},
    "WeatherYear": set(),
    "ModelYear": set(),
    "Scenario": set(),
    "DimensionRecordBaseModel": set(),
}
NON_TIME = ("geography", "metric", "model_year", "scenario", "sector", "subsector", "weather_year")
Combo = tuple[str, ...]  # one id per NON_TIME type, in that order


@dataclass
class Registry:
    root: Path
    project: dict[str, Any]
    datasets: dict[str, dict[str, Any]]
    dimensions: dict[str, dict[str, Any]]  # by dimension_id
    mappings: dict[str, dict[str, Any]]  # by mapping_id

    @classmethod
    def open(cls, db: Path) -> Registry:
        conn = sqlite3.connect(db)
        rows = conn.execute(
            "SELECT m.model_type, m.model FROM current_versions c "
            "JOIN models m ON m.id = c.current_id"
        ).fetchall()
        (data_path,) = conn.execute(
            "SELECT value FROM key_value WHERE key = 'data_path'"
        ).fetchone()
        conn.close()
        by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for model_type, text in rows:
            by_type[model_type].append(json.loads(text))
        (project,) = by_type["project"]
        return cls(
            db.parent / data_path,
            project,
            {d["dataset_id"]: d for d in by_type["dataset"]},
            {d["dimension_id"]: d for d in by_type["dimension"]},
            {m["mapping_id"]: m for m in by_type["dimension_mapping"]},
        )

    def dimension(self, ref: dict[str, str]) -> dict[str, Any]:
        return self.dimensions[ref["dimension_id"]]

    def ids(self, dim: dict[str, Any]) -> set[str]:
        return {r["id"] for r in dim["records"]}

    def project_dimension_ids(self, name: str) -> set[str]:
        """Records of a project dimension (base or subset selector) by name."""
        dims = self.project["dimensions"]
        refs = list(dims["base_dimension_references"])
        refs += [r for g in dims["subset_dimensions"] for r in g["selector_references"]]
        (dim,) = [self.dimension(r) for r in refs if self.dimension(r)["name"] == name]
        return self.ids(dim)

    def folder(self, dataset_id: str) -> Path:
        return self.root / "data" / dataset_id / self.datasets[dataset_id]["version"]

    def dataset_dims(self, dataset_id: str) -> dict[str, dict[str, Any]]:
        refs = self.datasets[dataset_id]["dimension_references"]
        return {r["type"]: self.dimension(r) for r in refs}

    def project_entry(self, dataset_id: str) -> dict[str, Any]:
        (entry,) = [d for d in self.project["datasets"] if d["dataset_id"] == dataset_id]
        return entry


@pytest.fixture(scope="module", params=["small", "odd"])
def registry(request: pytest.FixtureRequest) -> Registry:
    fixture = "small_registry" if request.param == "small" else "odd_registry"
    return Registry.open(request.getfixturevalue(fixture))


def test_names_and_records_as_dsgrid_validates_them(registry: Registry) -> None:
    for dim in registry.dimensions.values():
        # config/dimensions.py::DimensionBaseModel.check_name
        assert re.fullmatch(r"[\w -]+", dim["name"]), dim["name"]
        if dim["type"] == "time":
            continue
        keys = {frozenset(r) for r in dim["records"]}
        assert len(keys) == 1, dim["name"]
        assert set(next(iter(keys))) - {"id", "name"} <= CLASS_FIELDS[dim["class"]], dim["name"]
        assert len(registry.ids(dim)) == len(dim["records"]), dim["name"]


def test_mapping_records_obey_their_archetype(registry: Registry) -> None:
    """dimension_mapping_registry_manager.py::validate_records: duplicates and fraction sums
    as the archetype allows, and ids that exist in the from/to dimensions."""
    for mapping in registry.mappings.values():
        archetype = mapping["archetype"]
        cardinality, _, rule = archetype.partition("_map")
        from_many, _, to_many = (s == "many" for s in cardinality.split("_"))
        records = mapping["records"]
        from_ids = [r["from_id"] for r in records]
        to_ids = [r["to_id"] for r in records if r["to_id"] is not None]
        # "many_to_one": many from_ids share a to_id, so to_ids may repeat, from_ids not.
        assert to_many or len(set(from_ids)) == len(from_ids), archetype
        assert from_many or len(set(to_ids)) == len(to_ids), archetype
        if rule:
            key = "from_id" if "from_id" in rule else "to_id"
            sums: dict[str | None, float] = defaultdict(float)
            for r in records:
                sums[r[key]] += r["from_fraction"]
            assert all(abs(v - 1) < 1e-6 for v in sums.values()), (archetype, sums)
        assert set(from_ids) <= registry.ids(registry.dimension(mapping["from_dimension"]))
        assert set(to_ids) <= registry.ids(registry.dimension(mapping["to_dimension"]))


def test_trivial_dimensions_have_one_record(registry: Registry) -> None:
    for dataset_id, dataset in registry.datasets.items():
        dims = registry.dataset_dims(dataset_id)
        for dim_type in dataset["trivial_dimensions"]:
            assert len(dims[dim_type]["records"]) == 1, (dataset_id, dim_type)


def _data_combos(registry: Registry, dataset_id: str) -> set[Combo]:
    """Distinct dimension combinations of a dataset's data, trivial dimensions added back."""
    folder = registry.folder(dataset_id)
    table = pq.read_table(folder / "table.parquet")
    columns = [c for c in table.column_names if c in NON_TIME]
    if (folder / "lookup_table.parquet").exists():
        lookup = pq.read_table(folder / "lookup_table.parquet").drop_columns(["scaling_factor"])
        pairs = table.select(["id", *columns]).group_by(["id", *columns]).aggregate([])
        table = pairs.join(lookup, "id").drop_columns(["id"])
        columns = [c for c in table.column_names if c in NON_TIME]
    distinct = table.select(columns).group_by(columns).aggregate([]).to_pylist()
    dims = registry.dataset_dims(dataset_id)
    constant = {
        t: dims[t]["records"][0]["id"] for t in registry.datasets[dataset_id]["trivial_dimensions"]
    }
    return {tuple({**constant, **row}[t] for t in NON_TIME) for row in distinct}


def _missing(registry: Registry, dataset_id: str) -> list[dict[str, str]]:
    """Rows of the dataset's missing_associations tables (each row: a partial combination)."""
    folder = registry.folder(dataset_id) / "missing_associations"
    rows: list[dict[str, str]] = []
    for path in sorted(folder.glob("*.parquet")) if folder.is_dir() else []:
        rows += pq.read_table(path).to_pylist()
    return rows


def _without(combos: Iterable[Combo], missing: list[dict[str, str]]) -> set[Combo]:
    """Combinations no missing-association row matches on its columns (dsgrid's
    filter_out_expected_missing_associations)."""
    index = {t: i for i, t in enumerate(NON_TIME)}
    excluded = {(tuple(sorted(row)), tuple(row[k] for k in sorted(row))) for row in missing if row}
    patterns = {cols for cols, _ in excluded}
    return {
        c
        for c in combos
        if not any((cols, tuple(c[index[k]] for k in cols)) in excluded for cols in patterns)
    }


def test_data_matches_records_minus_missing_associations(registry: Registry) -> None:
    """dataset_schema_handler_base.py::_check_dimension_associations: the cross product of the
    dataset's dimension records, minus the rows its missing_associations tables match, is
    exactly the set of combinations in the data; so each column's distinct values are the
    dimension's records (those not wholly declared missing)."""
    for dataset_id in registry.datasets:
        dims = registry.dataset_dims(dataset_id)
        product = itertools.product(*(sorted(registry.ids(dims[t])) for t in NON_TIME))
        actual = _data_combos(registry, dataset_id)
        assert _without(product, _missing(registry, dataset_id)) == actual, dataset_id
        # The metric and geography columns have no missing associations: equal to records.
        for position, dim_type in ((0, "geography"), (1, "metric")):
            assert {c[position] for c in actual} == registry.ids(dims[dim_type]), dataset_id


def _targets(registry: Registry, dataset_id: str) -> dict[str, dict[str, list[str]]]:
    """Per mapped dimension type: dataset id → project ids (null to_ids dropped)."""
    targets: dict[str, dict[str, list[str]]] = {}
    for ref in registry.project_entry(dataset_id)["mapping_references"]:
        by_from: dict[str, list[str]] = defaultdict(list)
        for r in registry.mappings[ref["mapping_id"]]["records"]:
            if r["to_id"] is not None:
                by_from[r["from_id"]].append(r["to_id"])
        targets[ref["from_dimension_type"]] = by_from
    return targets


def _map(
    targets: dict[str, dict[str, list[str]]], types: Iterable[str], rows: Iterable[Combo]
) -> set[Combo]:
    """Rows (ids of ``types``) mapped to the project's base ids, as dsgrid's
    make_mapped_dimension_association_table does: unmapped types pass unchanged."""
    types = list(types)
    mapped: set[Combo] = set()
    for row in rows:
        options = [
            targets[t].get(v, []) if t in targets else [v] for t, v in zip(types, row, strict=True)
        ]
        mapped.update(itertools.product(*options))
    return mapped


def _required(registry: Registry, requirement: dict[str, Any]) -> list[str] | None:
    """Record ids one requirement names (project_config.py::_get_required_dimension_record_ids),
    or None when it names nothing."""
    ids: set[str] = set()
    base = requirement["base"]
    if base["record_ids"]:
        all_ids = registry.project_dimension_ids(base["dimension_name"])
        ids |= all_ids if base["record_ids"] == ["__all__"] else set(base["record_ids"])
        assert ids <= all_ids
    for subset in requirement["subset"]:
        for selector in subset["selectors"]:
            ids |= registry.project_dimension_ids(selector)
    assert not requirement["base_missing"]["record_ids"]
    return sorted(ids) if ids else None


def test_mapped_data_covers_the_project_requirements(registry: Registry) -> None:
    """project_registry_manager.py::_check_dataset_base_to_project_base_mappings: the cross
    product of the project's required_dimensions for the dataset, minus its mapped missing
    associations, is covered by the dataset's data mapped to the project."""
    index = {t: i for i, t in enumerate(NON_TIME)}
    for entry in registry.project["datasets"]:
        if entry["status"] != "Registered":
            continue
        dataset_id = entry["dataset_id"]
        required = entry["required_dimensions"]
        columns: dict[str, list[str]] = {}
        for multi in required["multi_dimensional"]:
            for dim_type in NON_TIME:
                ids = _required(registry, multi[dim_type])
                if ids is not None:
                    columns[dim_type] = ids
        for dim_type in NON_TIME:
            ids = _required(registry, required["single_dimensional"][dim_type])
            if ids is not None:
                assert dim_type not in columns, "dsgrid forbids single and multi for one type"
                columns[dim_type] = ids
        assert set(columns) == set(NON_TIME), dataset_id
        project = set(itertools.product(*(columns[t] for t in NON_TIME)))
        targets = _targets(registry, dataset_id)
        for row in _missing(registry, dataset_id):
            # remove_expected_missing_mapped_associations: each missing row is mapped on its
            # own columns and removes the project rows it matches.
            types = sorted(row)
            excluded = _map(targets, types, [tuple(row[t] for t in types)])
            project = {c for c in project if tuple(c[index[t]] for t in types) not in excluded}
        mapped = _map(targets, NON_TIME, _data_combos(registry, dataset_id))
        assert project, dataset_id
        assert project <= mapped, (dataset_id, sorted(project - mapped)[:5])


def test_requirements_state_what_each_dataset_covers(registry: Registry) -> None:
    """A dataset of one sector requires that sector and its subset of subsectors, as
    test_efs's commercial datasets do; and names the base dimension of every requirement,
    which dsgrid needs when a type has several base dimensions."""
    for entry in registry.project["datasets"]:
        template = registry.datasets[entry["dataset_id"]]["sector_description"]
        (multi,) = entry["required_dimensions"]["multi_dimensional"]
        sector = "com" if template == "commercial" else "res"
        assert multi["sector"]["base"]["record_ids"] == [sector]
        selectors = [s for subset in multi["subsector"]["subset"] for s in subset["selectors"]]
        assert selectors == [
            f"{'commercial' if sector == 'com' else 'residential'}_building_types"
        ]
        single = entry["required_dimensions"]["single_dimensional"]
        assert "__all__" not in single["metric"]["base"]["record_ids"]
        for requirement in [*single.values(), *multi.values()]:
            if requirement["base"]["record_ids"]:
                assert requirement["base"]["dimension_name"] is not None
