"""Input dialects: the same question written in Spark SQL, Postgres or Trino style gives the
same answer as the default DuckDB/ANSI style."""

from __future__ import annotations

from pathlib import Path

import pytest

import dsgrid_sql
from dsgrid_sql.errors import SqlSyntaxError

DEFAULT = "SELECT \"US States\" AS s, SUM(value) AS v FROM test_efs.data WHERE model_year = '2030' GROUP BY 1"
BY_DIALECT = {
    "spark": "SELECT `US States` AS s, SUM(value) AS v FROM test_efs.data WHERE model_year = '2030' GROUP BY 1",
    "postgres": "SELECT \"US States\" AS s, SUM(value::DOUBLE PRECISION) AS v FROM test_efs.data WHERE model_year = '2030' GROUP BY 1",
    "trino": "SELECT \"US States\" AS s, SUM(CAST(value AS DOUBLE)) AS v FROM test_efs.data WHERE model_year = '2030' GROUP BY 1",
}


@pytest.mark.parametrize("dialect", sorted(BY_DIALECT))
def test_dialects_agree(efs_dir: Path, dialect: str) -> None:
    with (
        dsgrid_sql.connect(efs_dir) as reference,
        dsgrid_sql.connect(efs_dir, dialect=dialect) as session,
    ):
        expected = {r["s"]: r["v"] for r in reference.sql(DEFAULT).to_arrow().to_pylist()}
        got = {r["s"]: r["v"] for r in session.sql(BY_DIALECT[dialect]).to_arrow().to_pylist()}
    assert got.keys() == expected.keys() == {"CA", "CO", "NY", "TX"}
    for state, value in expected.items():
        assert got[state] == pytest.approx(value, rel=1e-12)


def test_set_dialect_and_unknown_dialect(efs_dir: Path) -> None:
    with dsgrid_sql.connect(efs_dir) as session:
        assert session.sql("SET dialect = 'spark'").message == "dialect = spark"
        assert session.sql(BY_DIALECT["spark"]).to_arrow().num_rows == 4
        with pytest.raises(SqlSyntaxError, match="Unknown SQL dialect 'klingon'"):
            session.sql("SET dialect = 'klingon'")
