"""Translation time against the size of a WHERE clause (issue 20): 100 to 50,000 predicate
terms of four shapes, on the 3-dataset × 3,000-county registry of case 1b.

- ``value = x OR …``: the issue's shape (a filter a BI tool writes on many values), read as
  one list per column (rewrite/parse.py ``_comparisons_as_lists``);
- ``geography = 'id' OR …``: the same on a dimension column, each id checked against the
  records and pushed into the scan;
- ``value <> x AND …``: values left out, read as one ``NOT value IN (…)`` the same way;
- ``value BETWEEN a AND b OR …``: ranges, which have no list form in SQL, held as one call
  while the rewrite works and written back as the chain (rewrite/ranges.py).

Each size is a new text (a translation is remembered by its text); CPU µs per term of
``session.translate`` and of freeing its garbage (median of the runs): a long statement is
translated with the cyclic collector held off (rewrite/collector.py), so the full
collection after it is counted too, less what a collection costs with nothing to free.
For the first shape also the whole query with its answer (translate + DuckDB). The SQL
length limit is raised as a server operator would (`--max-sql-length`): 50,000 ranges are
1.8 MB of SQL.

    python -m bench terms [--runs 3]
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable

import dsgrid_sql

from .project_size import spec_for
from .scale import cached_registry

SIZES = (100, 1_000, 10_000, 50_000)
QUERY = "SELECT metric, SUM(value) AS v FROM data WHERE {} GROUP BY ALL"


def shapes(counties: list[str]) -> dict[str, Callable[[int, int], str]]:
    return {
        "value = x OR …": lambda n, run: " OR ".join(f"value = {i}.{run}5" for i in range(n)),
        "geography = 'id' OR …": lambda n, run: " OR ".join(
            f"geography = '{counties[(i + run) % len(counties)]}'" for i in range(n)
        ),
        "value BETWEEN a AND b OR …": lambda n, run: " OR ".join(
            f"value BETWEEN {i}.{run} AND {i}.{run}5" for i in range(n)
        ),
        "value <> x AND …": lambda n, run: " AND ".join(f"value <> {i}.{run}5" for i in range(n)),
    }


def run(runs: int = 3) -> str:
    path = cached_registry("size-3x3000", spec_for(3, 3000)) / "registry.db"
    session = dsgrid_sql.connect(path, max_sql_length=8 * 2**20)
    session.translate("SELECT SUM(value) FROM data")  # the catalog and plans warm
    counties = session.sql("SELECT id FROM size_dimensions.geography").to_arrow()["id"].to_pylist()
    lines = [
        "## Translation against the size of a WHERE clause (issue 20)",
        "",
        f"CPU µs per predicate term of `session.translate` and of collecting its garbage "
        f"after it (new text each time, median of "
        f"{runs}), 3 datasets × 3,000 counties; 'all' = translate and answer on DuckDB, in "
        "wall-clock seconds. Target ≤ 50 µs per term.",
        "",
        "| shape | " + " | ".join(f"{n:,} terms" for n in SIZES) + " |",
        "|---|" + "---:|" * len(SIZES),
    ]
    totals: list[str] = []
    for name, where in shapes(counties).items():
        cells = []
        for n in SIZES:
            per_term = []
            for attempt in range(runs):
                text = QUERY.format(where(n, attempt))
                gc.collect()  # what earlier sizes left is not this one's
                # A full collection with nothing of this translation to free: what walking
                # the live heap costs, taken off below.
                start = time.process_time()
                gc.collect()
                idle = time.process_time() - start
                start = time.process_time()
                session.translate(text)
                gc.collect()  # the garbage this translation left, counted with it
                per_term.append((time.process_time() - start - idle) / n)
            cells.append(f"{statistics.median(per_term) * 1e6:.0f}")
            if name.startswith("value = "):
                start = time.perf_counter()
                session.sql(QUERY.format(where(n, runs))).to_arrow()
                totals.append(f"{n:,}: {time.perf_counter() - start:.2f} s")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    session.close()
    lines += ["", "Whole query, `value = x OR …` (translate + DuckDB): " + ", ".join(totals) + "."]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
