"""The Arrow Flight SQL endpoint: Flight RPCs dispatched to the session, catalog and engine.

Every query goes through :class:`dsgrid_sql.Session` like any other front end; this module
decodes requests, keeps handles (state.py), streams results (streaming.py) and turns errors
into gRPC statuses (status.py). Protocol facts: ../shared/docs/flight-sql.md.
"""

from __future__ import annotations

import contextlib
import logging
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight

from dsgrid_sql.errors import DsgridSqlError, QueryCancelledError
from dsgrid_sql.jobs import JobState
from dsgrid_sql.rewrite.deadline import time_limit, timeout_error
from dsgrid_sql.service.core import ServerCore
from dsgrid_sql.session import Result

from . import jobs, metadata, proto, schemas, tls
from .auth import ANONYMOUS, AuthMiddlewareFactory, CallIdentity
from .config import ServerConfig
from .sqlinfo import sql_info_table
from .state import ClientSession, Prepared, Running, ServerState, new_handle
from .status import (
    NotSupportedError,
    ProtocolError,
    ServerBusyError,
    hide_tracebacks,
    restore_tracebacks,
    to_flight_error,
)
from .streaming import Limits, batches_for_client, declared_schema

# Statuses of the stream log line, as the metrics count them (ok, error, cancelled, timeout,
# busy).
METRIC_STATUS = {
    "ok": "ok",
    "stopped": "cancelled",
    "cancelled": "cancelled",
    "timeout": "timeout",
    "server_busy": "busy",
}

log = logging.getLogger("dsgrid_sql.flight_server")

SESSION_COOKIE = "arrow_flight_session_id"

METADATA_COMMANDS = {
    "CommandGetSqlInfo",
    "CommandGetXdbcTypeInfo",
    "CommandGetCatalogs",
    "CommandGetDbSchemas",
    "CommandGetTables",
    "CommandGetTableTypes",
    "CommandGetPrimaryKeys",
    "CommandGetExportedKeys",
    "CommandGetImportedKeys",
    "CommandGetCrossReference",
}

# Flight SQL features a read-only gateway refuses, with the reason a user reads.
REFUSED = {
    "CommandStatementIngest": "dsgrid-sql is read-only: bulk ingestion is not supported",
    "CommandStatementSubstraitPlan": "Substrait plans are not supported; send SQL",
    # actions, by their DoAction type
    "CreatePreparedSubstraitPlan": "Substrait plans are not supported; send SQL",
    "BeginTransaction": "Transactions are not supported (the data is read-only)",
    "EndTransaction": "Transactions are not supported (the data is read-only)",
    "BeginSavepoint": "Savepoints are not supported (the data is read-only)",
    "EndSavepoint": "Savepoints are not supported (the data is read-only)",
}

ACTIONS = [
    ("CreatePreparedStatement", "Prepare a SQL statement; returns its handle and schemas."),
    ("ClosePreparedStatement", "Release a prepared statement."),
    ("CancelFlightInfo", "Cancel the query behind a FlightInfo."),
    ("CancelQuery", "Cancel the query behind a FlightInfo (deprecated form)."),
    ("SetSessionOptions", "Set session options: catalog, schema, dialect, as_of."),
    ("GetSessionOptions", "Read the session options."),
    ("CloseSession", "End the session and drop its settings."),
    *jobs.ACTIONS,
]


class _NoopAuthHandler(flight.ServerAuthHandler):
    """pyarrow answers Handshake with UNIMPLEMENTED unless a handler exists; the real
    check is the auth middleware, which sees Handshake headers too."""

    def authenticate(self, outgoing: Any, incoming: Any) -> None:
        pass

    def is_valid(self, token: bytes) -> str:
        return ""


class FlightSqlServer(flight.FlightServerBase):
    def __init__(self, config: ServerConfig, core: ServerCore | None = None) -> None:
        """Serve ``config``'s registry; with ``core``, share it with the process's other
        front ends (the HTTP API), which then own it."""
        self._owns_core = core is None
        self.core = core or ServerCore(config)
        self.authenticator = self.core.authenticator
        self.config = config
        self.state = ServerState(config, self.core.engine, self.core.catalogs, self.core.admission)
        self._engine = self.core.engine
        location = config.location
        try:
            super().__init__(
                location,
                auth_handler=_NoopAuthHandler(),
                middleware={"auth": AuthMiddlewareFactory(self.authenticator)},
                **tls.server_options(config),
            )
        except BaseException:
            self.state.close()
            if self._owns_core:
                self.core.close()
            raise
        self.config.port = self.port
        hide_tracebacks()
        self._closed = False

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def uri(self) -> str:
        scheme = "grpc+tls" if self.config.tls else "grpc"
        return f"{scheme}://{self.config.host}:{self.port}"

    def close(self) -> None:
        """Stop accepting calls, cancel running queries, release the engine."""
        if self._closed:
            return
        self._closed = True
        self.state.close()
        self.shutdown()
        if self._owns_core:
            self.core.close()
        restore_tracebacks()

    # -- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _identity(context: flight.ServerCallContext) -> CallIdentity:
        identity = context.get_middleware("auth")
        return identity if identity is not None else CallIdentity(ANONYMOUS)

    def _session_key(self, context: flight.ServerCallContext) -> str:
        """The session cookie when the client sends one, else the user on this connection
        (ADBC and JDBC open one gRPC connection per client connection)."""
        identity = self._identity(context)
        return _cookie(identity.cookie, SESSION_COOKIE) or f"{identity.user}@{context.peer()}"

    def _client(self, context: flight.ServerCallContext) -> ClientSession:
        return self.state.session(self._session_key(context), self._identity(context).user)

    @contextlib.contextmanager
    def _errors(self, call: str) -> Iterator[None]:
        """Every error leaves as a gRPC status with our sentence; unexpected ones are logged
        here with their traceback and reach the client as one line."""
        try:
            yield
        except flight.FlightError:
            raise
        except DsgridSqlError as exc:
            raise to_flight_error(exc) from None
        except Exception as exc:
            log.error("%s failed", call, exc_info=True)
            raise to_flight_error(exc) from None

    def _limited(self, context: flight.ServerCallContext) -> contextlib.AbstractContextManager:
        """Parsing and translating a statement count against the query timeout, and stop
        when the client cancels the call: a huge text stops at the limit and the call's
        thread is free again (rewrite/deadline.py)."""
        return time_limit(self.config.query_timeout_s, cancelled=context.is_cancelled)

    @contextlib.contextmanager
    def _counted_planning(self, context: flight.ServerCallContext) -> Iterator[None]:
        """A statement refused before it streams (a mistake in the SQL, over its time while
        translated) is an answered statement too: the metrics count it."""
        started = time.perf_counter()
        try:
            with self._limited(context):
                yield
        except DsgridSqlError as exc:
            status = METRIC_STATUS.get(exc.code, "error")
            self.core.metrics.query("flight", status, time.perf_counter() - started)
            raise

    def _command(self, descriptor: flight.FlightDescriptor) -> tuple[str, Any]:
        if descriptor.descriptor_type != flight.DescriptorType.CMD:
            raise ProtocolError("Flight SQL requests are command descriptors; paths are not.")
        name, message = proto.unpack(descriptor.command)
        if name in REFUSED:
            raise NotSupportedError(REFUSED[name])
        if message is None:
            raise NotSupportedError(f"The Flight SQL message {name} is not supported")
        return name, message

    # -- GetFlightInfo / GetSchema ----------------------------------------------------------

    def get_flight_info(
        self, context: flight.ServerCallContext, descriptor: flight.FlightDescriptor
    ) -> flight.FlightInfo:
        with self._errors("GetFlightInfo"):
            if descriptor.descriptor_type == flight.DescriptorType.PATH:
                return self._job_info(descriptor, context)
            name, message = self._command(descriptor)
            if name in METADATA_COMMANDS:
                table = self._metadata(name, message, context)
                return self._info(descriptor, table.schema, proto.pack(message), table.num_rows)
            if name == "CommandStatementQuery":
                client = self._client(context)
                with self._counted_planning(context):
                    results = [client.session.sql(message.query)]
                    return self._query_info(descriptor, context, results)
            if name == "CommandPreparedStatementQuery":
                user = self._identity(context).user
                prepared = self.state.prepared(message.prepared_statement_handle, user)
                client = self._client(context)
                rows = prepared.parameters or ([[]] if prepared.parameter_count == 0 else [])
                if not rows:
                    raise ProtocolError(
                        f"The statement takes {prepared.parameter_count} parameter(s); "
                        "bind them before executing."
                    )
                with self._counted_planning(context):
                    results = [client.session.sql(prepared.text, row or None) for row in rows]
                    # Without parameters the result has the schema found at prepare time, as
                    # long as the registry has not changed since.
                    same = prepared.catalog() is client.session.catalog
                    known = prepared.schema if same and prepared.parameter_count == 0 else None
                    return self._query_info(descriptor, context, results, known)
            raise NotSupportedError(f"{name} cannot be used with GetFlightInfo")

    def get_schema(
        self, context: flight.ServerCallContext, descriptor: flight.FlightDescriptor
    ) -> flight.SchemaResult:
        with self._errors("GetSchema"):
            if descriptor.descriptor_type == flight.DescriptorType.PATH:
                return flight.SchemaResult(self._job_info(descriptor, context).schema)
            name, message = self._command(descriptor)
            if name in METADATA_COMMANDS:
                return flight.SchemaResult(self._metadata(name, message, context).schema)
            if name == "CommandStatementQuery":
                with self._limited(context):
                    schema = self._client(context).session.result_schema(message.query)
                return flight.SchemaResult(declared_schema(schema))
            if name == "CommandPreparedStatementQuery":
                user = self._identity(context).user
                prepared = self.state.prepared(message.prepared_statement_handle, user)
                return flight.SchemaResult(prepared.schema)
            raise NotSupportedError(f"{name} cannot be used with GetSchema")

    def _query_info(
        self,
        descriptor: flight.FlightDescriptor,
        context: flight.ServerCallContext,
        results: list[Result],
        schema: pa.Schema | None = None,
    ) -> flight.FlightInfo:
        schema = schema or declared_schema(results[0].plan_schema())
        user = self._identity(context).user
        handle = self.state.add_ticket(user, results, schema)
        ticket = proto.pack(proto.sql("TicketStatementQuery")(statement_handle=handle))
        return self._info(descriptor, schema, ticket, -1)

    def _job_info(
        self, descriptor: flight.FlightDescriptor, context: flight.ServerCallContext
    ) -> flight.FlightInfo:
        """The FlightInfo of a job's kept result: its schema, its rows and a ticket any
        connection of the job's owner can redeem."""
        job_id = jobs.path_job_id(descriptor)
        parquet = self.core.jobs.store.open_result(job_id, self._identity(context).user)
        try:
            schema = jobs.result_schema(parquet)
            rows = parquet.metadata.num_rows
        finally:
            parquet.close()
        return self._info(descriptor, schema, jobs.ticket(job_id), rows)

    @staticmethod
    def _info(
        descriptor: flight.FlightDescriptor, schema: pa.Schema, ticket: bytes, rows: int
    ) -> flight.FlightInfo:
        # No location: the client redeems the ticket on this same connection.
        endpoint = flight.FlightEndpoint(ticket, [])
        return flight.FlightInfo(schema, descriptor, [endpoint], rows, -1)

    # -- metadata -----------------------------------------------------------------------------

    def _metadata(self, name: str, message: Any, context: flight.ServerCallContext) -> pa.Table:
        catalog = self.state.catalogs.current()

        def opt(field: str) -> str | None:
            return getattr(message, field) if message.HasField(field) else None

        if name == "CommandGetSqlInfo":
            timeout_ms = int(self.config.query_timeout_s * 1000)
            return sql_info_table(list(message.info), min(timeout_ms, 2**31 - 1))
        if name == "CommandGetCatalogs":
            return metadata.catalogs(catalog)
        if name == "CommandGetDbSchemas":
            return metadata.db_schemas(catalog, opt("catalog"), opt("db_schema_filter_pattern"))
        if name == "CommandGetTables":
            return metadata.tables(
                catalog,
                opt("catalog"),
                opt("db_schema_filter_pattern"),
                opt("table_name_filter_pattern"),
                list(message.table_types),
                message.include_schema,
            )
        if name == "CommandGetTableTypes":
            return metadata.table_types(catalog)
        if name == "CommandGetPrimaryKeys":
            return schemas.empty(schemas.PRIMARY_KEYS)  # virtual tables have no keys
        if name in (
            "CommandGetExportedKeys",
            "CommandGetImportedKeys",
            "CommandGetCrossReference",
        ):
            return schemas.empty(schemas.FOREIGN_KEYS)
        if name == "CommandGetXdbcTypeInfo":
            return metadata.xdbc_type_info(opt("data_type"))
        raise AssertionError(name)  # pragma: no cover

    # -- DoGet --------------------------------------------------------------------------------

    def do_get(
        self, context: flight.ServerCallContext, ticket: flight.Ticket
    ) -> flight.FlightDataStream:
        with self._errors("DoGet"):
            if jobs.is_job_ticket(ticket.ticket):
                return self._job_result(jobs.ticket_job_id(ticket.ticket), context)
            name, message = proto.unpack(ticket.ticket)
            if name in METADATA_COMMANDS:
                return flight.RecordBatchStream(self._metadata(name, message, context))
            if name != "TicketStatementQuery":
                raise ProtocolError("The ticket is not one this server issued.")
            user = self._identity(context).user
            pending = self.state.take_ticket(message.statement_handle, user)
            running = Running(pending.handle, user, pending.results, None)
            stream = self._stream(running, pending.schema, context)
            return flight.GeneratorStream(pending.schema, stream)

    def _job_result(
        self, job_id: str, context: flight.ServerCallContext
    ) -> flight.FlightDataStream:
        user = self._identity(context).user
        parquet = self.core.jobs.store.open_result(job_id, user)
        try:
            schema = jobs.result_schema(parquet)
        except BaseException:
            parquet.close()
            raise
        return flight.GeneratorStream(
            schema, self._job_stream(job_id, user, parquet, schema, context)
        )

    def _job_stream(
        self,
        job_id: str,
        user: str,
        parquet: Any,
        schema: pa.Schema,
        context: flight.ServerCallContext,
    ) -> Iterator[pa.RecordBatch]:
        """A kept result, read from its Parquet file a batch at a time (never whole). The
        query limits (rows, bytes) do not apply: the job ran under the disk budgets."""
        started = time.perf_counter()
        counted = Limits()
        status = "ok"
        kept = pa.RecordBatchReader.from_batches(
            parquet.schema_arrow,
            parquet.iter_batches(batch_size=min(self.config.batch_rows, 65_536)),
        )
        try:
            yield from batches_for_client(
                [kept],
                schema,
                max_bytes=self.config.batch_bytes,
                max_rows=self.config.batch_rows,
                limits=counted,
                # A stopping server ends the stream too (shutdown waits for every call).
                stopped=lambda: self._closed or context.is_cancelled(),
            )
        except GeneratorExit:
            status = "stopped"
            raise
        except QueryCancelledError as exc:
            status = "cancelled"
            raise to_flight_error(exc) from None
        except Exception as exc:
            status = "internal_error"
            log.error("DoGet of job %s failed", job_id, exc_info=True)
            raise to_flight_error(exc) from None
        finally:
            parquet.close()
            self.core.metrics.sent("flight", counted.bytes)
            log.info(
                "job fetch user=%s job=%s status=%s rows=%d bytes=%d ms=%.1f",
                user,
                job_id,
                status,
                counted.rows,
                counted.bytes,
                (time.perf_counter() - started) * 1000,
            )

    def _start(self, running: Running) -> None:
        config = self.config
        if config.query_timeout_s:
            running.deadline = time.monotonic() + config.query_timeout_s
        self.state.start(running)

    def _stream(
        self, running: Running, schema: pa.Schema, context: flight.ServerCallContext
    ) -> Iterator[pa.RecordBatch]:
        """Runs on the call's own thread while the call is alive: the only place the call's
        context is consulted (client gone → cancel the engine work)."""
        started = time.perf_counter()
        limits = Limits(self.config.max_result_rows, self.config.max_result_bytes)
        readers: list[pa.RecordBatchReader] = []
        status = "ok"
        try:
            self._start(running)
        except ServerBusyError as exc:
            log.info("query user=%s status=%s rows=0 bytes=0 ms=0.0", running.user, exc.code)
            self.core.metrics.query("flight", "busy", time.perf_counter() - started)
            raise to_flight_error(exc) from None

        def stopped() -> bool:
            if not running.cancelled and context.is_cancelled():
                running.cancel()
            return running.cancelled

        def opened() -> Iterator[pa.RecordBatchReader]:
            for result in running.results:
                reader = result.to_reader()
                readers.append(reader)
                yield reader

        try:
            yield from batches_for_client(
                opened(),
                schema,
                max_bytes=self.config.batch_bytes,
                max_rows=self.config.batch_rows,
                limits=limits,
                stopped=stopped,
            )
        except GeneratorExit:
            status = "stopped"  # the client stopped reading
            raise
        except QueryCancelledError as exc:
            if running.timed_out:
                status = "timeout"
                raise to_flight_error(timeout_error(self.config.query_timeout_s)) from None
            status = "cancelled"
            raise to_flight_error(exc) from None
        except DsgridSqlError as exc:  # limits, engine errors
            status = exc.code
            raise to_flight_error(exc) from None
        except Exception as exc:
            status = "internal_error"
            log.error("DoGet failed", exc_info=True)
            raise to_flight_error(exc) from None
        finally:
            if status != "ok":
                running.cancel()
            for reader in readers:
                reader.close()
            self.state.finish(running.handle)
            seconds = time.perf_counter() - started
            self.core.metrics.query("flight", METRIC_STATUS.get(status, "error"), seconds)
            self.core.metrics.sent("flight", limits.bytes)
            log.info(
                "query user=%s status=%s rows=%d bytes=%d ms=%.1f",
                running.user,
                status,
                limits.rows,
                limits.bytes,
                seconds * 1000,
            )

    # -- DoPut --------------------------------------------------------------------------------

    def do_put(
        self,
        context: flight.ServerCallContext,
        descriptor: flight.FlightDescriptor,
        reader: flight.MetadataRecordBatchReader,
        writer: flight.FlightMetadataWriter,
    ) -> None:
        with self._errors("DoPut"):
            name, message = self._command(descriptor)
            if name in ("CommandStatementUpdate", "CommandPreparedStatementUpdate"):
                count = self._execute_update(context, name, message, reader)
                result = proto.sql("DoPutUpdateResult")(record_count=count)
                writer.write(pa.py_buffer(result.SerializeToString()))
                return
            if name != "CommandPreparedStatementQuery":
                raise NotSupportedError(f"{name} cannot be used with DoPut")
            user = self._identity(context).user
            prepared = self.state.prepared(message.prepared_statement_handle, user)
            prepared.parameters = _parameter_rows(reader, prepared.parameter_count) or None
            result = proto.sql("DoPutPreparedStatementResult")(
                prepared_statement_handle=prepared.handle
            )
            writer.write(pa.py_buffer(result.SerializeToString()))

    def _execute_update(
        self,
        context: flight.ServerCallContext,
        name: str,
        message: Any,
        reader: flight.MetadataRecordBatchReader,
    ) -> int:
        """ADBC's executemany (and JDBC's executeBatch) arrive as updates. Nothing here
        writes: a read statement runs once per parameter row and the answer is how many rows
        it produced; anything that would write is refused by the statement allowlist."""
        client = self._client(context)
        if name == "CommandStatementUpdate":
            text, count = message.query, client.session.parameter_count(message.query)
        else:
            prepared = self.state.prepared(message.prepared_statement_handle, client.user)
            text, count = prepared.text, prepared.parameter_count
        rows = _parameter_rows(reader, count) if count else [[]]
        with self._counted_planning(context):
            results = [client.session.sql(text, row or None) for row in rows]
        running = Running(new_handle(), client.user, results, None)
        started, status = time.perf_counter(), "error"
        try:
            self._start(running)
            try:
                count = sum(result.to_arrow().num_rows for result in results)
            finally:
                self.state.finish(running.handle)
            status = "ok"
            return count
        except ServerBusyError:
            status = "busy"
            raise
        except QueryCancelledError:
            status = "cancelled"
            raise
        finally:
            self.core.metrics.query("flight", status, time.perf_counter() - started)

    # -- DoAction -------------------------------------------------------------------------------

    def list_actions(self, context: flight.ServerCallContext) -> list[tuple[str, str]]:
        return ACTIONS

    def do_action(
        self, context: flight.ServerCallContext, action: flight.Action
    ) -> Iterator[flight.Result]:
        with self._errors("DoAction"):
            handler = self._action_handlers().get(action.type)
            if handler is None:
                reason = REFUSED.get(action.type, f"Unknown action '{action.type}'")
                raise NotSupportedError(reason)
            body = action.body.to_pybytes() if action.body is not None else b""
            answers = handler(context, body)
        return iter([flight.Result(pa.py_buffer(a)) for a in answers])

    def _action_handlers(self) -> dict[str, Callable[[Any, bytes], list[bytes]]]:
        return {
            "CreatePreparedStatement": self._create_prepared,
            "ClosePreparedStatement": self._close_prepared,
            "CancelFlightInfo": self._cancel_flight_info,
            "CancelQuery": self._cancel_query,
            "SetSessionOptions": self._set_session_options,
            "GetSessionOptions": self._get_session_options,
            "CloseSession": self._close_session,
            "jobs.submit": self._jobs_submit,
            "jobs.status": self._jobs_status,
            "jobs.list": self._jobs_list,
            "jobs.cancel": self._jobs_cancel,
            "jobs.delete": self._jobs_delete,
        }

    def _any(self, body: bytes, expected: str) -> Any:
        name, message = proto.unpack(body)
        if name != expected or message is None:
            raise ProtocolError(f"Expected {expected}, got {name}.")
        return message

    def _create_prepared(self, context: flight.ServerCallContext, body: bytes) -> list[bytes]:
        request = self._any(body, "ActionCreatePreparedStatementRequest")
        if request.HasField("transaction_id") and request.transaction_id:
            raise NotSupportedError(REFUSED["BeginTransaction"])
        client = self._client(context)
        text = request.query
        with self._counted_planning(context):  # ADBC and JDBC send every statement so
            count = client.session.parameter_count(text)
            schema = declared_schema(client.session.result_schema(text))
        catalog = client.session.catalog
        prepared = Prepared(new_handle(), client.user, text, count, schema, weakref.ref(catalog))
        self.state.add_prepared(prepared)
        result = proto.sql("ActionCreatePreparedStatementResult")(
            prepared_statement_handle=prepared.handle,
            dataset_schema=schema.serialize().to_pybytes(),
            parameter_schema=(
                schemas.parameter_schema(count).serialize().to_pybytes() if count else b""
            ),
            is_update=False,
        )
        return [proto.pack(result)]

    def _close_prepared(self, context: flight.ServerCallContext, body: bytes) -> list[bytes]:
        request = self._any(body, "ActionClosePreparedStatementRequest")
        self.state.close_prepared(request.prepared_statement_handle, self._identity(context).user)
        return []

    def _cancel_handle(self, context: flight.ServerCallContext, info_bytes: bytes) -> int:
        """1 CANCELLED, 3 NOT_CANCELLABLE (finished, unknown or someone else's)."""
        try:
            info = flight.FlightInfo.deserialize(info_bytes)
        except (pa.ArrowException, TypeError, ValueError):
            raise ProtocolError("The FlightInfo to cancel could not be decoded.") from None
        user = self._identity(context).user
        job_id = jobs.info_job_id(info)
        if job_id is not None:
            return self._cancel_job(job_id, user)
        for endpoint in info.endpoints:
            try:
                name, message = proto.unpack(endpoint.ticket.ticket)
            except ProtocolError:
                continue
            handle = message.statement_handle if name == "TicketStatementQuery" else None
            if handle is not None and self.state.cancel(handle, user) == "cancelled":
                return 1
        return 3

    def _cancel_job(self, job_id: str, user: str) -> int:
        """1 CANCELLED, 2 CANCELLING (still stopping), 3 NOT_CANCELLABLE (finished). An
        unknown job (or another user's) is NOT_FOUND, as the Flight spec asks."""
        if self.core.jobs.status(job_id, user).state.finished:
            return 3
        state = self.core.jobs.cancel(job_id, user).state
        if state is JobState.CANCELLED:
            return 1
        return 3 if state.finished else 2

    def _cancel_flight_info(self, context: flight.ServerCallContext, body: bytes) -> list[bytes]:
        request = proto.parse(proto.flight("CancelFlightInfoRequest"), body)
        status = self._cancel_handle(context, request.info)
        return [proto.flight("CancelFlightInfoResult")(status=status).SerializeToString()]

    def _cancel_query(self, context: flight.ServerCallContext, body: bytes) -> list[bytes]:
        request = self._any(body, "ActionCancelQueryRequest")
        status = self._cancel_handle(context, request.info)
        return [proto.pack(proto.sql("ActionCancelQueryResult")(result=status))]

    def _set_session_options(self, context: flight.ServerCallContext, body: bytes) -> list[bytes]:
        request = proto.parse(proto.flight("SetSessionOptionsRequest"), body)
        client = self._client(context)
        result = proto.flight("SetSessionOptionsResult")()
        invalid_name, invalid_value = 1, 2
        for name, value in request.session_options.items():
            kind = value.WhichOneof("option_value")
            text = value.string_value if kind == "string_value" else None
            key = name.lower()
            if key not in ("catalog", "schema", "dialect", "as_of"):
                result.errors[name].value = invalid_name
                continue
            try:
                if text is None:
                    raise ValueError(name)
                if key == "catalog":
                    if text != client.session.catalog.name:
                        raise ValueError(text)
                elif key == "schema":
                    client.session.use(text)
                else:
                    client.session.set(key, text)
            except (ValueError, DsgridSqlError):
                result.errors[name].value = invalid_value
        return [result.SerializeToString()]

    def _get_session_options(self, context: flight.ServerCallContext, body: bytes) -> list[bytes]:
        proto.parse(proto.flight("GetSessionOptionsRequest"), body)
        client = self._client(context)
        result = proto.flight("GetSessionOptionsResult")()
        values = {
            "catalog": client.session.catalog.name,
            "schema": client.session.current_schema,
            "dialect": client.session.dialect,
            "as_of": client.session.as_of.text() if client.session.as_of else None,
        }
        for name, value in values.items():
            if value is not None:
                result.session_options[name].string_value = value
        return [result.SerializeToString()]

    def _close_session(self, context: flight.ServerCallContext, body: bytes) -> list[bytes]:
        proto.parse(proto.flight("CloseSessionRequest"), body)
        self.state.close_session(self._session_key(context))
        return [proto.flight("CloseSessionResult")(status=1).SerializeToString()]

    # -- jobs (flight_server/jobs.py reads the bodies) ----------------------------------------

    def _jobs_submit(self, context: flight.ServerCallContext, body: bytes) -> list[bytes]:
        sql, params = jobs.submitted(jobs.body("jobs.submit", body))
        client = self._client(context)  # the caller's session: USE and dialect apply
        record = self.core.jobs.submit(client.session, sql, params, owner=client.user)
        return [jobs.answer(record)]

    def _jobs_status(self, context: flight.ServerCallContext, body: bytes) -> list[bytes]:
        request = jobs.body("jobs.status", body)
        job_id = jobs.job_id("jobs.status", request)
        timeout = jobs.wait_timeout(request)
        user = self._identity(context).user
        record = self.core.jobs.status(job_id, user)
        if timeout > 0 and not record.state.finished:
            asked = record.state
            # A stopping server answers at once: its shutdown waits for every call.
            record = self.core.jobs.wait(
                job_id, user, timeout, until=lambda r: r.state is not asked or self._closed
            )
        return [jobs.answer(record)]

    def _jobs_list(self, context: flight.ServerCallContext, body: bytes) -> list[bytes]:
        jobs.body("jobs.list", body)
        return [jobs.answer(r) for r in self.core.jobs.list(self._identity(context).user)]

    def _jobs_cancel(self, context: flight.ServerCallContext, body: bytes) -> list[bytes]:
        job_id = jobs.job_id("jobs.cancel", jobs.body("jobs.cancel", body))
        return [jobs.answer(self.core.jobs.cancel(job_id, self._identity(context).user))]

    def _jobs_delete(self, context: flight.ServerCallContext, body: bytes) -> list[bytes]:
        job_id = jobs.job_id("jobs.delete", jobs.body("jobs.delete", body))
        self.core.jobs.delete(job_id, self._identity(context).user)
        return [jobs.answer({"id": job_id, "deleted": True})]


def _parameter_rows(reader: flight.MetadataRecordBatchReader, count: int) -> list[list[Any]]:
    """Bound parameter sets, one per row of the client's Arrow stream."""
    table = reader.read_all()
    if table.num_columns != count:
        raise ProtocolError(
            f"The statement takes {count} parameter(s) but {table.num_columns} were bound."
        )
    return [list(row.values()) for row in table.to_pylist()]


def _cookie(header: str | None, name: str) -> str | None:
    if not header:
        return None
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None
