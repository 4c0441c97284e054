"""Spark beyond local mode: a real standalone cluster (master + worker started from the
pyspark distribution on loopback) and a Spark Connect server. Each client runs in its own
process (Spark allows one session per process; the suite's local session lives here)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import dsgrid_sql

SPARK_HOME = Path(__import__("pyspark").__file__).parent
QUERY = "SELECT us_states, metric, SUM(value) AS v FROM test_efs_comstock GROUP BY ALL"
CLIENT = """
import json, sys
import dsgrid_sql
registry, option, url, query = sys.argv[1:5]
with dsgrid_sql.connect(registry, engine="spark", **{option: url}) as session:
    rows = session.sql(query).to_arrow().to_pylist()
    # Settings that change answers are the client's, whatever the server's defaults.
    conf = session.engine._spark.conf
    assert conf.get("spark.sql.ansi.enabled") == "false", conf.get("spark.sql.ansi.enabled")
    assert conf.get("spark.sql.session.timeZone") == "UTC"
    assert session.sql("SELECT CAST('x' AS INT) AS n").to_arrow().to_pylist() == [{"n": None}]
print(json.dumps(rows))
"""
LIFETIME_S = "300"  # every server stops by itself, whatever happens to the test run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(
    args: list[str], log: Path, ready: str, timeout_s: float = 90
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1"}
    with log.open("wb") as handle:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            ["timeout", LIFETIME_S, *args], stdout=handle, stderr=subprocess.STDOUT, env=env
        )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready in log.read_text(errors="replace"):
            return process
        if process.poll() is not None:
            break
        time.sleep(0.5)
    process.kill()
    pytest.fail(f"{args[1]} did not start: {log.read_text(errors='replace')[-2000:]}")


def _run_client(efs_dir: Path, option: str, url: str) -> dict[tuple[str, str], float]:
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", CLIENT, str(efs_dir), option, url, QUERY],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = json.loads(result.stdout.strip().splitlines()[-1])
    return {(r["us_states"], r["metric"]): r["v"] for r in rows}


@pytest.fixture(scope="module")
def expected(efs_dir: Path) -> dict[tuple[str, str], float]:
    with dsgrid_sql.connect(efs_dir, engine="duckdb") as session:
        rows = session.sql(QUERY).to_arrow().to_pylist()
    return {(r["us_states"], r["metric"]): r["v"] for r in rows}


@pytest.fixture(scope="module")
def standalone_master(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    logs = tmp_path_factory.mktemp("standalone")
    port = _free_port()
    spark_class = str(SPARK_HOME / "bin" / "spark-class")
    master = _start(
        [spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
         "--port", str(port), "--webui-port", str(_free_port())],
        logs / "master.log",
        "I have been elected leader",
    )  # fmt: skip
    url = f"spark://127.0.0.1:{port}"
    worker = _start(
        [spark_class, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
         "--cores", "1", "--memory", "1g", "--webui-port", str(_free_port()), url],
        logs / "worker.log",
        "Successfully registered with master",
    )  # fmt: skip
    yield url
    for process in (worker, master):
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def connect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    logs = tmp_path_factory.mktemp("connect")
    port = _free_port()
    server = _start(
        [str(SPARK_HOME / "bin" / "spark-submit"),
         "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
         "--master", "local[2]",
         "--conf", f"spark.connect.grpc.binding.port={port}",
         "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
         "--conf", "spark.ui.enabled=false",
         # Defaults a shared Connect server may have that would change answers.
         "--conf", "spark.sql.ansi.enabled=true",
         "--conf", "spark.sql.session.timeZone=America/Denver",
         "spark-internal"],
        logs / "connect.log",
        "Spark Connect server started",
    )  # fmt: skip
    yield f"sc://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=30)


def _assert_equal(
    got: dict[tuple[str, str], float], expected: dict[tuple[str, str], float]
) -> None:
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-9)


def test_standalone_cluster(efs_dir: Path, standalone_master: str, expected: dict) -> None:
    _assert_equal(_run_client(efs_dir, "spark_master", standalone_master), expected)


def test_spark_connect(efs_dir: Path, connect_server: str, expected: dict) -> None:
    _assert_equal(_run_client(efs_dir, "spark_remote", connect_server), expected)
