"""Writing results to Parquet (and CSV) atomically, with lineage metadata.

Everything is written to a temporary sibling directory and renamed into place at the end, so
a failure or Ctrl-C leaves nothing behind and a reader never sees half a file. The staging
directory is hidden and named for its target and its process,
``.<target name>.partial-<pid>-<random>/``: Parquet readers (DuckDB, Spark, pyarrow) skip
names that start with ``.``, and one left by a process killed mid-write (SIGKILL runs no
cleanup) is removed by the next export to the same target once that process is gone. An
existing target is replaced only when asked (``overwrite``); without it the final rename
refuses to replace a file that appeared during the write. When an export directory is
configured, paths must lie inside it.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from dsgrid_sql.errors import ExportError
from dsgrid_sql.version import __version__

METADATA_KEY = b"dsgrid_sql"
PARTIAL_MARK = ".partial-"
FORMATS = ("parquet", "csv")
# File name endings that say the format, as DuckDB's COPY reads them; any other name (a folder
# for a partitioned export, 'out.data') is written as Parquet unless a format is given.
FORMAT_OF_SUFFIX = {".parquet": "parquet", ".csv": "csv"}


def export_format(path: str | Path, file_format: str | None = None) -> str:
    """The format of an export to ``path``: ``file_format`` when given, else the one its
    suffix says (.csv, .parquet), else Parquet. A given format that contradicts the suffix
    is an error, never a Parquet file named .csv."""
    implied = FORMAT_OF_SUFFIX.get(Path(path).suffix.lower())
    if file_format is None:
        return implied or "parquet"
    chosen = file_format.lower()
    if chosen not in FORMATS:
        raise ExportError(f"Unknown export format '{file_format}'; use parquet or csv.")
    if implied is not None and implied != chosen:
        raise ExportError(
            f"The format {chosen} contradicts the file name '{Path(path).name}', which says "
            f"{implied}: name the file for its format, or leave the format out."
        )
    return chosen


def lineage(query: str, sources: dict[str, Any], engine: str) -> dict[str, Any]:
    """What a written file records about where its numbers came from: the query, the
    projects and datasets (with versions) and the registry in ``sources``, the engine,
    dsgrid-sql's version and when."""
    return {
        "query": query,
        "projects": sources["projects"],
        "datasets": sources["datasets"],
        "registry": sources["registry"],
        "engine": engine,
        "dsgrid_sql_version": __version__,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def resolve_export_path(path: str | Path, export_dir: str | Path | None) -> Any:
    """The target path; relative to and confined within ``export_dir`` when one is set. An
    ``s3://`` target (or export directory) is checked as an S3 path."""
    if _is_remote(path) or (export_dir is not None and _is_remote(export_dir)):
        path = _under_remote_dir(path, export_dir)
        return resolve_remote_target(str(path), export_dir, None)
    target = Path(path).expanduser()
    if export_dir is None:
        return _resolve_folder(target)
    root = Path(export_dir).expanduser().resolve()
    resolved = _resolve_folder(root / target if not target.is_absolute() else target)
    if root != resolved and root not in resolved.parents:
        raise ExportError(
            f"Cannot write '{path}': exports must stay inside the export directory '{root}'.",
            hint="Give a path relative to the export directory.",
        )
    return resolved


def _resolve_folder(path: Path) -> Path:
    """The absolute path with its folder's links resolved but not its own name: a target
    that is a symbolic link stays one (and overwrite refuses it) instead of becoming the
    file it points to."""
    if path.name in ("", ".", ".."):
        return path.resolve()
    return path.parent.resolve() / path.name


def write_result(
    reader: pa.RecordBatchReader,
    path: str | Path,
    *,
    file_format: str | None = None,
    partition_by: Sequence[str] | None = None,
    metadata: dict[str, Any] | None = None,
    overwrite: bool = False,
    export_dir: str | Path | None = None,
    protected: Sequence[Any] = (),
    storage_options: Any = None,
) -> tuple[Any, int]:
    """Write every batch of ``reader`` to ``path`` in ``file_format`` (by default the one
    its name says, see :func:`export_format`); returns (path, rows written). An ``s3://``
    path is written to object storage (``storage_options`` say how to reach it)."""
    if _is_remote(path) or (export_dir is not None and _is_remote(export_dir)):
        path = _under_remote_dir(path, export_dir)
        return _write_remote(
            reader,
            str(path),
            file_format=file_format,
            partition_by=_partition_columns(reader, partition_by),
            schema=_with_lineage(reader.schema, metadata),
            overwrite=overwrite,
            export_dir=export_dir,
            protected=protected,
            storage_options=storage_options,
        )
    target = resolve_export_path(path, export_dir)
    check_target(target, protected)
    if (target.exists() or target.is_symlink()) and overwrite:
        check_replaceable(target)
    if target.exists() and not overwrite:
        raise ExportError(
            f"'{target}' already exists; nothing was written.",
            hint="Choose another path, or allow overwriting (OVERWRITE true / --overwrite).",
        )
    if not target.parent.is_dir():
        raise ExportError(f"Cannot write '{target}': the folder '{target.parent}' does not exist.")
    file_format = export_format(path, file_format)
    partition_by = _partition_columns(reader, partition_by)
    schema = _with_lineage(reader.schema, metadata)
    _remove_abandoned_staging(target)
    try:
        prefix = f".{target.name}{PARTIAL_MARK}{os.getpid()}-"
        staging = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    except OSError as exc:
        raise ExportError(f"Cannot write '{target}': {_os_reason(exc)}.") from None
    try:
        out = staging / "out"
        rows = _write_out(reader, schema, out, file_format, partition_by, target)
        _move_into_place(out, target, overwrite=overwrite)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target, rows


def _write_out(
    reader: pa.RecordBatchReader,
    schema: pa.Schema,
    out: Path,
    file_format: str,
    partition_by: list[str],
    target: object,
) -> int:
    """Write every batch to ``out`` (a file, or a folder of partitions); returns rows."""
    rows = 0
    try:
        if partition_by:
            if file_format != "parquet":
                raise ExportError("Partitioned exports are written as Parquet only.")
            batches = _counting(reader)
            import pyarrow.dataset as pads  # loads pandas: only when partitioning

            pads.write_dataset(
                pa.RecordBatchReader.from_batches(schema, batches),
                out,
                format="parquet",
                partitioning=partition_by,
                partitioning_flavor="hive",
                existing_data_behavior="error",
            )
            rows = batches.count  # type: ignore[attr-defined]
        elif file_format == "parquet":
            with pq.ParquetWriter(out, schema) as writer:
                for batch in reader:
                    writer.write_batch(batch)
                    rows += batch.num_rows
        else:
            with pacsv.CSVWriter(out, reader.schema) as writer:
                for batch in reader:
                    writer.write_batch(batch)
                    rows += batch.num_rows
    except (OSError, pa.ArrowException) as exc:
        # Disk full, permissions, a failing stream not already a dsgrid-sql error.
        raise ExportError(
            f"Writing '{target}' failed ({_os_reason(exc)}); nothing was written."
        ) from None
    return rows


def _write_remote(
    reader: pa.RecordBatchReader,
    path: str,
    *,
    file_format: str | None,
    partition_by: list[str],
    schema: pa.Schema,
    overwrite: bool,
    export_dir: str | Path | None,
    protected: Sequence[Any],
    storage_options: Any,
) -> tuple[Any, int]:
    """An export to object storage: written whole to a local staging folder, then published
    (dsgrid_sql/storage/publish.py): nothing appears at the target before every byte of the
    result is written and uploaded."""
    from dsgrid_sql.storage import StorageOptions
    from dsgrid_sql.storage.publish import check_target as check_remote_target
    from dsgrid_sql.storage.publish import publish

    target = resolve_remote_target(path, export_dir, StorageOptions.parse(storage_options))
    check_remote_target(target, protected, overwrite=overwrite)
    file_format = export_format(target.name, file_format)
    staging = Path(tempfile.mkdtemp(prefix="dsgrid-sql-export-"))
    try:
        out = staging / "out"
        rows = _write_out(reader, schema, out, file_format, partition_by, target)
        publish(out, target, overwrite=overwrite)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target, rows


def resolve_remote_target(path: str, export_dir: str | Path | None, options: Any) -> Any:
    """An ``s3://`` export target; inside ``export_dir`` when one is set (which must then be
    an ``s3://`` prefix too)."""
    from dsgrid_sql.storage import S3Path, is_remote

    if export_dir is not None and not is_remote(str(export_dir)):
        raise ExportError(
            f"Cannot write '{path}': exports must stay inside the export directory "
            f"'{export_dir}'.",
            hint="Give a path relative to the export directory.",
        )
    target = S3Path.parse(str(path), options)
    if export_dir is not None:
        root = S3Path.parse(str(export_dir), options)
        inside = target.bucket == root.bucket and (
            not root.key or target.key == root.key or target.key.startswith(root.key + "/")
        )
        if not inside or target == root:
            raise ExportError(
                f"Cannot write '{path}': exports must stay inside the export directory '{root}'.",
                hint="Give a path relative to the export directory.",
            )
    return target


def _under_remote_dir(path: str | Path, export_dir: str | Path | None) -> str:
    """``path`` as an s3:// URL: itself, or relative to an s3:// export directory."""
    if _is_remote(path):
        return str(path)
    if Path(path).is_absolute() or ".." in Path(path).parts:
        raise ExportError(
            f"Cannot write '{path}': exports must stay inside the export directory "
            f"'{export_dir}'.",
            hint="Give a path relative to the export directory.",
        )
    return f"{str(export_dir).rstrip('/')}/{path}"


def _is_remote(path: object) -> bool:
    from dsgrid_sql.storage import is_remote

    return is_remote(str(path))


def _partition_columns(
    reader: pa.RecordBatchReader, partition_by: Sequence[str] | None
) -> list[str]:
    partition_by = list(partition_by or [])
    missing = [c for c in partition_by if c not in reader.schema.names]
    if missing:
        raise ExportError(
            f"Cannot partition by {', '.join(missing)}: the result has no such column.",
            hint=f"Result columns: {', '.join(reader.schema.names)}.",
        )
    return partition_by


def _with_lineage(schema: pa.Schema, metadata: dict[str, Any] | None) -> pa.Schema:
    if not metadata:
        return schema
    return schema.with_metadata(
        {**(schema.metadata or {}), METADATA_KEY: json.dumps(metadata).encode()}
    )


def _move_into_place(out: Path, target: Path, *, overwrite: bool) -> None:
    """Rename the finished output onto ``target``; an existing target is replaced only with
    ``overwrite`` (checked again here: a file may have appeared while the query ran)."""
    try:
        if overwrite:
            if target.exists() or target.is_symlink():
                check_replaceable(target)  # again: it may have changed while the query ran
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() and out.is_dir():
                target.unlink()
            os.replace(out, target)
        elif out.is_dir():
            if target.exists() or target.is_symlink():
                raise FileExistsError(errno.EEXIST, "exists", str(target))
            os.rename(out, target)  # never replaces a non-empty directory or a file
        else:
            os.link(out, target)  # atomic, and fails when the target exists
    except FileExistsError:
        raise ExportError(
            f"'{target}' appeared while the result was written; nothing was written.",
            hint="Choose another path, or allow overwriting (OVERWRITE true / --overwrite).",
        ) from None
    except OSError as exc:
        raise ExportError(f"Cannot write '{target}': {_os_reason(exc)}.") from None


def check_target(target: Path, protected: Sequence[Any]) -> None:
    """Refuse a path that is, holds or lies inside one of the registry's own files or
    folders (``protected``): an export never touches what it reads."""
    for item in protected:
        if _is_remote(item):
            continue  # a local target is never inside an S3 prefix
        item = Path(item).resolve()
        if item.is_file():
            # The file itself and its companions (registry.db-wal, -journal, -shm).
            companion = target.parent == item.parent and target.name.startswith(item.name + "-")
            touched = target == item or companion
        else:
            touched = target == item or item in target.parents
        if touched or target in item.parents:
            raise ExportError(
                f"Cannot write '{target}': it is part of the registry being read "
                f"('{item}'); choose a path outside it."
            )


def check_replaceable(target: Path) -> None:
    """What ``overwrite`` may replace: a regular file, or a folder that holds only what an
    export writes (Parquet/CSV files and ``column=value`` partition folders) — never a
    symbolic link, a device, a socket or a pipe, nor a folder of other things."""
    if target.is_symlink():
        raise ExportError(
            f"Cannot overwrite '{target}': it is a symbolic link; dsgrid-sql replaces only "
            "regular files and folders of export output."
        )
    mode = target.lstat().st_mode
    if stat.S_ISREG(mode):
        return
    if not stat.S_ISDIR(mode):
        raise ExportError(
            f"Cannot overwrite '{target}': it is not a regular file (a device, socket or "
            "pipe); nothing was written."
        )
    stranger = _not_export_output(target)
    if stranger is not None:
        raise ExportError(
            f"Cannot overwrite the folder '{target}': it holds '{stranger}', which an export "
            "does not write; remove the folder yourself or choose another path."
        )


def _not_export_output(folder: Path) -> Path | None:
    """The first entry of ``folder`` an export would not have written, or None."""
    for entry in folder.iterdir():
        if entry.name.startswith("."):
            continue  # staging left by an interrupted export
        mode = entry.lstat().st_mode
        if stat.S_ISREG(mode) and entry.suffix.lower() in FORMAT_OF_SUFFIX:
            continue
        if stat.S_ISDIR(mode) and "=" in entry.name:
            inner = _not_export_output(entry)
            if inner is None:
                continue
            return inner
        return entry
    return None


def _remove_abandoned_staging(target: Path) -> None:
    """Staging directories of ``target`` left by processes that no longer run."""
    prefix = f".{target.name}{PARTIAL_MARK}"
    try:
        candidates = [p for p in target.parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return
    for path in candidates:
        pid_text = path.name[len(prefix) :].split("-", 1)[0]
        if pid_text.isdigit() and not process_alive(int(pid_text)):
            shutil.rmtree(path, ignore_errors=True)


def process_alive(pid: int) -> bool:
    """Whether a process of this machine still runs (another user's counts as running)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process: alive
    return True


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    text = str(exc).strip()
    return text.splitlines()[0].rstrip(".") if text else type(exc).__name__


class _counting:
    """Iterates batches and counts their rows."""

    def __init__(self, reader: pa.RecordBatchReader) -> None:
        self._reader = reader
        self.count = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        for batch in self._reader:
            self.count += batch.num_rows
            yield batch
