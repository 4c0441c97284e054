"""Dataset time read per geography time zone: representative periods and index time.

dsgrid 0.4 maps both through chronify (dsgrid-format.md §4.3): the dataset's rows carry the
time zone of their geography record, and for every project timestamp and every zone chronify
computes which stored period (``month, day_of_week | is_weekday, hour``) or which ``time_index``
holds that instant there. This module computes the same correspondence in Python, one small
table per dataset — ``(time_zone, <dataset time columns>, <project time column>, factor)``,
about one row per project timestamp and zone — which the plan joins with the data. Nothing
here depends on the data's size: the expansion to project hours is the engine's join with
this table, once per row, never a table per geography.

The rules (chronify 0.7's ``MapperRepresentativeTimeToDatetime`` and
``MapperIndexTimeToDatetime``, as dsgrid 0.4 calls them):

* representative periods: the project timestamp, shifted by one project period where the
  interval types differ (period-ending data read at ``t + step`` by a period-beginning
  project), is read as the *prevailing* wall clock of the zone (daylight saving applied; the
  neighbouring year's dates as they fall); values are copied. The spring-forward hour is
  never read, the fall-back hour twice.
* index time: index ``start + k`` is the instant ``s0 + k × step``, ``s0`` the starting
  timestamp as wall clock of the zone. With the spring-forward-drop adjustments the instant
  instead reads the index of its wall clock (the skipped hour's index is never read; the
  repeated hour's index twice, or, interpolating, the second one a weighted mean of its
  neighbours). Then the usual shift by one period where interval types differ, and the wrap
  into the project range by its length when interval types differ or wrapping is allowed.
"""

from __future__ import annotations

import calendar
import functools
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pyarrow as pa

from dsgrid_sql.catalog import arrays
from dsgrid_sql.errors import UnsupportedSqlError

if TYPE_CHECKING:  # time_mapping plans with these lookups
    from .time_mapping import InstantRange

FACTOR = "factor"
ZONE = "time_zone"
TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")
_LEAP_DAYS = {"drop_feb29": (2, 29), "drop_dec31": (12, 31), "drop_jan1": (1, 1)}


def project_instants(project: InstantRange, zone: str, leap_day_adjustment: str) -> list[datetime]:
    """The project's timestamps, without the day a leap-day adjustment drops in leap years
    (the day as the project's own zone dates it; chronify's list_timestamps)."""
    instants = [project.start + i * project.step for i in range(project.count)]
    dropped = _LEAP_DAYS.get(leap_day_adjustment)
    if dropped is None:
        return instants
    local = ZoneInfo(zone)
    kept = []
    for instant in instants:
        day = instant.astimezone(local)
        if not (calendar.isleap(day.year) and (day.month, day.day) == dropped):
            kept.append(instant)
    return kept


def interval_shift(project_interval: str, dataset_interval: str, step: timedelta) -> timedelta:
    """What to add to a dataset instant to land on project time: a period-ending dataset
    labels by the end what a period-beginning project labels by the start (−step), and the
    reverse (+step)."""
    intervals = {project_interval, dataset_interval}
    if intervals <= {"period_beginning", "period_ending"}:
        if project_interval == dataset_interval:
            return timedelta(0)
        return -step if dataset_interval == "period_ending" else step
    if project_interval != dataset_interval:
        raise UnsupportedSqlError(
            f"Dataset time is {dataset_interval} and project time {project_interval}; "
            "dsgrid maps instantaneous time only onto instantaneous time."
        )
    return timedelta(0)


# -- representative periods ----------------------------------------------------------------


@dataclass(frozen=True)
class RepresentativeLookup:
    """Representative-period data read per geography time zone (see the module docstring)."""

    format: str
    key_columns: tuple[str, ...]
    project: InstantRange
    project_zone: str
    # Project timestamp → the instant whose wall clock is read (one period later for
    # period-ending data on a period-beginning project, one earlier for the reverse).
    read_shift: timedelta
    leap_day_adjustment: str

    # Each project timestamp reads one stored period: nothing to add up.
    interpolates = False

    def table(self, zones: tuple[str, ...]) -> pa.Table:
        return _lookup_table(self.key_columns, _representative_rows(self, zones))


@functools.lru_cache(maxsize=64)
def _representative_rows(
    lookup: RepresentativeLookup, zones: tuple[str, ...]
) -> list[tuple[str, tuple[object, ...], datetime, float]]:
    weekday = lookup.format == "one_weekday_day_and_one_weekend_day_per_month_by_hour"
    instants = project_instants(lookup.project, lookup.project_zone, lookup.leap_day_adjustment)
    rows = []
    for zone in zones:
        local_zone = ZoneInfo(zone)
        for instant in instants:
            wall = (instant + lookup.read_shift).astimezone(local_zone)
            day: object = wall.weekday() < 5 if weekday else wall.weekday()
            rows.append((zone, (wall.month, day, wall.hour), instant, 1.0))
    return rows


# -- index time ------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexLookup:
    """Index-time data read per geography time zone (see the module docstring)."""

    start: int
    length: int
    starting_timestamp: datetime  # naive: the wall clock of index `start` in every zone
    step: timedelta
    project: InstantRange
    shift: timedelta  # added to dataset instants to land on project time
    wrap: bool  # roll instants outside the project range back in by its length
    spring_forward_hour: str  # drop | none
    fall_back_hour: str  # duplicate | interpolate | none
    dataset_id: str

    key_columns: tuple[str, ...] = ("time_index",)

    def table(self, zones: tuple[str, ...]) -> pa.Table:
        return _lookup_table(self.key_columns, _index_rows(self, zones))

    @property
    def interpolates(self) -> bool:
        """The repeated fall-back hour reads two stored periods, weighted."""
        return self.fall_back_hour == "interpolate"


@functools.lru_cache(maxsize=64)
def _index_rows(
    lookup: IndexLookup, zones: tuple[str, ...]
) -> list[tuple[str, tuple[object, ...], datetime, float]]:
    # (zone, index, dataset instant, factor) before the shift onto project time.
    stamped: list[tuple[str, int, datetime, float]] = []
    for zone in zones:
        if lookup.spring_forward_hour == "none":
            stamped += _plain_index(lookup, zone)
        else:
            stamped += _clock_index(lookup, zone)
    instants = {instant for _, _, instant, _ in stamped}
    project = lookup.project
    if not lookup.wrap and len(instants) != project.count:
        raise UnsupportedSqlError(
            f"Dataset '{lookup.dataset_id}' has index time covering {len(instants)} distinct "
            f"instants over its geographies' time zones, but the project has {project.count} "
            "timestamps; dsgrid maps it only when the project allows wrapping time for it "
            "(wrap_time_allowed)."
        )
    length = project.length
    rows = []
    for zone, index, instant, factor in stamped:
        target = instant + lookup.shift
        if lookup.wrap:
            if target < project.start:
                target += length
            elif target > project.end:
                target -= length
        rows.append((zone, (index,), target, factor))
    if lookup.wrap and len({row[2] for row in rows}) != project.count:
        raise UnsupportedSqlError(
            f"Dataset '{lookup.dataset_id}''s index time does not land on the project's "
            f"{project.count} timestamps after wrapping; dsgrid refuses it too."
        )
    return rows


def _plain_index(lookup: IndexLookup, zone: str) -> list[tuple[str, int, datetime, float]]:
    """Index start + k is the instant s0 + k × step: elapsed time, whatever the clock says."""
    first = _localized(lookup.starting_timestamp, zone)
    return [(zone, lookup.start + k, first + k * lookup.step, 1.0) for k in range(lookup.length)]


def _clock_index(lookup: IndexLookup, zone: str) -> list[tuple[str, int, datetime, float]]:
    """Each instant reads the index of its wall clock (the spring-forward-drop adjustments)."""
    local = ZoneInfo(zone)
    first = _localized(lookup.starting_timestamp, zone)
    instants = [first + k * lookup.step for k in range(lookup.length)]
    walls = [i.astimezone(local).replace(tzinfo=None) for i in instants]

    def index_of(wall: datetime) -> int | None:
        offset = wall - lookup.starting_timestamp
        if offset % lookup.step:
            return None
        k = offset // lookup.step
        return lookup.start + k if 0 <= k < lookup.length else None

    rows: list[tuple[str, int, datetime, float]] = []
    if lookup.fall_back_hour != "interpolate":
        for instant, wall in zip(instants, walls, strict=True):
            index = index_of(wall)
            if index is not None:
                rows.append((zone, index, instant, 1.0))
        return rows
    # Interpolation (chronify's _create_fallback_interpolation_map): an instant whose wall
    # clock repeats an earlier one reads the wall clocks around the repeated span instead —
    # the last one before it (ffill) and the first one after it (bfill), each within an
    # hour's worth of periods, weighted by how far into the span it lies.
    limit = timedelta(hours=1) // lookup.step
    seen: set[datetime] = set()
    clock: list[datetime | None] = []
    for wall in walls:
        clock.append(None if wall in seen else wall)
        seen.add(wall)
    n = len(clock)
    for k, instant in enumerate(instants):
        if clock[k] is not None:
            index = index_of(clock[k])  # type: ignore[arg-type]
            if index is not None:
                rows.append((zone, index, instant, 1.0))
            continue
        lower = next(
            (clock[j] for j in range(k - 1, max(-1, k - 1 - limit), -1) if clock[j] is not None),
            None,
        )
        upper = next(
            (clock[j] for j in range(k + 1, min(n, k + 1 + limit)) if clock[j] is not None),
            None,
        )
        # Position in the run of repeated clocks that reaches `upper` (1-based).
        run = 1
        while k - run >= 0 and clock[k - run] is None:
            run += 1
        upper_factor = run / (limit + 1) if upper is not None else None
        if lower is None or upper is None:
            weights = [(lower, 1.0)] if upper is None else [(upper, 1.0)]
        else:
            weights = [(lower, 1.0 - upper_factor), (upper, upper_factor)]  # type: ignore[operator]
        for wall, factor in weights:
            if wall is None:
                continue
            index = index_of(wall)
            if index is not None:
                rows.append((zone, index, instant, factor))
    return rows


def _localized(wall: datetime, zone: str) -> datetime:
    """A wall clock read in a zone (the earlier instant when the clock repeats)."""
    return wall.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


# -- tables ----------------------------------------------------------------------------------


def _lookup_table(
    key_columns: tuple[str, ...], rows: list[tuple[str, tuple[object, ...], datetime, float]]
) -> pa.Table:
    """(time_zone, keys…, instant, factor) as Arrow; the time column is named by the plan."""
    columns: dict[str, pa.Array] = {ZONE: arrays.array([r[0] for r in rows], pa.string())}
    for position, name in enumerate(key_columns):
        values = [r[1][position] for r in rows]
        kind = pa.bool_() if name == "is_weekday" else pa.int64()
        columns[name] = arrays.array(values, kind)
    columns["instant"] = arrays.array([r[2] for r in rows], TIMESTAMP_TYPE)
    columns[FACTOR] = arrays.array([r[3] for r in rows], pa.float64())
    return pa.table(columns)


def summed(table: pa.Table, key_columns: tuple[str, ...]) -> pa.Table:
    """Per (zone, keys): the sum of factors over project timestamps — how many times a stored
    value counts in a sum over all of project time."""
    counts: Counter[tuple[object, ...]] = Counter()
    zone_values = table.column(ZONE).to_pylist()
    keys = [table.column(k).to_pylist() for k in key_columns]
    factors = table.column(FACTOR).to_pylist()
    for i, zone in enumerate(zone_values):
        counts[(zone, *(k[i] for k in keys))] += factors[i]
    columns: dict[str, pa.Array] = {ZONE: arrays.array([k[0] for k in counts], pa.string())}
    for position, name in enumerate(key_columns):
        kind = table.schema.field(name).type
        columns[name] = arrays.array([k[position + 1] for k in counts], kind)
    columns[FACTOR] = arrays.array(list(counts.values()), pa.float64())
    return pa.table(columns)
