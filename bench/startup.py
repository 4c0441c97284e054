"""Case 9 (startup): how long one small question takes as a whole process — what a newcomer
waits for at the prompt, and every script that calls the CLI pays per call.

Measured in the same run, as fresh processes, medians of at least 7 runs after one warm-up:

- ``python -c pass``: the interpreter alone, the floor of every row;
- ``dsgrid-sql --help``;
- ``dsgrid-sql query`` of the state totals, printed as a table: sent again (its translation
  kept in the cache, dsgrid_sql/translation_cache.py) and planned from scratch
  (``DSGRID_SQL_CACHE_DIR=off``: the first time a query is sent);
- the DuckDB peer: ``python -c "import duckdb; duckdb.sql(...)"`` with the SQL an expert writes
  by hand over the same Parquet (the registry's mapping factors and county→state pairs
  written into it as constants, read once, not timed);
- dsgrid itself: ``dsgrid query project run`` of the same question as a dsgrid project query
  (dsgrid-toolkit 0.4.0 in its own environment: ``.dsgrid-venv`` of ``make dsgrid-check`` when
  present, else bench/cache/dsgrid-venv, created on first use, ~2 min), on a copy of the
  registry database with its data linked (dsgrid may write beside the database).

The registry is dsgrid's own test_efs in ``../shared/fixtures`` when it is beside the clone,
else the demo registry (generated into bench/cache). Every answer is checked against
dsgrid-sql's (relative 1e-9) before its time counts. Processes run with compiled bytecode,
as an installed package has it (cached in bench/cache/pycache).

    python -m bench startup [--runs 7]        # python -m bench.startup [--runs 7] [--no-dsgrid]
"""

from __future__ import annotations

import argparse
import ast
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import dsgrid_sql

from . import compare
from .harness import CACHE, Measurement, ratio_table

REPO = Path(__file__).resolve().parents[1]
EFS = REPO.parent / "shared" / "fixtures" / "dsgrid" / "test_efs"
MIN_RUNS = 7
# Dimension types dsgrid's aggregation sums away (geography and metric are kept).
SUMMED_AWAY = ("model_year", "scenario", "sector", "subsector", "time", "weather_year")
DSGRID_SQL = Path(sys.executable).with_name("dsgrid-sql")


@dataclass(frozen=True)
class Question:
    """One question, as each peer asks it."""

    registry: Path  # the folder holding registry.db
    label: str
    sql: str  # dsgrid-sql: us_states, value
    duckdb_sql: str | None  # the hand-written peer: the same two columns
    dsgrid_query: dict[str, object] | None  # dsgrid's project query (US States × metric)


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(CACHE / "pycache")
    env["DSGRID_SQL_CACHE_DIR"] = str(CACHE / "startup-translations")
    env.pop("DSGRID_SQL_REGISTRY", None)
    env.pop("DSGRID_BACKEND_ENGINE", None)
    return env


def _process(command: list[str], env: dict[str, str], cwd: Path | None = None) -> str:
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])} … failed:\n{done.stderr[-2000:]}")
    return done.stdout


def _timed(commands: list[tuple[str, list[str], dict[str, str]]], runs: int) -> list[Measurement]:
    """Each command ``runs`` times, taking turns (one run of each per round), so that other
    work on the machine falls on every row alike; one warm-up run each first (bytecode
    written, page cache filled, the translation kept)."""
    for _, command, env in commands:
        _process(command, env)
    seconds: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for times, (_, command, env) in zip(seconds, commands, strict=True):
            start = time.perf_counter()
            _process(command, env)
            times.append(time.perf_counter() - start)
    return [Measurement(name, t) for (name, _, _), t in zip(commands, seconds, strict=True)]


# -- the question ------------------------------------------------------------------------------


def _values(rows: list[tuple[object, ...]]) -> str:
    def literal(value: object) -> str:
        if isinstance(value, str):
            return "'" + value.replace("'", "''") + "'"
        return repr(float(value))  # type: ignore[arg-type]

    return ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows)


def _rows(session: dsgrid_sql.Session, sql: str) -> list[tuple[object, ...]]:
    table = session.sql(sql).to_arrow()
    return list(zip(*(column.to_pylist() for column in table.columns), strict=True))


def efs_question(registry: Path) -> Question:
    """State totals of test_efs: both datasets, mapped onto the project and summed by state."""
    from dsgrid_sql.rewrite.units import unit_factor

    data = registry / "data" / "data"
    with dsgrid_sql.connect(registry) as session:
        subsectors = _rows(
            session,
            "SELECT from_id, from_fraction FROM "
            "test_efs_mappings.comstock_subsectors_efs_with_formatted_prefix__subsector",
        )
        metric = _rows(
            session,
            "SELECT m.from_id, m.from_fraction, d.unit AS stored, p.unit AS project FROM "
            "test_efs_mappings.comstock_end_uses__metric AS m "
            "JOIN test_efs_dimensions.comstock_end_uses AS d ON d.id = m.from_id "
            "JOIN test_efs_dimensions.metric AS p ON p.id = m.to_id",
        )
        model_years = _rows(
            session, "SELECT from_fraction FROM test_efs_mappings.model_year_2012__model_year"
        )
        states = _rows(
            session, "SELECT from_id, to_id FROM test_efs_mappings.geography__us_states"
        )
    metric_factors = [
        (m, f * unit_factor(du, pu, context=m))  # type: ignore[arg-type]
        for m, f, du, pu in metric
    ]
    comstock = data / "test_efs_comstock" / "1.0.0"
    unpivoted = data / "test_efs_comstock_unpivoted" / "1.0.0" / "table.parquet"
    duckdb_sql = f"""
WITH sub(id, f) AS (VALUES {_values(subsectors)}),
     met(id, f) AS (VALUES {_values(metric_factors)}),
     years(f) AS (VALUES {_values(model_years)}),
     state(county, us_states) AS (VALUES {_values(states)}),
     stored AS (
       SELECT l.geography, l.subsector, t.metric, t.value
       FROM read_parquet('{comstock / "table.parquet"}') AS t
       JOIN read_parquet('{comstock / "lookup_table.parquet"}') AS l USING (id)
       UNION ALL
       SELECT geography, subsector, metric, value FROM read_parquet('{unpivoted}'))
SELECT state.us_states, SUM(stored.value * sub.f * met.f * (SELECT SUM(f) FROM years)) AS value
FROM stored JOIN sub ON stored.subsector = sub.id JOIN met ON stored.metric = met.id
JOIN state ON stored.geography = state.county
GROUP BY 1 ORDER BY 1"""
    dsgrid_query = {
        "name": "startup_state_totals",
        "project": {
            "project_id": "test_efs",
            "dataset": {
                "dataset_id": "startup_state_totals_datasets",
                "source_datasets": [
                    {"dataset_type": "standalone", "dataset_id": d}
                    for d in ("test_efs_comstock", "test_efs_comstock_unpivoted")
                ],
            },
        },
        "result": {
            "aggregations": [
                {
                    "aggregation_function": "sum",
                    "dimensions": {
                        "geography": ["US States"],
                        # dsgrid's aggregations keep a metric dimension: summed over it after.
                        "metric": ["EFS Detailed End Uses - ComStock Only"],
                        **{t: [] for t in SUMMED_AWAY},
                    },
                }
            ],
            "output_format": "parquet",
        },
    }
    return Question(
        registry,
        "dsgrid's test_efs (../shared/fixtures): 2 datasets, 71,232 stored rows",
        "SELECT us_states, SUM(value) AS value FROM test_efs.data GROUP BY ALL",
        duckdb_sql,
        dsgrid_query,
    )


def demo_question() -> Question:
    """The demo registry's state totals (test_efs is not beside the clone): no hand-written
    peer or dsgrid query is written for it."""
    from dsgrid_sql.generator import GeneratorSpec, generate_registry

    path = CACHE / "startup-demo"
    if not (path / "registry.db").exists():
        generate_registry(path, GeneratorSpec(), overwrite=True)
    return Question(
        path,
        "the demo registry (dsgrid-sql demo)",
        "SELECT us_states, SUM(value) AS value FROM dsgrid_demo.data GROUP BY ALL",
        None,
        None,
    )


# -- answers -----------------------------------------------------------------------------------


def _answer(rows: list[tuple[object, ...]]) -> pa.Table:
    return pa.table(
        {
            "us_states": pa.array([str(r[0]) for r in rows], pa.string()),
            "value": pa.array([float(r[1]) for r in rows], pa.float64()),  # type: ignore[arg-type]
        }
    )


def _dsgrid_sql_answer(question: Question, env: dict[str, str]) -> pa.Table:
    out = _process(
        [str(DSGRID_SQL), "--registry", str(question.registry), "query", "--format", "csv",
         question.sql],
        env,
    )  # fmt: skip
    reader = csv.reader(io.StringIO(out))
    next(reader)
    return _answer([tuple(row) for row in reader])


def _duckdb_peer(sql: str) -> list[str]:
    code = f"import duckdb; print(duckdb.sql({sql!r}).fetchall())"
    return [sys.executable, "-c", code]


# -- dsgrid ------------------------------------------------------------------------------------


def _dsgrid_executable() -> Path:
    made = REPO / ".dsgrid-venv" / "bin" / "dsgrid"
    if made.exists() and (REPO / ".dsgrid-venv" / ".installed").exists():
        return made
    from .dsgrid_peer import ensure_dsgrid

    return ensure_dsgrid()


def _dsgrid_runs(question: Question, runs: int, log: list[str]) -> tuple[Measurement, pa.Table]:
    """Times of `dsgrid query project run` and whether its answer agrees."""
    from .dsgrid_peer import prepare_work_dir, run_dsgrid

    dsgrid = _dsgrid_executable()
    work = prepare_work_dir("startup", question.registry)
    query_file = work / "queries" / "startup_state_totals.json5"
    query_file.parent.mkdir(exist_ok=True)
    query_file.write_text(json.dumps(question.dsgrid_query, indent=2) + "\n")
    name = str(question.dsgrid_query["name"])  # type: ignore[index]
    first = run_dsgrid(dsgrid, work, query_file, name, "startup-0", 1800)
    table = pq.read_table(first.table)
    sums: dict[str, float] = {}
    for state, value in zip(
        table["US States"].to_pylist(), table["value"].to_pylist(), strict=True
    ):
        sums[state] = sums.get(state, 0.0) + value
    theirs = _answer(sorted(sums.items()))
    seconds = []
    internal = []
    for i in range(runs):
        done = run_dsgrid(dsgrid, work, query_file, name, f"startup-{i + 1}", 1800)
        seconds.append(done.wall)
        if done.internal is not None:
            internal.append(done.internal)
    shutil.rmtree(work / "runs", ignore_errors=True)
    if internal:
        log.append(
            f"dsgrid's own log, from 'Loaded local registry' to 'Wrote query': median "
            f"{sorted(internal)[len(internal) // 2]:.2f} s of each run."
        )
    return Measurement("dsgrid query project run", seconds), theirs


# -- the case ----------------------------------------------------------------------------------


def run(runs: int = MIN_RUNS, with_dsgrid: bool = True) -> str:
    runs = max(runs, MIN_RUNS)
    load_before = os.getloadavg()
    env = _environment()
    question = efs_question(EFS) if (EFS / "registry.db").exists() else demo_question()
    registry = str(question.registry)
    notes: list[str] = []

    ours = _dsgrid_sql_answer(question, env)
    query = [str(DSGRID_SQL), "--registry", registry, "query", question.sql]
    off = {**env, "DSGRID_SQL_CACHE_DIR": "off"}
    commands = [
        ("python -c pass", [sys.executable, "-c", "pass"], env),
        ("dsgrid-sql --help", [str(DSGRID_SQL), "--help"], env),
        ("dsgrid-sql query (sent again: translation kept)", query, env),
        ("dsgrid-sql query (first time: planned)", query, off),
    ]
    checks = []
    baseline = commands[2][0]
    if question.duckdb_sql is not None:
        command = _duckdb_peer(question.duckdb_sql)
        peer = _answer(ast.literal_eval(_process(command, env).strip()))
        worst = compare.assert_same(ours, peer, ["us_states"], "the hand-written DuckDB SQL")
        checks.append(f"hand-written DuckDB SQL: same answer (max rel diff {worst:.1e})")
        baseline = "duckdb peer (python -c, hand-written SQL)"
        commands.append((baseline, command, env))
    measurements = _timed(commands, runs)
    if with_dsgrid and question.dsgrid_query is not None:
        dsgrid, theirs = _dsgrid_runs(question, runs, notes)
        worst = compare.assert_same(ours, theirs, ["us_states"], "dsgrid")
        checks.append(
            f"dsgrid: same answer (max rel diff {worst:.1e}; summed over its metric rows)"
        )
        measurements.append(dsgrid)

    lines = [
        ratio_table(
            f"Case 9: start-up, one small query per process — {question.label}",
            measurements,
            baseline,
        ),
        "",
        f"Question: `{question.sql}`, printed as a table (answers checked as CSV). "
        + "; ".join(checks)
        + (". " if checks else "")
        + f"{runs} runs each after one warm-up, taking turns, whole processes (wall time), "
        "compiled bytecode. "
        "'sent again' finds the query's translation in the cache (no catalog, sqlglot or "
        "pydantic loaded); 'first time' plans it (DSGRID_SQL_CACHE_DIR=off).",
    ]
    lines += [f"{n}" for n in notes]
    load_after = os.getloadavg()
    lines.append(
        f"Load average (1 min) at start {load_before[0]:.1f}, at end {load_after[0]:.1f}, on "
        f"{os.cpu_count()} cores: other work on the machine slows every row alike."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__)
    parser.add_argument("--runs", type=int, default=MIN_RUNS, help="runs per row (at least 7)")
    parser.add_argument("--no-dsgrid", action="store_true", help="leave out dsgrid itself")
    args = parser.parse_args()
    print(run(args.runs, not args.no_dsgrid))


if __name__ == "__main__":
    main()
