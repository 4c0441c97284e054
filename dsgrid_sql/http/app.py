"""The HTTP API (FastAPI): statements as jobs, the catalog, health and metrics.

A front end like Flight SQL: it asks the shared ServerCore (service/core.py) — the same
registry version, users, limits and jobs — and never builds SQL itself. Endpoints are plain
functions, so FastAPI runs them on its worker threads while a statement waits or streams.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import pyarrow as pa
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from dsgrid_sql.catalog.tables import INFORMATION_SCHEMA, sql_type_name
from dsgrid_sql.errors import DsgridSqlError, one_line
from dsgrid_sql.jobs import JobRecord, JobState
from dsgrid_sql.jobs.model import check_job_id
from dsgrid_sql.rewrite.deadline import time_limit
from dsgrid_sql.service.auth import AuthenticationError, sign_in
from dsgrid_sql.service.core import ServerCore
from dsgrid_sql.suggest import did_you_mean
from dsgrid_sql.version import __version__

from . import docs
from .disconnect import client_gone
from .errors import HttpError, error_body, status_of
from .limits import BodyLimit
from .results import (
    FORMATS,
    arrow_stream,
    check_format,
    csv_stream,
    json_document,
    json_value,
    parquet_bytes,
)

log = logging.getLogger("dsgrid_sql.http")

API = "/api/v1"
# Longest a request may hold its connection waiting for a statement (Databricks allows 50 s);
# longer work is polled.
MAX_WAIT_S = 300.0
DEFAULT_WAIT_S = 10.0


class StatementRequest(BaseModel):
    """A statement to run: answered with its result when it finishes within
    ``wait_timeout`` seconds, else with the job to poll."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    sql: str = Field(description="One SQL statement (DESIGN's SQL surface).")
    parameters: list[Any] | dict[str, Any] | None = Field(
        None, description="Values of `?` (a list) or `$name` (an object) placeholders."
    )
    wait_timeout: float = Field(
        DEFAULT_WAIT_S, ge=0, le=MAX_WAIT_S, description="Seconds to wait; 0 answers at once."
    )
    format: Literal["json", "arrow", "csv", "parquet"] = Field(
        "json", description="How a result that is ready in time is sent."
    )
    schema_: str | None = Field(None, alias="schema", description="Current schema (project).")
    dialect: str | None = Field(None, description="Input dialect (default: the server's).")
    max_rows: int | None = Field(
        None,
        ge=0,
        description="JSON answers: send at most this many rows (row_count is still the whole "
        "result's; the kept result has every row).",
    )
    as_of: str | None = Field(
        None,
        description="Read project tables as the registry held them: a time, or "
        "'project@version' pairs (as SET as_of).",
    )


# Something more to serve on the same app (the web console): called with the app and the core
# after the API's routes and error handlers are in place. The HTTP API never imports it.
Extension = Callable[[FastAPI, ServerCore], None]


def create_app(core: ServerCore, extensions: Sequence[Extension] = ()) -> FastAPI:
    app = FastAPI(
        title="dsgrid-sql",
        version=__version__,
        description="SQL over dsgrid registries: statements as jobs, the catalog, health "
        "and metrics. The same server speaks Arrow Flight SQL.",
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(BodyLimit, max_bytes=_body_limit(core))
    docs.mount(app)
    _errors(app)

    def caller(request: Request) -> str:
        user, token = sign_in(core.authenticator, request.headers.get("authorization"))
        if token is not None:
            request.state.token = token
        return user

    # -- statements -------------------------------------------------------------------------

    @app.post(f"{API}/statements", tags=["statements"], status_code=200)
    def post_statement(
        body: StatementRequest, request: Request, user: str = Depends(caller)
    ) -> Response:
        """Run a statement as a job; wait up to `wait_timeout` for its result."""
        started = time.monotonic()
        gone = client_gone(request)
        session = core.new_session()
        try:
            if body.schema_:
                session.use(body.schema_)
            if body.dialect:
                session.set("dialect", body.dialect)
            if body.as_of:
                session.set("as_of", body.as_of)
            # Parsing and translating count against the query timeout, and stop when the
            # client hangs up: a huge text stops at the limit (or at the next step after the
            # client went) and this worker thread is free again (rewrite/deadline.py).
            with time_limit(core.config.query_timeout_s, cancelled=gone):
                record = core.jobs.submit(session, body.sql, body.parameters, owner=user)
        except DsgridSqlError as exc:
            core.metrics.query("http", _status_label(exc), time.monotonic() - started)
            raise
        if body.wait_timeout > 0:
            # A client that hangs up while waiting frees this thread; the job is durable and
            # runs on (it is listed, and kept until it expires, like any other).
            record = core.jobs.wait(
                record.id, user, body.wait_timeout, until=lambda r: r.state.finished or gone()
            )
        if record.state is JobState.SUCCEEDED:
            return _result(core, record, user, body.format, inline=True, max_rows=body.max_rows)
        if record.state in (JobState.FAILED, JobState.CANCELLED):
            return _failed(record)
        return JSONResponse(_public(record), status_code=202)

    @app.get(f"{API}/statements", tags=["statements"])
    def list_statements(user: str = Depends(caller)) -> dict[str, Any]:
        """The caller's jobs, newest first."""
        return {"statements": [_public(r) for r in core.jobs.list(user)]}

    @app.get(f"{API}/statements/{{job_id}}", tags=["statements"])
    def get_statement(
        job_id: str,
        wait_timeout: float = Query(0.0, ge=0, le=MAX_WAIT_S),
        user: str = Depends(caller),
    ) -> dict[str, Any]:
        """A job's state and progress; with `wait_timeout`, waits for it to finish."""
        check_job_id(job_id)
        record = core.jobs.wait(job_id, user, wait_timeout)
        return _public(record)

    @app.get(f"{API}/statements/{{job_id}}/result", tags=["statements"])
    def get_result(
        job_id: str,
        format: str = Query("arrow", description=", ".join(FORMATS)),
        max_rows: int | None = Query(None, ge=0, description="JSON: at most this many rows."),
        user: str = Depends(caller),
    ) -> Response:
        """The result of a finished job, streamed (Arrow IPC stream by default)."""
        check_job_id(job_id)
        record = core.jobs.status(job_id, user)
        return _result(core, record, user, check_format(format), inline=False, max_rows=max_rows)

    @app.post(f"{API}/statements/{{job_id}}/cancel", tags=["statements"])
    def cancel_statement(job_id: str, user: str = Depends(caller)) -> dict[str, Any]:
        """Stop a queued or running job (a finished one stays as it is)."""
        check_job_id(job_id)
        return _public(core.jobs.cancel(job_id, user))

    @app.delete(f"{API}/statements/{{job_id}}", tags=["statements"], status_code=204)
    def delete_statement(job_id: str, user: str = Depends(caller)) -> Response:
        """Cancel the job if it runs, and remove its record and result."""
        check_job_id(job_id)
        core.jobs.delete(job_id, user)
        return Response(status_code=204)

    # -- sign-in ----------------------------------------------------------------------------

    @app.post(f"{API}/token", tags=["auth"])
    def token(request: Request, user: str = Depends(caller)) -> dict[str, Any]:
        """Basic credentials → a Bearer token, valid on HTTP and Flight SQL alike."""
        issued = getattr(request.state, "token", None)
        if issued is None:
            if core.authenticator.enabled:
                raise HttpError(
                    "Sign in with Basic credentials to get a token.",
                    status=400,
                    code="basic_required",
                )
            return {"user": user, "token": None, "token_type": None, "expires_in": None}
        return {
            "user": user,
            "token": issued,
            "token_type": "bearer",
            "expires_in": core.authenticator.ttl_s,
        }

    # -- catalog ----------------------------------------------------------------------------

    @app.get(f"{API}/projects", tags=["catalog"])
    def projects(user: str = Depends(caller)) -> dict[str, Any]:
        return {"projects": _rows(_registry(core, "projects"))}

    @app.get(f"{API}/datasets", tags=["catalog"])
    def datasets(
        project: str | None = Query(None, description="Only datasets submitted to it."),
        user: str = Depends(caller),
    ) -> dict[str, Any]:
        if project is None:
            return {"datasets": _rows(_registry(core, "datasets"))}
        table = _registry(core, "project_datasets")
        _check_known(project, table["project_id"].to_pylist(), "project")
        return {"datasets": _rows(table, project_id=project)}

    @app.get(f"{API}/schemas", tags=["catalog"])
    def schemas(user: str = Depends(caller)) -> dict[str, Any]:
        return {"schemas": _rows(_catalog_table(core, INFORMATION_SCHEMA, "schemata"))}

    @app.get(f"{API}/schemas/{{schema}}/tables", tags=["catalog"])
    def tables(schema: str, user: str = Depends(caller)) -> dict[str, Any]:
        catalog = core.catalogs.current()
        _check_known(schema, catalog.list_schemas(), "schema")
        table = _catalog_table(core, INFORMATION_SCHEMA, "tables")
        return {"tables": _rows(table, table_schema=schema)}

    @app.get(f"{API}/schemas/{{schema}}/tables/{{table}}/columns", tags=["catalog"])
    def columns(schema: str, table: str, user: str = Depends(caller)) -> dict[str, Any]:
        catalog = core.catalogs.current()
        _check_known(schema, catalog.list_schemas(), "schema")
        names = [t.name for t in catalog.list_tables(schema)]
        _check_known(table, names, "table", where=f" in schema '{schema}'")
        found = catalog.get_table(schema, table)
        return {
            "columns": [
                {
                    "name": c.name,
                    "type": sql_type_name(c.type),
                    "nullable": c.nullable,
                    "role": c.role.value,
                    "dimension_type": c.dimension_type.value if c.dimension_type else None,
                    "remarks": c.remarks,
                }
                for c in found.columns
            ]
        }

    @app.get(f"{API}/dimensions", tags=["catalog"])
    def dimensions(
        type: str | None = Query(None, description="Only dimensions of this type."),
        user: str = Depends(caller),
    ) -> dict[str, Any]:
        table = _registry(core, "dimensions")
        if type is None:
            return {"dimensions": _rows(table)}
        return {"dimensions": _rows(table, type=type)}

    @app.get(f"{API}/dimensions/{{dimension_id}}/records", tags=["catalog"])
    def dimension_records(
        dimension_id: str,
        search: str | None = Query(None, description="Part of a record's id or name."),
        limit: int = Query(1000, ge=1, le=100_000),
        user: str = Depends(caller),
    ) -> dict[str, Any]:
        known = _registry(core, "dimensions")["dimension_id"].to_pylist()
        _check_known(dimension_id, known, "dimension")
        rows = _rows(_registry(core, "dimension_records"), dimension_id=dimension_id)
        if search:
            needle = search.lower()
            rows = [
                r
                for r in rows
                if needle in str(r.get("id", "")).lower()
                or needle in str(r.get("name") or "").lower()
            ]
        return {"records": rows[:limit], "total": len(rows)}

    @app.get(f"{API}/mappings", tags=["catalog"])
    def mappings(user: str = Depends(caller)) -> dict[str, Any]:
        return {"mappings": _rows(_registry(core, "dimension_mappings"))}

    @app.get(f"{API}/mappings/{{mapping_id}}/records", tags=["catalog"])
    def mapping_records(mapping_id: str, user: str = Depends(caller)) -> dict[str, Any]:
        known = _registry(core, "dimension_mappings")["mapping_id"].to_pylist()
        _check_known(mapping_id, known, "mapping")
        return {"records": _rows(_registry(core, "mapping_records"), mapping_id=mapping_id)}

    # -- operations -------------------------------------------------------------------------

    @app.get("/health", tags=["operations"])
    def health() -> JSONResponse:
        """Registry readable and engine up (no sign-in: for load balancers and probes)."""
        problems = []
        try:
            core.catalogs.current().list_schemas()
        except Exception as exc:
            problems.append(f"registry: {one_line(exc)}")
        try:
            reader = core.engine.execute("SELECT 1 AS ok", [])
            reader.read_all()
        except Exception as exc:
            problems.append(f"engine: {one_line(exc)}")
        body = {
            "status": "ok" if not problems else "unavailable",
            "engine": core.engine.name,
            "version": __version__,
            "reloads": core.catalogs.reloads,
            "running_queries": core.admission.running(),
            "problems": problems,
        }
        return JSONResponse(body, status_code=200 if not problems else 503)

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        """Counters and gauges in Prometheus' text format."""
        return PlainTextResponse(
            core.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    for extend in extensions:
        extend(app, core)
    return app


# -- answers ------------------------------------------------------------------------------


def _public(record: JobRecord) -> dict[str, Any]:
    data = record.public()
    base = f"{API}/statements/{record.id}"
    data["links"] = {"self": base, "result": f"{base}/result", "cancel": f"{base}/cancel"}
    return data


def _failed(record: JobRecord) -> JSONResponse:
    error = record.error or {"code": "failed", "message": "The job failed."}
    status = 409 if record.state is JobState.CANCELLED else _status_of_code(error.get("code"))
    return JSONResponse(
        error_body(error, id=record.id, state=record.state.value), status_code=status
    )


def _status_of_code(code: str | None) -> int:
    return {"timeout": 504, "server_stopped": 503, "internal_error": 500, "disk_budget": 429}.get(
        code or "", 400
    )


def _result(
    core: ServerCore,
    record: JobRecord,
    user: str,
    fmt: str,
    *,
    inline: bool,
    max_rows: int | None = None,
) -> Response:
    """The kept result in ``fmt``; JSON inline answers carry the job's record too."""
    parquet = core.jobs.store.open_result(record.id, user)
    headers = {"X-Dsgrid-Sql-Job": record.id, "X-Dsgrid-Sql-Rows": str(record.rows or 0)}
    counted = _counting(core, record)
    if fmt == "json":
        head = _public(record) if inline else {"id": record.id}
        body = json_document(parquet, head, max_rows)
    elif fmt == "arrow":
        body = arrow_stream(parquet)
    elif fmt == "csv":
        body = csv_stream(parquet)
        headers["Content-Disposition"] = f'attachment; filename="{record.id}.csv"'
    else:
        path = core.jobs.store.result_path(record.id)
        body = parquet_bytes(path)
        headers["Content-Disposition"] = f'attachment; filename="{record.id}.parquet"'
    return StreamingResponse(counted(body), media_type=FORMATS[fmt], headers=headers)


def _counting(core: ServerCore, record: JobRecord) -> Any:
    def wrap(chunks: Any) -> Any:
        sent = 0
        try:
            for chunk in chunks:
                sent += len(chunk)
                yield chunk
        finally:
            core.metrics.sent("http", sent)

    return wrap


def _status_label(exc: DsgridSqlError) -> str:
    if exc.code in ("timeout", "cancelled"):
        return exc.code
    return "busy" if status_of(exc) == 429 else "error"


# -- catalog helpers ------------------------------------------------------------------------


def _catalog_table(core: ServerCore, schema: str, name: str) -> pa.Table:
    catalog = core.catalogs.current()
    return catalog.table_data(catalog.get_table(schema, name))


def _registry(core: ServerCore, name: str) -> pa.Table:
    return _catalog_table(core, "registry", name)


def _rows(table: pa.Table, **equal: str) -> list[dict[str, Any]]:
    """Rows as JSON objects (only those whose columns equal ``equal``)."""
    rows = table.to_pylist()
    if equal:
        rows = [r for r in rows if all(r.get(k) == v for k, v in equal.items())]
    return [{k: json_value(v) for k, v in row.items()} for row in rows]


def _check_known(name: str, known: list[str], kind: str, where: str = "") -> None:
    if name not in known:
        raise HttpError(
            f"Unknown {kind} '{name}'{where}.",
            status=404,
            code=f"unknown_{kind}",
            suggestion=did_you_mean(name, sorted(set(known))),
        )


def _body_limit(core: ServerCore) -> int:
    # The SQL text limit, JSON-escaped in the worst case, plus room for the other fields.
    limit = core.config.max_sql_length
    return (limit * 6 if limit else 64 * 2**20) + 64 * 1024


# -- errors -------------------------------------------------------------------------------


def _errors(app: FastAPI) -> None:
    @app.exception_handler(DsgridSqlError)
    def dsgrid_error(request: Request, exc: DsgridSqlError) -> JSONResponse:
        headers = {}
        if isinstance(exc, AuthenticationError):
            headers["WWW-Authenticate"] = 'Basic realm="dsgrid-sql", Bearer'
        return JSONResponse(error_body(exc), status_code=status_of(exc), headers=headers)

    @app.exception_handler(RequestValidationError)
    def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"code": "bad_request", "message": _validation_sentence(exc)}, status_code=400
        )

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        message = {
            404: f"No such endpoint: {request.url.path}.",
            405: f"{request.method} is not allowed on {request.url.path}.",
        }.get(exc.status_code, str(exc.detail))
        return JSONResponse(
            {"code": codes.get(exc.status_code, "http_error"), "message": message},
            status_code=exc.status_code,
        )

    @app.exception_handler(Exception)
    def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse(
            {"code": "internal_error", "message": f"The server failed: {one_line(exc)}."},
            status_code=500,
        )


def _validation_sentence(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "The request is not valid."
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    kind = first.get("type", "")
    if kind == "json_invalid":
        return "The request body is not valid JSON."
    if not where and kind in ("model_attributes_type", "dict_type"):
        return 'The request body must be a JSON object, e.g. {"sql": "SELECT 1"}.'
    if kind == "missing":
        return f"The request is missing '{where}'."
    if kind == "extra_forbidden":
        return f"Unknown field '{where}' in the request."
    message = str(first.get("msg", "is not valid")).rstrip(".")
    return f"'{where}' is not valid: {message}." if where else f"{message}."
