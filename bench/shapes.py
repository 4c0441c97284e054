"""Case 8: the time formats of real projects — a representative-period dataset (TEMPO's
weekly profiles) and an index-time dataset with daylight-saving adjustments (the IEF/DECARB
industry data) — against the SQL an expert writes by hand over the same Parquet, and against
dsgrid itself.

Each scale has ~N project rows per dataset (counties × 8,760 hours × 2 model years × 2
scenarios): 10M ≈ 285 counties, 100M ≈ 2,850. The stored data is small (a representative
week is 2,016 rows per series, an index year 8,760); the questions are the ones an analyst asks
of such data: state totals by model year (a sum that reads no time) and the hourly profile of
one state (every project hour). Every answer is checked against its peer (relative 1e-9)
before its time counts.

The hand-written peer knows the registry: the Parquet files, each mapping (small tables, read
once, not timed), the project's hours. It computes the local-time lookup in DuckDB itself
(project hours × the zones of the counties, local month/weekday/hour via ICU; for index time
the wall clock of each elapsed hour and the wrap into the year), aggregates the stored rows
before the mapping joins, and weighs each stored period by the project hours it stands for
when no hour is read.

    python -m bench shapes [--scales 10M,100M] [--runs 5] [--dsgrid-scales 10M]
"""

from __future__ import annotations

import json
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

import dsgrid_sql
from dsgrid_sql.generator import GeneratorSpec, estimate_rows

from . import compare
from .harness import measure_interleaved, ratio_table
from .queries import engine_settings
from .scale import cached_registry

PROJECT = "shapes"
REP = f"{PROJECT}_ev_rep_week"
IDX = f"{PROJECT}_industry_index"
_COUNTIES = {"1M": 29, "10M": 285, "100M": 2850}
STATE = "CO"


def spec_for(scale: str) -> GeneratorSpec:
    return GeneratorSpec(
        project_id=PROJECT,
        counties=_COUNTIES[scale],
        hours=8760,
        templates=("ev_rep_week", "industry_index"),
        commercial_subsectors_per_county=1,
        residential_subsectors_per_county=1,
        model_years=("2020", "2030"),
        scenarios=("reference", "high_electrification"),
    )


def registry(scale: str) -> Path:
    return cached_registry(f"shapes-{scale}", spec_for(scale))


@dataclass(frozen=True)
class Question:
    id: str
    dataset: str
    sql: str
    keys: tuple[str, ...]


QUESTIONS = tuple(
    q
    for dataset in (REP, IDX)
    for q in (
        Question(
            f"state_totals/{dataset.split('_', 1)[1]}",
            dataset,
            f"SELECT us_states, model_year, SUM(value) AS value FROM {dataset} GROUP BY ALL",
            ("us_states", "model_year"),
        ),
        Question(
            f"state_profile/{dataset.split('_', 1)[1]}",
            dataset,
            f"SELECT timestamp, SUM(value) AS value FROM {dataset} "
            f"WHERE us_states = '{STATE}' AND scenario = 'reference' GROUP BY ALL",
            ("timestamp",),
        ),
    )
)


# -- the expert ----------------------------------------------------------------------------


class Expert:
    """The hand-written SQL, on a DuckDB connection holding the small tables."""

    def __init__(self, path: Path, settings: dict[str, str] | None = None) -> None:
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        # dsgrid-sql's engine settings (optimizer passes), so both run the same DuckDB.
        for name, value in (settings or {}).items():
            quoted = value.replace("'", "''")
            self.con.execute(f"SET {name} = '{quoted}'")
        with dsgrid_sql.connect(path) as session:

            def small(sql: str) -> pa.Table:
                return session.sql(sql).to_arrow()

            m = f"{PROJECT}_mappings"
            d = f"{PROJECT}_dimensions"
            tables = {
                "counties": small(f"SELECT id, time_zone FROM {d}.geography"),
                "states": small(
                    f"SELECT from_id, to_id FROM {m}.geography__us_states WHERE to_id IS NOT NULL"
                ),
            }
            for short, template in (("rep", "ev_rep_week"), ("idx", "industry_index")):
                tables[f"{short}_years"] = small(
                    f"SELECT to_id, from_fraction FROM {m}.model_year_2020_{template}__model_year"
                )
                tables[f"{short}_scenarios"] = small(
                    f"SELECT to_id FROM {m}.single_scenario_{template}__scenario"
                )
            # The dataset's process loads are kWh, the project's end uses MWh: the expert
            # folds the conversion into the index dataset's sums.
            self.kwh = 0.001
        for name, table in tables.items():
            self.con.register(name, table)
        data = path / "data" / "data"
        self.rep = (data / REP / "1.0.0" / "table.parquet").as_posix()
        self.idx = (data / IDX / "1.0.0" / "table.parquet").as_posix()
        # The project's hours: 2018, EST (UTC−5), period-beginning.
        self.con.execute(
            "CREATE TABLE hours AS SELECT range AS ts FROM range(TIMESTAMPTZ "
            "'2018-01-01 05:00:00+00', TIMESTAMPTZ '2019-01-01 05:00:00+00', INTERVAL 1 HOUR)"
        )
        self.con.execute(
            "CREATE TABLE rep_lookup AS SELECT z.time_zone, h.ts, month(l) AS month, "
            "isodow(l) - 1 AS day_of_week, hour(l) AS hour FROM hours h, "
            "(SELECT DISTINCT time_zone FROM counties) z, "
            "LATERAL (SELECT timezone(z.time_zone, h.ts) AS l)"
        )
        # Index time with spring-forward drop / fall-back duplicate: hour k after the local
        # start reads the index of its wall clock; wrapped into the project year.
        self.con.execute(
            "CREATE TABLE idx_lookup AS "
            "WITH s AS (SELECT z.time_zone, "
            "timezone(z.time_zone, TIMESTAMP '2018-01-01 00:00:00') + k.range * INTERVAL 1 HOUR "
            "AS s FROM (SELECT DISTINCT time_zone FROM counties) z, "
            "range(0, 8760) k), "
            "w AS (SELECT time_zone, epoch_us(s) AS us, (epoch_us(timezone(time_zone, s)) - "
            "epoch_us(TIMESTAMP '2018-01-01 00:00:00')) // 3600000000 AS time_index FROM s) "
            "SELECT time_zone, time_index, make_timestamptz(CASE "
            "WHEN us < epoch_us(TIMESTAMPTZ '2018-01-01 05:00:00+00') THEN us + 8760 * 3600000000 "
            "WHEN us > epoch_us(TIMESTAMPTZ '2019-01-01 04:00:00+00') THEN us - 8760 * 3600000000 "
            "ELSE us END) AS ts FROM w WHERE time_index BETWEEN 0 AND 8759"
        )
        self.con.execute(
            "CREATE TABLE rep_weights AS SELECT time_zone, month, day_of_week, hour, "
            "COUNT(*) AS n FROM rep_lookup GROUP BY ALL"
        )
        self.con.execute(
            "CREATE TABLE idx_weights AS SELECT time_zone, time_index, COUNT(*) AS n "
            "FROM idx_lookup GROUP BY ALL"
        )

    def sql(self, question: Question) -> str:
        rep = question.dataset == REP
        short = "rep" if rep else "idx"
        scan = f"read_parquet('{self.rep if rep else self.idx}')"
        keys = "month, day_of_week, hour" if rep else "time_index"
        on = " AND ".join(f"w.{k} = t.{k}" for k in keys.split(", "))
        unit = "" if rep else f" * {self.kwh}"
        if question.id.startswith("state_totals"):
            return (
                f"WITH g AS (SELECT t.geography, SUM(t.value * w.n) AS v FROM {scan} t "
                f"JOIN counties c ON c.id = t.geography JOIN {short}_weights w "
                f"ON w.time_zone = c.time_zone AND {on} GROUP BY 1), "
                f"s AS (SELECT st.to_id AS us_states, SUM(g.v) AS v FROM g "
                f"JOIN states st ON st.from_id = g.geography GROUP BY 1) "
                f"SELECT s.us_states, y.to_id AS model_year, "
                f"SUM(s.v * y.from_fraction{unit}) * (SELECT COUNT(*) FROM {short}_scenarios) "
                f"AS value FROM s, {short}_years y GROUP BY ALL"
            )
        lookup_keys = keys if rep else "time_index"
        return (
            f"WITH g AS (SELECT c.time_zone, {', '.join('t.' + k for k in keys.split(', '))}, "
            f"SUM(t.value) AS v FROM {scan} t JOIN counties c ON c.id = t.geography "
            f"JOIN states st ON st.from_id = t.geography WHERE st.to_id = '{STATE}' "
            f"GROUP BY ALL) "
            f"SELECT l.ts AS timestamp, SUM(g.v){unit} * (SELECT SUM(from_fraction) FROM "
            f"{short}_years) AS value FROM g JOIN {short}_lookup l ON l.time_zone = g.time_zone "
            f"AND {' AND '.join(f'l.{k} = g.{k}' for k in lookup_keys.split(', '))} GROUP BY 1"
        )

    def answer(self, question: Question) -> pa.Table:
        return self.con.sql(self.sql(question)).to_arrow_table()


# -- dsgrid -----------------------------------------------------------------------------------


def dsgrid_query(question: Question, name: str) -> dict:
    dims = {t: [] for t in ("geography", "metric", "model_year", "scenario", "sector",
                            "subsector", "time", "weather_year")}  # fmt: skip
    dims["metric"] = ["End Uses"]
    filters: list[dict] = []
    if question.id.startswith("state_totals"):
        dims["geography"] = ["US States"]
        dims["model_year"] = ["Model Years 2020 to 2030"]
    else:
        dims["time"] = ["Time-2018-EST-hourly-periodBeginning-noDST-noLeapDayAdjustment-total"]
        filters = [
            {"filter_type": "supplemental_column_operator", "dimension_type": "geography",
             "dimension_name": "US States", "operator": "isin", "value": [STATE]},
            {"filter_type": "column_operator", "dimension_type": "scenario",
             "dimension_name": "Scenarios", "column": "id", "operator": "isin",
             "value": ["reference"]},
        ]  # fmt: skip
    return {
        "name": name,
        "project": {
            "project_id": PROJECT,
            "dataset": {
                "dataset_id": name,
                "source_datasets": [
                    {"dataset_type": "standalone", "dataset_id": question.dataset}
                ],
                "params": {"dimension_filters": filters},
            },
        },
        # Dimension names (the default): with dimension_types dsgrid 0.4 groups a
        # supplemental aggregation by the base column instead.
        "result": {"aggregations": [{"aggregation_function": "sum", "dimensions": dims}]},
    }


def dsgrid_answer(table: Path, question: Question) -> pa.Table:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    source = f"'{table.as_posix()}{'/**/*.parquet' if table.is_dir() else ''}'"
    key = (
        '"US States" AS us_states, "Model Years 2020 to 2030" AS model_year'
        if "totals" in question.id
        else '"Time-2018-EST-hourly-periodBeginning-noDST-noLeapDayAdjustment-total" AS timestamp'
    )
    return con.sql(
        f"SELECT {key}, SUM(value) AS value FROM read_parquet({source}) GROUP BY ALL"
    ).to_arrow_table()


def run_dsgrid_case(scale: str, path: Path, runs: int, ours: dict[str, float]) -> list[str]:
    from . import dsgrid_peer

    dsgrid = dsgrid_peer.ensure_dsgrid()
    work = dsgrid_peer.prepare_work_dir(f"shapes-{scale}", path)
    lines = [
        f"### dsgrid itself at {scale} (`dsgrid query project run`, a fresh process and "
        "output each run)",
        "",
        "| question | dsgrid median s | dsgrid-sql median s | dsgrid / dsgrid-sql |",
        "|---|---:|---:|---:|",
    ]
    with dsgrid_sql.connect(path) as session:
        for question in QUESTIONS:
            name = question.id.replace("/", "__")
            query_file = work / f"{name}.json"
            query_file.write_text(json.dumps(dsgrid_query(question, name)))
            walls = []
            for i in range(runs):
                done = dsgrid_peer.run_dsgrid(dsgrid, work, query_file, name, f"{name}-{i}", 3600)
                walls.append(done.wall)
                if i == 0:
                    compare.assert_same(
                        session.sql(question.sql).to_arrow(),
                        dsgrid_answer(done.table, question),
                        question.keys,
                        f"{question.id} vs dsgrid",
                    )
            wall = statistics.median(walls)
            lines.append(
                f"| {question.id} | {wall:.1f} | {ours[question.id]:.3f} | "
                f"{wall / ours[question.id]:.0f}× |"
            )
    return lines


# -- the case ---------------------------------------------------------------------------------


def run(scales: list[str], runs: int, dsgrid_scales: list[str] | None = None) -> str:
    parts = [
        "## Case 8: representative-period and index time",
        "",
        "dsgrid-sql (DuckDB, warm session, translate + run + collect) against the hand-written "
        "DuckDB SQL over the same Parquet (same DuckDB settings), each answer checked first; "
        "runs interleaved, one of each per round.",
    ]
    for scale in scales:
        path = registry(scale)
        rows = estimate_rows(spec_for(scale))
        ours: dict[str, float] = {}
        parts += ["", f"### {scale}: {_COUNTIES[scale]:,} counties, {rows:,} stored rows", ""]
        print(parts[-2], file=sys.stderr, flush=True)
        with dsgrid_sql.connect(path) as session:
            expert = Expert(path, engine_settings(session))
            for question in QUESTIONS:
                worst = compare.assert_same(
                    session.sql(question.sql).to_arrow(),
                    expert.answer(question),
                    question.keys,
                    question.id,
                )
                measured = measure_interleaved(
                    {
                        "dsgrid-sql": lambda q=question: session.sql(q.sql).to_arrow(),
                        "hand-written": lambda q=question, e=expert: e.answer(q),
                    },
                    runs,
                )
                ours[question.id] = measured[0].median
                print(
                    f"{question.id}: {measured[0].median:.3f} s vs {measured[1].median:.3f} s",
                    file=sys.stderr,
                    flush=True,
                )
                parts.append(
                    ratio_table(
                        f"{question.id} (worst relative difference {worst:.1e})",
                        measured,
                        "hand-written",
                    ).replace("## ", "#### ")
                )
                parts.append("")
        if dsgrid_scales and scale in dsgrid_scales:
            parts += run_dsgrid_case(scale, path, max(1, runs // 3), ours)
    return "\n".join(parts)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.shapes", description=__doc__)
    parser.add_argument("--scales", default="10M,100M")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dsgrid-scales", default="", help="scales dsgrid itself runs")
    args = parser.parse_args()
    print(run(args.scales.split(","), args.runs, [s for s in args.dsgrid_scales.split(",") if s]))


if __name__ == "__main__":
    main()
