"""A generator of complete dsgrid registries in dsgrid's own format.

Used by ``make demo``, the tests and ``bench/``: it writes ``registry.db`` (the five tables
and JSON models dsgrid 0.4 writes) and Parquet under ``data/``, from a few parameters
(:class:`GeneratorSpec`). The output directory appears whole or not at all: everything is
written to a temporary sibling directory that is renamed into place at the end.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dsgrid_sql.errors import GeneratorError

from .design import DatasetDef, ProjectDef, design_project
from .load_data import write_dataset
from .registry_writer import dataset_version, write_registry_db
from .spec import GeneratorSpec, estimate_rows

__all__ = [
    "GeneratedRegistry",
    "GeneratorSpec",
    "estimate_rows",
    "generate_efs_like",
    "generate_registry",
]

DATA_PATH = "data"


@dataclass(frozen=True)
class GeneratedRegistry:
    path: Path  # the registry.db
    spec: GeneratorSpec
    rows: dict[str, int]  # dataset id → value rows written


def generate_registry(
    output_dir: str | Path, spec: GeneratorSpec | None = None, *, overwrite: bool = False
) -> GeneratedRegistry:
    """Write a registry described by ``spec`` into ``output_dir`` (which must not exist,
    unless ``overwrite``)."""
    spec = spec or GeneratorSpec()
    project = design_project(spec)

    def data(folder: Path, dataset: DatasetDef) -> int:
        return write_dataset(folder, project, dataset, spec)

    path, rows = _write(
        output_dir, project, data, spec.unsubmitted, spec.legacy_seed, overwrite,
        spec.dataset_versions,
    )  # fmt: skip
    return GeneratedRegistry(path, spec, rows)


def generate_efs_like(
    output_dir: str | Path, *, seed: int = 0, overwrite: bool = False
) -> GeneratedRegistry:
    """Write a registry shaped like dsgrid's test_efs project (efs_like.py) with values
    drawn from ``seed``."""
    from .efs_like import design_efs_like, write_efs_like_data

    project = design_efs_like(seed)

    def data(folder: Path, dataset: DatasetDef) -> int:
        return write_efs_like_data(folder, project, dataset, seed)

    path, rows = _write(output_dir, project, data, 0, None, overwrite)
    return GeneratedRegistry(path, GeneratorSpec(project_id=project.project_id, seed=seed), rows)


# Each update of a dataset multiplies its values by this (load data only; lookups stay).
VERSION_SCALE = 1.1


def write_scaled_version(source: Path, target: Path, factor: float) -> None:
    """A dataset version's files: ``source``'s, with the floating-point columns of its load
    data (not of a lookup table) times ``factor``."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    shutil.copytree(source, target)
    for path in sorted(target.rglob("*.parquet")):
        if "lookup" in path.name:
            continue
        table = pq.read_table(path)
        for index, column in enumerate(table.schema):
            if pa.types.is_floating(column.type):
                scaled = pc.multiply(table.column(index), pa.scalar(factor, column.type))
                table = table.set_column(index, column, scaled)
        pq.write_table(table, path)


def _write(
    output_dir: str | Path,
    project: ProjectDef,
    write_data: Callable[[Path, DatasetDef], int],
    unsubmitted: int,
    legacy_seed: int | None,
    overwrite: bool,
    dataset_versions: int = 1,
) -> tuple[Path, dict[str, int]]:
    target = Path(output_dir)
    if target.exists() and not overwrite:
        raise GeneratorError(
            f"'{target}' already exists; the generator writes only new directories.",
            hint="Choose another directory or pass overwrite=True (--overwrite).",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        data_root = staging / DATA_PATH
        rows = {}
        for dataset in project.registered():
            folder = data_root / "data" / dataset.dataset_id / "1.0.0"
            rows[dataset.dataset_id] = write_data(folder, dataset)
        submitted = project.registered()[: len(project.datasets) - unsubmitted]
        if submitted:
            first = data_root / "data" / submitted[0].dataset_id
            for update in range(1, dataset_versions):
                write_scaled_version(
                    first / "1.0.0", first / dataset_version(update), VERSION_SCALE**update
                )
        values = write_registry_db(
            staging / "registry.db", project, DATA_PATH, unsubmitted, legacy_seed,
            dataset_versions,
        )  # fmt: skip
        (data_root / "registry.json5").write_text(json.dumps(values, indent=2) + "\n")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target / "registry.db", rows
