"""The PEP 249 module."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsgrid_sql import dbapi


def test_dbapi_round_trip(efs_dir: Path) -> None:
    assert (dbapi.apilevel, dbapi.paramstyle) == ("2.0", "qmark")
    with dbapi.connect(str(efs_dir)) as conn:
        cur = conn.cursor()
        cur.execute(
            "SELECT us_states, COUNT(*) AS n FROM data WHERE us_states IN (?, ?) GROUP BY 1 ORDER BY 1",
            ["CA", "TX"],
        )
        assert [d[0] for d in cur.description] == ["us_states", "n"]
        assert cur.description[1][1] == dbapi.NUMBER
        assert cur.rowcount == 2
        assert cur.fetchone()[0] == "CA"
        literal = conn.session.sql(
            "SELECT COUNT(*) AS n FROM data WHERE us_states = 'TX'"
        ).to_arrow()
        assert cur.fetchall() == [("TX", literal.column("n")[0].as_py())]
        assert cur.fetchone() is None
        cur.executemany("SELECT COUNT(*) FROM data WHERE model_year = ?", [["2010"], ["2050"]])
        last = conn.session.sql("SELECT COUNT(*) FROM data WHERE model_year = '2050'").to_arrow()
        assert cur.fetchall() == [(last.column(0)[0].as_py(),)]


def test_dbapi_errors(efs_dir: Path) -> None:
    with dbapi.connect(str(efs_dir)) as conn:
        cur = conn.cursor()
        with pytest.raises(
            dbapi.ProgrammingError, match=r"Unknown column 'geogrphy'.*Did you mean 'geography'\?"
        ):
            cur.execute("SELECT geogrphy FROM data")
        with pytest.raises(dbapi.ProgrammingError, match="No query has been executed"):
            cur.fetchall()
        with pytest.raises(dbapi.NotSupportedError):
            conn.rollback()
    with pytest.raises(dbapi.InterfaceError):
        conn.cursor()
    with pytest.raises(dbapi.ProgrammingError, match="No registry at"):
        dbapi.connect("/no/such/registry")
