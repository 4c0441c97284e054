"""When the plan may leave out the time-range filter: only when every configured dataset
instant provably lands on a project instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dsgrid_sql.rewrite.time_mapping import InstantRange, _always_in_range

HOUR = timedelta(hours=1)
START = datetime(2018, 1, 1, 5, tzinfo=UTC)


def _range(start: datetime, hours: int, kind: str = "period_beginning") -> InstantRange:
    return InstantRange(start, start + (hours - 1) * HOUR, HOUR, kind)


PROJECT = _range(START, 168)


@pytest.mark.parametrize(
    ("data", "shift", "expected"),
    [
        (_range(START, 168), timedelta(0), True),  # same range, no shift
        (_range(START, 100), timedelta(0), True),  # a sub-range
        (_range(START - HOUR, 168), timedelta(0), False),  # one hour early, no wrap
        (_range(START + HOUR, 168, "period_ending"), -HOUR, True),  # ending → beginning
        (_range(START, 168, "period_ending"), -HOUR, True),  # wraps the first hour
        (_range(START, 400, "period_ending"), -HOUR, False),  # longer than one wrap covers
        (_range(START + timedelta(minutes=30), 168), timedelta(0), False),  # off the grid
    ],
)
def test_always_in_range(data: InstantRange, shift: timedelta, expected: bool) -> None:
    assert _always_in_range(data, shift, PROJECT) is expected


def test_wrap_lands_in_range() -> None:
    """The claim behind leaving the filter out, checked instant by instant."""
    data = _range(START, 168, "period_ending")
    wrap = PROJECT.length
    for i in range(data.count):
        x = data.start + i * HOUR - HOUR
        if x > PROJECT.end:
            x -= wrap
        elif x < PROJECT.start:
            x += wrap
        assert PROJECT.start <= x <= PROJECT.end
