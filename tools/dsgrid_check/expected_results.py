#!/usr/bin/env python
"""dsgrid's own answers for the cases in a case file, written as the tests' expected results.

Runs in dsgrid's own environment (see README.md beside this file), never inside dsgrid-sql's:

    .dsgrid-venv/bin/python tools/dsgrid_check/expected_results.py \\
        tests/dsgrid_expected/cases.json --generator .venv/bin/dsgrid-sql

The case file names registries (GeneratorSpec fields, generated with dsgrid-sql's own
generator, whose registries dsgrid validates in `make dsgrid-check`) and queries. Each query
is a dsgrid project query — one dataset, or a projection of an initial-value dataset by a
growth-rate dataset — summed by the listed dimensions; its result is renamed to dsgrid-sql's
column names, optionally cut to some UTC days (hour-by-hour files stay small), sorted, and
written as `<name>.parquet` beside the case file. The tests run the case's SQL on both engines
and compare (relative 1e-9).

dsgrid 0.4 quirks handled here, all of the harness and none of the semantics:
* a projection query must name a dataset id the project lists (project.py::
  _compute_dataset_hash_and_serialize), so the work copy of registry.db lists
  `<initial>__projected` as an unregistered dataset;
* every query gets a fresh output directory (the mapped-dataset cache ignores column_type);
* projections use column_type dimension_types (dsgrid's exponential-growth SQL leaves
  dimension names with spaces unquoted).

Exit status 0 when every query ran, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("DSGRID_BACKEND_ENGINE", "duckdb")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import validate_registry as vr


def generate(generator: str, spec: dict[str, Any], target: Path) -> Path:
    args = [generator, "generate", str(target)]
    for key, value in spec.items():
        text = ",".join(value) if isinstance(value, list) else str(value)
        args += [f"--{key.replace('_', '-')}", text]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return target / "registry.db"


def list_projection(db: Path, dataset_id: str) -> None:
    """Add an unregistered `dataset_id` to the current project version's datasets."""
    con = sqlite3.connect(db)
    try:
        row_id, text = con.execute(
            "SELECT m.id, m.model FROM current_versions c JOIN models m ON m.id = c.current_id "
            "WHERE c.model_type = 'project'"
        ).fetchone()
        model = json.loads(text)
        if all(d["dataset_id"] != dataset_id for d in model["datasets"]):
            model["datasets"].append(
                {"dataset_id": dataset_id, "dataset_type": "modeled", "version": "1.0.0"}
            )
            con.execute("UPDATE models SET model = ? WHERE id = ?", (json.dumps(model), row_id))
            con.commit()
    finally:
        con.close()


def build_query(project_config: Any, case: dict[str, Any]) -> Any:
    from dsgrid.dimension.base_models import DimensionType
    from dsgrid.query.models import (
        AggregationModel,
        ColumnType,
        DatasetModel,
        DimensionNamesModel,
        ProjectionDatasetModel,
        ProjectQueryModel,
        ProjectQueryParamsModel,
        QueryResultParamsModel,
        StandaloneDatasetModel,
    )

    name = case["name"]
    if "projection" in case:
        p = case["projection"]
        source: Any = ProjectionDatasetModel(
            dataset_id=f"{p['initial']}__projected",
            initial_value_dataset_id=p["initial"],
            growth_rate_dataset_id=p["growth"],
            construction_method=p.get("method", "exponential_growth"),
        )
    else:
        source = StandaloneDatasetModel(dataset_id=case["dataset"])
    dims: dict[str, list[str]] = {t.value: [] for t in DimensionType}
    for dim_name in case["group_by"]:
        dim = project_config.get_dimension(dim_name)
        dims[dim.model.dimension_type.value].append(dim_name)
    column_type = ColumnType(case.get("column_type", "dimension_names"))
    return ProjectQueryModel(
        name=name,
        project=ProjectQueryParamsModel(
            project_id=project_config.model.project_id,
            dataset=DatasetModel(dataset_id=name, source_datasets=[source]),
        ),
        result=QueryResultParamsModel(
            column_type=column_type,
            time_zone=case.get("time_zone"),
            aggregations=[
                AggregationModel(
                    aggregation_function="sum", dimensions=DimensionNamesModel(**dims)
                )
            ],
        ),
    )


def write_expected(result: Path, case: dict[str, Any], target: Path) -> int:
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        source = f"'{result.as_posix()}{'/**/*.parquet' if result.is_dir() else ''}'"
        renames = case.get("columns", {})
        described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        columns = [r[0] for r in described]
        # Local times come as nanoseconds (pandas); dsgrid-sql's are microseconds.
        select = ", ".join(
            f'CAST("{c}" AS TIMESTAMP) AS "{renames.get(c, c)}"'
            if kind == "TIMESTAMP_NS"
            else f'"{c}" AS "{renames.get(c, c)}"'
            for c, kind, *_ in described
        )
        query = f"SELECT {select} FROM read_parquet({source})"
        # UTC days of instants, or the days of local wall clocks (a time_zone result).
        days = case.get("keep_utc_days")
        if days:
            day_list = ", ".join(f"DATE '{d}'" for d in days)
            query = f"SELECT * FROM ({query}) WHERE CAST(timestamp AS DATE) IN ({day_list})"
        keys = [renames.get(c, c) for c in columns if renames.get(c, c) != "value"]
        query += " ORDER BY " + ", ".join(f'"{k}"' for k in keys)
        con.execute(f"COPY ({query}) TO '{target.as_posix()}' (FORMAT parquet)")
        return int(con.execute(f"SELECT count(*) FROM '{target.as_posix()}'").fetchone()[0])
    finally:
        con.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", type=Path, help="the case file (JSON)")
    parser.add_argument("--generator", required=True, help="dsgrid-sql's CLI (in its venv)")
    parser.add_argument("--only", nargs="*", default=[], help="names of queries to run")
    args = parser.parse_args()
    # Absolute before the work directory becomes the cwd.
    args.cases = args.cases.resolve()
    args.generator = str(Path(shutil.which(args.generator) or args.generator).resolve())
    vr.quiet_logging()
    from dsgrid.registry.common import DatabaseConnection
    from dsgrid.registry.registry_manager import RegistryManager

    spec = json.loads(args.cases.read_text())
    out_dir = args.cases.parent
    root = Path(tempfile.mkdtemp(prefix="dsgrid_expected_"))
    failures = 0
    try:
        managers: dict[str, tuple[Any, Any]] = {}
        for case in spec["queries"]:
            if args.only and case["name"] not in args.only:
                continue
            registry_name = case["registry"]
            if registry_name not in managers:
                db = generate(
                    args.generator, spec["registries"][registry_name], root / registry_name
                )
                for other in spec["queries"]:
                    if other["registry"] == registry_name and "projection" in other:
                        list_projection(db, f"{other['projection']['initial']}__projected")
                work, db_copy = vr.prepare_work_dir(db, root)
                os.chdir(work)  # dsgrid resolves a relative data_path against the cwd
                url = f"sqlite:///file:{db_copy.as_posix()}?mode=ro&uri=true"
                mgr = RegistryManager.load(
                    DatabaseConnection(url=url), offline_mode=True, scratch_dir=work / "scratch"
                )
                (project_id,) = mgr.project_manager.list_ids()
                project = mgr.project_manager.load_project(project_id)
                managers[registry_name] = (project.config, project)
            project_config, project = managers[registry_name]
            query = build_query(project_config, case)
            query_dir = Path(tempfile.mkdtemp(prefix="q_", dir=root))
            try:
                result = vr.run_query(project, query, query_dir, query_dir / "scratch")
                rows = write_expected(result, case, out_dir / f"{case['name']}.parquet")
                vr.log(f"  [ok] {case['name']}: {rows} rows")
            except Exception as exc:
                failures += 1
                vr.fail(f"query {case['name']}", exc)
    finally:
        os.chdir("/")
        shutil.rmtree(root, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
