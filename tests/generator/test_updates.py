"""New dataset versions registered one at a time into a generated registry (the soak's
writer): the same registry as the generator writes with ``dataset_versions``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import dsgrid_sql
from dsgrid_sql.errors import GeneratorError
from dsgrid_sql.generator import VERSION_SCALE, GeneratorSpec, generate_registry
from dsgrid_sql.generator.updates import register_dataset_update

SPEC = GeneratorSpec(counties=3, hours=24, datasets=3)
BY_KEY = (
    "SELECT dataset_id, geography, metric, SUM(value) AS v FROM data {clause} "
    "GROUP BY ALL ORDER BY ALL"
)


def _rows(registry: Path, sql: str) -> list[tuple]:
    with dsgrid_sql.connect(registry) as session:
        return [tuple(r.values()) for r in session.sql(sql).to_arrow().to_pylist()]


def _close(a: list[tuple], b: list[tuple]) -> None:
    assert [r[:-1] for r in a] == [r[:-1] for r in b]
    assert all(abs(x[-1] - y[-1]) <= 1e-9 * abs(y[-1]) for x, y in zip(a, b, strict=True))


def test_updates_equal_the_generators_versions(tmp_path: Path) -> None:
    whole = generate_registry(tmp_path / "whole", SPEC.model_copy(update={"dataset_versions": 3}))
    stepped = generate_registry(tmp_path / "stepped", SPEC).path
    assert register_dataset_update(stepped, VERSION_SCALE) == ("1.1.0", "1.4.0")
    inode = os.stat(stepped).st_ino
    # The second one replaces the file by rename, as a copy from elsewhere would.
    assert register_dataset_update(stepped.parent, VERSION_SCALE**2, replace_file=True) == (
        "1.2.0",
        "1.5.0",
    )
    assert os.stat(stepped).st_ino != inode
    for clause in ("", "VERSION AS OF '1.4.0'", "VERSION AS OF '1.3.0'"):
        sql = BY_KEY.format(clause=clause)
        _close(_rows(stepped, sql), _rows(whole.path, sql))
    assert not list(stepped.parent.glob(".registry.db.*"))


def test_a_registry_without_the_dataset_is_refused(tmp_path: Path) -> None:
    registry = generate_registry(tmp_path / "r", SPEC).path
    with pytest.raises(GeneratorError, match="no_such_dataset"):
        register_dataset_update(registry, 2.0, dataset_id="no_such_dataset")
    with pytest.raises(GeneratorError, match="No registry"):
        register_dataset_update(tmp_path / "absent", 2.0)
