"""Soak: one server for N minutes under 16 mixed clients while its registry gains versions.

    python -m bench soak --minutes 30      (or: python -m bench.soak --minutes 30)

The server runs in its own process (bench/load.py's ``--serve``: Flight SQL and the HTTP API
over one ServerCore), measured alone from /proc. 12 Flight SQL clients mix metadata
commands, small aggregates, a large result, failing statements, cancelled streams and
hostile texts (over the size and nesting limits, file readers, huge series, junk bytes, long
OR chains); 4 HTTP clients mix inline statements, jobs, failing statements and cancelled
jobs. Meanwhile a writer registers a new version of the commercial dataset every few seconds
(the project's generator, dsgrid's format: a data folder, then a dataset and a project
version in one transaction) and every tenth time replaces registry.db by rename.

Version k's commercial values are the first version's times 1 + k/1000, so every answer is
checked: rows over unchanged datasets must equal the first version's; rows over the
commercial dataset must all be scaled by one factor, that of a version that was current
while the query ran (give or take the server's poll of the registry); ``VERSION AS OF``
answers must carry exactly their version's factor. Errors must be the expected, clean ones.

Every few seconds the server's RSS, open file descriptors, registered engine inputs, live
catalogs and handles are sampled; the report gives them per minute, the RSS slope after
warm-up (least squares, MB/hour), and the handles once the clients have gone.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from . import load

COMMERCIAL = "dsgrid_demo_commercial"
FLIGHT_CLIENTS = 12
HTTP_CLIENTS = 4
KINDS = ("metadata", "small", "as_of", "large", "failing", "cancelled", "hostile")
WEIGHTS = (0.18, 0.3, 0.07, 0.07, 0.12, 0.1, 0.16)
HTTP_KINDS = ("http_inline", "http_job", "http_failing", "http_cancelled")
HTTP_WEIGHTS = (0.4, 0.3, 0.15, 0.15)
COMMERCIAL_TOTAL = f"SELECT metric, SUM(value) AS v FROM {COMMERCIAL} GROUP BY ALL ORDER BY ALL"
# (SQL, which rows carry the commercial factor: "all", "none" or a dataset_id column)
SMALL = {
    "SELECT dataset_id, geography, SUM(value) AS v FROM data GROUP BY ALL ORDER BY ALL": (
        "dataset_id"
    ),
    COMMERCIAL_TOTAL: "all",
    f"SELECT COUNT(*) AS n FROM {COMMERCIAL}": "none",
    "SELECT geography, SUM(value) AS v FROM dsgrid_demo_residential GROUP BY ALL ORDER BY ALL": (
        "none"
    ),
}
AS_OF = f"SELECT SUM(value) AS v FROM {COMMERCIAL} VERSION AS OF '{{version}}'"
# Hostile texts: (SQL, words the clean error must contain).
HOSTILE = (
    ("SELECT 1 -- " + "x" * 1_100_000, "over the limit"),
    ("SELECT " + "(" * 100 + "1" + ")" * 100, "too deeply"),
    ("SELECT * FROM read_parquet('/etc/passwd')", "not allowed"),
    ("SELECT * FROM generate_series(1, 1000000000000)", "over the limit"),
    ("\x00\x01SELECT \u2603 FROM", "Syntax error"),
    ("SELECT getenv('HOME')", "not allowed"),
    ("ATTACH '/tmp/x.db'", "not allowed"),
)
OR_TERMS = 1000  # a valid, long OR chain: a new text each time (no translation reused)
# A version is still "current" this long after the next one was written: the server polls
# the registry every second and reads a new version in well under a second, more under load.
SLACK_S = 15.0
# Engine inputs idle this long are released (ServerConfig.input_idle_s, 600 s by default): the
# soak ends by waiting for it, so that what old versions held is seen to go.
INPUT_IDLE_S = 60.0
# Catalogs (registry versions) alive once the clients have gone: the current one, the one
# before, and at most one per client that a session held when the last version came (freed
# at the next change: service/heap.py). One per version kept would be hundreds.
TOLERANCE = 1e-9


def factor(k: int) -> float:
    return 1.0 + k / 1000.0


# -- the registry and its writer ----------------------------------------------------------------


@dataclass
class Versions:
    """When each commercial version became visible: (k, write started, write ended)."""

    written: list[tuple[int, float, float]] = field(default_factory=lambda: [(0, 0.0, 0.0)])
    lock: threading.Lock = field(default_factory=threading.Lock)
    errors: list[str] = field(default_factory=list)

    def add(self, k: int, started: float, ended: float) -> None:
        with self.lock:
            self.written.append((k, started, ended))

    def allowed(self, t0: float, t1: float) -> set[int]:
        """Versions that may have been current to a query that ran from t0 to t1."""
        with self.lock:
            written = list(self.written)
        result = set()
        for index, (k, started, _) in enumerate(written):
            following = written[index + 1] if index + 1 < len(written) else None
            if (k == 0 or started <= t1) and (following is None or following[2] + SLACK_S > t0):
                result.add(k)
        return result

    def published(self, before: float) -> list[int]:
        with self.lock:
            return [k for k, _, ended in self.written if k == 0 or ended < before]


def writer_loop(
    registry: Path, versions: Versions, interval: float, stop: threading.Event
) -> None:
    from dsgrid_sql.generator.updates import register_dataset_update

    k = 0
    while not stop.wait(interval):
        k += 1
        started = time.monotonic()
        try:
            register_dataset_update(registry, factor(k), replace_file=k % 10 == 0)
        except Exception as exc:  # reported, and the soak fails
            versions.errors.append(f"version {k}: {type(exc).__name__}: {exc}")
            return
        versions.add(k, started, time.monotonic())


# -- answers ------------------------------------------------------------------------------------


def reference(registry: Path) -> dict[str, Any]:
    import dsgrid_sql

    with dsgrid_sql.connect(registry) as session:
        small = {sql: session.sql(sql).to_arrow() for sql in SMALL}
        large = session.sql(load.LARGE).to_arrow()
    import pyarrow.compute as pc

    return {
        "small": small,
        "large_rows": large.num_rows,
        "large_sum": pc.sum(large.column("value")).as_py(),
        "commercial_total": pc.sum(small[COMMERCIAL_TOTAL].column("v")).as_py(),
    }


def check_versioned(actual: pa.Table, expected: pa.Table, scaled: str, allowed: set[int]) -> str:
    """'' when ``actual`` is ``expected`` with its scaled rows times one allowed factor."""
    if actual.num_rows != expected.num_rows or actual.column_names != expected.column_names:
        return f"wrong shape: {actual.num_rows} rows, {actual.column_names}"
    value = expected.column_names[-1]
    keys = expected.column_names[:-1]
    a_rows, e_rows = actual.to_pylist(), expected.to_pylist()
    ratios = []
    for a, e in zip(a_rows, e_rows, strict=True):
        if any(a[k] != e[k] for k in keys):
            return f"wrong keys: {[a[k] for k in keys]} for {[e[k] for k in keys]}"
        is_scaled = scaled == "all" or (scaled == "dataset_id" and e["dataset_id"] == COMMERCIAL)
        if is_scaled and e[value]:
            ratios.append(a[value] / e[value])
        elif abs(a[value] - e[value]) > TOLERANCE * abs(e[value]):
            return f"wrong value: {a[value]} for {e[value]}"
    if not ratios:
        return ""
    first = ratios[0]
    if any(abs(r - first) > TOLERANCE * first for r in ratios):
        return "rows of two versions in one answer"
    if not any(abs(first - factor(k)) <= TOLERANCE * factor(k) for k in allowed):
        return f"factor {first:.6f} of no version current then ({sorted(allowed)[-3:]})"
    return ""


def _clean(text: str) -> bool:
    return "Traceback" not in text and 'File "' not in text


# -- clients ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str
    ended: float  # seconds since the load started
    seconds: float
    ok: bool
    detail: str = ""
    error: str = ""  # the expected error's kind, when the answer was a clean error


class FlightSoakClient(load.Client):
    def __init__(self, uri: str, ref: dict[str, Any], rng: random.Random, versions: Versions):
        super().__init__(uri, ref, rng)
        self.versions = versions
        self.error = ""

    def run(self, kind: str) -> str:
        self.error = ""
        if kind == "small":
            sql = self.rng.choice(list(SMALL))
            t0 = time.monotonic()
            table = self.stream(self.info(sql)).read_all()
            allowed = self.versions.allowed(t0, time.monotonic())
            return check_versioned(table, self.ref["small"][sql], SMALL[sql], allowed)
        if kind == "as_of":
            # A version the server has surely read (it polls the registry every second).
            published = self.versions.published(time.monotonic() - SLACK_S)
            k = self.rng.choice(published)
            table = self.stream(self.info(AS_OF.format(version=f"1.{k}.0"))).read_all()
            total = self.ref["commercial_total"] * factor(k)
            got = table.column("v")[0].as_py()
            return "" if abs(got - total) <= TOLERANCE * abs(total) else f"as of 1.{k}.0: {got}"
        if kind == "hostile":
            return self._hostile()
        if kind in ("failing", "cancelled"):
            self.error = kind
        return super().run(kind)

    def _hostile(self) -> str:
        if self.rng.random() < 0.2:
            offset = self.rng.random()
            terms = " OR ".join(f"value = -{i + offset}" for i in range(OR_TERMS))
            sql = f"SELECT COUNT(*) AS n FROM dsgrid_demo_residential WHERE {terms}"
            table = self.stream(self.info(sql)).read_all()
            return "" if table.column("n")[0].as_py() == 0 else "wrong answer: OR chain"
        sql, expected = self.rng.choice(HOSTILE)
        try:
            self.stream(self.info(sql)).read_all()
        except pa.ArrowException as exc:
            text = str(exc)
            self.error = f"hostile: {expected}"
            return "" if _clean(text) and expected in text else f"unclean error: {text[:200]}"
        return f"no error: {sql[:60]!r}"


class HttpSoakClient(load.HttpClient):
    def __init__(self, url: str, ref: dict[str, Any], rng: random.Random, versions: Versions):
        super().__init__(url, ref, rng)
        self.versions = versions
        self.error = ""

    def run(self, kind: str) -> str:
        self.error = ""
        if kind not in ("http_inline", "http_job"):
            if kind in ("http_failing", "http_cancelled"):
                self.error = kind
            return super().run(kind)
        sql = self.rng.choice(list(SMALL))
        t0 = time.monotonic()
        if kind == "http_inline":
            answer = self.http.post(
                "/api/v1/statements", json={"sql": sql, "format": "arrow", "wait_timeout": 60}
            )
            self.jobs[answer.headers.get("x-dsgrid-sql-job", "")] = "SUCCEEDED"
            table = self._arrow(answer)
        else:
            record = self.http.post(
                "/api/v1/statements", json={"sql": sql, "wait_timeout": 0}
            ).json()
            self.jobs[record["id"]] = "SUCCEEDED"
            while record["state"] in ("QUEUED", "RUNNING"):
                record = self.http.get(
                    f"/api/v1/statements/{record['id']}", params={"wait_timeout": 5}
                ).json()
            if record["state"] != "SUCCEEDED":
                return f"job {record['state']}: {record.get('error')}"
            table = self._arrow(self.http.get(record["links"]["result"]))
        allowed = self.versions.allowed(t0, time.monotonic())
        return check_versioned(table, self.ref["small"][sql], SMALL[sql], allowed)

    def lost(self) -> list[str]:
        # Each job's final state, without keeping thousands of ids: checked as it goes.
        problems = super().lost()
        self.jobs.clear()
        return problems


def client_loop(
    client: Any,
    kinds: tuple[str, ...],
    weights: tuple[float, ...],
    start: float,
    end: float,
    out: list[Outcome],
    halt: threading.Event,
) -> None:
    try:
        checked = 0
        while time.monotonic() < end and not halt.is_set():
            kind = client.rng.choices(kinds, weights)[0]
            began = time.monotonic()
            try:
                detail = client.run(kind)
            except Exception as exc:  # anything unexpected is a failure, with its text
                detail = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            now = time.monotonic()
            out.append(Outcome(kind, now - start, now - began, detail == "", detail, client.error))
            checked += 1
            if isinstance(client, HttpSoakClient) and checked % 50 == 0:
                for problem in client.lost():
                    out.append(Outcome("http_lost", now - start, 0.0, False, problem))
        for problem in getattr(client, "lost", list)():
            out.append(Outcome("http_lost", time.monotonic() - start, 0.0, False, problem))
    finally:
        client.close()


# -- the run ------------------------------------------------------------------------------------


@dataclass
class Soak:
    minutes: float
    warmup_s: float
    interval_s: float
    input_idle_s: float = 0.0
    clients: tuple[int, int] = (FLIGHT_CLIENTS, HTTP_CLIENTS)  # Flight SQL, HTTP
    outcomes: list[Outcome] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)  # t, stats
    baseline: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    versions: Versions = field(default_factory=Versions)
    server_log: str = ""

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    def slope_mb_per_hour(self, key: str = "vmrss", after_s: float | None = None) -> float:
        """Least-squares slope of one sampled amount (RSS by default) over the samples
        after warm-up (or after ``after_s``)."""
        start = self.warmup_s if after_s is None else after_s
        points = [(s["t"], s[key] / 2**20) for s in self.samples if s["t"] >= start and key in s]
        if len(points) < 3:
            return float("nan")
        xs, ys = zip(*points, strict=True)
        return statistics.linear_regression(xs, ys).slope * 3600


def run_soak(
    scratch: Path,
    minutes: float,
    *,
    warmup_s: float | None = None,
    interval_s: float = 3.0,
    sample_s: float = 5.0,
    seed: int = 0,
    flight_clients: int = FLIGHT_CLIENTS,
    http_clients: int = HTTP_CLIENTS,
    input_idle_s: float = INPUT_IDLE_S,
) -> Soak:
    registry = load.make_registry(scratch)
    ref = reference(registry)
    soak = Soak(minutes, warmup_s if warmup_s is not None else min(300.0, minutes * 60 / 6),
                interval_s, input_idle_s=input_idle_s,
                clients=(flight_clients, http_clients))  # fmt: skip
    log_path = scratch / "server.log"
    with open(log_path, "w") as log:
        server = load.ServerProcess(
            registry,
            lifetime=minutes * 60 + 900,
            jobs_dir=scratch / "jobs",
            log=log,
            settings={"input_idle_s": input_idle_s},
        )
        try:
            _run(server, registry, ref, soak, sample_s, seed, flight_clients, http_clients)
        finally:
            server.stop()
    soak.server_log = log_path.read_text(errors="replace")
    return soak


def _run(
    server: load.ServerProcess,
    registry: Path,
    ref: dict[str, Any],
    soak: Soak,
    sample_s: float,
    seed: int,
    flight_clients: int,
    http_clients: int,
) -> None:
    warm = FlightSoakClient(server.uri, ref, random.Random(seed), soak.versions)
    for kind in KINDS:
        warm.run(kind)
    warm.close()
    soak.baseline = load.wait_idle(server)
    stats_lock = threading.Lock()

    def stats() -> dict[str, Any]:
        with stats_lock:
            return server.stats()

    start = time.monotonic()
    end = start + soak.minutes * 60
    stop = threading.Event()
    writer = threading.Thread(
        target=writer_loop, args=(registry, soak.versions, soak.interval_s, stop), daemon=True
    )

    def sample() -> None:
        while not stop.wait(sample_s):
            soak.samples.append({"t": time.monotonic() - start, **stats()})

    sampler = threading.Thread(target=sample, daemon=True)
    outcomes: list[list[Outcome]] = [[] for _ in range(flight_clients + http_clients)]
    clients: list[tuple[Any, tuple[str, ...], tuple[float, ...]]] = [
        (FlightSoakClient(server.uri, ref, random.Random(seed + 1 + i), soak.versions),
         KINDS, WEIGHTS)
        for i in range(flight_clients)
    ] + [
        (HttpSoakClient(server.http_url, ref, random.Random(seed + 1001 + i), soak.versions),
         HTTP_KINDS, HTTP_WEIGHTS)
        for i in range(http_clients)
    ]  # fmt: skip
    halt = threading.Event()  # Ctrl-C: the clients stop after their current query
    threads = [
        threading.Thread(target=client_loop, args=(*client, start, end, outcomes[i], halt))
        for i, client in enumerate(clients)
    ]
    writer.start()
    sampler.start()
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except KeyboardInterrupt:
        halt.set()
        stop.set()
        for thread in threads:
            thread.join()
        raise
    stop.set()
    writer.join()
    sampler.join()
    soak.outcomes = sorted((o for per in outcomes for o in per), key=lambda o: o.ended)
    soak.after = _settled(server, soak)


def _settled(server: load.ServerProcess, soak: Soak) -> dict[str, Any]:
    """Stats once every handle is released, the server has read the last version and every
    engine input has gone idle and been released (or a generous deadline passed)."""
    timeout = soak.input_idle_s * 2 + 60
    deadline = time.monotonic() + timeout
    versions = len(soak.versions.written) - 1
    while True:
        stats = load.wait_idle(server, timeout)
        settled = (
            stats["registrations"] - soak.baseline["registrations"] >= versions
            and stats["engine_inputs"] <= soak.baseline["engine_inputs"]
            and stats["files"] <= soak.baseline["files"]
        )
        if settled or time.monotonic() > deadline:
            return stats
        time.sleep(0.2)


# -- the report ---------------------------------------------------------------------------------

MIB = 2**20


def check(soak: Soak) -> list[str]:
    problems = [f"{o.kind}: {o.detail}" for o in soak.failures]
    problems += soak.versions.errors
    problems += [f"{k} left open: {soak.after.get(k)}" for k in load.HANDLES if soak.after.get(k)]
    if soak.after["files"] > soak.baseline["files"]:
        problems.append(f"open files {soak.after['files']} > baseline {soak.baseline['files']}")
    if soak.after["engine_inputs"] > soak.baseline["engine_inputs"]:
        problems.append(
            f"engine inputs {soak.after['engine_inputs']} > baseline "
            f"{soak.baseline['engine_inputs']}"
        )
    read = soak.after["registrations"] - soak.baseline["registrations"]
    if read < len(soak.versions.written) - 1:
        problems.append(f"the server read {read} of {len(soak.versions.written) - 1} versions")
    if soak.after["catalogs"] > sum(soak.clients) + 2:
        problems.append(f"{soak.after['catalogs']} catalogs alive after the load")
    tracebacks = soak.server_log.count("Traceback")
    if tracebacks:
        problems.append(f"{tracebacks} tracebacks in the server's log")
    return problems


def markdown(soak: Soak) -> str:
    total = len(soak.outcomes)
    wall = soak.minutes * 60
    versions = len(soak.versions.written) - 1
    replaced = versions // 10
    lines = [
        f"## Soak: {soak.minutes:g} min, {soak.clients[0]} Flight SQL + {soak.clients[1]} HTTP "
        f"clients, a new registry version every {soak.interval_s:g} s",
        "",
        f"{total} queries: **{total / wall:.1f} q/s**; **{len(soak.failures)} wrong answers "
        f"or unclean errors**; {versions} dataset versions registered ({replaced} of them by "
        f"replacing registry.db); the server re-read the registry {soak.after.get('reloads')} "
        "times.",
        "",
        "| minute | queries | q/s | failures | RSS MiB | glibc in use MiB | files | "
        "engine inputs | catalogs | kept results MiB |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    per_minute: dict[int, list[Outcome]] = defaultdict(list)
    for outcome in soak.outcomes:
        per_minute[int(outcome.ended // 60)].append(outcome)
    by_minute = {}
    for sample in soak.samples:
        by_minute[int(sample["t"] // 60)] = sample  # the last sample of each minute
    for minute in range(int(-(-wall // 60))):
        done = per_minute.get(minute, [])
        s = by_minute.get(minute, {})
        seconds = min(60.0, wall - minute * 60)
        lines.append(
            f"| {minute + 1} | {len(done)} | {len(done) / seconds:.1f} | "
            f"{sum(1 for o in done if not o.ok)} | {s.get('vmrss', 0) / MIB:.0f} | "
            f"{s.get('malloc_used', 0) / MIB:.0f} | {s.get('files', '')} | "
            f"{s.get('engine_inputs', '')} | {s.get('catalogs', '')} | "
            f"{s.get('kept_result_bytes', 0) / MIB:.1f} |"
        )
    lines += ["", "| kind | queries | p50 ms | p95 ms | failures |", "|---|---:|---:|---:|---:|"]
    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in soak.outcomes:
        by_kind[outcome.kind].append(outcome)
    for kind in (*KINDS, *HTTP_KINDS, "http_lost"):
        items = by_kind.get(kind, [])
        if not items and kind == "http_lost":
            continue
        times = [o.seconds * 1000 for o in items]
        bad = sum(1 for o in items if not o.ok)
        lines.append(
            f"| {kind} | {len(items)} | {load._pct(times, 50):.1f} | "
            f"{load._pct(times, 95):.1f} | {bad} |"
        )
    errors = Counter(o.error for o in soak.outcomes if o.ok and o.error)
    lines += ["", "| expected error (clean) | count |", "|---|---:|"]
    lines += [f"| {kind} | {n} |" for kind, n in sorted(errors.items())]
    failures = Counter(o.detail for o in soak.failures)
    if failures:
        lines += ["", "| failure | count |", "|---|---:|"]
        lines += [f"| {detail} | {n} |" for detail, n in failures.most_common(20)]
    base, after = soak.baseline, soak.after
    warm = [s["vmrss"] for s in soak.samples if s["t"] >= soak.warmup_s]
    lines += [
        "",
        "| server | baseline (warm, before the load) | after warm-up (first sample) | "
        "peak | after the load |",
        "|---|---:|---:|---:|---:|",
        f"| RSS MiB | {base['vmrss'] / MIB:.1f} | {(warm[0] if warm else 0) / MIB:.1f} | "
        f"{max([s['vmrss'] for s in soak.samples] or [0]) / MIB:.1f} | "
        f"{after['vmrss'] / MIB:.1f} |",
        f"| open files | {base['files']} | | {max([s['files'] for s in soak.samples] or [0])} | "
        f"{after['files']} |",
        f"| engine inputs | {base['engine_inputs']} | | "
        f"{max([s['engine_inputs'] for s in soak.samples] or [0])} | {after['engine_inputs']} |",
        f"| live catalogs | {base['catalogs']} | | "
        f"{max([s['catalogs'] for s in soak.samples] or [0])} | {after['catalogs']} |",
        "",
        f"RSS slope after warm-up ({soak.warmup_s / 60:g} min), least squares over "
        f"{len(warm)} samples: **{soak.slope_mb_per_hour():+.1f} MB/hour**; over the second "
        f"half {soak.slope_mb_per_hour(after_s=soak.minutes * 30):+.1f} MB/hour. Of it (MB/hour "
        "after warm-up): glibc in use "
        f"{soak.slope_mb_per_hour('malloc_used'):+.1f}, glibc free "
        f"{soak.slope_mb_per_hour('malloc_free'):+.1f} (kept by the allocator; trimmed pages "
        "count here but are not resident), Arrow's pool "
        f"{soak.slope_mb_per_hour('arrow_bytes'):+.1f}, "
        f"DuckDB's buffers {soak.slope_mb_per_hour('duckdb_bytes'):+.1f}.",
        "",
        "Resident memory by mapping (/proc smaps; MB/hour after warm-up): glibc's main heap "
        f"{soak.slope_mb_per_hour('rss_heap'):+.1f}, its thread arenas "
        f"{soak.slope_mb_per_hour('rss_arenas'):+.1f}, thread stacks "
        f"{soak.slope_mb_per_hour('rss_stacks'):+.1f}, other anonymous memory "
        f"{soak.slope_mb_per_hour('rss_anon'):+.1f} (of which Python's arenas mapped "
        f"{soak.slope_mb_per_hour('py_arena_bytes'):+.1f}, their live blocks "
        f"{soak.slope_mb_per_hour('py_used_bytes'):+.1f}), files "
        f"{soak.slope_mb_per_hour('rss_file'):+.1f}. Threads: "
        f"{base.get('threads')} before, at most "
        f"{max([s.get('threads', 0) for s in soak.samples] or [0])}, {after.get('threads')} "
        "after.",
        "",
        "Open handles after: " + ", ".join(f"{k}={after.get(k)}" for k in load.HANDLES),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between versions")
    parser.add_argument("--warmup", type=float, help="seconds left out of the RSS slope")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=Path, help="write the server's samples here (JSON)")
    parser.add_argument("--log", type=Path, help="write the server's log here")
    parser.add_argument("--clients", type=int, default=FLIGHT_CLIENTS, help="Flight SQL")
    parser.add_argument("--http-clients", type=int, default=HTTP_CLIENTS)
    parser.add_argument(
        "--input-idle", type=float, default=INPUT_IDLE_S, help="the server's input_idle_s"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dsgrid-sql-soak-") as scratch:
        soak = run_soak(
            Path(scratch), args.minutes, warmup_s=args.warmup, interval_s=args.interval,
            seed=args.seed, input_idle_s=args.input_idle, flight_clients=args.clients,
            http_clients=args.http_clients,
        )  # fmt: skip
    if args.log:
        args.log.write_text(soak.server_log)
    if args.samples:
        args.samples.write_text(json.dumps(soak.samples, indent=1))
    print(markdown(soak))
    problems = check(soak)
    for problem in problems[:20]:
        print(f"- PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
