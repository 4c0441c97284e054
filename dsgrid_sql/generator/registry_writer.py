"""Writes the SQLite side of a generated registry exactly as dsgrid 0.4 lays it out:
the five tables of dsgrid-format.md §1, one registration per action, every model at every
version, current versions and contains edges."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .design import DIMENSION_TYPES, DatasetDef, DimensionDef, MappingDef, ProjectDef
from .legacy import respell

# dsgrid's tables (dsgrid/registry/registry_database.py::create_tables).
SCHEMA = """
CREATE TABLE key_value (
	"key" VARCHAR NOT NULL,
	value VARCHAR NOT NULL,
	PRIMARY KEY ("key"),
	UNIQUE ("key")
);
CREATE TABLE registrations (
	id INTEGER NOT NULL,
	timestamp VARCHAR NOT NULL,
	submitter VARCHAR NOT NULL,
	update_type VARCHAR NOT NULL,
	log_message VARCHAR NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (id)
);
CREATE TABLE models (
	id INTEGER NOT NULL,
	registration_id INTEGER NOT NULL,
	model_type VARCHAR NOT NULL,
	model_id VARCHAR NOT NULL,
	version VARCHAR NOT NULL,
	model JSON NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (model_type, model_id, version),
	UNIQUE (id),
	FOREIGN KEY(registration_id) REFERENCES registrations (id)
);
CREATE TABLE current_versions (
	id INTEGER NOT NULL,
	model_type VARCHAR NOT NULL,
	model_id VARCHAR NOT NULL,
	current_id INTEGER NOT NULL,
	update_timestamp VARCHAR NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (model_type, model_id),
	UNIQUE (id),
	FOREIGN KEY(current_id) REFERENCES models (id)
);
CREATE TABLE contains (
	id INTEGER NOT NULL,
	parent_id INTEGER NOT NULL,
	child_id INTEGER NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (id),
	FOREIGN KEY(parent_id) REFERENCES models (id),
	FOREIGN KEY(child_id) REFERENCES models (id)
);
"""

SUBMITTER = "dsgrid-sql"
# A fixed clock keeps a seed's registry identical from run to run.
EPOCH = datetime(2026, 1, 1, 0, 0, 0)


class _Writer:
    def __init__(self, conn: sqlite3.Connection, legacy_seed: int | None = None) -> None:
        self.conn = conn
        # Spell each model another way dsgrid accepts (legacy.py), chosen by this seed.
        self.legacy_seed = legacy_seed
        self._tick = 0
        self._dimension_rows: dict[int, int] = {}  # id(DimensionDef) → models.id
        self._mapping_rows: dict[int, int] = {}

    def now(self) -> str:
        self._tick += 1
        return (EPOCH + timedelta(seconds=self._tick)).strftime("%Y-%m-%d %H:%M:%S.%f")

    def registration(self, update_type: str, message: str) -> int:
        cursor = self.conn.execute(
            "INSERT INTO registrations (timestamp, submitter, update_type, log_message) "
            "VALUES (?, ?, ?, ?)",
            (self.now(), SUBMITTER, update_type, message),
        )
        return int(cursor.lastrowid or 0)

    def model(
        self,
        registration_id: int,
        model_type: str,
        model_id: str,
        version: str,
        build: Callable[[int], dict[str, Any]],
    ) -> int:
        row_id = self._next_model_id()
        model = build(row_id)
        if self.legacy_seed is not None:
            model = respell(model_type, model, self.legacy_seed, row_id)
        text = json.dumps(model)
        self.conn.execute(
            "INSERT INTO models (id, registration_id, model_type, model_id, version, model) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (row_id, registration_id, model_type, model_id, version, text),
        )
        updated = self.conn.execute(
            "UPDATE current_versions SET current_id = ?, update_timestamp = ? "
            "WHERE model_type = ? AND model_id = ?",
            (row_id, self.now(), model_type, model_id),
        )
        if updated.rowcount == 0:
            self.conn.execute(
                "INSERT INTO current_versions (model_type, model_id, current_id, "
                "update_timestamp) VALUES (?, ?, ?, ?)",
                (model_type, model_id, row_id, self.now()),
            )
        return row_id

    def _next_model_id(self) -> int:
        (value,) = self.conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM models").fetchone()
        return int(value)

    def contains(self, parent: int, child: int) -> None:
        self.conn.execute(
            "INSERT INTO contains (parent_id, child_id) VALUES (?, ?)", (parent, child)
        )

    def dimension(self, registration_id: int, dim: DimensionDef) -> int:
        row = self._dimension_rows.get(id(dim))
        if row is None:
            row = self.model(
                registration_id,
                "dimension",
                dim.dimension_id,
                "1.0.0",
                lambda row_id: dim.to_json(row_id, "1.0.0"),
            )
            self._dimension_rows[id(dim)] = row
        return row

    def mapping(self, registration_id: int, mapping: MappingDef) -> int:
        row = self._mapping_rows.get(id(mapping))
        if row is None:
            row = self.model(
                registration_id,
                "dimension_mapping",
                mapping.mapping_id,
                "1.0.0",
                lambda row_id: mapping.to_json(row_id, "1.0.0"),
            )
            self._mapping_rows[id(mapping)] = row
            self.contains(row, self._dimension_rows[id(mapping.from_dim)])
            self.contains(row, self._dimension_rows[id(mapping.to_dim)])
        return row


def write_registry_db(
    path: Path,
    project: ProjectDef,
    data_path: str,
    unsubmitted: int = 0,
    legacy_seed: int | None = None,
    dataset_versions: int = 1,
) -> dict[str, str]:
    """Create ``registry.db`` at ``path`` holding ``project`` and its datasets; return its
    key_value rows (dsgrid repeats them in ``<data_path>/registry.json5``)."""
    conn = sqlite3.connect(path)
    try:
        conn.executescript(SCHEMA)
        writer = _Writer(conn, legacy_seed)
        values = key_values(writer.now(), data_path)
        for key, value in values.items():
            conn.execute('INSERT INTO key_value ("key", value) VALUES (?, ?)', (key, value))
        _register(writer, project, unsubmitted, dataset_versions)
        conn.commit()
    finally:
        conn.close()
    return values


def key_values(created_on: str, data_path: str) -> dict[str, str]:
    return {
        "created_by": SUBMITTER,
        "created_on": created_on,
        "data_path": data_path,
        "data_store_type": "filesystem",
    }


def dataset_version(update: int) -> str:
    """The version of a dataset after ``update`` updates (1.0.0, 1.1.0, ...)."""
    return f"1.{update}.0"


def _register(
    writer: _Writer, project: ProjectDef, unsubmitted: int, dataset_versions: int = 1
) -> None:
    p = project.project_id
    reg = writer.registration("major", f"Register project {p}")
    project_dims = [writer.dimension(reg, d) for d in project.bases]
    for group in project.subset_groups:
        for selector in group.selectors:
            writer.dimension(reg, selector)
    supplemental_rows = []
    mapping_rows = []
    for dim, mapping in project.supplementals:
        supplemental_rows.append(writer.dimension(reg, dim))
        mapping_rows.append(writer.mapping(reg, mapping))

    def project_version(
        registration_id: int,
        minor: int,
        submitted: list[DatasetDef],
        named: dict[str, str] | None = None,
    ) -> None:
        version = f"1.{minor}.0"
        ids = {d.dataset_id for d in submitted}
        row = writer.model(
            registration_id,
            "project",
            p,
            version,
            lambda row_id: project.to_json(row_id, version, ids, named),
        )
        for child in [*project_dims, *supplemental_rows, *mapping_rows]:
            writer.contains(row, child)
        for dataset in submitted:
            writer.contains(row, dataset_rows[dataset.dataset_id])

    dataset_rows: dict[str, int] = {}
    dataset_dims: dict[str, list[int]] = {}
    project_version(reg, 0, [])
    registered = project.registered()
    for dataset in registered:
        reg = writer.registration("major", f"Register dataset {dataset.dataset_id}")
        dims = [writer.dimension(reg, dataset.dimensions[t]) for t in DIMENSION_TYPES]
        row = writer.model(
            reg,
            "dataset",
            dataset.dataset_id,
            "1.0.0",
            lambda row_id, d=dataset: d.to_json(row_id, "1.0.0"),
        )
        dataset_rows[dataset.dataset_id] = row
        dataset_dims[dataset.dataset_id] = dims
        for child in dims:
            writer.contains(row, child)
    in_order = registered[: len(project.datasets)]
    to_submit = in_order[: len(in_order) - unsubmitted]
    for index, dataset in enumerate(to_submit):
        reg = writer.registration("minor", f"Submit dataset {dataset.dataset_id} to project {p}")
        for mapping in dataset.mappings:
            writer.mapping(reg, mapping)
        project_version(reg, index + 1, in_order[: index + 1])
    if not to_submit:
        return
    # Updates of the first submitted dataset: a new dataset version, then a project version
    # naming it (what `dsgrid registry datasets update` followed by the project's update does).
    first = to_submit[0]
    for update in range(1, dataset_versions):
        version = dataset_version(update)
        reg = writer.registration("minor", f"Update dataset {first.dataset_id} to {version}")
        row = writer.model(
            reg,
            "dataset",
            first.dataset_id,
            version,
            lambda row_id, v=version: first.to_json(row_id, v),
        )
        for child in dataset_dims[first.dataset_id]:
            writer.contains(row, child)
        dataset_rows[first.dataset_id] = row
        project_version(reg, len(to_submit) + update, to_submit, {first.dataset_id: version})
