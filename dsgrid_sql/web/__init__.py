"""The web console: a page at ``/`` of the HTTP server to browse the catalog, write SQL with
the REPL's completion, and see results as tables and charts.

A front end beside the REPL and the HTTP API (it imports neither): :func:`mount_console` adds
its pages, its own scripts (``static/``, written for dsgrid-sql) and plotly.js (served from
the installed ``plotly`` package) and two endpoints — completion and explain — to the app the
HTTP server runs; everything else it asks through the HTTP API, with the same auth.
"""

from __future__ import annotations

from .routes import mount_console

__all__ = ["mount_console"]
