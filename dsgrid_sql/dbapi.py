"""A PEP 249 (DB-API 2.0) interface over a dsgrid-sql session, for tools that take one.

>>> from dsgrid_sql import dbapi
>>> conn = dbapi.connect("registry.db")  # doctest: +SKIP
>>> cur = conn.cursor(); cur.execute("SELECT us_states, SUM(value) FROM data GROUP BY 1")
>>> cur.fetchall()  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa

from dsgrid_sql.errors import (
    DsgridSqlError,
    ExportError,
    QueryCancelledError,
    QueryExecutionError,
)

apilevel = "2.0"
threadsafety = 1  # threads may share the module, not connections
paramstyle = "qmark"


class Warning(Exception):  # the name PEP 249 requires
    pass


class Error(Exception):
    pass


class InterfaceError(Error):
    pass


class DatabaseError(Error):
    pass


class DataError(DatabaseError):
    pass


class OperationalError(DatabaseError):
    pass


class IntegrityError(DatabaseError):
    pass


class InternalError(DatabaseError):
    pass


class ProgrammingError(DatabaseError):
    pass


class NotSupportedError(DatabaseError):
    pass


def _translate_error(exc: DsgridSqlError) -> DatabaseError:
    """The PEP 249 class for an error; the message stays the one users see everywhere."""
    if isinstance(exc, QueryExecutionError | QueryCancelledError | ExportError):
        error: DatabaseError = OperationalError(exc.message)
    else:
        error = ProgrammingError(exc.message)
    error.code = exc.code  # type: ignore[attr-defined]
    error.hint = exc.hint  # type: ignore[attr-defined]
    return error


STRING, NUMBER, DATETIME, BINARY, ROWID = "STRING", "NUMBER", "DATETIME", "BINARY", "ROWID"


def _type_code(arrow_type: pa.DataType) -> str:
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return STRING
    if (
        pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_decimal(arrow_type)
    ):
        return NUMBER
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type):
        return DATETIME
    if pa.types.is_binary(arrow_type):
        return BINARY
    return str(arrow_type)


class Cursor:
    arraysize = 1000

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._table: pa.Table | None = None
        self._rows: Iterator[tuple[Any, ...]] | None = None
        self.rowcount = -1
        self.description: list[tuple[Any, ...]] | None = None
        self._closed = False

    def execute(
        self, operation: str, parameters: Sequence[Any] | dict[str, Any] | None = None
    ) -> Cursor:
        self._check_open()
        try:
            table = self.connection.session.sql(operation, parameters or None).to_arrow()
        except DsgridSqlError as exc:
            raise _translate_error(exc) from exc
        self._table = table
        self.rowcount = table.num_rows
        self.description = [
            (f.name, _type_code(f.type), None, None, None, None, f.nullable) for f in table.schema
        ]
        columns = [c.to_pylist() for c in table.columns]
        self._rows = iter(zip(*columns, strict=True)) if columns else iter(())
        return self

    def executemany(self, operation: str, seq_of_parameters: Sequence[Sequence[Any]]) -> None:
        for parameters in seq_of_parameters:
            self.execute(operation, parameters)

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self._require_rows()
        return next(rows, None)

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        rows = self._require_rows()
        count = size or self.arraysize
        return [row for _, row in zip(range(count), rows, strict=False)]

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self._require_rows())

    def fetch_arrow_table(self) -> pa.Table:
        if self._table is None:
            raise ProgrammingError("No query has been executed.")
        return self._table

    def setinputsizes(self, sizes: Any) -> None:
        pass

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        pass

    def close(self) -> None:
        self._closed = True
        self._table = None
        self._rows = None

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return self._require_rows()

    def _require_rows(self) -> Iterator[tuple[Any, ...]]:
        self._check_open()
        if self._rows is None:
            raise ProgrammingError("No query has been executed.")
        return self._rows

    def _check_open(self) -> None:
        if self._closed or self.connection.closed:
            raise InterfaceError("The cursor is closed.")


class Connection:
    def __init__(self, session: Any) -> None:
        self.session = session
        self.closed = False

    def cursor(self) -> Cursor:
        if self.closed:
            raise InterfaceError("The connection is closed.")
        return Cursor(self)

    def commit(self) -> None:
        """Nothing to commit: the gateway is read-only."""

    def rollback(self) -> None:
        raise NotSupportedError("dsgrid-sql is read-only: there are no transactions.")

    def close(self) -> None:
        if not self.closed:
            self.session.close()
            self.closed = True

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(registry: str, **options: Any) -> Connection:
    """Open a registry; options are those of :func:`dsgrid_sql.connect`."""
    import dsgrid_sql

    try:
        return Connection(dsgrid_sql.connect(registry, **options))
    except DsgridSqlError as exc:
        raise _translate_error(exc) from exc
