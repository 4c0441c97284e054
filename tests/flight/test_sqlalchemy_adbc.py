"""SQLAlchemy 2 through sqlalchemy-adbc (``adbc+flightsql://``, the ADBC Flight SQL driver
underneath) against a real server (flight-sql.md §1.4, §7 item 12) — the path Superset and
other SQLAlchemy-based tools take. Numbers are compared with the same SQL run in-process.

Facts from sqlalchemy-adbc 0.3.0's source that the tests rely on:
- ``build_connect_args``: TLS is on unless ``?tls=false``; the URL's password becomes the header
  ``authorization: Bearer <password>`` (a token, not a password); every other query key is
  passed to the driver as a ``db_kwargs`` entry, so ``?username=…&password=…`` is Basic auth.
- Reflection goes through ``adbc_get_objects``; ``get_table_names`` keeps only rows whose
  ``table_type`` is exactly ``"table"`` (lowercase).
- The driver's DB-API connection warns "Cannot disable autocommit" (the server has no
  transactions) unless the engine passes ``connect_args={"autocommit": True}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import adbc_driver_flightsql.dbapi as flight_sql
import pyarrow.flight as flight
import pytest
import sqlalchemy
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

import dsgrid_sql
from dsgrid_sql.flight_server import FlightSqlServer, ServerConfig
from dsgrid_sql.flight_server.auth import add_user

from .conftest import PASSWORD, USER, Running

STATES_SQL = "SELECT us_states, SUM(value) AS v FROM test_efs.data GROUP BY us_states ORDER BY 1"
PARAM_SQL = (
    "SELECT us_states, SUM(value) AS v FROM test_efs.data WHERE geography = :geography "
    "GROUP BY us_states ORDER BY 1"
)
GEOGRAPHY = "06073"
# No transactions on the server: without this the driver warns on every connection.
CONNECT_ARGS = {"autocommit": True}


def url(server: Running, **query: str) -> str:
    params = "&".join(f"{k}={quote(v, safe='')}" for k, v in {"tls": "false", **query}.items())
    return f"adbc+flightsql://127.0.0.1:{server.port}?{params}"


@pytest.fixture(scope="module")
def local(efs_dir: Path) -> Any:
    with dsgrid_sql.connect(efs_dir) as session:
        yield session


@pytest.fixture(params=["plain", "plain+auth"], scope="module")
def server(request: pytest.FixtureRequest, make_server: Any, efs_dir: Path) -> Running:
    return make_server(efs_dir, auth="auth" in request.param)


@pytest.fixture
def engine(server: Running) -> Iterator[Engine]:
    credentials = {"username": USER, "password": PASSWORD} if server.auth else {}
    engine = create_engine(url(server, **credentials), connect_args=CONNECT_ARGS)
    yield engine
    engine.dispose()  # closes the pooled ADBC connections (unclosed ones warn)


def expected_rows(local: Any, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    return [tuple(r.values()) for r in local.sql(sql, params).to_arrow().to_pylist()]


def assert_rows_close(actual: list[Any], expected: list[tuple[Any, ...]]) -> None:
    assert [tuple(r)[:-1] for r in actual] == [r[:-1] for r in expected]
    assert [r[-1] for r in actual] == pytest.approx([r[-1] for r in expected], rel=1e-12)


def test_text_query_with_a_bound_parameter(engine: Engine, local: Any) -> None:
    with engine.connect() as connection:
        rows = connection.execute(text(STATES_SQL)).fetchall()
        assert_rows_close(rows, expected_rows(local, STATES_SQL))
        # qmark on the wire: prepare, DoPut of the parameter batch, GetFlightInfo, DoGet.
        rows = connection.execute(text(PARAM_SQL), {"geography": GEOGRAPHY}).fetchall()
    expected = expected_rows(local, PARAM_SQL.replace(":geography", "?"), [GEOGRAPHY])
    assert len(expected) == 1
    assert_rows_close(rows, expected)


def test_errors_reach_sqlalchemy(engine: Engine) -> None:
    with engine.connect() as connection, pytest.raises(sqlalchemy.exc.DBAPIError) as err:
        connection.execute(text(PARAM_SQL), {"geography": "06074"})
    assert "INVALID_ARGUMENT" in str(err.value) and "Did you mean" in str(err.value)


def test_schema_names(engine: Engine) -> None:
    names = inspect(engine).get_schema_names()
    assert {"test_efs", "test_efs_dimensions", "test_efs_mappings", "registry"} <= set(names)
    assert "information_schema" in names


def test_columns(engine: Engine) -> None:
    columns = {c["name"]: c for c in inspect(engine).get_columns("data", schema="test_efs")}
    assert isinstance(columns["us_states"]["type"], sqlalchemy.String)  # VARCHAR
    assert isinstance(columns["value"]["type"], sqlalchemy.Float)  # DOUBLE
    assert isinstance(columns["timestamp"]["type"], sqlalchemy.DateTime)  # TIMESTAMP WITH TZ
    assert {"geography", "us_states_name", "time_zone", "unit"} <= set(columns)
    assert inspect(engine).has_table("data", schema="test_efs")
    assert not inspect(engine).has_table("nope", schema="test_efs")


def test_table_types_as_the_dialect_sees_them(engine: Engine) -> None:
    """What get_table_names filters on: ADBC GetObjects passes our table_type through."""
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        tree = raw.adbc_get_objects(depth="tables", db_schema_filter="test_efs").read_all()
    tables = tree.to_pylist()[0]["catalog_db_schemas"][0]["db_schema_tables"]
    assert {t["table_type"] for t in tables} == {"TABLE"}
    assert inspect(engine).get_view_names(schema="test_efs") == []


@pytest.mark.xfail(
    raises=AssertionError,
    reason="sqlalchemy-adbc 0.3.0 lists only table_type == 'table' (lowercase); the server "
    "reports 'TABLE' / 'SYSTEM TABLE' as JDBC tools expect, so get_table_names is empty",
)
def test_table_names(engine: Engine) -> None:
    assert "data" in inspect(engine).get_table_names(schema="test_efs")


# -- authentication -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def auth_server(make_server: Any, efs_dir: Path) -> Running:
    return make_server(efs_dir, auth=True)


def _select_one(engine: Engine) -> list[Any]:
    try:
        with engine.connect() as connection:
            return list(connection.execute(text("SELECT 1 AS one")).fetchall())
    finally:
        engine.dispose()


def test_username_and_password_in_the_query(auth_server: Running) -> None:
    engine = create_engine(
        url(auth_server, username=USER, password=PASSWORD), connect_args=CONNECT_ARGS
    )
    assert _select_one(engine) == [(1,)]


def test_wrong_password_is_refused(auth_server: Running) -> None:
    # "analyst:wrongpw" is 15 bytes: its base64 needs no padding (see the test below).
    engine = create_engine(
        url(auth_server, username=USER, password="wrongpw"), connect_args=CONNECT_ARGS
    )
    with pytest.raises(sqlalchemy.exc.DBAPIError) as err:
        _select_one(engine)
    assert isinstance(err.value.orig, flight_sql.ProgrammingError)
    assert "UNAUTHENTICATED" in str(err.value)
    assert "Invalid user name or password" in str(err.value)


def test_no_credentials_is_refused(auth_server: Running) -> None:
    engine = create_engine(url(auth_server), connect_args=CONNECT_ARGS)
    with pytest.raises(sqlalchemy.exc.DBAPIError, match=r"UNAUTHENTICATED.*Authentication is"):
        _select_one(engine)


def test_url_password_is_a_bearer_token(auth_server: Running) -> None:
    # The dialect sends the URL's password as "authorization: Bearer <password>": a password
    # there is refused as a token, a token from a Basic handshake is accepted.
    as_password = f"adbc+flightsql://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:{auth_server.port}?tls=false"
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="The token is invalid or expired"):
        _select_one(create_engine(as_password, connect_args=CONNECT_ARGS))
    client = flight.FlightClient(auth_server.uri)
    _, header = client.authenticate_basic_token(USER.encode(), PASSWORD.encode())
    client.close()
    token = header.decode().removeprefix("Bearer ")
    as_token = f"adbc+flightsql://{USER}:{token}@127.0.0.1:{auth_server.port}?tls=false"
    assert _select_one(create_engine(as_token, connect_args=CONNECT_ARGS)) == [(1,)]


@pytest.fixture(scope="module")
def padding_server(efs_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Users whose "user:password" is 12, 13 and 14 bytes long (length mod 3 = 0, 1, 2)."""
    users = tmp_path_factory.mktemp("padding") / "users.toml"
    for i, password in enumerate(["secret", "secret1", "secret12"]):
        add_user(users, f"user{i}", password)
    server = FlightSqlServer(ServerConfig(registry=efs_dir, port=0, users_file=users))
    yield server.port
    server.close()


@pytest.mark.parametrize(
    "user, password",
    [
        ("user0", "secret"),
        # The Go driver sends Basic credentials as unpadded base64: every length must work.
        ("user1", "secret1"),
        ("user2", "secret12"),
    ],
)
def test_any_password_length_signs_in(padding_server: int, user: str, password: str) -> None:
    engine = create_engine(
        f"adbc+flightsql://127.0.0.1:{padding_server}?tls=false&username={user}&password={password}",
        connect_args=CONNECT_ARGS,
    )
    assert _select_one(engine) == [(1,)]


def test_tls_with_a_private_certificate(secure_server: Running, local: Any) -> None:
    # TLS is the dialect's default (grpc+tls://). A certificate the system does not trust
    # goes in db_kwargs through connect_args, which replaces the URL's query-derived ones.
    assert secure_server.cert_pem is not None
    db_kwargs = {
        "username": USER,
        "password": PASSWORD,
        "adbc.flight.sql.client_option.tls_root_certs": secure_server.cert_pem,
    }
    engine = create_engine(
        f"adbc+flightsql://localhost:{secure_server.port}",
        connect_args={**CONNECT_ARGS, "db_kwargs": db_kwargs},
    )
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(STATES_SQL)).fetchall()
    finally:
        engine.dispose()
    assert_rows_close(rows, expected_rows(local, STATES_SQL))
