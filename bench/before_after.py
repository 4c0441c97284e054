"""Two versions of dsgrid-sql against the hand-written SQL, each in its own warm process, runs
interleaved so all three see the same machine (a shared, loaded one above all).

    python -m bench.before_after --before main [--after HEAD] --questions id,id
                                 [--scales 1M,10M] [--runs 7] [--analyze]

Each version is a ``git archive`` of its revision laid out as installed (catalog/ and
flight_server/ inside dsgrid_sql/), imported by its worker process; the hand-written worker
runs bench/handwritten.py's SQL on its own DuckDB connection with dsgrid-sql's engine
settings. Every answer is checked against the hand-written one before times count.
CPU seconds (DuckDB's profile of the engine SQL, as many runs again, after the timed
ones) depend less on the machine's load than wall times. ``--analyze``: DuckDB's profile
of each version's query, the rows into and out of every hash aggregate (the pre-sums and
the query's own), printed after the table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _archive(revision: str, into: Path) -> Path:
    """The revision's dsgrid_sql package, laid out as installed, under ``into``."""
    tar = into / "src.tar"
    with tar.open("wb") as handle:
        subprocess.run(["git", "archive", revision], cwd=REPO, stdout=handle, check=True)
    source = into / "src"
    with tarfile.open(tar) as archive:
        archive.extractall(source, filter="data")
    package = into / "pkg" / "dsgrid_sql"
    shutil.copytree(source / "dsgrid_sql", package)
    for name in ("catalog", "flight_server"):
        shutil.copytree(source / name, package / name)
    return into / "pkg"


class _Worker:
    def __init__(
        self, kind: str, registry: Path, pythonpath: list[Path], cwd: Path, threads: int = 0
    ) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(str(p) for p in pythonpath))
        if threads:
            env["BENCH_DUCKDB_THREADS"] = str(threads)
        self.kind = kind
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.before_after", "--worker", kind, str(registry)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=cwd,
        )
        where = self.ask({"do": "ping"})["where"]
        print(f"{kind} worker reads dsgrid_sql from {where}", file=sys.stderr)

    def ask(self, message: dict) -> dict:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"worker {self.kind} ended")
        answer = json.loads(line)
        if "error" in answer:
            raise SystemExit(f"worker {self.kind}: {answer['error']}")
        return answer

    def close(self) -> None:
        assert self.process.stdin
        self.process.stdin.close()
        self.process.wait(timeout=60)


def _serve(kind: str, registry: Path) -> None:
    """A worker: answers one JSON request per line on stdin."""
    import pyarrow.parquet as pq

    import dsgrid_sql

    from .queries import _Expert, engine_settings
    from .questions import BY_ID

    session = dsgrid_sql.connect(registry)
    threads = os.environ.get("BENCH_DUCKDB_THREADS")
    if threads:
        session.engine._conn.execute(f"SET threads = {int(threads)}")
    expert = _Expert(registry, engine_settings(session)) if kind == "hand" else None
    if threads and expert is not None:
        expert.conn.execute(f"SET threads = {int(threads)}")
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing else may write to the protocol's stream
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer: dict = {"where": str(Path(dsgrid_sql.__file__).parent)}
            if request["do"] == "run":
                question = BY_ID[request["question"]]
                start = time.perf_counter()
                table = (
                    expert.run(question, None)
                    if expert is not None
                    else session.sql(question.sql).to_arrow()
                )
                answer["seconds"] = time.perf_counter() - start
                if request.get("save"):
                    pq.write_table(table, request["save"])
            elif request["do"] == "cpu":
                sql = BY_ID[request["question"]].sql
                if expert is not None:
                    conn, text = expert.conn, expert.spec.sql[request["question"]]
                else:
                    translation = session.translate(sql)
                    session.engine.register(translation.inputs)
                    conn, text = session.engine._conn, translation.sql
                answer["cpu"] = _profiled(conn, text)["query"]["cpu_time"]
            elif request["do"] == "analyze":
                answer["aggregates"] = _analyze(session, BY_ID[request["question"]].sql)
        except Exception as exc:  # reported to the driver
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()


def _profiled(conn, sql: str) -> dict:  # type: ignore[no-untyped-def]
    """DuckDB's JSON profile of one run of ``sql`` on ``conn``."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "profile.json"
        conn.execute("PRAGMA enable_profiling = 'json'")
        conn.execute(f"PRAGMA profiling_output = '{path}'")
        try:
            conn.execute(sql).fetchall()
        finally:
            conn.execute("PRAGMA disable_profiling")
        return json.loads(path.read_text())


def _analyze(session, sql: str) -> list[dict]:  # type: ignore[no-untyped-def]
    """The hash aggregates of DuckDB's profile of ``sql``: rows in, rows out, seconds."""
    translation = session.translate(sql)
    session.engine.register(translation.inputs)
    profile = _profiled(session.engine._conn, translation.sql)
    found: list[dict] = []

    def walk(node: dict) -> None:
        name = str(node.get("name", ""))
        if "GROUP_BY" in name or "AGGREGATE" in name:
            rows_in = sum(c.get("intermediate_rows", 0) for c in node.get("children", []))
            found.append(
                {
                    "operator": name.strip(),
                    "rows_in": rows_in,
                    "rows_out": node.get("intermediate_rows", 0),
                    "seconds": node.get("timing", 0.0),
                }
            )
        for child in node.get("children", []):
            walk(child)

    for root in profile.get("operator", []):
        walk(root)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="main")
    parser.add_argument("--after", default="HEAD")
    parser.add_argument("--questions", default="")
    parser.add_argument("--scales", default="1M,10M")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--analyze", action="store_true")
    parser.add_argument(
        "--threads", type=int, default=0, help="DuckDB threads in every worker (0: its default)"
    )
    parser.add_argument("--worker", nargs=2, metavar=("KIND", "REGISTRY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _serve(args.worker[0], Path(args.worker[1]))
        return

    import pyarrow.parquet as pq

    from .compare import assert_same
    from .questions import BY_ID
    from .scale import registry

    if not args.questions:
        parser.error("--questions: the question ids to measure (bench/questions.py)")
    questions = [BY_ID[q] for q in args.questions.split(",")]
    scratch = Path(tempfile.mkdtemp(prefix="bench-before-after-"))
    try:
        versions = {}
        for label, revision in (("before", args.before), ("after", args.after)):
            folder = scratch / label
            folder.mkdir()
            versions[label] = _archive(revision, folder)
            rev = subprocess.run(
                ["git", "rev-parse", "--short", revision], cwd=REPO, capture_output=True,
                text=True, check=True,
            ).stdout.strip()  # fmt: skip
            print(f"{label}: {revision} ({rev})", file=sys.stderr)
        lines = [
            "| scale | question | before median s (min–max) | after median s (min–max) | "
            "hand median s (min–max) | before × hand | after × hand | CPU s before / after / "
            "hand | CPU before × hand | CPU after × hand | load (1 min) |",
            "|---|---|---:|---:|---:|---:|---:|---|---:|---:|---|",
        ]
        analyses: list[str] = []
        for scale in args.scales.split(","):
            found = registry(scale)
            paths = {name: [versions[name], REPO] for name in ("before", "after")}
            workers = {
                "before": _Worker("ours", found.path, paths["before"], scratch, args.threads),
                "after": _Worker("ours", found.path, paths["after"], scratch, args.threads),
                "hand": _Worker("hand", found.path, paths["after"], scratch, args.threads),
            }
            try:
                for question in questions:
                    saved = {}
                    for name, worker in workers.items():
                        path = scratch / f"{name}.parquet"
                        worker.ask({"do": "run", "question": question.id, "save": str(path)})
                        saved[name] = pq.read_table(path)
                    for name in ("before", "after"):
                        assert_same(
                            saved[name], saved["hand"], question.keys, f"{question.id} {name}"
                        )
                    seconds: dict[str, list[float]] = {n: [] for n in workers}
                    loads = []
                    for _ in range(args.runs):
                        loads.append(os.getloadavg()[0])
                        for name, worker in workers.items():
                            answer = worker.ask({"do": "run", "question": question.id})
                            seconds[name].append(answer["seconds"])
                    cpu: dict[str, list[float]] = {n: [] for n in workers}
                    for _ in range(args.runs):
                        for name, worker in workers.items():
                            answer = worker.ask({"do": "cpu", "question": question.id})
                            cpu[name].append(answer["cpu"])
                    med = {n: statistics.median(s) for n, s in seconds.items()}
                    cpu_med = {n: statistics.median(s) for n, s in cpu.items()}

                    def spread(name: str, med: dict = med, seconds: dict = seconds) -> str:
                        s = seconds[name]
                        return f"{med[name]:.3f} ({min(s):.3f}–{max(s):.3f})"

                    line = (
                        f"| {scale} | {question.id} | {spread('before')} | {spread('after')} | "
                        f"{spread('hand')} | {med['before'] / med['hand']:.2f} | "
                        f"{med['after'] / med['hand']:.2f} | {cpu_med['before']:.3f} / "
                        f"{cpu_med['after']:.3f} / {cpu_med['hand']:.3f} | "
                        f"{cpu_med['before'] / cpu_med['hand']:.2f} | "
                        f"{cpu_med['after'] / cpu_med['hand']:.2f} | "
                        f"{min(loads):.1f}–{max(loads):.1f} |"
                    )
                    lines.append(line)
                    print(line, file=sys.stderr, flush=True)
                    if args.analyze:
                        for name in ("before", "after"):
                            found_aggregates = workers[name].ask(
                                {"do": "analyze", "question": question.id}
                            )["aggregates"]
                            described = "; ".join(
                                f"{a['operator']} {a['rows_in']:,} → {a['rows_out']:,} rows "
                                f"({a['seconds'] * 1000:.0f} ms)"
                                for a in found_aggregates
                            )
                            analyses.append(f"- {scale} {question.id} {name}: {described}")
            finally:
                for worker in workers.values():
                    worker.close()
        print("\n".join(lines))
        if analyses:
            print()
            print("\n".join(analyses))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
