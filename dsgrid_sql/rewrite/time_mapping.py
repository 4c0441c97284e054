"""Project and dataset time as instants: ranges, frequencies, and how dataset time maps onto
project time (dsgrid-format.md §4.3).

Everything here is computed in Python from the time configs; the SQL only applies the
result (a shift, a wrap, a range filter, or a cross join with the project's timestamps).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import pyarrow as pa

from dsgrid_sql.catalog.models import (
    AnnualTimeDimensionModel,
    AnyDimensionModel,
    DateTimeDimensionModel,
    NoOpTimeDimensionModel,
)
from dsgrid_sql.errors import UnsupportedSqlError

_DURATION = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)


def parse_frequency(value: str | int | None) -> timedelta:
    """An ISO-8601 duration of days, hours, minutes, seconds ('PT1H', 'P1D', 'PT15M')."""
    if value is None:
        return timedelta(hours=1)
    match = _DURATION.match(str(value))
    if match is None or not any(match.groupdict().values()):
        raise UnsupportedSqlError(f"The time frequency '{value}' is not supported.")
    parts = {k: int(v or 0) for k, v in match.groupdict().items()}
    return timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"])


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
        return pa.array(values, type=pa.timestamp("us", tz="UTC"))


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
    zone = _standard_zone(fmt.time_zone)
    r = model.ranges[0]
    str_format = r.str_format or "%Y-%m-%d %H:%M:%S"
    start = datetime.strptime(str(r.start), str_format).replace(tzinfo=zone).astimezone(UTC)
    end = datetime.strptime(str(r.end), str_format).replace(tzinfo=zone).astimezone(UTC)
    return InstantRange(
        start, end, parse_frequency(r.frequency), model.time_interval_type or "period_beginning"
    )


def _standard_zone(name: str) -> tzinfo:
    """dsgrid localizes range strings in the zone's standard time (no daylight saving)."""
    january = datetime(2001, 1, 1, tzinfo=ZoneInfo(name))
    offset = january.utcoffset() or timedelta(0)
    dst = january.dst() or timedelta(0)
    return timezone(offset - dst)


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


TimeMapping = DatetimeShift | AnnualSpread | NoTimeMapping


def plan_time_mapping(
    dataset_time: AnyDimensionModel | None,
    project_time: AnyDimensionModel | None,
    dataset_time_columns: tuple[str, ...],
    dataset_id: str,
) -> TimeMapping:
    """How one dataset's time becomes the project's time."""
    what = f"Dataset '{dataset_id}'"
    if project_time is None or isinstance(project_time, NoOpTimeDimensionModel):
        return NoTimeMapping()
    if not isinstance(project_time, DateTimeDimensionModel):
        raise UnsupportedSqlError(
            f"Projects with {project_time.time_type} time are not supported yet "
            f"(dataset '{dataset_id}')."
        )
    project = instant_range(project_time, "The project time dimension")
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
