"""What is remembered between queries on both engines: result schemas by engine SQL (BI tools
ask for the same queries' schemas on every refresh) and the catalog's own tables as inputs."""

from __future__ import annotations

from typing import Any

import pytest

from dsgrid_sql.errors import SqlTooLongError
from dsgrid_sql.rewrite.parse import SqlLimits, sql_limits
from dsgrid_sql.rewrite.translate import translate
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


def test_a_query_text_is_translated_once_per_setting(small_session: Session) -> None:
    catalog = small_session.catalog
    text = "SELECT metric, SUM(value) AS v FROM dsgrid_demo.data GROUP BY 1"
    first = translate(text, catalog)
    assert translate(text, catalog) is first
    # Anything else the translation depends on gives its own.
    assert translate(text, catalog, target="spark") is not first
    assert translate(text, catalog, pushdown=False) is not first
    assert translate(text, catalog, default_schema="dsgrid_demo") is not first
    with_param = "SELECT metric, SUM(value) AS v FROM dsgrid_demo.data WHERE metric = ? GROUP BY 1"
    a = translate(with_param, catalog, params=["heating_gas"])
    b = translate(with_param, catalog, params=["cooling"])
    assert a is not b and "'cooling'" in b.sql and "'heating_gas'" not in b.sql
    # The limits are part of it: a remembered text is still refused under tighter ones.
    with sql_limits(SqlLimits(max_length=20)), pytest.raises(SqlTooLongError):
        translate(text, catalog)
    # And what the cache returns is what runs.
    assert small_session.sql(text).to_arrow().num_rows > 0
