"""The generated stand-in for dsgrid's test_efs registry has its shape: what the test suite
relies on when dsgrid's own registry is not beside the repository.

Compared with dsgrid's registry where it is present: the catalog's tables and columns, the
dimensions with their record ids and fields, the mappings with their records and fractions,
the project's versions and which datasets each one holds, dataset layouts and time. Only the
load values (and dsgrid's duplicated `contains` edges) differ."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dsgrid_sql.catalog import Catalog
from dsgrid_sql.generator import generate_efs_like


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    path = generate_efs_like(tmp_path_factory.mktemp("efs_like") / "reg").path
    catalog = Catalog.open(path)
    yield catalog
    catalog.close()


@pytest.fixture(scope="module")
def dsgrid_built(dsgrid_efs_dir: Path) -> Catalog:
    catalog = Catalog.open(dsgrid_efs_dir / "registry.db")
    yield catalog
    catalog.close()


def _shape(catalog: Catalog) -> dict:
    project = catalog.project("test_efs")
    versions = {
        v: sorted(d.dataset_id for d in catalog.project("test_efs", v).submitted_datasets)
        for v in catalog.project_versions("test_efs")
    }
    dims = {
        d.name: (d.type.value, sorted((r.id, tuple(sorted(r.fields))) for r in d.records))
        for d in [*project.base_dimensions, *project.supplemental_dimensions]
    }
    supplemental_mappings = {
        d.name: sorted((r.from_id, r.to_id or "", r.from_fraction) for r in d.base_mapping.records)
        for d in project.supplemental_dimensions
    }
    datasets = {}
    for dataset in project.datasets:
        mappings = {
            m.model.to_dimension.type.value: sorted(
                (r.from_id, r.to_id or "", r.from_fraction) for r in m.model.records
            )
            for m in dataset.mappings
        }
        dataset_dims = {t.value: d.name for t, d in dataset.dimensions.items()}
        datasets[dataset.dataset_id] = (dataset.is_submitted, mappings, dataset_dims)
    tables = {
        (schema, table.name): [(c.name, c.role.value) for c in table.columns]
        for schema in catalog.list_schemas()
        for table in catalog.list_tables(schema)
        if schema != "registry" and not schema.startswith("information")
    }
    time = project.time_dimension.model
    return {
        "projects": catalog.list_project_ids(),
        "datasets": catalog.list_dataset_ids(),
        "versions": versions,
        "status": project.model.status,
        "dimensions": dims,
        "subsets": sorted((d.name, d.subset_group) for d in project.subset_dimensions),
        "supplemental_mappings": supplemental_mappings,
        "project_datasets": datasets,
        "tables": tables,
        "time": (time.time_zone, time.time_interval_type, time.ranges[0].start),
    }


def test_the_stand_in_has_dsgrid_registrys_shape(stand_in: Catalog, dsgrid_built: Catalog) -> None:
    got, expected = _shape(stand_in), _shape(dsgrid_built)
    for key in expected:
        assert got[key] == expected[key], key


def test_the_stand_in_is_the_same_for_a_seed(tmp_path: Path) -> None:
    def digest(seed: int, name: str) -> str:
        folder = generate_efs_like(tmp_path / name, seed=seed).path.parent
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        h = hashlib.sha256()
        for path in files:
            h.update(str(path.relative_to(folder)).encode())
            h.update(path.read_bytes())
        return h.hexdigest()

    assert digest(0, "a") == digest(0, "b") != digest(1, "c")
