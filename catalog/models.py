"""Typed views of the JSON models dsgrid stores in ``models.model`` (dsgrid-format.md §2).

dsgrid 0.4's own pydantic models are the specification: every field they accept as optional,
nullable, defaulted, aliased or legacy-spelled is accepted here with the same meaning —
strings are stripped of surrounding whitespace, ``dimension_type`` is ``type``, a mapping's
empty ``to_id`` drops data, the old ``timezone``/``datetime_format``/``"aligned"`` spellings
are the time-zone format, range settings written once for all ranges apply to each, and
frequencies take every form pydantic's timedelta takes (``3600.0``, ``"01:00:00"``,
``"PT1H"``). Each legacy rewrite names the dsgrid validator it follows. Fields dsgrid does
not know are ignored rather than refused (dsgrid forbids them), so a registry written by a
newer dsgrid still opens. Only what the gateway uses is typed; the raw JSON stays available
on each model as ``raw``.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)


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


# dsgrid's models strip every string field (data_models.py::make_model_config).
_CONFIG = ConfigDict(extra="ignore", populate_by_name=True, frozen=True, str_strip_whitespace=True)
# dsgrid accepts ``dimension_type`` wherever a dimension's ``type`` is written
# (an alias with populate_by_name; config/dimensions.py::handle_dimension_union).
_TYPE = AliasChoices("type", "dimension_type")


class _Model(BaseModel):
    model_config = _CONFIG
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
    type: DimensionType = Field(validation_alias=_TYPE)
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
    model_config = ConfigDict(
        extra="allow", frozen=True, coerce_numbers_to_str=True, str_strip_whitespace=True
    )

    id: str
    name: str

    @model_validator(mode="before")
    @classmethod
    def _strip_fields(cls, data: Any) -> Any:
        # Class-specific fields (unit, time_zone, …) are typed strings in dsgrid's record
        # classes, so dsgrid strips them too; the config covers only id and name here.
        if isinstance(data, dict):
            return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        return data

    @property
    def fields(self) -> dict[str, Any]:
        """The class-specific fields beyond id and name."""
        return dict(self.__pydantic_extra__ or {})


class _DimensionBase(_Model):
    row_id: int | None = Field(default=None, alias="id")
    version: str
    name: str
    type: DimensionType = Field(validation_alias=_TYPE)
    dimension_id: str
    module: str = "dsgrid.dimension.standard"
    class_name: str | None = Field(default=None, alias="class")
    description: str | None = None
    file_hash: str | None = None


class RecordDimensionModel(_DimensionBase):
    """Any non-time dimension: geography, sector, subsector, metric, years, scenario."""

    records: tuple[DimensionRecord, ...] = ()


_TIMEDELTA = TypeAdapter(timedelta)


def parse_frequency(value: Any) -> timedelta:
    """A time frequency in every form dsgrid reads: its ranges type it as pydantic's
    timedelta (seconds as a number, ``"01:00:00"``, ISO 8601 such as ``"PT1H"``/``"P1W"``)."""
    if value is None:
        return timedelta(hours=1)
    if isinstance(value, timedelta):
        return value
    try:
        return _TIMEDELTA.validate_python(value)
    except ValidationError:
        raise ValueError(f"the time frequency {value!r} is not a duration") from None


class TimeRange(_Model):
    start: str | int
    end: str | int
    str_format: str | None = None
    # A duration (datetime and index ranges) or a number of years (annual ranges).
    frequency: str | int | float | None = None
    # Index ranges: the instant index `start` stands for.
    starting_timestamp: str | None = None


class TimeZoneFormat(_Model):
    """Both of dsgrid's time-zone formats.

    ``aligned_in_absolute_time`` has one ``time_zone``; ``aligned_in_std_clock_time`` lists
    ``time_zones`` and expects a per-row ``time_zone`` column.
    """

    format_type: str = "aligned_in_absolute_time"
    time_zone: str | None = None
    time_zones: tuple[str, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        # dsgrid's AlignedTimeSingleTimeZone.handle_legacy_fields and
        # DateTimeDimensionModel.handle_legacy_fields: "aligned" is absolute time and the
        # zone may be spelled ``timezone``.
        if isinstance(data, dict):
            data = dict(data)
            if isinstance(data.get("format_type"), str) and data["format_type"].strip() == (
                "aligned"
            ):
                data["format_type"] = "aligned_in_absolute_time"
            if "timezone" in data and "time_zone" not in data:
                data["time_zone"] = data.pop("timezone")
        return data


class TimeColumnFormat(_Model):
    """``column_format`` of a datetime dimension: one timestamp column or time-in-parts."""

    dtype: str = "timestamp_tz"
    time_column: str | None = None
    year_column: str | None = None
    month_column: str | None = None
    day_column: str | None = None
    hour_column: str | None = None
    offset_column: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        if self.dtype == "time_format_in_parts":
            parts = (
                self.year_column,
                self.month_column,
                self.day_column,
                self.hour_column,
                self.offset_column,
            )
            return tuple(p for p in parts if p)
        return (self.time_column or "timestamp",)


def _ranges_from_top_level(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """Range settings written once at the top level apply to every range, overriding the
    range's own (dsgrid's *TimeDimensionModel.handle_legacy_fields)."""
    moved = {k: data.pop(k) for k in keys if k in data}
    if moved and isinstance(data.get("ranges"), list):
        data["ranges"] = [{**r, **moved} if isinstance(r, dict) else r for r in data["ranges"]]
    return data


class _TimeDimensionBase(_DimensionBase):
    type: Literal[DimensionType.TIME] = Field(DimensionType.TIME, validation_alias=_TYPE)
    measurement_type: str = "total"
    time_interval_type: str | None = None
    ranges: tuple[TimeRange, ...] = ()
    time_zone_format: TimeZoneFormat | None = None

    @property
    def time_zone(self) -> str | None:
        return None if self.time_zone_format is None else self.time_zone_format.time_zone


class DateTimeDimensionModel(_TimeDimensionBase):
    time_type: Literal["datetime"] = "datetime"
    column_format: TimeColumnFormat = Field(default_factory=TimeColumnFormat)

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        # dsgrid's DateTimeDimensionModel.handle_legacy_fields, step for step.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "datetime_format" in data:
            data["time_zone_format"] = data.pop("datetime_format")
        if "timezone" in data:
            zone = data.pop("timezone")
            current = data.get("time_zone_format")
            if isinstance(current, dict):
                # The top-level value wins over the format's own zone, as in dsgrid.
                data["time_zone_format"] = {
                    **{k: v for k, v in current.items() if k != "timezone"},
                    "time_zone": zone,
                }
            else:
                data["time_zone_format"] = {
                    "format_type": "aligned_in_absolute_time",
                    "time_zone": zone,
                }
        data = _ranges_from_top_level(data, ("str_format", "frequency"))
        if "time_column" in data and isinstance(data.get("column_format"), dict):
            data["column_format"] = {**data["column_format"], "time_column": data["time_column"]}
        return data


class AnnualTimeDimensionModel(_TimeDimensionBase):
    time_type: Literal["annual"]
    include_leap_day: bool = False
    column_format: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        # AnnualTimeDimensionModel.handle_legacy_fields moves only str_format.
        return (
            _ranges_from_top_level(dict(data), ("str_format",)) if isinstance(data, dict) else data
        )

    @property
    def time_column(self) -> str:
        # dsgrid keeps annual data in a string column named by the config; older configs
        # do not name it and the column is ``time_year``.
        fmt = self.column_format or {}
        return str(fmt.get("time_column") or fmt.get("column") or "time_year")


REPRESENTATIVE_FORMATS: dict[str, tuple[str, ...]] = {
    # dsgrid/time/types.py: the stored columns of each representative-period format.
    "one_week_per_month_by_hour": ("month", "day_of_week", "hour"),
    "one_weekday_day_and_one_weekend_day_per_month_by_hour": ("month", "is_weekday", "hour"),
}


class RepresentativePeriodTimeDimensionModel(_TimeDimensionBase):
    time_type: Literal["representative_period"]
    format: str | None = None

    @property
    def time_columns(self) -> tuple[str, ...]:
        return REPRESENTATIVE_FORMATS.get(self.format or "", ())


INDEX_COLUMN = "time_index"  # dsgrid's index time column (time/types.py)


class IndexTimeDimensionModel(_TimeDimensionBase):
    time_type: Literal["index"]

    @model_validator(mode="before")
    @classmethod
    def _legacy(cls, data: Any) -> Any:
        # IndexTimeDimensionModel.handle_legacy_fields: a list of starting timestamps is
        # zipped onto the ranges; str_format and frequency apply to every range.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        starts = data.pop("starting_timestamps", None)
        ranges = data.get("ranges")
        if isinstance(starts, list) and isinstance(ranges, list):
            data["ranges"] = [
                {**r, "starting_timestamp": s} if isinstance(r, dict) else r
                for r, s in zip(ranges, starts, strict=False)
            ]
        return _ranges_from_top_level(data, ("str_format", "frequency"))


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
    kind = data.get("type", data.get("dimension_type"))
    if isinstance(kind, str) and kind.strip() == DimensionType.TIME:
        time_type = str(data.get("time_type", "datetime")).strip()
        cls = _TIME_MODELS.get(time_type)
        if cls is None:
            raise ValueError(f"unknown time_type {time_type!r}")
        result: AnyDimensionModel = cls.from_json(data)
        return result
    return RecordDimensionModel.from_json(data)


class MappingRecord(BaseModel):
    model_config = ConfigDict(frozen=True, coerce_numbers_to_str=True, str_strip_whitespace=True)

    # None means "drop this data" (dsgrid-format.md §2.3); an empty id is None, as dsgrid's
    # MappingTableRecordModel.check_to_id makes it (after stripping whitespace).
    from_id: str | None
    to_id: str | None = None
    from_fraction: float = 1.0

    @field_validator("from_fraction", mode="before")
    @classmethod
    def _default_fraction(cls, value: Any) -> Any:
        return 1.0 if value is None or value == "" else value

    @field_validator("from_id", "to_id", mode="after")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None


# dsgrid derives a mapping's archetype from its type when none is stored
# (config/dimension_mapping_base.py::DimensionMappingBaseModel.check_archetype).
ARCHETYPES: dict[str, str] = {
    "one_to_one": "one_to_one_map_fraction_sum_from_id_eq1",
    "many_to_one_aggregation": "many_to_one_map_fraction_sum_from_id_eq1",
    "many_to_one_reassignment": "many_to_one_map_fraction_sum_from_id_eq1",
    "duplication": "one_to_many_map",
    "one_to_many_disaggregation": "one_to_many_map_fraction_sum_from_id_eq1",
    "many_to_many_aggregation": "many_to_many_map_fraction_sum_from_id_eq1",
    "many_to_many_disaggregation": "many_to_many_map_fraction_sum_from_id_eq1",
    "one_to_many_assignment": "one_to_many_map_fraction_sum_to_id_eq1",
    "many_to_one_assignment": "many_to_many_map_fraction_sum_to_id_eq1",
    "many_to_many_assignment": "many_to_many_map_fraction_sum_to_id_eq1",
    "one_to_one_explicit_multipliers": "one_to_one_map",
    "one_to_many_explicit_multipliers": "one_to_many_map",
    "many_to_one_explicit_multipliers": "many_to_one_map",
    "many_to_many_explicit_multipliers": "many_to_many_map",
}


class DimensionMappingModel(_Model):
    row_id: int | None = Field(default=None, alias="id")
    version: str
    mapping_id: str
    mapping_type: str = "many_to_one_aggregation"
    archetype: str | None = None
    from_dimension: DimensionReference
    to_dimension: DimensionReference
    from_fraction_tolerance: float | None = None
    to_fraction_tolerance: float | None = None
    description: str | None = None
    records: tuple[MappingRecord, ...] = ()

    @model_validator(mode="after")
    def _derive_archetype(self) -> DimensionMappingModel:
        if self.archetype is None and self.mapping_type in ARCHETYPES:
            object.__setattr__(self, "archetype", ARCHETYPES[self.mapping_type])
        return self


class RegistryDataLayout(_Model):
    table_format: Literal["one_table", "two_table"] = "two_table"
    value_format: str = "stacked"
    pivoted_dimension_type: DimensionType | None = None


class DatasetModel(_Model):
    row_id: int | None = Field(default=None, alias="id")
    version: str
    dataset_id: str
    dataset_type: str = "unspecified"
    description: str | None = None
    data_source: str | None = None
    # dsgrid reads data_layout (the layout at registration) first, then registry_data_layout
    # (DatasetConfig.get_table_format); both carry table_format and value_format.
    data_layout: RegistryDataLayout | None = None
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
    tags: tuple[str, ...] | None = None

    @property
    def layout(self) -> RegistryDataLayout | None:
        return self.data_layout or self.registry_data_layout

    @property
    def has_layout(self) -> bool:
        return (
            self.layout is not None
            or self.data_schema_type is not None
            or bool((self.data_schema or {}).get("data_schema_type"))
        )

    @property
    def table_format(self) -> Literal["one_table", "two_table"]:
        if self.layout is not None:
            return self.layout.table_format
        legacy = self.data_schema_type or (self.data_schema or {}).get("data_schema_type")
        return "one_table" if legacy == "one_table" else "two_table"

    @property
    def qualifier_type(self) -> str:
        return str(
            (self.dataset_qualifier_metadata or {}).get("dataset_qualifier_type", "quantity")
        )


class DaylightSavingAdjustment(_Model):
    spring_forward_hour: str = "none"  # drop | none
    fall_back_hour: str = "none"  # duplicate | interpolate | none


class TimeBasedDataAdjustment(_Model):
    """How index time treats leap days and daylight saving (dsgrid/dimension/time.py)."""

    leap_day_adjustment: str = "none"  # drop_dec31 | drop_feb29 | drop_jan1 | none
    daylight_saving_adjustment: DaylightSavingAdjustment = Field(
        default_factory=DaylightSavingAdjustment
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
    time_based_data_adjustment: TimeBasedDataAdjustment = Field(
        default_factory=TimeBasedDataAdjustment
    )

    @property
    def is_submitted(self) -> bool:
        return self.status == "Registered"


class SubsetDimensionGroupModel(_Model):
    name: str
    type: DimensionType = Field(validation_alias=_TYPE)
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
    status: str = "Initial Registration"
    datasets: tuple[ProjectDatasetModel, ...] = ()
    dimensions: ProjectDimensionsModel = Field(default_factory=ProjectDimensionsModel)
    dimension_mappings: ProjectMappingsModel = Field(default_factory=ProjectMappingsModel)
