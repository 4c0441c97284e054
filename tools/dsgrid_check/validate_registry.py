#!/usr/bin/env python
"""Check a dsgrid registry (registry.db + Parquet) with dsgrid itself (dsgrid-toolkit 0.4.0).

Runs in dsgrid's own environment, never inside dsgrid-sql's (see README.md beside this file):

    .dsgrid-venv/bin/python tools/dsgrid_check/validate_registry.py REGISTRY_DB \\
        [--aggregate "US States"] [--registration-checks]

Steps
 1. Work dir: dsgrid resolves a relative key_value.data_path against the process cwd, so the
    script copies registry.db into a temporary directory, links <data_path> there to the data
    directory beside REGISTRY_DB and works from it. Nothing beside REGISTRY_DB is written.
 2. Every stored model row (all versions) through dsgrid's pydantic classes.
 3. RegistryManager.load; every current project, dataset, dimension and mapping loaded.
 4. Every project loaded with its submitted datasets; mapping references and
    base_dimension_names resolved.
 5. One project query per submitted dataset (mapped to the project's base dimensions), plus a
    sum aggregation by --aggregate names; an empty or non-finite result fails.
 6. --registration-checks: the checks dsgrid runs when registering and submitting, replayed
    on the stored data: project checks (unique dimension names, base dimensions, dataset
    requirement definitions, subset groups covering their base dimension), mapping records
    (duplicates, fraction sums, ids in the dimensions), dataset consistency (records = data,
    dimension associations with missing_associations, time) and the dataset-to-project check
    (mapped data covers the project's required_dimensions), and each submitted dataset's
    base_dimension_names equal to what dsgrid derives at submission. Several of these are
    private dsgrid functions: pinned to dsgrid-toolkit 0.4.0.

Exit status: 0 if everything passed, 1 if anything failed, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("DSGRID_BACKEND_ENGINE", "duckdb")

FAILURES: list[str] = []
VERBOSE = False


def log(message: str) -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def fail(what: str, exc: BaseException | None = None) -> None:
    detail = ""
    if exc is not None:
        text = " | ".join(x.strip() for x in str(exc).strip().splitlines() if x.strip())
        detail = f": {type(exc).__name__}: {text[:500]}"
    FAILURES.append(what + detail)
    log(f"  [FAIL] {what}{detail}")
    if VERBOSE and exc is not None:
        traceback.print_exception(exc)


def attempt(what: str, action: Callable[[], Any]) -> Any:
    """Run ``action``; record a failure named ``what`` if it raises."""
    try:
        return action()
    except Exception as exc:
        fail(what, exc)
        return None


# -- work dir -----------------------------------------------------------------------------------


def read_data_path(db: Path) -> str:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT value FROM key_value WHERE key = 'data_path'").fetchone()
    finally:
        con.close()
    if row is None:
        raise SystemExit(f"{db}: key_value has no data_path")
    return str(row[0])


def prepare_work_dir(db: Path, work_root: Path | None) -> tuple[Path, Path]:
    """(work dir, copy of registry.db); a relative data_path is linked into the work dir."""
    data_path = read_data_path(db)
    work = Path(tempfile.mkdtemp(prefix="dsgrid_check_", dir=work_root))
    db_copy = work / "registry.db"
    shutil.copy2(db, db_copy)
    db_copy.chmod(0o644)
    if Path(data_path).is_absolute():
        if not Path(data_path).is_dir():
            raise SystemExit(f"absolute data_path={data_path} does not exist")
        log(f"data_path={data_path!r} (absolute)")
    else:
        real = (db.parent / data_path).resolve()
        if not real.is_dir():
            raise SystemExit(f"data_path={data_path!r} resolves to {real}: not a directory")
        link = work / data_path
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(real, target_is_directory=True)
        log(f"data_path={data_path!r} (relative) -> {real}")
    return work, db_copy


def quiet_logging() -> None:
    level = logging.INFO if VERBOSE else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for name in ("dsgrid", "chronify", "py4j"):
        logging.getLogger(name).setLevel(level)
    try:
        from loguru import logger  # chronify logs through loguru

        logger.remove()
        logger.add(sys.stderr, level="INFO" if VERBOSE else "WARNING")
    except ImportError:
        pass


# -- steps 2-4: models, registry, projects -------------------------------------------------------


def validate_model_rows(db_copy: Path) -> None:
    """Every stored model JSON (all versions) through dsgrid's pydantic classes."""
    from dsgrid.registry.registry_interface import (
        DatasetRegistryInterface,
        DimensionMappingRegistryInterface,
        DimensionRegistryInterface,
        ProjectRegistryInterface,
    )

    makers = {
        "project": ProjectRegistryInterface._make_dsgrid_model,
        "dataset": DatasetRegistryInterface._make_dsgrid_model,
        "dimension": DimensionRegistryInterface._make_dsgrid_model,
        "dimension_mapping": DimensionMappingRegistryInterface._make_dsgrid_model,
    }
    con = sqlite3.connect(f"file:{db_copy}?mode=ro", uri=True)
    rows = con.execute(
        "SELECT id, model_type, model_id, version, model FROM models ORDER BY id"
    ).fetchall()
    con.close()
    counts: dict[str, int] = {}
    for row_id, model_type, model_id, version, blob in rows:
        try:
            data = json.loads(blob)
            if data.get("version") != version:
                raise ValueError(f"JSON version {data.get('version')!r} != models.version")
            makers[model_type](data)
            counts[model_type] = counts.get(model_type, 0) + 1
        except Exception as exc:
            fail(f"models.id={row_id} {model_type} {model_id} {version}: pydantic", exc)
    log(f"  validated {sum(counts.values())}/{len(rows)} model rows: {counts}")


def list_registry(mgr: Any, conn: Any) -> None:
    pm, dm = mgr.project_manager, mgr.dataset_manager
    dim_mgr, map_mgr = mgr.dimension_manager, mgr.dimension_mapping_manager
    names: dict[str, str] = {}
    log("Projects:")
    for pid in pm.list_ids(conn=conn):
        cfg = attempt(f"load project {pid}", lambda pid=pid: pm.get_by_id(pid, conn=conn))
        if cfg is not None:
            datasets = ", ".join(f"{d.dataset_id}({d.status.value})" for d in cfg.model.datasets)
            log(f"  {pid} v{cfg.model.version} {cfg.model.status.value}: {datasets}")
    log("Datasets:")
    for did in dm.list_ids(conn=conn):
        cfg = attempt(f"load dataset {did}", lambda did=did: dm.get_by_id(did, conn=conn))
        if cfg is not None:
            layout = cfg.model.registry_data_layout
            trivial = [t.value for t in cfg.model.trivial_dimensions]
            log(f"  {did} v{cfg.model.version} {layout.table_format.value} trivial={trivial}")
    log("Dimensions:")
    for dim_id in dim_mgr.list_ids(conn=conn):
        dim = attempt(
            f"load dimension {dim_id}", lambda dim_id=dim_id: dim_mgr.get_by_id(dim_id, conn=conn)
        )
        if dim is not None:
            m = dim.model
            names[dim_id] = m.name
            size = f"{len(m.records)} records" if hasattr(m, "records") else m.time_type.value
            log(f"  {m.dimension_type.value:12s} {m.name!r} {m.class_name}: {size}")
    log("Dimension mappings:")
    for map_id in map_mgr.list_ids(conn=conn):
        mapping = attempt(
            f"load mapping {map_id}", lambda map_id=map_id: map_mgr.get_by_id(map_id, conn=conn)
        )
        if mapping is not None:
            m = mapping.model
            src = names.get(m.from_dimension.dimension_id, m.from_dimension.dimension_id)
            dst = names.get(m.to_dimension.dimension_id, m.to_dimension.dimension_id)
            log(f"  {src!r} -> {dst!r} {m.mapping_type.value} ({len(m.records)} records)")


def check_project_references(mgr: Any, conn: Any, project_config: Any) -> None:
    map_mgr, dm = mgr.dimension_mapping_manager, mgr.dataset_manager
    model = project_config.model
    pid = model.project_id
    for ref in model.dimension_mappings.base_to_supplemental_references:
        attempt(
            f"{pid}: base-to-supplemental mapping {ref.mapping_id}",
            lambda ref=ref: map_mgr.get_by_id(ref.mapping_id, version=ref.version, conn=conn),
        )
    for ds in model.datasets:
        if ds.status.value != "Registered":
            continue
        attempt(
            f"{pid}: dataset {ds.dataset_id} v{ds.version}",
            lambda ds=ds: dm.get_by_id(ds.dataset_id, version=ds.version, conn=conn),
        )
        refs = {r.mapping_id for r in ds.mapping_references}
        listed = model.dimension_mappings.dataset_to_project.get(ds.dataset_id, [])
        if refs != {r.mapping_id for r in listed}:
            fail(f"{pid}/{ds.dataset_id}: mapping_references != dataset_to_project")
        for ref in ds.mapping_references:
            attempt(
                f"{pid}/{ds.dataset_id}: mapping {ref.mapping_id}",
                lambda ref=ref: map_mgr.get_by_id(ref.mapping_id, version=ref.version, conn=conn),
            )
        for dim_type, name in ds.base_dimension_names.model_dump().items():
            bases = [
                r
                for r in model.dimensions.base_dimension_references
                if r.dimension_type.value == dim_type
            ]
            if name is None and len(bases) != 1:
                # Null means the single base of the type (legacy registries; dsgrid's
                # _fix_legacy_base_dimension_names); with several, it is ambiguous.
                fail(f"{pid}/{ds.dataset_id}: base_dimension_names.{dim_type} is not set")
            elif name is not None:
                attempt(
                    f"{pid}/{ds.dataset_id}: base_dimension_names.{dim_type}={name!r}",
                    lambda name=name: project_config.get_dimension(name),
                )


# -- step 5: queries ----------------------------------------------------------------------------


def make_base_query(project_id: str, dataset_id: str, name: str) -> Any:
    from dsgrid.query.models import (
        DatasetModel,
        ProjectQueryModel,
        ProjectQueryParamsModel,
        QueryResultParamsModel,
        StandaloneDatasetModel,
    )

    return ProjectQueryModel(
        name=name,
        project=ProjectQueryParamsModel(
            project_id=project_id,
            dataset=DatasetModel(
                dataset_id=name, source_datasets=[StandaloneDatasetModel(dataset_id=dataset_id)]
            ),
        ),
        result=QueryResultParamsModel(),  # no aggregation: the data on project base dimensions
    )


def make_agg_query(project_config: Any, dataset_id: str, name: str, group_by: list[str]) -> Any:
    from dsgrid.dimension.base_models import DimensionType
    from dsgrid.query.models import AggregationModel, DimensionNamesModel, QueryResultParamsModel

    query = make_base_query(project_config.model.project_id, dataset_id, name)
    dims: dict[str, list[str]] = {t.value: [] for t in DimensionType}
    for dim_name in group_by:
        dim = project_config.get_dimension(dim_name)  # base, supplemental or subset
        dims[dim.model.dimension_type.value].append(dim_name)
    if not dims["metric"]:
        dims["metric"] = [project_config.get_dataset_base_dimension_names(dataset_id).metric]
    sort_columns = [n for names in dims.values() for n in names]
    query.result = QueryResultParamsModel(
        aggregations=[
            AggregationModel(aggregation_function="sum", dimensions=DimensionNamesModel(**dims))
        ],
        sort_columns=sort_columns,
    )
    return query


def run_query(project: Any, query: Any, out_dir: Path, scratch: Path) -> Path:
    from dsgrid.query.query_submitter import ProjectQuerySubmitter

    ProjectQuerySubmitter(project, out_dir).submit(
        query,
        scratch_dir=scratch,
        load_cached_table=False,
        persist_intermediate_table=True,
        overwrite=True,
    )
    return out_dir / query.name / "table.parquet"


def table_stats(path: Path) -> tuple[int, float | None, list[str]]:
    import duckdb

    con = duckdb.connect()
    try:
        src = f"read_parquet('{path.as_posix()}{'/**/*.parquet' if path.is_dir() else ''}')"
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()]
        total = "sum(value)" if "value" in cols else "NULL"
        rows, value = con.execute(f"SELECT count(*), {total} FROM {src}").fetchone()
        return int(rows), value, cols
    finally:
        con.close()


def run_queries(
    loaded: list[tuple[Any, Any]],
    only: list[str],
    group_by: list[str] | None,
    out_dir: Path,
    scratch: Path,
    write_parquet: Path | None,
) -> None:
    for project_config, project in loaded:
        pid = project_config.model.project_id
        for did in project_config.list_registered_dataset_ids():
            if only and did not in only:
                continue
            config = project.get_dataset(did).config.model
            if config.dataset_qualifier_metadata.dataset_qualifier_type.value == "growth_rate":
                # dsgrid cannot query growth rates on their own (no time to stack); they are
                # queried through projections (expected_results.py).
                log(f"  [skip] {pid}/{did}: growth rates, queried through a projection")
                continue
            kinds = ["base", "agg"] if group_by else ["base"]
            totals: dict[str, float] = {}
            for kind in kinds:
                name = f"{pid}__{did}__{kind}"
                start = time.time()
                try:
                    if kind == "agg" and group_by:
                        query = make_agg_query(project_config, did, name, group_by)
                    else:
                        query = make_base_query(pid, did, name)
                    path = run_query(project, query, out_dir, scratch)
                    rows, total, cols = table_stats(path)
                except Exception as exc:
                    fail(f"query {name}", exc)
                    continue
                log(
                    f"  [ok] {pid}/{did} {kind}: rows={rows} sum(value)={total!r} "
                    f"({time.time() - start:.2f}s)"
                )
                log(f"       columns={cols}")
                if rows == 0 or total is None or not math.isfinite(total):
                    fail(f"query {name}: empty or non-finite result (rows={rows}, sum={total})")
                else:
                    totals[kind] = total
                if write_parquet is not None:
                    target = write_parquet / f"{name}.parquet"
                    if path.is_dir():
                        shutil.rmtree(target, ignore_errors=True)
                        shutil.copytree(path, target)
                    else:
                        shutil.copy2(path, target)
            if "base" in totals and "agg" in totals:
                # Informational: equal when every aggregation mapping sums to 1 per base record.
                log(f"       agg/base total ratio = {totals['agg'] / totals['base']:.9f}")


# -- step 6: registration checks -----------------------------------------------------------------


def check_project_registration(mgr: Any, conn: Any, project_config: Any) -> None:
    """What ProjectRegistryManager checks when a project is registered (_run_checks and the
    subset dimension groups) and when a dataset is submitted (base_dimension_names)."""
    from dsgrid.dimension.base_models import DimensionType
    from dsgrid.utils.utilities import check_uniqueness

    pm, dm, dim_mgr = mgr.project_manager, mgr.dataset_manager, mgr.dimension_manager
    pid = project_config.model.project_id
    before = len(FAILURES)
    names = (d.model.name for d in project_config.iter_dimensions())
    attempt(f"project {pid}: unique dimension names", lambda: check_uniqueness(names, "name"))
    attempt(
        f"project {pid}: base dimensions and dataset requirement definitions",
        lambda: pm._check_base_dimensions(project_config),
    )
    for ds in project_config.model.datasets:
        for dim_type in DimensionType:
            if dim_type != DimensionType.TIME:
                attempt(
                    f"project {pid}: required {dim_type.value} records of {ds.dataset_id}",
                    lambda d=ds.dataset_id, t=dim_type: (
                        project_config.get_required_dimension_record_ids(d, t)
                    ),
                )
    for group in project_config.model.dimensions.subset_dimensions:
        bases = project_config.list_base_dimensions(dimension_type=group.dimension_type)
        if group.base_dimension_name is not None:
            bases = [b for b in bases if b.model.name == group.base_dimension_name]
        base_ids = bases[0].get_unique_ids()
        selected: set[str] = set()
        for ref in group.selector_references:
            selector = dim_mgr.get_by_id(ref.dimension_id, version=ref.version, conn=conn)
            selected |= selector.get_unique_ids()
        # _check_subset_dimension_consistency: the group lists every base record, once
        # registered as the union of its selectors' records.
        listed = set(group.record_ids)
        if not listed == selected == base_ids:
            fail(
                f"project {pid}: subset group {group.name!r}: record_ids lack "
                f"{sorted(base_ids - listed)}, add {sorted(listed - base_ids)}; selectors "
                f"differ from record_ids by {sorted(selected ^ listed)}"
            )
    for did in project_config.list_registered_dataset_ids():
        entry = project_config.get_dataset(did)
        dataset_config = dm.get_by_id(did, version=entry.version, conn=conn)
        derived = attempt(
            f"{pid}/{did}: derive base_dimension_names",
            lambda dc=dataset_config, e=entry: pm._id_base_dimension_names_in_dataset(
                project_config, dc, e.mapping_references
            ),
        )
        stored = {k: v for k, v in entry.base_dimension_names.model_dump().items() if v}
        if (
            derived is not None
            and {k: v for k, v in derived.model_dump().items() if k in stored} != stored
        ):
            fail(
                f"{pid}/{did}: base_dimension_names {entry.base_dimension_names} differ from "
                f"what dsgrid derives at submission: {derived}"
            )
    if len(FAILURES) == before:
        log(f"  [ok] {pid}: names, base dimensions, requirements, subset groups, base names")


def check_mappings(mgr: Any, conn: Any) -> None:
    from dsgrid.config.dimension_mappings_config import (
        DimensionMappingsConfig,
        DimensionMappingsConfigModel,
    )

    map_mgr = mgr.dimension_mapping_manager
    map_ids = map_mgr.list_ids(conn=conn)
    before = len(FAILURES)
    for map_id in map_ids:
        mapping = map_mgr.get_by_id(map_id, conn=conn).model
        cfg = DimensionMappingsConfig(DimensionMappingsConfigModel(mappings=[mapping]))
        label = f"mapping {map_id} {mapping.mapping_type.value}"
        attempt(f"{label}: duplicates / fraction sums", lambda c=cfg: map_mgr.validate_records(c))
        attempt(
            f"{label}: from/to ids in the dimensions",
            lambda c=cfg: map_mgr._check_records_against_dimension_records(conn, c),
        )
        # dsgrid 0.4.0 on DuckDB never detects sum(from_fraction) < 1: _check_fraction_sum
        # computes `1.0 - col`, which its DuckDB shim evaluates as `col - 1.0`. Re-check.
        archetype = mapping.archetype
        for group_by, enabled, tolerance in (
            ("from_id", archetype.check_fraction_sum_eq1_from_id, mapping.from_fraction_tolerance),
            ("to_id", archetype.check_fraction_sum_eq1_to_id, mapping.to_fraction_tolerance),
        ):
            if not enabled:
                continue
            sums: dict[str | None, float] = {}
            for record in mapping.records:
                key = getattr(record, group_by)
                sums[key] = sums.get(key, 0.0) + record.from_fraction
            bad = {k: v for k, v in sums.items() if abs(v - 1.0) > tolerance}
            if bad:
                first = dict(list(bad.items())[:10])
                fail(f"{label}: sum(from_fraction) by {group_by} != 1: {first}")
    log(f"  {len(map_ids)} mappings checked, {len(FAILURES) - before} failures")


def check_datasets(mgr: Any, conn: Any, scratch: Path, skip: set[str]) -> None:
    from dsgrid.config.dataset_schema_handler_factory import make_dataset_schema_handler
    from dsgrid.dimension.base_models import (
        DatasetDimensionRequirements,
        check_required_dataset_dimensions,
    )
    from dsgrid.utils.scratch_dir_context import ScratchDirContext
    from dsgrid.utils.utilities import check_uniqueness

    dm, dim_mgr, map_mgr = (
        mgr.dataset_manager,
        mgr.dimension_manager,
        mgr.dimension_mapping_manager,
    )
    store = dm.store
    requirements = DatasetDimensionRequirements()
    for did in dm.list_ids(conn=conn):
        if did in skip:
            log(f"  [skip] {did}")
            continue
        start = time.time()
        try:
            cfg = dm.get_by_id(did, conn=conn)
            version = cfg.model.version
            check_required_dataset_dimensions(
                cfg.model.dimension_references, requirements, "dataset dimensions"
            )
            check_uniqueness((x.model.name for x in cfg.dimensions.values()), "dimension name")
            handler = make_dataset_schema_handler(conn, cfg, dim_mgr, map_mgr, store=store)
            expected = store.read_expected_associations_tables(did, version)
            missing = store.read_missing_associations_tables(did, version)
            with ScratchDirContext(scratch) as context:
                handler.check_consistency(expected, missing, context, requirements)
            log(
                f"  [ok] {did}: records, lookup and associations consistent "
                f"({time.time() - start:.2f}s)"
            )
        except Exception as exc:
            fail(f"dataset {did}: check_consistency", exc)
            continue
        start = time.time()
        try:
            check_time(mgr, conn, cfg, handler)
            log(f"  [ok] {did}: time consistent ({time.time() - start:.2f}s)")
        except Exception as exc:
            fail(f"dataset {did}: check_time_consistency", exc)


def check_time(mgr: Any, conn: Any, cfg: Any, handler: Any) -> None:
    from dsgrid.config.dataset_config import DatasetConfig, UserDataLayout
    from dsgrid.config.dataset_schema_handler_factory import make_dataset_schema_handler
    from dsgrid.config.file_schema import FileSchema

    time_dim = cfg.get_time_dimension()
    if time_dim is None:
        return
    if not time_dim.supports_chronify():
        handler.check_time_consistency()
        return
    # The chronify path reads config.model.data_layout, a registration-only field: point a
    # temporary config at the registered Parquet files.
    store = mgr.dataset_manager.store
    did, version = cfg.model.dataset_id, cfg.model.version
    folder = Path(store.base_path) / "data" / did / version
    table = next(
        folder / n for n in ("table.parquet", "load_data.parquet") if (folder / n).exists()
    )
    lookup = next(
        (
            folder / n
            for n in ("lookup_table.parquet", "load_data_lookup.parquet")
            if (folder / n).exists()
        ),
        None,
    )
    model = cfg.model.model_copy(deep=True)
    layout = model.registry_data_layout
    model.registry_data_layout = None
    model.data_layout = UserDataLayout(
        data_file=FileSchema(path=str(table)),
        lookup_data_file=FileSchema(path=str(lookup)) if lookup else None,
        table_format=layout.table_format,
        value_format=layout.value_format,
    )
    temporary = DatasetConfig(model)
    temporary.update_dimensions(cfg.dimensions)
    make_dataset_schema_handler(
        conn, temporary, mgr.dimension_manager, mgr.dimension_mapping_manager, store=store
    ).check_time_consistency()


def check_dataset_to_project(mgr: Any, conn: Any, project_config: Any, skip: set[str]) -> None:
    class _Context:  # _check_dataset_base_to_project_base_mappings only reads .connection
        connection = conn

    pm, dm = mgr.project_manager, mgr.dataset_manager
    pid = project_config.model.project_id
    for did in project_config.list_registered_dataset_ids():
        if did in skip:
            continue
        start = time.time()
        try:
            dataset_config = dm.get_by_id(did, conn=conn)
            refs = project_config.get_dataset(did).mapping_references
            pm._check_dataset_base_to_project_base_mappings(
                project_config, dataset_config, refs, _Context()
            )
            log(
                f"  [ok] {pid}/{did}: mapped data covers the project's requirements "
                f"({time.time() - start:.2f}s)"
            )
        except Exception as exc:
            fail(f"{pid}/{did}: dataset-to-project check", exc)


# -- main ---------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("registry_db", type=Path, help="registry.db (data_path beside it)")
    parser.add_argument("--project", action="append", default=[], help="only these projects")
    parser.add_argument("--dataset", action="append", default=[], help="only these in queries")
    parser.add_argument("--aggregate", help="comma-separated dimension names to sum by")
    parser.add_argument("--write-parquet", type=Path, help="copy query results into this dir")
    parser.add_argument("--skip-queries", action="store_true")
    parser.add_argument("--registration-checks", action="store_true")
    parser.add_argument(
        "--skip-dataset", action="append", default=[], help="leave out of registration checks"
    )
    parser.add_argument("--work-dir", type=Path, help="parent of the temporary work dir")
    parser.add_argument("--keep-work-dir", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser.parse_args()


def main() -> int:
    global VERBOSE
    args = parse_args()
    VERBOSE = args.verbose
    db = args.registry_db.resolve()  # before leaving the caller's cwd
    if not db.is_file():
        sys.stderr.write(f"no such file: {db}\n")
        return 2
    write_parquet = args.write_parquet.resolve() if args.write_parquet else None
    if write_parquet is not None:
        write_parquet.mkdir(parents=True, exist_ok=True)
    work_root = args.work_dir.resolve() if args.work_dir else None
    started = time.time()
    work, db_copy = prepare_work_dir(db, work_root)
    os.chdir(work)  # dsgrid resolves a relative data_path against the cwd
    out_dir, scratch = work / "query_output", work / "scratch"
    out_dir.mkdir()
    scratch.mkdir()
    quiet_logging()

    start = time.time()
    import dsgrid
    from dsgrid.registry.common import DatabaseConnection
    from dsgrid.registry.registry_manager import RegistryManager

    log(f"dsgrid {getattr(dsgrid, '__version__', '?')} imported in {time.time() - start:.2f}s")

    log("Step 1: pydantic validation of every stored model")
    validate_model_rows(db_copy)

    start = time.time()
    url = f"sqlite:///file:{db_copy.as_posix()}?mode=ro&uri=true"
    try:
        mgr = RegistryManager.load(
            DatabaseConnection(url=url), offline_mode=True, scratch_dir=scratch
        )
    except Exception as exc:
        fail("RegistryManager.load", exc)
        return 1
    log(f"Step 2: RegistryManager.load ({time.time() - start:.2f}s)")

    loaded: list[tuple[Any, Any]] = []
    engine = mgr.project_manager.db.engine
    with engine.connect() as conn:
        list_registry(mgr, conn)
        log("Step 3: projects")
        for pid in args.project or mgr.project_manager.list_ids(conn=conn):
            start = time.time()
            try:
                project_config = mgr.project_manager.get_by_id(pid, conn=conn)
                project = mgr.project_manager.load_project(pid, conn=conn)
            except Exception as exc:
                fail(f"load project {pid}", exc)
                continue
            check_project_references(mgr, conn, project_config)
            loaded.append((project_config, project))
            submitted = len(project_config.list_registered_dataset_ids())
            log(f"  [ok] {pid}: {submitted} submitted datasets ({time.time() - start:.2f}s)")

    if not args.skip_queries:
        log("Step 4: project queries (each dataset mapped to the project's base dimensions)")
        group_by = [x.strip() for x in args.aggregate.split(",")] if args.aggregate else None
        run_queries(loaded, args.dataset, group_by, out_dir, scratch, write_parquet)

    if args.registration_checks:
        skip = set(args.skip_dataset)
        with engine.connect() as conn:
            log("Registration checks: projects")
            for project_config, _ in loaded:
                check_project_registration(mgr, conn, project_config)
            log("Registration checks: dimension mappings")
            check_mappings(mgr, conn)
            log("Registration checks: datasets")
            check_datasets(mgr, conn, scratch, skip)
            log("Registration checks: dataset -> project requirements")
            for project_config, _ in loaded:
                check_dataset_to_project(mgr, conn, project_config, skip)

    mgr.dispose()
    os.chdir(db.parent)
    if args.keep_work_dir:
        log(f"work dir kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    log(f"Total {time.time() - started:.2f}s")
    if FAILURES:
        log(f"FAILED ({len(FAILURES)}):")
        for failure in FAILURES:
            log(f"  - {failure}")
        return 1
    log("ALL CHECKS PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
