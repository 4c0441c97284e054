"""`dsgrid-sql reproduce FILE` and `dsgrid_sql.reproduce(FILE)`: a written result's query run
again at the versions it recorded; the same answer is confirmed, a changed data file is
caught."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import dsgrid_sql
from dsgrid_sql.generator import GeneratorSpec, generate_registry
from dsgrid_sql.reproduction import ReproduceError, reproduce

QUERY = "SELECT geography, metric, SUM(value) AS v FROM data GROUP BY ALL"


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    spec = GeneratorSpec(counties=3, hours=24, datasets=2)
    return generate_registry(tmp_path / "reg", spec).path


def test_an_export_reproduces(registry: Path, tmp_path: Path) -> None:
    with dsgrid_sql.connect(registry) as session:
        written = session.sql(QUERY).to_parquet(tmp_path / "out.parquet")
    outcome = reproduce(written)
    assert outcome.same and outcome.rows_after == outcome.rows_before > 0
    assert outcome.max_relative_difference <= 1e-12
    assert outcome.summary().startswith("Reproduced:")


def test_a_changed_data_file_is_caught(registry: Path, tmp_path: Path) -> None:
    with dsgrid_sql.connect(registry) as session:
        written = session.sql(QUERY).to_parquet(tmp_path / "out.parquet")
        data_root = Path(session.catalog.data_root)
    # Someone rewrites one of the registry's data files in place.
    target = next(p for p in sorted(data_root.rglob("*.parquet")) if _has_floats(p))
    table = pq.read_table(target)
    changed = table.set_column(
        table.schema.get_field_index(_first_float(table)),
        _first_float(table),
        pc.multiply(table[_first_float(table)], 1.5),
    )
    pq.write_table(changed, target)
    outcome = reproduce(written)
    assert not outcome.same
    report = outcome.summary()
    assert report.startswith("Not reproduced") and "differs in v" in report
    cli = subprocess.run(
        [sys.executable, "-m", "dsgrid_sql", "reproduce", str(written)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert cli.returncode == 1 and "Not reproduced" in cli.stdout and "Traceback" not in cli.stderr


def test_the_recorded_versions_are_read(efs_dir: Path, tmp_path: Path) -> None:
    sql = "SELECT us_states, SUM(value) AS v FROM test_efs.data GROUP BY ALL"
    with dsgrid_sql.connect(efs_dir) as session:
        session.sql("SET as_of = 'test_efs@1.1.0'")
        written = session.sql(sql).to_parquet(tmp_path / "old.parquet")
        current = session.sql(sql.replace("GROUP", "VERSION AS OF '1.2.0' GROUP")).to_arrow()
    outcome = reproduce(written)
    assert outcome.same and outcome.versions == {"test_efs": "1.1.0"}
    # The same query at the current version gives other numbers: the pin matters.
    assert not pa.Table.equals(pq.read_table(written).select(["v"]), current.select(["v"]))
    cli = subprocess.run(
        [sys.executable, "-m", "dsgrid_sql", "reproduce", str(written)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert cli.returncode == 0 and "test_efs@1.1.0" in cli.stdout


def test_a_job_result_reproduces_on_the_other_engine(registry: Path, tmp_path: Path) -> None:
    with dsgrid_sql.connect(registry, jobs_dir=tmp_path / "jobs") as session:
        job = session.submit(QUERY)
        job.wait(60)
        path = job.path
        copy = tmp_path / "job.parquet"
        shutil.copy(path, copy)
    outcome = dsgrid_sql.reproduce(copy, engine="spark")
    assert outcome.same, outcome.summary()


def test_files_without_lineage_are_refused_in_one_sentence(tmp_path: Path) -> None:
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"x": [1]}), plain)
    with pytest.raises(ReproduceError, match="not written by dsgrid-sql"):
        reproduce(plain)
    text = tmp_path / "notes.parquet"
    text.write_text("not parquet")
    cli = subprocess.run(
        [sys.executable, "-m", "dsgrid_sql", "reproduce", str(text)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert cli.returncode != 0 and "Cannot read" in cli.stderr and "Traceback" not in cli.stderr


def _has_floats(path: Path) -> bool:
    return any(pa.types.is_floating(f.type) for f in pq.read_schema(path))


def _first_float(table: pa.Table) -> str:
    return next(f.name for f in table.schema if pa.types.is_floating(f.type))
