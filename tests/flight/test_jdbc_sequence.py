"""The Flight SQL JDBC driver's call sequence (DBeaver, Tableau), replayed with the raw
client because the driver's jar cannot be installed here (flight-sql.md §1.5, §4)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.flight as flight

from dsgrid_sql.flight_server import proto

from .conftest import PASSWORD, USER, Running
from .test_protocol import SQL_INFO_CHILDREN, union_children


class _BearerHandshake(flight.ClientAuthHandler):
    """JDBC's token= connections: a Handshake carrying only an Authorization header."""

    def authenticate(self, outgoing: Any, incoming: Any) -> None:
        pass

    def get_token(self) -> bytes:
        return b""


def _get(client: flight.FlightClient, options: Any, name: str, **fields: Any) -> pa.Table:
    desc = flight.FlightDescriptor.for_command(proto.pack(proto.sql(name)(**fields)))
    info = client.get_flight_info(desc, options)
    table = client.do_get(info.endpoints[0].ticket, options).read_all()
    assert table.schema.equals(info.schema)
    return table


def _action(client: flight.FlightClient, options: Any, kind: str, body: bytes) -> list[bytes]:
    return [r.body.to_pybytes() for r in client.do_action(flight.Action(kind, body), options)]


def test_jdbc_driver_sequence(secure_server: Running) -> None:
    client = secure_server.flight_client()
    before = secure_server.server.state.counts()

    # 1. user/password: Basic handshake, Bearer back; token=: a Bearer handshake.
    header = client.authenticate_basic_token(USER.encode(), PASSWORD.encode())
    assert header[0] == b"authorization" and header[1].startswith(b"Bearer ")
    options = flight.FlightCallOptions(headers=[header])
    client.authenticate(_BearerHandshake(), options=options)

    # 2. The first DatabaseMetaData getter: GetSqlInfo with no ids means all of them.
    child_of = union_children(_get(client, options, "CommandGetSqlInfo"))
    for child, ids in SQL_INFO_CHILDREN.items():
        assert all(child_of.get(i) == child for i in ids), child

    # 3. Browsing: catalogs, schemas, tables, then columns (tables with their schemas).
    catalogs = _get(client, options, "CommandGetCatalogs")
    assert catalogs.column("catalog_name").to_pylist() == ["dsgrid"]
    schemas = _get(
        client, options, "CommandGetDbSchemas", catalog="dsgrid", db_schema_filter_pattern="%"
    )
    assert "test_efs" in schemas.column("db_schema_name").to_pylist()
    tables = _get(client, options, "CommandGetTables", catalog="dsgrid", include_schema=False)
    assert all(f.type == pa.utf8() for f in tables.schema)
    with_schemas = _get(client, options, "CommandGetTables", catalog="dsgrid", include_schema=True)
    assert with_schemas.schema.field("table_schema").type == pa.binary()
    assert with_schemas.num_rows == tables.num_rows
    for raw in with_schemas.column("table_schema").to_pylist():
        schema = pa.ipc.read_schema(pa.py_buffer(raw))
        assert len(schema) > 0
        for field in schema:  # JDBC getColumns reads TYPE_NAME from the field metadata
            assert b"ARROW:FLIGHT:SQL:TYPE_NAME" in field.metadata
    for name, fields in [
        ("CommandGetPrimaryKeys", {"catalog": "dsgrid", "db_schema": "test_efs", "table": "data"}),
        ("CommandGetImportedKeys", {"table": "data"}),
        ("CommandGetExportedKeys", {"table": "data"}),
        ("CommandGetCrossReference", {"pk_table": "data", "fk_table": "data"}),
    ]:
        assert _get(client, options, name, **fields).num_rows == 0

    # 4. Statement.executeQuery always prepares; SELECTs need a non-empty dataset schema.
    for sql in [
        "SELECT us_states, SUM(value) AS v FROM test_efs.data WHERE model_year = ? GROUP BY 1",
        "SELECT * FROM test_efs.data LIMIT 5",
        "SHOW TABLES IN test_efs",
        "DESCRIBE test_efs.data",
    ]:
        request = proto.sql("ActionCreatePreparedStatementRequest")(query=sql)
        (answer,) = _action(client, options, "CreatePreparedStatement", proto.pack(request))
        _, prepared = proto.unpack(answer)
        dataset = pa.ipc.read_schema(pa.py_buffer(prepared.dataset_schema))
        assert len(dataset) > 0 and prepared.HasField("is_update") and not prepared.is_update
        command = flight.FlightDescriptor.for_command(
            proto.pack(
                proto.sql("CommandPreparedStatementQuery")(
                    prepared_statement_handle=prepared.prepared_statement_handle
                )
            )
        )
        if "?" in sql:
            years = _get(client, options, "CommandStatementQuery",
                         query="SELECT DISTINCT model_year FROM test_efs.data")  # fmt: skip
            params = pa.table({"p": [years.column(0)[0].as_py()]})
            writer, _ = client.do_put(command, params.schema, options)
            writer.write_table(params)
            writer.close()
        info = client.get_flight_info(command, options)
        table = client.do_get(info.endpoints[0].ticket, options).read_all()
        assert table.num_rows > 0
        assert table.schema.names == dataset.names
        close = proto.sql("ActionClosePreparedStatementRequest")(
            prepared_statement_handle=prepared.prepared_statement_handle
        )
        _action(client, options, "ClosePreparedStatement", proto.pack(close))

    # 5. catalog= in the URL: SetSessionOptions at connect; CloseSession at close.
    request = proto.flight("SetSessionOptionsRequest")()
    request.session_options["catalog"].string_value = "dsgrid"
    (answer,) = _action(client, options, "SetSessionOptions", request.SerializeToString())
    assert not proto.flight("SetSessionOptionsResult").FromString(answer).errors
    request.session_options["catalog"].string_value = "unknown"
    (answer,) = _action(client, options, "SetSessionOptions", request.SerializeToString())
    errors = proto.flight("SetSessionOptionsResult").FromString(answer).errors
    assert errors["catalog"].value == 2  # INVALID_VALUE
    (answer,) = _action(client, options, "CloseSession", b"")
    assert proto.flight("CloseSessionResult").FromString(answer).status == 1
    counts = secure_server.server.state.counts()
    assert counts["prepared"] == before["prepared"] and counts["tickets"] == before["tickets"]
    assert counts["running"] == 0
    client.close()
