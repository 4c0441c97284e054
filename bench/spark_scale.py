"""Case 4 of the benchmark suite: the analyst questions on Spark at scale.

    python -m bench.spark_scale [--scales 1M,10M] [--runs 3] [--modes local,cluster,connect]

Every question runs through dsgrid-sql on Spark in three deployments, each in its own Python
process (Spark allows one session per process) with one warm session:

- ``local``: ``local[2]`` in the client's own JVM;
- ``cluster``: a real standalone master and worker started here from the pyspark distribution
  on 127.0.0.1 (client in client deploy mode, one executor);
- ``connect``: a Spark Connect server (``local[2]``) started here on 127.0.0.1.

In every Spark mode the hand-written peer of case 2 (bench/handwritten.py, transpiled to
Spark SQL; the export written by Spark's own Parquet writer) runs on the same session,
interleaved run by run with dsgrid-sql. Each answer — ours and the hand-written one — must
equal DuckDB's (dsgrid-sql on its default engine, also in its own process) to relative 1e-9
after sorting by the question's keys before its time counts. Reported per question:
median/min/max seconds over ``runs`` timed runs (after one warm-up run), the ratio to DuckDB
and to the hand-written SQL, and dsgrid-sql's peak memory over its warm-up run: the sum of
per-process peak RSS (``VmHWM``, reset before each question through
``/proc/<pid>/clear_refs``; a background thread also samples ``VmRSS``) over the client
Python process and the JVMs of the deployment (the local-mode JVM; the driver, master,
worker and executor JVMs; the Connect server JVM).

A last case measures Spark result streaming: ``SELECT * FROM data`` read batch by batch
through the engine (partitions streamed to Python one at a time) against the former path,
``toArrow()`` then re-batching, which holds the whole result in the client.

Every server and child process runs under ``timeout`` so nothing outlives the benchmark; all
are stopped when it ends. 100M takes minutes per question on Spark: it is opt-in
(``--scales 1M,10M,100M``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from . import compare as answers
from .questions import QUESTIONS, Question
from .scale import registry

MODES = ("local", "cluster", "connect")
DEFAULT_SCALES = ("1M", "10M")
ROOT = Path(__file__).resolve().parent.parent
# Lifetime limits (seconds) per scale: children and servers stop by themselves after these.
CHILD_LIMIT = {"1M": 900, "10M": 2400, "100M": 4 * 3600}
# A 2-core, 24 GiB machine: 4 GiB for the driver and the executor; two cores everywhere.
DRIVER_MEMORY = "4g"
EXECUTOR_MEMORY = "4g"
WORKER_MEMORY = "5g"
CORES = 2
STREAM_QUERY = "SELECT * FROM data"
SMALL_QUESTION = "state_enduse_totals"


def _spark_home() -> Path:
    return Path(__import__("pyspark").__file__).parent


def _server_conf() -> dict[str, str]:
    """What SparkEngine sets in local mode, for servers and clusters too."""
    from dsgrid_sql.engine.spark import DEFAULT_CONF

    conf = dict(DEFAULT_CONF)
    conf.pop("spark.driver.memory", None)
    return conf


# -- memory --------------------------------------------------------------------------------


def _status(pid: int) -> dict[str, int]:
    values: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    values[key] = int(rest.split()[0]) * 1024
    except OSError:
        pass
    return values


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def descendants(roots: list[int]) -> list[int]:
    tree = _children()
    found, stack = [], list(roots)
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(tree.get(pid, []))
    return found


class MemoryWatch:
    """Peak RSS of a process (this one) and the JVMs under it and under ``roots``.

    Counted: this Python process, and every ``java`` process descending from it or from
    ``roots`` (launcher shells and ``timeout`` wrappers, a few MB, are left out)."""

    def __init__(self, roots: list[int], interval_s: float = 0.1) -> None:
        self.roots = [os.getpid(), *roots]
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._pids: dict[int, str] = {}
        self._hwm: dict[int, int] = {}
        self._rss_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._discover()
        self._thread.start()

    def _discover(self) -> None:
        me = os.getpid()
        pids = {}
        for pid in descendants(self.roots):
            if pid == me:
                pids[pid] = "driver python"
            elif _comm(pid) == "java":
                pids[pid] = "jvm"
        with self._lock:
            self._pids = pids

    def _loop(self) -> None:
        ticks = 0
        while not self._stop.wait(self.interval_s):
            ticks += 1
            if ticks % 10 == 0:  # new JVMs (an executor) appear rarely
                self._discover()
            self._sample()

    def _sample(self) -> None:
        with self._lock:
            pids = dict(self._pids)
        total = 0
        for pid in pids:
            status = _status(pid)
            total += status.get("VmRSS", 0)
            with self._lock:
                self._hwm[pid] = max(self._hwm.get(pid, 0), status.get("VmHWM", 0))
        with self._lock:
            self._rss_peak = max(self._rss_peak, total)

    def reset(self) -> None:
        self._discover()
        with self._lock:
            pids = list(self._pids)
            self._hwm.clear()
            self._rss_peak = 0
        for pid in pids:
            try:
                with open(f"/proc/{pid}/clear_refs", "w") as f:
                    f.write("5")  # VmHWM := VmRSS (Linux ≥ 4.0)
            except OSError:
                pass

    def peaks(self) -> dict[str, Any]:
        self._sample()
        with self._lock:
            by_role: dict[str, int] = {}
            for pid, role in self._pids.items():
                by_role[role] = by_role.get(role, 0) + self._hwm.get(pid, 0)
            return {
                "total": sum(by_role.values()),
                "by_role": by_role,
                "jvms": sum(1 for r in self._pids.values() if r == "jvm"),
                "sampled_rss_peak": self._rss_peak,
            }

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


# -- child: one deployment, every question --------------------------------------------------


def _connect(spec: dict[str, Any]) -> Any:
    import dsgrid_sql

    options: dict[str, Any] = {"export_dir": spec["export_dir"]}
    mode = spec["mode"]
    if mode != "duckdb":
        options["engine"] = "spark"
        conf = {"spark.driver.memory": DRIVER_MEMORY}
        if mode == "cluster":
            options["spark_master"] = spec["url"]
            conf.update(
                {
                    "spark.executor.memory": EXECUTOR_MEMORY,
                    "spark.executor.cores": str(CORES),
                    "spark.cores.max": str(CORES),
                    "spark.driver.host": "127.0.0.1",
                    "spark.driver.bindAddress": "127.0.0.1",
                }
            )
        elif mode == "connect":
            options["spark_remote"] = spec["url"]
        options["spark_conf"] = conf
    return dsgrid_sql.connect(spec["registry"], **options)


class _Expert:
    """The hand-written peer (bench/handwritten.py) on the same Spark session: its Parquet
    files and small tables registered under the expert's own names, its SQL transpiled."""

    def __init__(self, session: Any, registry_path: Path) -> None:
        from dsgrid_sql.rewrite.inputs import ArrowInput, ParquetInput

        from . import handwritten

        spec = handwritten.build(registry_path)
        engine = session.engine
        engine.register([ParquetInput(n, p, (p,)) for n, p in spec.parquet.items()])
        engine.register([ArrowInput(n, t) for n, t in spec.tables.items()])
        self.spark = engine._spark
        self.sql = spec.spark

    def run(self, question: Question, target: Path) -> pa.Table | None:
        frame = self.spark.sql(self.sql[question.id])
        if question.export:  # Spark's own writer: part files in a directory
            frame.write.mode("overwrite").parquet(str(target))
            return None
        return frame.toArrow()


def _child_questions(spec: dict[str, Any]) -> dict[str, Any]:
    watch = MemoryWatch(spec["watch"])
    out = Path(spec["out"])
    export = Path(spec["export_dir"])
    start = time.perf_counter()
    session = _connect(spec)
    _ = session.engine  # starts the JVM / connects
    startup = time.perf_counter() - start
    expert = _Expert(session, Path(spec["registry"])) if spec["mode"] != "duckdb" else None
    report: dict[str, Any] = {"startup_s": startup, "questions": {}}
    for question in QUESTIONS:
        if spec["questions"] and question.id not in spec["questions"]:
            continue
        counter = iter(range(10_000))
        last: dict[str, Any] = {}

        def ours(
            q: Question = question,
            counter: Iterator[int] = counter,
            last: dict[str, Any] = last,
        ) -> None:
            if q.export:
                name = f"{spec['mode']}-{q.id}-{next(counter)}.parquet"
                if "path" in last:
                    Path(last["path"]).unlink(missing_ok=True)
                session.sql(q.sql.replace("{output}", name)).to_arrow()
                last["path"] = str(export / name)
            else:
                last["table"] = session.sql(q.sql).to_arrow()

        def theirs(q: Question = question, last: dict[str, Any] = last) -> None:
            assert expert is not None
            target = export / f"{spec['mode']}-{q.id}-hand-written"
            last["expert"] = expert.run(q, target)
            last["expert_path"] = target

        # Memory: ours alone, over its warm-up run.
        watch.reset()
        ours()
        peaks = watch.peaks()
        if expert is not None:
            theirs()  # warm-up
        seconds: list[float] = []
        expert_seconds: list[float] = []
        for _ in range(spec["runs"]):  # interleaved, so both see the same machine
            for action, times in ((ours, seconds), (theirs, expert_seconds)):
                if action is theirs and expert is None:
                    continue
                t = time.perf_counter()
                action()
                times.append(time.perf_counter() - t)
        target = out / f"{spec['mode']}-{question.id}.parquet"
        if question.export:
            shutil.move(last["path"], target)
        else:
            pq.write_table(last.pop("table"), target)
        entry = {"seconds": seconds, "memory": peaks, "result": str(target)}
        if expert is not None:
            expert_target = out / f"{spec['mode']}-{question.id}-hand-written.parquet"
            answer = last.pop("expert")
            if answer is None:  # Spark's directory of part files, as one table
                answer = pq.read_table(last["expert_path"])
                shutil.rmtree(last["expert_path"], ignore_errors=True)
            pq.write_table(answer, expert_target)
            entry.update(expert_seconds=expert_seconds, expert_result=str(expert_target))
        report["questions"][question.id] = entry
    watch.stop()
    session.close()
    return report


def _child_stream(spec: dict[str, Any]) -> dict[str, Any]:
    """SELECT * FROM data read batch by batch: ``stream`` through the engine as it is,
    ``collect`` the former way (``toArrow()`` then re-batching); and the latency of a small
    aggregate both ways."""
    from dsgrid_sql.engine.base import BATCH_ROWS, normalize_schema

    watch = MemoryWatch([])
    session = _connect(spec)
    engine = session.engine
    report: dict[str, Any] = {}

    def old_reader(sql: str) -> pa.RecordBatchReader:
        translation = session.translate(sql)
        engine.register(translation.inputs)
        table = engine._spark.sql(translation.sql).toArrow()
        table = table.cast(normalize_schema(table.schema))
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(BATCH_ROWS))

    def new_reader(sql: str) -> pa.RecordBatchReader:
        return session.sql(sql).to_reader()

    read = old_reader if spec["variant"] == "collect" else new_reader
    if spec["variant"] == "stream":  # small-result latency, both paths, alternating
        small = next(q for q in QUESTIONS if q.id == SMALL_QUESTION).sql
        times: dict[str, list[float]] = {"collect": [], "stream": []}
        for _ in range(spec["runs"] + 1):
            for name, make in (("collect", old_reader), ("stream", new_reader)):
                t = time.perf_counter()
                make(small).read_all()
                times[name].append(time.perf_counter() - t)
        report["small"] = {k: v[1:] for k, v in times.items()}  # first round: warm-up
    watch.reset()
    t = time.perf_counter()
    rows = batches = 0
    for batch in read(STREAM_QUERY):
        rows += batch.num_rows
        batches += 1
    report["large"] = {
        "seconds": time.perf_counter() - t,
        "rows": rows,
        "batches": batches,
        "memory": watch.peaks(),
    }
    watch.stop()
    session.close()
    return report


def _child(spec: dict[str, Any]) -> None:
    report = _child_stream(spec) if spec.get("variant") else _child_questions(spec)
    print(json.dumps(report))


# -- parent: servers, children, comparison, tables -----------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    return {**os.environ, "SPARK_HOME": str(_spark_home()), "SPARK_LOCAL_IP": "127.0.0.1"}


def progress(message: str) -> None:
    print(f"[spark_scale] {message}", file=sys.stderr, flush=True)


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    url: str
    pids: list[int] = field(default_factory=list)

    def stop(self) -> None:
        """SIGTERM to the ``timeout`` wrapper (it passes it on), then SIGKILL to whatever of
        ours is left (a worker's executors)."""
        started = descendants([self.process.pid])
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        for pid in started:
            if pid != self.process.pid and Path(f"/proc/{pid}").exists():
                with suppress(OSError):
                    os.kill(pid, 9)


def _start(name: str, args: list[str], log: Path, ready: str, url: str, lifetime: int) -> Server:
    with log.open("wb") as handle:
        process = subprocess.Popen(
            ["timeout", "-k", "10", str(lifetime), *args],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=_env(),
        )
    server = Server(name, process, log, url)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if ready in log.read_text(errors="replace"):
            return server
        if process.poll() is not None:
            break
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"{name} did not start: {log.read_text(errors='replace')[-2000:]}")


def _conf_args(conf: dict[str, str]) -> list[str]:
    return [arg for name, value in conf.items() for arg in ("--conf", f"{name}={value}")]


def start_cluster(logs: Path, lifetime: int) -> list[Server]:
    spark_class = str(_spark_home() / "bin" / "spark-class")
    port = _free_port()
    url = f"spark://127.0.0.1:{port}"
    master = _start(
        "master",
        [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
         "--port", str(port), "--webui-port", str(_free_port())],
        logs / "master.log", "I have been elected leader", url, lifetime,
    )  # fmt: skip
    try:
        worker = _start(
            "worker",
            [spark_class, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
             "--cores", str(CORES), "--memory", WORKER_MEMORY,
             "--webui-port", str(_free_port()), url],
            logs / "worker.log", "Successfully registered with master", url, lifetime,
        )  # fmt: skip
    except BaseException:
        master.stop()
        raise
    return [master, worker]


def start_connect(logs: Path, lifetime: int) -> Server:
    port = _free_port()
    conf = {
        **_server_conf(),
        "spark.connect.grpc.binding.port": str(port),
        "spark.connect.grpc.binding.address": "127.0.0.1",
    }
    return _start(
        "connect",
        [str(_spark_home() / "bin" / "spark-submit"),
         "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
         "--master", f"local[{CORES}]", "--driver-memory", DRIVER_MEMORY,
         *_conf_args(conf), "spark-internal"],
        logs / "connect.log", "Spark Connect server started", f"sc://127.0.0.1:{port}", lifetime,
    )  # fmt: skip


def run_child(spec: dict[str, Any], limit: int) -> dict[str, Any]:
    result = subprocess.run(
        ["timeout", "-k", "10", str(limit), sys.executable, "-W", "ignore",
         "-m", "bench.spark_scale", "--child", json.dumps(spec)],
        capture_output=True, text=True, cwd=ROOT, env=_env(), check=False,
    )  # fmt: skip
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        raise RuntimeError(
            f"{spec['mode']} child failed (exit {result.returncode}): {result.stderr[-3000:]}"
        )
    return json.loads(lines[-1])


def compare(left_path: str, right_path: str, keys: tuple[str, ...]) -> str | None:
    """None when equal (bench.compare's rule), else the first difference."""
    return answers.compare(pq.read_table(left_path), pq.read_table(right_path), keys).problem


@dataclass
class ModeResult:
    mode: str
    startup_s: float
    questions: dict[str, dict[str, Any]]


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f}"


def _scale_section(scale: str, rows: int, results: list[ModeResult], baseline: ModeResult) -> str:
    lines = [
        f"### {scale} ({rows:,} value rows)",
        "",
        "Session start-up (not in the query times): "
        + ", ".join(f"{r.mode} {r.startup_s:.1f} s" for r in results),
        "",
        "| question | engine | median s | min s | max s | × DuckDB | hand-written median s "
        "| × hand-written | peak MiB (python + JVMs) | JVMs | equal |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for question in QUESTIONS:
        base = baseline.questions.get(question.id)
        if base is None:
            continue
        base_median = statistics.median(base["seconds"])
        for result in results:
            data = result.questions.get(question.id)
            if data is None:
                continue
            seconds = data["seconds"]
            median = statistics.median(seconds)
            memory = data["memory"]
            python = memory["by_role"].get("driver python", 0)
            jvm = memory["by_role"].get("jvm", 0)
            expert = data.get("expert_seconds")
            if expert:
                expert_median = statistics.median(expert)
                by_hand = f"{expert_median:.3f} | {median / expert_median:.2f}"
            else:
                by_hand = "— | —"
            lines.append(
                f"| {question.id} | {result.mode} | {median:.3f} | {min(seconds):.3f} | "
                f"{max(seconds):.3f} | {median / base_median:.1f} | {by_hand} | "
                f"{_mib(memory['total'])} ({_mib(python)} + {_mib(jvm)}) | {memory['jvms']} | "
                f"{data.get('equal', '—')} |"
            )
    return "\n".join(lines)


def _stream_section(scale: str, stream: dict[str, Any], collect: dict[str, Any]) -> str:
    lines = [
        f"### Spark result streaming ({scale}, local mode, `{STREAM_QUERY}`)",
        "",
        "| path | rows | batches | seconds | driver python peak MiB | JVM peak MiB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, report in (("toArrow() then re-batch (before)", collect), ("streamed", stream)):
        large = report["large"]
        roles = large["memory"]["by_role"]
        lines.append(
            f"| {name} | {large['rows']:,} | {large['batches']} | {large['seconds']:.1f} | "
            f"{_mib(roles.get('driver python', 0))} | {_mib(roles.get('jvm', 0))} |"
        )
    small = stream["small"]
    lines += [
        "",
        f"Small result (`{SMALL_QUESTION}`) latency, median of {len(small['stream'])}: "
        f"toArrow() {statistics.median(small['collect']) * 1e3:.0f} ms, "
        f"streamed {statistics.median(small['stream']) * 1e3:.0f} ms.",
    ]
    return "\n".join(lines)


def run(
    scales: list[str] | tuple[str, ...] = DEFAULT_SCALES,
    runs: int = 3,
    modes: list[str] | tuple[str, ...] = MODES,
    questions: list[str] | None = None,
    stream_case: bool = True,
) -> str:
    """Every question on DuckDB and on Spark in each mode, at each scale; a markdown report."""
    unknown = set(modes) - set(MODES)
    if unknown:
        raise SystemExit(f"unknown modes {sorted(unknown)}; choose from {', '.join(MODES)}")
    lifetime = sum(CHILD_LIMIT[s] for s in scales) * (len(modes) + 1) + 600
    sections = [
        "## Spark at scale (case 4)",
        "",
        f"Spark {__import__('pyspark').__version__}, {platform.machine()}, "
        f"{os.cpu_count()} cores; local[{CORES}], driver {DRIVER_MEMORY}, one executor "
        f"({EXECUTOR_MEMORY}, {CORES} cores) on a standalone worker, Connect server "
        f"local[{CORES}] with driver {DRIVER_MEMORY}; shuffle partitions "
        f"{_server_conf()['spark.sql.shuffle.partitions']}, AQE on, UI off. {runs} timed runs "
        "after one warm-up per question, one warm session per mode. Peak memory: per-process "
        "VmHWM summed over the client Python process and the deployment's JVMs (local: the "
        "client's JVM; cluster: driver, master, worker, executor JVMs; connect: the server "
        "JVM), reset before each question and taken over dsgrid-sql's warm-up run. Hand-written: "
        "bench/handwritten.py's SQL transpiled to Spark SQL on the same session, runs "
        "interleaved with dsgrid-sql's. Results (ours and hand-written) equal DuckDB's to "
        "relative 1e-9.",
    ]
    with tempfile.TemporaryDirectory(prefix="dsgrid-spark-scale-") as work, ExitStack() as stack:
        work_dir = Path(work)
        servers: dict[str, list[Server]] = {}
        if "cluster" in modes:
            progress("starting a standalone master and worker")
            servers["cluster"] = start_cluster(work_dir, lifetime)
            for server in servers["cluster"]:
                stack.callback(server.stop)
        if "connect" in modes:
            progress("starting a Spark Connect server")
            servers["connect"] = [start_connect(work_dir, lifetime)]
            stack.callback(servers["connect"][0].stop)
        for scale in scales:
            reg = registry(scale)
            out = work_dir / scale
            export = out / "export"
            export.mkdir(parents=True)
            results: list[ModeResult] = []
            for mode in ("duckdb", *modes):
                progress(f"{scale}: {mode}")
                spec = {
                    "mode": mode,
                    "registry": str(reg.path),
                    "runs": runs,
                    "out": str(out),
                    "export_dir": str(export),
                    "url": servers[mode][0].url if mode in servers else None,
                    "watch": [s.process.pid for s in servers.get(mode, [])],
                    "questions": questions or [],
                }
                report = run_child(spec, CHILD_LIMIT[scale])
                results.append(ModeResult(mode, report["startup_s"], report["questions"]))
            baseline = results[0]
            for result in results[1:]:
                for qid, data in result.questions.items():
                    keys = next(q.keys for q in QUESTIONS if q.id == qid)
                    base = baseline.questions[qid]["result"]
                    diff = compare(base, data["result"], keys)
                    if diff is None and "expert_result" in data:
                        expert_diff = compare(base, data["expert_result"], keys)
                        diff = None if expert_diff is None else f"hand-written: {expert_diff}"
                    data["equal"] = "yes" if diff is None else f"**NO**: {diff}"
            sections += ["", _scale_section(scale, reg.rows, results, baseline)]
        if stream_case and scales:
            scale = min(scales, key=lambda s: registry(s).rows)
            progress(f"{scale}: streaming a large result")
            spec = {
                "mode": "local",
                "registry": str(registry(scale).path),
                "runs": runs,
                "export_dir": str(work_dir),
            }
            stream = run_child({**spec, "variant": "stream"}, CHILD_LIMIT[scale])
            collect = run_child({**spec, "variant": "collect"}, CHILD_LIMIT[scale])
            sections += ["", _stream_section(scale, stream, collect)]
    return "\n".join(sections)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.spark_scale", description=__doc__)
    parser.add_argument("--scales", default=",".join(DEFAULT_SCALES), help="1M,10M[,100M]")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per question")
    parser.add_argument("--modes", default=",".join(MODES), help="local,cluster,connect")
    parser.add_argument("--questions", default="", help="question ids (default: all)")
    parser.add_argument("--no-stream", action="store_true", help="skip the streaming case")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(json.loads(args.child))
        return
    print(
        run(
            [s for s in args.scales.split(",") if s],
            args.runs,
            [m for m in args.modes.split(",") if m],
            [q for q in args.questions.split(",") if q] or None,
            stream_case=not args.no_stream,
        )
    )


if __name__ == "__main__":
    main()
