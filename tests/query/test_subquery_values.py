"""``col IN (SELECT …)`` on a record column: the subquery is read first and its values pushed
down as a literal list (rewrite/subquery_values.py). The rows are those of the query as
written (``SET pushdown = off``) on both engines, NULLs and empty answers included."""

from __future__ import annotations

import time

import pytest
from sqlglot import exp

from dsgrid_sql.errors import QueryTimeoutError
from dsgrid_sql.rewrite import subquery_values
from dsgrid_sql.rewrite.deadline import time_limit
from dsgrid_sql.rewrite.table_plan import stored_rows
from dsgrid_sql.session import Session

from .conftest import assert_same_rows, sorted_rows

D = "dsgrid_demo.data"
DIMS = "dsgrid_demo_dimensions"
TOP3 = f"SELECT us_states FROM {D} GROUP BY us_states ORDER BY SUM(value) DESC LIMIT 3"
READ_FIRST = [
    # The three largest states' hours.
    f"SELECT us_states, timestamp, SUM(value) AS v FROM {D} WHERE us_states IN ({TOP3}) "
    "GROUP BY ALL",
    # NOT IN, beside another filter, inside a subquery of the outer query.
    f"SELECT metric, SUM(v) AS v FROM (SELECT metric, model_year, SUM(value) AS v FROM {D} "
    f"WHERE model_year = '2030' AND NOT metric IN (SELECT metric FROM {D} "
    "WHERE metric LIKE 'heat%' GROUP BY 1) GROUP BY ALL) AS t GROUP BY 1",
    # Record names from a dimension table's attribute.
    f"SELECT us_states_name, SUM(value) AS v FROM {D} WHERE us_states_name IN "
    f"(SELECT name FROM {DIMS}.us_states WHERE census_region = 'South') GROUP BY 1",
    # A base dimension and a dataset id.
    f"SELECT geography, SUM(value) AS v FROM {D} WHERE geography IN (SELECT geography FROM "
    f"{D} GROUP BY 1 ORDER BY SUM(value) LIMIT 4) AND dataset_id IN (SELECT dataset_id "
    f"FROM {D} WHERE dataset_id LIKE '%residential' GROUP BY 1) GROUP BY 1",
    # NULL among the values: IN ignores it; NOT IN with a NULL keeps no row.
    f"SELECT metric, SUM(value) AS v FROM {D} WHERE metric IN (SELECT NULLIF(metric, "
    f"'cooling') FROM {D} GROUP BY 1) GROUP BY 1",
    f"SELECT metric, COUNT(*) AS n FROM {D} WHERE metric NOT IN (SELECT NULLIF(metric, "
    f"'cooling') FROM {D} GROUP BY 1) GROUP BY 1",
    # No values: FALSE (and NOT IN of nothing keeps every row).
    f"SELECT SUM(value) AS v, COUNT(*) AS n FROM {D} WHERE geography IN "
    f"(SELECT geography FROM {D} WHERE value < 0)",
    f"SELECT SUM(value) AS v FROM {D} WHERE NOT geography IN "
    f"(SELECT geography FROM {D} WHERE value < 0)",
]
KEPT = [
    # A CTE of the statement: the subquery's text alone would not have it.
    f"WITH top AS ({TOP3}) SELECT us_states, SUM(value) AS v FROM {D} "
    "WHERE us_states IN (SELECT us_states FROM top) GROUP BY 1",
    # Correlated with the outer query.
    f"SELECT d.us_states, SUM(d.value) AS v FROM {D} AS d WHERE d.us_states IN "
    f"(SELECT s.id FROM {DIMS}.us_states AS s WHERE s.time_zone = d.time_zone) GROUP BY 1",
    # Not a top-level conjunct; not a record column.
    f"SELECT us_states, SUM(value) AS v FROM {D} WHERE us_states IN ({TOP3}) "
    "OR metric = 'fans' GROUP BY 1",
    f"SELECT SUM(value) AS v FROM {D} WHERE value IN (SELECT MAX(value) FROM {D})",
]
SAID = "IN (SELECT …) read first"
JOIN_SAID = "JOIN (SELECT …) t read first"
# A subquery joined to the data table, as BI tools write a top-N filter.
JOINED = [
    f"SELECT d.us_states, d.timestamp, SUM(d.value) AS v, MAX(t.total) AS total FROM {D} d "
    f"JOIN (SELECT us_states, SUM(value) AS total FROM {D} GROUP BY 1 ORDER BY 2 DESC "
    "LIMIT 3) t ON d.us_states = t.us_states GROUP BY ALL",
    # Keys repeated in the subquery's answer: each data row meets each of its rows.
    f"SELECT d.us_states, SUM(d.value) AS v, COUNT(*) AS n FROM {D} d JOIN (SELECT us_states "
    f"FROM {D} WHERE metric = 'cooling' AND timestamp < '2018-01-01 02:00:00+00') t "
    "ON d.us_states = t.us_states GROUP BY 1",
    # Two keys, counts and averages in the answer, a condition beside the keys.
    f"SELECT d.us_states, d.metric, SUM(d.value) AS v, MAX(t.n) AS n FROM {D} AS d INNER JOIN "
    f"(SELECT us_states, metric, COUNT(*) AS n, AVG(value) AS a FROM {D} GROUP BY 1, 2 "
    "ORDER BY 4 DESC LIMIT 7) AS t ON t.us_states = d.us_states AND d.metric = t.metric "
    "AND t.n > 1 GROUP BY 1, 2",
    # No rows in the answer: no row joins.
    f"SELECT COUNT(*) AS n FROM {D} d JOIN (SELECT us_states FROM {D} WHERE value < 0) t "
    "ON d.us_states = t.us_states",
]
JOINED_KEPT = [
    # A left join keeps the data rows no key matches.
    f"SELECT d.us_states, SUM(d.value) AS v FROM {D} d LEFT JOIN (SELECT us_states FROM {D} "
    "GROUP BY 1 ORDER BY SUM(value) DESC LIMIT 3) t ON d.us_states = t.us_states GROUP BY 1",
    # A wall clock in the answer: not read back as a table (instants are, below).
    f"SELECT d.scenario, SUM(d.value) AS v FROM {D} d JOIN (SELECT scenario, local_timestamp "
    f"FROM {D} GROUP BY 1, 2 ORDER BY SUM(value) DESC LIMIT 5) t ON d.scenario = t.scenario "
    "AND d.local_timestamp = t.local_timestamp GROUP BY 1",
    # Joined on no record column.
    f"SELECT SUM(d.value) AS v FROM {D} d JOIN (SELECT MAX(value) AS m FROM {D}) t "
    "ON d.value = t.m",
]


@pytest.fixture(autouse=True)
def any_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo stores far fewer rows than READ_FIRST_ROWS: read first whatever the size."""
    monkeypatch.setattr(subquery_values, "READ_FIRST_ROWS", 0)


def _check(session: Session, sql: str, sentence: str = SAID) -> list[str]:
    said = session.translate(sql).rewrites
    on = session.sql(sql).to_arrow()
    session.set("pushdown", "off")
    try:
        assert not any(sentence in s for s in session.translate(sql).rewrites)
        off = session.sql(sql).to_arrow()
    finally:
        session.set("pushdown", "on")
    assert on.schema.names == off.schema.names
    assert_same_rows(sorted_rows(on), sorted_rows(off))
    return [s for s in said if sentence in s]


@pytest.mark.parametrize("sql", READ_FIRST)
def test_the_subquery_is_read_first(demo: Session, sql: str) -> None:
    said = _check(demo, sql)
    assert len(said) == sql.count(" IN (SELECT") + sql.count(" IN \n(SELECT"), said


@pytest.mark.parametrize("sql", KEPT)
def test_other_subqueries_stay(demo: Session, sql: str) -> None:
    assert _check(demo, sql) == []


@pytest.mark.parametrize("sql", JOINED)
def test_a_joined_subquery_is_read_first(demo: Session, sql: str) -> None:
    said = _check(demo, sql, JOIN_SAID)
    assert len(said) == 1, said
    assert "its keys pushed below the mappings as lists: us_states" in said[0]


# The top hours of each scenario's total, joined back for a breakdown by state.
TOP_HOURS = (
    f"SELECT d.scenario, d.timestamp, d.us_states, SUM(d.value) AS v FROM {D} d JOIN ("
    f"SELECT scenario, timestamp FROM (SELECT scenario, timestamp, ROW_NUMBER() OVER ("
    f"PARTITION BY scenario ORDER BY SUM(value) DESC) AS rn FROM {D} GROUP BY 1, 2) "
    "WHERE rn <= 5) t ON d.scenario = t.scenario AND d.timestamp = t.timestamp GROUP BY ALL"
)


def test_instants_in_the_answer_are_read_first_and_narrow_the_scans(demo: Session) -> None:
    """The chosen hours become a list of instants, which each dataset reads back as its
    stored instants (time_window.py)."""
    (said,) = _check(demo, TOP_HOURS, JOIN_SAID)
    assert "lists: scenario (2 values), timestamp (" in said, said
    hours = {r["timestamp"] for r in demo.sql(TOP_HOURS).to_arrow().to_pylist()}
    assert 5 <= len(hours) <= 10
    explained = demo.explain(TOP_HOURS)
    narrowed = [line for line in explained.splitlines() if "stored time within" in line]
    assert len(narrowed) == 2, explained  # the two hourly datasets (annual data is spread)
    assert narrowed[1].count(":00:00") == len(hours)  # period-beginning: the hours themselves


TOP = (
    f"SELECT scenario, timestamp FROM (SELECT scenario, timestamp, ROW_NUMBER() OVER ("
    f"PARTITION BY scenario ORDER BY SUM(value) DESC) AS rn FROM {D} GROUP BY 1, 2) "
    "WHERE rn <= 5"
)


@pytest.mark.parametrize(
    ("sql", "kept"),
    [
        # As analysts write it: the top hours a CTE, joined back.
        (f"WITH top AS ({TOP}) SELECT d.scenario, d.timestamp, d.us_states, SUM(d.value) AS v "
         f"FROM {D} d JOIN top t ON d.scenario = t.scenario AND d.timestamp = t.timestamp "
         "GROUP BY ALL", False),
        # The CTE read again elsewhere: it stays for that reader.
        (f"WITH top AS ({TOP}) SELECT d.scenario, SUM(d.value) AS v, (SELECT COUNT(*) FROM "
         f"top) AS n FROM {D} d JOIN top ON d.scenario = top.scenario "
         "AND d.timestamp = top.timestamp GROUP BY ALL", True),
    ],
)  # fmt: skip
def test_a_joined_cte_is_read_first(demo: Session, sql: str, kept: bool) -> None:
    (said,) = _check(demo, sql, "(a CTE)")
    assert said.startswith("dsgrid_demo.data: JOIN top (a CTE) ")
    assert "timestamp (" in said
    engine_sql = demo.translate(sql).sql
    assert ("WITH" in engine_sql.split("SELECT")[0]) is kept


@pytest.mark.parametrize("sql", JOINED_KEPT)
def test_other_joined_subqueries_stay(demo: Session, sql: str) -> None:
    assert _check(demo, sql, JOIN_SAID) == []


def test_explain_and_the_pushed_list(demo: Session) -> None:
    translation = demo.translate(READ_FIRST[0])
    assert translation.rewrites == [
        "dsgrid_demo.data: us_states IN (SELECT …) read first (3 values), pushed below the "
        "mappings as a list"
    ]
    assert demo.explain(READ_FIRST[0]).startswith(f"Rewritten: {translation.rewrites[0]}")
    # The subquery's answer, as a list the outer plan is restricted by: its plan is not the
    # unfiltered one, and the subquery's table is planned no more.
    top = sorted(r["us_states"] for r in demo.sql(TOP3).to_arrow().to_pylist())
    (listed,) = [n for n in translation.statement.find_all(exp.In) if n.expressions]
    assert sorted(v.name for v in listed.expressions) == top
    assert translation.statement.find(exp.Subquery) is None
    whole = demo.translate(f"SELECT us_states, timestamp, SUM(value) AS v FROM {D} GROUP BY ALL")
    assert len(translation.plans) == 1
    assert translation.plans[0] is not whole.plans[0]


def test_a_long_answer_is_read_as_a_table(demo: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_VALUES the answer is a table the query reads (the subquery runs once); past
    MAX_ROWS the subquery stays. (A translation that kept its subquery is remembered: a text
    of its own per limit.)"""
    monkeypatch.setattr(subquery_values, "MAX_VALUES", 2)
    sql = READ_FIRST[0] + " LIMIT 1002"
    said = _check(demo, sql)
    assert said == [
        "dsgrid_demo.data: us_states IN (SELECT …) read first (3 values), read as a table"
    ]
    translation = demo.translate(sql)
    assert [
        i.table.num_rows for i in translation.inputs if i.name.startswith("__dsgrid_values")
    ] == [3]
    for rows, read in ((2, False), (3, True)):
        monkeypatch.setattr(subquery_values, "MAX_ROWS", rows)
        said = demo.translate(READ_FIRST[0] + f" LIMIT {1000 + rows}").rewrites
        assert any(SAID in s for s in said) is read


def test_a_small_table_keeps_the_subquery(demo: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """Below READ_FIRST_ROWS stored rows a second query costs more than the scan it prunes.
    (A translation that kept its subquery read no data and is remembered: a text of its
    own per threshold.)"""
    stored = stored_rows(demo.catalog, demo.catalog.find_table("dsgrid_demo", "data"))
    assert stored > 1000
    for least, read in ((stored + 1, False), (stored, True)):
        monkeypatch.setattr(subquery_values, "READ_FIRST_ROWS", least)
        sql = READ_FIRST[0] + f" LIMIT {least}"
        assert any(SAID in s for s in demo.translate(sql).rewrites) is read


def test_a_translation_that_read_data_is_not_remembered(demo: Session) -> None:
    """The answer may change with the files (as the result cache notices): the subquery is
    read again each time, while a text that reads no data keeps its translation."""
    first, again = demo.translate(READ_FIRST[0]), demo.translate(READ_FIRST[0])
    assert first.read_data and first is not again
    plain = f"SELECT us_states, SUM(value) AS v FROM {D} GROUP BY 1"
    assert demo.translate(plain) is demo.translate(plain)
    assert not demo.translate(plain).read_data


def test_a_slow_subquery_stops_at_the_time_limit(demo: Session) -> None:
    """Read first inside the translation, the subquery is within the request's limit: the
    caller gets the timeout at once, the engine query is interrupted (it ends by itself,
    without running to completion), and the session answers the next query."""
    slow = (
        f"SELECT us_states, SUM(value) AS v FROM {D} WHERE us_states IN (SELECT a.us_states "
        f"FROM {D} AS a CROSS JOIN {D} AS b CROSS JOIN {D} AS c "
        "WHERE a.value * b.value - c.value * c.value = 0.123 GROUP BY 1) GROUP BY 1"
    )
    started = time.monotonic()
    with time_limit(0.5), pytest.raises(QueryTimeoutError):
        demo.translate(slow)
    # The interrupted query lets go of the engine: a query after it runs and ends. (Run
    # to completion, the cross join of 3 × ~10⁴ rows would take hours.)
    assert demo.sql(f"SELECT COUNT(*) AS n FROM {D}").to_arrow().column(0)[0].as_py() > 0
    if demo.engine_name == "duckdb":
        deadline = started + 120
        while demo.engine._running and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not demo.engine._running


def test_the_result_schema_reads_no_subquery(
    demo: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Clients (ADBC, JDBC) ask for the schema before every statement: it runs no query,
    and is the schema of the answer that read the subqueries first."""

    def no_reading(text: str) -> None:
        raise AssertionError(f"read while asking for a schema: {text}")

    for sql in (READ_FIRST[0] + " LIMIT 5000", JOINED[0] + " LIMIT 5000"):
        with monkeypatch.context() as patched:
            patched.setattr(demo, "_read_query", no_reading)
            schema = demo.result_schema(sql)
        assert demo.translate(sql, read_subqueries=False).rewrites == []
        assert schema == demo.sql(sql).to_arrow().schema
