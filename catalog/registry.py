"""Every SQL statement dsgrid-sql runs against a registry's SQLite database.

The database is opened read-only (``mode=ro``): the gateway never writes to a registry.
Tables and columns are read exactly as dsgrid 0.4 writes them (see dsgrid-format.md §1).
"""

from __future__ import annotations

import functools
import json
import sqlite3
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote

from dsgrid_sql.errors import (
    CatalogError,
    NotARegistryError,
    RegistryLockedError,
    RegistryNotFoundError,
)
from dsgrid_sql.storage import Location, S3Path, StorageOptions, is_remote

REGISTRY_FILE_NAME = "registry.db"
_SQLITE_URL_PREFIX = "sqlite:///"
REQUIRED_TABLES = ("key_value", "registrations", "models", "current_versions", "contains")
T = TypeVar("T")


@dataclass(frozen=True)
class ModelRow:
    """One row of ``models``: a registered configuration at one version. Its JSON is parsed
    when first read: opening a registry of 30 datasets and 3,000-county dimensions spent half
    its time parsing models no query asked for."""

    row_id: int
    registration_id: int
    model_type: str
    model_id: str
    version: str
    # The JSON text; packed (compressed) for a version that is not current; or parsed.
    text: str | bytes | Packed | dict[str, Any] = field(repr=False)
    registry: str = field(default="", repr=False)

    @functools.cached_property
    def model(self) -> dict[str, Any]:
        text = self.text
        if isinstance(text, Packed):
            text = text.unpacked()
        if not isinstance(text, str | bytes):
            return text
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            raise CatalogError(
                f"The {self.model_type} '{self.model_id}' version {self.version} in "
                f"'{self.registry}' holds invalid JSON.",
                hint="The registry is damaged; re-create it with dsgrid.",
            ) from None
        if not isinstance(parsed, dict):
            raise CatalogError(
                f"The {self.model_type} '{self.model_id}' version {self.version} in "
                f"'{self.registry}' is not a JSON object.",
                hint="The registry is damaged; re-create it with dsgrid.",
            )
        return parsed


@dataclass(frozen=True)
class Packed:
    """The JSON text of a version that is not current, compressed: a registry keeps every
    version ever registered, and a snapshot holds them all for ``VERSION AS OF``, but reads
    the old ones rarely. JSON compresses ~8×; ``length`` and ``digest`` (the text's
    length and hash) tell the same text read again without unpacking it."""

    data: bytes
    length: int
    digest: int

    @classmethod
    def of(cls, text: str | bytes) -> Packed:
        raw = text.encode() if isinstance(text, str) else text
        return cls(zlib.compress(raw, 6), len(text), hash(text))

    def unpacked(self) -> bytes:
        return zlib.decompress(self.data)

    def holds(self, text: str | bytes) -> bool:
        # hash() of a str or bytes is its content's (cached on the object), the same for
        # equal texts within this process, which is where snapshots are compared.
        return len(text) == self.length and hash(text) == self.digest


@dataclass(frozen=True)
class Registration:
    """One row of ``registrations``."""

    id: int
    timestamp: str
    submitter: str
    update_type: str
    log_message: str


@dataclass(frozen=True)
class RegistrySource:
    """Where a registry was opened from: ``local`` is the SQLite file read (for a remote
    registry, its cached copy), ``location`` what the user named (an S3 object's URL or the
    local file), ``identity`` the remote object's (ETag, size) when it was fetched."""

    local: Path
    location: Location
    identity: tuple[str, int] | None = None

    @property
    def remote(self) -> bool:
        return isinstance(self.location, S3Path)

    def __str__(self) -> str:
        return str(self.location)


def locate_registry(
    location: str | Path | RegistrySource, options: StorageOptions | None = None
) -> RegistrySource:
    """The registry a user named, local or on object storage; a remote ``registry.db`` is
    fetched into the local cache (dsgrid_sql/storage/cache.py) unless a copy of the same
    object is kept. A RegistrySource is already located: returned as it is (name its
    ``location`` to look again)."""
    if isinstance(location, RegistrySource):
        return location
    if isinstance(location, S3Path) or is_remote(str(location)):
        from dsgrid_sql.storage.cache import fetch_registry, locate_remote_registry

        remote = S3Path.parse(str(location), options)
        remote = locate_remote_registry(remote)
        local, identity = fetch_registry(remote)
        return RegistrySource(local, remote, identity)
    local = locate_registry_file(location)
    return RegistrySource(local, local)


def locate_registry_file(location: str | Path) -> Path:
    """Turn what a user typed into the path of a ``registry.db``.

    Accepts the path of the file itself, a directory that contains ``registry.db``, or a
    ``sqlite:///path`` URL (the form dsgrid's own CLI takes).
    """
    text = str(location)
    if text.startswith("sqlite:"):
        # SQLAlchemy's form, as dsgrid takes it: sqlite:///relative.db or sqlite:////abs.db.
        if not text.startswith(_SQLITE_URL_PREFIX) or len(text) == len(_SQLITE_URL_PREFIX):
            raise RegistryNotFoundError(
                f"The URL '{location}' names no registry file.",
                hint="Use sqlite:///path/to/registry.db.",
            )
        text = unquote(text[len(_SQLITE_URL_PREFIX) :])
    path = Path(text).expanduser()
    if path.is_dir():
        candidate = path / REGISTRY_FILE_NAME
        if not candidate.is_file():
            raise RegistryNotFoundError(
                f"The directory '{path}' contains no {REGISTRY_FILE_NAME}.",
                hint="Pass the path of a dsgrid registry.db or of the directory holding it.",
            )
        return candidate
    if not path.exists():
        raise RegistryNotFoundError(
            f"No registry at '{path}': the path does not exist.",
            hint="Pass the path of a dsgrid registry.db or of the directory holding it.",
        )
    return path


class RegistryDatabase:
    """A consistent snapshot of the five tables of a dsgrid registry database.

    Everything the catalog needs is read at open, from a copy of the file's pages taken
    in one read transaction, and nothing is read later: a writer that commits while the
    registry is being read cannot give the catalog half a registration, and a registry
    replaced or locked later does not disturb a catalog that is already open
    (dsgrid-format.md §1).
    """

    # Seconds to wait for a writer's lock before reporting the registry as locked.
    LOCK_TIMEOUT_S = 2.0

    def __init__(
        self,
        path: Path,
        *,
        lock_timeout_s: float | None = None,
        previous: RegistryDatabase | None = None,
    ) -> None:
        self.path = path
        # What ``previous`` (the snapshot this one replaces) holds unchanged is reused rather
        # than held twice: the JSON texts of its rows, its registrations and its `contains`
        # edges. dsgrid only adds rows, and a server keeps a few snapshots alive at once
        # (queries still running on the one before), each holding every version's rows. A
        # registry gaining a version every 3 s grew each snapshot by ~23 KB of text and
        # ~87 edges a version, times the snapshots alive (issue 20's soak).
        timeout = self.LOCK_TIMEOUT_S if lock_timeout_s is None else lock_timeout_s
        self._conn = self._copy(path, timeout)
        try:
            self._load(previous)
        finally:
            # Nothing is read after the snapshot: a catalog holds no file open, so the
            # catalogs of replaced registry files a server still serves keep no handles.
            self._conn.close()

    def _copy(self, path: Path, timeout: float) -> sqlite3.Connection:
        """The registry's pages copied into memory, in one step of SQLite's backup with
        Python's lock released: the file's read lock is held for milliseconds.

        Reading the rows from the file directly held the lock while Python built every row:
        each row is a step that gives up the GIL and must take it back, and in a server whose
        query threads keep the GIL busy that took 30–70 s for a 400-version registry (0.06 s
        idle), long enough for dsgrid's next registration to fail with "database is locked"
        (issue 20's soak)."""
        uri = f"file:{quote(str(path.resolve()))}?mode=ro"
        deadline = time.monotonic() + timeout

        def give_up_when_locked(status: int, remaining: int, total: int) -> None:
            # The busy handler waits up to ``timeout`` within the step; sqlite3's backup
            # would then retry without end.
            if status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) and (
                time.monotonic() >= deadline
            ):
                raise sqlite3.OperationalError("database is locked")

        memory = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        try:
            source = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
            try:
                source.backup(memory, progress=give_up_when_locked)
            finally:
                source.close()
        except sqlite3.DatabaseError as exc:
            memory.close()
            raise self._open_error(exc) from None
        return memory

    def _load(self, before: RegistryDatabase | None) -> None:
        try:
            # The copy is one committed state: no transaction is needed to read it.
            tables = {
                row[0]
                for row in self._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        except sqlite3.DatabaseError as exc:
            raise self._open_error(exc) from None
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        if missing:
            raise NotARegistryError(
                f"'{self.path}' is not a dsgrid registry: it lacks the table(s) "
                f"{', '.join(missing)}.",
                hint="dsgrid registries hold key_value, registrations, models, "
                "current_versions and contains.",
            )
        self._key_values = dict(self._rows('SELECT "key", value FROM key_value'))
        self._registrations = _reused(
            [
                Registration(*row)
                for row in self._rows(
                    "SELECT id, timestamp, submitter, update_type, log_message "
                    "FROM registrations ORDER BY id"
                )
            ],
            None if before is None else before._registrations,
        )
        self._current = {
            (t, i): current
            for t, i, current in self._rows(
                "SELECT model_type, model_id, current_id FROM current_versions"
            )
        }
        known = {} if before is None else {row.row_id: row for row in before._models}
        current = set(self._current.values())
        self._models = [
            self._row(row, known, current)
            for row in self._rows(
                "SELECT id, registration_id, model_type, model_id, version, model FROM models "
                "ORDER BY id"
            )
        ]
        # Real registries hold duplicate edges (dsgrid-format.md §1.5): DISTINCT.
        self._contains = _reused(
            [
                tuple(row)
                for row in self._rows(
                    "SELECT DISTINCT parent_id, child_id FROM contains ORDER BY 1, 2"
                )
            ],
            None if before is None else before._contains,
        )

    def _open_error(self, exc: sqlite3.DatabaseError) -> CatalogError:
        if _is_locked(exc):
            return RegistryLockedError(
                f"The registry '{self.path}' is locked by a writer ({_sqlite_reason(exc)}).",
                hint="A registration may be in progress; try again when it finishes.",
            )
        return NotARegistryError(
            f"'{self.path}' is not a readable SQLite database ({_sqlite_reason(exc)}).",
            hint="Check that the file is a dsgrid registry.db and is not damaged.",
        )

    def close(self) -> None:
        self._conn.close()  # closed after the snapshot already; kept for the interface

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            if _is_locked(exc):
                raise self._open_error(exc) from None
            raise CatalogError(
                f"Reading the registry '{self.path}' failed ({_sqlite_reason(exc)}).",
                hint="The registry may be damaged; check it with dsgrid.",
            ) from None

    def _rows(self, select: str) -> list[tuple[Any, ...]]:
        """``select``'s rows, fetched as one JSON array.

        Each row fetched is a step that gives up Python's lock and must take it back; while
        a server's query threads keep it busy that costs milliseconds a row, and a registry
        of 400 versions (17,000 `contains` edges) took 30–70 s to read instead of 0.06 s.
        One row of JSON is one step. JSON holds no BLOB, so a registry with binary values is
        read row by row."""
        try:
            # Its output columns, from a statement that returns no row.
            names = [d[0] for d in self._conn.execute(f"{select} LIMIT 0").description]
            columns = ", ".join('"' + name.replace('"', '""') + '"' for name in names)
            (text,) = self._conn.execute(
                f"SELECT json_group_array(json_array({columns})) FROM ({select})"
            ).fetchone()
        except sqlite3.DatabaseError:
            # A BLOB, or an SQLite without JSON: row by row (which also reports any other
            # fault as reading the registry does).
            return self._query(select)
        return [tuple(row) for row in json.loads(text)]

    def key_values(self) -> dict[str, str]:
        return dict(self._key_values)

    def registrations(self) -> list[Registration]:
        return list(self._registrations)

    def all_models(self) -> list[ModelRow]:
        """Every version of every model, in registration order."""
        return list(self._models)

    def current_model_row_ids(self) -> dict[tuple[str, str], int]:
        """(model_type, model_id) → ``models.id`` of the current version."""
        return dict(self._current)

    def contains_edges(self) -> list[tuple[int, int]]:
        return list(self._contains)

    def _row(
        self, row: tuple[Any, ...], known_rows: dict[int, ModelRow], current: set[int]
    ) -> ModelRow:
        row_id, registration_id, model_type, model_id, version, text = row
        known = known_rows.get(row_id)
        # The same row, JSON text included (a registry replaced by another file may reuse
        # a row id for another model; a remote registry's local copy has another path).
        # Only the text is shared, not the row: what a snapshot parses (old versions a
        # VERSION AS OF read) goes with that snapshot, where a shared row would keep every
        # version ever parsed for the server's life.
        key = (registration_id, model_type, model_id, version)
        if known is not None and _row_key(known) == key and _same_text(known.text, text):
            text = known.text
        # Old versions packed: a registry gaining a version every few seconds otherwise
        # grows the server by each version's text (~17–23 KB) for its life (issue 20).
        if row_id not in current and isinstance(text, str | bytes):
            text = Packed.of(text)
        return ModelRow(
            row_id, registration_id, model_type, model_id, version, text, str(self.path)
        )


def _reused(items: list[T], before: list[T] | None) -> list[T]:
    """``items``, each replaced by its equal in ``before`` where there is one."""
    if not before:
        return items
    known = {item: item for item in before}
    return [known.get(item, item) for item in items]


def _same_text(known: object, text: str | bytes) -> bool:
    if isinstance(known, Packed):
        return known.holds(text)
    return known == text


def _row_key(row: ModelRow) -> tuple[int, str, str, str]:
    return (row.registration_id, row.model_type, row.model_id, row.version)


def _is_locked(exc: sqlite3.DatabaseError) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc).lower()


def _sqlite_reason(exc: sqlite3.DatabaseError) -> str:
    return str(exc).rstrip(".") or type(exc).__name__
