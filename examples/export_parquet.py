"""Export query results to Parquet with lineage, then read them back with other tools.

Shows:
- ``Result.to_parquet(path, partition_by=[...])``: a Hive-partitioned dataset
  (``scenario=reference/model_year=2030/part-0.parquet``), written atomically;
- ``COPY (query) TO 'file.parquet'``, the same export as a SQL statement;
- ``connect(export_dir=...)``: relative export paths land in that folder, and nothing can be
  written outside it;
- the lineage every file carries (the query, project and dataset versions, engine, time) in
  its Parquet key-value metadata under the key ``dsgrid_sql``;
- reading the files back with ``pyarrow.dataset`` and with DuckDB, partition columns kept as
  strings (``model_year=2030`` is a record id, not a number).

Run it from the repository root (the demo registry is generated on first use)::

    python examples/export_parquet.py                       # writes into a new temporary folder
    python examples/export_parquet.py --registry path/to/registry.db --output exports/

Running it again into the same folder replaces the files it wrote.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

import dsgrid_sql

DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"  # where `make demo` writes it

PARTITIONS = ["scenario", "model_year"]
HOURLY_BY_STATE = """
    SELECT scenario, model_year, us_states, timestamp, SUM(value) AS mwh
    FROM data
    GROUP BY ALL
"""
STATE_TOTALS = "SELECT us_states, SUM(value) AS mwh FROM data WHERE model_year = '2030' GROUP BY 1"


def demo_registry() -> Path:
    """The demo registry of `make demo`, generated the same way when it is absent."""
    registry = DEMO_DIR / "registry.db"
    if not registry.exists():
        from dsgrid_sql.generator import GeneratorSpec, generate_registry

        print(f"Generating the demo registry in {DEMO_DIR} ...", file=sys.stderr)
        generate_registry(DEMO_DIR, GeneratorSpec())
    return registry


def print_lineage(lineage: dict) -> None:
    print(f"  query:    {' '.join(lineage['query'].split())}")
    print(f"  projects: {lineage['projects']}")
    print(f"  datasets: {lineage['datasets']}")
    print(f"  engine:   {lineage['engine']}, dsgrid-sql {lineage['dsgrid_sql_version']}")
    print(f"  written:  {lineage['written_at']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registry", type=Path, help="registry.db or its folder [demo]")
    parser.add_argument("--output", type=Path, help="folder for the files [a new temp folder]")
    args = parser.parse_args()
    registry = args.registry or demo_registry()
    output = args.output or Path(tempfile.mkdtemp(prefix="dsgrid-sql-export-"))
    output.mkdir(parents=True, exist_ok=True)

    # -- write ------------------------------------------------------------------------------
    with dsgrid_sql.connect(registry, export_dir=output) as session:
        # Partitioned by scenario and model year: one folder per pair. Each file holds the
        # other columns; the partition values live in the folder names.
        hourly = session.sql(HOURLY_BY_STATE).to_parquet(
            "hourly_by_state", partition_by=PARTITIONS, overwrite=True
        )
        files = sorted(hourly.rglob("*.parquet"))
        print(f"Wrote {len(files)} partition files under {hourly}")

        # The same kind of export from SQL (as a REPL or Flight client would send it); the
        # path is relative to export_dir.
        copy = session.sql(f"COPY ({STATE_TOTALS}) TO 'state_totals.parquet' (OVERWRITE true)")
        print(copy.message)

    # -- read back with pyarrow.dataset ---------------------------------------------------
    # Name the partition columns' types: left to guess, pyarrow reads model_year=2030 as int32.
    partitioning = ds.partitioning(
        pa.schema([(name, pa.string()) for name in PARTITIONS]), flavor="hive"
    )
    dataset = ds.dataset(hourly, format="parquet", partitioning=partitioning)
    totals = (
        dataset.to_table()
        .group_by(PARTITIONS)
        .aggregate([("mwh", "sum"), ("us_states", "count_distinct")])
        .sort_by([(name, "ascending") for name in PARTITIONS])
    )
    print("\nTotals read back with pyarrow.dataset (MWh):")
    for row in totals.to_pylist():
        print(
            f"  {row['scenario']:<22} {row['model_year']:<6} {row['mwh_sum']:>16,.3f}"
            f"  ({row['us_states_count_distinct']} states)"
        )

    # Every file carries the lineage; pyarrow shows it as schema metadata.
    print("\nLineage (key 'dsgrid_sql' of the Parquet key-value metadata):")
    print_lineage(json.loads(dataset.schema.metadata[b"dsgrid_sql"]))

    # -- read back with DuckDB ------------------------------------------------------------
    pattern = str(hourly / "**" / "*.parquet")
    with duckdb.connect() as con:
        # hive_types keeps the partition values as text (DuckDB would cast them too).
        rows = con.execute(
            """
            SELECT scenario, model_year, SUM(mwh) AS mwh
            FROM read_parquet(?, hive_partitioning = true,
                              hive_types = {'scenario': VARCHAR, 'model_year': VARCHAR})
            GROUP BY ALL ORDER BY ALL
            """,
            [pattern],
        ).fetchall()
        agree = all(
            abs(mwh - row["mwh_sum"]) <= 1e-9 * max(1.0, abs(mwh))
            for (_, _, mwh), row in zip(rows, totals.to_pylist(), strict=True)
        )
        print(f"\nDuckDB read {len(rows)} partitions; its totals agree with pyarrow's: {agree}")

        # parquet_kv_metadata lists every file's key-value pairs (keys and values are BLOBs):
        # here the lineage of all the files written above, one row per distinct lineage.
        lineages = con.execute(
            """
            SELECT decode(value) AS lineage, COUNT(*) AS files
            FROM parquet_kv_metadata(?)
            WHERE decode(key) = 'dsgrid_sql'
            GROUP BY ALL ORDER BY ALL
            """,
            [[pattern, str(output / "state_totals.parquet")]],
        ).fetchall()
    print("\nLineage read by DuckDB, per query:")
    for lineage, count in lineages:
        query = " ".join(json.loads(lineage)["query"].split())
        print(f"  {count} file{'s' if count > 1 else ''}: {query}")


if __name__ == "__main__":
    main()
