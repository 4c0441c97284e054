"""A filter on project time read as the stored instants each dataset can pass it with
(rewrite/time_window.py): the same answers as without it on both engines, the wrap of a
period-ending dataset included, and the windows themselves checked against the mapping
instant by instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlglot
from sqlglot import exp

from dsgrid_sql.rewrite.time_mapping import DatetimeShift, InstantRange
from dsgrid_sql.rewrite.time_window import HIGH, LOW, TimeWindow, instant, window_of
from dsgrid_sql.session import Session

from .conftest import assert_same_rows, sorted_rows

HOUR_US = 3_600_000_000
START = datetime(2018, 1, 1, 5, tzinfo=UTC)  # the small registry's project range
PROJECT = InstantRange(START, START + timedelta(hours=47), timedelta(hours=1), "period_beginning")


def _us(text: str) -> int:
    return (
        datetime.fromisoformat(text).replace(tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    ) // timedelta(microseconds=1)


def _mapped(stored_us: int, mapping: DatetimeShift) -> int | None:
    """dataset_plan's mapping of one stored instant, written out again: shift, wrap once,
    then kept only within the project's range."""
    start, end = _us("2018-01-01 05:00"), _us("2018-01-03 04:00")
    shift, wrap = (
        mapping.shift // timedelta(microseconds=1),
        mapping.wrap // timedelta(microseconds=1),
    )
    m = stored_us + shift
    if shift:
        m = m - wrap if m > end else m + wrap if m < start else m
    return m if start <= m <= end else None


@pytest.mark.parametrize("shift_hours", [0, -1, 1])
@pytest.mark.parametrize(
    "window",
    [
        TimeWindow(((_us("2018-01-02 00:00"), _us("2018-01-02 23:00")),)),
        TimeWindow(((_us("2018-01-01 05:00"), _us("2018-01-01 05:00")),)),  # the first hour
        TimeWindow(((_us("2018-01-03 04:00"), _us("2018-01-03 04:00")),)),  # the last
        TimeWindow(((LOW, _us("2018-01-01 07:00")), (_us("2018-01-03 02:00"), HIGH))),
        TimeWindow(((_us("2018-07-01 00:00"), HIGH),)),  # after the project's range
    ],
)
def test_the_stored_window_is_exactly_what_the_mapping_puts_in_the_window(
    shift_hours: int, window: TimeWindow
) -> None:
    mapping = DatetimeShift(timedelta(hours=shift_hours), PROJECT.length, PROJECT)
    spans = window.stored(mapping)
    assert spans is not None
    # Every hour from four project lengths before to four after: in a stored span exactly
    # when its mapped time is in the window.
    first = _us("2018-01-01 05:00") - 4 * 48 * HOUR_US
    for k in range(9 * 48):
        s = first + k * HOUR_US
        mapped = _mapped(s, mapping)
        wanted = mapped is not None and any(lo <= mapped <= hi for lo, hi in window.spans)
        assert any(lo <= s <= hi for lo, hi in spans) == wanted, (s, mapped)


@pytest.mark.parametrize(
    ("where", "spans"),
    [
        ("timestamp BETWEEN '2018-01-02' AND '2018-01-02 03:00:00'",
         [(_us("2018-01-02 00:00"), _us("2018-01-02 03:00"))]),
        ("timestamp = TIMESTAMP '2018-01-02 01:00'", [(_us("2018-01-02 01:00"),) * 2]),
        ("'2018-01-02 01:00:00+00' < timestamp", [(_us("2018-01-02 01:00") + 1, HIGH)]),
        ("timestamp <= CAST('2018-01-02 01:00:00-01:00' AS TIMESTAMPTZ)",
         [(LOW, _us("2018-01-02 02:00"))]),
        ("timestamp IN ('2018-01-02 01:00', '2018-01-01 08:00')",
         [(_us("2018-01-01 08:00"),) * 2, (_us("2018-01-02 01:00"),) * 2]),
        ("timestamp BETWEEN '2018-01-03' AND '2018-01-02'", []),
    ],
)  # fmt: skip
def test_comparisons_with_instants_are_windows(where: str, spans: list[tuple[int, int]]) -> None:
    predicate = (
        sqlglot.parse_one(f"SELECT 1 FROM t WHERE {where}", read="duckdb").args["where"].this
    )
    column = predicate.find(exp.Column)
    window = window_of(predicate, column)
    assert window is not None and list(window.spans) == spans


@pytest.mark.parametrize(
    "where",
    [
        "timestamp <> '2018-01-02'",
        "timestamp NOT IN ('2018-01-02')",
        "timestamp >= CAST('2018-01-02 17:30' AS DATE)",  # a date, not the instant written
        "timestamp >= 'yesterday'",
        "timestamp > value",
        "timestamp BETWEEN SYMMETRIC '2018-01-03' AND '2018-01-02'",
        # An offset cast to a wall clock: Spark's TIMESTAMP_NTZ drops it, DuckDB applies it.
        "timestamp = CAST('2018-01-02 05:00:00+02:00' AS TIMESTAMP)",
    ],
)
def test_other_predicates_are_no_window(where: str) -> None:
    predicate = (
        sqlglot.parse_one(f"SELECT 1 FROM t WHERE {where}", read="duckdb").args["where"].this
    )
    column = next(c for c in predicate.find_all(exp.Column) if c.name == "timestamp")
    assert window_of(predicate, column) is None
    assert instant(exp.Literal.string("2018-01-02 01:00:00+01")) == _us("2018-01-02 00:00")


QUERIES = [
    "SELECT us_states, timestamp, SUM(value) AS v FROM data "
    "WHERE timestamp BETWEEN '2018-01-02 00:00:00' AND '2018-01-02 23:00:00' GROUP BY ALL",
    # The first and last project hours: the period-ending dataset's come from the wrap.
    "SELECT dataset_id, timestamp, SUM(value) AS v, COUNT(*) AS n FROM data "
    "WHERE timestamp IN ('2018-01-01 05:00:00', '2018-01-03 04:00:00') GROUP BY ALL",
    "SELECT dataset_id, metric, SUM(value) AS v FROM data "
    "WHERE timestamp >= '2018-01-02 20:00:00+00' AND timestamp < '2018-01-03 02:00' GROUP BY ALL",
    "SELECT geography, timestamp, value FROM dsgrid_demo_commercial "
    "WHERE timestamp <= '2018-01-01 07:00:00' AND subsector = 'retail'",
    "SELECT COUNT(*) AS n, SUM(value) AS v FROM data WHERE timestamp > '2018-07-01'",
]


@pytest.mark.parametrize("text", QUERIES)
def test_the_answers_are_those_without_the_window(demo: Session, text: str) -> None:
    got = sorted_rows(demo.sql(text).to_arrow())
    demo.sql("SET pushdown = off")
    try:
        expected = sorted_rows(demo.sql(text).to_arrow())
    finally:
        demo.sql("SET pushdown = on")
    assert got
    assert_same_rows(got, expected)


def test_explain_shows_the_stored_instants_read(demo: Session) -> None:
    text = demo.explain("SELECT SUM(value) AS v FROM data WHERE timestamp = '2018-01-01 05:00:00'")
    pushed = [line.strip() for line in text.splitlines() if "stored time" in line]
    # Residential is period-beginning like the project; commercial is period-ending: its
    # instant for the first project hour is 06:00 (and, wrapped, two project lengths back).
    assert "pushed filter: stored time within 2018-01-01 05:00:00 (" in pushed[1]
    assert pushed[0].startswith("pushed filter: stored time within 2017-12-30 06:00:00, ")
    assert "2018-01-01 06:00:00" in pushed[0]
    outside = demo.explain("SELECT SUM(value) AS v FROM data WHERE timestamp > '2018-07-01'")
    assert "no timestamp passes the filters" in outside
