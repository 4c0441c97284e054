"""The virtual tables users and BI tools see (DESIGN.md §3): names, columns, types, remarks.

This module decides every name in the SQL surface. It builds descriptions only; the rows
of registry, dimension and mapping tables come from :mod:`.table_data`, and the rows of data
tables from the query path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import pyarrow as pa

from dsgrid_sql.errors import UnknownNameError
from dsgrid_sql.suggest import did_you_mean

from .models import (
    DIMENSION_COLUMN_ORDER,
    INDEX_COLUMN,
    AnnualTimeDimensionModel,
    DateTimeDimensionModel,
    DimensionType,
    IndexTimeDimensionModel,
    NoOpTimeDimensionModel,
    RepresentativePeriodTimeDimensionModel,
)
from .names import NameAllocator, slugify
from .project import Project, ProjectDimension

REGISTRY_SCHEMA = "registry"
INFORMATION_SCHEMA = "information_schema"
DATA_TABLE = "data"
DIMENSIONS_SCHEMA_SUFFIX = "_dimensions"
MAPPINGS_SCHEMA_SUFFIX = "_mappings"

VALUE_COLUMN = "value"
DATASET_ID_COLUMN = "dataset_id"
TIME_ZONE_COLUMN = "time_zone"
LOCAL_TIME_COLUMN = "local_timestamp"
# The wall clock without daylight saving: dsgrid's `time_zone: "geography"` result.
LOCAL_STANDARD_TIME_COLUMN = "local_standard_timestamp"
UNIT_COLUMN = "unit"
NAME_SUFFIX = "_name"

TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")
LOCAL_TIMESTAMP_TYPE = pa.timestamp("us")


class TableKind(StrEnum):
    DATA = "data"
    DATASET = "dataset"
    PROJECTION = "projection"  # a dataset grown by growth rates: projected(...) in a query
    DIMENSION = "dimension"
    MAPPING = "mapping"
    REGISTRY = "registry"
    INFORMATION_SCHEMA = "information_schema"


class ColumnRole(StrEnum):
    DIMENSION = "dimension"  # base dimension, named by type
    SUPPLEMENTAL = "supplemental"
    RECORD_NAME = "record_name"  # `<column>_name` twin
    TIME = "time"
    LOCAL_TIME = "local_time"  # local_timestamp and local_standard_timestamp
    TIME_ZONE = "time_zone"
    UNIT = "unit"
    VALUE = "value"
    DATASET_ID = "dataset_id"
    ATTRIBUTE = "attribute"  # a plain column of a dimension, mapping or registry table


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    role: ColumnRole
    remarks: str = ""
    nullable: bool = True
    dimension_type: DimensionType | None = None
    # Project dimension names this column carries (several for a type with several bases).
    dimension_names: tuple[str, ...] = ()
    # Other identifiers that resolve to this column (base-dimension slugs, exact names).
    aliases: tuple[str, ...] = ()
    # For a RECORD_NAME twin: the column whose records it names.
    names_column: str | None = None

    @property
    def field(self) -> pa.Field:
        metadata = {"remarks": self.remarks} if self.remarks else None
        return pa.field(self.name, self.type, nullable=self.nullable, metadata=metadata)


# dsgrid's DatasetConstructionMethod values.
PROJECTION_METHODS = ("exponential_growth", "annual_multiplier")


@dataclass(frozen=True)
class Projection:
    """An initial-value dataset grown by a growth-rate dataset (dsgrid's projection
    dataset): ``exponential_growth`` gives value × (1 + r)^(model_year − base_year),
    ``annual_multiplier`` value × r."""

    initial_dataset_id: str
    growth_dataset_id: str
    method: str = "exponential_growth"
    base_year: int | None = None  # None: the lowest model year of the initial values


@dataclass(frozen=True)
class Table:
    catalog: str
    schema: str
    name: str
    kind: TableKind
    columns: tuple[Column, ...]
    remarks: str = ""
    project_id: str | None = None
    project_version: str | None = None
    dataset_ids: tuple[str, ...] = ()
    # For dimension tables: (dimension_id, version); for mapping tables: (mapping_id, version).
    source: tuple[str, str] | None = None
    projection: Projection | None = None
    _by_name: dict[str, Column] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for column in self.columns:
            self._by_name.setdefault(column.name, column)
        for column in self.columns:
            for alias in column.aliases:
                self._by_name.setdefault(alias, column)

    @property
    def is_data(self) -> bool:
        """Rows of datasets mapped onto the project (the query path computes them)."""
        return self.kind in (TableKind.DATA, TableKind.DATASET, TableKind.PROJECTION)

    @property
    def table_type(self) -> str:
        """The Flight SQL / JDBC table type."""
        return "SYSTEM TABLE" if self.kind is TableKind.INFORMATION_SCHEMA else "TABLE"

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def arrow_schema(self) -> pa.Schema:
        return pa.schema([c.field for c in self.columns])

    def find_column(self, name: str) -> Column | None:
        """A column by name or alias; unquoted-style case-insensitive match as a fallback."""
        column = self._by_name.get(name)
        if column is None:
            lowered = name.lower()
            matches = {c.name: c for n, c in self._by_name.items() if n.lower() == lowered}
            if len(matches) == 1:
                column = next(iter(matches.values()))
        return column

    def get_column(self, name: str) -> Column:
        column = self.find_column(name)
        if column is None:
            raise UnknownNameError(
                f"Table '{self.qualified_name}' has no column '{name}'.",
                suggestion=did_you_mean(name, [c.name for c in self.columns]),
            )
        return column


# ---------------------------------------------------------------------------------------------
# Names of a project's dimensions: one allocation per project so a supplemental column has the
# same name in `data`, in every dataset table and as a dimension table.


@dataclass(frozen=True)
class ProjectNames:
    """Every identifier one project version contributes to the SQL surface."""

    # Base type → column name (the type itself).
    base_columns: dict[DimensionType, str]
    # Base dimension name → alias slug.
    base_aliases: dict[str, str]
    # Supplemental dimension name → column name.
    supplemental_columns: dict[str, str]
    # Any dimension (base, supplemental, subset selector, dataset) → table name in the
    # dimensions schema.
    dimension_tables: dict[tuple[str, str], str]
    time_columns: tuple[Column, ...]


def _time_columns(project: Project) -> tuple[Column, ...]:
    time = project.time_dimension
    if time is None:
        return ()
    model = time.model
    remarks = f"Project time dimension '{time.name}'"
    if isinstance(model, DateTimeDimensionModel):
        return (
            Column(
                model.column_format.time_column or "timestamp",
                TIMESTAMP_TYPE,
                ColumnRole.TIME,
                f"{remarks}: instants in UTC ({model.time_interval_type or 'period_beginning'}).",
                nullable=False,
                dimension_type=DimensionType.TIME,
                dimension_names=(time.name,),
            ),
        )
    if isinstance(model, AnnualTimeDimensionModel):
        return (
            Column(
                model.time_column,
                pa.string(),
                ColumnRole.TIME,
                f"{remarks}: the year, as dsgrid stores it.",
                nullable=False,
                dimension_type=DimensionType.TIME,
                dimension_names=(time.name,),
            ),
        )
    if isinstance(model, RepresentativePeriodTimeDimensionModel):
        # The stored columns of its format, in dsgrid's order (the models name them once).
        return tuple(
            Column(
                n,
                pa.bool_() if n == "is_weekday" else pa.int64(),
                ColumnRole.TIME,
                f"{remarks}: {n}.",
                dimension_type=DimensionType.TIME,
            )
            for n in model.time_columns
        )
    if isinstance(model, IndexTimeDimensionModel):
        return (Column(INDEX_COLUMN, pa.int64(), ColumnRole.TIME, f"{remarks}: the time index."),)
    assert isinstance(model, NoOpTimeDimensionModel)
    return ()


def allocate_project_names(project: Project) -> ProjectNames:
    time_columns = _time_columns(project)
    reserved = {t.value for t in DimensionType} | {
        VALUE_COLUMN,
        DATASET_ID_COLUMN,
        TIME_ZONE_COLUMN,
        LOCAL_TIME_COLUMN,
        LOCAL_STANDARD_TIME_COLUMN,
        UNIT_COLUMN,
        "id",
        *(c.name for c in time_columns),
    }
    reserved |= {t.value + NAME_SUFFIX for t in DimensionType}
    columns = NameAllocator(reserved, twin_suffix=NAME_SUFFIX)
    base_columns = {
        d.type: d.type.value for d in project.base_dimensions if d.type != DimensionType.TIME
    }
    base_aliases: dict[str, str] = {}
    for dim in _ordered_bases(project):
        slug = slugify(dim.name)
        if slug == dim.type.value:
            continue
        if columns.is_free(slug):
            columns.reserve(slug)
            base_aliases[dim.name] = slug
    supplemental_columns = {
        dim.name: columns.allocate(slugify(dim.name))
        for dim in sorted(project.supplemental_dimensions, key=lambda d: d.name)
    }

    # Dimension tables: base by type when a type has one base, else by slug; then the same
    # names as the supplemental columns; then subset selectors and dataset dimensions.
    tables = NameAllocator()
    dimension_tables: dict[tuple[str, str], str] = {}

    def add_table(dim: ProjectDimension, preferred: str) -> None:
        key = (dim.dimension_id, dim.version)
        if key not in dimension_tables:
            dimension_tables[key] = tables.allocate(preferred)

    for dim in _ordered_bases(project):
        if dim.type == DimensionType.TIME:
            continue
        single = len(project.base_dimensions_of(dim.type)) == 1
        add_table(dim, dim.type.value if single else slugify(dim.name))
    for dim in sorted(project.supplemental_dimensions, key=lambda d: d.name):
        add_table(dim, supplemental_columns[dim.name])
    for dim in sorted(project.subset_dimensions, key=lambda d: d.name):
        add_table(dim, slugify(dim.name))
    dataset_dims = {
        (m.from_dimension.dimension_id, m.from_dimension.version): m.from_dimension
        for ds in project.submitted_datasets
        for m in ds.mappings
    }
    for dim in sorted(dataset_dims.values(), key=lambda d: d.name):
        add_table(dim, slugify(dim.name))
    return ProjectNames(
        base_columns, base_aliases, supplemental_columns, dimension_tables, time_columns
    )


def _ordered_bases(project: Project) -> list[ProjectDimension]:
    order = {t: i for i, t in enumerate((*DIMENSION_COLUMN_ORDER, DimensionType.TIME))}
    return sorted(project.base_dimensions, key=lambda d: (order[d.type], d.name))


# ---------------------------------------------------------------------------------------------
# Data tables: `<project>.data` and `<project>.<dataset_id>`.


def data_table_columns(
    project: Project,
    names: ProjectNames,
    dataset_ids: tuple[str, ...] | None = None,
    *,
    timed: bool = True,
) -> tuple[Column, ...]:
    """Columns of ``data`` (the stacked datasets) or of one dataset's table; ``timed``:
    the rows have the project's time (growth rates and noop data have none)."""
    if dataset_ids is None:
        datasets = list(project.stacked_datasets)
    else:
        datasets = [d for d in project.submitted_datasets if d.dataset_id in dataset_ids]
    # The base dimensions these rows map onto: for `data`, every base (a project may have
    # several of one type); for a dataset table, the ones its base_dimension_names choose.
    chosen = {(d.dimension_id, d.version) for ds in datasets for d in ds.base_dimensions.values()}
    used_bases: dict[DimensionType, list[ProjectDimension]] = {}
    for dim in _ordered_bases(project):
        if dim.type == DimensionType.TIME:
            continue
        if dataset_ids is None or (dim.dimension_id, dim.version) in chosen:
            used_bases.setdefault(dim.type, []).append(dim)

    dims: list[Column] = []
    twins: list[Column] = []
    for dimension_type in DIMENSION_COLUMN_ORDER:
        bases = used_bases.get(dimension_type)
        if not bases:
            continue
        column_name = names.base_columns[dimension_type]
        aliases = tuple(
            alias
            for d in bases
            for alias in (names.base_aliases.get(d.name), d.name)
            if alias and alias != column_name
        )
        counts = ", ".join(f"'{d.name}' ({len(d.records)} records)" for d in bases)
        dims.append(
            Column(
                column_name,
                pa.string(),
                ColumnRole.DIMENSION,
                f"Base {dimension_type.value} dimension {counts}: project record ids.",
                nullable=False,
                dimension_type=dimension_type,
                dimension_names=tuple(d.name for d in bases),
                aliases=aliases,
            )
        )
        twins.append(
            Column(
                column_name + NAME_SUFFIX,
                pa.string(),
                ColumnRole.RECORD_NAME,
                f"Record name of column {column_name}.",
                dimension_type=dimension_type,
                dimension_names=tuple(d.name for d in bases),
                aliases=tuple(
                    names.base_aliases[d.name] + NAME_SUFFIX
                    for d in bases
                    if d.name in names.base_aliases
                ),
                names_column=column_name,
            )
        )

    base_keys = {(d.dimension_id, d.version) for ds in used_bases.values() for d in ds}
    supplementals: list[Column] = []
    supplemental_twins: list[Column] = []
    for dim in sorted(
        project.supplemental_dimensions, key=lambda d: names.supplemental_columns[d.name]
    ):
        mapping = dim.base_mapping
        if mapping is None:
            continue
        source = (mapping.from_dimension.dimension_id, mapping.from_dimension.version)
        if source not in base_keys:
            continue
        column_name = names.supplemental_columns[dim.name]
        from_name = next(
            (
                d.name
                for ds in used_bases.values()
                for d in ds
                if (d.dimension_id, d.version) == source
            ),
            "",
        )
        supplementals.append(
            Column(
                column_name,
                pa.string(),
                ColumnRole.SUPPLEMENTAL,
                f"Supplemental {dim.type.value} dimension '{dim.name}' ({len(dim.records)} "
                f"records), mapped from '{from_name}'; referencing it multiplies value by the "
                "mapping fraction.",
                dimension_type=dim.type,
                dimension_names=(dim.name,),
                aliases=(dim.name,) if dim.name != column_name else (),
            )
        )
        supplemental_twins.append(
            Column(
                column_name + NAME_SUFFIX,
                pa.string(),
                ColumnRole.RECORD_NAME,
                f"Record name of column {column_name}.",
                dimension_type=dim.type,
                dimension_names=(dim.name,),
                names_column=column_name,
            )
        )

    helpers: list[Column] = []
    time_columns = names.time_columns if timed else ()
    geography = used_bases.get(DimensionType.GEOGRAPHY, [])
    has_time_zone = any("time_zone" in d.record_fields for d in geography)
    is_datetime = (
        timed
        and project.time_dimension is not None
        and isinstance(project.time_dimension.model, DateTimeDimensionModel)
    )
    if has_time_zone:
        helpers.append(
            Column(
                TIME_ZONE_COLUMN,
                pa.string(),
                ColumnRole.TIME_ZONE,
                "IANA time zone of the row's geography record.",
            )
        )
        if is_datetime:
            helpers.append(
                Column(
                    LOCAL_TIME_COLUMN,
                    LOCAL_TIMESTAMP_TYPE,
                    ColumnRole.LOCAL_TIME,
                    "Wall-clock time of the timestamp in the row's time_zone, daylight saving "
                    "applied.",
                )
            )
            helpers.append(
                Column(
                    LOCAL_STANDARD_TIME_COLUMN,
                    LOCAL_TIMESTAMP_TYPE,
                    ColumnRole.LOCAL_TIME,
                    "Wall-clock time of the timestamp in the row's time_zone without daylight "
                    "saving (the offset at the project's first hour), as dsgrid's "
                    "time_zone 'geography' result writes it.",
                )
            )
    metrics = used_bases.get(DimensionType.METRIC, [])
    units = sorted(
        {
            str(r.fields["unit"])
            for d in metrics
            for r in d.records
            if r.fields.get("unit") is not None
        }
    )
    if units:
        helpers.append(
            Column(
                UNIT_COLUMN,
                pa.string(),
                ColumnRole.UNIT,
                f"Unit of value, from the project metric record ({', '.join(units)}).",
            )
        )
    value_remarks = "The value, converted to the project metric's unit"
    value_remarks += f" (see column unit: {', '.join(units)})." if units else "."
    if datasets and all(d.is_growth_rate for d in datasets):
        value_remarks = (
            "The growth rate of each model year, a factor, not a quantity: "
            "projected('initial', 'growth') grows a dataset by it."
        )
    core = [
        *dims,
        *time_columns,
        Column(VALUE_COLUMN, pa.float64(), ColumnRole.VALUE, value_remarks, nullable=False),
        Column(
            DATASET_ID_COLUMN,
            pa.string(),
            ColumnRole.DATASET_ID,
            "The dataset the row comes from.",
            nullable=False,
        ),
    ]
    return (*core, *supplementals, *helpers, *twins, *supplemental_twins)


# ---------------------------------------------------------------------------------------------
# Fixed tables: the `registry` schema and `information_schema`. Their rows come from
# `table_data`, which builds them against these schemas.


def _fixed(*spec: tuple[str, pa.DataType, str]) -> tuple[Column, ...]:
    return tuple(Column(n, t, ColumnRole.ATTRIBUTE, r) for n, t, r in spec)


_S, _I, _F, _B = pa.string(), pa.int64(), pa.float64(), pa.bool_()

REGISTRY_TABLES: dict[str, tuple[str, tuple[Column, ...]]] = {
    "projects": (
        "Every project, at its current version.",
        _fixed(
            ("project_id", _S, "Project id."),
            ("version", _S, "Current version."),
            ("name", _S, "Project name."),
            ("status", _S, "Registration status (Initial Registration, In Progress, Complete)."),
            ("description", _S, "Description."),
            ("versions", _S, "Every registered version, oldest first, comma-separated."),
            ("dataset_count", _I, "Datasets the project lists."),
            ("submitted_dataset_count", _I, "Datasets submitted to the project."),
            ("problem", _S, "Why it cannot be read (it is then left out), or null."),
        ),
    ),
    "datasets": (
        "Every registered dataset, at its current version, submitted or not.",
        _fixed(
            ("dataset_id", _S, "Dataset id."),
            ("version", _S, "Current version."),
            ("dataset_type", _S, "modeled, historical, projection, ..."),
            ("table_format", _S, "one_table or two_table."),
            ("qualifier_type", _S, "quantity or growth_rate."),
            ("data_source", _S, "Data source."),
            ("description", _S, "Description."),
            ("versions", _S, "Every registered version, oldest first, comma-separated."),
            ("submitted_to", _S, "Projects the dataset is submitted to, comma-separated."),
            ("problem", _S, "Why it cannot be read (it is then left out), or null."),
        ),
    ),
    "project_datasets": (
        "Which dataset each project lists, at the project's current version.",
        _fixed(
            ("project_id", _S, "Project id."),
            ("project_version", _S, "Project version."),
            ("dataset_id", _S, "Dataset id."),
            ("dataset_version", _S, "Dataset version the project names."),
            ("status", _S, "Registered (submitted) or Unregistered."),
            ("dataset_type", _S, "modeled, historical, projection, ..."),
            ("is_registered", _B, "Whether the registry holds the dataset's config."),
            ("table_name", _S, "The SQL table of the dataset, when submitted."),
            ("problem", _S, "Why it cannot be read (it is then left out), or null."),
        ),
    ),
    "project_dimensions": (
        "Every dimension of each project (current version), with its SQL column.",
        _fixed(
            ("project_id", _S, "Project id."),
            ("project_version", _S, "Project version."),
            ("dimension_name", _S, "Dimension name, unique in the project."),
            ("type", _S, "Dimension type."),
            ("category", _S, "base, supplemental or subset."),
            ("column_name", _S, "Column of data tables that holds it (base: the type)."),
            ("table_name", _S, "Its records table in <project>_dimensions."),
            ("dimension_id", _S, "Dimension id."),
            ("version", _S, "Dimension version."),
            ("record_count", _I, "Number of records."),
        ),
    ),
    "dimensions": (
        "Every registered dimension, at its current version.",
        _fixed(
            ("dimension_id", _S, "Dimension id (a UUID dsgrid generates)."),
            ("version", _S, "Current version."),
            ("name", _S, "Dimension name."),
            ("type", _S, "Dimension type."),
            ("class", _S, "dsgrid record class (County, EnergyEndUse, Time, ...)."),
            ("time_type", _S, "For time dimensions: datetime, annual, ..."),
            ("description", _S, "Description."),
            ("record_count", _I, "Number of records (0 for time dimensions)."),
            ("problem", _S, "Why it cannot be read (it is then left out), or null."),
        ),
    ),
    "dimension_records": (
        "Records of every registered dimension (current versions), long form.",
        _fixed(
            ("dimension_id", _S, "Dimension id."),
            ("version", _S, "Dimension version."),
            ("dimension_name", _S, "Dimension name."),
            ("type", _S, "Dimension type."),
            ("id", _S, "Record id."),
            ("name", _S, "Record name."),
            ("fields", _S, "Other fields of the record as JSON (unit, time_zone, ...)."),
        ),
    ),
    "dimension_mappings": (
        "Every registered dimension mapping, at its current version.",
        _fixed(
            ("mapping_id", _S, "Mapping id (a UUID dsgrid generates)."),
            ("version", _S, "Current version."),
            ("mapping_type", _S, "dsgrid mapping type (registration checks only)."),
            ("from_dimension_id", _S, "Dimension mapped from."),
            ("from_dimension_name", _S, "Name of the dimension mapped from."),
            ("to_dimension_id", _S, "Dimension mapped to."),
            ("to_dimension_name", _S, "Name of the dimension mapped to."),
            ("type", _S, "Dimension type of both ends."),
            ("description", _S, "Description."),
            ("record_count", _I, "Number of records."),
            ("problem", _S, "Why it cannot be read (it is then left out), or null."),
        ),
    ),
    "mapping_records": (
        "Records of every registered mapping (current versions).",
        _fixed(
            ("mapping_id", _S, "Mapping id."),
            ("version", _S, "Mapping version."),
            ("from_id", _S, "Record id mapped from."),
            ("to_id", _S, "Record id mapped to; null drops the data."),
            ("from_fraction", _F, "Fraction of the from-record's value assigned."),
        ),
    ),
    "versions": (
        "Every version of every project, dataset, dimension and mapping, with its "
        "registration (read any project version with VERSION AS OF).",
        _fixed(
            ("model_type", _S, "project, dataset, dimension or dimension_mapping."),
            ("model_id", _S, "The project, dataset, dimension or mapping id."),
            ("version", _S, "Version."),
            ("is_current", _B, "Whether this is the version queries read by default."),
            ("registration_id", _I, "The registration that wrote it (registry.registrations)."),
            ("registered_at", _S, "When, as dsgrid wrote it (UTC)."),
            ("submitter", _S, "Who."),
            ("log_message", _S, "What."),
        ),
    ),
    "registrations": (
        "Every registration action, oldest first.",
        _fixed(
            ("id", _I, "Registration id."),
            ("timestamp", _S, "When, as dsgrid wrote it."),
            ("submitter", _S, "Who."),
            ("update_type", _S, "major, minor or patch."),
            ("log_message", _S, "What."),
        ),
    ),
}

INFORMATION_SCHEMA_TABLES: dict[str, tuple[str, tuple[Column, ...]]] = {
    "schemata": (
        "Every schema of the catalog.",
        _fixed(("catalog_name", _S, ""), ("schema_name", _S, ""), ("remarks", _S, "")),
    ),
    "tables": (
        "Every table of the catalog.",
        _fixed(
            ("table_catalog", _S, ""),
            ("table_schema", _S, ""),
            ("table_name", _S, ""),
            ("table_type", _S, ""),
            ("remarks", _S, ""),
        ),
    ),
    "columns": (
        "Every column of every table of the catalog.",
        _fixed(
            ("table_catalog", _S, ""),
            ("table_schema", _S, ""),
            ("table_name", _S, ""),
            ("column_name", _S, ""),
            ("ordinal_position", _I, "1-based."),
            ("data_type", _S, "SQL type name."),
            ("is_nullable", _S, "YES or NO."),
            ("remarks", _S, "Dimension name, unit and meaning."),
        ),
    ),
}


def sql_type_name(arrow_type: pa.DataType) -> str:
    """The SQL type name shown in information_schema and DESCRIBE."""
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "VARCHAR"
    if pa.types.is_float64(arrow_type):
        return "DOUBLE"
    if pa.types.is_int64(arrow_type):
        return "BIGINT"
    if pa.types.is_boolean(arrow_type):
        return "BOOLEAN"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMP WITH TIME ZONE" if arrow_type.tz else "TIMESTAMP"
    return str(arrow_type).upper()


# ---------------------------------------------------------------------------------------------
# Dimension and mapping tables of a project.


def record_field_type(values: list[object]) -> pa.DataType:
    """Arrow type of one record field: the common type of its non-null JSON values."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pa.bool_()
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.int64()
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return pa.float64()
    return pa.string()


def dimension_table_columns(dim: ProjectDimension) -> tuple[Column, ...]:
    columns = [
        Column("id", pa.string(), ColumnRole.ATTRIBUTE, "Record id.", nullable=False),
        Column("name", pa.string(), ColumnRole.ATTRIBUTE, "Record name."),
    ]
    for field_name in dim.record_fields:
        if field_name in ("id", "name"):
            continue
        values = [r.fields.get(field_name) for r in dim.records]
        columns.append(
            Column(field_name, record_field_type(values), ColumnRole.ATTRIBUTE, "Record field.")
        )
    return tuple(columns)


MAPPING_TABLE_COLUMNS: tuple[Column, ...] = (
    Column("from_id", pa.string(), ColumnRole.ATTRIBUTE, "Record id mapped from.", nullable=False),
    Column(
        "to_id", pa.string(), ColumnRole.ATTRIBUTE, "Record id mapped to; null drops the data."
    ),
    Column(
        "from_fraction",
        pa.float64(),
        ColumnRole.ATTRIBUTE,
        "Fraction of the from-record's value assigned to to_id.",
        nullable=False,
    ),
)
