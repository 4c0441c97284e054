"""The console's routes: the page, its assets, and the completion and explain endpoints.

Assets are named in the page with a hash of their content (``?v=``), so they are cached for a
year and the page itself (``no-cache``) always names the current ones. Nothing comes from a
CDN: our modules are package data, plotly.js is the file the ``plotly`` package ships.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from dsgrid_sql.completion import IndexCache, complete
from dsgrid_sql.service.auth import sign_in
from dsgrid_sql.service.core import ServerCore
from dsgrid_sql.version import __version__

API = "/api/v1"
STATIC = "/static"
MAX_COMPLETIONS = 200
IMMUTABLE = "public, max-age=31536000, immutable"
# The page's scripts are ours and same-origin; plotly inserts <style> elements and data: images.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
}


class CompleteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    text: str = Field(description="The editor's whole text.")
    cursor: int = Field(ge=0, description="Cursor offset in characters.")
    schema_: str | None = Field(None, alias="schema", description="Current schema (project).")


class ExplainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    sql: str
    schema_: str | None = Field(None, alias="schema")
    dialect: str | None = None


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    version: str


def mount_console(app: FastAPI, core: ServerCore) -> None:
    """Serve the console at ``/`` of ``app`` (the HTTP API's app, which renders errors)."""
    indexes = IndexCache()

    def caller(request: Request) -> str:
        user, _ = sign_in(core.authenticator, request.headers.get("authorization"))
        return user

    @app.get("/", include_in_schema=False)
    def page() -> Response:
        return Response(
            _page(),
            media_type=CONTENT_TYPES[".html"],
            headers={
                "Cache-Control": "no-cache",
                "Content-Security-Policy": CSP,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )

    @app.get(STATIC + "/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        asset = _assets().get(name)
        if asset is None:
            raise HTTPException(404)
        return Response(
            asset.body,
            media_type=asset.content_type,
            headers={
                "Cache-Control": IMMUTABLE,
                "ETag": f'"{asset.version}"',
                "X-Content-Type-Options": "nosniff",
            },
        )

    @app.get(f"{API}/console", tags=["console"])
    def console() -> dict[str, Any]:
        """What the page needs before sign-in: whether it must sign in."""
        return {"auth": core.authenticator.enabled, "version": __version__}

    @app.get(f"{API}/console/session", tags=["console"])
    def console_session(user: str = Depends(caller)) -> dict[str, Any]:
        """The caller, the default schema and the schemas to choose from."""
        session = core.new_session()
        catalog = core.catalogs.current()
        projects = [p.project_id for p in catalog.readable_projects()]
        return {
            "user": user,
            "schema": session.current_schema,
            "projects": projects,
            "dialect": session.dialect,
        }

    @app.get(f"{API}/console/projects/{{project}}/datasets", tags=["console"])
    def console_datasets(project: str, user: str = Depends(caller)) -> dict[str, Any]:
        """The datasets submitted to a project, with their layout and time configuration."""
        catalog = core.catalogs.current()
        found = next((p for p in catalog.readable_projects() if p.project_id == project), None)
        if found is None:
            raise HTTPException(404)
        registry = catalog.table_data(catalog.get_table("registry", "datasets")).to_pylist()
        rows = {(r["dataset_id"], r["version"]): r for r in registry}
        datasets = []
        for dataset in found.submitted_datasets:
            row = rows.get((dataset.dataset_id, dataset.version), {})
            time = dataset.time_dimension
            datasets.append(
                {
                    "dataset_id": dataset.dataset_id,
                    "version": dataset.version,
                    "dataset_type": row.get("dataset_type"),
                    "layout": row.get("table_format"),
                    "data_source": row.get("data_source"),
                    "time": time.name if time is not None else None,
                    "time_type": _plain(getattr(time, "time_type", None)),
                    "time_config": _time_config(time),
                    "description": row.get("description"),
                    "problem": dataset.problem,
                }
            )
        return {"datasets": datasets}

    @app.post(f"{API}/complete", tags=["console"])
    def complete_at(body: CompleteRequest, user: str = Depends(caller)) -> dict[str, Any]:
        """Completions at the cursor: the REPL's (keywords, schemas, tables, columns,
        functions, record ids by id or name inside string literals)."""
        catalog = core.catalogs.current()
        index = indexes.get(catalog, wait_s=5.0)
        schema = body.schema_ or core.new_session(catalog).current_schema
        cursor = min(body.cursor, len(body.text))
        matches = complete(body.text[:cursor], index, schema, body.text[cursor:])
        return {
            "loading": index is None,
            "matches": [
                {"text": m.text, "replace": m.replace, "display": m.display, "meta": m.meta}
                for m in matches[:MAX_COMPLETIONS]
            ],
        }

    @app.post(f"{API}/explain", tags=["console"])
    def explain(body: ExplainRequest, user: str = Depends(caller)) -> dict[str, Any]:
        """The mapping plan of a query, as ``EXPLAIN`` prints it."""
        session = core.new_session()
        if body.schema_:
            session.use(body.schema_)
        if body.dialect:
            session.set("dialect", body.dialect)
        return {"text": session.explain(body.sql)}


def _time_config(time: Any) -> str | None:
    """A dataset's time dimension in a line: its kind and format, ranges with their
    frequency, interval type and time zone (what an analyst checks before comparing)."""
    if time is None:
        return None
    parts = [str(_plain(getattr(time, "time_type", None)) or "time")]
    kind = getattr(time, "format", None)
    if kind:
        parts[0] += f" {kind}"
    for item in getattr(time, "ranges", ())[:3]:
        text = f"{item.start} – {item.end}"
        if item.starting_timestamp:
            text += f" from {item.starting_timestamp}"
        if item.frequency not in (None, ""):
            text += f" every {item.frequency}"
        parts.append(text)
    interval = getattr(time, "time_interval_type", None)
    if interval:
        parts.append(str(interval).replace("_", " "))
    zone_format = getattr(time, "time_zone_format", None)
    if zone_format is not None:
        zones = zone_format.time_zone or ", ".join(zone_format.time_zones)
        parts.append(zones or str(zone_format.format_type).replace("_", " "))
    return "; ".join(parts)


def _plain(value: Any) -> Any:
    return getattr(value, "value", value) if value is not None else None


# -- assets -------------------------------------------------------------------------------


def _static_dir() -> Path:
    return Path(str(resources.files("dsgrid_sql.web") / "static"))


def _plotly_js() -> Path | None:
    try:
        import plotly
    except ImportError:
        return None
    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


@cache
def _assets() -> dict[str, Asset]:
    found: dict[str, Asset] = {}
    files = [p for p in _static_dir().iterdir() if p.suffix != ".html" and p.is_file()]
    plotly_js = _plotly_js()
    if plotly_js is not None:
        files.append(plotly_js)
    for path in files:
        body = path.read_bytes()
        content_type = CONTENT_TYPES.get(path.suffix) or (
            mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        )
        found[path.name] = Asset(body, content_type, hashlib.sha256(body).hexdigest()[:16])
    return found


@cache
def _page() -> bytes:
    """index.html with every ``/static/NAME`` carrying its content hash."""
    text = (_static_dir() / "index.html").read_text()
    assets = _assets()

    def versioned(match: re.Match[str]) -> str:
        name = match.group(1)
        asset = assets.get(name)
        return f"{STATIC}/{name}?v={asset.version}" if asset else match.group(0)

    text = re.sub(STATIC + r"/([A-Za-z0-9_.-]+)", versioned, text)
    return text.replace("{{version}}", __version__).encode()
