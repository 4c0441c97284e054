"""The raw pyarrow.flight client against a real server: every metadata command's schema
against hand-written expectations, actions, prepared statements, sessions, cancellation,
errors and auth on every RPC."""

from __future__ import annotations

import threading
import time
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight
import pytest

from dsgrid_sql.flight_server import proto

from .conftest import Running


def utf8(name: str, nullable: bool = True) -> pa.Field:
    return pa.field(name, pa.utf8(), nullable=nullable)


# Written from the Flight SQL specification, not imported from the server.
EXPECTED = {
    "CommandGetCatalogs": pa.schema([utf8("catalog_name", False)]),
    "CommandGetDbSchemas": pa.schema([utf8("catalog_name"), utf8("db_schema_name", False)]),
    "CommandGetTables": pa.schema(
        [utf8("catalog_name"), utf8("db_schema_name"), utf8("table_name", False),
         utf8("table_type", False)]
    ),
    "CommandGetTableTypes": pa.schema([utf8("table_type", False)]),
    "CommandGetPrimaryKeys": pa.schema(
        [utf8("catalog_name"), utf8("db_schema_name"), utf8("table_name", False),
         utf8("column_name", False), pa.field("key_sequence", pa.int32(), False), utf8("key_name")]
    ),
    "CommandGetXdbcTypeInfo": pa.schema(
        [utf8("type_name", False), pa.field("data_type", pa.int32(), False),
         pa.field("column_size", pa.int32()), utf8("literal_prefix"), utf8("literal_suffix"),
         pa.field("create_params", pa.list_(pa.field("item", pa.utf8(), False))),
         pa.field("nullable", pa.int32(), False), pa.field("case_sensitive", pa.bool_(), False),
         pa.field("searchable", pa.int32(), False), pa.field("unsigned_attribute", pa.bool_()),
         pa.field("fixed_prec_scale", pa.bool_(), False), pa.field("auto_increment", pa.bool_()),
         utf8("local_type_name"), pa.field("minimum_scale", pa.int32()),
         pa.field("maximum_scale", pa.int32()), pa.field("sql_data_type", pa.int32(), False),
         pa.field("datetime_subcode", pa.int32()), pa.field("num_prec_radix", pa.int32()),
         pa.field("interval_precision", pa.int32())]
    ),
}  # fmt: skip
FOREIGN = pa.schema(
    [utf8("pk_catalog_name"), utf8("pk_db_schema_name"), utf8("pk_table_name", False),
     utf8("pk_column_name", False), utf8("fk_catalog_name"), utf8("fk_db_schema_name"),
     utf8("fk_table_name", False), utf8("fk_column_name", False),
     pa.field("key_sequence", pa.int32(), False), utf8("fk_key_name"), utf8("pk_key_name"),
     pa.field("update_rule", pa.uint8(), False), pa.field("delete_rule", pa.uint8(), False)]
)  # fmt: skip
EXPECTED.update(
    CommandGetExportedKeys=FOREIGN,
    CommandGetImportedKeys=FOREIGN,
    CommandGetCrossReference=FOREIGN,
)
TABLES_WITH_SCHEMA = EXPECTED["CommandGetTables"].append(
    pa.field("table_schema", pa.binary(), nullable=False)
)

COMMANDS: dict[str, dict[str, Any]] = {
    "CommandGetCatalogs": {},
    "CommandGetDbSchemas": {"db_schema_filter_pattern": "test%"},
    "CommandGetTables": {"db_schema_filter_pattern": "test\\_efs"},
    "CommandGetTableTypes": {},
    "CommandGetPrimaryKeys": {"table": "data"},
    "CommandGetExportedKeys": {"table": "data"},
    "CommandGetImportedKeys": {"table": "data"},
    "CommandGetCrossReference": {"pk_table": "data", "fk_table": "data"},
    "CommandGetXdbcTypeInfo": {},
}


def descriptor(name: str, **fields: Any) -> flight.FlightDescriptor:
    return flight.FlightDescriptor.for_command(proto.pack(proto.sql(name)(**fields)))


def statement(query: str) -> flight.FlightDescriptor:
    return descriptor("CommandStatementQuery", query=query)


def fetch(client: flight.FlightClient, info: flight.FlightInfo, options: Any) -> pa.Table:
    return client.do_get(info.endpoints[0].ticket, options).read_all()


@pytest.fixture(params=["plain", "tls+auth"])
def server(request: pytest.FixtureRequest) -> Running:
    return request.getfixturevalue("efs_server" if request.param == "plain" else "secure_server")


@pytest.fixture
def client(server: Running) -> Any:
    client = server.flight_client()
    yield client, server.call_options(client)
    client.close()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_metadata_schemas_are_exactly_the_specification(client: Any, command: str) -> None:
    flight_client, options = client
    desc = descriptor(command, **COMMANDS[command])
    info = flight_client.get_flight_info(desc, options)
    assert info.schema.equals(EXPECTED[command])
    assert flight_client.get_schema(desc, options).schema.equals(EXPECTED[command])
    table = fetch(flight_client, info, options)
    assert table.schema.equals(EXPECTED[command])
    assert info.endpoints[0].locations == []  # redeem on the same connection
    if command in ("CommandGetPrimaryKeys", "CommandGetExportedKeys", "CommandGetImportedKeys",
                   "CommandGetCrossReference"):  # fmt: skip
        assert table.num_rows == 0
    elif command == "CommandGetTables":
        assert {"data", "test_efs_comstock"} <= set(table.column("table_name").to_pylist())
        assert set(table.column("db_schema_name").to_pylist()) == {"test_efs"}
    elif command == "CommandGetDbSchemas":
        assert table.column("db_schema_name").to_pylist() == [
            "test_efs", "test_efs_dimensions", "test_efs_mappings"
        ]  # fmt: skip
    elif command == "CommandGetXdbcTypeInfo":
        codes = table.column("data_type").to_pylist()
        assert codes == sorted(codes) and "VARCHAR" in table.column("type_name").to_pylist()
    else:
        assert table.num_rows >= 1


def test_get_tables_with_schema_carries_column_metadata(client: Any) -> None:
    flight_client, options = client
    desc = descriptor(
        "CommandGetTables",
        db_schema_filter_pattern="test_efs",
        table_name_filter_pattern="data",
        include_schema=True,
    )
    table = fetch(flight_client, flight_client.get_flight_info(desc, options), options)
    assert table.schema.equals(TABLES_WITH_SCHEMA)
    assert table.num_rows == 1
    schema = pa.ipc.read_schema(pa.py_buffer(table.column("table_schema")[0].as_py()))
    value = schema.field("value")
    assert value.type == pa.float64()
    meta = {k.decode(): v.decode() for k, v in value.metadata.items()}
    assert meta["ARROW:FLIGHT:SQL:CATALOG_NAME"] == "dsgrid"
    assert meta["ARROW:FLIGHT:SQL:SCHEMA_NAME"] == "test_efs"
    assert meta["ARROW:FLIGHT:SQL:TABLE_NAME"] == "data"
    assert meta["ARROW:FLIGHT:SQL:TYPE_NAME"] == "DOUBLE"
    assert meta["ARROW:FLIGHT:SQL:REMARKS"]  # the unit it is expressed in
    states = {k.decode(): v.decode() for k, v in schema.field("us_states").metadata.items()}
    assert "US States" in states["ARROW:FLIGHT:SQL:REMARKS"] or states["ARROW:FLIGHT:SQL:REMARKS"]


def test_table_type_filters_and_patterns(client: Any) -> None:
    flight_client, options = client

    def names(**fields: Any) -> list[str]:
        info = flight_client.get_flight_info(descriptor("CommandGetTables", **fields), options)
        return fetch(flight_client, info, options).column("table_name").to_pylist()

    system = names(table_types=["system table"])
    assert set(system) == {"columns", "schemata", "tables"}
    assert names(table_name_filter_pattern="SELECT * FROM data LIMIT 2") == []
    assert names(catalog="elsewhere") == []
    assert "data" in names(catalog="dsgrid", table_types=["TABLE"])


def test_sql_info_subset(client: Any) -> None:
    flight_client, options = client
    info = flight_client.get_flight_info(
        descriptor("CommandGetSqlInfo", info=[0, 1, 3, 504]), options
    )
    rows = fetch(flight_client, info, options).to_pylist()
    assert [r["info_name"] for r in rows] == [0, 1, 3, 504]
    assert rows[0]["value"] == "dsgrid-sql" and rows[2]["value"] is True


def test_statement_query_streams_the_announced_schema(client: Any) -> None:
    flight_client, options = client
    sql = "SELECT us_states, SUM(value) AS v FROM data GROUP BY ALL ORDER BY 1"
    info = flight_client.get_flight_info(statement(sql), options)
    reader = flight_client.do_get(info.endpoints[0].ticket, options)
    table = reader.read_all()
    assert table.schema.equals(info.schema, check_metadata=True)
    assert flight_client.get_schema(statement(sql), options).schema.equals(info.schema)
    assert table.num_rows > 1 and table.column("v").type == pa.float64()
    # A ticket streams once.
    with pytest.raises(pa.ArrowInvalid, match="Unknown or expired ticket"):
        fetch(flight_client, info, options)


def test_list_actions(client: Any) -> None:
    flight_client, options = client
    types = {action.type for action in flight_client.list_actions(options)}
    assert {"CreatePreparedStatement", "ClosePreparedStatement", "CancelFlightInfo",
            "SetSessionOptions", "GetSessionOptions", "CloseSession"} <= types  # fmt: skip


def action(client: flight.FlightClient, options: Any, kind: str, body: bytes) -> list[bytes]:
    return [r.body.to_pybytes() for r in client.do_action(flight.Action(kind, body), options)]


def test_prepared_statement_with_parameters_bound_through_do_put(client: Any) -> None:
    flight_client, options = client
    sql = "SELECT geography, SUM(value) AS v FROM data WHERE geography = ? GROUP BY 1"
    request = proto.sql("ActionCreatePreparedStatementRequest")(query=sql)
    (answer,) = action(flight_client, options, "CreatePreparedStatement", proto.pack(request))
    name, prepared = proto.unpack(answer)
    assert name == "ActionCreatePreparedStatementResult"
    dataset = pa.ipc.read_schema(pa.py_buffer(prepared.dataset_schema))
    assert dataset.names == ["geography", "v"] and prepared.HasField("is_update")
    parameters = pa.ipc.read_schema(pa.py_buffer(prepared.parameter_schema))
    assert len(parameters) == 1

    command = descriptor(
        "CommandPreparedStatementQuery",
        prepared_statement_handle=prepared.prepared_statement_handle,
    )
    params = pa.table({"p": ["06073", "08031"]})
    writer, metadata = flight_client.do_put(command, params.schema, options)
    writer.write_table(params)
    writer.done_writing()
    put = proto.sql("DoPutPreparedStatementResult").FromString(metadata.read().to_pybytes())
    writer.close()
    assert put.prepared_statement_handle == prepared.prepared_statement_handle

    info = flight_client.get_flight_info(command, options)
    table = fetch(flight_client, info, options)
    assert table.column("geography").to_pylist() == ["06073", "08031"]  # one result per row
    assert table.schema.equals(info.schema)
    close = proto.sql("ActionClosePreparedStatementRequest")(
        prepared_statement_handle=prepared.prepared_statement_handle
    )
    assert action(flight_client, options, "ClosePreparedStatement", proto.pack(close)) == []
    with pytest.raises(pa.ArrowInvalid, match="Unknown or closed prepared statement"):
        flight_client.get_flight_info(command, options)


def test_session_options(client: Any) -> None:
    flight_client, options = client
    set_request = proto.flight("SetSessionOptionsRequest")()
    set_request.session_options["catalog"].string_value = "dsgrid"
    set_request.session_options["schema"].string_value = "test_efs_dimensions"
    (answer,) = action(
        flight_client, options, "SetSessionOptions", set_request.SerializeToString()
    )
    assert len(proto.flight("SetSessionOptionsResult").FromString(answer).errors) == 0

    (answer,) = action(flight_client, options, "GetSessionOptions", b"")
    current = proto.flight("GetSessionOptionsResult").FromString(answer).session_options
    assert current["schema"].string_value == "test_efs_dimensions"
    # The schema option makes unqualified names resolve there for this client.
    info = flight_client.get_flight_info(statement("SELECT COUNT(*) AS n FROM geography"), options)
    assert fetch(flight_client, info, options).column("n")[0].as_py() > 0

    bad = proto.flight("SetSessionOptionsRequest")()
    bad.session_options["catalog"].string_value = "nope"
    bad.session_options["colour"].string_value = "blue"
    (answer,) = action(flight_client, options, "SetSessionOptions", bad.SerializeToString())
    errors = proto.flight("SetSessionOptionsResult").FromString(answer).errors
    assert errors["catalog"].value == 2 and errors["colour"].value == 1  # INVALID_VALUE/NAME

    (answer,) = action(flight_client, options, "CloseSession", b"")
    assert proto.flight("CloseSessionResult").FromString(answer).status == 1  # CLOSED
    (answer,) = action(flight_client, options, "GetSessionOptions", b"")
    current = proto.flight("GetSessionOptionsResult").FromString(answer).session_options
    assert current["schema"].string_value == "test_efs"  # back to the default


LONG_QUERY = "SELECT a.value * b.value AS x FROM data a CROSS JOIN data b"


def test_cancel_flight_info_stops_a_running_query(client: Any, server: Running) -> None:
    flight_client, options = client
    info = flight_client.get_flight_info(statement(LONG_QUERY), options)
    outcome: dict[str, Any] = {}

    def read() -> None:
        try:
            for _ in flight_client.do_get(info.endpoints[0].ticket, options):
                outcome["rows"] = True
        except flight.FlightError as exc:
            outcome["error"] = exc

    reader = threading.Thread(target=read)
    reader.start()
    deadline = time.monotonic() + 10
    while server.server.state.counts()["running"] == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    request = proto.flight("CancelFlightInfoRequest")(info=info.serialize())
    (answer,) = action(flight_client, options, "CancelFlightInfo", request.SerializeToString())
    assert proto.flight("CancelFlightInfoResult").FromString(answer).status == 1  # CANCELLED
    reader.join(timeout=30)
    assert not reader.is_alive()
    assert isinstance(outcome.get("error"), flight.FlightCancelledError)
    assert "cancelled" in str(outcome["error"])
    # Cancelling again: it is finished now.
    (answer,) = action(flight_client, options, "CancelFlightInfo", request.SerializeToString())
    assert proto.flight("CancelFlightInfoResult").FromString(answer).status == 3
    assert server.server.state.counts()["running"] == 0


@pytest.mark.parametrize(
    ("name", "fields"),
    [
        ("CommandStatementUpdate", {}),
        ("CommandStatementSubstraitPlan", {}),
        ("CommandStatementIngest", {}),
    ],
)
def test_unsupported_commands_are_unimplemented(client: Any, name: str, fields: Any) -> None:
    flight_client, options = client
    from google.protobuf import any_pb2

    wrapper = any_pb2.Any(type_url=f"type.googleapis.com/arrow.flight.protocol.sql.{name}")
    desc = flight.FlightDescriptor.for_command(wrapper.SerializeToString())
    with pytest.raises(pa.ArrowNotImplementedError) as err:
        flight_client.get_flight_info(desc, options)
    assert "Traceback" not in str(err.value) and "File " not in str(err.value)


@pytest.mark.parametrize(
    "kind", ["BeginTransaction", "EndSavepoint", "CreatePreparedSubstraitPlan"]
)
def test_unsupported_actions_are_unimplemented(client: Any, kind: str) -> None:
    flight_client, options = client
    with pytest.raises(pa.ArrowNotImplementedError, match="not supported"):
        action(flight_client, options, kind, b"")


@pytest.mark.parametrize(
    ("sql", "error", "text"),
    [
        ("SELEC 1", pa.ArrowInvalid, "unknown statement 'SELEC'"),
        ("SELECT * FROM nope", pa.ArrowKeyError, "Unknown table 'nope'"),
        ("SELECT nope FROM data", pa.ArrowInvalid, "nope"),
        ("SELECT * FROM read_parquet('x.parquet')", pa.ArrowInvalid, "read_parquet"),
        ("DROP TABLE data", pa.ArrowInvalid, "not allowed"),
        ("COPY (SELECT 1) TO 'x.parquet'", pa.ArrowInvalid, "COPY is not allowed here"),
    ],
)
def test_errors_are_one_sentence_with_the_right_code(
    client: Any, sql: str, error: type, text: str
) -> None:
    flight_client, options = client
    with pytest.raises(error) as err:
        flight_client.get_flight_info(statement(sql), options)
    message = str(err.value)
    assert text in message
    assert "Traceback" not in message and ".py" not in message


def test_garbage_requests_are_clean_errors(client: Any) -> None:
    flight_client, options = client
    for body in (b"", b"\x00\x01garbage", proto.pack(proto.sql("CommandGetCatalogs")())):
        with pytest.raises(pa.ArrowInvalid):
            action(flight_client, options, "CreatePreparedStatement", body)
    with pytest.raises(pa.ArrowInvalid):
        flight_client.get_flight_info(flight.FlightDescriptor.for_path("data"), options)
    with pytest.raises(pa.ArrowInvalid):
        flight_client.do_get(flight.Ticket(b"not a ticket"), options).read_all()
    handle = proto.pack(proto.sql("TicketStatementQuery")(statement_handle=b"0" * 16))
    with pytest.raises(pa.ArrowInvalid, match="Unknown or expired ticket"):
        flight_client.do_get(flight.Ticket(handle), options).read_all()


# -- auth --------------------------------------------------------------------------------------


def _every_rpc(client: flight.FlightClient, options: Any) -> list[tuple[str, Any]]:
    desc = statement("SELECT 1")
    return [
        ("GetFlightInfo", lambda: client.get_flight_info(desc, options)),
        ("GetSchema", lambda: client.get_schema(desc, options)),
        ("DoGet", lambda: client.do_get(flight.Ticket(proto.pack(
            proto.sql("CommandGetCatalogs")())), options).read_all()),
        ("DoPut", lambda: client.do_put(desc, pa.schema([("a", pa.int64())]), options)[0].close()),
        ("DoAction", lambda: list(client.do_action(flight.Action("GetSessionOptions", b""), options))),
        ("ListActions", lambda: client.list_actions(options)),
        ("ListFlights", lambda: list(client.list_flights(b"", options))),
    ]  # fmt: skip


def test_every_rpc_needs_a_valid_token_when_auth_is_on(secure_server: Running) -> None:
    client = secure_server.flight_client()
    authenticator = secure_server.server.authenticator
    expired = authenticator.issue("analyst", now=time.time() - 10 * 24 * 3600)
    forged = authenticator.issue("analyst") + "x"
    for headers in ([], [(b"authorization", f"Bearer {expired}".encode())],
                    [(b"authorization", f"Bearer {forged}".encode())],
                    [(b"authorization", b"Basic YW5hbHlzdDp3cm9uZw==")]):  # fmt: skip
        options = flight.FlightCallOptions(headers=headers)
        for name, call in _every_rpc(client, options):
            # DoPut reports the status when the stream closes, as a plain OSError.
            with pytest.raises((flight.FlightUnauthenticatedError, OSError)) as err:
                call()
            assert "Unauthenticated" in str(err.value), name
    with pytest.raises(flight.FlightUnauthenticatedError):
        client.authenticate_basic_token(b"analyst", b"wrong")
    header = client.authenticate_basic_token(b"analyst", b"correct horse battery staple")
    assert header[0] == b"authorization" and header[1].startswith(b"Bearer ")
    # The issued token works, and a Bearer handshake (JDBC token=) is accepted.
    options = flight.FlightCallOptions(headers=[header])
    assert client.list_actions(options)
    client.close()


def test_tickets_belong_to_their_user(efs_server: Running) -> None:
    client = efs_server.flight_client()
    info = client.get_flight_info(statement("SELECT 1 AS one"))
    state = efs_server.server.state
    handle = proto.unpack(info.endpoints[0].ticket.ticket)[1].statement_handle
    with pytest.raises(Exception, match="Unknown or expired ticket"):
        state.take_ticket(handle, "someone-else")
    assert fetch(client, info, flight.FlightCallOptions()).column("one").to_pylist() == [1]
    client.close()


def test_updates_through_do_put_are_refused_or_read_only(client: Any) -> None:
    flight_client, options = client
    refused = descriptor("CommandStatementUpdate", query="DROP TABLE test_efs.data")
    writer, _ = flight_client.do_put(refused, pa.schema([]), options)
    with pytest.raises(pa.ArrowInvalid, match="not allowed"):
        writer.close()
    # A read statement sent as an update runs and reports its row count (ADBC executemany).
    counted = descriptor("CommandStatementUpdate", query="SELECT DISTINCT geography FROM data")
    writer, metadata = flight_client.do_put(counted, pa.schema([]), options)
    writer.done_writing()
    result = proto.sql("DoPutUpdateResult").FromString(metadata.read().to_pybytes())
    writer.close()
    assert result.record_count == 8
