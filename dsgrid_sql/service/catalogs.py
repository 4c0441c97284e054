"""The registry's current catalog, shared by every front end of one server process."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from dsgrid_sql.catalog import Catalog
from dsgrid_sql.catalog.registry import RegistrySource, locate_registry
from dsgrid_sql.errors import one_line
from dsgrid_sql.storage import S3Path, StorageOptions

from .heap import settle_heap

log = logging.getLogger("dsgrid_sql.server")

# Seconds between checks for a changed registry: a local file is a stat, a registry on
# object storage a request (HEAD) each time.
LOCAL_POLL_S = 1.0
REMOTE_POLL_S = 10.0


class CatalogHolder:
    """The catalog of the registry as it is now.

    dsgrid writes ``registry.db`` when it registers a dataset or a version; a changed file
    (size, time, inode — the last catches a file replaced by rename) is opened afresh. A
    registry on object storage is changed when its object's identity (ETag, size) is; the
    new object is fetched into the local cache and opened. Calls already running keep the
    catalog they started with, so no query mixes two versions.
    """

    def __init__(
        self,
        registry: str | Path,
        *,
        data_path: str | Path | None = None,
        poll_s: float | None = None,
        storage_options: Any = None,
    ) -> None:
        self._data_path = data_path
        self._options = StorageOptions.parse(storage_options)
        self._source = locate_registry(registry, self._options)
        self._path = self._source.local
        if poll_s is None:
            poll_s = REMOTE_POLL_S if self._source.remote else LOCAL_POLL_S
        self._poll_s = poll_s
        self._lock = threading.Lock()
        self._checked = 0.0
        self._reloading = False
        # How many times a changed registry was re-read (tests and logs read it), and when
        # (time.monotonic) the current catalog replaced the one before.
        self.reloads = 0
        self.replaced_at = time.monotonic()
        self._stamp = (self._source.identity,) if self._source.remote else self._file_stamp()
        self._catalog = self._open()
        settle_heap()

    def _open(self, previous: Catalog | None = None) -> Catalog:
        catalog = Catalog.open(
            self._source,
            data_path=self._data_path,
            storage_options=self._options,
            previous=previous,
        )
        # What the registry holds but cannot be read is left out of the catalog: say so
        # once per registry version, so an operator sees it without a user's query.
        for problem in catalog.problems():
            log.warning("Left out of the catalog: %s", problem)
        return catalog

    def _file_stamp(self) -> tuple[Any, ...]:
        if isinstance(self._source.location, S3Path):
            return (self._source.location.object_identity(),)
        stamps = []
        for suffix in ("", "-wal"):
            try:
                stat = os.stat(f"{self._path}{suffix}")
            except FileNotFoundError:
                stamps.append(None)
                continue
            stamps.append((stat.st_ino, stat.st_size, stat.st_mtime_ns))
        return tuple(stamps)

    def current(self) -> Catalog:
        """The newest catalog that opened cleanly. At most one caller re-reads a changed
        registry, outside the lock: the others keep the previous catalog meanwhile, so a
        writer holding the registry's lock never stalls the server's calls."""
        now = time.monotonic()
        with self._lock:
            if self._reloading or now - self._checked < self._poll_s:
                return self._catalog
            self._checked = now
            try:
                stamp = self._file_stamp()
            except Exception as exc:  # the store does not answer: keep what we have
                log.warning("Could not check the registry for changes: %s", one_line(exc))
                return self._catalog
            if stamp == self._stamp:
                return self._catalog
            self._reloading = True
        try:
            if self._source.remote:
                source = locate_registry(self._source.location, self._options)
                self._source = source
                stamp = (source.identity,)
            catalog = self._open(previous=self._catalog)
        except Exception as exc:  # locked, half-written, replaced again: "not yet"
            log.warning("The registry changed but could not be read yet: %s", one_line(exc))
            with self._lock:
                self._reloading = False
                return self._catalog
        with self._lock:
            self._catalog = catalog
            self._stamp = stamp
            self._reloading = False
            self.reloads += 1
            self.replaced_at = time.monotonic()
            log.info("Registry re-read: %s", self._source)
        settle_heap(replaced=True)
        return catalog

    @property
    def path(self) -> Path:
        """The SQLite file read (a remote registry's local copy)."""
        return self._path

    @property
    def source(self) -> RegistrySource:
        return self._source
