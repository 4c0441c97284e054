"""Completion of SQL at a cursor, shared by the front ends (the REPL's prompt, the web
console's editor): what fits there (:mod:`.suggestions`, over the forgiving :mod:`.lexer`), and
the catalog's names that match (:mod:`.complete`, over a :mod:`.index` built once).

Pure Python: no terminal, no HTTP. The front ends adapt it.
"""

from __future__ import annotations

from .commands import ArgKind, CommandSpec
from .complete import Match, complete, matches_for
from .index import CatalogIndex, IndexCache, IndexLoader, build_index

__all__ = [
    "ArgKind",
    "CatalogIndex",
    "CommandSpec",
    "IndexCache",
    "IndexLoader",
    "Match",
    "build_index",
    "complete",
    "matches_for",
]
