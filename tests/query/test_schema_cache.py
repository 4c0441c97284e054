"""What is remembered between queries on both engines: result schemas by engine SQL (BI tools
ask for the same queries' schemas on every refresh) and the catalog's own tables as inputs."""

from __future__ import annotations

from typing import Any

import pytest

from dsgrid_sql.session import Session

QUERIES = [
    "SELECT id, name FROM dsgrid_demo_dimensions.us_states",
    "SELECT us_states, SUM(value) AS mwh, MAX(timestamp) AS last FROM dsgrid_demo.data "
    "WHERE model_year = '2030' GROUP BY ALL",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_a_schema_is_probed_once_and_is_the_rows_schema(
    small_session: Session, sql: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = small_session.engine
    probes: list[str] = []
    probe = engine.probe_schema

    def counted(engine_sql: str, inputs: Any) -> Any:
        probes.append(engine_sql)
        return probe(engine_sql, inputs)

    monkeypatch.setattr(engine, "probe_schema", counted)
    # A text no other test sends, so this test sees the first probe.
    text = f"{sql} LIMIT 1000003"
    first = small_session.result_schema(text)
    again = small_session.result_schema(text)
    assert len(probes) == 1
    assert first == again == small_session.sql(text).to_arrow().schema
    small_session.result_schema(f"{sql} LIMIT 1000004")
    assert len(probes) == 2  # another text is probed


def test_catalog_tables_become_one_input_per_catalog(small_session: Session) -> None:
    sql = "SELECT id, name FROM dsgrid_demo_dimensions.us_states"
    first = small_session.translate(sql).inputs
    again = small_session.translate(f"{sql} WHERE id <> 'XX'").inputs
    assert len(first) == len(again) == 1
    assert first[0] is again[0]
    assert first[0].table.num_rows == small_session.sql(sql).to_arrow().num_rows > 0
