"""Protocol building blocks, without a server: messages, fixed schemas, SqlInfo, patterns,
tokens and passwords."""

from __future__ import annotations

import time

import pyarrow as pa
import pytest
from google.protobuf import any_pb2

from dsgrid_sql.flight_server import proto
from dsgrid_sql.flight_server.auth import Authenticator, hash_password, verify_password
from dsgrid_sql.flight_server.metadata import matches
from dsgrid_sql.flight_server.sqlinfo import sql_info_table
from dsgrid_sql.flight_server.status import LimitError
from dsgrid_sql.flight_server.streaming import Limits, conform, declared_schema, split


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, wire: int, payload: bytes) -> bytes:
    key = _varint(number << 3 | wire)
    return key + (_varint(len(payload)) + payload if wire == 2 else payload)


def test_messages_use_the_specified_field_numbers_on_the_wire() -> None:
    # Encoded by hand from the Flight SQL field table, not by our descriptors.
    tables = proto.sql("CommandGetTables")(
        catalog="dsgrid", table_name_filter_pattern="d%", include_schema=True
    )
    expected = _field(1, 2, b"dsgrid") + _field(3, 2, b"d%") + _field(5, 0, b"\x01")
    assert tables.SerializeToString() == expected

    result = proto.sql("ActionCreatePreparedStatementResult")(
        prepared_statement_handle=b"h", dataset_schema=b"s", parameter_schema=b"", is_update=False
    )
    assert result.SerializeToString() == _field(1, 2, b"h") + _field(2, 2, b"s") + _field(
        4, 0, b"\x00"
    )
    info = proto.sql("CommandGetSqlInfo")(info=[0, 504])
    assert info.SerializeToString() == _field(1, 2, b"\x00\xf8\x03")  # packed repeated uint32


def test_any_wrapping_round_trips_with_the_flight_sql_type_url() -> None:
    data = proto.pack(proto.sql("CommandStatementQuery")(query="SELECT 1"))
    wrapper = any_pb2.Any()
    wrapper.ParseFromString(data)
    assert (
        wrapper.type_url == "type.googleapis.com/arrow.flight.protocol.sql.CommandStatementQuery"
    )
    name, message = proto.unpack(data)
    assert name == "CommandStatementQuery" and message.query == "SELECT 1"


def test_unknown_and_refused_messages_are_named_not_decoded() -> None:
    wrapper = any_pb2.Any(
        type_url="type.googleapis.com/arrow.flight.protocol.sql.CommandStatementIngest", value=b""
    )
    assert proto.unpack(wrapper.SerializeToString()) == ("CommandStatementIngest", None)
    with pytest.raises(proto.ProtocolError):
        proto.unpack(b"\xff\xff\xff garbage")
    other = any_pb2.Any(type_url="type.googleapis.com/some.Other", value=b"")
    with pytest.raises(proto.ProtocolError):
        proto.unpack(other.SerializeToString())


def test_session_option_maps_and_oneofs() -> None:
    request = proto.flight("SetSessionOptionsRequest")()
    request.session_options["catalog"].string_value = "dsgrid"
    request.session_options["flag"].bool_value = True
    decoded = proto.flight("SetSessionOptionsRequest").FromString(request.SerializeToString())
    assert decoded.session_options["catalog"].WhichOneof("option_value") == "string_value"
    assert decoded.session_options["flag"].bool_value is True
    result = proto.flight("SetSessionOptionsResult")()
    result.errors["x"].value = 2
    assert result.SerializeToString() == _field(
        1, 2, _field(1, 2, b"x") + _field(2, 2, _field(1, 0, b"\x02"))
    )


def test_private_pool_coexists_with_the_default_pool() -> None:
    from google.protobuf import descriptor_pool

    default = descriptor_pool.Default()
    with pytest.raises(KeyError):
        default.FindMessageTypeByName("arrow.flight.protocol.sql.CommandGetTables")


SQL_INFO_CHILDREN = {
    "string_value": [0, 1, 2, 504, 513, 514, 529, 530, 531],
    "bool_value": [3, 4, 5, 9, 515, 516, 518, 519, 520, 521, 523, 524, 527, 532, 536, 537, 539,
                   556, 563, 565, 566, 572, 573, 574, 575, 576],
    "bigint_value": [*range(541, 556), *range(557, 563)],
    "int32_bitmask": [8, 100, 101, 522, 525, 526, 528, 533, 534, 535, 538, 540, 564, 567],
    "string_list": [508, 509, 510, 511, 512],
    "int32_to_int32_list_map": [517],
}  # fmt: skip


def union_children(table: pa.Table) -> dict[int, str]:
    """SqlInfo id → the name of the union child its value is in."""
    values = table.column("value").combine_chunks()
    union_type = values.type
    return {
        info_id: union_type.field(union_type.type_codes.index(code)).name
        for info_id, code in zip(
            table.column("info_name").to_pylist(), values.type_codes.to_pylist(), strict=True
        )
    }


def test_sql_info_answers_every_jdbc_id_in_its_union_child() -> None:
    table = sql_info_table()
    values = table.column("value").combine_chunks()
    by_id = union_children(table)
    for child, ids in SQL_INFO_CHILDREN.items():
        for info_id in ids:
            assert by_id.get(info_id) == child, info_id
    expected = pa.schema(
        [
            pa.field("info_name", pa.uint32(), nullable=False),
            pa.field(
                "value",
                pa.dense_union(
                    [
                        pa.field("string_value", pa.utf8(), nullable=False),
                        pa.field("bool_value", pa.bool_(), nullable=False),
                        pa.field("bigint_value", pa.int64(), nullable=False),
                        pa.field("int32_bitmask", pa.int32(), nullable=False),
                        pa.field("string_list", pa.list_(pa.utf8()), nullable=False),
                        pa.field(
                            "int32_to_int32_list_map",
                            pa.map_(pa.int32(), pa.list_(pa.int32())),
                            nullable=False,
                        ),
                    ],
                    type_codes=[0, 1, 2, 3, 4, 5],
                ),
                nullable=False,
            ),
        ]
    )
    assert table.schema.equals(expected)
    table.validate(full=True)
    rows = dict(zip(table.column("info_name").to_pylist(), values.to_pylist(), strict=True))
    assert rows[0] == "dsgrid-sql" and rows[3] is True and rows[504] == '"'
    assert "SELECT" in rows[508] and "SUM" not in rows[509] and "ROUND" in rows[509]


def test_sql_info_filters_ids_and_skips_unknown_ones() -> None:
    table = sql_info_table([0, 3, 99999])
    assert table.column("info_name").to_pylist() == [0, 3]
    assert sql_info_table([99999]).num_rows == 0


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("%", "anything", True),
        ("test\\_efs", "test_efs", True),
        ("test\\_efs", "testXefs", False),
        ("test_efs", "testXefs", True),
        ("t%s", "test_efs", True),
        ("T%", "test_efs", False),  # case-sensitive, as the names are
        ("SELECT * FROM data LIMIT 2", "data", False),
        ("a.b", "axb", False),  # regex characters are literal
        ("100\\%", "100%", True),
        ("trailing\\", "trailing\\", True),
    ],
)
def test_like_patterns(pattern: str, value: str, expected: bool) -> None:
    assert matches(pattern, value) is expected


def test_password_hashes_and_tokens() -> None:
    # A password with a space: it cannot turn up by chance in the hash's base64 salt (two
    # letters such as "pw" did, now and then).
    stored = hash_password("p w")
    assert stored.startswith("scrypt$") and "p w" not in stored
    assert verify_password("p w", stored) and not verify_password("P W", stored)
    assert not verify_password("p w", "plain text")
    auth = Authenticator({"ana": stored}, ttl_s=60)
    token = auth.issue("ana")
    assert auth.verify(token) == "ana"
    assert auth.verify(token, now=time.time() + 61) is None  # expired
    assert auth.verify(token[:-2] + "xx") is None  # forged signature
    assert Authenticator({"ana": stored}).verify(token) is None  # another server's secret
    # A token lives at least its TTL, whatever fraction of a second it was issued at.
    short = Authenticator({"ana": stored}, ttl_s=1)
    late = short.issue("ana", now=1000.95)
    assert short.verify(late, now=1001.9) == "ana"
    assert short.verify(late, now=1002.0) is None
    assert auth.check_password("ana", "p w") and not auth.check_password("bob", "p w")


def test_declared_schema_and_conform_keep_exact_types() -> None:
    raw = pa.schema(
        [
            pa.field("s", pa.large_string(), nullable=False),
            pa.field("t", pa.timestamp("ns", tz="UTC")),
            pa.field("d", pa.dictionary(pa.int32(), pa.string())),
        ]
    )
    declared = declared_schema(raw)
    assert [f.type for f in declared] == [pa.string(), pa.timestamp("us", tz="UTC"), pa.string()]
    assert all(f.nullable for f in declared)
    assert declared.field("s").metadata[b"ARROW:FLIGHT:SQL:TYPE_NAME"] == b"VARCHAR"
    batch = pa.record_batch(
        [
            pa.array(["a"], pa.large_string()),
            pa.array([0], pa.timestamp("ns", tz="UTC")),
            pa.array(["x"]).dictionary_encode(),
        ],
        schema=raw,
    )
    assert conform(batch, declared).schema.equals(declared, check_metadata=True)


def test_split_keeps_batches_under_the_byte_target() -> None:
    batch = pa.record_batch([pa.array(range(100_000), pa.int64())], names=["x"])
    pieces = list(split(batch, max_bytes=80_000, max_rows=1_000_000))
    assert sum(p.num_rows for p in pieces) == 100_000
    assert max(p.nbytes for p in pieces) <= 80_000
    assert list(split(batch.slice(0, 0), 1000, 1000)) == []


def test_limits_raise_instead_of_truncating() -> None:
    limits = Limits(max_rows=10)
    limits.add(pa.record_batch([pa.array(range(10))], names=["x"]))
    with pytest.raises(LimitError, match="more than 10 rows"):
        limits.add(pa.record_batch([pa.array([1])], names=["x"]))
