"""ADBC (the Go Flight SQL driver), pandas and polars against a real server, plaintext and
TLS, auth on and off. Numbers are compared with the same SQL run in-process."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import adbc_driver_flightsql.dbapi as flight_sql
import pyarrow as pa
import pytest

import dsgrid_sql

from .conftest import Running

STATES_SQL = "SELECT us_states, SUM(value) AS v FROM test_efs.data GROUP BY ALL ORDER BY 1"


@pytest.fixture(scope="module")
def local(efs_dir: Path) -> Any:
    with dsgrid_sql.connect(efs_dir) as session:
        yield session


@pytest.fixture(params=["plain", "plain+auth", "tls", "tls+auth"], scope="module")
def server(request: pytest.FixtureRequest, make_server: Any, efs_dir: Path) -> Running:
    tls, auth = "tls" in request.param, "auth" in request.param
    return make_server(efs_dir, tls=tls, auth=auth)


@pytest.fixture
def conn(server: Running) -> Any:
    connection = flight_sql.connect(server.uri, db_kwargs=server.adbc_kwargs(), autocommit=True)
    yield connection
    connection.close()


def assert_close(actual: pa.Table, expected: pa.Table) -> None:
    assert actual.column_names == expected.column_names
    assert actual.num_rows == expected.num_rows
    for name in actual.column_names:
        got, want = actual.column(name).to_pylist(), expected.column(name).to_pylist()
        if pa.types.is_floating(expected.schema.field(name).type):
            assert got == pytest.approx(want, rel=1e-12)
        else:
            assert got == want


def test_connect_and_info(conn: Any) -> None:
    info = conn.adbc_get_info()
    assert info["vendor_name"] == "dsgrid-sql"
    assert info["vendor_version"] == dsgrid_sql.__version__
    assert info["vendor_arrow_version"] == pa.__version__


def test_wrong_password_is_unauthenticated(secure_server: Running) -> None:
    server = secure_server
    with pytest.raises(flight_sql.Error, match="UNAUTHENTICATED"):
        flight_sql.connect(
            server.uri, db_kwargs=server.adbc_kwargs(password="wrong"), autocommit=True
        )


@pytest.mark.parametrize("depth", ["catalogs", "db_schemas", "tables", "all"])
def test_get_objects_at_every_depth(conn: Any, depth: str) -> None:
    objects = conn.adbc_get_objects(depth=depth).read_all().to_pylist()
    assert [c["catalog_name"] for c in objects] == ["dsgrid"]
    if depth == "catalogs":
        return
    schemas = {s["db_schema_name"]: s for s in objects[0]["catalog_db_schemas"]}
    assert {"test_efs", "registry", "information_schema"} <= set(schemas)
    if depth == "db_schemas":
        return
    tables = {t["table_name"]: t for t in schemas["test_efs"]["db_schema_tables"]}
    assert {"data", "test_efs_comstock"} <= set(tables)
    if depth == "all":
        columns = {c["column_name"]: c for c in tables["data"]["table_columns"]}
        assert columns["value"]["xdbc_type_name"] == "DOUBLE"
        assert columns["us_states"]["xdbc_type_name"] == "VARCHAR"
        assert [c["ordinal_position"] for c in tables["data"]["table_columns"]] == list(
            range(1, len(columns) + 1)
        )


def test_table_schema_matches_query_results(conn: Any) -> None:
    schema = conn.adbc_get_table_schema("data", db_schema_filter="test_efs")
    assert {"us_states", "us_states_name", "time_zone", "unit"} <= set(schema.names)
    cur = conn.cursor()
    # Every column, queried by name, comes back with the type the catalog announces.
    cur.execute(f"SELECT {', '.join(schema.names)} FROM test_efs.data LIMIT 3")
    result = cur.fetch_arrow_table()
    assert [f.type for f in result.schema] == [f.type for f in schema]
    cur.close()
    with pytest.raises(flight_sql.Error):
        conn.adbc_get_table_schema("nope", db_schema_filter="test_efs")
    assert conn.adbc_get_table_types() == ["SYSTEM TABLE", "TABLE"]


def test_execute_and_fetch_three_ways(conn: Any, local: Any) -> None:
    expected = local.sql(STATES_SQL).to_arrow()
    cur = conn.cursor()
    cur.execute(STATES_SQL)
    table = cur.fetch_arrow_table()
    assert_close(table, expected)
    cur.execute(STATES_SQL)
    assert cur.fetchall() == [tuple(r.values()) for r in table.to_pylist()]
    cur.execute(STATES_SQL)
    frame = cur.fetch_df()
    assert list(frame["us_states"]) == expected.column("us_states").to_pylist()
    assert cur.adbc_execute_schema(STATES_SQL).equals(table.schema)
    cur.close()


def test_parameters_and_executemany(conn: Any, local: Any) -> None:
    sql = "SELECT geography, SUM(value) AS v FROM data WHERE geography = ? GROUP BY 1"
    cur = conn.cursor()
    cur.execute(sql, ("06073",))
    rows = cur.fetchall()
    expected = local.sql(sql, ["06073"]).to_arrow().to_pylist()
    assert rows[0][0] == "06073" and rows[0][1] == pytest.approx(expected[0]["v"], rel=1e-12)
    # executemany arrives as an update; the read-only server answers with the row count.
    cur.executemany(sql, [("06073",), ("08031",), ("36001",)])
    assert cur.rowcount == 3
    parameter_schema = cur.adbc_prepare(sql)
    assert len(parameter_schema) == 1
    # A record id that does not exist is an error with a suggestion, not an empty result.
    with pytest.raises(flight_sql.ProgrammingError, match="Did you mean"):
        cur.execute(sql, ("06074",))
    cur.close()


def test_errors_reach_the_client_as_one_sentence(conn: Any) -> None:
    cur = conn.cursor()
    with pytest.raises(flight_sql.ProgrammingError) as err:
        cur.execute("SELECT us_state FROM data")
    message = str(err.value)
    assert "INVALID_ARGUMENT" in message and "Did you mean 'us_states'?" in message
    assert "Traceback" not in message and ".py" not in message
    with pytest.raises(flight_sql.Error, match="NOT_FOUND"):
        cur.execute("SELECT * FROM test_efs.nope")
    cur.close()


def test_statements_beyond_select(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute("SHOW TABLES IN test_efs")
    assert "data" in [r[1] for r in cur.fetchall()]
    cur.execute("DESCRIBE test_efs.data")
    assert ("value", "DOUBLE") in [(r[0], r[1]) for r in cur.fetchall()]
    cur.execute("EXPLAIN SELECT SUM(value) FROM test_efs.data")
    assert any("test_efs_comstock" in r[0] for r in cur.fetchall())
    cur.close()


def test_pandas_read_sql(conn: Any, local: Any) -> None:
    import pandas as pd

    frame = pd.read_sql(STATES_SQL, conn)
    expected = local.sql(STATES_SQL).to_pandas()
    assert list(frame["us_states"]) == list(expected["us_states"])
    assert list(frame["v"]) == pytest.approx(list(expected["v"]), rel=1e-12)


# polars opens its own ADBC connection without autocommit=True; the driver then warns that
# it cannot turn autocommit off (the server has no transactions, by design).
@pytest.mark.filterwarnings("ignore:Cannot disable autocommit")
def test_polars_read_database(conn: Any, server: Running, local: Any) -> None:
    import polars as pl

    frame = pl.read_database(STATES_SQL, connection=conn)
    expected = local.sql(STATES_SQL).to_arrow()
    assert frame["us_states"].to_list() == expected.column("us_states").to_pylist()
    if server.tls or server.auth:
        return  # read_database_uri passes no credentials or certificates
    uri = f"flightsql://127.0.0.1:{server.port}?transport=tcp"
    frame = pl.read_database_uri(STATES_SQL, uri, engine="adbc")
    assert frame["v"].to_list() == pytest.approx(expected.column("v").to_pylist(), rel=1e-12)


def test_early_stop_leaves_no_server_state(server: Running) -> None:
    state = server.server.state
    with flight_sql.connect(server.uri, db_kwargs=server.adbc_kwargs(), autocommit=True) as conn:
        cur = conn.cursor()
        cur.execute("SELECT a.value FROM data a CROSS JOIN data b")
        reader = cur.fetch_record_batch()
        reader.read_next_batch()
        reader.close()
        cur.close()
    deadline = time.monotonic() + 10
    while state.counts()["running"] and time.monotonic() < deadline:
        time.sleep(0.05)
    counts = state.counts()
    assert counts["running"] == 0 and counts["tickets"] == 0


def test_cancel_during_a_long_stream(conn: Any, server: Running) -> None:
    cur = conn.cursor()
    cur.execute("SELECT a.value * b.value AS x FROM data a CROSS JOIN data b")
    reader = cur.fetch_record_batch()
    reader.read_next_batch()
    threading.Timer(0.3, cur.adbc_cancel).start()
    started = time.monotonic()
    with pytest.raises(Exception, match=r"(?i)cancel"):
        while True:
            reader.read_next_batch()
    assert time.monotonic() - started < 20
    deadline = time.monotonic() + 10
    while server.server.state.counts()["running"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.server.state.counts()["running"] == 0
    cur.close()
