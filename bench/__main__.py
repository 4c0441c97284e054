"""``python -m bench [CASE ...]``: benchmarks against their peers, printed as markdown and
written to ``bench/results/<date>.md`` with the machine's details.

Cases (issue 6): overhead (1), handwritten (2), dsgrid (3), spark (4), flight (5), repl (6),
memory (7), load (16 Flight clients × 200 mixed queries), plus catalog and generator; shapes
(8): representative-period and index time against hand-written SQL and dsgrid; startup (9):
one small query as a whole process (dsgrid-sql, DuckDB, dsgrid); size (1b): translating new
query texts on registries of 3 to 100 datasets and 3,000 counties; terms: translation
against the size of a WHERE clause (100 to 50,000 predicate terms); s3 (issue 16): questions
from a local S3 server vs local files, bytes read and the effect of pushdown; soak (issue 20):
a server for --minutes under 16 mixed clients while its registry gains a version every few
seconds. ``all`` runs every one but the soak; registries are generated once per scale and
cached in bench/cache.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
CASES = (
    "overhead", "handwritten", "dsgrid", "spark", "flight", "repl", "memory", "load",
    "catalog", "generator", "shapes", "startup", "size", "terms", "s3", "soak",
)  # fmt: skip


def machine() -> str:
    import duckdb
    import pyarrow
    import sqlglot

    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    cpu = next((x.split(":", 1)[1].strip() for x in lines if x.startswith("model name")), cpu)
    return (
        f"Machine: {cpu}, {os.cpu_count()} cores, {memory_gb:.0f} GiB, {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}, DuckDB {duckdb.__version__}, "
        f"pyarrow {pyarrow.__version__}, sqlglot {sqlglot.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("cases", nargs="*", default=["all"], choices=[*CASES, "all"])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per case (median)")
    parser.add_argument("--scales", default="1M,10M,100M", help="from 1M,10M,100M")
    parser.add_argument("--dsgrid-scales", default="1M,10M", help="scales dsgrid itself runs")
    parser.add_argument("--spark-scales", default="1M,10M", help="scales Spark runs")
    parser.add_argument("--spark-modes", default="local,cluster,connect")
    parser.add_argument("--memory-limit", default="2GB", help="DuckDB limit for case 7")
    parser.add_argument("--quick", action="store_true", help="flight/load: smaller, faster")
    parser.add_argument("--rows", help="flight: rows of the large result, e.g. 10M (default 5M)")
    parser.add_argument("--shapes-scales", default="10M,100M", help="shapes: scales (1M,10M,100M)")
    parser.add_argument(
        "--shapes-dsgrid-scales", default="10M", help="shapes: scales dsgrid itself runs"
    )
    parser.add_argument("--minutes", type=float, default=30.0, help="soak: how long")
    parser.add_argument("--no-report", action="store_true", help="do not write bench/results")
    args = parser.parse_args()
    # ``all`` leaves out the soak: it runs for --minutes (30 by default) on its own.
    cases = set(CASES) - {"soak"} if "all" in args.cases else set(args.cases)
    scales = args.scales.split(",")

    parts = [f"# dsgrid-sql benchmarks, {datetime.date.today()}", "", machine(), ""]
    print("\n".join(parts), flush=True)

    def emit(text: str) -> None:
        print(text + "\n", flush=True)
        parts.append(text + "\n")

    if "overhead" in cases or "handwritten" in cases or "memory" in cases:
        from . import queries

        chosen = [c for c in ("overhead", "handwritten") if c in cases]
        if chosen:
            emit(queries.run(scales, args.runs, chosen))
        if "memory" in cases:
            emit(queries.memory_case(scales[-1], args.memory_limit))
    if "dsgrid" in cases:
        from . import dsgrid_peer

        emit(dsgrid_peer.run(args.dsgrid_scales.split(","), max(3, args.runs // 2)))
    if "spark" in cases:
        from . import spark_scale

        emit(
            spark_scale.run(
                args.spark_scales.split(","), max(3, args.runs // 2), args.spark_modes.split(",")
            )
        )
    if "flight" in cases:
        from . import flight

        rows = flight.parse_rows(args.rows) if args.rows else flight.DEFAULT_ROWS
        emit(flight.run(args.runs, rows, args.quick))
    if "repl" in cases:
        from . import repl

        emit(repl.run(args.runs))
    if "load" in cases:
        # Its own process: it starts a server and 16 client threads.
        size = ["--clients", "8", "--queries", "25"] if args.quick else []
        done = subprocess.run(
            [sys.executable, "-m", "bench.load", *size], capture_output=True, text=True
        )
        emit(done.stdout.strip() or f"load failed: {done.stderr.strip()[-500:]}")
    if "soak" in cases:
        # Its own process too: a server, 16 clients and a registry writer for --minutes.
        done = subprocess.run(
            [sys.executable, "-m", "bench.soak", "--minutes", str(args.minutes)],
            capture_output=True,
            text=True,
        )
        emit(done.stdout.strip() or f"soak failed: {done.stderr.strip()[-500:]}")
    if "catalog" in cases:
        from . import catalog_load

        emit(catalog_load.run(args.runs))
    if "generator" in cases:
        from . import generator_scale

        emit(generator_scale.run(scales))
    if "shapes" in cases:
        from . import shapes

        emit(
            shapes.run(
                args.shapes_scales.split(","),
                args.runs,
                [s for s in args.shapes_dsgrid_scales.split(",") if s],
            )
        )
    if "startup" in cases:
        from . import startup

        emit(startup.run(args.runs))

    if "size" in cases:
        from . import project_size

        emit(project_size.run(min(args.runs, 3)))

    if "terms" in cases:
        from . import predicate_terms

        emit(predicate_terms.run(min(args.runs, 3)))

    if "s3" in cases:
        from . import s3

        emit(
            s3.run(
                [s for s in scales if s != "100M"] if "all" in args.cases else scales, args.runs
            )
        )

    if not args.no_report:
        RESULTS.mkdir(exist_ok=True)
        label = "all" if "all" in args.cases else "-".join(sorted(cases))
        path = RESULTS / f"{datetime.date.today()}-{label}.md"
        path.write_text("\n".join(parts))
        print(f"written to bench/results/{path.name}")


main()
