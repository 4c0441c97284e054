"""Jobs over Flight: the jobs.* actions, GetFlightInfo/DoGet on ("jobs", id), cancellation,
owners, restarts and hostile requests, against real servers on 127.0.0.1 port 0 with the
real pyarrow.flight client (ADBC has no custom actions; it checks the counted statements)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.flight as flight
import pyarrow.parquet as pq
import pytest

import dsgrid_sql
from dsgrid_sql.flight_server import FlightSqlServer, ServerConfig, proto
from dsgrid_sql.flight_server.auth import add_user

# Minutes of DuckDB work: long enough to be cancelled or killed while it runs.
LONG = "SELECT SUM(a.x * b.x) AS s FROM range(9000000) a(x), range(9000) b(x)"
STATES = "SELECT us_states, SUM(value) AS v FROM data GROUP BY ALL ORDER BY 1"
FINISHED = {"SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED"}


def wait_until(condition: Callable[[], Any], timeout: float = 60.0, what: str = "") -> Any:
    """Poll ``condition`` until it is truthy (its value), failing after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.02)


class Client:
    """A pyarrow Flight client with the jobs calls (one gRPC connection each)."""

    def __init__(self, uri: str, user: str | None = None, password: str | None = None) -> None:
        self.flight = flight.FlightClient(uri)
        headers = []
        if user is not None:
            assert password is not None
            headers.append(self.flight.authenticate_basic_token(user, password))
        self.options = flight.FlightCallOptions(headers=headers)

    def action(self, name: str, body: Any = None, raw: bytes | None = None) -> list[Any]:
        payload = raw if raw is not None else json.dumps(body or {}).encode()
        results = self.flight.do_action(flight.Action(name, payload), self.options)
        return [json.loads(r.body.to_pybytes()) for r in results]

    def submit(self, sql: str, parameters: Any = None) -> dict[str, Any]:
        body = {"sql": sql} if parameters is None else {"sql": sql, "parameters": parameters}
        return self.action("jobs.submit", body)[0]

    def status(self, job_id: str, wait_timeout: float | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"id": job_id}
        if wait_timeout is not None:
            body["wait_timeout"] = wait_timeout
        return self.action("jobs.status", body)[0]

    def wait(self, job_id: str, until: Callable[[dict[str, Any]], bool] | None = None,
             timeout: float = 120.0) -> dict[str, Any]:  # fmt: skip
        until = until or (lambda r: r["state"] in FINISHED)
        deadline = time.monotonic() + timeout
        record = self.status(job_id)
        while not until(record):
            assert time.monotonic() < deadline, record
            record = self.status(job_id, wait_timeout=5)
        return record

    def info(self, job_id: str) -> flight.FlightInfo:
        descriptor = flight.FlightDescriptor.for_path("jobs", job_id)
        return self.flight.get_flight_info(descriptor, self.options)

    def fetch(self, job_id: str) -> pa.Table:
        info = self.info(job_id)
        assert len(info.endpoints) == 1
        return self.flight.do_get(info.endpoints[0].ticket, self.options).read_all()

    def cancel_flight_info(self, info: flight.FlightInfo) -> int:
        request = proto.flight("CancelFlightInfoRequest")(info=info.serialize())
        action = flight.Action("CancelFlightInfo", request.SerializeToString())
        (result,) = list(self.flight.do_action(action, self.options))
        return proto.flight("CancelFlightInfoResult").FromString(result.body.to_pybytes()).status

    def close(self) -> None:
        self.flight.close()


@pytest.fixture
def start(efs_dir: Path, tmp_path: Path) -> Iterator[Callable[..., FlightSqlServer]]:
    """Servers of this test, closed at its end; jobs under the test's folder by default."""
    started: list[FlightSqlServer] = []

    def run(**config: Any) -> FlightSqlServer:
        config.setdefault("jobs_dir", tmp_path / "jobs")
        server = FlightSqlServer(ServerConfig(registry=efs_dir, port=0, **config))
        started.append(server)
        return server

    yield run
    for server in started:
        server.close()


@pytest.fixture(scope="module")
def server(efs_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlightSqlServer]:
    jobs_dir = tmp_path_factory.mktemp("flight_jobs")
    server = FlightSqlServer(ServerConfig(registry=efs_dir, port=0, jobs_dir=jobs_dir))
    yield server
    server.close()


@pytest.fixture
def client(server: FlightSqlServer) -> Iterator[Client]:
    client = Client(server.uri)
    yield client
    client.close()


def direct(efs_dir: Path, sql: str, params: Any = None) -> pa.Table:
    with dsgrid_sql.connect(efs_dir) as session:
        return session.sql(sql, params).to_arrow()


def idle(server: FlightSqlServer) -> bool:
    return server.core.engine.running_count() == 0 and server.core.admission.running() == 0


# -- submit, poll, fetch -------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_submit_poll_fetch_equals_the_direct_query(
    start: Callable[..., FlightSqlServer], efs_dir: Path, engine: str
) -> None:
    if engine == "spark":
        pytest.importorskip("pyspark")
    server = start(engine=engine)
    submitter = Client(server.uri)
    record = submitter.submit(STATES)
    assert re.fullmatch(r"[0-9a-f]{32}", record["id"])
    assert record["state"] in ("QUEUED", "RUNNING", "SUCCEEDED")
    assert record["owner"] == "anonymous" and record["sql"] == STATES
    assert record["engine"] == engine and "runner" not in record
    done = submitter.wait(record["id"])
    assert done["state"] == "SUCCEEDED", done
    assert done["rows"] == 4 and done["progress"] == 1.0
    assert [c["name"] for c in done["columns"]] == ["us_states", "v"]

    # Another connection (as another process would) redeems the job's ticket.
    fetcher = Client(server.uri)
    info = fetcher.info(record["id"])
    assert info.total_records == 4
    assert info.endpoints[0].locations == []  # this same service
    table = fetcher.flight.do_get(info.endpoints[0].ticket).read_all()
    assert table.schema.equals(info.schema)  # metadata aside, as Go clients compare
    lineage = json.loads(table.schema.metadata[b"dsgrid_sql"])
    assert lineage["query"] == STATES and lineage["engine"] == engine
    expected = direct(efs_dir, STATES)
    assert table.column("us_states").to_pylist() == expected.column("us_states").to_pylist()
    assert table.column("v").to_pylist() == pytest.approx(
        expected.column("v").to_pylist(), rel=1e-9
    )
    schema = fetcher.flight.get_schema(flight.FlightDescriptor.for_path("jobs", record["id"]))
    assert schema.schema.equals(info.schema)
    # The ticket can be redeemed again (the result is kept), unlike a statement's.
    assert fetcher.flight.do_get(info.endpoints[0].ticket).read_all().equals(table)
    submitter.close()
    fetcher.close()


def test_parameters_are_bound(
    client: Client, efs_dir: Path, same_answer: Callable[[pa.Table, pa.Table], None]
) -> None:
    sql = "SELECT geography, SUM(value) AS v FROM data WHERE geography = ? GROUP BY 1"
    record = client.wait(client.submit(sql, ["08031"])["id"])
    assert record["state"] == "SUCCEEDED" and record["parameters"] == ["08031"]
    # Two runs of a threaded SUM may differ in the last bit: compare as two runs.
    same_answer(client.fetch(record["id"]), direct(efs_dir, sql, ["08031"]))


def test_the_callers_session_settings_apply(server: FlightSqlServer) -> None:
    """A job is read in the session of the connection that submitted it (its dialect)."""
    sql = "SELECT `geography` AS g FROM test_efs.data WHERE geography = '08031' LIMIT 1"
    fresh = Client(server.uri)
    with pytest.raises(pa.ArrowInvalid, match="unexpected '`'"):
        fresh.submit(sql)  # DuckDB's dialect: backticks are no quotes
    request = proto.flight("SetSessionOptionsRequest")()
    request.session_options["dialect"].string_value = "spark"
    list(fresh.flight.do_action(flight.Action("SetSessionOptions", request.SerializeToString())))
    record = fresh.wait(fresh.submit(sql)["id"])
    assert record["state"] == "SUCCEEDED"
    assert fresh.fetch(record["id"]).to_pylist() == [{"g": "08031"}]
    fresh.close()


def test_a_large_result_streams_in_batches_under_16_mib(client: Client) -> None:
    rows = 3_000_000
    sql = f"SELECT x, x * 2 AS y, x * 3 AS z FROM range({rows}) t(x)"
    record = client.wait(client.submit(sql)["id"])
    assert record["state"] == "SUCCEEDED" and record["rows"] == rows
    info = client.info(record["id"])
    reader = client.flight.do_get(info.endpoints[0].ticket)
    count, total, largest = 0, 0, 0
    for chunk in reader:
        largest = max(largest, chunk.data.nbytes)
        count += chunk.data.num_rows
        total += pa.compute.sum(chunk.data.column("x")).as_py()
    assert count == rows and total == rows * (rows - 1) // 2
    assert 0 < largest < 16 * 2**20


def test_list_and_delete(server: FlightSqlServer) -> None:
    client = Client(server.uri)
    first = client.wait(client.submit("SELECT 1 AS one")["id"])
    second = client.wait(client.submit("SELECT 2 AS two")["id"])
    listed = [r["id"] for r in client.action("jobs.list")]
    assert listed.index(second["id"]) < listed.index(first["id"])  # newest first
    assert client.action("jobs.delete", {"id": first["id"]}) == [
        {"id": first["id"], "deleted": True}
    ]
    assert first["id"] not in [r["id"] for r in client.action("jobs.list")]
    with pytest.raises(pa.ArrowKeyError, match="Unknown job"):
        client.status(first["id"])
    with pytest.raises(pa.ArrowKeyError, match="Unknown job"):
        client.info(first["id"])
    client.close()


def test_list_actions_names_the_job_actions(client: Client) -> None:
    names = {a.type for a in client.flight.list_actions()}
    assert {"jobs.submit", "jobs.status", "jobs.list", "jobs.cancel", "jobs.delete"} <= names
    assert "CancelFlightInfo" in names


def test_a_failed_job_reports_its_error(client: Client) -> None:
    record = client.wait(client.submit("SELECT CAST(geography || 'x' AS INTEGER) FROM data")["id"])
    assert record["state"] == "FAILED"
    assert record["error"]["code"] == "execution_error"
    with pytest.raises(pa.ArrowInvalid, match="has no result: it is FAILED"):
        client.info(record["id"])


def test_a_mistake_in_the_sql_is_refused_at_submit(client: Client) -> None:
    before = {r["id"] for r in client.action("jobs.list")}
    with pytest.raises(pa.ArrowInvalid, match="Did you mean 'SELECT'"):
        client.submit("SELEC 1")
    with pytest.raises(pa.ArrowKeyError, match="nosuchtable"):
        client.submit("SELECT * FROM nosuchtable")
    assert {r["id"] for r in client.action("jobs.list")} == before


# -- waiting and cancelling ----------------------------------------------------------------------


def test_status_waits_for_a_change_then_cancel(start: Callable[..., FlightSqlServer]) -> None:
    server = start()
    client = Client(server.uri)
    record = client.submit(LONG)
    running = client.wait(record["id"], until=lambda r: r["state"] == "RUNNING")
    assert running["started_at"] is not None
    # Unfinished: fetching is a clear error naming the state.
    with pytest.raises(pa.ArrowInvalid, match="is RUNNING: its result is not ready yet"):
        client.info(record["id"])
    with pytest.raises(pa.ArrowInvalid, match="RUNNING"):
        client.flight.do_get(flight.Ticket(b"jobs/" + record["id"].encode())).read_all()
    # A status call waiting for a change returns when the state changes (cancelled from
    # another connection meanwhile), not at its timeout.
    other = Client(server.uri)
    answered: dict[str, Any] = {}
    waiter = threading.Thread(
        target=lambda: answered.update(client.status(record["id"], wait_timeout=60))
    )
    started = time.monotonic()
    waiter.start()
    cancelled = other.action("jobs.cancel", {"id": record["id"]})[0]
    waiter.join(60)
    assert time.monotonic() - started < 50
    assert cancelled["state"] == "CANCELLED" and answered["state"] == "CANCELLED"
    assert cancelled["error"]["code"] == "cancelled"
    wait_until(lambda: idle(server), what="the engine to stop")
    # A finished job is left as it is.
    assert other.action("jobs.cancel", {"id": record["id"]})[0]["state"] == "CANCELLED"
    client.close()
    other.close()


def test_cancel_flight_info_with_the_jobs_descriptor(
    start: Callable[..., FlightSqlServer],
) -> None:
    server = start()
    client = Client(server.uri)
    record = client.submit(LONG)
    client.wait(record["id"], until=lambda r: r["state"] == "RUNNING")
    descriptor = flight.FlightDescriptor.for_path("jobs", record["id"])
    info = flight.FlightInfo(pa.schema([]), descriptor, [], -1, -1)
    assert client.cancel_flight_info(info) == 1  # CANCELLED
    assert client.status(record["id"])["state"] == "CANCELLED"
    wait_until(lambda: idle(server), what="the engine to stop")
    assert client.cancel_flight_info(info) == 3  # NOT_CANCELLABLE: finished
    # A FlightInfo naming the job only by its ticket works as well.
    done = client.wait(client.submit("SELECT 1 AS one")["id"])
    assert client.cancel_flight_info(client.info(done["id"])) == 3
    unknown = flight.FlightDescriptor.for_path("jobs", "0" * 32)
    with pytest.raises(pa.ArrowKeyError, match="Unknown job"):
        client.cancel_flight_info(flight.FlightInfo(pa.schema([]), unknown, [], -1, -1))
    client.close()


def test_cancel_flight_info_of_a_statement_still_works(efs_server: Any) -> None:
    client = Client(efs_server.uri)
    command = proto.pack(proto.sql("CommandStatementQuery")(query=STATES))
    info = client.flight.get_flight_info(flight.FlightDescriptor.for_command(command))
    assert client.cancel_flight_info(info) == 1  # the ticket is dropped before DoGet
    with pytest.raises(pa.ArrowInvalid, match="Unknown or expired ticket"):
        client.flight.do_get(info.endpoints[0].ticket).read_all()
    client.close()


def test_a_job_queued_behind_others_is_cancelled_at_once(
    start: Callable[..., FlightSqlServer],
) -> None:
    server = start(max_running_jobs=1)
    client = Client(server.uri)
    first = client.submit(LONG)
    client.wait(first["id"], until=lambda r: r["state"] == "RUNNING")
    second = client.submit("SELECT 1 AS one")
    assert client.status(second["id"])["state"] == "QUEUED"
    assert client.action("jobs.cancel", {"id": second["id"]})[0]["state"] == "CANCELLED"
    assert client.action("jobs.cancel", {"id": first["id"]})[0]["state"] == "CANCELLED"
    wait_until(lambda: idle(server), what="the engine to stop")
    client.close()


# -- restarts --------------------------------------------------------------------------------------


def test_finished_jobs_outlive_the_server(
    start: Callable[..., FlightSqlServer], efs_dir: Path, tmp_path: Path
) -> None:
    first = start()
    client = Client(first.uri)
    done = client.wait(client.submit(STATES)["id"])
    running = client.submit(LONG)
    client.wait(running["id"], until=lambda r: r["state"] == "RUNNING")
    client.close()
    first.close()  # a clean stop fails the job it was running
    second = start()
    client = Client(second.uri)
    assert client.status(done["id"])["state"] == "SUCCEEDED"
    assert client.fetch(done["id"]).column("us_states").to_pylist() == ["CA", "CO", "NY", "TX"]
    stopped = client.status(running["id"])
    assert stopped["state"] == "FAILED" and stopped["error"]["code"] == "server_stopped"
    client.close()


def test_a_waiting_status_call_does_not_hold_up_a_stopping_server(
    start: Callable[..., FlightSqlServer],
) -> None:
    """Shutdown waits for every call in progress: a jobs.status waiting up to 60 s for a
    change is answered as soon as the server stops."""
    server = start()
    client = Client(server.uri)
    record = client.submit(LONG)
    client.wait(record["id"], until=lambda r: r["state"] == "RUNNING")
    entered = threading.Event()
    wait = server.core.jobs.wait

    def spied(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        return wait(*args, **kwargs)

    server.core.jobs.wait = spied  # type: ignore[method-assign]
    answered: list[Any] = []

    def ask() -> None:
        try:
            answered.append(client.status(record["id"], wait_timeout=60))
        except Exception as exc:  # the connection may go with the server
            answered.append(exc)

    waiting = threading.Thread(target=ask)
    waiting.start()
    assert entered.wait(30)
    started = time.monotonic()
    server.close()
    assert time.monotonic() - started < 50  # not the call's 60 s (stopping the job counts)
    waiting.join(30)
    assert answered
    client.close()


def _serve_in_subprocess(efs_dir: Path, jobs_dir: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "DSGRID_SQL_JOBS_DIR": str(jobs_dir), "DSGRID_SQL_REGISTRY": ""}
    process = subprocess.Popen(
        [sys.executable, "-m", "dsgrid_sql", "serve", "--registry", str(efs_dir), "--port", "0"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        found = re.search(r"on (grpc://\S+)", line)
        if found:
            return process, found.group(1)
    process.kill()
    raise AssertionError("the server did not start: " + "".join(seen))


def test_a_job_running_when_its_server_died_is_failed_after_the_restart(
    start: Callable[..., FlightSqlServer], efs_dir: Path, tmp_path: Path
) -> None:
    jobs_dir = tmp_path / "jobs"
    process, uri = _serve_in_subprocess(efs_dir, jobs_dir)
    try:
        client = Client(uri)
        done = client.wait(client.submit(STATES)["id"])
        running = client.submit(LONG)
        client.wait(running["id"], until=lambda r: r["state"] == "RUNNING")
        client.close()
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        if process.stderr is not None:
            process.stderr.close()
    server = start(jobs_dir=jobs_dir)
    client = Client(server.uri)
    failed = client.status(running["id"])
    assert failed["state"] == "FAILED" and failed["error"]["code"] == "server_restarted"
    assert "restarted" in failed["error"]["message"]
    assert client.fetch(done["id"]).num_rows == 4
    assert not list(jobs_dir.glob("*/.result.parquet.partial-*"))
    client.close()


# -- owners ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_users(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("jobs_auth") / "users.toml"
    add_user(path, "ann", "ann's password")
    add_user(path, "bob", "bob's password")
    return path


def test_only_the_owner_sees_fetches_or_cancels_a_job(
    start: Callable[..., FlightSqlServer], two_users: Path
) -> None:
    server = start(users_file=two_users)
    ann = Client(server.uri, "ann", "ann's password")
    bob = Client(server.uri, "bob", "bob's password")
    done = ann.wait(ann.submit(STATES)["id"])
    assert done["owner"] == "ann"
    running = ann.submit(LONG)
    ann.wait(running["id"], until=lambda r: r["state"] == "RUNNING")

    def refusal(call: Callable[[], Any]) -> str:
        with pytest.raises(pa.ArrowKeyError) as caught:
            call()
        first = str(caught.value).split(". Detail:")[0]
        return first.replace(done["id"], "ID").replace(running["id"], "ID")

    made_up = "0" * 32
    unknown = refusal(lambda: bob.status(made_up)).replace(made_up, "ID")
    for job_id in (done["id"], running["id"]):
        assert refusal(lambda j=job_id: bob.status(j)) == unknown
        assert refusal(lambda j=job_id: bob.status(j, wait_timeout=1)) == unknown
        assert refusal(lambda j=job_id: bob.info(j)) == unknown
        assert refusal(lambda j=job_id: bob.action("jobs.cancel", {"id": j})) == unknown
        assert refusal(lambda j=job_id: bob.action("jobs.delete", {"id": j})) == unknown
        ticket = flight.Ticket(b"jobs/" + job_id.encode())
        assert refusal(lambda t=ticket: bob.flight.do_get(t, bob.options).read_all()) == unknown
        info = flight.FlightInfo(
            pa.schema([]), flight.FlightDescriptor.for_path("jobs", job_id), [], -1, -1
        )
        with pytest.raises(pa.ArrowKeyError):
            bob.cancel_flight_info(info)
    assert bob.action("jobs.list") == []
    assert ann.status(running["id"])["state"] == "RUNNING"  # bob's cancel did nothing
    # Without a token nothing is answered at all.
    anonymous = Client(server.uri)
    with pytest.raises(flight.FlightUnauthenticatedError):
        anonymous.action("jobs.list")
    assert ann.action("jobs.cancel", {"id": running["id"]})[0]["state"] == "CANCELLED"
    assert ann.fetch(done["id"]).num_rows == 4
    wait_until(lambda: idle(server), what="the engine to stop")
    for client in (ann, bob, anonymous):
        client.close()


# -- hostile and malformed requests ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "body", "error", "match"),
    [
        ("jobs.submit", b"{", pa.ArrowInvalid, "not JSON"),
        ("jobs.submit", b"\xff\xfe", pa.ArrowInvalid, "not JSON"),
        ("jobs.submit", b"[1, 2]", pa.ArrowInvalid, "must be a JSON object"),
        ("jobs.submit", b"{}", pa.ArrowInvalid, 'needs "sql"'),
        ("jobs.submit", b'{"sql": 42}', pa.ArrowInvalid, 'needs "sql"'),
        ("jobs.submit", b'{"sql": "  "}', pa.ArrowInvalid, 'needs "sql"'),
        ("jobs.submit", b'{"sql": "SELECT 1", "parameters": "x"}', pa.ArrowInvalid, "parameters"),
        ("jobs.submit", b'{"sql": "SELECT ?", "parameters": [[1]]}', pa.ArrowInvalid,
         "parameters"),
        ("jobs.submit", b'{"sql": "SELECT 1", "owner": "root"}', pa.ArrowInvalid,
         "no field 'owner'"),
        ("jobs.status", b"", pa.ArrowInvalid, 'needs "id"'),
        ("jobs.status", b'{"id": 7}', pa.ArrowInvalid, 'needs "id"'),
        ("jobs.status", b'{"id": "../x"}', pa.ArrowKeyError, "Unknown job '../x'"),
        ("jobs.status", b'{"id": "../../etc/passwd"}', pa.ArrowKeyError, "Unknown job"),
        ("jobs.status", b'{"id": "' + b"A" * 32 + b'"}', pa.ArrowKeyError, "Unknown job"),
        ("jobs.status", b'{"id": "' + b"0" * 32 + b'"}', pa.ArrowKeyError, "Unknown job"),
        ("jobs.status", b'{"id": "' + b"x" * 5000 + b'"}', pa.ArrowKeyError, r"Unknown job 'x+\.\.\.'"),
        ("jobs.status", b'{"id": "' + b"0" * 32 + b'", "wait_timeout": -1}', pa.ArrowInvalid,
         "cannot be negative"),
        ("jobs.status", b'{"id": "' + b"0" * 32 + b'", "wait_timeout": "soon"}',
         pa.ArrowInvalid, "number of seconds"),
        ("jobs.status", b'{"id": "' + b"0" * 32 + b'", "wait_timeout": true}',
         pa.ArrowInvalid, "number of seconds"),
        ("jobs.cancel", b'{"id": null}', pa.ArrowInvalid, 'needs "id"'),
        ("jobs.delete", b'{"id": "a/b"}', pa.ArrowKeyError, "Unknown job"),
        ("jobs.list", b'{"all": true}', pa.ArrowInvalid, "no field 'all'"),
        ("jobs.nothing", b"{}", pa.ArrowNotImplementedError, "Unknown action"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)  # fmt: skip
def test_malformed_bodies_are_clean_errors(
    client: Client, action: str, body: bytes, error: type, match: str
) -> None:
    with pytest.raises(error, match=match) as caught:
        client.action(action, raw=body)
    text = str(caught.value)
    assert "Traceback" not in text and "File " not in text
    assert len(text) < 400


def test_a_huge_body_is_refused(client: Client) -> None:
    sql = "SELECT 1 -- " + "x" * (5 * 2**20)
    with pytest.raises(pa.ArrowInvalid, match="over the limit"):
        client.action("jobs.submit", {"sql": sql})
    just_under = "SELECT 1 AS one -- " + "x" * (2 * 2**20)
    with pytest.raises(pa.ArrowInvalid, match="limit"):  # the session's SQL length limit
        client.action("jobs.submit", {"sql": just_under})


@pytest.mark.parametrize(
    ("path", "error", "match"),
    [
        ((b"jobs",), pa.ArrowInvalid, "Unknown path descriptor"),
        ((b"jobs", b"0" * 32, b"result"), pa.ArrowInvalid, "Unknown path descriptor"),
        ((b"tables", b"data"), pa.ArrowInvalid, "Unknown path descriptor"),
        ((b"jobs", b"../../etc/passwd"), pa.ArrowKeyError, "Unknown job"),
        ((b"jobs", b"\x00\x01"), pa.ArrowKeyError, r"Unknown job '\?\?'"),
        ((b"jobs", b"0" * 32), pa.ArrowKeyError, "Unknown job"),
    ],
)
def test_malformed_descriptors_and_tickets(
    client: Client, path: tuple[bytes, ...], error: type, match: str
) -> None:
    descriptor = flight.FlightDescriptor.for_path(*path)
    with pytest.raises(error, match=match):
        client.flight.get_flight_info(descriptor)
    with pytest.raises(error, match=match):
        client.flight.get_schema(descriptor)
    if len(path) == 2 and path[0] == b"jobs":
        with pytest.raises(error, match=match):
            client.flight.do_get(flight.Ticket(b"jobs/" + path[1])).read_all()


# -- budgets and metrics --------------------------------------------------------------------------


def test_disk_budgets(start: Callable[..., FlightSqlServer]) -> None:
    server = start(job_budget_per_user_bytes=64)
    client = Client(server.uri)
    outgrown = client.wait(client.submit(STATES)["id"])
    assert outgrown["state"] == "FAILED" and outgrown["error"]["code"] == "disk_budget"
    assert "outgrew the disk budget" in outgrown["error"]["message"]
    # Once kept results fill the budget, a new job is refused at once.
    server.core.jobs.store.user_budget_bytes = 0
    kept = client.wait(client.submit(STATES)["id"])
    assert kept["state"] == "SUCCEEDED"
    server.core.jobs.store.user_budget_bytes = kept["bytes"]
    with pytest.raises(pa.ArrowInvalid, match="No room for another job") as caught:
        client.submit(STATES)
    assert "jobs.delete" in str(caught.value)
    client.action("jobs.delete", {"id": kept["id"]})
    assert client.wait(client.submit("SELECT 1 AS one")["id"])["state"] == "SUCCEEDED"
    client.close()


def test_statements_and_bytes_are_counted(start: Callable[..., FlightSqlServer]) -> None:
    from adbc_driver_flightsql import dbapi as flight_sql

    server = start()

    def counted() -> dict[str, float]:
        found = {}
        for line in server.core.metrics.render().splitlines():
            if line.startswith(("dsgrid_sql_queries_total{", "dsgrid_sql_result_bytes_total{")):
                name, value = line.rsplit(" ", 1)
                found[name] = float(value)
        return found

    with flight_sql.connect(server.uri, autocommit=True) as conn:
        cur = conn.cursor()
        cur.execute(STATES)
        assert len(cur.fetchall()) == 4
        with pytest.raises(flight_sql.Error):
            cur.execute("SELEC 1")
        cur.close()
    metrics = counted()
    assert metrics['dsgrid_sql_queries_total{protocol="flight",status="ok"}'] == 1
    assert metrics['dsgrid_sql_queries_total{protocol="flight",status="error"}'] >= 1
    sent = metrics['dsgrid_sql_result_bytes_total{protocol="flight"}']
    assert sent > 0
    client = Client(server.uri)
    done = client.wait(client.submit(STATES)["id"])
    client.fetch(done["id"])
    assert counted()['dsgrid_sql_result_bytes_total{protocol="flight"}'] > sent
    client.close()


def test_the_kept_file_is_parquet_with_lineage(client: Client, server: FlightSqlServer) -> None:
    done = client.wait(client.submit(STATES)["id"])
    path = server.core.jobs.store.result_path(done["id"])
    assert pq.ParquetFile(path).metadata.num_rows == 4


def test_poll_flight_info_is_unimplemented(server: FlightSqlServer) -> None:
    """pyarrow's server cannot answer PollFlightInfo (README "Jobs"); a raw gRPC call says so
    with UNIMPLEMENTED rather than anything a client might take for an answer."""
    grpc = pytest.importorskip("grpc")
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        poll = channel.unary_unary(
            "/arrow.flight.protocol.FlightService/PollFlightInfo",
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b,
        )
        with pytest.raises(grpc.RpcError) as caught:
            poll(flight.FlightDescriptor.for_path("jobs", "0" * 32).serialize(), timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
