"""The completion index: a snapshot of catalog names and dimension records, built once.

Completion runs on every keystroke, so it must never touch the registry: this module reads
the catalog once (on a background thread: :class:`IndexLoader` for the REPL,
:class:`IndexCache` for a server) into plain tuples and dicts, with record ids and names
lower-cased ahead of time for matching.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from dsgrid_sql.catalog import Catalog, Column, ColumnRole, Table, TableKind
from dsgrid_sql.catalog.catalog import split_table_name
from dsgrid_sql.catalog.tables import DATA_TABLE, sql_type_name

from .suggestions import TableRef

RecordKey = tuple[str, str]  # (dimension_id, version)


@dataclass(frozen=True)
class RecordList:
    """The records of one dimension, ready for matching."""

    label: str  # the dimension's name
    ids: tuple[str, ...]
    names: tuple[str, ...]
    ids_lower: tuple[str, ...] = field(repr=False)
    names_lower: tuple[str, ...] = field(repr=False)

    @classmethod
    def of(cls, label: str, records: tuple) -> RecordList:
        ids = tuple(str(r.id) for r in records)
        names = tuple(str(r.name) for r in records)
        return cls(
            label, ids, names, tuple(i.lower() for i in ids), tuple(n.lower() for n in names)
        )


@dataclass(frozen=True)
class ColumnEntry:
    name: str
    meta: str
    aliases: tuple[str, ...] = ()
    # Dimensions whose records the column holds; by_name: it holds their names, not ids.
    records: tuple[RecordKey, ...] = ()
    by_name: bool = False


@dataclass(frozen=True)
class TableEntry:
    schema: str
    name: str
    meta: str
    columns: tuple[ColumnEntry, ...]
    by_name: dict[str, ColumnEntry] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for column in self.columns:
            self.by_name.setdefault(column.name.lower(), column)
        for column in self.columns:
            for alias in column.aliases:
                self.by_name.setdefault(alias.lower(), column)

    def find_column(self, name: str) -> ColumnEntry | None:
        return self.by_name.get(name.lower())


@dataclass(frozen=True)
class DimensionEntry:
    """A dimension as the REPL's ``\\records`` names it: a data column or a records table."""

    name: str
    meta: str
    table: str  # its records table in <project>_dimensions
    records: RecordKey


@dataclass
class CatalogIndex:
    schemas: dict[str, str]  # schema → remarks
    tables: dict[str, dict[str, TableEntry]]  # schema → table → entry
    records: dict[RecordKey, RecordList]
    dimensions: dict[str, dict[str, DimensionEntry]]  # project → name → dimension

    def tables_of(self, schema: str) -> list[TableEntry]:
        return list(self.tables.get(schema, {}).values())

    def resolve(self, ref: TableRef, current_schema: str | None) -> TableEntry | None:
        """The table a reference names, by Catalog.resolve_table's rule (schema, then bare
        name in the current schema, then a bare name unique across schemas)."""
        if ref.schema is not None:
            return _lookup(self.tables.get(ref.schema) or _case_fold(self.tables, ref.schema), ref)
        if current_schema is not None:
            found = _lookup(self.tables.get(current_schema, {}), ref)
            if found is not None:
                return found
        matches = [t for s in self.tables.values() if (t := _lookup(s, ref)) is not None]
        return matches[0] if len(matches) == 1 else None

    def resolve_name(self, name: str, current_schema: str | None) -> TableEntry | None:
        schema, table = split_table_name(name)
        return self.resolve(TableRef(schema, table), current_schema)

    def dimensions_of(self, schema: str | None) -> dict[str, DimensionEntry]:
        """Dimensions of the project a schema belongs to (its data, records or mappings)."""
        if schema is None:
            return {}
        for project, dims in self.dimensions.items():
            if schema in (project, project + "_dimensions", project + "_mappings"):
                return dims
        return {}


def _lookup(tables: dict[str, TableEntry] | None, ref: TableRef) -> TableEntry | None:
    if not tables:
        return None
    return tables.get(ref.name) or _case_fold(tables, ref.name)


def _case_fold(mapping: dict, name: str):  # type: ignore[no-untyped-def]
    lowered = name.lower()
    return next((v for k, v in mapping.items() if k.lower() == lowered), None)


# -- building ---------------------------------------------------------------------------------


def build_index(catalog: Catalog) -> CatalogIndex:
    """Read every name completion needs from ``catalog``."""
    schemas = {s: catalog.schema_remarks(s) for s in catalog.list_schemas()}
    tables: dict[str, dict[str, TableEntry]] = {s: {} for s in schemas}
    records: dict[RecordKey, RecordList] = {}
    dimensions: dict[str, dict[str, DimensionEntry]] = {}
    for project in catalog.readable_projects():
        project_id = project.project_id
        names = catalog.project_names(project_id)
        all_dims = {(d.dimension_id, d.version): d for d in project.dimensions}
        for dataset in project.submitted_datasets:
            for mapping in dataset.mappings:
                dim = mapping.from_dimension
                all_dims.setdefault((dim.dimension_id, dim.version), dim)
        by_name = {d.name: key for key, d in all_dims.items()}
        for key, dim in all_dims.items():
            if dim.records:
                records[key] = RecordList.of(dim.name, dim.records)
        project_dims: dict[str, DimensionEntry] = {}
        for key, table_name in names.dimension_tables.items():
            dim = all_dims.get(key)
            if dim is None or not dim.records:
                continue
            project_dims[table_name] = DimensionEntry(
                table_name, f"{dim.category.value} {dim.type.value}: {dim.name}", table_name, key
            )
        data = catalog.find_table(project_id, DATA_TABLE)
        for column in data.columns if data is not None else ():
            if column.role in (ColumnRole.DIMENSION, ColumnRole.SUPPLEMENTAL):
                keys = [by_name[n] for n in column.dimension_names if n in by_name]
                if keys and column.name not in project_dims:
                    table_name = names.dimension_tables.get(keys[0], column.name)
                    project_dims[column.name] = DimensionEntry(
                        column.name, _column_meta(column), table_name, keys[0]
                    )
        dimensions[project_id] = project_dims
        for table in catalog.list_tables(project_id):
            tables[project_id][table.name] = _data_table_entry(table, by_name)
        for schema in (project_id + "_dimensions", project_id + "_mappings"):
            for table in catalog.list_tables(schema):
                tables[schema][table.name] = _plain_table_entry(table)
    for schema in schemas:
        if not tables[schema]:
            for table in catalog.list_tables(schema):
                tables[schema][table.name] = _plain_table_entry(table)
    return CatalogIndex(schemas, tables, records, dimensions)


def _data_table_entry(table: Table, by_name: dict[str, RecordKey]) -> TableEntry:
    columns = {c.name: c for c in table.columns}
    entries = []
    for column in table.columns:
        source = column
        if column.role is ColumnRole.RECORD_NAME and column.names_column in columns:
            source = columns[column.names_column]
        keys: tuple[RecordKey, ...] = ()
        if source.role in (ColumnRole.DIMENSION, ColumnRole.SUPPLEMENTAL):
            keys = tuple(by_name[n] for n in source.dimension_names if n in by_name)
        entries.append(
            ColumnEntry(
                column.name,
                _column_meta(column),
                column.aliases,
                keys,
                by_name=column.role is ColumnRole.RECORD_NAME,
            )
        )
    return TableEntry(table.schema, table.name, _table_meta(table), tuple(entries))


def _plain_table_entry(table: Table) -> TableEntry:
    keys: tuple[RecordKey, ...] = (table.source,) if table.source else ()
    entries = []
    for column in table.columns:
        if table.kind is TableKind.DIMENSION and column.name in ("id", "name"):
            entry = ColumnEntry(
                column.name, f"record {column.name}", (), keys, column.name == "name"
            )
        else:
            entry = ColumnEntry(column.name, sql_type_name(column.type).lower())
        entries.append(entry)
    return TableEntry(table.schema, table.name, _table_meta(table), tuple(entries))


def _column_meta(column: Column) -> str:
    role = column.role
    kind = column.dimension_type.value if column.dimension_type else ""
    if role is ColumnRole.DIMENSION:
        return f"base {kind}"
    if role is ColumnRole.SUPPLEMENTAL:
        return f"supplemental {kind}: {column.dimension_names[0]}"
    if role is ColumnRole.RECORD_NAME:
        return f"record name of {column.names_column}"
    if role in (ColumnRole.TIME, ColumnRole.LOCAL_TIME):
        return sql_type_name(column.type).lower()
    if role is ColumnRole.VALUE:
        return "double: the value"
    return f"{role.value.replace('_', ' ')}"


def _table_meta(table: Table) -> str:
    if table.kind is TableKind.DATA:
        return "all datasets, mapped"
    if table.kind is TableKind.DATASET:
        return "dataset, mapped"
    return table.kind.value.replace("_", " ")


# -- background loading -----------------------------------------------------------------------


class IndexLoader:
    """Builds the index on a daemon thread so the prompt appears at once (litecli's
    completion refresher); completion offers keywords until the index is ready."""

    def __init__(
        self, build: Callable[[], CatalogIndex], on_ready: Callable[[], None] | None = None
    ) -> None:
        self._build = build
        self._index: CatalogIndex | None = None
        self._ready = threading.Event()
        self.error: Exception | None = None
        self._thread: threading.Thread | None = None
        # Called on the loader thread once the index is there (the prompt redraws its toolbar).
        self.on_ready = on_ready

    def start(self) -> IndexLoader:
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name="completion-index", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self._index = self._build()
            self.error = None
        except Exception as exc:  # a broken registry must not kill the REPL; report later
            self.error = exc
        finally:
            self._ready.set()
        if self.on_ready is not None:
            self.on_ready()

    def reload(self, build: Callable[[], CatalogIndex]) -> IndexLoader:
        self._build = build
        return self.start()

    @property
    def index(self) -> CatalogIndex | None:
        return self._index

    @property
    def loading(self) -> bool:
        return not self._ready.is_set()

    def wait(self, timeout: float | None = None) -> CatalogIndex | None:
        self._ready.wait(timeout)
        return self._index


class IndexCache:
    """One index per catalog, for a server whose catalog changes when the registry does:
    built on a daemon thread the first time it is asked for, kept until the catalog changes.
    While it is building, :meth:`get` waits at most ``wait_s`` and answers None (completion
    then offers keywords only)."""

    def __init__(self, build: Callable[[Catalog], CatalogIndex] = build_index) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._catalog: Catalog | None = None
        self._loader: IndexLoader | None = None

    def get(self, catalog: Catalog, wait_s: float = 0.0) -> CatalogIndex | None:
        with self._lock:
            if self._catalog is not catalog or self._loader is None:
                self._catalog = catalog
                self._loader = IndexLoader(lambda: self._build(catalog)).start()
            loader = self._loader
        return loader.wait(wait_s) if wait_s > 0 else loader.index

    def loading(self) -> bool:
        loader = self._loader
        return loader is not None and loader.loading
