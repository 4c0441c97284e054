"""REPL responsiveness on a large catalog (3,100 counties, every generator shape).

Two tables:
- time to first prompt, through a real pseudo-terminal, beside its floors measured in the same
  run: a bare ``python -c pass``, ``dsgrid-sql --help`` (the CLI's import cost), importing the
  session layer (catalog, rewrite, engine interface) and a one-shot ``dsgrid-sql query``;
- completion latency once the background index is loaded — the first completion and warm
  ones — beside building the index itself and a keyword completion (the cheapest case).
  The aim is under 50 ms for any completion.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dsgrid_sql.catalog import Catalog
from dsgrid_sql.completion.index import build_index
from dsgrid_sql.repl.completer import complete

from .catalog_load import SPEC, registry
from .harness import Measurement, measure, ratio_table

CASES = {
    "keyword: SEL": "SEL",
    "columns of data: SELECT us_": "SELECT us_",
    "tables after FROM: FROM da": "SELECT * FROM da",
    "county ids by name: 'Washington C": "SELECT * FROM data WHERE geography = 'Washington C",
    "every county id: geography = '": "SELECT * FROM data WHERE geography = '",
    "fuzzy county name: 'wshngtn": "SELECT * FROM data WHERE geography = 'wshngtn",
}


def _first_prompt(db: Path) -> float:
    import pexpect

    with tempfile.TemporaryDirectory() as home:
        env = {
            **os.environ,
            "HOME": home,
            "XDG_CONFIG_HOME": home,
            "XDG_DATA_HOME": home,
            "DSGRID_SQL_HISTORY": os.path.join(home, "history"),
            "PROMPT_TOOLKIT_NO_CPR": "1",
            "TERM": "xterm-256color",
        }
        start = time.perf_counter()
        child = pexpect.spawn(
            sys.executable,
            ["-m", "dsgrid_sql", "repl", "--registry", str(db)],
            env=env,
            encoding="utf-8",
            timeout=60,
        )
        child.expect(f"{SPEC.project_id}> ")
        elapsed = time.perf_counter() - start
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
        child.close()
    return elapsed


def _process(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], capture_output=True, check=True)
    return time.perf_counter() - start


def run(runs: int = 7) -> str:
    db = registry()
    startup = [
        Measurement("floor: python -c pass", [_process("-c", "pass") for _ in range(runs)]),
        Measurement(
            "dsgrid-sql --help", [_process("-m", "dsgrid_sql", "--help") for _ in range(runs)]
        ),
        Measurement(
            "import dsgrid_sql.session",
            [_process("-c", "import dsgrid_sql.session") for _ in range(runs)],
        ),
        Measurement(
            "dsgrid-sql query 'SELECT 1'",
            [
                _process("-m", "dsgrid_sql", "--registry", str(db), "query", "SELECT 1")
                for _ in range(runs)
            ],
        ),
        Measurement("repl: first prompt (pty)", [_first_prompt(db) for _ in range(runs)]),
    ]
    with Catalog.open(db) as catalog:
        schema = catalog.default_schema
        # A fresh catalog each time: the background thread builds the index from a cold one.
        index_build = measure(
            "open a catalog + build the index (background)",
            lambda: build_index(Catalog.open(db)),
            runs,
        )
        index = build_index(catalog)
        counties = len(index.records[index.tables[schema]["data"].columns[0].records[0]].ids)
        completions = [index_build]
        for name, text in CASES.items():
            # The first call after loading, then warm calls: both must stay interactive.
            start = time.perf_counter()
            complete(text, index, schema)
            first = time.perf_counter() - start
            warm = measure(name, lambda text=text: complete(text, index, schema), runs, warmup=0)
            completions.append(Measurement(name, [first, *warm.seconds]))
    return "\n\n".join(
        [
            ratio_table("REPL: time to first prompt", startup, "floor: python -c pass"),
            ratio_table(
                f"REPL: completion latency on {counties:,} counties (first call included)",
                completions,
                "keyword: SEL",
            ),
        ]
    )
