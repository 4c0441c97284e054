"""Embed dsgrid-sql in a Python script: open a registry, ask a question with parameters, and
take the answer as Arrow, pandas or polars.

Shows:
- ``dsgrid_sql.connect(registry)`` as a context manager (DuckDB in-process by default);
- a query with ``?`` placeholders and its parameters, never values pasted into the SQL;
- ``Result.to_arrow()``, ``to_pandas()`` and, when polars is installed, ``to_polars()``;
- the same query through the PEP 249 module ``dsgrid_sql.dbapi``;
- what an error looks like (``DsgridSqlError`` with a message and a hint).

Run it from the repository root (the demo registry is generated on first use)::

    python examples/embed_sql.py
    python examples/embed_sql.py --registry path/to/registry.db --model-year 2040

The SQL uses the columns of registries made by ``dsgrid-sql generate`` / ``make demo``
(``us_states``, ``scenario``, ``model_year``); adapt them to your project's dimensions.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pyarrow.compute as pc

import dsgrid_sql
from dsgrid_sql import dbapi

# `make demo` (that is, `dsgrid-sql demo` run in the repository root) writes the demo here.
DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"

# `?` placeholders are bound in order; `$1`, `$2` work too and may repeat.
STATE_TOTALS = """
    SELECT us_states, SUM(value) AS mwh
    FROM data
    WHERE scenario = ? AND model_year = ?
    GROUP BY us_states
    ORDER BY us_states
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
    parser.add_argument("--scenario", default="reference")
    parser.add_argument("--model-year", default="2030")
    args = parser.parse_args()
    registry = args.registry or demo_registry()
    params = [args.scenario, args.model_year]

    # One session per registry; closing it releases the engine. A registry with one project
    # makes that project the default schema, so `data` means `<project>.data`.
    with dsgrid_sql.connect(registry) as session:
        project = session.sql("SHOW PROJECTS").to_arrow()["project_id"][0].as_py()
        print(f"Registry {registry}: project {project}")

        result = session.sql(STATE_TOTALS, params)
        # Notes say when the registry has parts it cannot read (left out of the answer).
        for note in result.notes:
            print(f"Note: {note}")

        # Arrow: the engine's own result, no copy. Types are fixed: record ids are strings,
        # value is a double, timestamps are UTC.
        table = result.to_arrow()
        columns = ", ".join(f"{field.name} {field.type}" for field in table.schema)
        total = pc.sum(table["mwh"]).as_py()
        print(f"\nArrow: {table.num_rows} rows ({columns}), total {total:,.3f} MWh")

        # pandas: the same rows (the result is computed once and kept).
        frame = result.to_pandas()
        print(f"\nEnergy by state, scenario {args.scenario}, model year {args.model_year} (MWh):")
        print(frame.to_string(index=False, float_format="{:,.3f}".format))

        # polars, when it is installed (`pip install 'dsgrid-sql[dataframes]'`).
        try:
            import polars as pl
        except ImportError:
            print("\npolars is not installed; skipping to_polars().")
        else:
            top = result.to_polars().sort("mwh", descending=True).head(3)
            print("\npolars, the three largest states:")
            with pl.Config(tbl_hide_dataframe_shape=True, float_precision=3):
                print(top)

        # A mistake comes back as a DsgridSqlError whose message names the problem; the
        # record check happens before anything runs.
        try:
            session.sql("SELECT SUM(value) FROM data WHERE us_states = ?", ["ca"]).to_arrow()
        except dsgrid_sql.DsgridSqlError as exc:
            print(f"\nA wrong record id is refused: {exc.message} ({exc.hint})")

    # The PEP 249 module, for code that expects a DB-API connection (qmark parameters).
    with dbapi.connect(str(registry)) as connection:
        cursor = connection.cursor()
        cursor.execute(STATE_TOTALS, params)
        rows = cursor.fetchall()
        print(f"\nDB-API: {len(rows)} rows, first {rows[0][0]} = {rows[0][1]:,.3f} MWh")


if __name__ == "__main__":
    main()
