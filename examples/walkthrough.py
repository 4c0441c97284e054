"""A notebook-style walk through a dsgrid registry with SQL: what it holds, energy by state
and sector, and an hourly load profile, plotted with matplotlib and saved as PNG files.

Each ``# %%`` line starts a cell (VS Code, PyCharm, Spyder and Jupytext run them one by one);
the whole file also runs as a script. Run it from the repository root (the demo registry is
generated on first use)::

    python examples/walkthrough.py                        # figures in a new temporary folder
    python examples/walkthrough.py --registry path/to/registry.db --output figures/

Needs pandas and matplotlib: ``pip install 'dsgrid-sql[examples]'``. The SQL uses the columns
of registries made by ``dsgrid-sql generate`` / ``make demo`` (``us_states``, ``sector``,
``end_uses_by_fuel_type``, ``scenario``, ``model_year``).
"""

# %%
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.ticker import StrMethodFormatter

import dsgrid_sql

# Where `make demo` writes the demo registry: beside examples/ (in a notebook, ./demo).
if "__file__" in globals():
    DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"
else:
    DEMO_DIR = Path("demo")

parser = argparse.ArgumentParser(description="A walk through a dsgrid registry with SQL.")
parser.add_argument("--registry", type=Path, help="registry.db or its folder [demo]")
parser.add_argument("--output", type=Path, help="folder for the PNG files [a new temp folder]")
parser.add_argument("--scenario", default="reference")
parser.add_argument("--model-year", default="2030")
# parse_known_args: a notebook kernel passes arguments of its own.
args, _ = parser.parse_known_args()

registry = args.registry or DEMO_DIR / "registry.db"
if args.registry is None and not registry.exists():
    from dsgrid_sql.generator import GeneratorSpec, generate_registry

    print(f"Generating the demo registry in {DEMO_DIR} ...", file=sys.stderr)
    generate_registry(DEMO_DIR, GeneratorSpec())
output = args.output or Path(tempfile.mkdtemp(prefix="dsgrid-sql-figures-"))
output.mkdir(parents=True, exist_ok=True)
params = [args.scenario, args.model_year]

session = dsgrid_sql.connect(registry)

# %% [markdown]
# ## What the registry holds
#
# One schema per project; its `data` table stacks every dataset mapped onto the project's
# dimensions. `SHOW DIMENSIONS` lists the columns to slice it by: base dimensions and
# supplemental ones such as `us_states`, each with a `<column>_name` twin for labels.

# %%
print(session.sql("SHOW TABLES").to_pandas()[["table_schema", "table_name"]].to_string())

dimensions = session.sql("SHOW DIMENSIONS").to_pandas()
for category, columns in dimensions.groupby("category")["column_name"]:
    print(f"\n{category} dimensions: {', '.join(columns)}")

# %% [markdown]
# ## Energy by state and sector
#
# `sector_name` is the sector's record name ("Commercial" rather than "com"). Parameters
# (`?`) keep the scenario and model year out of the SQL text.

# %%
by_sector = session.sql(
    """
    SELECT us_states, sector_name, SUM(value) AS mwh
    FROM data
    WHERE scenario = ? AND model_year = ?
    GROUP BY ALL
    """,
    params,
).to_pandas()
state_sector = by_sector.pivot_table(
    index="us_states", columns="sector_name", values="mwh", aggfunc="sum", fill_value=0.0
)
state_totals = state_sector.sum(axis="columns").sort_values(ascending=False)
state_sector = state_sector.loc[state_totals.index]  # largest state first

print(f"\nEnergy by state, {args.scenario} {args.model_year} (MWh):")
for state, mwh in state_totals.items():
    print(f"  {state:<4} {mwh:>16,.3f}")

fig, ax = plt.subplots(figsize=(11, 4.5), layout="constrained")
state_sector.plot.bar(stacked=True, ax=ax, width=0.8, rot=90, fontsize=8)
ax.set_title(f"Energy by state and sector — {args.scenario}, {args.model_year}")
ax.set_xlabel("State")
ax.set_ylabel("MWh")
ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
ax.legend(title="Sector")
state_figure = output / "state_totals.png"
fig.savefig(state_figure, dpi=120)

# %% [markdown]
# ## Hourly load profile of the largest state
#
# Sum per hour, split by fuel (`end_uses_by_fuel_type` maps each end use to electricity or
# natural gas; dual-fuel heating is split by fractions). Timestamps are UTC instants.

# %%
state = state_totals.index[0]
hourly = session.sql(
    """
    SELECT timestamp, end_uses_by_fuel_type_name AS fuel, SUM(value) AS mwh
    FROM data
    WHERE us_states = $1 AND scenario = $2 AND model_year = $3
    GROUP BY ALL
    ORDER BY timestamp
    """,
    [state, *params],  # $1, $2, $3: numbered placeholders, bound by number
).to_pandas()
profile = hourly.pivot_table(index="timestamp", columns="fuel", values="mwh", aggfunc="sum")

peak_hour = profile.sum(axis="columns").idxmax()
print(f"\nHourly profile of {state}: {len(profile)} hours, peak at {peak_hour:%Y-%m-%d %H:%M} UTC")
for fuel, series in profile.items():
    print(f"  {fuel:<12} peak {series.max():>12,.3f} MWh/h, total {series.sum():>14,.3f} MWh")

fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
profile.plot(ax=ax, drawstyle="steps-post")
ax.set_title(f"Hourly load profile of {state} by fuel — {args.scenario}, {args.model_year}")
ax.set_xlabel("Hour (UTC)")
ax.set_ylabel("MWh per hour")
ax.legend(title="Fuel")
profile_figure = output / "hourly_profile.png"
fig.savefig(profile_figure, dpi=120)

# %% [markdown]
# ## Done
#
# Close the session to release the engine. The figures are in the output folder.

# %%
session.close()
for figure in (state_figure, profile_figure):
    print(f"Saved {figure} ({figure.stat().st_size:,} bytes)")
