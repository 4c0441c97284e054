"""Exports that are killed or fail mid-write leave no partial output; nothing is overwritten
unless asked (issue 7, "Export").

The staging convention under test (dsgrid_sql/export.py): output is written into a hidden
sibling directory ``.<target>.partial-<pid>-<random>/`` and renamed onto the target at the
end. A process killed with SIGKILL leaves that directory (no code runs), never the target;
the next export to the same target removes it once the process is gone.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dsgrid_sql
from dsgrid_sql.errors import ExportError, QueryExecutionError
from dsgrid_sql.export import PARTIAL_MARK, write_result
from dsgrid_sql.generator import GeneratorSpec, generate_registry
from dsgrid_sql.session import Session

QUERY = "SELECT geography, metric, timestamp, value FROM dsgrid_demo_residential"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = GeneratorSpec(counties=6, hours=24, datasets=2)
    return generate_registry(tmp_path_factory.mktemp("export") / "reg", spec).path


@pytest.fixture()
def session(registry: Path) -> Iterator[Session]:
    with dsgrid_sql.connect(registry) as s:
        yield s


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _slow_reader(table: pa.Table, *, pause: float, fail_after: int | None = None):
    """A reader that yields 500-row batches with a pause, optionally failing midway as an
    engine does (a dsgrid-sql error raised from the stream)."""

    def batches() -> Iterator[pa.RecordBatch]:
        for i, batch in enumerate(table.to_batches(max_chunksize=500)):
            if fail_after is not None and i == fail_after:
                raise QueryExecutionError("DuckDB could not finish the query: boom.")
            time.sleep(pause)
            yield batch

    return pa.RecordBatchReader.from_batches(table.schema, batches())


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    import pyarrow as pa
    import dsgrid_sql
    from dsgrid_sql.session import Result

    registry, target, how = sys.argv[1], sys.argv[2], sys.argv[3]
    session = dsgrid_sql.connect(registry)
    plain = Result.to_reader

    def slow(self):  # the real engine stream, slowed so the kill lands mid-write
        reader = plain(self)
        def batches():
            for batch in reader:
                for start in range(0, batch.num_rows, 200):
                    time.sleep(0.05)
                    yield batch.slice(start, 200)
        return pa.RecordBatchReader.from_batches(reader.schema, batches())

    Result.to_reader = slow
    sql = "SELECT geography, metric, timestamp, value FROM dsgrid_demo_residential"
    if how == "to_parquet":
        session.sql(sql).to_parquet(target)
    elif how == "copy":
        session.sql(f"COPY ({sql}) TO '{target}' (FORMAT parquet, PARTITION_BY (metric))")
    else:
        session.sql(sql).write(target)
    """
)


@pytest.mark.parametrize("how", ["to_parquet", "copy", "csv"])
def test_killed_mid_write_leaves_no_target(registry: Path, tmp_path: Path, how: str) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / ("result.csv" if how == "csv" else "result.parquet")
    with (tmp_path / "stderr.txt").open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-c", KILLED_WRITER, str(registry), str(target), how],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        # Wait until the staging output has bytes in it: the write is under way.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            staged = [
                p for p in out_dir.glob(f".{target.name}{PARTIAL_MARK}*/**/*") if p.is_file()
            ]
            if any(p.stat().st_size > 0 for p in staged):
                break
            time.sleep(0.02)
        assert proc.poll() is None, (tmp_path / "stderr.txt").read_text()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert not target.exists()
    # What is left is one hidden staging directory, named for the target and the dead pid.
    left = _leftovers(out_dir)
    assert len(left) == 1 and left[0].startswith(f".{target.name}{PARTIAL_MARK}{proc.pid}-")
    # The next export to the same target succeeds and removes the abandoned staging.
    with dsgrid_sql.connect(registry) as session:
        path, rows = session.sql(QUERY).write(target)
    assert path == target and rows > 0
    assert _leftovers(out_dir) == [target.name]


def test_engine_error_mid_export_leaves_nothing(session: Session, tmp_path: Path) -> None:
    # A cast that fails only for the last county: the first rows stream before the error.
    last = session.sql("SELECT MAX(geography) AS g FROM dsgrid_demo_residential")
    county = last.to_arrow().column("g")[0].as_py()
    sql = (
        "SELECT geography, CAST(CASE WHEN geography = '" + county + "' THEN 'x' ELSE '1' END "
        "AS INTEGER) AS n FROM dsgrid_demo_residential"
    )
    for target in (tmp_path / "a.parquet", tmp_path / "b.csv"):
        with pytest.raises(QueryExecutionError, match="could not"):
            session.sql(sql).write(target)
    with pytest.raises(QueryExecutionError):
        session.sql(f"COPY ({sql}) TO '{tmp_path / 'c'}' (FORMAT parquet, PARTITION_BY (n))")
    assert _leftovers(tmp_path) == []


def test_stream_failure_after_some_batches_leaves_nothing(
    session: Session, tmp_path: Path
) -> None:
    table = session.sql(QUERY).to_arrow()
    for partition_by in (None, ["metric"]):
        reader = _slow_reader(table, pause=0, fail_after=3)
        with pytest.raises(QueryExecutionError, match="boom"):
            write_result(reader, tmp_path / "x.parquet", partition_by=partition_by)
    assert _leftovers(tmp_path) == []


def test_disk_error_mid_write_is_one_clear_sentence(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    original = pq.ParquetWriter.write_batch

    def full_disk(self: pq.ParquetWriter, batch: pa.RecordBatch, *args: object) -> None:
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        original(self, batch, *args)

    monkeypatch.setattr(pq.ParquetWriter, "write_batch", full_disk)
    table = session.sql(QUERY).to_arrow()
    reader = _slow_reader(table, pause=0)
    with pytest.raises(ExportError) as err:
        write_result(reader, tmp_path / "x.parquet")
    assert "no space left on device" in err.value.message
    assert "nothing was written" in err.value.message and "\n" not in err.value.message
    assert _leftovers(tmp_path) == []


def test_unwritable_folder_is_a_clear_error(session: Session, tmp_path: Path) -> None:
    # A file where the folder should be: mkdtemp fails whoever runs the test (even root).
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    with pytest.raises(ExportError, match=r"does not exist|Cannot write"):
        session.sql(QUERY).write(blocker / "x.parquet")
    assert _leftovers(tmp_path) == ["blocker"]
    if os.geteuid() != 0:  # root ignores permissions; the disk-full test covers root
        readonly = tmp_path / "ro"
        readonly.mkdir()
        os.chmod(readonly, 0o555)
        try:
            with pytest.raises(ExportError, match="permission denied"):
                session.sql(QUERY).write(readonly / "x.parquet")
        finally:
            os.chmod(readonly, 0o755)
        assert _leftovers(readonly) == []


def test_existing_files_are_kept_unless_overwrite(session: Session, tmp_path: Path) -> None:
    target = tmp_path / "keep.parquet"
    target.write_bytes(b"precious")
    with pytest.raises(ExportError, match="already exists"):
        session.sql(QUERY).to_parquet(target)
    with pytest.raises(ExportError, match="already exists"):
        session.sql(f"COPY ({QUERY}) TO '{target}' (FORMAT parquet)")
    assert target.read_bytes() == b"precious"
    session.sql(f"COPY ({QUERY}) TO '{target}' (FORMAT parquet, OVERWRITE true)")
    assert pq.read_table(target).num_rows > 0
    # A partitioned export does not replace an existing directory either, unless asked.
    folder = tmp_path / "parts"
    session.sql(QUERY).to_parquet(folder, partition_by=["metric"])
    marker = folder / "mine.txt"
    marker.write_text("mine")
    with pytest.raises(ExportError, match="already exists"):
        session.sql(QUERY).to_parquet(folder, partition_by=["metric"])
    assert marker.read_text() == "mine"
    # Overwriting replaces only what an export wrote: a folder holding anything else stays.
    with pytest.raises(ExportError, match=r"holds '.*mine\.txt', which an export does not write"):
        session.sql(QUERY).to_parquet(folder, partition_by=["metric"], overwrite=True)
    assert marker.read_text() == "mine"
    marker.unlink()
    session.sql(QUERY).to_parquet(folder, partition_by=["metric"], overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.parquet", "parts"]


def test_overwrite_never_replaces_links_devices_or_the_registry(
    session: Session, registry: Path, tmp_path: Path
) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("keep")
    link = tmp_path / "link.parquet"
    link.symlink_to(precious)
    with pytest.raises(ExportError, match="symbolic link"):
        session.sql(QUERY).to_parquet(link, overwrite=True)
    assert precious.read_text() == "keep" and link.is_symlink()
    pipe = tmp_path / "pipe.parquet"
    os.mkfifo(pipe)
    with pytest.raises(ExportError, match="not a regular file"):
        session.sql(f"COPY ({QUERY}) TO '{pipe}' (FORMAT parquet, OVERWRITE true)")
    assert pipe.is_fifo()
    before = registry.read_bytes()
    data = session.catalog.data_root
    for target in (registry, registry.with_name(registry.name + "-wal"), data / "x.parquet",
                   registry.parent.parent):  # fmt: skip
        with pytest.raises(ExportError, match="part of the registry"):
            session.sql(QUERY).to_parquet(target, overwrite=True)
    assert registry.read_bytes() == before and not (data / "x.parquet").exists()


def test_file_that_appears_during_the_write_is_not_replaced(
    session: Session, tmp_path: Path
) -> None:
    target = tmp_path / "late.parquet"
    table = session.sql(QUERY).to_arrow()

    def batches() -> Iterator[pa.RecordBatch]:
        for i, batch in enumerate(table.to_batches(max_chunksize=2000)):
            if i == 1:
                target.write_bytes(b"someone else's")
            yield batch

    reader = pa.RecordBatchReader.from_batches(table.schema, batches())
    with pytest.raises(ExportError, match="appeared while"):
        write_result(reader, target)
    assert target.read_bytes() == b"someone else's"
    assert _leftovers(tmp_path) == ["late.parquet"]


def test_cli_output_refuses_existing_file(registry: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from dsgrid_sql.cli import main

    target = tmp_path / "o.parquet"
    target.write_bytes(b"keep")
    runner = CliRunner()
    result = runner.invoke(main, ["--registry", str(registry), "query", QUERY, "-o", str(target)])
    assert result.exit_code != 0 and "already exists" in result.output
    assert "Traceback" not in result.output and target.read_bytes() == b"keep"
    result = runner.invoke(
        main, ["--registry", str(registry), "query", QUERY, "-o", str(target), "--overwrite"]
    )
    assert result.exit_code == 0, result.output
    assert pq.read_table(target).num_rows > 0
