"""Where a registry's Parquet lives, and which files hold one dataset version.

``key_value.data_path`` may be absolute, relative to the registry file's folder, or relative
to the working directory of the process (how dsgrid itself resolves it); it is tried in that
order unless the user overrides it (dsgrid-format.md §1.1, §3, §6.11).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dsgrid_sql.errors import CatalogError, DataFileError
from dsgrid_sql.storage import Location, S3Path, StorageOptions, location
from dsgrid_sql.storage.s3 import storage_error

from . import arrays
from .models import DimensionType

# Columns of load data that are not time columns: ids, values and dimension columns.
NON_TIME_LOAD_COLUMNS = frozenset({"id", "value", "scaling_factor"}) | {
    t.value for t in DimensionType
}
TABLE_FILE_NAMES = ("table.parquet", "load_data.parquet")
LOOKUP_FILE_NAMES = ("lookup_table.parquet", "load_data_lookup.parquet")

# Sets collecting every path this module looks at (exists or not, folder listed, file read)
# while watched() is active: what a result built from the catalog depends on, beside the
# registry database (the translation cache, dsgrid_sql/translation_cache.py).
_watchers: list[set[Location]] = []


@contextmanager
def watched() -> Iterator[set[Location]]:
    """Collect, until the block ends, the paths the catalog's file lookups touch."""
    seen: set[Location] = set()
    _watchers.append(seen)
    try:
        yield seen
    finally:
        _watchers.remove(seen)


def _saw(*paths: Location) -> None:
    for seen in _watchers:
        seen.update(paths)


def resolve_data_root(
    registry_file: Location,
    stored: str | None,
    override: str | Location | None,
    options: StorageOptions | None = None,
) -> Location:
    """The directory (or S3 prefix) that holds ``data/<dataset_id>/<version>/``.

    An explicit ``override`` wins. Otherwise the stored ``data_path`` is taken as absolute
    (a local path or an ``s3://`` URL), then relative to the registry file's folder (a
    remote registry's prefix for a remote registry), then relative to the working directory.
    When none exists the folder-relative candidate is returned, so that a registry without
    data can still be browsed and a query names the path it looked for.
    """
    if override is not None:
        path = location(override, options)
        _saw(path)
        if not path.is_dir():
            raise CatalogError(
                f"The data path '{path}' given for the registry is not a directory.",
                hint="Pass the folder that holds the registry's data/ directory.",
            )
        return path
    if not stored:
        return registry_file.parent
    stored_path = location(stored, options)
    if stored_path.is_absolute():
        _saw(stored_path)
        return stored_path
    beside_registry = registry_file.parent / stored_path
    _saw(beside_registry)
    if isinstance(beside_registry, S3Path) or beside_registry.is_dir():
        # A remote registry's relative data path is beside it, never in this machine's cwd.
        return beside_registry
    from_cwd = Path.cwd() / stored_path
    _saw(from_cwd)
    if from_cwd.is_dir():
        return from_cwd
    return beside_registry


# Part files whose footers table_rows reads before estimating the rest by size.
_FOOTERS_READ = 8
# At most this many part files' footers are read for their statistics (may_hold); past it a
# filter is left to the engine, which reads them anyway. Object storage pays a request each.
_STATISTICS_FILES = {"local": 1024, "remote": 64}


@dataclass(frozen=True)
class DatasetFiles:
    """The load-data file(s) of one dataset version.

    ``table`` and ``lookup`` are a single Parquet file (DuckDB-written) or a directory of
    part files (Spark-written); ``lookup`` is ``None`` for the one_table layout.
    """

    dataset_id: str
    version: str
    table: Location
    lookup: Location | None

    # Schemas and part-file lists are read once per DatasetFiles: a catalog keeps one per
    # dataset version, so queries after the first touch no Parquet footer or directory.
    @cached_property
    def _table_schema(self) -> pa.Schema:
        return read_parquet_schema(self.table, self.dataset_id, self.version)

    @cached_property
    def _lookup_schema(self) -> pa.Schema | None:
        if self.lookup is None:
            return None
        return read_parquet_schema(self.lookup, self.dataset_id, self.version)

    @cached_property
    def table_files(self) -> tuple[Location, ...]:
        return tuple(parquet_part_files(self.table))

    @cached_property
    def lookup_files(self) -> tuple[Location, ...]:
        return tuple(parquet_part_files(self.lookup)) if self.lookup else ()

    @cached_property
    def table_rows(self) -> int | None:
        """The load table's row count from Parquet footers (None if unreadable): the rewrite
        weighs a pre-sum's rows against its groups with it. Past a few part files, the
        first footers' rows per byte times the rest's bytes (an estimate is enough)."""
        try:
            files = list(self.table_files)  # a single file is its own part
            if not files:
                return None
            read = files[:_FOOTERS_READ]
            rows = sum(_footer_rows(f) for f in read)
            if len(files) > len(read):
                read_bytes = sum(_size(f) for f in read) or 1
                rest = sum(_size(f) for f in files[len(read) :])
                rows += round(rows * rest / read_bytes)
            return rows
        except (OSError, pa.ArrowException):
            return None

    def table_schema(self) -> pa.Schema:
        return self._table_schema

    def lookup_schema(self) -> pa.Schema | None:
        return self._lookup_schema

    def lookup_id_span(self, keep: dict[str, frozenset[str]]) -> tuple[object, object] | None:
        """The least and greatest ``id`` of the lookup rows whose columns hold the kept
        record ids (``keep``: column → ids, compared as strings); None without a lookup, a
        column named, or a row kept. Parquet on object storage is scanned through Arrow, which
        skips row groups of the load table by a range of ids but is handed no join's ids."""
        if self.lookup is None or "id" not in self._lookup_rows.column_names:
            return None
        mask = self._lookup_matches(keep)
        if mask is None:
            return None
        import pyarrow.compute as pc

        kept = self._lookup_rows.column("id").filter(mask).drop_null()
        if len(kept) == 0:
            return None
        span = pc.min_max(kept)
        return span["min"].as_py(), span["max"].as_py()

    def _lookup_matches(self, keep: dict[str, frozenset[str]]) -> pa.ChunkedArray | None:
        """Which lookup rows hold a kept id in every named column (compared as strings, as
        the scan compares them); None when no column is named or one is not in the lookup."""
        import pyarrow.compute as pc

        lookup = self._lookup_rows
        mask = None
        for column, ids in keep.items():
            if column not in lookup.column_names:
                return None
            values = pc.cast(lookup.column(column), pa.string())
            value_set = arrays.array(sorted(ids), pa.string())  # pa.array imports pandas
            hit = pc.is_in(values, value_set=value_set)
            mask = hit if mask is None else pc.and_(mask, hit)
        return mask

    def may_hold(self, kept: dict[str, frozenset[str]]) -> bool:
        """False only when the Parquet proves that no row holds one of the kept record ids in
        every named column (``kept``: stored string column → ids): the lookup table (two_table)
        is read and matched exactly; the load table by its row groups' min/max statistics,
        a row group passing only if each of its named columns' range can hold an id. Anything
        it cannot tell (no statistics, a load-table column that is not text, too many part
        files) may hold rows. A dataset that registered only part of the project's records
        (residential data under a project's commercial and residential subsectors) is so
        left out of a query filtered to the others, before any engine plans it."""
        lookup_names = set(self.lookup_schema().names) if self.lookup is not None else set()
        table_names = set(self.table_schema().names)
        in_lookup = {c: ids for c, ids in kept.items() if c in lookup_names - table_names}
        in_table = {c: sorted(ids) for c, ids in kept.items() if c in table_names}
        if in_lookup:
            import pyarrow.compute as pc

            mask = self._lookup_matches(in_lookup)
            if mask is not None and not pc.any(mask).as_py():
                return False
        if not in_table:
            return True
        ranges = self._row_group_ranges
        if ranges is None:
            return True
        return any(
            # A column absent from a group's statistics (a hive partition's) may hold.
            all(_range_may_hold(group.get(c), ids) for c, ids in in_table.items())
            for group in ranges
        )

    @cached_property
    def _row_group_ranges(self) -> tuple[dict[str, tuple[str, str] | None], ...] | None:
        """Per row group of the load table, its string columns' (min, max), None for a column
        without usable statistics; None when the footers are too many or unreadable."""
        files = self.table_files
        remote = isinstance(self.table, S3Path)
        if len(files) > _STATISTICS_FILES["remote" if remote else "local"]:
            return None
        groups: list[dict[str, tuple[str, str] | None]] = []
        try:
            for path in files:
                groups.extend(_string_ranges(_footer(path)))
        except (OSError, pa.ArrowException):
            return None
        return tuple(groups)

    @cached_property
    def _lookup_rows(self) -> pa.Table:
        """The lookup table (small: one row per id), read once."""
        assert self.lookup is not None
        _saw(self.lookup)
        path = self.lookup
        try:
            # One file is read without pyarrow.dataset, which imports pandas (a third of the
            # CLI's start-up); a directory of parts needs it, as its schema did.
            if path.is_file():
                with _parquet_file(path) as handle:
                    return handle.read()
            if isinstance(path, S3Path):
                return pq.read_table(path.fs_path, filesystem=path.filesystem)
            return pq.read_table(path)
        except (OSError, pa.ArrowException) as exc:
            if isinstance(path, S3Path) and not isinstance(exc, pa.ArrowInvalid):
                raise storage_error(exc, path) from None
            raise DataFileError(
                f"Dataset '{self.dataset_id}' version {self.version}: '{path}' is not readable "
                f"Parquet ({str(exc).splitlines()[0].rstrip('.')}).",
            ) from None

    def load_schema(self) -> pa.Schema:
        """The stored columns: table plus lookup (two_table), as the Parquet says."""
        schema = self.table_schema()
        lookup = self.lookup_schema()
        if lookup is None:
            return schema
        return pa.schema(list(schema) + [f for f in lookup if f.name not in schema.names])

    def time_columns(self) -> tuple[str, ...]:
        """Time columns of the stored data, from the Parquet schema.

        The registered time config can be stale (dsgrid-format.md §3: time-in-parts
        datasets whose Parquet has one ``timestamp`` column), so the Parquet decides.
        """
        return tuple(
            name for name in self.load_schema().names if name not in NON_TIME_LOAD_COLUMNS
        )


def find_dataset_files(
    data_root: Location, dataset_id: str, version: str, *, two_table: bool
) -> DatasetFiles:
    folder = data_root / "data" / dataset_id / version
    _saw(folder)  # a file added to it can change which one is read
    table = _first_existing(folder, TABLE_FILE_NAMES)
    if table is None:
        raise DataFileError(
            f"Dataset '{dataset_id}' version {version} has no load data: neither "
            f"{' nor '.join(TABLE_FILE_NAMES)} exists in '{folder}'.",
            hint="Check the registry's data path (--data-path overrides it).",
        )
    lookup = None
    if two_table:
        lookup = _first_existing(folder, LOOKUP_FILE_NAMES)
        if lookup is None:
            raise DataFileError(
                f"Dataset '{dataset_id}' version {version} uses the two_table layout but has "
                f"no lookup table: neither {' nor '.join(LOOKUP_FILE_NAMES)} exists in "
                f"'{folder}'.",
                hint="Check the registry's data path (--data-path overrides it).",
            )
    return DatasetFiles(dataset_id, version, table, lookup)


def parquet_part_files(path: Location) -> list[Location]:
    """The Parquet files that make up ``path``: itself, or a directory's part files.

    Spark writes ``_SUCCESS`` and ``.crc`` files beside its parts; names starting with ``_``
    or ``.`` are skipped as Spark and pyarrow skip them.
    """
    _saw(path)
    if path.is_file():
        return [path]
    found = list(path.rglob("*"))
    _saw(*found)  # folders too: a part file added below changes its folder
    return sorted(
        p
        for p in found
        if p.is_file()
        and p.suffix == ".parquet"
        and not any(part.startswith(("_", ".")) for part in p.relative_to(path).parts)
    )


def read_parquet_schema(path: Location, dataset_id: str, version: str) -> pa.Schema:
    _saw(path)
    remote = isinstance(path, S3Path)
    try:
        if path.is_file():
            if remote:
                return pq.read_schema(path.fs_path, filesystem=path.filesystem)
            return pq.read_schema(path)
        if not parquet_part_files(path):
            raise DataFileError(
                f"Dataset '{dataset_id}' version {version}: the directory '{path}' holds no "
                "Parquet files.",
            )
        # Imported here: pyarrow.dataset loads pandas, a third of the CLI's start-up.
        import pyarrow.dataset as pads

        if remote:
            return pads.dataset(
                path.fs_path, filesystem=path.filesystem, format="parquet", partitioning="hive"
            ).schema
        return pads.dataset(path, format="parquet", partitioning="hive").schema
    except (OSError, pa.ArrowException) as exc:
        if remote and isinstance(exc, OSError) and not isinstance(exc, pa.ArrowInvalid):
            raise storage_error(exc, path) from None
        raise DataFileError(
            f"Dataset '{dataset_id}' version {version}: '{path}' is not readable Parquet "
            f"({str(exc).splitlines()[0].rstrip('.')}).",
        ) from None


def _first_existing(folder: Location, names: tuple[str, ...]) -> Location | None:
    for name in names:
        candidate = folder / name
        _saw(candidate)
        if candidate.exists():
            return candidate
    return None


@contextmanager
def _parquet_file(path: Location) -> Iterator[pq.ParquetFile]:
    """One Parquet file, local or on object storage."""
    if isinstance(path, S3Path):
        with path.filesystem.open_input_file(path.fs_path) as handle:
            yield pq.ParquetFile(handle)
    else:
        yield pq.ParquetFile(path)


def _footer(path: Location) -> pq.FileMetaData:
    with _parquet_file(path) as handle:
        return handle.metadata


def _footer_rows(path: Location) -> int:
    return _footer(path).num_rows


def _string_ranges(meta: pq.FileMetaData) -> list[dict[str, tuple[str, str] | None]]:
    """Each row group's top-level string columns → (min, max), None without statistics.

    Parquet orders strings by unsigned bytes, which for UTF-8 is code point order, Python's
    str order; a writer may shorten a long min or max, but only to a bound of the same side.
    Writers whose string statistics used another order are ignored by pyarrow (no min/max).
    """
    strings = [
        field.name
        for field in meta.schema.to_arrow_schema()
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type)
    ]
    leaves = {meta.schema.column(i).path: i for i in range(meta.num_columns)}
    groups = []
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        ranges: dict[str, tuple[str, str] | None] = {}
        for name in strings:
            leaf = leaves.get(name)
            stats = group.column(leaf).statistics if leaf is not None else None
            usable = stats is not None and stats.has_min_max
            # (Bytes where the file does not annotate the column as text: not compared.)
            if usable and isinstance(stats.min, str) and isinstance(stats.max, str):
                ranges[name] = (stats.min, stats.max)
            else:
                ranges[name] = None
        if group.num_rows:
            groups.append(ranges)
    return groups


def _range_may_hold(span: tuple[str, str] | None, ids: list[str]) -> bool:
    """Whether a (min, max) range can hold one of the sorted ``ids`` (None: it may)."""
    if span is None:
        return True
    low, high = span
    at = bisect.bisect_left(ids, low)
    return at < len(ids) and ids[at] <= high


def _size(path: Location) -> int:
    if isinstance(path, S3Path):
        return path.filesystem.get_file_info(path.fs_path).size or 0
    return path.stat().st_size
