"""Run the same SQL on Spark: local mode here, a cluster or Spark Connect by changing one
argument of ``dsgrid_sql.connect``.

Shows:
- ``dsgrid_sql.connect(registry, engine="spark")``: dsgrid-sql rewrites the query once and
  Spark runs it (local mode: ``local[2]``, time zone UTC);
- ``spark_master="spark://host:7077"`` (a standalone cluster) or
  ``spark_remote="sc://host:15002"`` (Spark Connect) as the only change for a cluster;
- the answer checked against DuckDB, the default engine: the same rows, the same numbers.

Run it from the repository root (the demo registry is generated on first use)::

    python examples/spark_local.py
    python examples/spark_local.py --registry path/to/registry.db
    python examples/spark_local.py --spark-master spark://host:7077
    python examples/spark_local.py --spark-remote sc://host:15002

Needs pyspark (``pip install 'dsgrid-sql[spark]'``) and, for local mode or a cluster, Java 17.
Starting Spark takes some seconds.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import time
from pathlib import Path

import dsgrid_sql

DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"  # where `make demo` writes it

# The same SQL text runs on either engine: dsgrid-sql translates it for Spark.
STATE_TOTALS = """
    SELECT us_states, scenario, SUM(value) AS mwh
    FROM data
    WHERE model_year = ?
    GROUP BY ALL
    ORDER BY us_states, scenario
"""


def demo_registry() -> Path:
    """The demo registry of `make demo`, generated the same way when it is absent."""
    registry = DEMO_DIR / "registry.db"
    if not registry.exists():
        from dsgrid_sql.generator import GeneratorSpec, generate_registry

        print(f"Generating the demo registry in {DEMO_DIR} ...", file=sys.stderr)
        generate_registry(DEMO_DIR, GeneratorSpec())
    return registry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registry", type=Path, help="registry.db or its folder [demo]")
    parser.add_argument("--spark-master", help="e.g. spark://host:7077 [local mode]")
    parser.add_argument("--spark-remote", help="Spark Connect, e.g. sc://host:15002")
    parser.add_argument("--model-year", default="2030")
    args = parser.parse_args()

    # Check what Spark needs before starting it, so a missing piece is one clear line.
    try:
        import pyspark
    except ImportError:
        sys.exit("This example needs pyspark: pip install 'dsgrid-sql[spark]'.")
    if not args.spark_remote and not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        sys.exit("Spark needs Java 17: install it, or set JAVA_HOME, and run this again.")
    registry = args.registry or demo_registry()

    print(f"pyspark {pyspark.__version__}; registry {registry}")
    started = time.perf_counter()
    # Local mode by default. For a cluster, the only change is one of:
    #     dsgrid_sql.connect(registry, engine="spark", spark_master="spark://host:7077")
    #     dsgrid_sql.connect(registry, engine="spark", spark_remote="sc://host:15002")
    # (spark_conf={"spark.executor.memory": "8g", ...} sets anything else).
    with dsgrid_sql.connect(
        registry,
        engine="spark",
        spark_master=args.spark_master,
        spark_remote=args.spark_remote,
    ) as spark:
        on_spark = spark.sql(STATE_TOTALS, [args.model_year]).to_arrow()
    seconds = time.perf_counter() - started
    print(f"Spark answered in {seconds:.1f} s (most of it starting Spark).")

    print(f"\nEnergy by state and scenario, model year {args.model_year} (MWh), on Spark:")
    for row in on_spark.to_pylist():
        print(f"  {row['us_states']:<4} {row['scenario']:<22} {row['mwh']:>16,.3f}")

    # The same SQL on DuckDB: the rows agree (sums may differ in the last bits, since the
    # engines add in different orders).
    with dsgrid_sql.connect(registry, engine="duckdb") as duck:
        on_duckdb = duck.sql(STATE_TOTALS, [args.model_year]).to_arrow()
    same = on_spark.num_rows == on_duckdb.num_rows and all(
        (a["us_states"], a["scenario"]) == (b["us_states"], b["scenario"])
        and math.isclose(a["mwh"], b["mwh"], rel_tol=1e-9)
        for a, b in zip(on_spark.to_pylist(), on_duckdb.to_pylist(), strict=True)
    )
    print(f"\nDuckDB gives the same {on_duckdb.num_rows} rows: {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
