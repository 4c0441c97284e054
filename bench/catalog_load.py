"""How long opening a large registry's catalog takes.

Peers, measured in the same run on the same registry (3,100 counties, every generator
shape):
- ``floor: read + parse models``: one SELECT of every model and ``json.loads`` of each — the
  least any reader of a dsgrid registry must do;
- ``dsgrid-sql: open + project``: ``Catalog.open`` and resolving the project (what a query
  needs);
- ``dsgrid-sql: full catalog``: the above plus every virtual table of every schema and the
  information_schema.columns rows (what a BI tool's first metadata call needs);
- ``dsgrid 0.4: load project`` (when ``.dsgrid-venv`` exists, see ``make dsgrid-check``):
  ``RegistryManager.load`` + ``load_project`` in dsgrid's own environment.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from dsgrid_sql.catalog import Catalog
from dsgrid_sql.generator import GeneratorSpec, generate_registry

from .harness import CACHE, Measurement, measure, ratio_table

SPEC = GeneratorSpec(project_id="bench_catalog", counties=3100, hours=24, datasets=6)
REPO = Path(__file__).resolve().parents[1]
DSGRID_PYTHON = REPO / ".dsgrid-venv" / "bin" / "python"

_DSGRID_TIMER = """
import os, sys, time, json
from dsgrid.registry.registry_manager import RegistryManager
from dsgrid.registry.common import DatabaseConnection
db, project_id, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.chdir(os.path.dirname(db))
times = []
for _ in range(runs + 1):
    start = time.perf_counter()
    conn = DatabaseConnection(url=f"sqlite:///file:{db}?mode=ro&uri=true")
    with RegistryManager.load(conn, offline_mode=True) as mgr:
        mgr.project_manager.load_project(project_id)
    times.append(time.perf_counter() - start)
print(json.dumps(times[1:]))
"""


def registry() -> Path:
    path = CACHE / "catalog-3100"
    if not (path / "registry.db").exists():
        generate_registry(path, SPEC, overwrite=True)
    return path / "registry.db"


def run(runs: int = 7) -> str:
    db = registry()

    def floor() -> None:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        for (text,) in conn.execute("SELECT model FROM models"):
            json.loads(text)
        conn.close()

    def open_project() -> None:
        with Catalog.open(db) as catalog:
            catalog.project(SPEC.project_id)

    def full() -> None:
        with Catalog.open(db) as catalog:
            catalog.list_tables()
            catalog.table_data(catalog.get_table("information_schema", "columns"))

    measurements = [
        measure("floor: read + parse models", floor, runs),
        measure("dsgrid-sql: open + project", open_project, runs),
        measure("dsgrid-sql: full catalog", full, runs),
    ]
    if DSGRID_PYTHON.exists():
        result = subprocess.run(
            [
                str(DSGRID_PYTHON),
                "-c",
                _DSGRID_TIMER,
                str(db.resolve()),
                SPEC.project_id,
                str(runs),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode == 0:
            times = json.loads(result.stdout.strip().splitlines()[-1])
            measurements.append(Measurement("dsgrid 0.4: load project", times))
        else:
            print(
                f"(dsgrid peer failed: {result.stderr.strip().splitlines()[-1:]})", file=sys.stderr
            )
    with Catalog.open(db) as catalog:
        project = catalog.project(SPEC.project_id)
        geography = len(project.base_dimensions[0].records)
        dims = len(project.dimensions)
    title = f"Catalog load: {geography:,} counties, {dims} project dimensions"
    return ratio_table(title, measurements, "floor: read + parse models")
