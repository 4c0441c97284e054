"""The rewrite layer: user SQL → mapped engine SQL (DESIGN.md §2). Pure: reads the catalog,
never an engine. ``translate.translate`` is the entry point; each module is one step.

Nothing is imported here: the engines use :mod:`.inputs` and :mod:`.cache`'s ``Lru``, and a
query answered from the translation cache (dsgrid_sql/translation_cache.py) runs on an engine
without loading sqlglot, pydantic or the catalog.
"""

from __future__ import annotations

# The SQL dialects the rewrite generates, one per engine.
TARGETS = ("duckdb", "spark")
