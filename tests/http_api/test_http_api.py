"""The HTTP API through real clients (httpx, curl) against a real server on 127.0.0.1:
statements as jobs on both engines, results in every format, the catalog, health, metrics,
docs, sign-in shared with Flight SQL, and what one user may not see of another's."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import dsgrid_sql

from .conftest import Served

STATE_TOTALS = (
    "SELECT us_states, metric, SUM(value) AS v FROM test_efs.data GROUP BY ALL ORDER BY ALL"
)
HOURLY = (
    "SELECT timestamp, SUM(value) AS v FROM test_efs.data WHERE geography = '06073' "
    "GROUP BY ALL ORDER BY 1"
)
# Long enough to be running when cancelled; no data needed.
LONG = "SELECT SUM(a.x * b.x) AS s FROM range(9000000) a(x), range(90000) b(x)"


def _direct(registry: Path, sql: str) -> pa.Table:
    with dsgrid_sql.connect(registry) as session:
        return session.sql(sql).to_arrow()


def _equal(actual: pa.Table, expected: pa.Table) -> None:
    assert actual.column_names == expected.column_names
    assert actual.num_rows == expected.num_rows
    for name in expected.column_names:
        got, want = actual[name].to_pylist(), expected[name].to_pylist()
        if pa.types.is_floating(expected.schema.field(name).type):
            assert got == pytest.approx(want, rel=1e-12)
        else:
            assert got == want


def _wait_state(client: Any, job_id: str, states: set[str], timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        record = client.get(f"/api/v1/statements/{job_id}", params={"wait_timeout": 1}).json()
        if record["state"] in states or time.monotonic() > deadline:
            return record


def _arrow(response: Any) -> pa.Table:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.apache.arrow.stream"
    return pa.ipc.open_stream(response.content).read_all()


# -- statements ---------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_submit_poll_fetch_equals_the_direct_query(
    make_http: Any, efs_dir: Path, engine: str
) -> None:
    served = make_http(efs_dir, engine=engine)
    expected = _direct(efs_dir, STATE_TOTALS)
    with served.client() as client:
        submitted = client.post(
            "/api/v1/statements", json={"sql": STATE_TOTALS, "wait_timeout": 0}
        )
        assert submitted.status_code == 202, submitted.text
        job = submitted.json()
        assert job["state"] in ("QUEUED", "RUNNING", "SUCCEEDED") and job["engine"] == engine
        done = _wait_state(client, job["id"], {"SUCCEEDED", "FAILED"})
        assert done["state"] == "SUCCEEDED", done
        assert done["rows"] == expected.num_rows and done["progress"] == 1.0
        assert [c["name"] for c in done["columns"]] == expected.column_names
        _equal(_arrow(client.get(done["links"]["result"])), expected)


def test_a_quick_statement_is_answered_inline_in_each_format(
    efs_http: Served, efs_dir: Path
) -> None:
    expected = _direct(efs_dir, HOURLY)
    with efs_http.client() as client:
        answer = client.post("/api/v1/statements", json={"sql": HOURLY})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["state"] == "SUCCEEDED" and body["row_count"] == expected.num_rows
        assert [c["name"] for c in body["columns"]] == ["timestamp", "v"]
        assert [row[1] for row in body["rows"]] == pytest.approx(
            expected["v"].to_pylist(), rel=1e-12
        )
        first = expected["timestamp"][0].as_py()
        assert body["rows"][0][0] == first.isoformat()

        arrow = client.post("/api/v1/statements", json={"sql": HOURLY, "format": "arrow"})
        _equal(_arrow(arrow), expected)
        parquet = client.post("/api/v1/statements", json={"sql": HOURLY, "format": "parquet"})
        table = pq.read_table(io.BytesIO(parquet.content))
        _equal(table, expected)
        lineage = json.loads(table.schema.metadata[b"dsgrid_sql"])
        assert lineage["query"] == HOURLY and "test_efs" in lineage["projects"]
        csv = client.post("/api/v1/statements", json={"sql": HOURLY, "format": "csv"})
        assert csv.headers["content-type"].startswith("text/csv")
        read = pacsv.read_csv(io.BytesIO(csv.content))
        assert read["v"].to_pylist() == pytest.approx(expected["v"].to_pylist(), rel=1e-12)


def test_a_kept_result_is_fetched_in_every_format(efs_http: Served, efs_dir: Path) -> None:
    expected = _direct(efs_dir, STATE_TOTALS)
    with efs_http.client() as client:
        job = client.post("/api/v1/statements", json={"sql": STATE_TOTALS}).json()
        link = f"/api/v1/statements/{job['id']}/result"
        _equal(_arrow(client.get(link)), expected)
        _equal(pq.read_table(io.BytesIO(client.get(link, params={"format": "parquet"}).content)),
               expected)  # fmt: skip
        rows = client.get(link, params={"format": "json"}).json()["rows"]
        assert [r[2] for r in rows] == pytest.approx(expected["v"].to_pylist(), rel=1e-12)
        with client.stream("GET", link, params={"format": "csv"}) as streamed:
            text = "".join(streamed.iter_text())
        assert text.splitlines()[0] == '"us_states","metric","v"'
        assert len(text.splitlines()) == expected.num_rows + 1
        bad = client.get(link, params={"format": "xlsx"})
        assert bad.status_code == 400 and "xlsx" in bad.json()["message"]


def test_json_answers_can_be_capped(efs_http: Served, efs_dir: Path) -> None:
    expected = _direct(efs_dir, HOURLY)
    with efs_http.client() as client:
        capped = client.post("/api/v1/statements", json={"sql": HOURLY, "max_rows": 5}).json()
        assert capped["row_count"] == expected.num_rows and capped["truncated"] is True
        assert [r[1] for r in capped["rows"]] == pytest.approx(
            expected["v"].to_pylist()[:5], rel=1e-12
        )
        link = f"/api/v1/statements/{capped['id']}/result"
        fetched = client.get(link, params={"format": "json", "max_rows": 3}).json()
        assert len(fetched["rows"]) == 3 and fetched["truncated"] is True
        whole = client.get(link, params={"format": "json"}).json()
        assert len(whole["rows"]) == expected.num_rows and whole["truncated"] is False
        # The kept result has every row whatever the cap.
        assert _arrow(client.get(link)).num_rows == expected.num_rows


def test_parameters_schema_and_dialect(efs_http: Served, efs_dir: Path) -> None:
    sql = "SELECT SUM(value) AS v FROM data WHERE geography = ?"
    with efs_http.client() as client:
        answer = client.post(
            "/api/v1/statements",
            json={"sql": sql, "parameters": ["06073"], "schema": "test_efs"},
        )
        assert answer.status_code == 200, answer.text
        expected = _direct(efs_dir, sql.replace("data", "test_efs.data").replace("?", "'06073'"))
        assert answer.json()["rows"][0][0] == pytest.approx(expected["v"][0].as_py(), rel=1e-12)
        pinned = client.post(
            "/api/v1/statements",
            json={
                "sql": "SELECT DISTINCT dataset_id FROM test_efs.data",
                "as_of": "test_efs@1.1.0",
            },
        )
        assert pinned.json()["rows"] == [["test_efs_comstock_unpivoted"]], pinned.text
        spark_sql = client.post(
            "/api/v1/statements",
            json={"sql": "SELECT `geography` FROM test_efs.data LIMIT 1", "dialect": "spark"},
        )
        assert spark_sql.status_code == 200, spark_sql.text


def test_mistakes_are_answered_at_once_with_their_sentence(efs_http: Served) -> None:
    with efs_http.client() as client:
        unknown = client.post(
            "/api/v1/statements", json={"sql": "SELECT geografy FROM test_efs.data"}
        )
        assert unknown.status_code == 400
        body = unknown.json()
        assert body["code"] == "unknown_column" and "geography" in body["message"]
        assert body["position"]["line"] == 1
        refused = client.post(
            "/api/v1/statements", json={"sql": "SELECT * FROM read_parquet('/etc/passwd')"}
        )
        assert refused.status_code in (400, 403) and "Traceback" not in refused.text
        copy = client.post("/api/v1/statements", json={"sql": "COPY (SELECT 1) TO 'x.parquet'"})
        assert copy.status_code == 403 and "export directory" in copy.json()["message"]
        # Nothing was kept for refused statements.
        assert all(j["sql"] != "SELECT geografy FROM test_efs.data"
                   for j in client.get("/api/v1/statements").json()["statements"])  # fmt: skip


def test_cancel_stops_the_engine_work(make_http: Any, efs_dir: Path) -> None:
    served = make_http(efs_dir)
    with served.client() as client:
        job = client.post("/api/v1/statements", json={"sql": LONG, "wait_timeout": 0}).json()
        running = _wait_state(client, job["id"], {"RUNNING"})
        assert running["state"] == "RUNNING"
        cancelled = client.post(f"/api/v1/statements/{job['id']}/cancel").json()
        assert cancelled["state"] == "CANCELLED", cancelled
        assert cancelled["error"]["code"] == "cancelled"
        assert cancelled["cancel_requested_at"] >= running["started_at"]
        deadline = time.monotonic() + 30
        while served.core.engine.running_count() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert served.core.engine.running_count() == 0
        gone = client.get(f"/api/v1/statements/{job['id']}/result")
        assert gone.status_code == 409 and "CANCELLED" in gone.json()["message"]
        # A finished job stays as it was when cancelled again; deleting removes it.
        assert client.post(f"/api/v1/statements/{job['id']}/cancel").json()["state"] == "CANCELLED"
        assert client.delete(f"/api/v1/statements/{job['id']}").status_code == 204
        assert client.get(f"/api/v1/statements/{job['id']}").status_code == 404


def test_a_job_over_its_time_limit_fails_saying_so(make_http: Any, efs_dir: Path) -> None:
    served = make_http(efs_dir, job_timeout_s=0.5)
    with served.client() as client:
        answer = client.post("/api/v1/statements", json={"sql": LONG, "wait_timeout": 60})
        assert answer.status_code == 504, answer.text
        assert answer.json()["code"] == "timeout" and "0.5 seconds" in answer.json()["message"]


def test_results_expire(make_http: Any, efs_dir: Path) -> None:
    served = make_http(efs_dir, job_ttl_s=1.0)
    with served.client() as client:
        job = client.post("/api/v1/statements", json={"sql": HOURLY}).json()
        assert job["state"] == "SUCCEEDED"
        expired = _wait_state(client, job["id"], {"EXPIRED"}, timeout=30)
        assert expired["state"] == "EXPIRED"
        answer = client.get(f"/api/v1/statements/{job['id']}/result")
        assert answer.status_code == 409 and "expired" in answer.json()["message"]
        assert not served.core.jobs.store.result_path(job["id"]).exists()
        # The record itself goes one time to live later.
        deadline = time.monotonic() + 30
        while client.get(f"/api/v1/statements/{job['id']}").status_code != 404:
            assert time.monotonic() < deadline
            time.sleep(0.1)


def test_disk_budgets_refuse_new_jobs(make_http: Any, efs_dir: Path) -> None:
    tiny = make_http(efs_dir, job_budget_per_user_bytes=100)
    with tiny.client() as client:
        answer = client.post("/api/v1/statements", json={"sql": STATE_TOTALS})
        assert answer.status_code == 429, answer.text
        assert answer.json()["code"] == "disk_budget"
        assert "nothing was kept" in answer.json()["message"]
        assert not list(tiny.core.jobs.store.root.rglob("*.parquet"))
        assert not list(tiny.core.jobs.store.root.rglob(".result*"))
    # Two results fill a total budget of twice one result's size; the third is refused
    # before it runs, until a kept result is deleted.
    with make_http(efs_dir).client() as client:
        size = client.post("/api/v1/statements", json={"sql": STATE_TOTALS}).json()["bytes"]
    served = make_http(efs_dir, job_budget_total_bytes=2 * size)
    with served.client() as client:
        kept = [client.post("/api/v1/statements", json={"sql": STATE_TOTALS}) for _ in range(2)]
        assert [k.status_code for k in kept] == [200, 200]
        refused = client.post("/api/v1/statements", json={"sql": STATE_TOTALS})
        assert refused.status_code == 429 and refused.json()["code"] == "disk_budget"
        assert refused.json()["message"].startswith("No room for another job")
        client.delete(f"/api/v1/statements/{kept[0].json()['id']}")
        assert client.post("/api/v1/statements", json={"sql": STATE_TOTALS}).status_code == 200


# -- restart ------------------------------------------------------------------------------


def test_results_outlive_the_server_and_a_killed_servers_jobs_fail(
    efs_dir: Path, tmp_path: Path
) -> None:
    import re
    import signal
    import sys

    import httpx

    jobs = tmp_path / "jobs"

    def start() -> tuple[subprocess.Popen[str], str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "dsgrid_sql", "serve", "--registry", str(efs_dir),
             "--port", "0", "--http-port", "0", "--jobs-dir", str(jobs)],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=tmp_path,
        )  # fmt: skip
        assert process.stderr is not None
        for line in process.stderr:
            match = re.search(r"HTTP API on (http://\S+) ", line)
            if match:
                return process, match.group(1)
        raise AssertionError(f"no HTTP server: {process.wait()}")

    first, url = start()
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            done = client.post("/api/v1/statements", json={"sql": STATE_TOTALS}).json()
            long = client.post("/api/v1/statements", json={"sql": LONG, "wait_timeout": 0}).json()
            assert _wait_state(client, long["id"], {"RUNNING"})["state"] == "RUNNING"
    finally:
        first.send_signal(signal.SIGKILL)  # no chance to clean up
        first.communicate(timeout=30)
    second, url = start()
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            _equal(_arrow(client.get(f"/api/v1/statements/{done['id']}/result")),
                   _direct(efs_dir, STATE_TOTALS))  # fmt: skip
            failed = client.get(f"/api/v1/statements/{long['id']}").json()
            assert failed["state"] == "FAILED" and "restarted" in failed["error"]["message"]
    finally:
        second.send_signal(signal.SIGTERM)
        _, log = second.communicate(timeout=30)
    assert second.returncode == 0 and "Traceback" not in log


# -- users --------------------------------------------------------------------------------


def test_sign_in_and_what_another_user_cannot_see(
    make_http: Any, efs_dir: Path, users_file: Path, credentials: list[tuple[str, str]]
) -> None:
    import adbc_driver_flightsql
    import adbc_driver_flightsql.dbapi as flight_sql

    (USER, PASSWORD), (OTHER, OTHER_PASSWORD) = credentials

    served = make_http(efs_dir, users_file=users_file)
    with served.client() as anonymous:
        refused = anonymous.post("/api/v1/statements", json={"sql": "SELECT 1"})
        assert refused.status_code == 401 and "Authentication is required" in refused.text
        assert "Basic" in refused.headers["www-authenticate"]
    with served.client(auth=(USER, "wrong")) as wrong:
        assert wrong.get("/api/v1/statements").status_code == 401
    with served.client(auth=(USER, PASSWORD)) as owner:
        token = owner.post("/api/v1/token").json()["token"]
        job = owner.post("/api/v1/statements", json={"sql": HOURLY}).json()
    bearer = {"Authorization": f"Bearer {token}"}
    with served.client(headers=bearer) as owner:
        assert owner.get(f"/api/v1/statements/{job['id']}").json()["owner"] == USER
        assert [j["id"] for j in owner.get("/api/v1/statements").json()["statements"]] == [
            job["id"]
        ]
    with served.client(auth=(OTHER, OTHER_PASSWORD)) as other:
        assert other.get("/api/v1/statements").json()["statements"] == []
        for method, path in [
            ("GET", f"/api/v1/statements/{job['id']}"),
            ("GET", f"/api/v1/statements/{job['id']}/result"),
            ("POST", f"/api/v1/statements/{job['id']}/cancel"),
            ("DELETE", f"/api/v1/statements/{job['id']}"),
        ]:
            answer = other.request(method, path)
            assert answer.status_code == 404 and answer.json()["code"] == "unknown_job"
    # The HTTP token signs in to Flight SQL too.
    with flight_sql.connect(
        served.flight_uri,
        db_kwargs={adbc_driver_flightsql.DatabaseOptions.AUTHORIZATION_HEADER.value: f"Bearer {token}"},
        autocommit=True,
    ) as conn:  # fmt: skip
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM test_efs.data")
        assert cur.fetchone()[0] > 0
        cur.close()


def test_https_with_the_servers_certificate(
    make_http: Any, efs_dir: Path, tls_files: tuple[Path, Path]
) -> None:
    cert, key = tls_files
    served = make_http(efs_dir, tls_cert=cert, tls_key=key)
    assert served.url.startswith("https://")
    with served.client() as client:
        assert client.get("/health").json()["status"] == "ok"


# -- hostile input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/api/v1/statements", b"{not json", 400),
        ("POST", "/api/v1/statements", b"[1, 2]", 400),
        ("POST", "/api/v1/statements", b'{"sql": 5}', 400),
        ("POST", "/api/v1/statements", b'{"query": "SELECT 1"}', 400),
        ("POST", "/api/v1/statements", b'{"sql": "SELECT 1", "wait_timeout": -1}', 400),
        ("POST", "/api/v1/statements", b'{"sql": "SELECT 1", "wait_timeout": "soon"}', 400),
        ("POST", "/api/v1/statements", b'{"sql": "SELECT 1", "format": "xml"}', 400),
        ("POST", "/api/v1/statements", b'{"sql": "SELECT 1", "schema": "nope"}', 400),
        ("POST", "/api/v1/statements", b'{"sql": ""}', 400),
        ("POST", "/api/v1/statements", b'{"sql": "DROP TABLE test_efs.data"}', 403),
        ("GET", "/api/v1/statements/..%2F..%2Fetc%2Fpasswd", None, 404),
        ("GET", "/api/v1/statements/%2e%2e/result", None, 404),
        ("GET", "/api/v1/statements/" + "a" * 32, None, 404),
        ("GET", "/api/v1/statements/" + "A" * 32 + "/result", None, 404),
        ("DELETE", "/api/v1/statements/job.json", None, 404),
        ("POST", "/api/v1/statements/" + "0" * 32 + "/cancel", None, 404),
        ("GET", "/api/v1/nothing-here", None, 404),
        ("PUT", "/api/v1/statements", b"{}", 405),
        ("GET", "/api/v1/schemas/nope/tables", None, 404),
        ("GET", "/api/v1/dimensions/nope/records", None, 404),
    ],
)
def test_hostile_requests_get_clean_answers(
    efs_http: Served, method: str, path: str, body: bytes | None, status: int
) -> None:
    with efs_http.client() as client:
        answer = client.request(
            method, path, content=body, headers={"content-type": "application/json"}
        )
    assert answer.status_code == status, answer.text
    error = answer.json()
    assert set(error) >= {"code", "message"} and error["message"].endswith((".", "?"))
    assert "Traceback" not in answer.text and "pydantic" not in answer.text.lower()


def test_a_huge_body_is_refused_without_reading_it_all(efs_http: Served) -> None:
    limit = efs_http.core.config.max_sql_length * 6 + 64 * 1024
    with efs_http.client() as client:
        answer = client.post(
            "/api/v1/statements",
            content=b"x" * (limit + 1),
            headers={"content-type": "application/json"},
        )
        assert answer.status_code == 413 and answer.json()["code"] == "body_too_large"

        def chunks():  # no Content-Length: streamed
            for _ in range(limit // 65536 + 2):
                yield b"y" * 65536

        streamed = client.post("/api/v1/statements", content=chunks())
        assert streamed.status_code == 413
        # The server still answers.
        assert client.get("/health").status_code == 200


# -- catalog ------------------------------------------------------------------------------


def test_the_catalog_endpoints_mirror_the_catalog(efs_http: Served, efs_dir: Path) -> None:
    with efs_http.client() as client, dsgrid_sql.connect(efs_dir) as session:
        projects = client.get("/api/v1/projects").json()["projects"]
        assert [p["project_id"] for p in projects] == ["test_efs"]
        datasets = client.get("/api/v1/datasets", params={"project": "test_efs"}).json()
        assert {d["dataset_id"] for d in datasets["datasets"]} == set(
            session.sql("SELECT dataset_id FROM registry.project_datasets").to_pandas()[
                "dataset_id"
            ]
        )
        schemas = {s["schema_name"] for s in client.get("/api/v1/schemas").json()["schemas"]}
        assert {"test_efs", "registry", "information_schema"} <= schemas
        tables = client.get("/api/v1/schemas/test_efs/tables").json()["tables"]
        assert "data" in {t["table_name"] for t in tables}
        columns = client.get("/api/v1/schemas/test_efs/tables/data/columns").json()["columns"]
        by_name = {c["name"]: c for c in columns}
        assert by_name["us_states"]["role"] == "supplemental"
        assert "US States" in by_name["us_states"]["remarks"] or by_name["us_states"]["remarks"]
        assert by_name["value"]["type"] == "DOUBLE"
        typo = client.get("/api/v1/schemas/test_efs/tables/dta/columns")
        assert typo.status_code == 404 and "Did you mean 'data'?" in typo.json()["message"]

        dimensions = client.get("/api/v1/dimensions", params={"type": "geography"}).json()
        county = next(d for d in dimensions["dimensions"] if d["record_count"] == 8)
        records = client.get(
            f"/api/v1/dimensions/{county['dimension_id']}/records", params={"search": "06073"}
        ).json()
        assert [r["id"] for r in records["records"]] == ["06073"]
        by_name = client.get(
            f"/api/v1/dimensions/{county['dimension_id']}/records", params={"search": "san diego"}
        ).json()
        assert {r["id"] for r in by_name["records"]} == {"06073"}

        mappings = client.get("/api/v1/mappings").json()["mappings"]
        first = mappings[0]["mapping_id"]
        mapped = client.get(f"/api/v1/mappings/{first}/records").json()["records"]
        assert mapped and {"from_id", "to_id", "from_fraction"} <= set(mapped[0])


# -- operations ---------------------------------------------------------------------------


def test_health_metrics_and_docs(make_http: Any, efs_dir: Path) -> None:
    served = make_http(efs_dir)
    with served.client() as client:
        health = client.get("/health").json()
        assert health["status"] == "ok" and health["engine"] == "duckdb"
        client.post("/api/v1/statements", json={"sql": HOURLY})
        client.post("/api/v1/statements", json={"sql": "SELECT nope FROM test_efs.data"})
        client.get(f"/api/v1/statements/{'f' * 32}")
        metrics = client.get("/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        text = metrics.text
        assert 'dsgrid_sql_queries_total{protocol="jobs",status="ok"} 1' in text
        assert 'dsgrid_sql_queries_total{protocol="http",status="error"} 1' in text
        assert 'dsgrid_sql_query_duration_seconds_count{protocol="jobs"} 1' in text
        assert "dsgrid_sql_running_jobs 0" in text
        sent = [
            line for line in text.splitlines() if 'result_bytes_total{protocol="http"}' in line
        ]
        assert sent and int(sent[0].split()[-1]) > 0
        docs = client.get("/docs")
        assert docs.status_code == 200 and "/docs/assets/swagger-ui-bundle.js" in docs.text
        assert "cdn" not in docs.text.lower()
        assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
        spec = client.get("/openapi.json").json()
        assert "/api/v1/statements" in spec["paths"]
    # A broken registry makes health say so (503), without a traceback.
    served.core.catalogs._path.rename(served.core.catalogs._path.with_suffix(".moved"))
    try:
        served.core.catalogs._checked = 0
        with served.client() as client:
            health = client.get("/health")
        assert health.status_code in (200, 503)
    finally:
        served.core.catalogs._path.with_suffix(".moved").rename(served.core.catalogs._path)


def test_curl_runs_a_statement(efs_http: Served, efs_dir: Path) -> None:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    out = subprocess.run(
        [curl, "-sS", "-X", "POST", f"{efs_http.url}/api/v1/statements",
         "-H", "content-type: application/json",
         "-d", json.dumps({"sql": STATE_TOTALS, "format": "csv"})],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    table = pacsv.read_csv(io.BytesIO(out.stdout.encode()))
    _equal(table, _direct(efs_dir, STATE_TOTALS))


def test_many_http_and_flight_clients_at_once(make_http: Any, efs_dir: Path) -> None:
    import adbc_driver_flightsql.dbapi as flight_sql

    served = make_http(efs_dir, max_running_jobs=4)
    expected = _direct(efs_dir, STATE_TOTALS)["v"].to_pylist()

    def over_http(n: int) -> list[float]:
        with served.client() as client:
            answer = client.post(
                "/api/v1/statements", json={"sql": STATE_TOTALS, "format": "arrow"}
            )
            if answer.status_code == 202:
                job = _wait_state(client, answer.json()["id"], {"SUCCEEDED", "FAILED"})
                answer = client.get(job["links"]["result"])
            return _arrow(answer)["v"].to_pylist()

    def over_flight(n: int) -> list[float]:
        with flight_sql.connect(served.flight_uri, autocommit=True) as conn:
            cur = conn.cursor()
            for _ in range(20):
                try:
                    cur.execute(STATE_TOTALS)
                    rows = cur.fetch_arrow_table()["v"].to_pylist()
                    cur.close()
                    return rows
                except flight_sql.Error as exc:  # busy: the shared limit; try again
                    assert "limit" in str(exc)
                    time.sleep(0.2)
            raise AssertionError("Flight stayed busy")

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(over_http, range(16))) + list(pool.map(over_flight, range(4)))
    for rows in answers:
        assert rows == pytest.approx(expected, rel=1e-12)
    with served.client() as client:
        states = [j["state"] for j in client.get("/api/v1/statements").json()["statements"]]
    assert states.count("SUCCEEDED") == 16
