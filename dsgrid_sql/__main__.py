"""``python -m dsgrid_sql`` runs the command-line interface."""

from __future__ import annotations

from dsgrid_sql.cli import run

run()
