"""Random and malformed Flight SQL requests against a real server (issue 7).

Garbage bytes as descriptors, tickets and action bodies; valid ``Any`` wrappers with the wrong
type URL; truncated protobufs; huge LIKE patterns; invalid and closed prepared-statement
handles; DoPut with garbage; expired and forged tokens. The only outcomes allowed are a result
or a clean Flight/gRPC error (one line: no traceback, no server source path); the server stays
up, and when the clients are done it holds no prepared statement, ticket or running query.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight
import pytest
from google.protobuf import any_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsgrid_sql.flight_server import proto

from .conftest import PASSWORD, USER, Running

FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

SQL_PREFIX = f"type.googleapis.com/{proto.SQL_PACKAGE}."
ACTION_TYPES = [
    "CreatePreparedStatement", "ClosePreparedStatement", "CancelFlightInfo", "CancelQuery",
    "SetSessionOptions", "GetSessionOptions", "CloseSession", "BeginTransaction",
    "CreatePreparedSubstraitPlan",
]  # fmt: skip
MESSAGE_NAMES = sorted(proto.SQL_MESSAGES)


@pytest.fixture(scope="module")
def server(make_server: Callable[..., Running], efs_dir: Path) -> Running:
    """A server of this module's own, so its state counts only these clients."""
    return make_server(efs_dir)


@pytest.fixture(scope="module")
def short_token_server(make_server: Callable[..., Running], efs_dir: Path) -> Running:
    """Auth on, tokens valid for two seconds."""
    return make_server(efs_dir, auth=True, token_ttl_s=2)


@pytest.fixture(scope="module")
def client(server: Running) -> Iterator[flight.FlightClient]:
    client = server.flight_client()
    yield client
    client.close()


def assert_clean(error: BaseException) -> None:
    """A clean gRPC status: one line of ours, no Python traceback, no server file path."""
    text = str(error)
    assert isinstance(error, flight.FlightError | pa.ArrowException), repr(error)
    assert "Traceback" not in text, text
    assert ".py" not in text, text
    assert 'File "' not in text, text
    # The server's answer to an exception it did not expect: a bug this fuzzing must find.
    assert "failed to answer" not in text, text


def attempt(call: Callable[[], Any]) -> Any:
    """Run one request: its answer, or None after checking that its error is clean."""
    try:
        return call()
    except (flight.FlightError, pa.ArrowException) as error:
        assert_clean(error)
        return None


def still_serves(client: flight.FlightClient, options: Any = None) -> None:
    options = options or flight.FlightCallOptions()
    command = proto.pack(proto.sql("CommandStatementQuery")(query="SELECT 41 + 1 AS answer"))
    info = client.get_flight_info(flight.FlightDescriptor.for_command(command), options)
    table = client.do_get(info.endpoints[0].ticket, options).read_all()
    assert table.column("answer").to_pylist() == [42]


def wait_until_idle(server: Running) -> dict[str, int]:
    deadline = time.monotonic() + 10
    counts = server.server.state.counts()
    while (counts["running"] or counts["prepared"] or counts["tickets"]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
        counts = server.server.state.counts()
    return counts


# -- request strategies ---------------------------------------------------------------------


def any_bytes(type_url: str, value: bytes) -> bytes:
    return any_pb2.Any(type_url=type_url, value=value).SerializeToString()


def valid_message(name: str) -> bytes:
    """A well-formed message of each kind, with plausible fields."""
    fields: dict[str, Any] = {
        "CommandStatementQuery": {"query": "SELECT 1 AS x"},
        "CommandGetTables": {"table_name_filter_pattern": "%a%", "include_schema": True},
        "CommandGetDbSchemas": {"db_schema_filter_pattern": "t%"},
        "CommandGetPrimaryKeys": {"table": "data"},
        "TicketStatementQuery": {"statement_handle": b"\x00" * 16},
        "ActionCreatePreparedStatementRequest": {"query": "SELECT 1 AS x"},
        "CommandPreparedStatementQuery": {"prepared_statement_handle": b"\x01" * 16},
    }.get(name, {})
    return proto.sql(name)(**fields).SerializeToString()


garbage = st.binary(max_size=300)
any_payload = st.one_of(
    # garbage bytes
    garbage,
    # a valid Any with a wrong (foreign or unknown) type URL
    st.builds(
        any_bytes,
        st.one_of(
            st.text(max_size=80),
            st.sampled_from(
                [
                    "type.googleapis.com/google.protobuf.Empty",
                    "type.googleapis.com/arrow.flight.protocol.FlightInfo",
                    SQL_PREFIX + "NoSuchCommand",
                    SQL_PREFIX,
                    SQL_PREFIX + "CommandStatementQuery.Extra",
                ]
            ),
            st.sampled_from(MESSAGE_NAMES).map(lambda n: SQL_PREFIX + n),
        ),
        garbage,
    ),
    # a known message, then truncated or with garbage appended
    st.builds(
        lambda name, cut, tail: proto.pack(proto.sql(name)())[:cut] + tail,
        st.sampled_from(MESSAGE_NAMES),
        st.integers(0, 80),
        st.binary(max_size=20),
    ),
    st.builds(
        lambda name, cut: any_bytes(SQL_PREFIX + name, valid_message(name)[:cut]),
        st.sampled_from(MESSAGE_NAMES),
        st.integers(0, 40),
    ),
    # a known command wrapped as the wrong kind of message
    st.builds(
        lambda name, other: any_bytes(SQL_PREFIX + name, valid_message(other)),
        st.sampled_from(MESSAGE_NAMES),
        st.sampled_from(MESSAGE_NAMES),
    ),
)

like_pattern = st.one_of(
    st.text(alphabet="%_\\ab.*+?()[]{}^$|", max_size=300),
    st.integers(10, 20_000).map(lambda n: "%_" * n + "x"),
    st.integers(1, 100_000).map(lambda n: "%" * n),
    st.text(max_size=2_000),
)


def metadata_request(command: str, pattern: str) -> bytes:
    field = {
        "CommandGetTables": "table_name_filter_pattern",
        "CommandGetDbSchemas": "db_schema_filter_pattern",
    }[command]
    return proto.pack(proto.sql(command)(**{field: pattern}))


# -- the properties -------------------------------------------------------------------------


@given(payload=any_payload, rpc=st.sampled_from(["info", "schema", "get", "put"]))
@FUZZ
def test_garbage_commands_and_tickets(
    client: flight.FlightClient, payload: bytes, rpc: str
) -> None:
    descriptor = flight.FlightDescriptor.for_command(payload)
    if rpc == "info":
        info = attempt(lambda: client.get_flight_info(descriptor))
        if info is not None:  # a valid request: redeem its ticket so no state stays
            attempt(lambda: client.do_get(info.endpoints[0].ticket).read_all())
    elif rpc == "schema":
        attempt(lambda: client.get_schema(descriptor))
    elif rpc == "get":
        attempt(lambda: client.do_get(flight.Ticket(payload)).read_all())
    else:

        def put() -> None:
            writer, _ = client.do_put(descriptor, pa.schema([("x", pa.int64())]))
            writer.write_table(pa.table({"x": [1, 2]}))
            writer.close()

        attempt(put)


@given(kind=st.one_of(st.sampled_from(ACTION_TYPES), st.text(max_size=40)), body=any_payload)
@FUZZ
def test_garbage_actions(client: flight.FlightClient, kind: str, body: bytes) -> None:
    def act() -> list[Any]:
        return list(client.do_action(flight.Action(kind, body)))

    answers = attempt(act)
    if kind == "CreatePreparedStatement" and answers:
        # A garbage body that still made a statement: close it.
        _, result = proto.unpack(answers[0].body.to_pybytes())
        close_prepared(client, result.prepared_statement_handle)


@given(command=st.sampled_from(["CommandGetTables", "CommandGetDbSchemas"]), pattern=like_pattern)
@settings(max_examples=40, deadline=None, database=None)
def test_huge_and_hostile_like_patterns(
    client: flight.FlightClient, command: str, pattern: str
) -> None:
    descriptor = flight.FlightDescriptor.for_command(metadata_request(command, pattern))
    started = time.monotonic()
    info = attempt(lambda: client.get_flight_info(descriptor))
    if info is not None:
        attempt(lambda: client.do_get(info.endpoints[0].ticket).read_all())
    # A pattern is matched in linear time: no backtracking blow-up.
    assert time.monotonic() - started < 10


def prepare(client: flight.FlightClient, query: str) -> bytes:
    body = proto.pack(proto.sql("ActionCreatePreparedStatementRequest")(query=query))
    answer = next(iter(client.do_action(flight.Action("CreatePreparedStatement", body))))
    _, result = proto.unpack(answer.body.to_pybytes())
    return result.prepared_statement_handle


def close_prepared(client: flight.FlightClient, handle: bytes) -> None:
    body = proto.pack(proto.sql("ActionClosePreparedStatementRequest")(
        prepared_statement_handle=handle))  # fmt: skip
    list(client.do_action(flight.Action("ClosePreparedStatement", body)))


def prepared_descriptor(handle: bytes) -> flight.FlightDescriptor:
    command = proto.sql("CommandPreparedStatementQuery")(prepared_statement_handle=handle)
    return flight.FlightDescriptor.for_command(proto.pack(command))


@given(
    handle=st.one_of(st.binary(max_size=64), st.just(b""), st.binary(min_size=16, max_size=16)),
    use=st.sampled_from(["info", "schema", "put", "close"]),
    columns=st.integers(0, 3),
)
@FUZZ
def test_invalid_and_closed_prepared_handles(
    client: flight.FlightClient, handle: bytes, use: str, columns: int
) -> None:
    closed = prepare(client, "SELECT COUNT(*) AS n FROM data WHERE us_states = ?")
    close_prepared(client, closed)
    for candidate in (handle, closed):
        descriptor = prepared_descriptor(candidate)
        if use == "info":
            attempt(lambda d=descriptor: client.get_flight_info(d))
        elif use == "schema":
            attempt(lambda d=descriptor: client.get_schema(d))
        elif use == "close":
            attempt(lambda c=candidate: close_prepared(client, c))
        else:
            schema = pa.schema([(f"p{i}", pa.string()) for i in range(columns)])

            def put(d: flight.FlightDescriptor = descriptor, s: pa.Schema = schema) -> None:
                writer, _ = client.do_put(d, s)
                if columns:
                    writer.write_table(pa.table({f"p{i}": ["CO"] for i in range(columns)}))
                writer.close()

            attempt(put)


@given(
    columns=st.lists(
        st.sampled_from([pa.string(), pa.int64(), pa.binary(), pa.float64(), pa.null()]),
        max_size=3,
    ),
    rows=st.integers(0, 3),
)
@settings(max_examples=25, deadline=None, database=None)
def test_do_put_garbage_parameters_to_a_live_statement(
    client: flight.FlightClient, columns: list[pa.DataType], rows: int
) -> None:
    handle = prepare(client, "SELECT COUNT(*) AS n FROM data WHERE us_states = ?")
    try:
        schema = pa.schema([(f"p{i}", t) for i, t in enumerate(columns)])
        table = pa.Table.from_pylist([{} for _ in range(rows)], schema=schema)

        def put() -> None:
            writer, _ = client.do_put(prepared_descriptor(handle), schema)
            writer.write_table(table)
            writer.close()

        attempt(put)

        def run() -> Any:
            info = client.get_flight_info(prepared_descriptor(handle))
            return client.do_get(info.endpoints[0].ticket).read_all()

        attempt(run)
    finally:
        close_prepared(client, handle)


@given(
    token=st.one_of(
        st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=200),
        st.builds(
            lambda a, b: f"{a}.{b}",
            st.text(alphabet="ABCDEFGHIJabcdefghij0123456789-_", max_size=60),
            st.text(alphabet="ABCDEFGHIJabcdefghij0123456789-_", max_size=60),
        ),
    ),
    scheme=st.sampled_from(["Bearer", "Basic", "bearer", "Digest", ""]),
)
@FUZZ
def test_forged_tokens_are_refused(short_token_server: Running, token: str, scheme: str) -> None:
    client = short_token_server.flight_client()
    try:
        header = (b"authorization", f"{scheme} {token}".strip().encode())
        options = flight.FlightCallOptions(headers=[header])
        with pytest.raises(flight.FlightUnauthenticatedError) as caught:
            list(client.list_actions(options))
        assert_clean(caught.value)
    finally:
        client.close()


def test_expired_and_tampered_tokens_are_refused(short_token_server: Running) -> None:
    client = short_token_server.flight_client()
    try:
        header = client.authenticate_basic_token(USER.encode(), PASSWORD.encode())
        options = flight.FlightCallOptions(headers=[header])
        still_serves(client, options)
        token = header[1].decode().split(" ", 1)[1]
        payload, _, signature = token.partition(".")
        # Another user's name under the same signature; a signature from another secret.
        other = base64.urlsafe_b64encode(b'{"u": "root", "e": 9999999999}').decode().rstrip("=")
        for forged in (f"{other}.{signature}", f"{payload}.{signature[::-1]}", payload):
            bad = flight.FlightCallOptions(
                headers=[(b"authorization", f"Bearer {forged}".encode())]
            )
            with pytest.raises(flight.FlightUnauthenticatedError) as caught:
                still_serves(client, bad)
            assert_clean(caught.value)
        # The token lives at least its 2 s TTL (expiry in whole seconds, rounded up): asked
        # again until refused, within a deadline.
        deadline = time.monotonic() + 30
        with pytest.raises(flight.FlightUnauthenticatedError, match="expired") as caught:
            while time.monotonic() < deadline:
                still_serves(client, options)
                time.sleep(0.2)
        assert_clean(caught.value)
    finally:
        client.close()
    assert wait_until_idle(short_token_server)["prepared"] == 0


def test_limits_over_flight_are_clear_errors(client: flight.FlightClient) -> None:
    for query, words in (
        ("SELECT " + "(" * 5000 + "1" + ")" * 5000, "too deeply"),
        ("SELECT 1 AS x" + " " * 1_100_000, "characters long"),
    ):
        command = proto.pack(proto.sql("CommandStatementQuery")(query=query))
        with pytest.raises(pa.ArrowInvalid, match=words) as caught:
            client.get_flight_info(flight.FlightDescriptor.for_command(command))
        assert_clean(caught.value)


def test_the_server_applies_its_configured_limits(
    make_server: Callable[..., Running], efs_dir: Path
) -> None:
    server = make_server(efs_dir, max_nesting_depth=2, max_sql_length=200)
    client = server.flight_client()
    try:

        def info(query: str) -> flight.FlightInfo:
            command = proto.pack(proto.sql("CommandStatementQuery")(query=query))
            return client.get_flight_info(flight.FlightDescriptor.for_command(command))

        ticket = info("SELECT ((1)) AS x").endpoints[0].ticket
        assert client.do_get(ticket).read_all().column("x").to_pylist() == [1]
        with pytest.raises(pa.ArrowInvalid, match="limit is 2 levels"):
            info("SELECT (((1))) AS x")
        with pytest.raises(pa.ArrowInvalid, match="over the limit of 200"):
            info("SELECT 1 AS x" + " " * 200)
    finally:
        client.close()


def test_the_server_stays_up_and_holds_nothing(
    server: Running, client: flight.FlightClient
) -> None:
    """Runs after the fuzzing above (file order): a normal query works, and no prepared
    statement, ticket or running query is left."""
    still_serves(client)
    fresh = server.flight_client()
    try:
        still_serves(fresh)
    finally:
        fresh.close()
    counts = wait_until_idle(server)
    assert counts["prepared"] == 0, counts
    assert counts["tickets"] == 0, counts
    assert counts["running"] == 0, counts
