"""The Flight SQL endpoint: large-result throughput, small-query latency, concurrency, memory.

Our server runs in its own process (``dsgrid-sql serve --port 0`` with query limits raised to
32 so the concurrency case is not refused); the clients run in this one. Peers, measured in
the same run:

- ``floor``: a bare ``pyarrow.flight.FlightServerBase`` in its own process serving the
  identical result from an Arrow IPC file (memory-mapped) with ``RecordBatchStream``, in the
  same batches our server sent (the file is written from our server's own stream), so it
  spends no Python per batch and runs no engine. It answers just enough Flight SQL
  (CreatePreparedStatement, GetFlightInfo of a statement or a prepared statement) for ADBC to
  read from it too, so both clients have a floor;
- ``in-process session``: ``dsgrid_sql.connect(...).sql(q)`` read here without Flight — what
  the engine and the rewrite cost on any front end;
- ``bound``: pyarrow gathering every row of the result into new buffers (``Table.take``), in
  this process: the least any producer of a fresh result spends writing its bytes, engine
  and transport aside. When it is slower than the floor / 0.70, no server that runs the
  query for each request can reach the throughput target; only a kept result can.

Cases:
1. large result (``SELECT * FROM data`` on a generated registry, ~5 M rows by default,
   ``--rows``): raw ``pyarrow.flight`` (GetFlightInfo + DoGet, iterate the batches) and ADBC
   (``execute`` + iterate ``fetch_record_batch()``), rows/s and GB/s of Arrow data, as a ratio
   to the floor (target ≥ 0.70). Runs are interleaved so drift touches every case alike.
   Twice: from a server that keeps nothing (``--result-cache-mb 0``: the engine runs for
   every stream, as for the first request of a result), and from one whose budget holds the
   result (the second and later requests; engine/results.py);
2. the server's RSS idle and its peak (VmHWM, reset before each stream) while streaming a
   quarter and all of the large result, on the server that keeps nothing: it should stay
   flat as the result grows;
3. small-query latency on the demo-sized registry, p50/p95, for a query on a dimension table
   (little engine work: the Flight and session overhead; target p50 < 10 ms over ADBC) and
   for an aggregate over ``data`` (engine-bound): ADBC with the same SQL (the prepared handle
   is reused; the result is kept by a default server, and run again by one that keeps
   nothing), ADBC with changing SQL (prepare + close each time; the engine runs), raw
   pyarrow;
4. concurrent clients (threads, each its own ADBC connection), a fresh default server per
   client count (results kept, as users run it): 1, 4 and 16 clients running a mix of
   engine-light queries, and 1 and 16 running aggregates over ``data``; queries/s and
   per-query p50/p95 beside one client's, and any
   errors (UNAVAILABLE, or the server dying — the faulting frame is read from the server's
   faulthandler output).

``--quick`` runs a 1 M-row result and fewer iterations; ``--rows 10M`` a larger result (each
size's registry is generated once under bench/cache).
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight

import dsgrid_sql
from dsgrid_sql.flight_server import proto
from dsgrid_sql.generator import GeneratorSpec, generate_registry

from .generator_scale import spec_for
from .harness import CACHE

# Rows of ``data`` per county with generator_scale's shape (two model years, one scenario).
DATA_ROWS_PER_COUNTY = 114_756
DEFAULT_ROWS = 5_000_000
QUICK_ROWS = 1_000_000
LARGE_RUNS = 5  # at most, whatever --runs says: each run streams the large result 5 times

LARGE_QUERY = "SELECT * FROM data"
# The demo registry's project is dsgrid_demo (GeneratorSpec's default).
LIGHT_QUERY = "SELECT id, name FROM dsgrid_demo_dimensions.us_states"
AGG_QUERY = "SELECT us_states, SUM(value) AS mwh FROM data WHERE model_year = '2030' GROUP BY ALL"
LIGHT_MIX = [
    LIGHT_QUERY,
    "SELECT COUNT(*) AS n FROM dsgrid_demo_dimensions.geography",
    "SELECT * FROM dsgrid_demo_mappings.geography__us_states LIMIT 20",
    "SELECT dataset_id FROM registry.datasets",
    "SELECT model_year, SUM(value) AS mwh FROM dsgrid_demo_ev_annual GROUP BY ALL",
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'dsgrid_demo'",
]
DATA_MIX = [
    AGG_QUERY,
    "SELECT COUNT(*) AS n FROM data",
    "SELECT scenario, model_year, ROUND(SUM(value), 1) AS mwh FROM data GROUP BY ALL ORDER BY ALL",
    "SELECT us_census_regions, MAX(value) AS peak FROM data WHERE scenario = 'reference' "
    "GROUP BY ALL",
    "SELECT * FROM data LIMIT 100",
    "SELECT metric, SUM(value) AS mwh FROM data WHERE model_year = '2050' GROUP BY ALL",
]
CLIENT_COUNTS = (1, 4, 16)
SERVER_LIMITS = ["--max-concurrent-queries", "32", "--max-queries-per-user", "32"]
IN_PROCESS = "in-process session, to_reader (no Flight)"
# What producing the result costs at least, whatever the engine: writing its bytes once.
COPY_ONCE = "bound: pyarrow writes the result's bytes once (Table.take; no engine, no Flight)"
# The large result is kept by a server with a budget it fits in (a result may take a quarter).
KEEPING_MB = 4096
KEPT = f"dsgrid-sql, result kept (--result-cache-mb {KEEPING_MB})"
REPO = Path(__file__).resolve().parents[1]
READY = re.compile(r"on (grpc://[\w.\-]+:\d+)")

_FLOOR = r"""
import signal, sys, threading
import pyarrow as pa, pyarrow.flight as flight
from dsgrid_sql.flight_server import proto

tables = {}
for arg in sys.argv[1:]:
    text, path = arg.split("=", 1)
    tables[open(text).read()] = pa.ipc.open_file(pa.memory_map(path)).read_all()

def lookup(text):
    if text in tables:
        return text
    return next(key for key in tables if text.startswith(key))  # changing SQL: key + suffix

class Floor(flight.FlightServerBase):
    def get_flight_info(self, context, descriptor):
        name, message = proto.unpack(descriptor.command)
        if name == "CommandStatementQuery":
            key = lookup(message.query)
        elif name == "CommandPreparedStatementQuery":
            key = message.prepared_statement_handle.decode()
        else:
            raise flight.FlightUnimplementedError(name)
        endpoint = flight.FlightEndpoint(key.encode(), [])
        return flight.FlightInfo(tables[key].schema, descriptor, [endpoint], -1, -1)

    def do_get(self, context, ticket):
        return flight.RecordBatchStream(tables[ticket.ticket.decode()])

    def do_action(self, context, action):
        if action.type != "CreatePreparedStatement":
            return []
        _, request = proto.unpack(action.body.to_pybytes())
        key = lookup(request.query)
        result = proto.sql("ActionCreatePreparedStatementResult")(
            prepared_statement_handle=key.encode(),
            dataset_schema=tables[key].schema.serialize().to_pybytes(),
        )
        return [flight.Result(pa.py_buffer(proto.pack(result)))]

server = Floor("grpc+tcp://127.0.0.1:0")
print(f"floor on grpc://127.0.0.1:{server.port}", file=sys.stderr, flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
while not stop.wait(0.5):
    pass
server.shutdown()
"""


_CLOCK = {"started": time.perf_counter()}


def progress(message: str) -> None:
    elapsed = time.perf_counter() - _CLOCK["started"]
    print(f"(flight {elapsed:5.0f} s: {message})", file=sys.stderr, flush=True)


# -- servers in their own processes ---------------------------------------------------------


class ServerProcess:
    """A server child: its URI from the stderr line it prints when listening; stderr is
    drained meanwhile (our server logs a line per query) and its errors kept; stopped with
    SIGTERM."""

    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-X", "faulthandler", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.errors: list[str] = []
        assert self.proc.stderr is not None
        lines = []
        for line in self.proc.stderr:
            lines.append(line)
            match = READY.search(line)
            if match:
                self.uri = match.group(1)
                break
        else:
            self.proc.wait()
            raise RuntimeError("server did not start:\n" + "".join(lines[-20:]))
        self._drain = threading.Thread(target=self._read, daemon=True)
        self._drain.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if len(self.errors) < 1000 and " INFO " not in line:
                self.errors.append(line.rstrip())

    @property
    def pid(self) -> int:
        return self.proc.pid

    def died(self) -> str | None:
        """How the server ended, when it did on its own."""
        code = self.proc.poll()
        if code is None:
            return None
        if code < 0:
            return f"server died: {signal.Signals(-code).name}"
        return f"server exited with {code}"

    def crash_site(self) -> str:
        """The faulthandler's current-thread frame, if the server crashed."""
        self._drain.join(timeout=5)
        for i, line in enumerate(self.errors):
            if line.startswith("Current thread") and i + 1 < len(self.errors):
                return self.errors[i + 1].strip().replace(f"{REPO}{os.sep}", "")
        return ""

    def status(self) -> dict[str, int]:
        """VmRSS and VmHWM in bytes."""
        values = {}
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = int(rest.split()[0]) * 1024
        return values

    def reset_peak(self) -> None:
        with open(f"/proc/{self.pid}/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS (Linux ≥ 4.0)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextlib.contextmanager
def serving(args: list[str]) -> Iterator[ServerProcess]:
    server = ServerProcess(args)
    try:
        yield server
    finally:
        server.stop()


def ours(db: Path, result_cache_mb: float | None = None) -> list[str]:
    """Our server's command line; ``result_cache_mb`` None keeps the server's default."""
    kept = [] if result_cache_mb is None else ["--result-cache-mb", f"{result_cache_mb:g}"]
    args = ["-m", "dsgrid_sql", "serve", "--registry", str(db), "--port", "0"]
    return [*args, *SERVER_LIMITS, *kept]


def floor_server(*files: str) -> list[str]:
    return ["-c", _FLOOR, *files]


# -- clients ----------------------------------------------------------------------------------


def statement(query: str) -> flight.FlightDescriptor:
    command = proto.pack(proto.sql("CommandStatementQuery")(query=query))
    return flight.FlightDescriptor.for_command(command)


def raw_stream(client: flight.FlightClient, query: str) -> int:
    """GetFlightInfo + DoGet of every endpoint, iterating the batches; returns rows."""
    info = client.get_flight_info(statement(query))
    rows = 0
    for endpoint in info.endpoints:
        reader = client.do_get(endpoint.ticket)
        while True:
            try:
                chunk = reader.read_chunk()
            except StopIteration:
                break
            rows += chunk.data.num_rows
    return rows


def raw_batches(client: flight.FlightClient, query: str) -> list[pa.RecordBatch]:
    info = client.get_flight_info(statement(query))
    return [
        batch for e in info.endpoints for batch in client.do_get(e.ticket).read_all().to_batches()
    ]


def adbc_connect(uri: str) -> Any:
    import adbc_driver_flightsql.dbapi as adbc

    return adbc.connect(uri, autocommit=True)


def adbc_stream(cursor: Any, query: str) -> int:
    cursor.execute(query)
    rows = 0
    for batch in cursor.fetch_record_batch():
        rows += batch.num_rows
    return rows


def session_stream(session: Any, query: str) -> int:
    with contextlib.closing(session.sql(query).to_reader()) as reader:
        return sum(batch.num_rows for batch in reader)


# -- timing and tables ------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    """How much of each case to run (``--quick`` shrinks every one)."""

    rows: int
    large_runs: int
    iterations: int  # small-query timings per case, at most...
    budget_s: float  # ...stopping sooner once they pass this many seconds...
    min_iterations: int  # ...but never under this many
    light_total: int  # queries per concurrency run, engine-light mix
    data_total: int  # queries per concurrency run, aggregates over data
    concurrency_runs: int


def sizes(runs: int, rows: int, quick: bool) -> Sizes:
    if quick:
        return Sizes(min(rows, QUICK_ROWS), min(runs, 3), 50, 1.0, 5, 48, 8, 2)
    return Sizes(rows, min(runs, LARGE_RUNS), 200, 4.0, 15, 96, 16, 2)


def timed(action: Callable[[], object], size: Sizes, warmup: int = 5) -> list[float]:
    """Up to ``size.iterations`` timings, fewer (never under ``size.min_iterations``) once
    they take longer than ``size.budget_s``; after up to ``warmup`` untimed calls (fewer once
    they pass a second)."""
    began = time.perf_counter()
    for _ in range(warmup):
        action()
        if time.perf_counter() - began > 1.0:
            break
    seconds: list[float] = []
    began = time.perf_counter()
    while len(seconds) < size.iterations and (
        len(seconds) < size.min_iterations or time.perf_counter() - began < size.budget_s
    ):
        start = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - start)
    return seconds


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Throughput:
    name: str
    floor: str | None  # the peer with the same client
    action: Callable[[], int]
    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def throughput_table(title: str, cases: list[Throughput], rows: int, nbytes: int) -> str:
    by_name = {case.name: case for case in cases}
    floor_raw = by_name["floor: raw pyarrow.flight"].median
    engine = by_name[IN_PROCESS].median
    lines = [
        f"## {title}",
        "",
        "Throughput ratios (above 1 is faster): × floor, same client (target ≥ 0.70), × floor "
        "raw, × the in-process session (the engine alone, no Flight).",
        "",
        "| case | median s | min s | max s | runs | M rows/s | GB/s | × floor, same client "
        "| × floor raw | × in-process |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case in cases:
        same = f"{by_name[case.floor].median / case.median:.2f}" if case.floor else "—"
        lines.append(
            f"| {case.name} | {case.median:.2f} | {min(case.seconds):.2f} | "
            f"{max(case.seconds):.2f} | {len(case.seconds)} | {rows / case.median / 1e6:.2f} | "
            f"{nbytes / case.median / 1e9:.2f} | {same} | {floor_raw / case.median:.2f} | "
            f"{engine / case.median:.2f} |"
        )
    return "\n".join(lines)


def latency_table(title: str, cases: list[tuple[str, list[float]]]) -> str:
    results = dict(cases)
    base = statistics.median(results["floor: raw GetFlightInfo+DoGet"])
    engine = statistics.median(results["in-process session (no Flight)"])
    lines = [
        f"## {title}",
        "",
        "| case | p50 ms | p95 ms | min ms | max ms | iterations | p50 × floor raw "
        "| p50 − in-process ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, seconds in cases:
        p50 = statistics.median(seconds)
        lines.append(
            f"| {name} | {p50 * 1e3:.2f} | {percentile(seconds, 0.95) * 1e3:.2f} | "
            f"{min(seconds) * 1e3:.2f} | {max(seconds) * 1e3:.2f} | {len(seconds)} | "
            f"{p50 / base:.2f} | {(p50 - engine) * 1e3:+.2f} |"
        )
    return "\n".join(lines)


# -- registries and the floor's data ------------------------------------------------------------


def large_registry(rows: int) -> Path:
    counties = max(1, round(rows / DATA_ROWS_PER_COUNTY))
    path = CACHE / f"flight-{counties}"
    if not (path / "registry.db").exists():
        progress(f"generating a {counties}-county registry (cached for later runs)")
        generate_registry(path, spec_for(counties), overwrite=True)
    return path / "registry.db"


def demo_registry() -> Path:
    path = CACHE / "flight-demo"
    if not (path / "registry.db").exists():
        generate_registry(path, GeneratorSpec(), overwrite=True)
    return path / "registry.db"


def write_floor_file(folder: Path, name: str, query: str, batches: list[pa.RecordBatch]) -> str:
    """``textfile=ipcfile`` for the floor script: the query text and its result."""
    (folder / f"{name}.sql").write_text(query)
    path = folder / f"{name}.arrow"
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, batches[0].schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    return f"{folder / name}.sql={path}"


# -- 1 and 2: the large result and memory -----------------------------------------------------


def large_result(db: Path, runs: int, work: Path) -> list[str]:
    # Nothing kept: every stream runs the engine (as the first request for a result does).
    with serving(ours(db, 0)) as server, dsgrid_sql.connect(db) as session:
        client = flight.FlightClient(server.uri)
        raw_stream(client, "SELECT COUNT(*) FROM data")
        idle = server.status()["VmRSS"]
        # The floor's data: our own stream, batch for batch (also our warm-up).
        progress("materializing the large result for the floor")
        batches = raw_batches(client, LARGE_QUERY)
        rows = sum(b.num_rows for b in batches)
        nbytes = sum(b.nbytes for b in batches)
        batch_rows = statistics.median(b.num_rows for b in batches)
        floor_arg = write_floor_file(work, "large", LARGE_QUERY, batches)
        result = pa.Table.from_batches(batches)
        del batches
        every_row = pa.array(range(rows), pa.int64())
        server.reset_peak()
        quarter = raw_stream(client, f"{LARGE_QUERY} LIMIT {rows // 4}")
        quarter_peak = server.status()["VmHWM"]
        full_peaks: list[int] = []

        def ours_raw() -> int:
            server.reset_peak()
            streamed = raw_stream(client, LARGE_QUERY)
            full_peaks.append(server.status()["VmHWM"])
            return streamed

        with (
            serving(floor_server(floor_arg)) as floor,
            serving(ours(db, KEEPING_MB)) as keeping,
            contextlib.closing(adbc_connect(server.uri)) as conn,
            contextlib.closing(adbc_connect(floor.uri)) as floor_conn,
            contextlib.closing(adbc_connect(keeping.uri)) as kept_conn,
            contextlib.closing(conn.cursor()) as cursor,
            contextlib.closing(floor_conn.cursor()) as floor_cursor,
            contextlib.closing(kept_conn.cursor()) as kept_cursor,
        ):
            floor_client = flight.FlightClient(floor.uri)
            kept_client = flight.FlightClient(keeping.uri)
            cases = [
                Throughput(
                    "dsgrid-sql, run each time: raw pyarrow.flight",
                    "floor: raw pyarrow.flight",
                    ours_raw,
                ),
                Throughput(
                    "floor: raw pyarrow.flight",
                    "floor: raw pyarrow.flight",
                    lambda: raw_stream(floor_client, LARGE_QUERY),
                ),
                Throughput(
                    "dsgrid-sql, run each time: ADBC",
                    "floor: ADBC",
                    lambda: adbc_stream(cursor, LARGE_QUERY),
                ),
                Throughput(
                    "floor: ADBC", "floor: ADBC", lambda: adbc_stream(floor_cursor, LARGE_QUERY)
                ),
                Throughput(IN_PROCESS, None, lambda: session_stream(session, LARGE_QUERY)),
                Throughput(COPY_ONCE, None, lambda: result.take(every_row).num_rows),
                Throughput(
                    f"{KEPT}: raw pyarrow.flight",
                    "floor: raw pyarrow.flight",
                    lambda: raw_stream(kept_client, LARGE_QUERY),
                ),
                Throughput(
                    f"{KEPT}: ADBC", "floor: ADBC", lambda: adbc_stream(kept_cursor, LARGE_QUERY)
                ),
            ]
            progress(f"large result: {rows:,} rows, {runs} runs of {len(cases)} cases")
            # Warm-up: connections, prepared statements, DuckDB's Parquet metadata. Our raw
            # path was just warmed by materializing the result.
            assert raw_stream(floor_client, LARGE_QUERY) == rows
            assert adbc_stream(floor_cursor, LARGE_QUERY) == rows
            adbc_stream(cursor, LARGE_QUERY)
            session_stream(session, f"{LARGE_QUERY} LIMIT 100000")
            assert raw_stream(kept_client, LARGE_QUERY) == rows  # runs the engine and keeps it
            adbc_stream(kept_cursor, LARGE_QUERY)
            for _ in range(runs):
                for case in cases:
                    start = time.perf_counter()
                    case.action()
                    case.seconds.append(time.perf_counter() - start)
    title = (
        f"Flight SQL large result: `{LARGE_QUERY}`, {rows:,} rows, {nbytes / 1e9:.2f} GB "
        f"of Arrow, ~{batch_rows:,.0f}-row batches"
    )
    peak = max(full_peaks)
    memory = [
        "## Flight SQL server memory while streaming the large result (raw client)",
        "",
        "| server state | rows streamed | RSS MB (peak: VmHWM) | × idle |",
        "|---|---:|---:|---:|",
        f"| idle, after a COUNT(*) | 0 | {idle / 2**20:.0f} | 1.00 |",
        f"| peak, a quarter of the result | {quarter:,} | {quarter_peak / 2**20:.0f} | "
        f"{quarter_peak / idle:.2f} |",
        f"| peak, all of it (max of {len(full_peaks)} runs) | {rows:,} | {peak / 2**20:.0f} | "
        f"{peak / idle:.2f} |",
    ]
    return [throughput_table(title, cases, rows, nbytes), "\n".join(memory)]


# -- 3: small-query latency -------------------------------------------------------------------


def small_queries(db: Path, size: Sizes, work: Path) -> list[str]:
    tables = []
    with serving(ours(db)) as server:
        client = flight.FlightClient(server.uri)
        files = [
            write_floor_file(work, f"small{i}", query, raw_batches(client, query))
            for i, query in enumerate((LIGHT_QUERY, AGG_QUERY))
        ]
        with (
            serving(floor_server(*files)) as floor,
            serving(ours(db, 0)) as fresh,
            dsgrid_sql.connect(db) as session,
            contextlib.closing(adbc_connect(server.uri)) as conn,
            contextlib.closing(adbc_connect(floor.uri)) as floor_conn,
            contextlib.closing(adbc_connect(fresh.uri)) as fresh_conn,
            contextlib.closing(conn.cursor()) as cursor,
            contextlib.closing(floor_conn.cursor()) as floor_cursor,
            contextlib.closing(fresh_conn.cursor()) as fresh_cursor,
        ):
            floor_client = flight.FlightClient(floor.uri)
            counter = iter(range(10**9))

            def changing(c: Any, query: str) -> int:
                # The text differs each time (ADBC prepares anew); the answer does not.
                return adbc_stream(c, f"{query} LIMIT {1000 + next(counter)}")

            for label, query in (("dimension table", LIGHT_QUERY), ("aggregate", AGG_QUERY)):
                progress(f"small-query latency: {label}")
                cases = {
                    "dsgrid-sql: ADBC, same SQL (result kept)": lambda q=query: adbc_stream(
                        cursor, q
                    ),
                    "dsgrid-sql: ADBC, same SQL, nothing kept (--result-cache-mb 0)": (
                        lambda q=query: adbc_stream(fresh_cursor, q)
                    ),
                    "dsgrid-sql: ADBC, changing SQL (runs the engine)": lambda q=query: changing(
                        cursor, q
                    ),
                    "dsgrid-sql: raw GetFlightInfo+DoGet (result kept)": lambda q=query: (
                        raw_stream(client, q)
                    ),
                    "floor: ADBC, same SQL": lambda q=query: adbc_stream(floor_cursor, q),
                    "floor: ADBC, changing SQL": lambda q=query: changing(floor_cursor, q),
                    "floor: raw GetFlightInfo+DoGet": lambda q=query: raw_stream(floor_client, q),
                    "in-process session (no Flight)": lambda q=query: session_stream(session, q),
                }
                results = [(name, timed(action, size)) for name, action in cases.items()]
                tables.append(
                    latency_table(
                        f"Flight SQL small-query latency, {label} (demo registry): `{query}`",
                        results,
                    )
                )
    return tables


# -- 4: concurrent clients --------------------------------------------------------------------


@dataclass
class Burst:
    seconds: float
    latencies: list[float]
    errors: list[str]


def burst(uri: str, clients: int, per_client: int, queries: list[str]) -> Burst:
    """``clients`` threads, each with its own ADBC connection (opened and warmed before the
    clock starts), each running ``per_client`` queries of the mix, starting at a different
    one. Failed queries are counted, not retried."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    barrier = threading.Barrier(clients + 1)

    def work(index: int) -> None:
        try:
            with (
                contextlib.closing(adbc_connect(uri)) as conn,
                contextlib.closing(conn.cursor()) as cursor,
            ):
                adbc_stream(cursor, queries[index % len(queries)])
                barrier.wait(timeout=300)
                for i in range(per_client):
                    query = queries[(index + i) % len(queries)]
                    start = time.perf_counter()
                    try:
                        adbc_stream(cursor, query)
                    except Exception as exc:
                        errors.append(str(exc).splitlines()[0])
                    latencies[index].append(time.perf_counter() - start)
        except threading.BrokenBarrierError:
            pass
        except Exception as exc:
            errors.append(str(exc).splitlines()[0])
            barrier.abort()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait(timeout=300)
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    return Burst(seconds, [x for per in latencies for x in per], errors)


def error_summary(errors: list[str]) -> str:
    """Errors by kind: the server refusing work (UNAVAILABLE with its limit sentence) is told
    apart from connections failing (also UNAVAILABLE in gRPC, e.g. after a crash)."""
    if not errors:
        return "none"
    busy = sum("try again" in e for e in errors)
    lost = sum(
        any(s in e for s in ("connection refused", "Error while dialing", "connection error"))
        for e in errors
    )
    other = len(errors) - busy - lost
    kinds = [f"{busy} UNAVAILABLE (server busy)", f"{lost} connection failed"]
    if other:
        kinds.append(f"{other} other, e.g. {errors[0][:60]!r}")
    return f"{len(errors)}: " + ", ".join(kinds)


def concurrency(
    db: Path, title: str, queries: list[str], counts: tuple[int, ...], total: int, runs: int
) -> str:
    lines = [
        f"## Flight SQL concurrent clients, {title}: {total} queries per run over ADBC, "
        f"{runs} runs (threads, one connection each; {len(queries)} query shapes; a fresh "
        "server per row)",
        "",
        "| clients | queries/s median | min | max | p50 ms | p95 ms | queries/s × 1 client "
        "| p50 × 1 client | errors |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    one: tuple[float, float] | None = None
    for clients in counts:
        progress(f"concurrency, {title}: {clients} client(s)")
        per_client = max(1, total // clients)
        with serving(ours(db)) as server:
            # No warm-up burst: every client runs one query before the clock starts.
            bursts = [burst(server.uri, clients, per_client, queries) for _ in range(runs)]
            died = server.died()
            crash = server.crash_site() if died else ""
        errors = [e for b in bursts for e in b.errors]
        latencies = [x for b in bursts for x in b.latencies]
        notes = [error_summary(errors)]
        if died:
            notes.append(f"**{died}**" + (f" in `{crash}`" if crash else ""))
        if not latencies or died:
            lines.append(f"| {clients} | — | — | — | — | — | — | — | {'; '.join(notes)} |")
            continue
        rates = [len(b.latencies) / b.seconds for b in bursts]
        rate, p50 = statistics.median(rates), statistics.median(latencies)
        if one is None:
            one = (rate, p50)
        lines.append(
            f"| {clients} | {rate:.3g} | {min(rates):.3g} | {max(rates):.3g} | {p50 * 1e3:.1f} | "
            f"{percentile(latencies, 0.95) * 1e3:.1f} | {rate / one[0]:.2f} | {p50 / one[1]:.2f} "
            f"| {'; '.join(notes)} |"
        )
    return "\n".join(lines)


# -- all of it ----------------------------------------------------------------------------------


def run(runs: int = 7, rows: int = DEFAULT_ROWS, quick: bool = False) -> str:
    _CLOCK["started"] = time.perf_counter()
    size = sizes(runs, rows, quick)
    large_db, small_db = large_registry(size.rows), demo_registry()
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="flight-", dir=CACHE))
    try:
        tables = large_result(large_db, size.large_runs, work)
        tables += small_queries(small_db, size, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    # A dying server's clients leave ADBC cursors that fail to close again when collected.
    hook = sys.unraisablehook
    sys.unraisablehook = _quiet_adbc_close(hook)
    try:
        tables.append(
            concurrency(
                small_db,
                "engine-light mix",
                LIGHT_MIX,
                CLIENT_COUNTS,
                size.light_total,
                size.concurrency_runs,
            )
        )
        tables.append(
            concurrency(
                small_db,
                "aggregates over `data`",
                DATA_MIX,
                (1, CLIENT_COUNTS[-1]),
                size.data_total,
                size.concurrency_runs,
            )
        )
    finally:
        sys.unraisablehook = hook
    progress("done")
    note = (
        f"Flight SQL: server and clients share {os.cpu_count()} CPUs over loopback "
        f"({platform.machine()}); pyarrow {pa.__version__}, ADBC Flight SQL "
        f"{_version('adbc-driver-flightsql')}, DuckDB {_version('duckdb')}."
    )
    return "\n\n".join([note, *tables])


def _quiet_adbc_close(hook: Callable[[Any], None]) -> Callable[[Any], None]:
    def quiet(info: Any) -> None:
        if "Underflow in closing" not in str(info.exc_value):
            hook(info)

    return quiet


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "?"


def parse_rows(text: str) -> int:
    text = text.strip().upper().replace("_", "")
    scale = {"K": 1_000, "M": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("KM")) * scale)
