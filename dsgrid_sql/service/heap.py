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

import ctypes
import ctypes.util
import gc
import os
import threading
import time

import pyarrow as pa

_lock = threading.Lock()
_trim_lock = threading.Lock()
_last_trim = -float("inf")
# Returning free memory walks every malloc arena (milliseconds on a large heap, holding each
# arena's lock): after a registry version is released, not more often than this.
TRIM_EVERY_S = 10.0
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


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost",
    )]  # fmt: skip


def _load_glibc():
    """glibc's ``malloc_trim``, ``mallinfo2`` and ``mallopt``, each None on another C library
    (musl, macOS) or an older glibc."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
    except OSError:
        return None, None, None
    trim = getattr(libc, "malloc_trim", None)
    if trim is not None:
        trim.argtypes = [ctypes.c_size_t]
        trim.restype = ctypes.c_int
    info = getattr(libc, "mallinfo2", None)
    if info is not None:
        info.restype = _MallInfo2
    option = getattr(libc, "mallopt", None)
    if option is not None:
        option.argtypes = [ctypes.c_int, ctypes.c_int]
        option.restype = ctypes.c_int
    return trim, info, option


_malloc_trim, _mallinfo2, _mallopt = _load_glibc()

# glibc's mallopt parameters (malloc.h), and the value both thresholds are fixed at.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1024 * 1024
# A user's own allocator settings win over ours.
_USER_SETTINGS = ("GLIBC_TUNABLES", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


def fix_allocator_thresholds() -> bool:
    """Keep glibc's mmap and trim thresholds at 1 MiB for the process's life; False when
    nothing was done (another C library, or the environment sets them).

    glibc serves a block above the mmap threshold with a mapping of its own, returned to the
    system when freed, but it raises the threshold (up to 32 MiB) each time such a block is
    freed. Past the first large result, the server's blocks of one to a few MiB (query
    buffers, batches converted, DuckDB's allocations) came from the arenas instead, between
    small long-lived objects, and the arenas' free space grew with every registry version.
    Setting a threshold fixes it (no more raising); a trim threshold of the same size
    returns an arena's free top promptly (issue 20). 10-minute soaks, a version every 3 s
    (bench/results/2026-12-04-time-windows-and-memory.md): glibc's free space +297 MB/hour
    as glibc sets it, +25 fixed at 128 KiB and +32 at 1 MiB; 128 KiB also cost a fifth of
    the queries per second (a mapping, and its page faults, for every block of 128 KiB),
    1 MiB nothing measurable."""
    if _mallopt is None or any(name in os.environ for name in _USER_SETTINGS):
        return False
    return bool(_mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        _mallopt(_M_TRIM_THRESHOLD, MMAP_THRESHOLD)
    )


def allocator_bytes() -> tuple[int, int] | None:
    """glibc's heap: bytes in use and bytes free but kept in its arenas, or None on another
    C library (the soak bench places RSS growth with them)."""
    if _mallinfo2 is None:
        return None
    info = _mallinfo2()
    return info.uordblks + info.hblkhd, info.fordblks


def return_free_memory() -> bool:
    """Give memory freed since the last call back to the operating system; False when it
    ran less than TRIM_EVERY_S ago (or nothing can be done here).

    A server thread's allocations land in one of glibc's per-thread arenas, and freed
    chunks stay in the arena for reuse: with dozens of gRPC and HTTP threads each keeping
    what its busiest moment needed, and every registry version's catalog, plans and engine
    inputs freed in whichever arenas made them, glibc's free space grew 40 -> 370 MB in a
    30-minute soak (issue 20). The trim makes those pages non-resident; it did not by itself
    make the soak's RSS flat (bench/results/2026-12-03-soak.md).
    ``malloc_trim(0)`` releases free pages at the top and in the middle of every arena;
    Arrow's pool is asked for its unused memory too."""
    global _last_trim
    with _trim_lock:
        now = time.monotonic()
        if now - _last_trim < TRIM_EVERY_S:
            return False
        _last_trim = now
    pa.default_memory_pool().release_unused()
    if _malloc_trim is not None:
        _malloc_trim(0)
    return True
