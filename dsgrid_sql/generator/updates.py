"""New versions of a dataset in a registry the generator wrote, one registration at a time, as
``dsgrid registry datasets update`` followed by the project's update writes them: a dataset
version with its own data folder, then a project version naming it.

The soak bench (bench/soak.py) calls this every few seconds on a registry a server is
serving, so each step leaves the registry readable: the new data folder is complete before
the registry names it, the registry's rows are written in one SQLite transaction, and with
``replace_file`` the new ``registry.db`` is written beside the old one and renamed over it
(what a copy from another machine looks like).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from dsgrid_sql.errors import GeneratorError

from .registry_writer import EPOCH, _Writer


def register_dataset_update(
    registry: str | Path,
    factor: float,
    *,
    dataset_id: str | None = None,
    replace_file: bool = False,
) -> tuple[str, str]:
    """Register the next version of ``dataset_id`` (default: the first dataset the current
    project version names as registered) whose load values are its first version's times
    ``factor``, and the project version naming it; returns (dataset version, project
    version)."""
    from . import write_scaled_version

    db_path = Path(registry)
    if db_path.is_dir():
        db_path = db_path / "registry.db"
    if not db_path.is_file():
        raise GeneratorError(f"No registry at '{db_path}'.")
    read = sqlite3.connect(db_path)
    try:
        data_root = db_path.parent / _key_value(read, "data_path")
        project_row, project = _current(read, "project", None)
        dataset_id = dataset_id or _first_registered(project)
        dataset_row, dataset = _current(read, "dataset", dataset_id)
    finally:
        read.close()
    dataset_version = _next_minor(dataset["version"])
    project_version = _next_minor(project["version"])
    folder = data_root / "data" / dataset_id
    target = folder / dataset_version
    if target.exists():  # left by an update that failed before its registration
        shutil.rmtree(target)
    write_scaled_version(folder / "1.0.0", target, factor)

    path = db_path
    if replace_file:
        path = db_path.with_name(f".{db_path.name}.{os.getpid()}.new")
        shutil.copyfile(db_path, path)
    conn = sqlite3.connect(path)
    try:
        writer = _Writer(conn)
        writer._tick = _ticks(conn)  # registrations stay in time order
        with conn:
            reg = writer.registration("minor", f"Update dataset {dataset_id} to {dataset_version}")
            new_dataset = writer.model(
                reg,
                "dataset",
                dataset_id,
                dataset_version,
                lambda row_id: {**dataset, "id": row_id, "version": dataset_version},
            )
            for child in _children(conn, dataset_row):
                writer.contains(new_dataset, child)
            entries = [
                {**e, "version": dataset_version} if e.get("dataset_id") == dataset_id else e
                for e in project["datasets"]
            ]
            new_project = writer.model(
                reg,
                "project",
                project["project_id"],
                project_version,
                lambda row_id: {
                    **project, "id": row_id, "version": project_version, "datasets": entries,
                },
            )  # fmt: skip
            for child in _children(conn, project_row):
                writer.contains(new_project, new_dataset if child == dataset_row else child)
    finally:
        conn.close()
    if replace_file:
        os.replace(path, db_path)
    return dataset_version, project_version


def _key_value(conn: sqlite3.Connection, key: str) -> str:
    row = conn.execute('SELECT value FROM key_value WHERE "key" = ?', (key,)).fetchone()
    if row is None:
        raise GeneratorError(f"The registry has no '{key}' entry.")
    return str(row[0])


def _current(
    conn: sqlite3.Connection, model_type: str, model_id: str | None
) -> tuple[int, dict[str, Any]]:
    """The current version of a model (the only project when ``model_id`` is None): its
    ``models.id`` and its JSON."""
    rows = conn.execute(
        "SELECT m.id, m.model FROM current_versions c JOIN models m ON m.id = c.current_id "
        "WHERE c.model_type = ? AND (? IS NULL OR c.model_id = ?)",
        (model_type, model_id, model_id),
    ).fetchall()
    if len(rows) != 1:
        what = model_id or f"one {model_type}"
        raise GeneratorError(f"The registry does not hold exactly {what} ({len(rows)} found).")
    return int(rows[0][0]), json.loads(rows[0][1])


def _first_registered(project: dict[str, Any]) -> str:
    for entry in project.get("datasets", []):
        if entry.get("status") == "Registered":
            return str(entry["dataset_id"])
    raise GeneratorError("The project has no registered dataset to update.")


def _next_minor(version: str) -> str:
    major, minor, _ = (int(part) for part in version.split("."))
    return f"{major}.{minor + 1}.0"


def _children(conn: sqlite3.Connection, parent: int) -> list[int]:
    rows = conn.execute(
        "SELECT DISTINCT child_id FROM contains WHERE parent_id = ? ORDER BY child_id", (parent,)
    )
    return [int(row[0]) for row in rows]


def _ticks(conn: sqlite3.Connection) -> int:
    """Seconds from the generator's clock start to the registry's latest time stamp."""
    (latest,) = conn.execute(
        "SELECT MAX(t) FROM (SELECT timestamp AS t FROM registrations "
        "UNION ALL SELECT update_timestamp FROM current_versions)"
    ).fetchone()
    if latest is None:
        return 0
    stamp = datetime.strptime(latest, "%Y-%m-%d %H:%M:%S.%f")
    return max(0, int((stamp - EPOCH).total_seconds()))
