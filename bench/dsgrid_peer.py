"""Case 3 of the benchmark: dsgrid itself answers the analyst questions, side by side.

Every question of :mod:`bench.questions` is written as a dsgrid **project query** (the query
model of ``dsgrid query project run``) and run by dsgrid-toolkit in its own virtual environment
(``bench/cache/dsgrid-venv``, created here on first use, default DuckDB backend, offline, the
registry's SQLite database by ``--url sqlite:///…``) on the same generated registry that
dsgrid-sql reads. dsgrid's output table is checked against dsgrid-sql's answer (relative
1e-9 after sorting by the question's keys) before the times are compared.

Where dsgrid's query model cannot express the whole question, dsgrid computes as much as it can
and pandas finishes the last, small step (the report says which): a project aggregation must
keep a metric dimension, and the project has no all-metrics supplemental dimension, so
questions that sum over every end use get dsgrid's per-end-use rows and pandas sums them;
"sum per hour, then the maximum" and "high electrification minus reference" are a pandas step
over dsgrid's aggregated table.

dsgrid is never imported here: it runs as a subprocess (``dsgrid query project run``) with its
own interpreter. Each dsgrid run is a fresh process writing into a fresh output directory, so
dsgrid's own caches of mapped datasets never carry over from one run to the next.

    python -m bench.dsgrid_peer [--scales 1M,10M] [--runs 3] [--dsgrid-runs N]
                                [--questions id,id] [--dsgrid-timeout SECONDS]

100M is opt-in (``--scales 1M,10M,100M``): dsgrid needs minutes per question at 10M (5 min
for the state totals on a 2-core machine, growing about linearly with rows), so the whole 100M
set would take hours. A dsgrid run longer than --dsgrid-timeout (default 30 min) is killed;
its question is then not checked and the ratio is reported as a lower bound.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import dsgrid_sql

from . import compare as answers
from .harness import CACHE, Measurement, measure, ratio_table
from .questions import QUESTIONS, Question
from .scale import SCALES, registry

DSGRID_VERSION = "0.4.0"  # as the Makefile's DSGRID_VERSION
DSGRID_VENV = CACHE / "dsgrid-venv"
WORK = CACHE / "dsgrid-work"
DEFAULT_TIMEOUT = 1800.0


# -- dsgrid's environment ----------------------------------------------------------------------


def _venv_bin(name: str) -> Path:
    sub = "Scripts" if os.name == "nt" else "bin"
    return DSGRID_VENV / sub / name


def ensure_dsgrid() -> Path:
    """The ``dsgrid`` executable of bench/cache/dsgrid-venv, created on first use."""
    stamp = DSGRID_VENV / ".installed"
    if stamp.exists() and stamp.read_text() == DSGRID_VERSION:
        return _venv_bin("dsgrid")
    print(
        f"installing dsgrid-toolkit=={DSGRID_VERSION} into {DSGRID_VENV} …",
        file=sys.stderr,
        flush=True,
    )
    # The venv module of the interpreter dsgrid-sql runs on; the new environment is dsgrid's
    # own (no system site-packages, nothing of dsgrid-sql's).
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(DSGRID_VENV)], check=True)
    python = _venv_bin("python")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", f"dsgrid-toolkit=={DSGRID_VERSION}"],
        check=True,
    )
    stamp.write_text(DSGRID_VERSION)
    return _venv_bin("dsgrid")


def prepare_work_dir(scale: str, registry_path: Path) -> Path:
    """bench/cache/dsgrid-work/scale-<scale>: a copy of registry.db and a link to its data.

    dsgrid resolves the registry's relative ``data_path`` against its working directory, and
    may write beside the database; the generated registry itself stays untouched.
    """
    work = WORK / f"scale-{scale}"
    work.mkdir(parents=True, exist_ok=True)
    shutil.copy2(registry_path / "registry.db", work / "registry.db")
    (work / "registry.db").chmod(0o644)
    con = sqlite3.connect(f"file:{registry_path / 'registry.db'}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT value FROM key_value WHERE key = 'data_path'").fetchone()
    finally:
        con.close()
    data_path = row[0]
    if not Path(data_path).is_absolute():
        link = work / data_path
        if link.is_symlink() or link.exists():
            link.unlink()
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to((registry_path / data_path).resolve(), target_is_directory=True)
    return work


# -- the registry's vocabulary -----------------------------------------------------------------


@dataclass
class Vocabulary:
    """Dimension names of the project (dsgrid's vocabulary) and dsgrid-sql's column names."""

    project_id: str
    dataset_ids: list[str]
    base: dict[str, str]  # dimension type -> base dimension name (incl. time)
    column_of: dict[str, str] = field(default_factory=dict)  # dimension name -> our column
    type_of: dict[str, str] = field(default_factory=dict)  # our column -> dimension type

    def supplemental(self, column: str) -> str:
        """The dimension name of one of dsgrid-sql's supplemental columns."""
        for name, ours in self.column_of.items():
            if ours == column and name not in self.base.values():
                return name
        raise KeyError(column)


def vocabulary(registry_path: Path, session: Any) -> Vocabulary:
    con = sqlite3.connect(f"file:{registry_path / 'registry.db'}?mode=ro", uri=True)
    try:
        (model,) = con.execute(
            "SELECT m.model FROM current_versions c JOIN models m ON m.id = c.current_id "
            "WHERE c.model_type = 'project'"
        ).fetchone()
    finally:
        con.close()
    project = json.loads(model)
    datasets = [d for d in project["datasets"] if d["status"] == "Registered"]
    base = dict(datasets[0]["base_dimension_names"])
    vocab = Vocabulary(project["project_id"], [d["dataset_id"] for d in datasets], base)
    dims = session.sql("SHOW DIMENSIONS FOR data").to_pandas()
    for row in dims.itertuples():
        vocab.column_of[row.dimension_names] = row.column_name
        vocab.type_of[row.column_name] = row.dimension_type
    vocab.column_of[base["time"]] = "timestamp"
    return vocab


# -- the questions as dsgrid project queries ---------------------------------------------------

DIMENSION_TYPES = (
    "geography",
    "metric",
    "model_year",
    "scenario",
    "sector",
    "subsector",
    "time",
    "weather_year",
)


@dataclass
class DsgridPlan:
    """One question as a dsgrid project query, plus the pandas step dsgrid cannot express."""

    query: dict[str, Any]
    # dsgrid's table with dsgrid-sql's column names -> the question's answer.
    finish: Callable[[pd.DataFrame], pd.DataFrame] | None
    dsgrid_part: str
    pandas_part: str = ""


def _project_query(
    vocab: Vocabulary,
    name: str,
    filters: list[dict[str, Any]],
    keep: dict[str, list[str]] | None,
) -> dict[str, Any]:
    result: dict[str, Any] = {"output_format": "parquet"}
    if keep is not None:
        dims = {t: list(keep.get(t, [])) for t in DIMENSION_TYPES}
        result["aggregations"] = [{"aggregation_function": "sum", "dimensions": dims}]
    return {
        "name": name,
        "project": {
            "project_id": vocab.project_id,
            "dataset": {
                "dataset_id": f"{name}_datasets",
                "source_datasets": [
                    {"dataset_type": "standalone", "dataset_id": d} for d in vocab.dataset_ids
                ],
                # Default expression: the union of every dataset (duplicates kept).
                "params": {"dimension_filters": filters},
            },
        },
        "result": result,
    }


def _model_year_filter(vocab: Vocabulary, year: str) -> dict[str, Any]:
    return {
        "filter_type": "column_operator",
        "dimension_type": "model_year",
        "dimension_name": vocab.base["model_year"],
        "column": "id",
        "operator": "isin",
        "value": [year],
    }


def _supplemental_filter(vocab: Vocabulary, column: str, record: str) -> dict[str, Any]:
    return {
        "filter_type": "supplemental_column_operator",
        "dimension_type": vocab.type_of[column],
        "dimension_name": vocab.supplemental(column),
        "column": "id",
        "operator": "isin",
        "value": [record],
    }


# The questions of bench/questions.py that dsgrid answers as a project query (``plans``).
DSGRID_QUESTIONS = (
    "state_enduse_totals", "state_hourly_profile", "regional_peak", "scenario_difference",
    "fuel_type_totals", "state_export",
)  # fmt: skip


def plans(vocab: Vocabulary, state: str, model_year: str) -> dict[str, DsgridPlan]:
    """The dsgrid project query of every question in bench/questions.py."""
    base = vocab.base
    states, regions = vocab.supplemental("us_states"), vocab.supplemental("us_census_regions")
    fuel = vocab.supplemental("end_uses_by_fuel_type")
    year = _model_year_filter(vocab, model_year)
    in_state = _supplemental_filter(vocab, "us_states", state)

    def hourly_profile(df: pd.DataFrame) -> pd.DataFrame:
        df = df[df["us_states"] == state]
        return df.groupby("timestamp", as_index=False)["value"].sum()

    def regional_peak(df: pd.DataFrame) -> pd.DataFrame:
        hourly = df.groupby(["us_census_regions", "timestamp"], as_index=False)["value"].sum()
        peak = hourly.groupby("us_census_regions", as_index=False)["value"].max()
        return peak.rename(columns={"value": "peak"})

    def scenario_difference(df: pd.DataFrame) -> pd.DataFrame:
        sign = df["scenario"].map(lambda s: 1.0 if s == "high_electrification" else -1.0)
        out = df.assign(difference=df["value"] * sign)
        return out.groupby("us_states", as_index=False)["difference"].sum()

    return {
        "state_enduse_totals": DsgridPlan(
            _project_query(
                vocab,
                "state_enduse_totals",
                [year],
                {"geography": [states], "metric": [base["metric"]]},
            ),
            None,
            f"dataset filter model_year isin [{model_year}]; sum by {states!r} × "
            f"{base['metric']!r}",
        ),
        "state_hourly_profile": DsgridPlan(
            _project_query(
                vocab,
                "state_hourly_profile",
                [in_state],
                {"geography": [states], "metric": [base["metric"]], "time": [base["time"]]},
            ),
            hourly_profile,
            f"dataset filter {states!r} isin [{state}] (supplemental_column_operator); "
            f"sum by {states!r} × {base['metric']!r} × hour",
            "sum over end uses per hour (an aggregation must keep a metric dimension)",
        ),
        "regional_peak": DsgridPlan(
            _project_query(
                vocab,
                "regional_peak",
                [year],
                {"geography": [regions], "metric": [base["metric"]], "time": [base["time"]]},
            ),
            regional_peak,
            f"dataset filter model_year isin [{model_year}]; sum by {regions!r} × "
            f"{base['metric']!r} × hour",
            "sum over end uses per region and hour, then max over hours",
        ),
        "scenario_difference": DsgridPlan(
            _project_query(
                vocab,
                "scenario_difference",
                [year],
                {
                    "geography": [states],
                    "metric": [base["metric"]],
                    "scenario": [base["scenario"]],
                },
            ),
            scenario_difference,
            f"dataset filter model_year isin [{model_year}]; sum by {states!r} × "
            f"{base['metric']!r} × {base['scenario']!r}",
            "high_electrification − others, summed per state",
        ),
        "fuel_type_totals": DsgridPlan(
            _project_query(
                vocab,
                "fuel_type_totals",
                [],
                {"metric": [fuel], "model_year": [base["model_year"]]},
            ),
            None,
            f"sum by {fuel!r} (fractional supplemental) × {base['model_year']!r}",
        ),
        "state_export": DsgridPlan(
            _project_query(vocab, "state_export", [in_state, year], None),
            None,
            f"dataset filters {states!r} isin [{state}] and model_year isin [{model_year}]; "
            "no aggregation (dsgrid's table.parquet is the export)",
        ),
    }


# -- running dsgrid ----------------------------------------------------------------------------


@dataclass
class DsgridRun:
    wall: float  # the whole `dsgrid query project run` process
    internal: float | None  # from "Loaded local registry" to "Wrote query" in dsgrid's log
    table: Path


def _log_time(line: str) -> float | None:
    try:
        return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
    except ValueError:
        return None


def _internal_seconds(log: Path) -> float | None:
    start = end = None
    for line in log.read_text(errors="replace").splitlines():
        if "Loaded local registry" in line and start is None:
            start = _log_time(line)
        elif "Wrote query=" in line:
            end = _log_time(line)
    return None if start is None or end is None else end - start


class DsgridTimeout(RuntimeError):
    pass


def run_dsgrid(
    dsgrid: Path, work: Path, query_file: Path, name: str, run_id: str, timeout: float
) -> DsgridRun:
    """One `dsgrid query project run` in a fresh output directory under ``work``."""
    run_dir = work / "runs" / run_id
    if run_dir.exists():
        shutil.rmtree(run_dir)
    (run_dir / "scratch").mkdir(parents=True)
    log = run_dir / "dsgrid.log"
    command = [
        str(dsgrid),
        "--console-level",
        "warning",
        "--log-file",
        str(log),
        "--no-prompts",
        "--url",
        f"sqlite:///{(work / 'registry.db').as_posix()}",
        "--scratch-dir",
        str(run_dir / "scratch"),
        "query",
        "project",
        "run",
        str(query_file),
        "--output",
        str(run_dir / "output"),
    ]
    env = dict(os.environ, DSGRID_BACKEND_ENGINE="duckdb")
    env.pop("DSGRID_REGISTRY_DATABASE_URL", None)
    with open(run_dir / "console.txt", "wb") as console:
        start = time.perf_counter()
        proc = subprocess.Popen(
            command,
            cwd=work,
            env=env,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise DsgridTimeout(f"dsgrid took more than {timeout:.0f} s") from None
        wall = time.perf_counter() - start
    table = run_dir / "output" / name / "table.parquet"
    if code != 0 or not table.exists():
        tail = (run_dir / "console.txt").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"dsgrid failed (exit {code}) on {query_file.name}:\n{tail}")
    return DsgridRun(wall, _internal_seconds(log), table)


# -- comparing ---------------------------------------------------------------------------------


@dataclass
class Check:
    ok: bool
    rows: int
    max_rel: float
    detail: str = ""


def _normalize(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].dt.tz_convert("UTC")
        elif pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.tz_localize("UTC")
        elif out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].astype(object)
    return out


def compare(ours: pd.DataFrame, theirs: pd.DataFrame, keys: list[str]) -> Check:
    """Same rows and values by bench.compare's rule, after normalizing pandas types."""
    ours, theirs = _normalize(ours), _normalize(theirs)
    theirs = theirs[
        [c for c in ours.columns if c in theirs.columns]
        + [c for c in theirs.columns if c not in ours.columns]
    ]
    result = answers.compare(
        pa.Table.from_pandas(ours, preserve_index=False),
        pa.Table.from_pandas(theirs, preserve_index=False),
        keys,
    )
    return Check(result.same, result.rows, result.worst, result.problem or "")


def read_dsgrid_table(table: Path, vocab: Vocabulary) -> pd.DataFrame:
    df = pq.read_table(table).to_pandas()
    return df.rename(columns={c: vocab.column_of.get(c, c) for c in df.columns})


# -- dsgrid-sql --------------------------------------------------------------------------------


def _sql_for(question: Question, output: Path) -> str:
    return question.sql.replace("{output}", output.as_posix()) if question.export else question.sql


def dsgrid_sql_answer(session: Any, question: Question, scratch: Path) -> pd.DataFrame:
    if not question.export:
        return session.sql(question.sql).to_pandas()
    out = scratch / f"{question.id}.parquet"
    out.unlink(missing_ok=True)
    session.sql(_sql_for(question, out)).to_arrow()
    return pq.read_table(out).to_pandas()


def cold_cli(registry_path: Path, question: Question, scratch: Path) -> Callable[[], None]:
    """A fresh `dsgrid-sql query` process writing its answer to a file, as dsgrid does."""
    out = scratch / f"cold-{question.id}.parquet"
    base = [sys.executable, "-m", "dsgrid_sql", "--registry", str(registry_path), "query"]
    if question.export:
        command = [*base, "--export-dir", str(scratch), _sql_for(question, out)]
    else:
        command = [*base, "--output", str(out), "--overwrite", question.sql]

    def action() -> None:
        if question.export:
            out.unlink(missing_ok=True)
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"dsgrid-sql query failed: {done.stderr[-2000:]}")

    return action


# -- the benchmark -----------------------------------------------------------------------------


@dataclass
class Outcome:
    question: Question
    check: Check | None = None
    measurements: list[Measurement] = field(default_factory=list)
    internal: list[float] = field(default_factory=list)
    error: str = ""
    timed_out: float | None = None  # dsgrid killed after this many seconds


def bench_scale(
    scale: str,
    runs: int,
    dsgrid_runs: int,
    questions: list[Question],
    timeout: float,
    log: Callable[[str], None],
) -> list[Outcome]:
    from .questions import MODEL_YEAR, STATE

    dsgrid = ensure_dsgrid()
    reg = registry(scale)
    work = prepare_work_dir(scale, reg.path)
    scratch = work / "dsgrid-sql"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    session = dsgrid_sql.connect(reg.path, export_dir=scratch)
    vocab = vocabulary(reg.path, session)
    by_id = plans(vocab, STATE, MODEL_YEAR)
    (work / "queries").mkdir(exist_ok=True)

    outcomes = []
    for question in questions:
        outcome = Outcome(question)
        outcomes.append(outcome)
        plan = by_id[question.id]
        query_file = work / "queries" / f"{question.id}.json5"
        query_file.write_text(json.dumps(plan.query, indent=2) + "\n")
        # Correctness first: dsgrid's first run is checked (and is one of its timed runs).
        ours = dsgrid_sql_answer(session, question, scratch)
        dsgrid_times: list[float] = []
        try:
            first = run_dsgrid(dsgrid, work, query_file, question.id, f"{question.id}-1", timeout)
        except DsgridTimeout:
            # No answer to check; dsgrid-sql is still timed, the ratio is a lower bound.
            outcome.timed_out = timeout
            dsgrid_times.append(timeout)
            log(f"  {scale} {question.id}: dsgrid killed after {timeout:.0f} s (not checked)")
            first = None
        except Exception as exc:
            outcome.error = str(exc)
            log(f"  {scale} {question.id}: dsgrid FAILED: {str(exc)[:300]}")
            continue
        if first is not None:
            dsgrid_times.append(first.wall)
            if first.internal is not None:
                outcome.internal.append(first.internal)
            theirs = read_dsgrid_table(first.table, vocab)
            if plan.finish is not None:
                theirs = plan.finish(theirs)
            if question.export:
                # dsgrid's export has no dataset_id column (datasets are unioned).
                ours = ours.drop(columns=["dataset_id"])
                keys = [k for k in question.keys if k != "dataset_id"]
            else:
                keys = list(question.keys)
            outcome.check = compare(ours, theirs, keys)
            status = "agree" if outcome.check.ok else "MISMATCH"
            log(
                f"  {scale} {question.id}: {status} ({outcome.check.rows} rows, max rel diff "
                f"{outcome.check.max_rel:.2e}; dsgrid {first.wall:.1f} s) {outcome.check.detail}"
            )
            for i in range(2, dsgrid_runs + 1):
                run_id = f"{question.id}-{i}"
                again = run_dsgrid(dsgrid, work, query_file, question.id, run_id, timeout)
                dsgrid_times.append(again.wall)
                if again.internal is not None:
                    outcome.internal.append(again.internal)
        shutil.rmtree(work / "runs", ignore_errors=True)

        def warm(q: Question = question) -> None:
            if q.export:
                dsgrid_sql_answer(session, q, scratch)  # COPY ... TO a fresh file
            else:
                session.sql(q.sql).to_arrow()

        q_ = question
        outcome.measurements = [
            Measurement("dsgrid query project run", dsgrid_times),
            measure("dsgrid-sql (warm session)", warm, runs),
            measure("dsgrid-sql query (cold process)", cold_cli(reg.path, q_, scratch), runs),
        ]
        timings = ", ".join(f"{m.name}: {m.median:.3f} s" for m in outcome.measurements)
        if outcome.internal:
            timings += f", dsgrid internal {statistics.median(outcome.internal):.1f} s"
        log(f"  {timings}")
    session.close()
    return outcomes


def _mapping_section(registry_path: Path) -> str:
    """How each question maps to a dsgrid project query (the same at every scale)."""
    from .questions import MODEL_YEAR, STATE

    with dsgrid_sql.connect(registry_path) as session:
        vocab = vocabulary(registry_path, session)
    lines = [
        "### How dsgrid answers each question",
        "",
        "| question | dsgrid project query | finished in pandas |",
        "|---|---|---|",
    ]
    for q_id, plan in plans(vocab, STATE, MODEL_YEAR).items():
        lines.append(f"| {q_id} | {plan.dsgrid_part} | {plan.pandas_part or '—'} |")
    return "\n".join(lines)


def report(scale: str, outcomes: list[Outcome], runs: int, dsgrid_runs: int) -> str:
    lines = [f"## dsgrid itself vs dsgrid-sql — {scale} rows", ""]
    lines += [
        "| question | numbers | rows | max rel diff | dsgrid s (min–max) | dsgrid internal s "
        "| dsgrid-sql warm s | dsgrid-sql cold s | dsgrid ÷ warm | dsgrid ÷ cold |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for o in outcomes:
        if o.error:
            lines.append(f"| {o.question.id} | dsgrid failed: {o.error[:120]} | | | | | | | | |")
            continue
        d, w, c = o.measurements
        if o.timed_out is not None:
            lines.append(
                f"| {o.question.id} | not checked: dsgrid killed after {o.timed_out:.0f} s | | | "
                f"> {o.timed_out:.0f} | n/a | {w.median:.4f} | {c.median:.2f} | "
                f"> {o.timed_out / w.median:.0f}× | > {o.timed_out / c.median:.1f}× |"
            )
            continue
        assert o.check is not None
        internal = f"{statistics.median(o.internal):.2f}" if o.internal else "n/a"
        verdict = "agree" if o.check.ok else "**MISMATCH**"
        lines.append(
            f"| {o.question.id} | {verdict} | {o.check.rows} | {o.check.max_rel:.1e} | "
            f"{d.median:.2f} ({min(d.seconds):.2f}–{max(d.seconds):.2f}) | {internal} | "
            f"{w.median:.4f} ({min(w.seconds):.4f}–{max(w.seconds):.4f}) | "
            f"{c.median:.2f} ({min(c.seconds):.2f}–{max(c.seconds):.2f}) | "
            f"{d.median / w.median:.0f}× | {d.median / c.median:.1f}× |"
        )
    mismatches = [o for o in outcomes if o.check is not None and not o.check.ok]
    for o in mismatches:
        lines += ["", f"**MISMATCH {o.question.id} at {scale}:** {o.check.detail}"]
    for o in outcomes:
        if o.measurements and o.timed_out is None:
            title = f"{scale}: {o.question.id}"
            lines += ["", ratio_table(title, o.measurements, o.measurements[1].name)]
    lines += [
        "",
        f"dsgrid: wall time of the `dsgrid query project run` process (Python start, dsgrid "
        f"import, registry load, query, writing table.parquet), {dsgrid_runs} runs, each a "
        "fresh process with a fresh output directory (no dsgrid cache reused); the Parquet "
        "files are in the OS page cache. dsgrid internal: from dsgrid's log line 'Loaded local "
        "registry' to 'Wrote query=' (mapping, aggregation, writing; no import or registry "
        f"load). dsgrid-sql warm: `session.sql(...).to_arrow()` in one warm session, median of "
        f"{runs} after 1 warm-up. dsgrid-sql cold: a fresh `python -m dsgrid_sql query ... "
        "--output file.parquet` process (or its COPY for the export), like dsgrid's. Where a "
        "pandas step finishes dsgrid's answer, its time is not included.",
    ]
    return "\n".join(lines)


def run(
    scales: list[str],
    runs: int,
    dsgrid_runs: int | None = None,
    question_ids: list[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """Markdown: per scale, the dsgrid/dsgrid-sql check and timing table."""
    dsgrid_runs = dsgrid_runs or runs
    # dsgrid answers the questions it has a project query for (DESIGN.md's six).
    planned = set(DSGRID_QUESTIONS)
    questions = [
        q for q in QUESTIONS if q.id in planned and (not question_ids or q.id in question_ids)
    ]

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    sections = [
        f"# Case 3: dsgrid-toolkit {DSGRID_VERSION} (DuckDB backend) vs dsgrid-sql",
        "",
        f"Machine: {platform.machine()}, {platform.system()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "",
        _mapping_section(registry(scales[0]).path) if scales else "",
    ]
    for scale in scales:
        outcomes = bench_scale(scale, runs, dsgrid_runs, questions, timeout, log)
        sections += ["", report(scale, outcomes, runs, dsgrid_runs)]
    return "\n".join(sections)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.dsgrid_peer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--scales", default="1M,10M", help=f"from {','.join(SCALES)} (100M: hours, opt-in)"
    )
    parser.add_argument("--runs", type=int, default=3, help="timed runs per case (median)")
    parser.add_argument("--dsgrid-runs", type=int, help="dsgrid runs per question (--runs)")
    parser.add_argument("--questions", help="comma-separated question ids (default: all)")
    parser.add_argument(
        "--dsgrid-timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per dsgrid run"
    )
    args = parser.parse_args()
    scales = [s.strip() for s in args.scales.split(",") if s.strip()]
    for scale in scales:
        if scale not in SCALES:
            parser.error(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}")
    ids = [q.strip() for q in args.questions.split(",")] if args.questions else None
    print(run(scales, args.runs, args.dsgrid_runs, ids, args.dsgrid_timeout))


if __name__ == "__main__":
    main()
