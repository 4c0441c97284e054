"""flightsql-dbapi 0.2.2 (influxdata's DB-API client) and its SQLAlchemy 1.4 dialect against a
real server (flight-sql.md §1.4, §7 item 11).

The client pins SQLAlchemy < 2 and registers Flight SQL protobuf symbols in protobuf's default
pool, so it cannot share the project's environment: it gets a virtual environment of its own,
cached under ``.cache/client-venvs/`` by requirement list, and runs there in a subprocess
(tests/flight/clients/flightsql_dbapi_client.py) that prints one JSON object. Numbers are
compared with the same SQL run in-process.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import dsgrid_sql

from .conftest import PASSWORD, USER, Running

REPO = Path(__file__).resolve().parents[2]
CLIENT = Path(__file__).parent / "clients" / "flightsql_dbapi_client.py"
# pandas is an undeclared run-time dependency of flightsql-dbapi 0.2.2: every execute and
# flightsql_get_table_names/get_schema_names go through DataFrame conversion.
REQUIREMENTS = ("flightsql-dbapi==0.2.2", "sqlalchemy>=1.4,<2", "pandas>=2")

STATES_SQL = "SELECT us_states, SUM(value) AS v FROM test_efs.data GROUP BY us_states ORDER BY 1"
PARAM_SQL = (
    "SELECT us_states, SUM(value) AS v FROM test_efs.data WHERE geography = ? "
    "GROUP BY us_states ORDER BY 1"
)
TIME_SQL = "SELECT MIN(timestamp) AS first, MAX(timestamp) AS last FROM test_efs.data"
GEOGRAPHY = "06073"  # San Diego County, a record of the fixture (06037 is not)


# -- the client's own virtual environment ------------------------------------------------------


def _unavailable(message: str) -> None:
    """No client environment: a failure in CI (the package index is reachable there), a
    skip on a machine without network."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _imports_work(python: Path) -> bool:
    if not python.exists():
        return False
    check = subprocess.run(
        [str(python), "-c", "import flightsql, sqlalchemy, pandas"],
        capture_output=True,
        timeout=120,
    )
    return check.returncode == 0


def client_venv(requirements: tuple[str, ...]) -> Path:
    """The Python of a virtual environment with ``requirements`` installed, made once per
    requirement list and interpreter version and reused by later runs."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    key = hashlib.sha256(json.dumps([version, *requirements]).encode()).hexdigest()[:16]
    root = REPO / ".cache" / "client-venvs"
    target = root / f"flightsql-dbapi-{key}"
    python = target / "bin" / "python"
    if (target / "READY").is_file() and _imports_work(python):
        return python
    root.mkdir(parents=True, exist_ok=True)
    # Built beside the target and renamed into place, so an interrupted build is never used.
    building = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=root))
    try:
        steps = {
            "python -m venv": [sys.executable, "-m", "venv", str(building)],
            "pip install": [
                str(building / "bin" / "python"), "-m", "pip", "install", "--quiet",
                *requirements,
            ],
        }  # fmt: skip
        for name, command in steps.items():
            try:
                done = subprocess.run(command, capture_output=True, text=True, timeout=900)
            except subprocess.TimeoutExpired:
                _unavailable(f"Building the flightsql-dbapi environment: {name} timed out.")
                raise  # not reached: _unavailable raises
            if done.returncode != 0:
                _unavailable(
                    f"Building the flightsql-dbapi environment: {name} failed "
                    f"(exit {done.returncode}): {done.stderr.strip()[-2000:]}"
                )
        (building / "requirements.txt").write_text("\n".join(requirements) + "\n")
        (building / "READY").write_text("")
        shutil.rmtree(target, ignore_errors=True)
        # OSError: another run renamed its environment into place first; use that one.
        with contextlib.suppress(OSError):
            building.rename(target)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    if not _imports_work(python):
        _unavailable(f"The flightsql-dbapi environment at {target} does not import flightsql.")
    return python


@pytest.fixture(scope="session")
def flightsql_python() -> Path:
    return client_venv(REQUIREMENTS)


# -- one client run per server -------------------------------------------------------------------


@pytest.fixture(scope="module")
def local(efs_dir: Path) -> Any:
    with dsgrid_sql.connect(efs_dir) as session:
        yield session


def expected_rows(local: Any, sql: str, params: list[Any] | None = None) -> list[list[Any]]:
    return [list(row.values()) for row in local.sql(sql, params).to_arrow().to_pylist()]


def assert_rows_close(actual: list[list[Any]], expected: list[list[Any]]) -> None:
    assert [r[:-1] for r in actual] == [r[:-1] for r in expected]
    assert [r[-1] for r in actual] == pytest.approx([r[-1] for r in expected], rel=1e-12)


def run_client(python: Path, server: Running, **settings: Any) -> dict[str, Any]:
    config = {"host": "127.0.0.1", "port": server.port, "geography": GEOGRAPHY, **settings}
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [str(python), str(CLIENT), json.dumps(config)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(params=["auth", "no-auth"], scope="module")
def run(
    request: pytest.FixtureRequest, flightsql_python: Path, make_server: Any, efs_dir: Path
) -> dict[str, Any]:
    """The client script's findings against a plaintext server with or without auth."""
    auth = request.param == "auth"
    server = make_server(efs_dir, auth=auth)
    credentials = {"user": USER, "password": PASSWORD} if auth else {}
    findings = run_client(flightsql_python, server, **credentials)
    findings["server"] = server
    return findings


def ok(run: dict[str, Any], step: str) -> Any:
    """A step's result; a step that raised fails with the client's exception."""
    assert step not in run["errors"], f"{step}: {run['errors'][step]}"
    assert step in run, f"{step} did not run (connect failed: {run['errors'].get('connect')})"
    return run[step]


# -- DB-API ---------------------------------------------------------------------------------------


def test_client_versions(run: dict[str, Any]) -> None:
    assert run["versions"]["flightsql"] == "0.2.2"
    assert run["versions"]["sqlalchemy"].startswith("1.4.")


def test_execute_without_parameters(run: dict[str, Any], local: Any) -> None:
    # No parameters: GetFlightInfo(CommandStatementQuery), then DoGet of the first endpoint.
    states = ok(run, "states")
    assert states["columns"] == ["us_states", "v"]
    assert states["types"] == ["TEXT", "FLOAT"]
    assert_rows_close(states["rows"], expected_rows(local, STATES_SQL))
    geographies = ok(run, "geographies")["rows"]
    expected = expected_rows(local, "SELECT DISTINCT geography FROM test_efs.data ORDER BY 1")
    assert geographies == expected and [GEOGRAPHY] in geographies


def test_execute_with_parameters(run: dict[str, Any], local: Any) -> None:
    # Parameters: CreatePreparedStatement, DoPut of a dense-union parameter batch,
    # GetFlightInfo(CommandPreparedStatementQuery), DoGet, ClosePreparedStatement.
    states = ok(run, "states_param")
    expected = expected_rows(local, PARAM_SQL, [GEOGRAPHY])
    assert len(expected) == 1 and expected[0][0] == "CA"
    assert_rows_close(states["rows"], expected)


def test_errors_reach_the_client(run: dict[str, Any]) -> None:
    error = run["errors"]["unknown_record"]
    assert error["type"] == "ArrowInvalid"  # INVALID_ARGUMENT through pyarrow's client
    assert error["message"].startswith("Unknown record 'no-such-county' for column 'geography'")
    assert "Traceback" not in error["message"] and ".py" not in error["message"]


def test_timestamps_are_utc_instants(run: dict[str, Any], local: Any) -> None:
    times = ok(run, "times")
    assert times["types"] == ["TIMESTAMP", "TIMESTAMP"]
    expected = local.sql(TIME_SQL).to_arrow().to_pylist()[0]
    assert times["rows"] == [[expected["first"].isoformat(), expected["last"].isoformat()]]
    assert times["rows"][0][0].endswith("+00:00")


def test_metadata_calls(run: dict[str, Any]) -> None:
    assert {"test_efs", "test_efs_dimensions", "registry", "information_schema"} <= set(
        ok(run, "schema_names")
    )
    assert {"data", "test_efs_comstock"} <= set(ok(run, "table_names"))
    columns = {c["name"]: c for c in ok(run, "columns")}
    assert columns["us_states"]["type"] == "TEXT"
    assert columns["value"]["type"] == "FLOAT"
    assert columns["timestamp"]["type"] == "TIMESTAMP"
    assert columns["geography"]["nullable"] is False  # base dimensions are never null
    assert columns["us_states"]["nullable"] is True
    # What the dialect's initialize() reads (KeyError without 3 and 504).
    assert ok(run, "sql_info") == {"0": "dsgrid-sql", "2": pa.__version__, "3": True, "504": '"'}


@pytest.mark.parametrize("run", ["auth"], indirect=True)
def test_wrong_password_is_refused(run: dict[str, Any]) -> None:
    assert run["server"].auth
    for step in ("wrong_password", "sa_wrong_password"):
        error = run["errors"][step]
        assert error["type"] == "FlightUnauthenticatedError", step
        assert error["message"].startswith("Invalid user name or password"), step


# -- SQLAlchemy 1.4 ("datafusion://" dialect) --------------------------------------------------------


def test_sqlalchemy_reflection(run: dict[str, Any]) -> None:
    assert "test_efs" in ok(run, "sa_schema_names")
    assert {"data", "test_efs_comstock"} <= set(ok(run, "sa_table_names"))
    assert ok(run, "sa_has_table") is True
    types = {c["name"]: c["type"] for c in ok(run, "sa_columns")}
    assert types["us_states"] == "TEXT" and types["value"] == "FLOAT"
    assert types["timestamp"] == "TIMESTAMP"


def test_sqlalchemy_queries(run: dict[str, Any], local: Any) -> None:
    assert_rows_close(ok(run, "sa_states"), expected_rows(local, STATES_SQL))
    expected = expected_rows(local, PARAM_SQL, [GEOGRAPHY])
    # With ?feature-sqlalchemy-prepared-statements=on, bound values travel as parameters.
    assert_rows_close(ok(run, "sa_states_prepared"), expected)
    # Without it, the dialect renders values into the SQL at compile time, before
    # execution-time values exist: `geography = :geography` becomes `geography = NULL`
    # (a client bug, README "SQLAlchemy and Superset"). The server answers that SQL correctly.
    assert ok(run, "sa_states_param") == []


def test_no_server_state_left_behind(run: dict[str, Any]) -> None:
    counts = run["server"].server.state.counts()
    assert counts["prepared"] == 0 and counts["tickets"] == 0 and counts["running"] == 0
