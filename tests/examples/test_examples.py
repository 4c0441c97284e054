"""The programs in examples/ run as a user runs them — ``python examples/x.py --registry R``,
each in its own process, against a small generated registry — and print (and write) the
numbers a direct query gives. Every example has a test here, so none rots unnoticed.

The Spark example starts Spark once (seconds), as the other Spark tests do; like them it
needs Java 17 (README) and is not skipped without it.
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import dsgrid_sql
from dsgrid_sql.flight_server import FlightSqlServer, ServerConfig
from dsgrid_sql.flight_server.auth import add_user

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
TESTED = ["embed_sql.py", "export_parquet.py", "flight_client.py", "spark_local.py",
          "walkthrough.py"]  # fmt: skip
NUMBER = r"-?[\d,]+\.\d+"
# Printed with three decimals.
ROUNDED = 5e-4 + 1e-9

Query = Callable[[str], list[dict[str, Any]]]


@pytest.fixture(scope="module")
def direct(small_registry: Path) -> Iterator[Query]:
    """Rows of a query run directly on the registry the examples are given."""
    with dsgrid_sql.connect(small_registry, engine="duckdb") as session:
        yield lambda sql: session.sql(sql).to_arrow().to_pylist()


def run_example(
    name: str, *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DSGRID_", "SPARK_"))}
    environ["MPLBACKEND"] = "Agg"  # no display in tests
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        cwd=cwd,
        env={**environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    return result


def printed_rows(stdout: str, heading: str) -> dict[tuple[str, ...], float]:
    """The "key ... number" lines of the block under the line starting with ``heading``."""
    lines = stdout.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(heading)]
    assert starts, f"no line starts with {heading!r} in:\n{stdout}"
    rows: dict[tuple[str, ...], float] = {}
    for line in lines[starts[0] + 1 :]:
        if not line.strip():
            break
        match = re.fullmatch(rf"\s*(.*?)\s+({NUMBER})(\s.*)?", line)
        if match:
            rows[tuple(match.group(1).split())] = float(match.group(2).replace(",", ""))
    assert rows, f"no rows under {heading!r} in:\n{stdout}"
    return rows


def keyed(rows: list[dict[str, Any]], *keys: str, value: str = "mwh") -> dict[tuple, float]:
    return {tuple(row[k] for k in keys): row[value] for row in rows}


def assert_same_numbers(printed: dict[tuple, float], expected: dict[tuple, float]) -> None:
    assert printed.keys() == expected.keys()
    for key, number in expected.items():
        assert printed[key] == pytest.approx(number, abs=ROUNDED), key


STATES_2030 = (
    "SELECT us_states, SUM(value) AS mwh FROM data "
    "WHERE scenario = 'reference' AND model_year = '2030' GROUP BY 1"
)


def test_every_example_is_tested_and_says_how_to_run_it() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(TESTED)
    for name in TESTED:
        text = (EXAMPLES / name).read_text()
        assert text.startswith('"""'), f"{name} has no module docstring first"
        assert f"python examples/{name}" in text.split('"""')[1], name


def test_embed_sql(small_registry: Path, direct: Query, tmp_path: Path) -> None:
    out = run_example("embed_sql.py", "--registry", str(small_registry), cwd=tmp_path).stdout
    expected = keyed(direct(STATES_2030), "us_states")
    printed = printed_rows(out, "Energy by state, scenario reference, model year 2030 (MWh):")
    assert_same_numbers(printed, {(k,): v for (k,), v in expected.items()})

    total = sum(expected.values())
    arrow = re.search(
        rf"Arrow: (\d+) rows \(us_states string, mwh double\), total ({NUMBER})", out
    )
    assert arrow is not None, out
    assert int(arrow.group(1)) == len(expected)
    assert float(arrow.group(2).replace(",", "")) == pytest.approx(total, abs=ROUNDED)

    first = min(expected)
    assert f"DB-API: {len(expected)} rows, first {first[0]} = {expected[first]:,.3f} MWh" in out
    assert "A wrong record id is refused: Unknown record 'ca'" in out
    try:
        import polars  # noqa: F401
    except ImportError:
        assert "polars is not installed" in out
    else:
        largest = max(expected, key=expected.__getitem__)[0]
        assert "polars, the three largest states:" in out and largest in out


def test_export_parquet(small_registry: Path, direct: Query, tmp_path: Path) -> None:
    output = tmp_path / "exports"
    args = ("--registry", str(small_registry), "--output", str(output))
    run_example("export_parquet.py", *args, cwd=tmp_path)
    # A second run replaces what the first wrote.
    out = run_example("export_parquet.py", *args, cwd=tmp_path).stdout

    hourly = direct(
        "SELECT scenario, model_year, us_states, timestamp, SUM(value) AS mwh FROM data "
        "GROUP BY ALL"
    )
    pairs = {(r["scenario"], r["model_year"]) for r in hourly}
    files = sorted((output / "hourly_by_state").glob("scenario=*/model_year=*/*.parquet"))
    assert {(f.parent.parent.name, f.parent.name) for f in files} == {
        (f"scenario={s}", f"model_year={y}") for s, y in pairs
    }
    assert len(files) == len(pairs)

    # The files read back (partition values as strings) to the rows of a direct query.
    partitioning = ds.partitioning(
        pa.schema([("scenario", pa.string()), ("model_year", pa.string())]), flavor="hive"
    )
    table = ds.dataset(output / "hourly_by_state", partitioning=partitioning).to_table()
    keys = ("scenario", "model_year", "us_states", "timestamp")
    assert_same_numbers(keyed(table.to_pylist(), *keys), keyed(hourly, *keys))

    # Every file carries the lineage in its key-value metadata.
    for file in files:
        lineage = json.loads(pq.read_metadata(file).metadata[b"dsgrid_sql"])
        assert "FROM data" in lineage["query"] and lineage["engine"] == "duckdb"
        assert list(lineage["projects"]) == ["dsgrid_demo"] and lineage["datasets"]

    totals = pq.read_table(output / "state_totals.parquet")
    expected_states = keyed(
        direct(
            "SELECT us_states, SUM(value) AS mwh FROM data WHERE model_year = '2030' GROUP BY 1"
        ),
        "us_states",
    )
    assert_same_numbers(keyed(totals.to_pylist(), "us_states"), expected_states)
    assert b"dsgrid_sql" in pq.read_metadata(output / "state_totals.parquet").metadata

    # What it printed: totals per partition, DuckDB agreeing, lineage of both exports.
    expected_pairs: dict[tuple, float] = {}
    for row in hourly:
        pair = (row["scenario"], row["model_year"])
        expected_pairs[pair] = expected_pairs.get(pair, 0.0) + row["mwh"]
    printed = printed_rows(out, "Totals read back with pyarrow.dataset (MWh):")
    assert_same_numbers(printed, expected_pairs)
    assert f"DuckDB read {len(pairs)} partitions; its totals agree with pyarrow's: True" in out
    assert f"{len(files)} files: SELECT scenario, model_year" in out
    assert "1 file: SELECT us_states" in out
    assert "projects: {'dsgrid_demo':" in out


def test_flight_client_starts_and_stops_its_own_server(
    small_registry: Path, direct: Query, tmp_path: Path
) -> None:
    result = run_example("flight_client.py", "--registry", str(small_registry), cwd=tmp_path)
    out, log = result.stdout, result.stderr
    printed = printed_rows(out, "Energy by state over Flight SQL, reference 2030 (MWh):")
    expected = keyed(direct(STATES_2030), "us_states")
    assert_same_numbers(printed, expected)

    for row in direct("SELECT dataset_id, COUNT(*) AS n FROM data GROUP BY 1"):
        assert re.search(rf"^\s*{row['dataset_id']}\s+{row['n']}$", out, re.M), row
    assert re.search(r"Started dsgrid-sql serve on grpc://127\.0\.0\.1:\d+ with user analyst", out)
    assert "A wrong password is refused: UNAUTHENTICATED" in out
    assert "query user=analyst status=ok rows=" in log
    assert "[server] dsgrid-sql server stopped." in log
    assert out.rstrip().endswith("Server stopped.")


def test_flight_client_with_a_running_server(
    small_registry: Path, direct: Query, tmp_path: Path
) -> None:
    users = tmp_path / "users.toml"
    add_user(users, "someone", "a password of theirs")
    server = FlightSqlServer(ServerConfig(registry=small_registry, port=0, users_file=users))
    try:
        result = run_example(
            "flight_client.py", "--uri", server.uri, "--username", "someone",
            "--model-year", "2040",
            cwd=tmp_path, env={"DSGRID_SQL_PASSWORD": "a password of theirs"},
        )  # fmt: skip
    finally:
        server.close()
    out = result.stdout
    assert out.startswith(f"Connecting to {server.uri} as someone")
    expected = keyed(
        direct(
            "SELECT us_states, SUM(value) AS mwh FROM data "
            "WHERE scenario = 'reference' AND model_year = '2040' GROUP BY 1"
        ),
        "us_states",
    )
    assert_same_numbers(printed_rows(out, "Energy by state over Flight SQL"), expected)
    assert "Server stopped." not in out  # not its server to stop


def test_spark_local(small_registry: Path, direct: Query, tmp_path: Path) -> None:
    out = run_example(
        "spark_local.py", "--registry", str(small_registry), cwd=tmp_path, timeout=600
    ).stdout
    expected = keyed(
        direct(
            "SELECT us_states, scenario, SUM(value) AS mwh FROM data "
            "WHERE model_year = '2030' GROUP BY ALL"
        ),
        "us_states",
        "scenario",
    )
    printed = printed_rows(out, "Energy by state and scenario, model year 2030 (MWh), on Spark:")
    assert_same_numbers(printed, expected)
    assert f"DuckDB gives the same {len(expected)} rows: True" in out


def test_spark_local_without_pyspark_is_one_line(small_registry: Path, tmp_path: Path) -> None:
    # None in sys.modules makes `import pyspark` fail as if it were not installed.
    script = (
        "import runpy, sys; sys.modules['pyspark'] = None; "
        "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(EXAMPLES / "spark_local.py"),
         "--registry", str(small_registry)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == "This example needs pyspark: pip install 'dsgrid-sql[spark]'.\n"


def _assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    length, kind, width, height = struct.unpack(">I4sII", data[8:24])
    assert (length, kind) == (13, b"IHDR") and width > 100 and height > 100, path
    assert data[-8:-4] == b"IEND", path


def test_walkthrough(small_registry: Path, direct: Query, tmp_path: Path) -> None:
    figures = tmp_path / "figures"
    args = ("--registry", str(small_registry), "--output", str(figures))
    out = run_example("walkthrough.py", *args, cwd=tmp_path).stdout

    pngs = sorted(p.name for p in figures.iterdir())
    assert pngs == ["hourly_profile.png", "state_totals.png"]
    for name in pngs:
        _assert_png(figures / name)
        assert f"Saved {figures / name} (" in out

    expected = keyed(direct(STATES_2030), "us_states")
    assert_same_numbers(printed_rows(out, "Energy by state, reference 2030 (MWh):"), expected)

    largest = max(expected, key=expected.__getitem__)[0]
    hours = direct(
        f"SELECT timestamp, SUM(value) AS mwh FROM data WHERE us_states = '{largest}' "
        "AND scenario = 'reference' AND model_year = '2030' GROUP BY 1"
    )
    peak = max(hours, key=lambda r: r["mwh"])["timestamp"]
    assert (
        f"Hourly profile of {largest}: {len(hours)} hours, peak at {peak:%Y-%m-%d %H:%M} UTC"
        in out
    )
