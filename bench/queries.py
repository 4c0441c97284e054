"""Query benchmarks on DuckDB: gateway overhead (case 1), dsgrid-sql against hand-written
SQL over the same Parquet (case 2), and peak memory at scale under a memory limit (case 7).

    python -m bench.queries [--scales 1M,10M,100M] [--runs 5] [--cases overhead,handwritten,memory]
                            [--questions id,id]

Every answer is checked against its peer (relative 1e-9) before its time counts.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot

import dsgrid_sql

from . import handwritten
from .compare import assert_same
from .harness import Measurement, measure
from .questions import QUESTIONS, Question
from .scale import SCALES, registry

# Case 1: typical queries an analyst or a BI tool sends, over the 3,000-county catalog.
OVERHEAD_QUERIES = [q.sql for q in QUESTIONS if not q.export] + [
    "SELECT * FROM data LIMIT 10",
    "SELECT COUNT(*) FROM data",
    "SELECT us_states, SUM(value) FROM data GROUP BY ALL",
    "SELECT us_states_name, metric_name, SUM(value) FROM data GROUP BY ALL",
    "SELECT geography, SUM(value) FROM bench_residential WHERE us_states = 'CO' GROUP BY 1",
    "SELECT us_census_divisions, model_year, SUM(value) FROM data "
    "WHERE scenario = 'reference' GROUP BY 1, 2",
    "SELECT five_year_intervals, SUM(value) FROM data GROUP BY 1",
    "SELECT building_types_by_sector, SUM(value) FROM data GROUP BY 1",
    "SELECT date_trunc('month', timestamp) AS m, SUM(value) FROM data GROUP BY 1 ORDER BY 1",
    "SELECT hour(local_timestamp) AS h, AVG(value) FROM data WHERE us_states = 'TX' GROUP BY 1",
    "SELECT unit, SUM(value) FROM data GROUP BY unit",
    "SELECT time_zone, SUM(value) FROM data GROUP BY 1",
    "SELECT metric, SUM(value) FROM data WHERE us_states_name = 'Colorado' GROUP BY 1",
    "SELECT subsector, SUM(value) FROM bench_commercial WHERE model_year IN ('2020', '2030') "
    "GROUP BY 1",
    "WITH t AS (SELECT us_states, timestamp, SUM(value) AS v FROM data GROUP BY 1, 2) "
    "SELECT us_states, MAX(v), AVG(v) FROM t GROUP BY 1",
    "SELECT us_states, v, RANK() OVER (ORDER BY v DESC) FROM "
    "(SELECT us_states, SUM(value) AS v FROM data GROUP BY 1) AS s",
    "SELECT d.name, SUM(x.value) FROM data x JOIN bench_dimensions.us_states d "
    "ON x.us_states = d.id GROUP BY 1",
    "SELECT * FROM bench_dimensions.geography WHERE name LIKE 'A%'",
    "SELECT * FROM registry.datasets",
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'bench'",
    "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'data'",
    "SELECT model_year, scenario, SUM(value) FROM data WHERE geography = '08031' GROUP BY 1, 2",
    "SELECT dataset_id, COUNT(*) FROM data GROUP BY 1",
    "SELECT us_states, SUM(value) FILTER (WHERE metric = 'cooling') FROM data GROUP BY 1",
    "SELECT end_uses_by_fuel_type_name, SUM(value) FROM data WHERE model_year = ? GROUP BY 1",
]


def overhead(runs: int) -> str:
    """Case 1: translate (parse, bind, rewrite, generate) per query, against sqlglot's own
    parse + generate of the same text, which any SQL front end pays."""
    found = registry("1M")
    session = dsgrid_sql.connect(found.path)
    ours, again, floor = [], [], []
    serial = itertools.count()
    for text in OVERHEAD_QUERIES:
        params = ["2030"] if "?" in text else None
        session.translate(text, params=params)  # warm the catalog's plans and schemas

        def fresh(text: str = text, params: list[str] | None = params) -> object:
            # A text not seen before (translations are remembered by text): the whole
            # parse, bind and rewrite runs, over the catalog's warm plans.
            return session.translate(f"{text} /* {next(serial)} */", params=params)

        ours.append(measure("translate", fresh, runs * 3, warmup=0).median)
        repeat = partial(session.translate, text, params=params)
        again.append(measure("translate again", repeat, runs * 3, warmup=0).median)
        parse = partial(sqlglot.transpile, text, read="duckdb")
        floor.append(measure("sqlglot", parse, runs * 3, warmup=0).median)
    session.close()
    rows = [
        ("dsgrid-sql translate, a new text", ours),
        ("dsgrid-sql translate, the same text again (remembered)", again),
        ("sqlglot parse + generate only", floor),
    ]
    lines = [
        f"## Case 1: gateway overhead per query ({len(OVERHEAD_QUERIES)} queries, "
        "3,000-county catalog; target < 5 ms)",
        "",
        "| step | median ms | p90 ms | max ms |",
        "|---|---:|---:|---:|",
    ]
    for name, values in rows:
        ms = sorted(v * 1e3 for v in values)
        lines.append(
            f"| {name} | {statistics.median(ms):.2f} | {ms[int(len(ms) * 0.9)]:.2f} | "
            f"{ms[-1]:.2f} |"
        )
    return "\n".join(lines)


# DuckDB settings of dsgrid-sql's engine the peer copies (the optimizer passes matter: one
# can change a plan's cost several times over at 100M rows).
_COPIED_SETTINGS = ("TimeZone", "disabled_optimizers")


def engine_settings(session: dsgrid_sql.Session) -> dict[str, str]:
    """The settings of ``session``'s DuckDB connection that the hand-written peer copies."""
    conn = session.engine._conn  # type: ignore[attr-defined]
    return {
        name: str(conn.execute(f"SELECT current_setting('{name}')").fetchone()[0])
        for name in _COPIED_SETTINGS
    }


class _Expert:
    """The hand-written peer on its own DuckDB connection, same engine settings as ours."""

    def __init__(self, registry_path: Path, settings: dict[str, str] | None = None) -> None:
        self.spec = handwritten.build(registry_path)
        self.conn = duckdb.connect(":memory:")
        self.conn.execute("SET TimeZone = 'UTC'")
        for name, value in (settings or {}).items():
            quoted = value.replace("'", "''")
            self.conn.execute(f"SET {name} = '{quoted}'")
        for name, path in self.spec.parquet.items():
            quoted = str(path).replace("'", "''")
            self.conn.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{quoted}')")
        for name, table in self.spec.tables.items():
            self.conn.register(f"{name}_arrow", table)
            self.conn.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_arrow")

    def run(self, question: Question, output: Path | None) -> pa.Table:
        sql = self.spec.sql[question.id]
        if question.export:
            assert output is not None
            self.conn.execute(sql.replace("{output}", str(output)))
            return pq.read_table(output)
        return self.conn.sql(sql).to_arrow_table()


def _ours(session: dsgrid_sql.Session, question: Question, output: Path | None) -> pa.Table:
    if question.export:
        assert output is not None
        session.sql(question.sql.replace("{output}", str(output))).to_arrow()
        return pq.read_table(output)
    return session.sql(question.sql).to_arrow()


def handwritten_case(scales: list[str], runs: int, question_ids: list[str] | None = None) -> str:
    """Case 2: each question through dsgrid-sql (aggregate_early on, its default, and off,
    the literal plan) and as hand-written SQL, runs interleaved so all three see the same
    machine; every answer compared with the hand-written one before times count."""
    lines = [
        "## Case 2: dsgrid-sql vs hand-written DuckDB SQL over the same Parquet (target ≤ 1.1×)",
        "",
        "dsgrid-sql with `aggregate_early` on (the default) and off (the literal plan), each "
        "on its own warm session; hand-written: bench/handwritten.py on its own DuckDB "
        'connection. Runs interleaved; "worst" is the largest relative difference of '
        "either dsgrid-sql answer from the hand-written one.",
        "",
        "| scale | question | on: median s (min–max) | off: median s (min–max) | hand-written "
        "median s (min–max) | on × hand-written | off × hand-written | rows | worst |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scale in scales:
        found = registry(scale)
        scratch = Path(tempfile.mkdtemp(prefix="bench-export-"))
        session = dsgrid_sql.connect(found.path, export_dir=scratch)
        literal = dsgrid_sql.connect(found.path, export_dir=scratch)
        literal.set("aggregate_early", "off")
        expert = _Expert(found.path, engine_settings(session))
        try:
            for question in QUESTIONS:
                if question_ids and question.id not in question_ids:
                    continue
                outputs = iter(scratch / f"{question.id}-{i}.parquet" for i in range(10_000))
                theirs = expert.run(question, next(outputs))
                worst = 0.0
                for name, peer in (("on", session), ("off", literal)):
                    ours = _ours(peer, question, next(outputs))
                    worst = max(
                        worst,
                        assert_same(ours, theirs, question.keys, f"{question.id} {name} {scale}"),
                    )
                a = Measurement("on", [])
                off = Measurement("off", [])
                b = Measurement("hand-written", [])
                for _ in range(runs):
                    for measurement, action in (
                        (a, partial(_ours, session, question)),
                        (off, partial(_ours, literal, question)),
                        (b, partial(expert.run, question)),
                    ):
                        output = next(outputs)
                        start = time.perf_counter()
                        action(output)
                        measurement.seconds.append(time.perf_counter() - start)
                line = (
                    f"| {scale} | {question.id} | {_spread(a)} | {_spread(off)} | {_spread(b)} | "
                    f"{a.median / b.median:.2f} | {off.median / b.median:.2f} | "
                    f"{theirs.num_rows:,} | {worst:.0e} |"
                )
                lines.append(line)
                print(line, file=sys.stderr, flush=True)
                for path in scratch.glob("*.parquet"):
                    path.unlink()
        finally:
            session.close()
            literal.close()
            shutil.rmtree(scratch, ignore_errors=True)
    return "\n".join(lines)


def _spread(m: Measurement) -> str:
    return f"{m.median:.3f} ({min(m.seconds):.3f}–{max(m.seconds):.3f})"


_MEMORY_CHILD = """
import json, resource, sys, time
from pathlib import Path
import dsgrid_sql
from bench.questions import BY_ID
path, limit, qid, out = sys.argv[1:5]
session = dsgrid_sql.connect(path, memory_limit=limit, export_dir=out)
question = BY_ID[qid]
start = time.perf_counter()
reader = session.sql(question.sql.replace("{output}", out + "/x.parquet")).to_reader()
rows = sum(batch.num_rows for batch in reader)
print(json.dumps({"seconds": time.perf_counter() - start, "rows": rows,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def memory_case(scale: str, limit: str) -> str:
    """Case 7: peak RSS of a fresh process per question, DuckDB bounded by ``limit``."""
    found = registry(scale)
    lines = [
        f"## Case 7: peak memory per question at {scale} rows, DuckDB memory_limit={limit}",
        "",
        "| question | seconds | result rows | peak RSS MB |",
        "|---|---:|---:|---:|",
    ]
    root = Path(__file__).resolve().parent.parent
    for question in QUESTIONS:
        out = tempfile.mkdtemp(prefix="bench-memory-")
        try:
            done = subprocess.run(
                [sys.executable, "-c", _MEMORY_CHILD, str(found.path), limit, question.id, out],
                capture_output=True,
                text=True,
                cwd=root,
            )
        finally:
            shutil.rmtree(out, ignore_errors=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            lines.append(f"| {question.id} | failed: {last} | | |")
            continue
        data = json.loads(done.stdout)
        lines.append(
            f"| {question.id} | {data['seconds']:.2f} | {data['rows']:,} | "
            f"{data['peak_rss_mb']:.0f} |"
        )
    return "\n".join(lines)


def run(
    scales: list[str],
    runs: int,
    cases: list[str],
    memory_limit: str = "2GB",
    question_ids: list[str] | None = None,
) -> str:
    parts = []
    if "overhead" in cases:
        parts.append(overhead(runs))
    if "handwritten" in cases:
        parts.append(handwritten_case(scales, runs, question_ids))
    if "memory" in cases:
        parts.append(memory_case(scales[-1], memory_limit))
    return "\n\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.queries", description=__doc__)
    parser.add_argument("--scales", default="1M,10M", help=f"from {','.join(SCALES)}")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cases", default="overhead,handwritten,memory")
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--questions", default="", help="case 2: question ids (default: all)")
    args = parser.parse_args()
    ids = [q for q in args.questions.split(",") if q] or None
    print(run(args.scales.split(","), args.runs, args.cases.split(","), args.memory_limit, ids))


if __name__ == "__main__":
    main()
