"""Load: N concurrent Flight SQL clients and K HTTP clients × M mixed queries against one
server.

    python -m bench.load [--clients 16] [--http-clients 16] [--queries 200] [--seed 0]

The server runs in its own process (``python -m bench.load --serve REGISTRY``: Flight SQL and
the HTTP API over one ServerCore on 127.0.0.1, port 0, that stops by itself after
``--lifetime`` seconds) so its
memory is measured alone, from /proc. It answers one line commands on stdin — ``stats``
prints its open handles (ServerState.counts() plus the engine's open query streams) and
RSS as JSON, ``garbage`` what a full collection finds unreachable, by type, ``live`` what is
alive, by type — test-only hooks that need nothing in the server itself.

Each client is a thread with its own pyarrow.flight connection. Queries mix: metadata
commands (GetTables, GetCatalogs, GetDbSchemas, GetSqlInfo), small aggregates, a large
result (every row of a dataset, many batches), failing queries (an unknown column, a refused
statement), and cancelled ones (CancelFlightInfo mid-stream, or a client abandoning its
stream midway). Every answer is compared with a reference computed once in-process, or must
be the clean error of the expected kind. HTTP clients (httpx) mix statements answered inline,
statements run as jobs (submit with no wait, poll, fetch the Arrow result), failing statements
(a clean 4xx JSON error) and cancelled jobs; every job they submit must end in the state it
should. A markdown summary follows.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.flight as flight

from . import compare as answers

KINDS = ("metadata", "small", "large", "failing", "cancelled")
WEIGHTS = (0.25, 0.35, 0.1, 0.15, 0.15)
HTTP_KINDS = ("http_inline", "http_job", "http_failing", "http_cancelled")
# How long a cancelled job may take to end before the cancel counts as failed.
CANCEL_GRACE_S = 60.0
HTTP_WEIGHTS = (0.4, 0.3, 0.15, 0.15)
SMALL = (
    "SELECT geography, SUM(value) AS v FROM data GROUP BY geography ORDER BY geography",
    "SELECT metric, model_year, SUM(value) AS v FROM data GROUP BY ALL ORDER BY ALL",
    "SELECT COUNT(*) AS n FROM dsgrid_demo_commercial",
)
LARGE = "SELECT geography, metric, timestamp, value FROM dsgrid_demo_residential"
FAILING = (
    # (statement, text the error must contain, the client's error class)
    ("SELECT no_such_column FROM data", "no_such_column", pa.ArrowInvalid),
    ("DROP TABLE data", "not allowed", pa.ArrowInvalid),
)
# RSS after the load may exceed the warm baseline by this much: DuckDB's buffer manager and
# glibc's per-thread malloc arenas keep freed pages for reuse rather than returning them.
# 16 gRPC threads × a few MiB of arena each, plus DuckDB's buffers, come to tens of MiB at
# this data size (+60–70 MiB measured at 16 × 200); 128 MiB leaves room for that and would
# still catch a per-query leak of large results (322 large results × 1.9 MiB ≈ 600 MiB).
RSS_TOLERANCE = 128 * 1024 * 1024


# -- the server process ----------------------------------------------------------------------


def serve(
    registry: str,
    lifetime: float,
    batch_rows: int,
    jobs_dir: str | None = None,
    settings: dict[str, Any] | None = None,
) -> None:
    from dsgrid_sql.flight_server import FlightSqlServer
    from dsgrid_sql.http.server import HttpServer
    from dsgrid_sql.jobs import JobState
    from dsgrid_sql.rewrite import cache
    from dsgrid_sql.service.config import ServerConfig
    from dsgrid_sql.service.core import ServerCore

    config = ServerConfig(
        registry=registry,
        port=0,
        batch_rows=batch_rows,
        max_concurrent_queries=64,
        max_queries_per_user=64,
        query_timeout_s=120,
        jobs_dir=jobs_dir,
        max_running_jobs=4,
        max_queued_jobs_per_user=10_000,
        **(settings or {}),
    )
    core = ServerCore(config)
    collections = _watch_collections()
    server = FlightSqlServer(config, core)
    http = HttpServer(core, "127.0.0.1", 0)
    threading.Timer(lifetime, lambda: os._exit(3)).start()  # never outlives its caller
    print(f"READY {server.port} {http.port}", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "stats":
            stats = dict(server.state.counts())
            stats["engine_running"] = server.state.engine.running_count()
            stats["jobs_running"] = core.jobs.running()
            stats["jobs_queued"] = core.jobs.count(JobState.QUEUED)
            # What a registry version holds (the soak watches these stay flat).
            stats["engine_inputs"] = core.engine.registered_count()
            stats["kept_result_bytes"] = core.engine.results.bytes
            stats["catalogs"] = len(cache._caches)
            stats["reloads"] = core.catalogs.reloads
            stats["registrations"] = len(core.catalogs.current().registrations())
            stats["files"] = len(os.listdir("/proc/self/fd"))
            stats.update(collections)
            stats.update(memory())
            stats.update(memory_parts(core))
            print(json.dumps(stats), flush=True)
        elif command == "garbage":
            print(json.dumps(garbage_census()), flush=True)
        elif command == "live":
            print(json.dumps(live_census()), flush=True)
        elif command == "traced":
            print(json.dumps(traced_growth()), flush=True)
        elif command == "quit":
            break
    http.close()
    server.close()
    core.close()
    os._exit(0)


def garbage_census(top: int = 25) -> dict[str, Any]:
    """What a full collection finds unreachable now, by type (the most common ``top``), and
    the frames that made the cycles' exceptions and coroutines: where the server's cyclic
    garbage comes from."""
    import collections
    import gc

    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        found = gc.collect()
        garbage = list(gc.garbage)
        gc.garbage.clear()
    finally:
        gc.set_debug(0)
    types = collections.Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in garbage)
    frames = collections.Counter(
        f"{o.f_code.co_filename.rsplit('/', 2)[-1]}:{o.f_code.co_name}"
        for o in garbage
        if type(o).__name__ == "frame"
    )
    del garbage
    return {
        "unreachable": found,
        "types": types.most_common(top),
        "frames": frames.most_common(top),
    }


def live_census(least: int = 200) -> dict[str, Any]:
    """What is alive now, by type (those with at least ``least`` objects): what the
    collector tracks, frozen included, beside the Python heap's block count (which also holds
    untracked strings and numbers). Two censuses of one run show what grows."""
    import collections
    import gc

    from dsgrid_sql.service import heap

    # Frozen objects are listed only once unfrozen; under settle_heap's lock, so that a
    # registry version's settling does not run in between.
    with heap._lock:
        gc.unfreeze()
        try:
            objects = gc.get_objects()
        finally:
            gc.freeze()
    types = collections.Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in objects)
    tracked = len(objects)
    del objects
    return {
        "tracked": tracked,
        "blocks": sys.getallocatedblocks(),
        "types": {name: n for name, n in types.items() if n >= least},
    }


_last_snapshot: list[Any] = []


def traced_growth(top: int = 30) -> dict[str, Any]:
    """With the server started under ``PYTHONTRACEMALLOC`` (tracemalloc on from its first
    line): the bytes Python has allocated now (small and large objects alike, what glibc's
    counters and pymalloc's arenas hold for it) and the source lines whose allocations grew
    most since the previous call. Growth in glibc's heap that these do not show is C code's
    (DuckDB, gRPC, Arrow)."""
    import gc
    import tracemalloc

    if not tracemalloc.is_tracing():
        return {"tracing": False}
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__)]
    )
    current, peak = tracemalloc.get_traced_memory()
    grown = []
    if _last_snapshot:
        for stat in snapshot.compare_to(_last_snapshot[0], "lineno")[:top]:
            frame = stat.traceback[0]
            grown.append([f"{frame.filename}:{frame.lineno}", stat.size_diff, stat.count_diff])
    _last_snapshot[:] = [snapshot]
    return {"tracing": True, "traced": current, "peak": peak, "grown": grown}


def _watch_collections() -> dict[str, float]:
    """Seconds the server spent in Python's cyclic garbage collector (all generations, and
    the full ones), kept up to date by a gc callback: the GIL is held throughout, so a
    collection over a large heap stalls every query thread."""
    import gc

    totals = {"gc_s": 0.0, "gc_full_s": 0.0, "gc_full": 0}
    started: dict[int, float] = {}

    def callback(phase: str, info: dict[str, int]) -> None:
        key = threading.get_ident()
        if phase == "start":
            started[key] = time.perf_counter()
            return
        seconds = time.perf_counter() - started.pop(key, time.perf_counter())
        totals["gc_s"] += seconds
        if info.get("generation") == 2:
            totals["gc_full_s"] += seconds
            totals["gc_full"] += 1

    gc.callbacks.append(callback)
    return totals


def memory(pid: int | str = "self") -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key.lower()] = int(rest.split()[0]) * 1024
    return values


def memory_parts(core: Any) -> dict[str, int]:
    """Where the server's memory is, so that RSS growth can be placed: glibc's heap (in use
    and free-but-kept), Arrow's pool, the engine's buffers, Python's object count."""
    import gc

    import pyarrow as pa

    from dsgrid_sql.service.heap import allocator_bytes

    # Not gc.get_objects(): from this thread it takes references to tuples other threads
    # are still building, and their _PyTuple_Resize fails ("bad argument to internal
    # function", a SystemError in whatever query was running).
    parts: dict[str, int] = {
        "arrow_bytes": pa.total_allocated_bytes(),
        "py_blocks": sys.getallocatedblocks(),
        "py_frozen": gc.get_freeze_count(),
    }
    heap = allocator_bytes()
    if heap is not None:
        parts["malloc_used"], parts["malloc_free"] = heap
    engine_bytes = core.engine.memory_bytes()
    if engine_bytes is not None:
        parts["duckdb_bytes"] = engine_bytes
    parts.update(python_arenas())
    parts.update(resident_by_mapping())
    parts["threads"] = len(os.listdir("/proc/self/task"))
    return parts


# glibc maps each thread arena's heap at an address aligned to its largest size (HEAP_MAX_SIZE,
# 64 MiB on 64-bit), which is how its mappings are told from others in /proc/self/smaps.
_GLIBC_HEAP_MAX = 64 * 2**20


def resident_by_mapping(pid: int | str = "self") -> dict[str, int]:
    """Resident bytes by kind of mapping, from /proc/PID/smaps: glibc's main heap (brk) and
    its thread arenas, thread stacks (a mapping just above a guard page), other anonymous
    memory (Python's arenas, blocks glibc mapped on their own, Arrow's allocator) and files.
    RSS growth that glibc's counters do not show is placed with these."""
    maps: list[tuple[int, int, str, str, int]] = []  # start, end, perms, path, rss
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split(None, 5)
        if "-" in head[0] and len(head) >= 5 and ":" in head[3]:
            start, end = (int(x, 16) for x in head[0].split("-"))
            maps.append((start, end, head[1], head[5] if len(head) > 5 else "", 0))
        elif line.startswith("Rss:"):
            start, end, perms, path, _ = maps[-1]
            maps[-1] = (start, end, perms, path, int(line.split()[1]) * 1024)
    parts = dict.fromkeys(("rss_heap", "rss_arenas", "rss_stacks", "rss_anon", "rss_file"), 0)
    for i, (start, end, perms, path, rss) in enumerate(maps):
        if path == "[heap]":
            parts["rss_heap"] += rss
        elif path.startswith("/") or (path.startswith("[") and path != "[stack]"):
            parts["rss_file"] += rss
        elif path == "[stack]":
            parts["rss_stacks"] += rss
        elif start % _GLIBC_HEAP_MAX == 0 and end - start <= _GLIBC_HEAP_MAX and "rw" in perms:
            parts["rss_arenas"] += rss
        elif i and maps[i - 1][1] == start and maps[i - 1][2].startswith("---"):
            parts["rss_stacks"] += rss  # above its guard page (arenas were matched first)
        else:
            parts["rss_anon"] += rss
    return parts


@functools.cache
def _malloc_stats() -> tuple[Any, Any] | None:
    """libc (for a memory stream) and CPython's allocator statistics, loaded once; None
    where either is missing."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        stats = ctypes.pythonapi._PyObject_DebugMallocStats
        libc.open_memstream.restype = ctypes.c_void_p
        libc.open_memstream.argtypes = [
            ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t)
        ]  # fmt: skip
        libc.fclose.argtypes = [ctypes.c_void_p]
        libc.free.argtypes = [ctypes.c_void_p]
    except (AttributeError, OSError):
        return None
    stats.argtypes = [ctypes.c_void_p]
    return libc, stats


def python_arenas() -> dict[str, int]:
    """pymalloc's arenas (mapped outside glibc): bytes mapped and bytes in live blocks, read
    from CPython's own statistics (``sys._debugmallocstats`` into a memory stream instead of
    stderr); empty where that is not possible."""
    import ctypes
    import re

    loaded = _malloc_stats()
    if loaded is None:
        return {}
    libc, stats = loaded
    buffer, size = ctypes.c_void_p(), ctypes.c_size_t()
    stream = libc.open_memstream(ctypes.byref(buffer), ctypes.byref(size))
    if not stream:
        return {}
    stats(stream)
    libc.fclose(stream)
    text = ctypes.string_at(buffer.value, size.value).decode(errors="replace")
    libc.free(buffer)

    def amount(label: str) -> int:
        found = re.search(rf"{re.escape(label)}\s*=\s*([\d,]+)", text)
        return int(found.group(1).replace(",", "")) if found else 0

    return {
        "py_arena_bytes": amount("bytes/arena"),
        "py_used_bytes": amount("# bytes in allocated blocks"),
    }


class ServerProcess:
    def __init__(
        self,
        registry: Path,
        *,
        lifetime: float = 1800,
        batch_rows: int = 4096,
        jobs_dir: Path | None = None,
        settings: dict[str, Any] | None = None,
        log: Any = None,
    ):
        jobs = ["--jobs-dir", str(jobs_dir)] if jobs_dir is not None else []
        if settings:
            jobs += ["--settings", json.dumps(settings)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.load", "--serve", str(registry),
             "--lifetime", str(lifetime), "--batch-rows", str(batch_rows), *jobs],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
            cwd=Path(__file__).resolve().parents[1],
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            self.stop()
            raise RuntimeError(f"the server did not start: {line!r}")
        self.port = int(line.split()[1])
        self.uri = f"grpc://127.0.0.1:{self.port}"
        self.http_url = f"http://127.0.0.1:{line.split()[2]}"

    def stats(self) -> dict[str, int]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


# -- the reference ---------------------------------------------------------------------------


def reference(registry: Path) -> dict[str, Any]:
    """Every query's answer, computed once in-process."""
    import dsgrid_sql

    with dsgrid_sql.connect(registry) as session:
        small = {sql: session.sql(sql).to_arrow() for sql in SMALL}
        large = session.sql(LARGE).to_arrow()
    return {
        "small": small,
        "large_rows": large.num_rows,
        "large_sum": pc.sum(large.column("value")).as_py(),
    }


# -- clients -------------------------------------------------------------------------------------


def same(actual: pa.Table, expected: pa.Table) -> bool:
    """Equal answers by bench.compare's rule, rows matched on every non-numeric column."""
    keys = [f.name for f in expected.schema if not pa.types.is_floating(f.type)]
    return answers.compare(actual, expected, keys).same


def _command(name: str, **fields: Any) -> flight.FlightDescriptor:
    from dsgrid_sql.flight_server import proto

    return flight.FlightDescriptor.for_command(proto.pack(proto.sql(name)(**fields)))


METADATA = (
    ("GetTables", lambda: _command("CommandGetTables", include_schema=True), "table_name"),
    ("GetCatalogs", lambda: _command("CommandGetCatalogs"), "catalog_name"),
    ("GetDbSchemas", lambda: _command("CommandGetDbSchemas"), "db_schema_name"),
    ("GetSqlInfo", lambda: _command("CommandGetSqlInfo"), "info_name"),
)


@dataclass
class Outcome:
    kind: str
    seconds: float
    ok: bool
    detail: str = ""


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    wall_s: float = 0.0
    rss: dict[str, int] = field(default_factory=dict)
    counts_after: dict[str, int] = field(default_factory=dict)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]


class Client:
    def __init__(self, uri: str, ref: dict[str, Any], rng: random.Random) -> None:
        self.conn = flight.FlightClient(uri)
        self.ref = ref
        self.rng = rng
        self.options = flight.FlightCallOptions(timeout=120)

    def info(self, sql: str) -> flight.FlightInfo:
        return self.conn.get_flight_info(
            _command("CommandStatementQuery", query=sql), self.options
        )

    def stream(self, info: flight.FlightInfo) -> flight.FlightStreamReader:
        return self.conn.do_get(info.endpoints[0].ticket, self.options)

    def run(self, kind: str) -> str:
        """One query of ``kind``; returns what happened ('' when the answer was right)."""
        if kind == "metadata":
            name, make, column = self.rng.choice(METADATA)
            info = self.conn.get_flight_info(make(), self.options)
            table = self.stream(info).read_all()
            return "" if table.num_rows > 0 and column in table.schema.names else name
        if kind == "small":
            sql = self.rng.choice(SMALL)
            table = self.stream(self.info(sql)).read_all()
            return "" if same(table, self.ref["small"][sql]) else f"wrong answer: {sql}"
        if kind == "large":
            table = self.stream(self.info(LARGE)).read_all()
            total = pc.sum(table.column("value")).as_py()
            right = table.num_rows == self.ref["large_rows"] and abs(
                total - self.ref["large_sum"]
            ) <= 1e-9 * abs(self.ref["large_sum"])
            return "" if right else "wrong answer: large"
        if kind == "failing":
            sql, expected, error_type = self.rng.choice(FAILING)
            try:
                self.stream(self.info(sql)).read_all()
            except error_type as exc:
                text = str(exc)
                clean = "Traceback" not in text and 'File "' not in text
                return "" if clean and expected in text else f"unclean error: {text[:200]}"
            return f"no error: {sql}"
        if kind == "cancelled":
            return self._cancelled()
        raise AssertionError(kind)

    def _cancelled(self) -> str:
        info = self.info(LARGE)
        reader = self.stream(info)
        reader.read_chunk()  # the query is running and streaming
        if self.rng.random() < 0.5:
            # CancelFlightInfo, then read on: the stream ends with CANCELLED (or, when the
            # server had already sent everything, ends normally).
            request = _cancel_request(info)
            results = list(self.conn.do_action(request, self.options))
            status = _cancel_status(results[0].body.to_pybytes())
            try:
                for _ in reader:
                    pass
            except flight.FlightCancelledError:
                return ""
            return "" if status in (1, 3) else f"cancel status {status}"
        reader.cancel()  # the client abandons the stream midway
        return ""

    def close(self) -> None:
        try:
            list(self.conn.do_action(_close_session_request(), self.options))
        finally:
            self.conn.close()


def _cancel_request(info: flight.FlightInfo) -> flight.Action:
    from dsgrid_sql.flight_server import proto

    body = proto.flight("CancelFlightInfoRequest")(info=info.serialize()).SerializeToString()
    return flight.Action("CancelFlightInfo", body)


def _cancel_status(body: bytes) -> int:
    from dsgrid_sql.flight_server import proto

    return proto.flight("CancelFlightInfoResult").FromString(body).status


def _close_session_request() -> flight.Action:
    from dsgrid_sql.flight_server import proto

    return flight.Action("CloseSession", proto.flight("CloseSessionRequest")().SerializeToString())


class HttpClient:
    """One HTTP client (its own connection pool) of the same server."""

    def __init__(self, url: str, ref: dict[str, Any], rng: random.Random) -> None:
        import httpx

        self.http = httpx.Client(base_url=url, timeout=120)
        self.ref = ref
        self.rng = rng
        self.jobs: dict[str, str] = {}  # id → the state it must end in

    def _arrow(self, response: Any) -> pa.Table:
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
        return pa.ipc.open_stream(response.content).read_all()

    def run(self, kind: str) -> str:
        if kind == "http_inline":
            sql = self.rng.choice(SMALL)
            answer = self.http.post(
                "/api/v1/statements", json={"sql": sql, "format": "arrow", "wait_timeout": 60}
            )
            self.jobs[answer.headers.get("x-dsgrid-sql-job", "")] = "SUCCEEDED"
            table = self._arrow(answer)
            return "" if same(table, self.ref["small"][sql]) else f"wrong answer: {sql}"
        if kind == "http_job":
            sql = self.rng.choice(SMALL)
            job = self.http.post("/api/v1/statements", json={"sql": sql, "wait_timeout": 0})
            record = job.json()
            self.jobs[record["id"]] = "SUCCEEDED"
            while record["state"] in ("QUEUED", "RUNNING"):
                record = self.http.get(
                    f"/api/v1/statements/{record['id']}", params={"wait_timeout": 5}
                ).json()
            if record["state"] != "SUCCEEDED":
                return f"job {record['state']}: {record.get('error')}"
            table = self._arrow(self.http.get(record["links"]["result"]))
            return "" if same(table, self.ref["small"][sql]) else f"wrong answer: {sql}"
        if kind == "http_failing":
            sql, expected, _ = self.rng.choice(FAILING)
            answer = self.http.post("/api/v1/statements", json={"sql": sql})
            body = answer.json()
            clean = answer.status_code in (400, 403) and "Traceback" not in answer.text
            return (
                ""
                if clean and expected in body.get("message", "")
                else (f"unclean error: {answer.status_code} {answer.text[:200]}")
            )
        if kind == "http_cancelled":
            job = self.http.post("/api/v1/statements", json={"sql": LARGE, "wait_timeout": 0})
            record = job.json()
            asked = time.monotonic()
            answer = self.http.post(f"/api/v1/statements/{record['id']}/cancel").json()
            state = answer["state"]
            # The endpoint waits up to 10 s for the job to stop; on a loaded machine the
            # engine may notice the interrupt later (the job runner asks again until it
            # does), and the answer says the cancel was requested. Followed to its end: a
            # cancel that never takes effect still fails.
            if state in ("QUEUED", "RUNNING") and not answer.get("cancel_requested_at"):
                return f"cancel answered {state} without saying it was requested"
            while state in ("QUEUED", "RUNNING") and time.monotonic() - asked < CANCEL_GRACE_S:
                state = self.http.get(
                    f"/api/v1/statements/{record['id']}", params={"wait_timeout": 5}
                ).json()["state"]
            # Cancelled, or finished before the cancel came: both are right.
            self.jobs[record["id"]] = state
            ok = state in ("CANCELLED", "SUCCEEDED")
            return "" if ok else f"cancel left {state} after {time.monotonic() - asked:.0f} s"
        raise AssertionError(kind)

    def lost(self) -> list[str]:
        """Jobs this client submitted whose final state is not the one they must have."""
        problems = []
        for job_id, expected in self.jobs.items():
            record = self.http.get(f"/api/v1/statements/{job_id}").json()
            if record.get("state") != expected:
                problems.append(f"job {job_id}: {record.get('state')} (expected {expected})")
        return problems

    def close(self) -> None:
        self.http.close()


def http_client_loop(
    url: str, ref: dict[str, Any], queries: int, seed: int, out: list[Outcome]
) -> None:
    _loop(HttpClient(url, ref, random.Random(seed)), HTTP_KINDS, HTTP_WEIGHTS, queries, out)


def client_loop(uri: str, ref: dict[str, Any], queries: int, seed: int, out: list[Outcome]):
    _loop(Client(uri, ref, random.Random(seed)), KINDS, WEIGHTS, queries, out)


def _loop(
    client: Any,
    kinds: tuple[str, ...],
    weights: tuple[float, ...],
    queries: int,
    out: list[Outcome],
) -> None:
    """``queries`` of random ``kinds`` by one client; then, for HTTP, every job it submitted
    must be in the state it should be (nothing lost)."""
    try:
        for _ in range(queries):
            kind = client.rng.choices(kinds, weights)[0]
            started = time.perf_counter()
            try:
                detail = client.run(kind)
            except Exception as exc:  # anything unexpected is a failure, with its text
                detail = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            out.append(Outcome(kind, time.perf_counter() - started, detail == "", detail))
        for problem in getattr(client, "lost", list)():
            out.append(Outcome("http_lost", 0.0, False, problem))
    finally:
        client.close()


def run_load(
    server: ServerProcess,
    ref: dict[str, Any],
    *,
    clients: int,
    queries: int,
    seed: int = 0,
    http_clients: int = 0,
) -> Report:
    report = Report()
    # Warm-up: one of each kind, so the baseline includes imports, DuckDB's start and the
    # first read of every Parquet footer (paid once per server, not per query).
    warm: list[Outcome] = []
    warm_client = Client(server.uri, ref, random.Random(seed))
    for kind in KINDS:
        warm_client.run(kind)
    warm_client.close()
    wait_idle(server)
    report.rss["baseline"] = server.stats()["vmrss"]
    del warm

    outcomes: list[list[Outcome]] = [[] for _ in range(clients + http_clients)]
    peak = [report.rss["baseline"]]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            peak[0] = max(peak[0], memory(server.proc.pid)["vmrss"])

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    threads = [
        threading.Thread(
            target=client_loop, args=(server.uri, ref, queries, seed + 1 + i, outcomes[i])
        )
        for i in range(clients)
    ] + [
        threading.Thread(
            target=http_client_loop,
            args=(server.http_url, ref, queries, seed + 1001 + i, outcomes[clients + i]),
        )
        for i in range(http_clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report.wall_s = time.perf_counter() - started
    done.set()
    sampler.join()
    report.outcomes = [o for per_client in outcomes for o in per_client]
    report.counts_after = wait_idle(server)
    report.rss["peak"] = peak[0]
    report.rss["after"] = report.counts_after["vmrss"]
    return report


def wait_idle(server: ServerProcess, timeout: float = 60) -> dict[str, int]:
    """Stats once every handle is released (abandoned streams end a moment after their
    client goes; the deadline is a safety net)."""
    deadline = time.monotonic() + timeout
    while True:
        stats = server.stats()
        if not any(stats[k] for k in HANDLES) or time.monotonic() > deadline:
            return stats
        time.sleep(0.1)


HANDLES = ("sessions", "prepared", "tickets", "running", "engine_running", "jobs_running")


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def markdown(report: Report, clients: int, queries: int, http_clients: int = 0) -> str:
    total = len(report.outcomes)
    lines = [
        f"## Load: {clients} Flight SQL + {http_clients} HTTP clients × {queries} queries",
        "",
        f"{total} queries in {report.wall_s:.1f} s: **{total / report.wall_s:.1f} q/s**; "
        f"{len(report.failures)} wrong or unclean answers.",
        "",
        "| kind | queries | p50 ms | p95 ms | failures |",
        "|---|---:|---:|---:|---:|",
    ]
    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in report.outcomes:
        by_kind[outcome.kind].append(outcome)
    for kind in (*KINDS, *HTTP_KINDS, "http_lost"):
        items = by_kind.get(kind, [])
        if not items and kind not in KINDS:
            continue
        times = [o.seconds * 1000 for o in items]
        bad = sum(1 for o in items if not o.ok)
        lines.append(
            f"| {kind} | {len(items)} | {_pct(times, 50):.1f} | {_pct(times, 95):.1f} | {bad} |"
        )
    failures = Counter(o.detail for o in report.failures)
    if failures:
        lines += ["", "| failure | count |", "|---|---:|"]
        lines += [f"| {detail} | {n} |" for detail, n in failures.most_common(20)]
    mib = 1024 * 1024
    rss = report.rss
    grown = rss["after"] - rss["baseline"]
    lines += [
        "",
        "| server RSS | MiB |",
        "|---|---:|",
        f"| baseline (warm) | {rss['baseline'] / mib:.1f} |",
        f"| peak | {rss['peak'] / mib:.1f} |",
        f"| after | {rss['after'] / mib:.1f} |",
        f"| after − baseline (tolerance {RSS_TOLERANCE / mib:.0f}) | {grown / mib:+.1f} |",
        "",
        "Open handles after: " + ", ".join(f"{k}={report.counts_after.get(k)}" for k in HANDLES),
    ]
    return "\n".join(lines)


def check(report: Report) -> list[str]:
    problems = [f"{o.kind}: {o.detail}" for o in report.failures]
    problems += [f"{k} left open: {report.counts_after[k]}" for k in HANDLES
                 if report.counts_after.get(k)]  # fmt: skip
    if report.rss["after"] - report.rss["baseline"] > RSS_TOLERANCE:
        problems.append("server memory did not return to baseline")
    return problems


def make_registry(folder: Path, hours: int = 168) -> Path:
    from dsgrid_sql.generator import GeneratorSpec, generate_registry

    spec = GeneratorSpec(counties=6, hours=hours, datasets=3)
    target = folder / f"load-6x{hours}"
    if (target / "registry.db").is_file():
        return target / "registry.db"
    return generate_registry(target, spec).path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--http-clients", type=int, default=16)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--registry", help="registry to use (default: generate one)")
    parser.add_argument("--serve", metavar="REGISTRY", help=argparse.SUPPRESS)
    parser.add_argument("--lifetime", type=float, default=1800, help=argparse.SUPPRESS)
    parser.add_argument("--batch-rows", type=int, default=4096, help=argparse.SUPPRESS)
    parser.add_argument("--jobs-dir", help=argparse.SUPPRESS)
    parser.add_argument("--settings", help=argparse.SUPPRESS)  # ServerConfig fields, JSON
    args = parser.parse_args(argv)
    if args.serve:
        settings = json.loads(args.settings) if args.settings else None
        serve(args.serve, args.lifetime, args.batch_rows, args.jobs_dir, settings)
        return 0
    with tempfile.TemporaryDirectory(prefix="dsgrid-sql-load-") as scratch:
        registry = Path(args.registry) if args.registry else make_registry(Path(scratch))
        ref = reference(registry)
        server = ServerProcess(registry, jobs_dir=Path(scratch) / "jobs")
        try:
            report = run_load(
                server,
                ref,
                clients=args.clients,
                queries=args.queries,
                seed=args.seed,
                http_clients=args.http_clients,
            )
        finally:
            server.stop()
    print(markdown(report, args.clients, args.queries, args.http_clients))
    problems = check(report)
    for problem in problems[:20]:
        print(f"- PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
