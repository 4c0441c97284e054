"""Python's cyclic garbage collector held off while a long statement is translated.

Translating a WHERE of 10,000 terms allocates hundreds of thousands of tree nodes, and syntax
trees are cycles (each node points at its parent), so the collector runs several full
collections during one translation, each walking every live object of the process: the
statement being translated included, and each costlier the more large statements the
process had seen. Held off, the translation's garbage is left for one collection afterwards
instead of several during it: eight translations of 10,000 `value = x OR …` terms took
104–108 µs a term with the collector running, 73–82 held off, a full collection at the end
included (BETWEENs: 311 and 252).

The collector is one per process: it stays off while any long translation runs (counted
across threads) and is switched on again when the last one ends, success or error. A
process that switched it off itself keeps it off. Short statements never touch it."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Statements at least this long (characters) are translated with the collector held off:
# a few hundred predicate terms; dashboard-sized queries never reach it.
LONG_TEXT = 10_000

_lock = threading.Lock()
_holding = 0  # long translations running now
_switched_off = False  # whether this module switched the collector off (and so owns it)


@contextmanager
def held_off(text_length: int) -> Iterator[None]:
    """The block runs with the cyclic collector off when ``text_length`` is long."""
    global _holding, _switched_off
    if text_length < LONG_TEXT:
        yield
        return
    with _lock:
        if _holding == 0 and gc.isenabled():
            gc.disable()
            _switched_off = True
        _holding += 1
    try:
        yield
    finally:
        with _lock:
            _holding -= 1
            if _holding == 0 and _switched_off:
                _switched_off = False
                gc.enable()
