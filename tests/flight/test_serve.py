"""`dsgrid-sql serve` as users run it, registry changes while serving, limits, and the Spark
engine behind the endpoint."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import adbc_driver_flightsql.dbapi as flight_sql
import pytest

import dsgrid_sql
from dsgrid_sql.generator import GeneratorSpec, generate_registry

from .conftest import PASSWORD, USER, Running


def _start_cli(args: list[str], tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "dsgrid_sql", "serve", "--port", "0", *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        match = re.search(r"on (grpc\S*://[\d.]+:\d+)", line)
        if match:
            return process, match.group(1)
        if not line and process.poll() is not None:
            break
    process.kill()
    raise AssertionError(f"the server did not start: {process.stderr.read()}")


def test_serve_logs_one_line_per_query_and_stops_on_sigterm(
    efs_dir: Path, users_file: Path, tmp_path: Path
) -> None:
    process, uri = _start_cli(["--registry", str(efs_dir), "--auth", str(users_file)], tmp_path)
    try:
        kwargs = {"username": USER, "password": PASSWORD}
        with flight_sql.connect(uri, db_kwargs=kwargs, autocommit=True) as conn:
            cur = conn.cursor()
            cur.execute("SELECT SUM(value) AS v FROM data WHERE geography = '06073'")
            assert cur.fetchall()[0][0] > 0
            with pytest.raises(flight_sql.Error):
                cur.execute("SELECT * FROM data WHERE geography = 'secret-literal'")
            cur.close()
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "server stopped" in stderr
    query_lines = [line for line in stderr.splitlines() if " query user=" in line]
    assert len(query_lines) == 1 and "user=analyst status=ok rows=1" in query_lines[0]
    # Neither literals nor credentials reach the log.
    for secret in ("06073", "secret-literal", "Bearer", PASSWORD, "Traceback"):
        assert secret not in stderr


def test_serve_refuses_bad_settings_in_one_line(efs_dir: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dsgrid_sql", "serve", "--registry", str(efs_dir),
         "--port", "0", "--auth", str(tmp_path / "missing.toml")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "users file" in result.stderr and "Traceback" not in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "dsgrid_sql", "serve", "--registry", str(efs_dir),
         "--port", "0", "--result-cache-mb", "-1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--result-cache-mb" in result.stderr and "Traceback" not in result.stderr


def _tables(server: Running) -> set[str]:
    with flight_sql.connect(server.uri, autocommit=True) as conn:
        objects = conn.adbc_get_objects(depth="tables", db_schema_filter="dsgrid_demo").read_all()
    schemas = objects.to_pylist()[0]["catalog_db_schemas"]
    return {t["table_name"] for s in schemas for t in s["db_schema_tables"]}


def test_a_dataset_registered_while_serving_becomes_visible(
    make_server: Any, tmp_path: Path
) -> None:
    spec = GeneratorSpec(counties=3, hours=24, datasets=1)
    live = generate_registry(tmp_path / "live", spec).path.parent
    bigger = generate_registry(tmp_path / "next", spec.model_copy(update={"datasets": 2}))
    server = make_server(live, registry_poll_s=0.1)
    before = _tables(server)
    assert "data" in before

    # What a registration does: new data files, then a new registry.db (replaced by rename).
    for folder in (bigger.path.parent / "data" / "data").iterdir():
        target = live / "data" / "data" / folder.name
        if not target.exists():
            shutil.copytree(folder, target)
    shutil.copy(bigger.path, live / "registry.db.new")
    os.replace(live / "registry.db.new", live / "registry.db")

    deadline = time.monotonic() + 10
    after = before
    while after == before and time.monotonic() < deadline:
        time.sleep(0.15)
        after = _tables(server)
    added = after - before
    assert len(added) == 1, (before, after)
    with flight_sql.connect(server.uri, autocommit=True) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(DISTINCT dataset_id) FROM dsgrid_demo.data")
        assert cur.fetchall() == [(2,)]
        cur.close()


def test_limits_are_clear_errors(make_server: Any, efs_dir: Path) -> None:
    server = make_server(efs_dir, max_result_rows=100, query_timeout_s=1.0)
    with flight_sql.connect(server.uri, autocommit=True) as conn:
        cur = conn.cursor()
        cur.execute("SELECT geography FROM data LIMIT 100")
        assert len(cur.fetchall()) == 100
        cur.execute("SELECT geography FROM data LIMIT 101")
        with pytest.raises(flight_sql.Error, match="more than 100 rows"):
            cur.fetchall()
        started = time.monotonic()
        cur.execute("SELECT COUNT(*) FROM data a CROSS JOIN data b WHERE a.value > b.value")
        with pytest.raises(flight_sql.Error, match=r"DEADLINE_EXCEEDED|longer than 1 s"):
            cur.fetchall()
        assert time.monotonic() - started < 15
        cur.close()
    deadline = time.monotonic() + 5
    while server.server.state.counts()["running"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.server.state.counts()["running"] == 0


def test_a_recursive_cte_that_never_ends_is_stopped_by_the_query_timeout(
    make_server: Any, efs_dir: Path
) -> None:
    """Recursive CTEs are allowed (issue 23) and bounded by the query limits: on DuckDB, which
    has no recursion limit of its own, the server's query timeout ends one that never ends
    (Spark stops at its recursion limit, tests/query/test_sql_forms.py)."""
    server = make_server(efs_dir, query_timeout_s=1.0)
    endless = (
        "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT COUNT(*) FROM t"
    )
    with flight_sql.connect(server.uri, autocommit=True) as conn:
        cur = conn.cursor()
        started = time.monotonic()
        cur.execute(endless)
        with pytest.raises(flight_sql.Error, match=r"DEADLINE_EXCEEDED|longer than 1 s"):
            cur.fetchall()
        assert time.monotonic() - started < 15
        cur.execute("WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 10) "
                    "SELECT SUM(n) FROM t")  # fmt: skip
        assert cur.fetchall() == [(55,)]
        cur.close()


def test_spark_engine_behind_the_endpoint(make_server: Any, efs_dir: Path) -> None:
    server = make_server(efs_dir, engine="spark")
    sql = "SELECT us_states, SUM(value) AS v FROM data GROUP BY ALL ORDER BY 1"
    with dsgrid_sql.connect(efs_dir) as local:
        expected = local.sql(sql).to_arrow().to_pylist()
    with flight_sql.connect(server.uri, autocommit=True) as conn:
        cur = conn.cursor()
        cur.execute(sql)
        rows = cur.fetchall()
        cur.execute("SELECT geography, SUM(value) AS v FROM data WHERE geography = ? GROUP BY 1",
                    ("08031",))  # fmt: skip
        assert cur.fetchall()[0][0] == "08031"
        assert cur.adbc_execute_schema(sql).names == ["us_states", "v"]
        cur.close()
    assert [r[0] for r in rows] == [e["us_states"] for e in expected]
    assert [r[1] for r in rows] == pytest.approx([e["v"] for e in expected], rel=1e-9)


def test_many_clients_at_once(make_server: Any, efs_dir: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    server = make_server(efs_dir, max_concurrent_queries=32, max_queries_per_user=32)
    queries = [
        "SELECT us_states, SUM(value) AS v FROM data GROUP BY ALL ORDER BY 1",
        "SELECT geography, COUNT(*) AS n FROM data GROUP BY ALL ORDER BY 1",
        "SELECT metric, MAX(value) AS m FROM data GROUP BY ALL ORDER BY 1",
    ]
    with dsgrid_sql.connect(efs_dir) as local:
        expected = {q: local.sql(q).to_arrow().to_pylist() for q in queries}

    def client(index: int) -> int:
        with flight_sql.connect(server.uri, autocommit=True) as conn:
            cur = conn.cursor()
            for round_ in range(4):
                sql = queries[(index + round_) % len(queries)]
                cur.execute(sql)
                got = [tuple(r.values()) for r in cur.fetch_arrow_table().to_pylist()]
                want = [tuple(r.values()) for r in expected[sql]]
                assert [g[0] for g in got] == [w[0] for w in want]
                assert [g[1] for g in got] == pytest.approx([w[1] for w in want], rel=1e-12)
            cur.close()
        return index

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sorted(pool.map(client, range(8))) == list(range(8))
    counts = server.server.state.counts()
    assert counts["running"] == 0 and counts["tickets"] == 0


def test_a_repeated_query_is_answered_from_the_servers_kept_result(
    make_server: Any, efs_dir: Path
) -> None:
    sql = "SELECT us_states, metric, SUM(value) AS v FROM data GROUP BY ALL ORDER BY 1, 2"

    def twice(server: Running) -> list[Any]:
        tables = []
        with flight_sql.connect(server.uri, autocommit=True) as conn:
            for _ in range(2):
                cur = conn.cursor()  # a fresh statement each time, as dashboards send them
                cur.execute(sql)
                tables.append(cur.fetch_arrow_table())
                cur.close()
        return tables

    server = make_server(efs_dir)
    kept = server.server.state.engine.results
    assert kept.budget == 256 * 2**20  # the server keeps results by default
    hits, misses = kept.hits, kept.misses
    first, again = twice(server)
    assert (kept.hits - hits, kept.misses - misses) == (1, 1)
    assert again.equals(first) and first.num_rows > 0
    with dsgrid_sql.connect(efs_dir) as local:
        expected = local.sql(sql).to_arrow()
    assert first["us_states"].equals(expected["us_states"])
    assert first["v"].to_pylist() == pytest.approx(expected["v"].to_pylist(), rel=1e-12)

    off = make_server(efs_dir, result_cache_mb=0)
    twice(off)
    assert off.server.state.engine.results.hits == 0


def test_a_shared_account_queues_instead_of_being_refused(make_server: Any, efs_dir: Path) -> None:
    """A dashboard opening 12 tiles on one account, with 4 queries per user: 12 answers."""
    from concurrent.futures import ThreadPoolExecutor

    server = make_server(efs_dir, max_queries_per_user=4, queue_wait_s=60)
    sql = "SELECT us_states, SUM(value) AS v FROM data GROUP BY ALL ORDER BY 1"
    with dsgrid_sql.connect(efs_dir) as local:
        expected = local.sql(sql).to_arrow()["v"].to_pylist()
    connections = [flight_sql.connect(server.uri, autocommit=True) for _ in range(12)]

    def tile(conn: Any) -> list[float]:
        cur = conn.cursor()
        cur.execute(sql)
        rows = cur.fetch_arrow_table()["v"].to_pylist()
        cur.close()
        return rows

    try:
        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(tile, connections))
    finally:
        for conn in connections:
            conn.close()
    assert all(a == pytest.approx(expected, rel=1e-12) for a in answers)


def test_a_busy_server_answers_unavailable(make_server: Any, efs_dir: Path) -> None:
    server = make_server(efs_dir, max_concurrent_queries=1, queue_wait_s=0.2)
    slow = "SELECT a.value * b.value AS x FROM data a CROSS JOIN data b"
    with (
        flight_sql.connect(server.uri, autocommit=True) as first,
        flight_sql.connect(server.uri, autocommit=True) as second,
    ):
        busy = first.cursor()
        busy.execute(slow)
        reader = busy.fetch_record_batch()
        reader.read_next_batch()  # the slow query now holds the only slot
        cur = second.cursor()
        with pytest.raises(flight_sql.Error, match=r"try again shortly.*\(Unavailable;"):
            cur.execute("SELECT 1 AS one")
            cur.fetchall()
        reader.close()
        busy.close()
        deadline = time.monotonic() + 10
        while server.server.state.counts()["running"] and time.monotonic() < deadline:
            time.sleep(0.05)
        cur.execute("SELECT 1 AS one")  # the slot is free again
        assert cur.fetchall() == [(1,)]
        cur.close()


def test_use_is_per_client_connection(efs_server: Running) -> None:
    with (
        flight_sql.connect(efs_server.uri, autocommit=True) as first,
        flight_sql.connect(efs_server.uri, autocommit=True) as second,
    ):
        one, two = first.cursor(), second.cursor()
        one.execute("USE test_efs_dimensions")
        one.fetchall()
        one.execute("SHOW TABLES")
        assert {r[0] for r in one.fetchall()} == {"test_efs_dimensions"}
        two.execute("SHOW TABLES")
        assert {r[0] for r in two.fetchall()} == {"test_efs"}  # the other client is unmoved
        one.close()
        two.close()


def test_mutual_tls_requires_a_client_certificate(
    make_server: Any, efs_dir: Path, tls_files: tuple[Path, Path], tmp_path: Path
) -> None:
    import pyarrow.flight as flight

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    ca_key, ca_cert = tmp_path / "ca.key", tmp_path / "ca.pem"
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out",
        str(ca_cert), "-days", "2", "-subj", "/CN=test-ca")  # fmt: skip
    key, csr, cert = tmp_path / "client.key", tmp_path / "client.csr", tmp_path / "client.pem"
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
        "-subj", "/CN=client")  # fmt: skip
    run("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", "2")  # fmt: skip
    server = make_server(efs_dir, tls=True, tls_client_ca=ca_cert)
    roots = tls_files[0].read_text()
    anonymous = flight.FlightClient(server.uri, tls_root_certs=roots)
    with pytest.raises(flight.FlightError):
        anonymous.list_actions()
    anonymous.close()
    trusted = flight.FlightClient(
        server.uri, tls_root_certs=roots, cert_chain=cert.read_text(), private_key=key.read_text()
    )
    assert trusted.list_actions()
    trusted.close()
