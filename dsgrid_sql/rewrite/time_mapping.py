"""Project and dataset time as instants: ranges, frequencies, and how dataset time maps onto
project time (dsgrid-format.md §4.3).

Everything here is computed in Python from the time configs; the SQL only applies the
result (a shift, a wrap, a range filter, or a cross join with the project's timestamps).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pyarrow as pa

from dsgrid_sql.catalog import arrays, models
from dsgrid_sql.catalog.models import (
    AnnualTimeDimensionModel,
    AnyDimensionModel,
    DateTimeDimensionModel,
    IndexTimeDimensionModel,
    NoOpTimeDimensionModel,
    ProjectDatasetModel,
    RepresentativePeriodTimeDimensionModel,
)
from dsgrid_sql.errors import CatalogError, UnsupportedSqlError

from .time_lookup import IndexLookup, RepresentativeLookup, interval_shift


def parse_frequency(value: object) -> timedelta:
    """A range's frequency as a duration (every form dsgrid's timedelta field reads)."""
    try:
        return models.parse_frequency(value)
    except ValueError:
        raise UnsupportedSqlError(f"The time frequency '{value}' is not supported.") from None


@dataclass(frozen=True)
class InstantRange:
    """A datetime dimension's timestamps as UTC instants: start, end, step."""

    start: datetime
    end: datetime
    step: timedelta
    interval_type: str  # period_beginning | period_ending

    @property
    def count(self) -> int:
        return int((self.end - self.start) / self.step) + 1

    @property
    def length(self) -> timedelta:
        return self.step * self.count

    def timestamps(self) -> pa.Array:
        step_us = int(self.step / timedelta(microseconds=1))
        start_us = int(self.start.timestamp() * 1_000_000)
        values = [start_us + i * step_us for i in range(self.count)]
        return arrays.array(values, pa.timestamp("us", tz="UTC"))


def instant_range(model: DateTimeDimensionModel, what: str) -> InstantRange:
    """The (single) range of a datetime dimension, localized in its time zone."""
    fmt = model.time_zone_format
    if fmt is None or fmt.format_type != "aligned_in_absolute_time" or not fmt.time_zone:
        raise UnsupportedSqlError(
            f"{what} uses time zone format "
            f"'{fmt.format_type if fmt else 'none'}', which dsgrid-sql does not support yet.",
        )
    if len(model.ranges) != 1:
        raise UnsupportedSqlError(f"{what} has {len(model.ranges)} time ranges; one is supported.")
    zone = named_zone(fmt.time_zone, what)
    r = model.ranges[0]
    str_format = r.str_format or "%Y-%m-%d %H:%M:%S"
    start = datetime.strptime(str(r.start), str_format).replace(tzinfo=zone).astimezone(UTC)
    end = datetime.strptime(str(r.end), str_format).replace(tzinfo=zone).astimezone(UTC)
    return InstantRange(
        start, end, parse_frequency(r.frequency), model.time_interval_type or "period_beginning"
    )


def named_zone(name: str, what: str) -> tzinfo:
    """The zone range strings are read in: dsgrid localizes them with the named zone
    itself (DateTimeDimensionConfig.get_start_times), daylight saving included, and steps
    from there in absolute time."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CatalogError(
            f"{what} names the time zone '{name}', which is not an IANA time zone.",
            hint="dsgrid itself cannot use it either; the registry needs a valid zone name.",
        ) from None


@dataclass(frozen=True)
class DatetimeShift:
    """Map dataset instants onto project instants: add ``shift``, wrap by ``wrap`` into
    ``[project.start, project.end]``, keep only instants in that range."""

    shift: timedelta
    wrap: timedelta
    project: InstantRange
    # The dataset's configured range, shifted and wrapped once, lands on project instants
    # (dsgrid checks registered data against that range), so the range filter keeps every
    # row and the plan leaves it out; a query that never reads time then skips time work.
    always_in_range: bool = False


@dataclass(frozen=True)
class AnnualSpread:
    """Spread each annual value over every project timestamp: value / periods_per_year, and
    model_year := the annual time value (dsgrid's ``map_annual_time_to_date_time``)."""

    time_column: str
    periods_per_year: int
    project: InstantRange


@dataclass(frozen=True)
class NoTimeMapping:
    """Time passes through (noop time, or no time column)."""


@dataclass(frozen=True)
class ZonedTime:
    """Representative-period or index time: each row reads project time in its geography's
    time zone, through a lookup of (time_zone, dataset time columns) → project timestamps
    (time_lookup.py). The zone comes from the project's geography records when the dataset
    says ``use_project_geography_time_zone``, else from its own (joined on the mapped,
    project geography id, as dsgrid's add_time_zone joins)."""

    lookup: RepresentativeLookup | IndexLookup
    project_zones: bool
    description: str

    @property
    def key_columns(self) -> tuple[str, ...]:
        return self.lookup.key_columns


TimeMapping = DatetimeShift | AnnualSpread | NoTimeMapping | ZonedTime


def plan_time_mapping(
    dataset_time: AnyDimensionModel | None,
    project_time: AnyDimensionModel | None,
    dataset_time_columns: tuple[str, ...],
    dataset_id: str,
    entry: ProjectDatasetModel | None = None,
    use_project_zones: bool = False,
) -> TimeMapping:
    """How one dataset's time becomes the project's time. ``entry`` is the project's entry for
    the dataset (wrap_time_allowed, time_based_data_adjustment)."""
    what = f"Dataset '{dataset_id}'"
    if project_time is None or isinstance(project_time, NoOpTimeDimensionModel):
        return NoTimeMapping()
    if not isinstance(project_time, DateTimeDimensionModel):
        raise UnsupportedSqlError(
            f"Projects with {project_time.time_type} time are not supported yet "
            f"(dataset '{dataset_id}')."
        )
    project = instant_range(project_time, "The project time dimension")
    entry = entry or ProjectDatasetModel(dataset_id=dataset_id)
    if isinstance(dataset_time, RepresentativePeriodTimeDimensionModel | IndexTimeDimensionModel):
        return _zoned(dataset_time, project_time, project, entry, what, use_project_zones)
    if isinstance(dataset_time, AnnualTimeDimensionModel) or dataset_time_columns == (
        "time_year",
    ):
        column = (
            dataset_time.time_column
            if isinstance(dataset_time, AnnualTimeDimensionModel)
            else "time_year"
        )
        year = project.start.year
        leap = isinstance(dataset_time, AnnualTimeDimensionModel) and dataset_time.include_leap_day
        hours = 8784 if leap and calendar.isleap(year) else 8760
        periods = int(timedelta(hours=hours) / project.step)
        column = dataset_time_columns[0] if dataset_time_columns else dataset_time.time_column
        return AnnualSpread(column, periods, project)
    if isinstance(dataset_time, NoOpTimeDimensionModel):
        return NoTimeMapping()
    if not isinstance(dataset_time, DateTimeDimensionModel):
        kind = dataset_time.time_type if dataset_time is not None else "no"
        raise UnsupportedSqlError(f"{what} has {kind} time, which is not supported yet.")
    data = instant_range(dataset_time, f"{what}'s time dimension")
    if data.step != project.step:
        raise UnsupportedSqlError(
            f"{what} has time resolution {data.step} but the project has {project.step}; "
            "dsgrid does not map between resolutions."
        )
    shift = timedelta(0)
    if data.interval_type != project.interval_type:
        shift = -data.step if data.interval_type == "period_ending" else data.step
    return DatetimeShift(shift, project.length, project, _always_in_range(data, shift, project))


def _zoned(
    dataset_time: RepresentativePeriodTimeDimensionModel | IndexTimeDimensionModel,
    project_time: DateTimeDimensionModel,
    project: InstantRange,
    entry: ProjectDatasetModel,
    what: str,
    use_project_zones: bool,
) -> ZonedTime:
    adjustment = entry.time_based_data_adjustment
    dst = adjustment.daylight_saving_adjustment
    project_zone = project_time.time_zone or "UTC"
    dataset_interval = dataset_time.time_interval_type or "period_beginning"
    shift = interval_shift(project.interval_type, dataset_interval, project.step)
    if dataset_time.measurement_type != project_time.measurement_type:
        raise UnsupportedSqlError(
            f"{what} measures time as '{dataset_time.measurement_type}' and the project as "
            f"'{project_time.measurement_type}'; dsgrid maps only equal measurement types."
        )
    zones_from = "the project's geography records" if use_project_zones else "its geography"
    lookup: RepresentativeLookup | IndexLookup
    if isinstance(dataset_time, RepresentativePeriodTimeDimensionModel):
        if not dataset_time.time_columns:
            raise UnsupportedSqlError(
                f"{what} has representative-period format '{dataset_time.format}', which "
                "dsgrid does not define."
            )
        if [(r.start, r.end) for r in dataset_time.ranges] not in ([(1, 12)], []):
            raise UnsupportedSqlError(
                f"{what} has representative periods for months other than 1 to 12; dsgrid "
                "maps only a full year."
            )
        lookup = RepresentativeLookup(
            dataset_time.format or "",
            dataset_time.time_columns,
            project,
            project_zone,
            -shift,
            adjustment.leap_day_adjustment,
        )
        return ZonedTime(
            lookup,
            use_project_zones,
            f"representative periods ({dataset_time.format}, {dataset_interval}) read in "
            f"each row's local time zone from {zones_from}, daylight saving applied",
        )
    if len(dataset_time.ranges) != 1 or dataset_time.ranges[0].starting_timestamp is None:
        raise UnsupportedSqlError(
            f"{what} has index time with {len(dataset_time.ranges)} ranges; dsgrid maps "
            "exactly one range with a starting timestamp."
        )
    r = dataset_time.ranges[0]
    step = parse_frequency(r.frequency)
    if step != project.step:
        raise UnsupportedSqlError(
            f"{what} has time resolution {step} but the project has {project.step}; "
            "dsgrid does not map between resolutions."
        )
    if adjustment.leap_day_adjustment != "none" and _has_leap_day(project):
        raise UnsupportedSqlError(
            f"{what} asks for leap-day adjustment '{adjustment.leap_day_adjustment}' of index "
            "time in a leap year, which dsgrid (chronify 0.7) cannot map."
        )
    start = datetime.strptime(str(r.starting_timestamp), r.str_format or "%Y-%m-%d %H:%M:%S")
    lookup = IndexLookup(
        int(r.start),
        int(r.end) - int(r.start) + 1,
        start.replace(tzinfo=None),
        step,
        project,
        shift,
        bool(shift) or entry.wrap_time_allowed,
        dst.spring_forward_hour,
        dst.fall_back_hour,
        entry.dataset_id,
    )
    adjusted = (
        "without daylight-saving adjustment"
        if dst.spring_forward_hour == "none"
        else f"spring-forward hour {dst.spring_forward_hour}, fall-back hour {dst.fall_back_hour}"
    )
    return ZonedTime(
        lookup,
        use_project_zones,
        f"index time from {r.starting_timestamp} ({dataset_interval}, {adjusted}) read in "
        f"each row's local time zone from {zones_from}",
    )


def _has_leap_day(project: InstantRange) -> bool:
    return any(calendar.isleap(year) for year in range(project.start.year, project.end.year + 1))


def _always_in_range(data: InstantRange, shift: timedelta, project: InstantRange) -> bool:
    """Whether every configured dataset instant, shifted (and, with a shift, wrapped once by
    the project length), is a project instant."""
    first, last = data.start + shift, data.end + shift
    if (first - project.start) % project.step:
        return False
    if not shift:  # no wrap: the instants must already lie in the project range
        return project.start <= first and last <= project.end
    # One wrap by the length moves [start - length, end + length] onto [start, end].
    return project.start - project.length <= first and last <= project.end + project.length
