"""The time lookups of representative-period and index time, against what dsgrid 0.4 itself
read at each project hour (observed by running dsgrid's project query on registries it built,
values encoding the period or index read; project hourly 2018, EST, period-beginning)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dsgrid_sql.errors import UnsupportedSqlError
from dsgrid_sql.rewrite.time_lookup import (
    IndexLookup,
    RepresentativeLookup,
    interval_shift,
    project_instants,
)
from dsgrid_sql.rewrite.time_mapping import InstantRange

EST = timedelta(hours=5)
NY, PHX, CHI = "America/New_York", "America/Phoenix", "America/Chicago"
HOUR = timedelta(hours=1)


def project(year: int = 2018, interval: str = "period_beginning") -> InstantRange:
    start = datetime(year, 1, 1, tzinfo=UTC) + EST
    hours = 8784 if year % 4 == 0 else 8760
    return InstantRange(start, start + (hours - 1) * HOUR, HOUR, interval)


def est(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC) + EST


def read(table, zone: str, instant: datetime, keys: tuple[str, ...]) -> list[tuple]:  # type: ignore[no-untyped-def]
    rows = [r for r in table.to_pylist() if r["time_zone"] == zone and r["instant"] == instant]
    return sorted((*(r[k] for k in keys), r["factor"]) for r in rows)


WEEK = ("month", "day_of_week", "hour")
WEEKDAY = ("month", "is_weekday", "hour")


@pytest.mark.parametrize(
    ("when", "ny", "phx", "chi"),
    [
        ("2018-01-01 00:00", (1, 0, 0), (12, 6, 22), (12, 6, 23)),
        ("2018-03-11 01:00", (3, 6, 1), (3, 5, 23), (3, 6, 0)),
        ("2018-03-11 02:00", (3, 6, 3), (3, 6, 0), (3, 6, 1)),
        ("2018-03-11 03:00", (3, 6, 4), (3, 6, 1), (3, 6, 3)),
        ("2018-07-02 13:00", (7, 0, 14), (7, 0, 11), (7, 0, 13)),
        ("2018-11-04 00:00", (11, 6, 1), (11, 5, 22), (11, 6, 0)),
        ("2018-11-04 01:00", (11, 6, 1), (11, 5, 23), (11, 6, 1)),
        ("2018-11-04 02:00", (11, 6, 2), (11, 6, 0), (11, 6, 1)),
        ("2018-12-31 23:00", (12, 0, 23), (12, 0, 21), (12, 0, 22)),
    ],
)
def test_representative_week_reads_prevailing_local_time(when, ny, phx, chi) -> None:  # type: ignore[no-untyped-def]
    lookup = RepresentativeLookup(
        "one_week_per_month_by_hour", WEEK, project(), "Etc/GMT+5", timedelta(0), "none"
    )
    table = lookup.table((CHI, NY, PHX))
    for zone, expected in ((NY, ny), (PHX, phx), (CHI, chi)):
        assert read(table, zone, est(when), WEEK) == [(*expected, 1.0)], zone


@pytest.mark.parametrize(
    ("when", "ny", "phx", "chi"),
    [
        ("2018-01-01 00:00", (1, True, 1), (12, False, 23), (1, True, 0)),
        ("2018-03-11 01:00", (3, False, 3), (3, False, 0), (3, False, 1)),
        ("2018-07-02 13:00", (7, True, 15), (7, True, 12), (7, True, 14)),
        ("2018-11-04 01:00", (11, False, 2), (11, False, 0), (11, False, 1)),
        ("2018-12-31 23:00", (1, True, 0), (12, True, 22), (12, True, 23)),
    ],
)
def test_representative_weekday_period_ending_reads_one_hour_later(when, ny, phx, chi) -> None:  # type: ignore[no-untyped-def]
    shift = interval_shift("period_beginning", "period_ending", HOUR)
    lookup = RepresentativeLookup(
        "one_weekday_day_and_one_weekend_day_per_month_by_hour",
        WEEKDAY,
        project(),
        "Etc/GMT+5",
        -shift,
        "none",
    )
    table = lookup.table((CHI, NY, PHX))
    for zone, expected in ((NY, ny), (PHX, phx), (CHI, chi)):
        assert read(table, zone, est(when), WEEKDAY) == [(*expected, 1.0)], zone


def test_every_zone_reads_every_project_hour_once() -> None:
    lookup = RepresentativeLookup(
        "one_week_per_month_by_hour", WEEK, project(), "Etc/GMT+5", timedelta(0), "none"
    )
    table = lookup.table((NY, PHX))
    assert table.num_rows == 2 * 8760
    # The spring-forward hour of New York is never read, the fall-back hour twice.
    ny = [r for r in table.to_pylist() if r["time_zone"] == NY]
    march = [r for r in ny if (r["month"], r["day_of_week"], r["hour"]) == (3, 6, 2)]
    november = [r for r in ny if (r["month"], r["day_of_week"], r["hour"]) == (11, 6, 1)]
    assert len(march) == 3  # three other Sundays of March at 02:00
    assert len(november) == 5  # four Sundays of November, the 4th read twice


def test_leap_day_adjustment_drops_the_day_in_leap_years_only() -> None:
    for year, rows in ((2020, 8760), (2018, 8760)):
        instants = project_instants(project(year), "Etc/GMT+5", "drop_feb29")
        assert len(instants) == rows
    instants = project_instants(project(2020), "Etc/GMT+5", "drop_feb29")
    assert est("2020-02-29 00:00") not in instants
    assert est("2020-03-01 00:00") in instants


def index_lookup(
    spring: str = "none",
    fall: str = "none",
    interval: str = "period_beginning",
    first: str = "2018-01-01 00:00",
) -> IndexLookup:
    shift = interval_shift("period_beginning", interval, HOUR)
    return IndexLookup(
        0,
        8760,
        datetime.strptime(first, "%Y-%m-%d %H:%M"),
        HOUR,
        project(),
        shift,
        True,
        spring,
        fall,
        "ds",
    )


INDEX = ("time_index",)


@pytest.mark.parametrize(
    ("when", "plain", "clock"),
    [
        # (New York, Phoenix, Chicago) without adjustment, then with drop/duplicate.
        ("2018-01-01 00:00", (0, 8758, 8759), (0, 8758, 8759)),
        ("2018-03-11 01:00", (1657, 1655, 1656), (1657, 1655, 1656)),
        ("2018-03-11 02:00", (1658, 1656, 1657), (1659, 1656, 1657)),
        ("2018-03-11 03:00", (1659, 1657, 1658), (1660, 1657, 1659)),
        ("2018-07-02 13:00", (4381, 4379, 4380), (4382, 4379, 4381)),
        ("2018-11-04 00:00", (7368, 7366, 7367), (7369, 7366, 7368)),
        ("2018-11-04 01:00", (7369, 7367, 7368), (7369, 7367, 7369)),
        ("2018-11-04 02:00", (7370, 7368, 7369), (7370, 7368, 7369)),
        ("2018-12-31 23:00", (8759, 8757, 8758), (8759, 8757, 8758)),
    ],
)
def test_index_time_with_and_without_dst_adjustment(when, plain, clock) -> None:  # type: ignore[no-untyped-def]
    zones = (CHI, NY, PHX)
    plain_table = index_lookup().table(zones)
    clock_table = index_lookup("drop", "duplicate").table(zones)
    for zone, p, c in zip((NY, PHX, CHI), plain, clock, strict=True):
        assert read(plain_table, zone, est(when), INDEX) == [(p, 1.0)], zone
        assert read(clock_table, zone, est(when), INDEX) == [(c, 1.0)], zone


def test_index_time_interpolates_the_repeated_fall_back_hour() -> None:
    table = index_lookup("drop", "interpolate").table((NY,))
    # 01:00 EST is New York's second 01:00: the mean of the 01:00 and 02:00 indexes.
    assert read(table, NY, est("2018-11-04 01:00"), INDEX) == [(7369, 0.5), (7370, 0.5)]
    assert read(table, NY, est("2018-11-04 00:00"), INDEX) == [(7369, 1.0)]


def test_period_ending_index_time_shifts_and_wraps() -> None:
    table = index_lookup(interval="period_ending").table((NY, PHX))
    assert read(table, NY, est("2018-01-01 00:00"), INDEX) == [(1, 1.0)]
    assert read(table, NY, est("2018-07-02 13:00"), INDEX) == [(4382, 1.0)]
    assert read(table, NY, est("2018-12-31 23:00"), INDEX) == [(0, 1.0)]
    assert read(table, PHX, est("2018-01-01 00:00"), INDEX) == [(8759, 1.0)]
    clock = index_lookup("drop", "duplicate", "period_ending").table((NY,))
    assert read(clock, NY, est("2018-03-11 01:00"), INDEX) == [(1659, 1.0)]
    assert read(clock, NY, est("2018-07-02 13:00"), INDEX) == [(4383, 1.0)]


def test_index_time_across_zones_needs_wrapping() -> None:
    lookup = index_lookup()
    unwrapped = IndexLookup(**{**lookup.__dict__, "wrap": False})
    assert unwrapped.table((NY,)).num_rows == 8760
    with pytest.raises(UnsupportedSqlError, match="wrap_time_allowed"):
        unwrapped.table((NY, PHX))


def test_a_fixed_zone_reads_standard_time_all_year() -> None:
    """A geography record may name a fixed-offset zone: no daylight saving is applied."""
    lookup = RepresentativeLookup(
        "one_week_per_month_by_hour", WEEK, project(), "Etc/GMT+5", timedelta(0), "none"
    )
    table = lookup.table(("Etc/GMT+7",))
    assert read(table, "Etc/GMT+7", est("2018-07-02 13:00"), WEEK) == [(7, 0, 11, 1.0)]
    assert read(table, "Etc/GMT+7", est("2018-01-02 13:00"), WEEK) == [(1, 1, 11, 1.0)]
