"""`dsgrid-sql jobs ...` against real servers on 127.0.0.1 port 0: in-process through click's
runner, and from separate processes as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

import dsgrid_sql
from dsgrid_sql.cli import main
from dsgrid_sql.flight_server import FlightSqlServer, ServerConfig

from .conftest import PASSWORD, USER

STATES = "SELECT us_states, SUM(value) AS v FROM data GROUP BY ALL ORDER BY 1"
LONG = "SELECT SUM(a.x * b.x) AS s FROM range(9000000) a(x), range(9000) b(x)"


@pytest.fixture(scope="module")
def server(efs_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlightSqlServer]:
    jobs_dir = tmp_path_factory.mktemp("cli_jobs")
    server = FlightSqlServer(ServerConfig(registry=efs_dir, port=0, jobs_dir=jobs_dir))
    yield server
    server.close()


def jobs(server: Any, *args: str, **env: str | None) -> Result:
    runner = CliRunner(env={"DSGRID_SQL_SERVER": server.uri, **env})
    return runner.invoke(main, ["jobs", *args])


def one_error_line(result: Result) -> str:
    """The one sentence of a failed command (and the hint line the CLI adds when there is one)."""
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[0].startswith("Error: "), result.stderr
    assert all(line.startswith("Hint: ") for line in lines[1:]), result.stderr  # as `query`
    return lines[0]


def submitted(server: Any, sql: str = STATES) -> str:
    result = jobs(server, "submit", "--wait", sql)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_submit_wait_status_list_fetch(server: FlightSqlServer, efs_dir: Path) -> None:
    result = jobs(server, "submit", "--wait", STATES)
    assert result.exit_code == 0, result.output
    job_id = result.stdout.strip()
    assert len(job_id) == 32  # stdout is the id alone, for scripts
    assert f"Job {job_id} SUCCEEDED: 4 rows" in result.stderr

    status = jobs(server, "status", job_id)
    assert status.exit_code == 0, status.output
    assert "state     SUCCEEDED" in status.stdout and "rows      4" in status.stdout
    record = json.loads(jobs(server, "status", job_id, "--format", "json").stdout)
    assert record["id"] == job_id and record["sql"] == STATES

    listed = jobs(server, "list")
    assert job_id in listed.stdout and "SUCCEEDED" in listed.stdout
    assert job_id in [r["id"] for r in json.loads(jobs(server, "list", "--format", "json").stdout)]

    waited = jobs(server, "wait", job_id)
    assert waited.exit_code == 0 and "SUCCEEDED" in waited.stdout

    printed = jobs(server, "fetch", job_id)
    assert printed.exit_code == 0, printed.output
    assert printed.stdout.split()[:2] == ["us_states", "v"] and "(4 rows)" in printed.stdout
    as_json = json.loads(jobs(server, "fetch", job_id, "--format", "json").stdout)
    with dsgrid_sql.connect(efs_dir) as session:
        expected = session.sql(STATES).to_arrow().to_pylist()
    assert [r["us_states"] for r in as_json] == [r["us_states"] for r in expected]


def test_fetch_to_files(server: FlightSqlServer, efs_dir: Path, tmp_path: Path) -> None:
    job_id = submitted(server)
    target = tmp_path / "totals.parquet"
    result = jobs(server, "fetch", job_id, "-o", str(target))
    assert result.exit_code == 0, result.output
    assert f"Wrote 4 rows to {target}" in result.stderr
    table = pq.read_table(target)
    with dsgrid_sql.connect(efs_dir) as session:
        expected = session.sql(STATES).to_arrow()
    assert table.column("us_states").equals(expected.column("us_states"))
    assert table.column("v").to_pylist() == pytest.approx(expected.column("v").to_pylist())
    assert json.loads(table.schema.metadata[b"dsgrid_sql"])["query"] == STATES  # lineage
    assert [p.name for p in tmp_path.iterdir()] == ["totals.parquet"]  # nothing staged left

    again = jobs(server, "fetch", job_id, "-o", str(target))
    assert "already exists" in one_error_line(again)
    assert jobs(server, "fetch", job_id, "-o", str(target), "--overwrite").exit_code == 0

    csv_target = tmp_path / "totals.csv"
    assert jobs(server, "fetch", job_id, "-o", str(csv_target)).exit_code == 0
    assert pacsv.read_csv(csv_target).column("us_states").to_pylist() == ["CA", "CO", "NY", "TX"]


def test_a_failed_job_exits_non_zero(server: FlightSqlServer) -> None:
    result = jobs(server, "submit", "--wait", "SELECT CAST(geography || 'x' AS INTEGER) FROM data")
    assert result.exit_code == 1
    job_id = result.stdout.strip()
    assert f"Job {job_id} FAILED: DuckDB could not run the query" in one_error_line(result)
    waited = jobs(server, "wait", job_id)
    assert waited.exit_code == 1 and "FAILED" in one_error_line(waited)
    fetched = jobs(server, "fetch", job_id)
    assert "has no result: it is FAILED" in one_error_line(fetched)


def test_wait_timeout_then_cancel(server: FlightSqlServer) -> None:
    submitted_ = jobs(server, "submit", LONG)
    assert submitted_.exit_code == 0, submitted_.output
    job_id = submitted_.stdout.strip()
    waited = jobs(server, "wait", job_id, "--timeout", "0.5")
    assert waited.exit_code == 124
    assert "is still" in one_error_line(waited) and "after 0.5 s" in waited.stderr
    fetched = jobs(server, "fetch", job_id)
    assert "its result is not ready yet" in one_error_line(fetched)
    cancelled = jobs(server, "cancel", job_id)
    assert cancelled.exit_code == 0 and f"Job {job_id} CANCELLED" in cancelled.stdout
    waited = jobs(server, "wait", job_id)
    assert waited.exit_code == 1 and "CANCELLED" in waited.stderr
    deleted = jobs(server, "delete", job_id)
    assert deleted.exit_code == 0 and f"Deleted job {job_id}." in deleted.stderr
    assert "Unknown job" in one_error_line(jobs(server, "status", job_id))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["status", "0" * 32], "Error: Unknown job '00000000000000000000000000000000'."),
        (["status", "../etc"], "Error: Unknown job '../etc'."),
        (["fetch", "nope", "-o", "x.parquet"], "Error: Unknown job 'nope'."),
        (["submit", "SELEC 1"], "Error: Syntax error at line 1, col 1"),
        (["submit", "SELECT nosuch FROM data"], "Error: Unknown column 'nosuch'"),
    ],
)
def test_errors_are_one_sentence(server: FlightSqlServer, args: list[str], message: str) -> None:
    assert one_error_line(jobs(server, *args)).startswith(message)


def test_an_unreachable_server_is_one_sentence() -> None:
    result = CliRunner().invoke(main, ["jobs", "--server", "grpc://127.0.0.1:9", "list"])
    assert one_error_line(result) == (
        "Error: Cannot reach the dsgrid-sql server at grpc://127.0.0.1:9: Connection refused."
    )
    result = CliRunner().invoke(main, ["jobs", "list", "--server", "nonsense"])
    assert "URI has empty scheme" in one_error_line(result)


def test_server_option_before_or_after_the_subcommand(server: FlightSqlServer) -> None:
    runner = CliRunner(env={"DSGRID_SQL_SERVER": "grpc://127.0.0.1:9"})
    assert runner.invoke(main, ["jobs", "--server", server.uri, "list"]).exit_code == 0
    assert runner.invoke(main, ["jobs", "list", "--server", server.uri]).exit_code == 0
    after_wins = ["jobs", "--server", "grpc://127.0.0.1:9", "list", "--server", server.uri]
    assert runner.invoke(main, after_wins).exit_code == 0


def test_tls_and_sign_in(secure_server: Any, tmp_path: Path) -> None:
    roots = tmp_path / "roots.pem"
    roots.write_text(secure_server.cert_pem)
    signed_in = {"DSGRID_SQL_USER": USER, "DSGRID_SQL_PASSWORD": PASSWORD}
    result = jobs(secure_server, "--tls-root-certs", str(roots), "submit", "--wait", STATES,
                  **signed_in)  # fmt: skip
    assert result.exit_code == 0, result.output
    job_id = result.stdout.strip()
    record = json.loads(
        jobs(secure_server, "status", job_id, "--format", "json",
             "--tls-root-certs", str(roots), **signed_in).stdout
    )  # fmt: skip
    assert record["owner"] == USER
    wrong = jobs(secure_server, "list", "--tls-root-certs", str(roots),
                 DSGRID_SQL_USER=USER, DSGRID_SQL_PASSWORD="wrong")  # fmt: skip
    assert one_error_line(wrong) == "Error: Invalid user name or password."
    anonymous = jobs(secure_server, "list", "--tls-root-certs", str(roots))
    assert one_error_line(anonymous).startswith("Error: Authentication is required")
    missing = jobs(secure_server, "list", "--tls-root-certs", str(tmp_path / "none.pem"))
    assert "Cannot read the certificates" in one_error_line(missing)


def test_fetch_from_another_process(server: FlightSqlServer, tmp_path: Path) -> None:
    """A job submitted in one process is waited for and fetched by others."""
    env = {**os.environ, "DSGRID_SQL_SERVER": server.uri}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "dsgrid_sql", "jobs", *args],
                              capture_output=True, text=True, env=env, timeout=120)  # fmt: skip

    submitted_ = cli("submit", STATES)
    assert submitted_.returncode == 0, submitted_.stderr
    job_id = submitted_.stdout.strip()
    assert cli("wait", job_id).returncode == 0
    target = tmp_path / "out.parquet"
    fetched = cli("fetch", job_id, "-o", str(target))
    assert fetched.returncode == 0, fetched.stderr
    assert pq.read_table(target).num_rows == 4
    unknown = cli("status", "0" * 32)
    assert unknown.returncode == 1 and "Traceback" not in unknown.stderr
    assert unknown.stderr.strip() == "Error: Unknown job '00000000000000000000000000000000'."


def test_a_cancel_still_under_way_reads_as_requested() -> None:
    from dsgrid_sql.cli_jobs import _summary

    running = {"id": "a" * 32, "state": "RUNNING", "progress": 0.5}
    assert _summary(running) == f"Job {'a' * 32} RUNNING (50%)"
    requested = {**running, "cancel_requested_at": "2026-12-04T18:00:00Z"}
    assert _summary(requested) == f"Job {'a' * 32} RUNNING: cancel requested, stopping."
