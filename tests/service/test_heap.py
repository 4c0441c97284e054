"""A long-running server gives freed memory back to the system (service/heap.py)."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dsgrid_sql.service import heap

MIB = 1024 * 1024


def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or heap._malloc_trim is None,
    reason="glibc's malloc_trim is Linux/glibc only",
)
def test_freed_chunks_in_the_middle_of_the_heap_go_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a released registry version leaves: many small chunks freed while a later one
    stays, so glibc cannot shrink the heap from the top and keeps the pages. Without the
    trim they stay resident; with it, they go."""
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    monkeypatch.setattr(heap, "_last_trim", -float("inf"))
    heap.return_free_memory()  # start from a trimmed heap
    chunk = 4096  # under glibc's mmap threshold: from the heap, not a mapping of its own
    pointers = [libc.malloc(chunk) for _ in range(48 * MIB // chunk)]
    pin = libc.malloc(chunk)  # allocated last: the top of the heap stays in use
    for p in pointers:
        ctypes.memset(p, 1, chunk)  # touched: resident
    try:
        for p in pointers:
            libc.free(p)
        kept = _rss()
        monkeypatch.setattr(heap, "_last_trim", -float("inf"))
        assert heap.return_free_memory()
        given_back = kept - _rss()
        assert given_back > 32 * MIB, f"only {given_back / MIB:.1f} MiB went back"
        # And not again at once: the walk over every arena is rate-limited.
        assert not heap.return_free_memory()
    finally:
        libc.free(pin)


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or heap._mallinfo2 is None,
    reason="glibc's mallinfo2 is Linux/glibc (2.33+) only",
)
def test_the_allocator_counts_what_is_in_use() -> None:
    """allocator_bytes (the soak bench's glibc columns) sees an allocation and its free."""
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    before = heap.allocator_bytes()
    assert before is not None
    pointers = [libc.malloc(4096) for _ in range(16 * MIB // 4096)]
    try:
        during = heap.allocator_bytes()
        assert during is not None and during[0] - before[0] >= 16 * MIB
    finally:
        for p in pointers:
            libc.free(p)
    after = heap.allocator_bytes()
    assert after is not None and during[0] - after[0] >= 16 * MIB
    assert after[1] >= 0


_THRESHOLD_PROBE = """
import ctypes, sys
from dsgrid_sql.service import heap
print(heap.fix_allocator_thresholds() if sys.argv[1] == "fixed" else None)
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.free(libc.malloc(8 << 20))  # a large block freed: glibc raises its mmap threshold
before = heap._mallinfo2().hblkhd
block = libc.malloc(2 << 20)
print(heap._mallinfo2().hblkhd - before >= 2 << 20)  # a mapping of its own
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or heap._mallopt is None,
    reason="glibc's mallopt is Linux/glibc only",
)
@pytest.mark.parametrize(
    ("mode", "environment", "said"),
    [
        ("plain", {}, ["None", "False"]),  # glibc's own: the block comes from an arena
        ("fixed", {}, ["True", "True"]),
        ("fixed", {"MALLOC_MMAP_THRESHOLD_": "4194304"}, ["False", "False"]),  # the user's 4 MiB
    ],
)
def test_blocks_past_the_threshold_stay_mappings_returned_when_freed(
    mode: str, environment: dict[str, str], said: list[str]
) -> None:
    """What a server sets at start (ServerCore): after a large block was freed, a block of
    a few MiB is still a mapping of its own, not arena memory kept when freed; a user's own
    allocator settings are left alone."""
    env = {k: v for k, v in os.environ.items() if k not in heap._USER_SETTINGS}
    out = subprocess.run(
        [sys.executable, "-c", _THRESHOLD_PROBE, mode],
        capture_output=True, text=True, check=True, env={**env, **environment},
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert out.stdout.split() == said
