"""Golden files: user SQL → engine SQL for each step of the mapping plan, in both engine
dialects. Run ``pytest --update-golden`` after an intended change and review the diff."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dsgrid_sql.catalog import Catalog
from dsgrid_sql.rewrite.translate import translate

GOLDEN = Path(__file__).parent / "golden"

CASES = {
    # step: two_table scan + dataset mappings (fractions, units) + period shift, no supplementals
    "mapped_dataset": "SELECT geography, metric, timestamp, value FROM test_efs.test_efs_comstock",
    # step: supplemental join multiplying value, aggregate on top
    "supplemental": "SELECT us_states, SUM(value) FROM data GROUP BY ALL",
    # step: filter pushdown below the mappings (record ids in the scan, mapping rows kept)
    "pushdown": "SELECT model_year, SUM(value) FROM data WHERE us_states = 'CA' AND model_year IN ('2020', '2030') GROUP BY 1",
    # step: helper joins (names, time zone, local time, unit)
    "helpers": "SELECT geography_name, time_zone, local_timestamp, unit FROM test_efs_comstock LIMIT 1",
    # step: a dimension table as an Arrow input, joined with data
    "dimension_join": "SELECT s.name, SUM(d.value) FROM data d JOIN test_efs_dimensions.us_states s ON d.us_states = s.id GROUP BY 1",
}


def _normalize(sql: str) -> str:
    """Input names hash paths and contents; number them by first appearance instead."""
    names: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        key = match.group(0)
        names.setdefault(key, f"__dsgrid_{match.group(1)}_{len(names) + 1}")
        return names[key]

    return re.sub(r"__dsgrid_(\w+?)_[0-9a-f]{12}", replace, sql)


@pytest.mark.parametrize("target", ["duckdb", "spark"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(
    efs_catalog: Catalog, case: str, target: str, request: pytest.FixtureRequest
) -> None:
    translation = translate(CASES[case], efs_catalog, target=target)
    got = (
        f"-- {CASES[case]}\n"
        + _normalize(translation.ast.sql(dialect=target, identify=True, pretty=True))
        + "\n"
    )
    path = GOLDEN / f"{case}.{target}.sql"
    if request.config.getoption("--update-golden"):
        path.write_text(got)
    assert path.exists(), f"{path.name} is missing: run pytest --update-golden and review it"
    assert got == path.read_text()
