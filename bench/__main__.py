"""``python -m bench [catalog|generator|all]``: run benchmarks and print markdown tables."""

from __future__ import annotations

import argparse
import platform

from . import catalog_load, generator_scale


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("which", choices=["catalog", "generator", "all"], nargs="?", default="all")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per case (median)")
    parser.add_argument(
        "--scales",
        default="1M,10M",
        help="generator scales to run, from 1M,10M,100M (100M takes minutes and ~3 GB disk)",
    )
    args = parser.parse_args()
    print(
        f"Machine: {platform.machine()}, {platform.system()}, Python {platform.python_version()}\n"
    )
    if args.which in ("catalog", "all"):
        print(catalog_load.run(args.runs), end="\n\n")
    if args.which in ("generator", "all"):
        print(generator_scale.run(args.scales.split(",")), end="\n\n")


main()
