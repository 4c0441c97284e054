"""dsgrid's own answers for the dataset shapes of real projects — representative periods,
index time, projections by growth rates — reproduced with SQL on both engines.

The registries come from the project's generator (dsgrid validates them in
`make dsgrid-check`); the expected results are dsgrid 0.4's own query results for them, in
tests/dsgrid_expected/ (`make dsgrid-expected` regenerates them with dsgrid in its own
environment). Hour-by-hour files keep days around both daylight-saving changes and the year's
ends; the totals cover every hour.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dsgrid_sql.session import Session

CASES_DIR = Path(__file__).resolve().parents[1] / "dsgrid_expected"
QUERIES = {q["name"]: q for q in json.loads((CASES_DIR / "cases.json").read_text())["queries"]}


def _rows(table) -> dict[tuple, float]:  # type: ignore[no-untyped-def]
    keys = sorted(c for c in table.column_names if c != "value")
    return {tuple(str(r[k]) for k in keys): r["value"] for r in table.to_pylist()}


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_equals_dsgrid(case_sessions: dict[str, Session], name: str) -> None:
    case = QUERIES[name]
    got = _rows(case_sessions[case["registry"]].sql(case["sql"]).to_arrow())
    expected = _rows(pq.read_table(CASES_DIR / f"{name}.parquet"))
    assert got.keys() == expected.keys(), (
        f"missing {sorted(expected.keys() - got.keys())[:5]}, "
        f"extra {sorted(got.keys() - expected.keys())[:5]}"
    )
    worst = max(abs(got[k] - v) / abs(v) if v else abs(got[k]) for k, v in expected.items())
    assert worst <= 1e-9 and all(math.isfinite(v) for v in got.values()), worst
