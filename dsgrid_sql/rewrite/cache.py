"""What the rewrite keeps per catalog (one registry version): mapping plans with their
engine SQL, the sqlglot schemas of bound tables, the catalog's own tables as inputs, and
whole translations of parameterless query texts (translate.py; within TRANSLATION_CHARS of text).

A plan depends only on the catalog, the table, the columns a query reads, the filters pushed
below the mappings, the engine dialect and whether the query only sums the rows. Building
one copies sqlglot trees and builds the mapping tables (a 3,000-county supplemental mapping
is 3,000 rows): most of a translation's time. A sqlglot schema normalizes every column name
of every bound table (~60% of qualify's time on the 44-column data table). A BI tool or
dashboard sends the same few shapes again and again, so each is built once per registry
version. A new registry version is a new Catalog object: it starts empty, nothing stale is
reused, and an old catalog's entries go with it.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from .inputs import ArrowInput

if TYPE_CHECKING:  # the engines import Lru from here without loading the catalog or sqlglot
    from dsgrid_sql.catalog import Catalog, Table

    from .conditional import ConditionalSum
    from .table_plan import Restrictions, TablePlan

MAX_ENTRIES = 1024  # per catalog (plans, schemas, inputs, translations)

T = TypeVar("T")

# Caches keyed by engine SQL count a text once per this many characters. What hangs on a
# text grows with it (the key itself, a prepared plan), and counted as one entry each,
# distinct long texts (an OR chain of 1,000 terms is ~60 KB of engine SQL, a generated IN
# list more) filled a 1,024-entry cache with 60 MB of keys in a server whose registry did not
# change (issue 20). A dashboard's text is one unit.
TEXT_UNIT = 4096


def text_weight(sql: str) -> int:
    """What an SQL text counts for in a cache of texts (TEXT_UNIT)."""
    return 1 + len(sql) // TEXT_UNIT


class Lru:
    """Values built at most once per key while among the most recently used, up to a total
    ``size`` (entries, or the sum of ``weigh(key, value)``); shared by threads. Also the
    engines' result-schema and result caches (engine/base.py, engine/results.py)."""

    def __init__(
        self,
        size: int,
        weigh: Callable[[Any, Any], int] = lambda key, value: 1,
        on_drop: Callable[[Any], None] | None = None,
    ) -> None:
        self._size = size
        self._weigh = weigh
        # Called (outside the lock) with each value that makes room for newer ones.
        self._on_drop = on_drop
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        found = self.lookup(key)
        if found is not None:
            return found  # type: ignore[no-any-return]
        # Built outside the lock: two threads may build one entry at once; both are equal.
        value = build()
        self.store(key, value)
        return value

    def lookup(self, key: Hashable) -> Any | None:
        """The value kept for ``key`` (now the most recently used), or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def store(self, key: Hashable, value: Any) -> None:
        """Keep ``value``, dropping the least recently used entries over the size; a value
        heavier than the whole size is not kept."""
        weight = self._weigh(key, value)
        made_room: list[Any] = []
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._total -= old[1]
            if weight > self._size:
                return
            self._entries[key] = (value, weight)
            self._total += weight
            while self._total > self._size:
                _, (gone, dropped) = self._entries.popitem(last=False)
                self._total -= dropped
                made_room.append(gone)
        if self._on_drop is not None:
            for gone in made_room:
                self._on_drop(gone)

    def remove(self, key: Hashable) -> None:
        """Drop the entry for ``key``, if there is one."""
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._total -= old[1]

    def discard(self, stale: Callable[[Hashable], bool]) -> int:
        """Drop the entries whose key is ``stale``; returns how many."""
        with self._lock:
            keys = [key for key in self._entries if stale(key)]
            for key in keys:
                self._total -= self._entries.pop(key)[1]
        return len(keys)

    @property
    def weight(self) -> int:
        """The total weight kept (entries, or bytes for a weighed cache)."""
        with self._lock:
            return self._total


# Characters of query text whose whole translations are kept per catalog. A translation holds
# its statement's tree, ~160 bytes per character of text (2.9 MB for an 18,000-character OR
# chain): counted in entries, distinct long texts (a hostile client, a generated IN list)
# would fill gigabytes for as long as the registry version lasts. 500,000 characters is
# ~80 MB at most, and some 2,500 dashboard-sized texts. A translation that makes room takes
# its statement tree apart (Translation.release_trees): kept a while, its nodes have reached the
# collector's oldest generation, whose garbage only a rare full collection finds.
TRANSLATION_CHARS = 500_000

_lock = threading.Lock()
_caches: weakref.WeakKeyDictionary[Catalog, Lru] = weakref.WeakKeyDictionary()
_translations: weakref.WeakKeyDictionary[Catalog, Lru] = weakref.WeakKeyDictionary()


def catalog_memo(catalog: Catalog) -> Callable[[Hashable, Callable[[], Any]], Any]:
    """``remembered`` in ``catalog`` as a plan's memo (dataset_plan.Memo)."""
    return lambda key, build: remembered(catalog, key, build)


def remembered(catalog: Catalog, key: Hashable, build: Callable[[], T]) -> T:
    """``build()``'s value for ``key`` in ``catalog``, built at most once while it stays in
    the catalog's least-recently-used entries."""
    with _lock:
        cache = _caches.get(catalog)
        if cache is None:
            cache = _caches[catalog] = Lru(MAX_ENTRIES)
    return cache.get(key, build)


def remembered_translation(
    catalog: Catalog,
    key: Hashable,
    chars: int,
    build: Callable[[], T],
    keep: Callable[[T], bool] = lambda value: True,
) -> T:
    """``build()``'s translation of a text of ``chars`` characters, kept per catalog within
    TRANSLATION_CHARS of text (least recently used out) where ``keep`` says so."""
    with _lock:
        cache = _translations.get(catalog)
        if cache is None:
            cache = _translations[catalog] = Lru(
                TRANSLATION_CHARS,
                weigh=lambda key, kept: kept[1],
                on_drop=lambda kept: kept[0].release_trees(),
            )
    kept = cache.lookup(key)
    if kept is not None:
        return kept[0]  # type: ignore[no-any-return]
    value = build()
    if keep(value):
        cache.store(key, (value, chars))
    return value


def table_key(table: Table) -> Hashable:
    return (
        table.kind, table.schema, table.name, table.project_id, table.project_version,
        tuple(table.dataset_ids),
    )  # fmt: skip


def cached_plan(
    catalog: Catalog,
    table: Table,
    needed: Sequence[str],
    restrictions: Restrictions,
    dialect: str,
    only_summed: bool = False,
    aggregate_early: bool = True,
    conditional: tuple[ConditionalSum, ...] = (),
) -> TablePlan:
    key = (
        "plan",
        table_key(table),
        tuple(needed),
        # Frozensets hash once (CPython keeps the hash): no sorting of 3,000 county ids.
        frozenset((t.value, ids) for t, ids in restrictions.base.items()),
        frozenset(restrictions.supplemental.items()),
        restrictions.datasets,
        restrictions.time,
        dialect,
        only_summed,
        aggregate_early,
        conditional,
    )
    from .table_plan import plan_virtual_table

    return remembered(
        catalog,
        key,
        lambda: plan_virtual_table(
            catalog,
            table,
            needed,
            restrictions,
            dialect,
            only_summed,
            aggregate_early,
            memo=catalog_memo(catalog),
            conditional=conditional,
        ),
    )


def table_input(catalog: Catalog, table: Table) -> ArrowInput:
    """A registry, information_schema, dimension or mapping table as an engine input, built
    (rows collected, content hashed into its name) once per catalog: it was 40% of
    translating a query on a dimension table."""
    return remembered(
        catalog,
        ("table", table_key(table)),
        lambda: ArrowInput.of("table", catalog.table_data(table)),
    )


def plan_sql(plan: TablePlan, dialect: str) -> str:
    """The plan's SELECT in the engine dialect, generated once."""
    rendered = plan.rendered.get(dialect)
    if rendered is None:
        # Racing threads generate the same text; the last write wins harmlessly.
        rendered = plan.rendered[dialect] = plan.render(dialect)
    return rendered
