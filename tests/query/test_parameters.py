"""`?` parameters bind in the order they appear in the text, wherever they stand (a CTE, the
select list, BETWEEN, LIMIT), the same as numbered `$n` parameters: a wrong order binds a
value to another column, which is an error at best and a silently wrong answer at worst."""

from __future__ import annotations

import re

import pytest

from dsgrid_sql.session import Session

QUERIES = [
    # (SQL with ?, values in text order)
    (
        "SELECT us_states, SUM(value) AS v FROM data WHERE us_states = ? AND metric = ? "
        "AND model_year = ? GROUP BY ALL",
        ["CA", "fans", "2030"],
    ),
    (
        "SELECT COUNT(DISTINCT timestamp) AS hours FROM data "
        "WHERE timestamp >= ? AND timestamp < ? AND timestamp <> ?",
        ["2012-01-02 05:00:00+00", "2012-01-03 05:00:00+00", "2012-01-02 12:00:00+00"],
    ),
    (
        "WITH s AS (SELECT us_states, SUM(value) AS v FROM data WHERE metric = ? GROUP BY ALL) "
        "SELECT us_states, v, ? AS label FROM s WHERE v BETWEEN ? AND ? "
        "ORDER BY us_states LIMIT ?",
        ["cooling", "tag", 0, 1e12, 3],
    ),
]


def _numbered(sql: str) -> str:
    counter = iter(range(1, 100))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


@pytest.mark.parametrize(("sql", "values"), QUERIES)
def test_question_marks_bind_in_text_order(
    efs_duckdb: Session, sql: str, values: list, same_answer
) -> None:  # type: ignore[no-untyped-def]
    by_position = efs_duckdb.sql(sql, values).to_arrow()
    by_number = efs_duckdb.sql(_numbered(sql), values).to_arrow()
    assert by_position.num_rows > 0
    same_answer(by_position, by_number)  # two runs of one query


def test_the_time_window_counts_its_hours(efs_duckdb: Session) -> None:
    sql, values = QUERIES[1]
    (row,) = efs_duckdb.sql(sql, values).to_arrow().to_pylist()
    assert row["hours"] == 23  # one day of hours, minus the one excluded
