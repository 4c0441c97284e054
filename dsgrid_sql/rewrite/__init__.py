"""The rewrite layer: user SQL → mapped engine SQL (DESIGN.md §2). Pure: reads the catalog,
never an engine. ``translate`` is the entry point; each module is one step."""

from __future__ import annotations

from .translate import Translation, translate

__all__ = ["Translation", "translate"]
