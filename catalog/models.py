"""Typed views of the JSON models dsgrid stores in ``models.model`` (dsgrid-format.md §2).

The models accept every field dsgrid 0.4 writes and ignore fields they do not know, so a
registry written by a newer dsgrid still opens. Only what the gateway uses is typed; the raw
JSON stays available on each model as ``raw``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator


class DimensionType(StrEnum):
    """dsgrid's dimension types (``dsgrid/dimension/base_models.py::DimensionType``)."""

    METRIC = "metric"
    GEOGRAPHY = "geography"
    SECTOR = "sector"
    SUBSECTOR = "subsector"
    TIME = "time"
    WEATHER_YEAR = "weather_year"
    MODEL_YEAR = "model_year"
    SCENARIO = "scenario"


# Column order of data tables: the order DESIGN.md §3 lists the dimension columns in.
DIMENSION_COLUMN_ORDER: tuple[DimensionType, ...] = (
    DimensionType.GEOGRAPHY,
    DimensionType.SECTOR,
    DimensionType.SUBSECTOR,
    DimensionType.METRIC,
    DimensionType.MODEL_YEAR,
    DimensionType.WEATHER_YEAR,
    DimensionType.SCENARIO,
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)
    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def raw(self) -> dict[str, Any]:
        """The JSON exactly as stored in the registry."""
        return self._raw

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Any:
        model = cls.model_validate(data)
        model._raw = data
        return model


class DimensionReference(_Model):
    type: DimensionType
    dimension_id: str
    version: str


class MappingReference(_Model):
    from_dimension_type: DimensionType
    to_dimension_type: DimensionType
    mapping_id: str
    version: str


class DimensionRecord(BaseModel):
    """A dimension record: ``id``, ``name`` and class-specific fields (unit, time_zone, …)."""

    # Record ids are strings in dsgrid; JSON written by hand sometimes holds numbers.
    model_config = ConfigDict(extra="allow", frozen=True, coerce_numbers_to_str=True)

    id: str
    name: str

    @property
    def fields(self) -> dict[str, Any]:
        """The class-specific fields beyond id and name."""
        return dict(self.__pydantic_extra__ or {})


class _DimensionBase(_Model):
    row_id: int | None = Field(default=None, alias="id")
    version: str
    name: str
    type: DimensionType
    dimension_id: str
    module: str | None = None
    class_name: str | None = Field(default=None, alias="class")
    description: str | None = None
    file_hash: str | None = None


class RecordDimensionModel(_DimensionBase):
    """Any non-time dimension: geography, sector, subsector, metric, years, scenario."""

    records: tuple[DimensionRecord, ...] = ()


class TimeRange(_Model):
    start: str | int
    end: str | int
    str_format: str | None = None
    frequency: str | int | None = None


class TimeZoneFormat(_Model):
    """Both of dsgrid's time-zone formats.

    ``aligned_in_absolute_time`` has one ``time_zone``; ``aligned_in_std_clock_time`` lists
    ``time_zones`` and expects a per-row ``time_zone`` column.
    """

    format_type: str = "aligned_in_absolute_time"
    time_zone: str | None = None
    time_zones: tuple[str, ...] = ()


class TimeColumnFormat(_Model):
    """``column_format`` of a datetime dimension: one timestamp column or time-in-parts."""

    dtype: str = "timestamp_tz"
    time_column: str | None = None
    year_column: str | None = None
    month_column: str | None = None
    day_column: str | None = None
    hour_column: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        if self.dtype == "time_format_in_parts":
            parts = (self.year_column, self.month_column, self.day_column, self.hour_column)
            return tuple(p for p in parts if p)
        return (self.time_column or "timestamp",)


class _TimeDimensionBase(_DimensionBase):
    type: Literal[DimensionType.TIME] = DimensionType.TIME
    measurement_type: str | None = None
    time_interval_type: str | None = None
    ranges: tuple[TimeRange, ...] = ()
    time_zone_format: TimeZoneFormat | None = None

    @property
    def time_zone(self) -> str | None:
        return None if self.time_zone_format is None else self.time_zone_format.time_zone


class DateTimeDimensionModel(_TimeDimensionBase):
    time_type: Literal["datetime"] = "datetime"
    column_format: TimeColumnFormat = Field(default_factory=TimeColumnFormat)


class AnnualTimeDimensionModel(_TimeDimensionBase):
    time_type: Literal["annual"]
    include_leap_day: bool = False
    column_format: dict[str, Any] | None = None

    @property
    def time_column(self) -> str:
        # dsgrid keeps annual data in a string column named by the config; older configs
        # do not name it and the column is ``time_year``.
        fmt = self.column_format or {}
        return str(fmt.get("time_column") or fmt.get("column") or "time_year")


class RepresentativePeriodTimeDimensionModel(_TimeDimensionBase):
    time_type: Literal["representative_period"]
    format: str | None = None


class IndexTimeDimensionModel(_TimeDimensionBase):
    time_type: Literal["index"]
    column_format: dict[str, Any] | None = None
    starting_timestamps: tuple[str, ...] = ()
    frequency: str | None = None


class NoOpTimeDimensionModel(_TimeDimensionBase):
    time_type: Literal["noop"]


TimeDimensionModel = Annotated[
    DateTimeDimensionModel
    | AnnualTimeDimensionModel
    | RepresentativePeriodTimeDimensionModel
    | IndexTimeDimensionModel
    | NoOpTimeDimensionModel,
    Field(discriminator="time_type"),
]

AnyDimensionModel = (
    RecordDimensionModel
    | DateTimeDimensionModel
    | AnnualTimeDimensionModel
    | RepresentativePeriodTimeDimensionModel
    | IndexTimeDimensionModel
    | NoOpTimeDimensionModel
)

_TIME_MODELS: dict[str, type[_TimeDimensionBase]] = {
    "datetime": DateTimeDimensionModel,
    "annual": AnnualTimeDimensionModel,
    "representative_period": RepresentativePeriodTimeDimensionModel,
    "index": IndexTimeDimensionModel,
    "noop": NoOpTimeDimensionModel,
}


def parse_dimension(data: dict[str, Any]) -> AnyDimensionModel:
    """Validate a dimension model, choosing the time class by ``time_type``."""
    if data.get("type") == DimensionType.TIME:
        time_type = data.get("time_type", "datetime")
        cls = _TIME_MODELS.get(time_type)
        if cls is None:
            raise ValueError(f"unknown time_type {time_type!r}")
        result: AnyDimensionModel = cls.from_json(data)
        return result
    return RecordDimensionModel.from_json(data)


class MappingRecord(BaseModel):
    model_config = ConfigDict(frozen=True, coerce_numbers_to_str=True)

    from_id: str
    # None means "drop this data" (dsgrid-format.md §2.3).
    to_id: str | None = None
    from_fraction: float = 1.0

    @field_validator("from_fraction", mode="before")
    @classmethod
    def _default_fraction(cls, value: Any) -> Any:
        return 1.0 if value is None or value == "" else value


class DimensionMappingModel(_Model):
    row_id: int | None = Field(default=None, alias="id")
    version: str
    mapping_id: str
    mapping_type: str | None = None
    archetype: str | None = None
    from_dimension: DimensionReference
    to_dimension: DimensionReference
    from_fraction_tolerance: float | None = None
    to_fraction_tolerance: float | None = None
    description: str | None = None
    records: tuple[MappingRecord, ...] = ()


class RegistryDataLayout(_Model):
    table_format: Literal["one_table", "two_table"] = "two_table"
    value_format: str = "stacked"
    pivoted_dimension_type: DimensionType | None = None


class DatasetModel(_Model):
    row_id: int | None = Field(default=None, alias="id")
    version: str
    dataset_id: str
    dataset_type: str | None = None
    description: str | None = None
    data_source: str | None = None
    registry_data_layout: RegistryDataLayout | None = None
    # Registries written before 0.4 name the layout ``data_schema_type`` ("standard" is the
    # two-table layout), at the top level or under ``data_schema``.
    data_schema_type: str | None = None
    data_schema: dict[str, Any] | None = None
    enable_unit_conversion: bool = True
    use_project_geography_time_zone: bool = False
    dimension_references: tuple[DimensionReference, ...] = ()
    trivial_dimensions: tuple[DimensionType, ...] = ()
    dataset_qualifier_metadata: dict[str, Any] | None = None
    tags: tuple[str, ...] = ()

    @property
    def table_format(self) -> Literal["one_table", "two_table"]:
        if self.registry_data_layout is not None:
            return self.registry_data_layout.table_format
        legacy = self.data_schema_type or (self.data_schema or {}).get("data_schema_type")
        return "one_table" if legacy == "one_table" else "two_table"

    @property
    def qualifier_type(self) -> str:
        return str(
            (self.dataset_qualifier_metadata or {}).get("dataset_qualifier_type", "quantity")
        )


class ProjectDatasetModel(_Model):
    """One entry of a project's ``datasets`` list."""

    dataset_id: str
    dataset_type: str | None = None
    version: str | None = None
    status: str = "Unregistered"
    mapping_references: tuple[MappingReference, ...] = ()
    base_dimension_names: dict[DimensionType, str | None] = Field(default_factory=dict)
    wrap_time_allowed: bool = False
    time_based_data_adjustment: dict[str, Any] | None = None

    @property
    def is_submitted(self) -> bool:
        return self.status == "Registered"


class SubsetDimensionGroupModel(_Model):
    name: str
    type: DimensionType
    description: str | None = None
    selector_references: tuple[DimensionReference, ...] = ()
    create_supplemental_dimension: bool = True
    record_ids: tuple[str, ...] = ()


class ProjectDimensionsModel(_Model):
    base_dimension_references: tuple[DimensionReference, ...] = ()
    supplemental_dimension_references: tuple[DimensionReference, ...] = ()
    subset_dimensions: tuple[SubsetDimensionGroupModel, ...] = ()


class ProjectMappingsModel(_Model):
    base_to_supplemental_references: tuple[MappingReference, ...] = ()
    dataset_to_project: dict[str, tuple[MappingReference, ...]] = Field(default_factory=dict)


class ProjectModel(_Model):
    row_id: int | None = Field(default=None, alias="id")
    version: str
    project_id: str
    name: str | None = None
    description: str | None = None
    status: str | None = None
    datasets: tuple[ProjectDatasetModel, ...] = ()
    dimensions: ProjectDimensionsModel = Field(default_factory=ProjectDimensionsModel)
    dimension_mappings: ProjectMappingsModel = Field(default_factory=ProjectMappingsModel)
