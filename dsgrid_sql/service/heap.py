"""Keeping Python's cyclic garbage collector off the catalog in a long-running process.

A registry of a real project's size is a heap of millions of long-lived objects (models,
records, plans). Python's full collections walk all of them: translating a new query text
took 16 ms at the median but 21–61 ms at the 90th percentile, the slow ones being those
during which a full collection ran (issue 24). Freezing the heap once the catalog is open
moves those objects out of the collector's sight; later allocations are collected as before.
Frozen objects are never collected, so when a new registry version replaces the catalog the
heap is unfrozen, collected once (the old version's cycles go) and frozen again.
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()


def settle_heap(*, replaced: bool = False) -> None:
    """Freeze what is alive now; with ``replaced``, first release what was frozen before
    (a catalog version that is no longer current)."""
    with _lock:
        if replaced:
            gc.unfreeze()
        gc.collect()
        gc.freeze()
