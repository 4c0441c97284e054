"""Translations kept between ``dsgrid-sql query`` processes, so that a query sent again
runs without opening the catalog or loading sqlglot and pydantic.

A fresh process spends most of its time before the engine starts: importing sqlglot, pydantic
and the catalog's models, and reading the registry (0.3–0.4 s of a 0.5 s query on the test
registry). The engine SQL and inputs a query becomes depend only on the statement, the
settings it was translated with, dsgrid-sql's code and the registry: its database and the
files the catalog looked at (data folders, Parquet files, part files; absent ones too). An
entry records the identity — size, mtime_ns, inode — of each of those paths and is used only
when every one is unchanged, so a changed registry or data file is planned again, never
served stale. Entries live in the user cache directory (``DSGRID_SQL_CACHE_DIR`` moves it,
``DSGRID_SQL_CACHE_DIR=off`` turns the cache off), each a folder written under a temporary
name and renamed into place, so concurrent processes never read half an entry; the oldest
go beyond :data:`MAX_ENTRIES`.

This module imports no more than the standard library until an entry is read (pyarrow,
for its tables).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = 1  # of an entry; bump when what an entry holds changes
MAX_ENTRIES = 256
STALE_TEMP_S = 3600.0  # a temporary folder this old was left by a killed process
ENTRY_FILE = "translation.json"


@dataclass(frozen=True)
class CachedTranslation:
    """What an engine needs to run a query, and what the CLI prints or writes beside it."""

    sql: str
    inputs: list[Any]  # ParquetInput | ArrowInput
    repeatable: bool
    notes: list[str]
    lineage: dict[str, Any]  # projects, datasets, registry (Session.lineage's parts)


def cache_root() -> Path | None:
    """Where entries live; None when the cache is off."""
    configured = os.environ.get("DSGRID_SQL_CACHE_DIR")
    if configured is not None:
        if configured.strip().lower() in ("", "off", "0", "false", "no"):
            return None
        return Path(configured).expanduser() / "translations"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("dsgrid-sql", appauthor=False)) / "translations"


def entry_key(text: str, settings: dict[str, Any]) -> str | None:
    """The entry name of a statement translated with ``settings`` by this code, from this
    working directory (a registry's relative data_path may be read from it); None when
    there is no working directory (removed)."""
    try:
        cwd = os.getcwd()
    except OSError:
        return None
    material = {
        "format": FORMAT,
        "code": _code_identity(),
        "cwd": cwd,
        "settings": settings,
        "text": text,
    }
    encoded = json.dumps(material, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()[:40]


def lookup(key: str) -> CachedTranslation | None:
    """The kept translation, when every path it depends on is as it was; else None."""
    root = cache_root()
    if root is None:
        return None
    folder = root / key
    try:
        entry = json.loads((folder / ENTRY_FILE).read_text())
        if entry.get("format") != FORMAT:
            return None
        for path, signature in entry["depends"]:
            if _signature(Path(path)) != signature:
                return None
        inputs = [_read_input(folder, item) for item in entry["inputs"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent, or removed meanwhile by another process: translate again
    except Exception as exc:  # an unreadable Arrow file
        if type(exc).__module__.startswith("pyarrow"):
            return None
        raise
    with contextlib.suppress(OSError):
        os.utime(folder)  # recently used: evicted last
    return CachedTranslation(
        sql=entry["sql"],
        inputs=inputs,
        repeatable=entry["repeatable"],
        notes=list(entry["notes"]),
        lineage=entry["lineage"],
    )


def store(
    key: str,
    translation: Any,
    *,
    registry_file: Path,
    watched: Iterable[Path],
    lineage: dict[str, Any],
) -> None:
    """Keep ``translation`` (a rewrite Translation) under ``key``. ``watched`` are the paths
    the catalog looked at while opening the registry and translating; the registry database
    and its write-ahead log are added here. Failing to write the cache is never an error."""
    root = cache_root()
    if root is None:
        return
    from dsgrid_sql.rewrite.inputs import ArrowInput, ParquetInput

    watched = list(watched)
    paths = [*watched, *(getattr(i, "path", None) for i in translation.inputs)]
    if any(p is not None and not isinstance(p, str | os.PathLike) for p in paths):
        return  # objects on object storage: no local identity to check, planned afresh
    depends = {Path(p) for p in watched}
    registry_file = Path(registry_file)
    depends |= {registry_file, Path(f"{registry_file}-wal"), Path(f"{registry_file}-journal")}
    items: list[dict[str, Any]] = []
    tables = {}
    for item in translation.inputs:
        if isinstance(item, ParquetInput):
            items.append(
                {
                    "kind": "parquet",
                    "name": item.name,
                    "path": str(item.path),
                    "files": [str(f) for f in item.files],
                }
            )
            depends |= {item.path, *item.files}
        elif isinstance(item, ArrowInput):
            items.append({"kind": "arrow", "name": item.name, "file": f"{item.name}.arrow"})
            tables[item.name] = item.table
        else:  # pragma: no cover - a new kind of input: not kept
            return
    entry = {
        "format": FORMAT,
        "sql": translation.sql,
        "repeatable": bool(translation.repeatable),
        "notes": list(translation.notes),
        "lineage": lineage,
        "inputs": items,
        "depends": sorted([str(p), _signature(p)] for p in map(_absolute, depends)),
    }
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)  # query texts are the user's
        temporary = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=root))
    except OSError:
        return
    try:
        import pyarrow as pa

        for name, table in tables.items():
            path = str(temporary / f"{name}.arrow")
            with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
        (temporary / ENTRY_FILE).write_text(json.dumps(entry))
        _put_in_place(temporary, root / key)
    except OSError:
        pass
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    _evict(root)


def engine_settings(
    *,
    registry: str,
    data_path: str | None,
    engine: str,
    dialect: str,
    project: str | None,
    pushdown: bool,
) -> dict[str, Any]:
    """The settings a CLI query is translated with, as the key records them."""
    return {
        "registry": os.path.abspath(registry) if "://" not in registry else registry,
        "data_path": None if data_path is None else os.path.abspath(data_path),
        "engine": engine,
        "dialect": dialect,
        "project": project,
        "pushdown": pushdown,
    }


# -- internals ---------------------------------------------------------------------------------


def _signature(path: Path) -> list[int] | None:
    """What changes when a file or folder changes: size, mtime_ns, inode (a folder's mtime
    moves when an entry is added, removed or renamed); None for an absent path."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino]


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


def _read_input(folder: Path, item: dict[str, Any]) -> Any:
    from dsgrid_sql.rewrite.inputs import ArrowInput, ParquetInput

    if item["kind"] == "parquet":
        files = tuple(Path(f) for f in item["files"])
        return ParquetInput(item["name"], Path(item["path"]), files)
    if item["kind"] == "arrow":
        import pyarrow as pa

        with pa.memory_map(str(folder / item["file"])) as source:
            table = pa.ipc.open_file(source).read_all()
        return ArrowInput(item["name"], table)
    raise ValueError(item["kind"])


def _put_in_place(temporary: Path, target: Path) -> None:
    """Rename the finished entry into place; an existing one (stale, or written meanwhile by
    another process) is replaced. Renaming is atomic: readers see the old entry, none, or
    the new one."""
    try:
        os.rename(temporary, target)
        return
    except OSError:
        pass
    trash = target.with_name(f".{target.name}.old-{os.getpid()}-{time.monotonic_ns()}")
    try:
        os.rename(target, trash)
    except OSError:
        return  # removed by another process meanwhile; leave the next query to write it
    shutil.rmtree(trash, ignore_errors=True)
    with contextlib.suppress(OSError):  # another process put its (equal) entry there first
        os.rename(temporary, target)


def _evict(root: Path) -> None:
    """Remove the least recently used entries beyond MAX_ENTRIES, and temporary folders
    left by processes killed while writing."""
    try:
        children = list(os.scandir(root))
    except OSError:
        return
    now = time.time()
    entries = []
    for child in children:
        try:
            mtime = child.stat().st_mtime
        except OSError:
            continue
        if child.name.startswith("."):
            if now - mtime > STALE_TEMP_S:
                shutil.rmtree(child.path, ignore_errors=True)
        else:
            entries.append((mtime, child.path))
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort()
    for _, path in entries[: len(entries) - MAX_ENTRIES]:
        shutil.rmtree(path, ignore_errors=True)


_CODE_IDENTITY: str | None = None


def _code_identity() -> str:
    """dsgrid-sql's own modules (size and mtime of each, so an edited checkout counts as new
    code) and the versions of the packages a translation's SQL comes from."""
    global _CODE_IDENTITY
    if _CODE_IDENTITY is None:
        import importlib.util

        import dsgrid_sql
        from dsgrid_sql.version import __version__

        roots = [Path(dsgrid_sql.__file__).parent]
        catalog = importlib.util.find_spec("dsgrid_sql.catalog")
        if catalog is not None and catalog.submodule_search_locations:
            roots += [Path(p) for p in catalog.submodule_search_locations]
        parts: list[Sequence[Any]] = [("dsgrid_sql", __version__)]
        for root in roots:
            for file in sorted(root.rglob("*.py")):
                parts.append((str(file), *(_signature(file) or [])))
        for package in ("sqlglot", "pydantic"):
            spec = importlib.util.find_spec(package)
            origin = Path(spec.origin) if spec is not None and spec.origin else None
            parts.append((package, *((_signature(origin) or []) if origin else [])))
        _CODE_IDENTITY = hashlib.sha256(json.dumps(parts).encode()).hexdigest()
    return _CODE_IDENTITY
