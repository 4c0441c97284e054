"""Keeping Python's cyclic garbage collector off the catalog in a long-running process.

A registry of a real project's size is a heap of millions of long-lived objects (models,
records, plans). Python's full collections walk all of them: translating a new query text
took 16 ms at the median but 21–61 ms at the 90th percentile, the slow ones being those
during which a full collection ran (issue 24). Freezing the heap once the catalog is open
moves those objects out of the collector's sight; later allocations are collected as before.
Frozen objects are never collected, so when a new registry version replaces the catalog the
heap is unfrozen, collected once (the old version's cycles go) and frozen again.

What the server builds afterwards (the plans of the query texts it has seen, up to the plan
cache's bound) is not frozen, and Python's default thresholds ran a full collection over it
every ~5 new texts on a 30-dataset registry — 70–140 ms each, most of the 90th percentile.
A young generation of 20,000 objects instead of 700 (the tuning long-running Python servers
use) makes those passes ~30 times rarer; garbage cycles wait a little longer to be freed.
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
# Objects allocated (net) before the young generation is collected; Python's default is 700.
YOUNG_GENERATION = 20_000


def settle_heap(*, replaced: bool = False) -> None:
    """Freeze what is alive now; with ``replaced``, first release what was frozen before
    (a catalog version that is no longer current)."""
    with _lock:
        if replaced:
            gc.unfreeze()
        gc.collect()
        gc.freeze()
        young, middle, old = gc.get_threshold()
        if young and young < YOUNG_GENERATION:  # 0: collection turned off by the embedder
            gc.set_threshold(YOUNG_GENERATION, middle, old)
