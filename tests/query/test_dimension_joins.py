"""A data table joined with its own dimension's records reads them as its own columns
(rewrite/dimension_joins.py): the rows are those of the join as written — the same join with
the records behind a subquery, which the rewrite leaves alone, and the same text with
``aggregate_early = off`` — on both engines, over the generated demo and over a copy whose
state mapping leaves a county unmapped (a NULL supplemental an inner join drops)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

import dsgrid_sql
from dsgrid_sql.session import Session

from .conftest import assert_same_rows, sorted_rows

D = "dsgrid_demo.data"
DIMS = "dsgrid_demo_dimensions"
# Each query has one {geography} (or {states}, {metric}) slot: the records table, or the
# records behind a subquery for the reference rows.
FOLDED = [
    # A BI tool's star join: the time zone of each county, summed per hour.
    f"SELECT g.time_zone, d.timestamp, SUM(d.value) AS v FROM {D} d "
    f"JOIN {{geography}} g ON d.geography = g.id GROUP BY ALL",
    # Id and name, the condition the other way round and in parentheses, a filter and order.
    f"SELECT g.id, g.name, SUM(d.value) AS v FROM {D} AS d INNER JOIN {{geography}} AS g "
    "ON (g.id = d.geography) WHERE g.name LIKE '%County' AND d.model_year = '2030' "
    "GROUP BY ALL ORDER BY v DESC",
    # A supplemental's records, inner: a county no state takes is dropped.
    f"SELECT s.name AS state, d.metric, SUM(d.value) AS v FROM {D} d "
    f"JOIN {{states}} s ON d.us_states = s.id GROUP BY ALL",
    # A supplemental's records, left: that county's rows stay, with no state.
    f"SELECT s.id, s.name, SUM(d.value) AS v FROM {D} d "
    f"LEFT JOIN {{states}} s ON d.us_states = s.id GROUP BY ALL",
    # Two dimensions at once, a filter on a record id and COUNT(*) (one record per row).
    f"SELECT g.time_zone, m.name AS end_use, COUNT(*) AS n, SUM(d.value) AS v FROM {D} d "
    f"JOIN {{geography}} g ON d.geography = g.id LEFT OUTER JOIN {{metric}} m "
    "ON d.metric = m.id WHERE m.id IN ('cooling', 'fans') GROUP BY ALL",
    # Rows, not sums: the literal plan reads the time zone from the data as well.
    f"SELECT d.geography, d.timestamp, d.value, g.time_zone FROM {D} d "
    f"JOIN {{geography}} g ON d.geography = g.id WHERE d.metric = 'cooling' "
    "AND d.timestamp < '2018-01-01 06:00:00+00'",
    # Inside a subquery under a peak, and in a CTE.
    f"SELECT time_zone, MAX(v) AS peak FROM (SELECT g.time_zone, d.timestamp, "
    f"SUM(d.value) AS v FROM {D} d JOIN {{geography}} g ON d.geography = g.id "
    "GROUP BY ALL) AS h GROUP BY 1",
    f"WITH zones AS (SELECT g.time_zone AS zone, SUM(d.value) AS v FROM {D} d "
    f"JOIN {{geography}} g ON d.geography = g.id GROUP BY 1) SELECT * FROM zones",
    # One dataset's table.
    "SELECT g.time_zone, SUM(d.value) AS v FROM dsgrid_demo.dsgrid_demo_residential d "
    "JOIN {geography} g ON d.geography = g.id GROUP BY 1",
]
KEPT = [
    # A field the data does not carry.
    f"SELECT g.state, SUM(d.value) AS v FROM {D} d JOIN {{geography}} g "
    "ON d.geography = g.id GROUP BY 1",
    # Joined by name, or with more in the condition.
    f"SELECT g.time_zone, SUM(d.value) AS v FROM {D} d JOIN {{geography}} g "
    "ON d.geography_name = g.name GROUP BY 1",
    f"SELECT g.time_zone, SUM(d.value) AS v FROM {D} d JOIN {{geography}} g "
    "ON d.geography = g.id AND g.time_zone <> 'America/Denver' GROUP BY 1",
    # Records kept that no row reads: a right or full join.
    f"SELECT g.id, SUM(d.value) AS v FROM {D} d RIGHT JOIN {{geography}} g "
    "ON d.geography = g.id GROUP BY 1",
    f"SELECT g.id, SUM(d.value) AS v FROM {D} d FULL JOIN {{geography}} g "
    "ON d.geography = g.id GROUP BY 1",
    # Another dimension's records on this column (states by county id: none match).
    f"SELECT s.name, SUM(d.value) AS v FROM {D} d JOIN {{states}} s "
    "ON d.geography = s.id GROUP BY 1",
    # The records first, the data joined to them.
    f"SELECT g.time_zone, SUM(d.value) AS v FROM {{geography}} g JOIN {D} d "
    "ON d.geography = g.id GROUP BY 1",
    # A nested query reading the records row by row.
    f"SELECT g.id, SUM(d.value) AS v FROM {D} d JOIN {{geography}} g ON d.geography = g.id "
    f"WHERE EXISTS (SELECT 1 FROM {DIMS}.us_states s WHERE s.time_zone = g.time_zone) "
    "GROUP BY 1",
]
UNMAPPED = "01001"  # the county the copy's state mapping sends nowhere


def _references(sql: str) -> tuple[str, str]:
    """(the query over the records tables, the same join with each behind a subquery)."""
    tables = {"geography": "geography", "states": "us_states", "metric": "metric"}
    direct = sql.format(**{k: f"{DIMS}.{v}" for k, v in tables.items()})
    hidden = sql.format(**{k: f"(SELECT * FROM {DIMS}.{v})" for k, v in tables.items()})
    return direct, hidden


def _rows(session: Session, sql: str) -> tuple[list[tuple], object]:
    table = session.sql(sql).to_arrow()
    return sorted_rows(table), table.schema


def _check(session: Session, sql: str, folded: bool) -> list[tuple]:
    direct, hidden = _references(sql)
    said = session.translate(direct).rewrites
    assert any("read as the data's own columns" in s for s in said) is folded, said
    rows, schema = _rows(session, direct)
    reference, _ = _rows(session, hidden)
    assert_same_rows(rows, reference)
    session.set("aggregate_early", "off")
    try:
        assert session.translate(direct).rewrites == []
        off, off_schema = _rows(session, direct)
    finally:
        session.set("aggregate_early", "on")
    assert schema.names == off_schema.names
    assert_same_rows(rows, off)
    return rows


@pytest.fixture(scope="module")
def unmapped(small_registry: Path, tmp_path_factory: pytest.TempPathFactory, engine: str):  # type: ignore[no-untyped-def]
    """The demo with county 01001 mapped to no state (a mapping record with to_id null)."""
    root = tmp_path_factory.mktemp(f"unmapped_{engine}") / "registry"
    shutil.copytree(small_registry.parent, root)
    db = sqlite3.connect(root / "registry.db")
    with db:
        rows = db.execute(
            "SELECT id, model FROM models WHERE model_type = 'dimension_mapping'"
        ).fetchall()
        changed = 0
        for row_id, text in rows:
            model = json.loads(text)
            records = model.get("records") or []
            if not any(r.get("to_id") == "CA" for r in records):
                continue  # not the county → state mapping
            for record in records:
                if record["from_id"] == UNMAPPED:
                    record["to_id"] = None
                    changed += 1
            db.execute("UPDATE models SET model = ? WHERE id = ?", (json.dumps(model), row_id))
        assert changed == 1
    db.close()
    with dsgrid_sql.connect(root / "registry.db", engine=engine) as session:
        yield session


@pytest.mark.parametrize("sql", FOLDED)
def test_a_join_with_the_records_reads_the_data_columns(demo: Session, sql: str) -> None:
    assert _check(demo, sql, folded=True)


@pytest.mark.parametrize("sql", KEPT)
def test_other_joins_with_records_stay_as_written(demo: Session, sql: str) -> None:
    _check(demo, sql, folded=False)


@pytest.mark.parametrize("sql", FOLDED[2:4])
def test_a_county_without_a_state(unmapped: Session, sql: str) -> None:
    """A county the state mapping sends nowhere: reading us_states leaves its rows out (as
    dsgrid's mapping does), so the inner and the left join agree, folded or not."""
    rows = _check(unmapped, sql, folded=True)
    every = _check(
        unmapped, sql.replace("d.us_states = s.id", "d.us_states = s.id AND TRUE"), False
    )
    assert_same_rows(rows, every)
    total = unmapped.sql(f"SELECT SUM(value) FROM {D}").to_arrow().column(0)[0].as_py()
    assert sum(r[-1] for r in rows) < total


def test_explain_names_the_folded_join(demo: Session) -> None:
    direct, _ = _references(FOLDED[0])
    assert demo.explain(direct).startswith(
        "Rewritten: dsgrid_demo.data: the join with dsgrid_demo_dimensions.geography read as "
        "the data's own columns (id as geography, name as geography_name, time_zone as "
        "time_zone; one record per id)"
    )
    # Only the data is read: the records table is no table of the engine query.
    assert [t.qualified_name for t in demo.translate(direct).tables] == [D]
