"""``python -m bench [catalog|generator|repl|flight|all]``: benchmarks as markdown tables."""

from __future__ import annotations

import argparse
import platform

from . import catalog_load, flight, generator_scale, repl


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "which",
        choices=["catalog", "generator", "repl", "flight", "all"],
        nargs="?",
        default="all",
    )
    parser.add_argument("--runs", type=int, default=7, help="timed runs per case (median)")
    parser.add_argument(
        "--scales",
        default="1M,10M",
        help="generator scales to run, from 1M,10M,100M (100M takes minutes and ~3 GB disk)",
    )
    parser.add_argument(
        "--rows",
        type=flight.parse_rows,
        default=flight.DEFAULT_ROWS,
        help="flight: rows of the large result, e.g. 5M (a registry is generated and cached)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="flight: 1M rows, 3 runs, 50 iterations"
    )
    args = parser.parse_args()
    print(
        f"Machine: {platform.machine()}, {platform.system()}, Python {platform.python_version()}\n"
    )
    if args.which in ("catalog", "all"):
        print(catalog_load.run(args.runs), end="\n\n")
    if args.which in ("repl", "all"):
        print(repl.run(args.runs), end="\n\n")
    if args.which in ("generator", "all"):
        print(generator_scale.run(args.scales.split(",")), end="\n\n")
    if args.which in ("flight", "all"):
        print(flight.run(args.runs, args.rows, args.quick), end="\n\n")


main()
