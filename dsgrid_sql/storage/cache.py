"""A remote registry file, fetched read-only into a local cache keyed by the object's identity.

SQLite reads a local file, so ``s3://…/registry.db`` is copied to
``<cache>/registries/<key>/registry.db``, where the key digests the URL, the endpoint, and the
object's ETag (or version / modification time) and size. Opening the same unchanged object
again reads the copy without a download; a replaced object has another identity and is
fetched again. The copy is written under a temporary name and renamed into place (concurrent
processes never read half a file), then made read-only. Old copies beyond
:data:`KEEP_COPIES` are removed, oldest first.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from dsgrid_sql.errors import StorageError

from .s3 import S3Path, call, storage_error

KEEP_COPIES = 8
REGISTRY_FILE_NAME = "registry.db"


def cache_folder() -> Path:
    """``DSGRID_SQL_CACHE_DIR`` (as the translation cache) or the user's cache folder."""
    configured = os.environ.get("DSGRID_SQL_CACHE_DIR", "").strip()
    if configured and configured.lower() not in ("off", "0", "false", "no"):
        return Path(configured).expanduser() / "registries"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("dsgrid-sql", appauthor=False)) / "registries"


def locate_remote_registry(path: S3Path) -> S3Path:
    """The registry object a user named: the ``registry.db`` object itself, or the one in the
    "folder" ``path`` names."""
    if path.key and path.is_file():
        return path
    inside = path / REGISTRY_FILE_NAME
    if inside.is_file():
        return inside
    if path.key and not path.is_dir():
        raise path.not_found("registry")
    path.check_bucket()
    raise StorageError(
        f"No registry at '{path}': neither it nor '{inside}' is an object.",
        hint="Pass s3://bucket/prefix/registry.db or the prefix that holds it.",
    )


def identity(path: S3Path) -> tuple[str, int]:
    """What says the registry object changed: (ETag, size)."""
    return path.object_identity()


def fetch_registry(path: S3Path, known: tuple[str, int] | None = None) -> tuple[Path, tuple]:
    """The local read-only copy of the registry object at ``path`` and the identity it was
    fetched at; downloads only when no copy of that identity is kept."""
    ident = known or identity(path)
    options = path.options.resolved()
    material = "\x1f".join([str(path), options.endpoint or "", ident[0], str(ident[1])])
    key = hashlib.sha256(material.encode()).hexdigest()[:32]
    root = cache_folder()
    folder = root / key
    target = folder / REGISTRY_FILE_NAME
    if target.is_file() and target.stat().st_size == ident[1]:
        with contextlib.suppress(OSError):
            os.utime(folder)  # recently used: removed last
        return target, ident
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        staging = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=root))
    except OSError as exc:
        raise StorageError(
            f"Cannot cache the registry '{path}' locally in '{root}': "
            f"{(exc.strerror or str(exc)).lower()}.",
            hint="DSGRID_SQL_CACHE_DIR moves the cache folder.",
        ) from None
    try:
        local = staging / REGISTRY_FILE_NAME

        def download() -> None:
            with (
                path.filesystem.open_input_stream(path.fs_path) as source,
                open(local, "wb") as sink,
            ):
                shutil.copyfileobj(source, sink, 8 << 20)

        call(download, path)
        size = local.stat().st_size
        if size != ident[1]:  # replaced while it was read: the copy mixes two objects
            raise StorageError(
                f"The registry '{path}' changed while it was fetched; try again.",
            )
        local.chmod(0o444)
        try:
            os.rename(staging, folder)
        except OSError:
            # Another process put the same copy in place first: use it.
            if not target.is_file():
                raise
    except OSError as exc:
        raise storage_error(exc, path, "caching") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _evict(root)
    return target, ident


def _evict(root: Path) -> None:
    try:
        copies = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
        copies.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in copies[KEEP_COPIES:]:
        shutil.rmtree(old, ignore_errors=True)
