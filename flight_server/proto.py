"""The Flight SQL protobuf messages, built at import time into a private descriptor pool.

pyarrow ships no Flight SQL classes and no ``.proto`` files. Other packages that generate the
same messages (a client library loaded into the same process, say) register them in
protobuf's default pool, where a second registration fails with "duplicate symbol". So the
messages are described here in code — field names and numbers as the Flight SQL
specification fixes them — and built into a pool of our own: no protoc at run time and no
clash with any other copy.

Only the messages the server reads or writes are described. Requests the server refuses
(updates, ingest, Substrait, transactions) are recognised by their type URL alone.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError, Message

from .status import ProtocolError

SQL_PACKAGE = "arrow.flight.protocol.sql"
FLIGHT_PACKAGE = "arrow.flight.protocol"
TYPE_URL_PREFIX = "type.googleapis.com/"

_F = descriptor_pb2.FieldDescriptorProto
STRING, BYTES, BOOL = _F.TYPE_STRING, _F.TYPE_BYTES, _F.TYPE_BOOL
UINT32, INT32, INT64 = _F.TYPE_UINT32, _F.TYPE_INT32, _F.TYPE_INT64
SFIXED64, DOUBLE = _F.TYPE_SFIXED64, _F.TYPE_DOUBLE
MESSAGE, ENUM = _F.TYPE_MESSAGE, _F.TYPE_ENUM

# (name, number, type, flags, type_name). Flags: "repeated", "optional" (proto3 explicit
# presence), "oneof:<name>".
Field = tuple[str, int, int, str, str]


def _f(name: str, number: int, kind: int, flags: str = "", type_name: str = "") -> Field:
    return (name, number, kind, flags, type_name)


# The key commands name one table the same way.
_TABLE_REFERENCE = [
    _f("catalog", 1, STRING, "optional"),
    _f("db_schema", 2, STRING, "optional"),
    _f("table", 3, STRING),
]

SQL_MESSAGES: dict[str, list[Field]] = {
    "CommandGetSqlInfo": [_f("info", 1, UINT32, "repeated")],
    "CommandGetXdbcTypeInfo": [_f("data_type", 1, INT32, "optional")],
    "CommandGetCatalogs": [],
    "CommandGetDbSchemas": [
        _f("catalog", 1, STRING, "optional"),
        _f("db_schema_filter_pattern", 2, STRING, "optional"),
    ],
    "CommandGetTables": [
        _f("catalog", 1, STRING, "optional"),
        _f("db_schema_filter_pattern", 2, STRING, "optional"),
        _f("table_name_filter_pattern", 3, STRING, "optional"),
        _f("table_types", 4, STRING, "repeated"),
        _f("include_schema", 5, BOOL),
    ],
    "CommandGetTableTypes": [],
    "CommandGetPrimaryKeys": _TABLE_REFERENCE,
    "CommandGetExportedKeys": _TABLE_REFERENCE,
    "CommandGetImportedKeys": _TABLE_REFERENCE,
    "CommandGetCrossReference": [
        _f("pk_catalog", 1, STRING, "optional"),
        _f("pk_db_schema", 2, STRING, "optional"),
        _f("pk_table", 3, STRING),
        _f("fk_catalog", 4, STRING, "optional"),
        _f("fk_db_schema", 5, STRING, "optional"),
        _f("fk_table", 6, STRING),
    ],
    "ActionCreatePreparedStatementRequest": [
        _f("query", 1, STRING),
        _f("transaction_id", 2, BYTES, "optional"),
    ],
    "ActionCreatePreparedStatementResult": [
        _f("prepared_statement_handle", 1, BYTES),
        _f("dataset_schema", 2, BYTES),
        _f("parameter_schema", 3, BYTES),
        _f("is_update", 4, BOOL, "optional"),
    ],
    "ActionClosePreparedStatementRequest": [_f("prepared_statement_handle", 1, BYTES)],
    "CommandStatementQuery": [
        _f("query", 1, STRING),
        _f("transaction_id", 2, BYTES, "optional"),
    ],
    "TicketStatementQuery": [_f("statement_handle", 1, BYTES)],
    "CommandStatementUpdate": [
        _f("query", 1, STRING),
        _f("transaction_id", 2, BYTES, "optional"),
    ],
    "CommandPreparedStatementUpdate": [_f("prepared_statement_handle", 1, BYTES)],
    "CommandPreparedStatementQuery": [_f("prepared_statement_handle", 1, BYTES)],
    "DoPutUpdateResult": [_f("record_count", 1, INT64)],
    "DoPutPreparedStatementResult": [_f("prepared_statement_handle", 1, BYTES, "optional")],
    # The deprecated CancelQuery action: ``info`` holds a serialized FlightInfo.
    "ActionCancelQueryRequest": [_f("info", 1, BYTES)],
    "ActionCancelQueryResult": [_f("result", 1, ENUM, "", f".{SQL_PACKAGE}.CancelResult")],
}

SQL_ENUMS = {
    "CancelResult": ["UNSPECIFIED", "CANCELLED", "CANCELLING", "NOT_CANCELLABLE"],
}

# Flight-level actions (not Any-wrapped). ``CancelFlightInfoRequest.info`` is a FlightInfo
# message; declaring it as bytes keeps the wire format and lets pyarrow decode it.
FLIGHT_MESSAGES: dict[str, list[Field]] = {
    "CancelFlightInfoRequest": [_f("info", 1, BYTES)],
    "CancelFlightInfoResult": [_f("status", 1, ENUM, "", f".{FLIGHT_PACKAGE}.CancelStatus")],
    "SessionOptionValue": [
        _f("string_value", 1, STRING, "oneof:option_value"),
        _f("bool_value", 2, BOOL, "oneof:option_value"),
        _f("int64_value", 3, SFIXED64, "oneof:option_value"),
        _f("double_value", 4, DOUBLE, "oneof:option_value"),
        _f(
            "string_list_value",
            5,
            MESSAGE,
            "oneof:option_value",
            f".{FLIGHT_PACKAGE}.SessionOptionValue.StringListValue",
        ),
    ],
    "SetSessionOptionsRequest": [],  # map field added below
    "SetSessionOptionsResult": [],
    "GetSessionOptionsRequest": [],
    "GetSessionOptionsResult": [],
    "CloseSessionRequest": [],
    "CloseSessionResult": [
        _f("status", 1, ENUM, "", f".{FLIGHT_PACKAGE}.CloseSessionResult.Status")
    ],
}

FLIGHT_ENUMS = {
    "CancelStatus": ["UNSPECIFIED", "CANCELLED", "CANCELLING", "NOT_CANCELLABLE"],
}


def _add_fields(message: descriptor_pb2.DescriptorProto, fields: list[Field]) -> None:
    oneofs: dict[str, int] = {}
    for name, number, kind, flags, type_name in fields:
        field = message.field.add(name=name, number=number, type=kind)
        field.label = _F.LABEL_REPEATED if flags == "repeated" else _F.LABEL_OPTIONAL
        if type_name:
            field.type_name = type_name
        if flags == "optional":
            # proto3 `optional`: a synthetic one-field oneof named "_<field>".
            field.proto3_optional = True
            field.oneof_index = len(message.oneof_decl)
            message.oneof_decl.add(name=f"_{name}")
        elif flags.startswith("oneof:"):
            group = flags.split(":", 1)[1]
            if group not in oneofs:
                oneofs[group] = len(message.oneof_decl)
                message.oneof_decl.add(name=group)
            field.oneof_index = oneofs[group]


def _add_enum(container: Any, name: str, values: list[str]) -> None:
    enum = container.enum_type.add(name=name)
    for number, value in enumerate(values):
        enum.value.add(name=value, number=number)


def _add_map(
    message: descriptor_pb2.DescriptorProto,
    full_name: str,
    name: str,
    number: int,
    value_type: str,
) -> None:
    """A ``map<string, Message>`` field: a nested *Entry message plus a repeated field."""
    entry_name = "".join(part.capitalize() for part in name.split("_")) + "Entry"
    entry = message.nested_type.add(name=entry_name)
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=STRING, label=_F.LABEL_OPTIONAL)
    entry.field.add(
        name="value", number=2, type=MESSAGE, type_name=value_type, label=_F.LABEL_OPTIONAL
    )
    message.field.add(
        name=name,
        number=number,
        type=MESSAGE,
        label=_F.LABEL_REPEATED,
        type_name=f".{full_name}.{entry_name}",
    )


def _file(name: str, package: str) -> descriptor_pb2.FileDescriptorProto:
    return descriptor_pb2.FileDescriptorProto(
        name=f"dsgrid_sql/{name}", package=package, syntax="proto3"
    )


def _build_pool() -> descriptor_pool.DescriptorPool:
    sql = _file("flight_sql.proto", SQL_PACKAGE)
    for enum_name, values in SQL_ENUMS.items():
        _add_enum(sql, enum_name, values)
    for name, fields in SQL_MESSAGES.items():
        message = sql.message_type.add(name=name)
        _add_fields(message, fields)

    flight = _file("flight.proto", FLIGHT_PACKAGE)
    for enum_name, values in FLIGHT_ENUMS.items():
        _add_enum(flight, enum_name, values)
    messages: dict[str, descriptor_pb2.DescriptorProto] = {}
    for name in FLIGHT_MESSAGES:
        messages[name] = flight.message_type.add(name=name)
    option_value = messages["SessionOptionValue"]
    string_list = option_value.nested_type.add(name="StringListValue")
    string_list.field.add(name="values", number=1, type=STRING, label=_F.LABEL_REPEATED)
    set_result = messages["SetSessionOptionsResult"]
    _add_enum(set_result, "ErrorValue", ["UNSPECIFIED", "INVALID_NAME", "INVALID_VALUE", "ERROR"])
    error = set_result.nested_type.add(name="Error")
    error.field.add(
        name="value",
        number=1,
        type=ENUM,
        label=_F.LABEL_OPTIONAL,
        type_name=f".{FLIGHT_PACKAGE}.SetSessionOptionsResult.ErrorValue",
    )
    _add_enum(
        messages["CloseSessionResult"],
        "Status",
        ["UNSPECIFIED", "CLOSED", "CLOSING", "NOT_CLOSEABLE"],
    )
    for name, fields in FLIGHT_MESSAGES.items():
        _add_fields(messages[name], fields)
    value_type = f".{FLIGHT_PACKAGE}.SessionOptionValue"
    for name, field, entry_type in (
        ("SetSessionOptionsRequest", "session_options", value_type),
        ("SetSessionOptionsResult", "errors", f".{FLIGHT_PACKAGE}.SetSessionOptionsResult.Error"),
        ("GetSessionOptionsResult", "session_options", value_type),
    ):
        _add_map(messages[name], f"{FLIGHT_PACKAGE}.{name}", field, 1, entry_type)

    pool = descriptor_pool.DescriptorPool()
    pool.Add(sql)
    pool.Add(flight)
    return pool


POOL = _build_pool()


def message_class(full_name: str) -> type[Message]:
    return message_factory.GetMessageClass(POOL.FindMessageTypeByName(full_name))


def sql(name: str) -> type[Message]:
    """A Flight SQL message class, e.g. ``sql("CommandGetTables")``."""
    return message_class(f"{SQL_PACKAGE}.{name}")


def flight(name: str) -> type[Message]:
    """A Flight-level action message class, e.g. ``flight("CancelFlightInfoRequest")``."""
    return message_class(f"{FLIGHT_PACKAGE}.{name}")


def pack(message: Message) -> bytes:
    """A message wrapped in ``google.protobuf.Any``, serialized (commands, tickets, actions)."""
    wrapper = any_pb2.Any()
    wrapper.Pack(message)
    return wrapper.SerializeToString()


def type_name_of(data: bytes) -> str:
    """The unqualified Flight SQL message name inside serialized ``Any`` bytes."""
    wrapper = any_pb2.Any()
    try:
        wrapper.ParseFromString(data)
    except DecodeError:
        raise ProtocolError("The request is not a Flight SQL command.") from None
    url = wrapper.type_url
    if not url.startswith(TYPE_URL_PREFIX + SQL_PACKAGE + "."):
        raise ProtocolError("The request is not a Flight SQL command.")
    return url[len(TYPE_URL_PREFIX + SQL_PACKAGE) + 1 :]


def unpack(data: bytes) -> tuple[str, Message | None]:
    """(message name, message) from serialized ``Any`` bytes. The message is None for a
    Flight SQL message the server does not describe (it refuses those by name)."""
    name = type_name_of(data)
    if name not in SQL_MESSAGES:
        return name, None
    wrapper = any_pb2.Any()
    wrapper.ParseFromString(data)
    message = sql(name)()
    try:
        message.ParseFromString(wrapper.value)
    except DecodeError:
        raise ProtocolError(f"The {name} message could not be decoded.") from None
    return name, message


def parse(cls: type[Message], data: bytes) -> Message:
    """A raw (not Any-wrapped) Flight action body."""
    message = cls()
    try:
        message.ParseFromString(data)
    except DecodeError:
        raise ProtocolError(f"The {cls.DESCRIPTOR.name} message could not be decoded.") from None
    return message
