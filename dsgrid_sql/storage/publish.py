"""Publishing an export on object storage so that readers never see part of it.

S3 has no rename: an object becomes visible whole when its upload completes, and a server-side
copy makes its target appear whole too. So an export is written completely on local disk
first, each file uploaded under a hidden staging prefix beside the target
(``.<name>.partial-<pid>-<random>/``, skipped by Parquet readers as local staging folders
are), and only then copied into place and the staging objects deleted. A single-file result
appears at once; a partitioned one appears only after every part is uploaded, its parts copied
in turn (a reader listing the prefix during those copies can see some of them: S3 offers no
way to publish several objects at once). A failure removes what was staged and copied.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow.fs as pafs

from dsgrid_sql.errors import ExportError, StorageError

from .s3 import S3Path, call, storage_error

PARTIAL_MARK = ".partial-"
EXPORT_SUFFIXES = (".parquet", ".csv")


def check_target(target: S3Path, protected: Sequence[Any], *, overwrite: bool) -> None:
    """Refuse a target inside the registry's own objects, an existing target without
    ``overwrite``, and a prefix holding anything an export does not write."""
    for item in protected:
        if not isinstance(item, S3Path) or item.bucket != target.bucket:
            continue
        inside = not item.key or target.key == item.key or target.key.startswith(item.key + "/")
        holds = target.key == "" or item.key.startswith(target.key + "/")
        if inside or holds:
            raise ExportError(
                f"Cannot write '{target}': it is part of the registry being read "
                f"('{item}'); choose a path outside it."
            )
    target.check_bucket()
    if target.is_file():
        if not overwrite:
            raise _exists(target)
        return
    existing = _objects(target)
    if existing and not overwrite:
        raise _exists(target)
    for entry in existing:
        relative = entry.relative_to(target)
        if not _export_output(relative.parts):
            raise ExportError(
                f"Cannot overwrite '{target}': it holds '{entry}', which an export does not "
                "write; remove it yourself or choose another path."
            )


def publish(out: Path, target: S3Path, *, overwrite: bool) -> None:
    """Upload the finished local output ``out`` (a file or a folder) to ``target``."""
    staging = target.parent / f".{target.name}{PARTIAL_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    fs = target.filesystem
    files = [out] if out.is_file() else sorted(p for p in out.rglob("*") if p.is_file())
    placed: list[S3Path] = []
    try:
        for file in files:
            relative = "" if file == out else file.relative_to(out).as_posix()
            staged = staging / relative if relative else staging
            call(
                lambda f=file, s=staged: pafs.copy_files(
                    str(f), s.fs_path, destination_filesystem=fs
                ),
                staged,
            )
        if overwrite:
            _remove_existing(target)
        elif target.exists():
            # Appeared while the result was written: not replaced.
            raise ExportError(
                f"'{target}' appeared while the result was written; nothing was written.",
                hint="Choose another path, or allow overwriting (OVERWRITE true / --overwrite).",
            )
        for file in files:
            relative = "" if file == out else file.relative_to(out).as_posix()
            source = staging / relative if relative else staging
            final = target / relative if relative else target
            call(lambda s=source, f=final: fs.copy_file(s.fs_path, f.fs_path), final)
            placed.append(final)
    except (StorageError, ExportError, OSError) as exc:
        for item in placed:
            with contextlib.suppress(OSError):
                fs.delete_file(item.fs_path)
        if isinstance(exc, ExportError):
            raise
        if isinstance(exc, StorageError):
            raise ExportError(
                f"Writing '{target}' failed: {exc.message.rstrip('.')}; nothing was written.",
                hint=exc.hint,
            ) from None
        raise ExportError(str(storage_error(exc, target, "writing"))) from None
    finally:
        with contextlib.suppress(OSError):
            if len(files) == 1 and files[0] == out:
                fs.delete_file(staging.fs_path)
            else:
                fs.delete_dir(staging.fs_path)


def _remove_existing(target: S3Path) -> None:
    if target.is_file():
        return  # replaced by the copy itself, which is atomic
    for entry in _objects(target):
        call(lambda e=entry: target.filesystem.delete_file(e.fs_path), entry)


def _objects(prefix: S3Path) -> list[S3Path]:
    return [p for p in prefix.rglob("*") if p.known == "file"]


def _export_output(parts: tuple[str, ...]) -> bool:
    if not parts:
        return False
    if parts[0].startswith("."):
        return True  # staging of an interrupted export
    *folders, name = parts
    return all("=" in f for f in folders) and name.lower().endswith(EXPORT_SUFFIXES)


def _exists(target: S3Path) -> ExportError:
    return ExportError(
        f"'{target}' already exists; nothing was written.",
        hint="Choose another path, or allow overwriting (OVERWRITE true / --overwrite).",
    )
