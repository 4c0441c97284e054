"""Load and stream faults against a real Flight SQL server (issue 7).

- A small version of ``bench/load.py``: 8 clients × 25 mixed queries (metadata, small,
  large, failing, cancelled), every answer right or a clean error, every handle released.
- A client that disconnects mid-stream, a query cancelled mid-stream, an engine error in
  the middle of a stream: the server stays up, later queries succeed, nothing leaks.
- Auth: a token expires after the server's TTL.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
import traceback
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.flight as flight
import pytest

from dsgrid_sql.flight_server import FlightSqlServer, ServerConfig, proto
from dsgrid_sql.generator import GeneratorSpec, generate_registry

from .conftest import PASSWORD, USER

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import load  # noqa: E402

LARGE = load.LARGE


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # hours=168: the residential dataset has 80,640 rows, more than one engine batch.
    spec = GeneratorSpec(counties=6, hours=168, datasets=3)
    return generate_registry(tmp_path_factory.mktemp("load") / "reg", spec).path


@pytest.fixture(scope="module")
def reference(registry: Path) -> dict:
    return load.reference(registry)


def start(registry: Path, **config: object) -> FlightSqlServer:
    # All test clients are one (anonymous) user: the per-user limit is raised to the load.
    settings: dict[str, object] = {
        "batch_rows": 2048,
        "query_timeout_s": 60,
        "max_concurrent_queries": 32,
        "max_queries_per_user": 32,
    }
    settings.update(config)
    return FlightSqlServer(ServerConfig(registry=registry, port=0, **settings))  # type: ignore[arg-type]


@pytest.fixture()
def server(registry: Path) -> Iterator[FlightSqlServer]:
    running = start(registry)
    try:
        yield running
    finally:
        running.close()


def uri(server: FlightSqlServer) -> str:
    return f"grpc://127.0.0.1:{server.port}"


def statement(sql: str) -> flight.FlightDescriptor:
    return flight.FlightDescriptor.for_command(
        proto.pack(proto.sql("CommandStatementQuery")(query=sql))
    )


def open_handles(server: FlightSqlServer) -> dict[str, int]:
    counts = dict(server.state.counts())
    counts["engine_running"] = server.state.engine.running_count()
    counts["jobs_running"] = server.core.jobs.running()
    return counts


def wait_until_released(server: FlightSqlServer, *, sessions: bool = False) -> None:
    """Every query handle released (an abandoned stream ends a moment after its client
    goes). The deadline is a safety net, not a timing assertion."""
    keys = [k for k in load.HANDLES if sessions or k != "sessions"]
    deadline = time.monotonic() + 30
    while any(open_handles(server)[k] for k in keys):
        assert time.monotonic() < deadline, open_handles(server)
        time.sleep(0.02)


def assert_still_answers(server: FlightSqlServer, reference: dict) -> None:
    client = flight.FlightClient(uri(server))
    sql = load.SMALL[0]
    info = client.get_flight_info(statement(sql))
    # load.same: the bench's rule (keys equal, sums at a relative tolerance), since threaded
    # double sums may differ in the last bit from one run of a query to the next.
    assert load.same(client.do_get(info.endpoints[0].ticket).read_all(), reference["small"][sql])
    client.close()


# -- load ------------------------------------------------------------------------------------


def test_concurrent_mixed_load(server: FlightSqlServer, reference: dict) -> None:
    clients, queries = 8, 25
    outcomes: list[list[load.Outcome]] = [[] for _ in range(clients)]
    threads = [
        threading.Thread(
            target=load.client_loop, args=(uri(server), reference, queries, 100 + i, outcomes[i])
        )
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
        assert not thread.is_alive()
    flat = [o for per_client in outcomes for o in per_client]
    assert len(flat) == clients * queries
    assert {o.kind for o in flat} == set(load.KINDS)
    assert [f"{o.kind}: {o.detail}" for o in flat if not o.ok] == []
    # Every client closed its session: nothing at all stays open.
    wait_until_released(server, sessions=True)
    assert_still_answers(server, reference)


# -- stream faults ---------------------------------------------------------------------------


# 80,640 x 200 rows (hundreds of MB): far more than gRPC's flow-control window can buffer, so
# the query is still running when the cancel arrives, however slowly the client reads. (With
# LARGE alone, a loaded machine let the server send every batch before the cancel came, and
# NOT_CANCELLABLE was the right answer.)
UNBUFFERABLE = (
    "SELECT r.geography, r.metric, r.timestamp, r.value, s.value AS other "
    "FROM dsgrid_demo_residential r CROSS JOIN (SELECT value FROM dsgrid_demo_residential LIMIT 200) s"
)


def test_client_disconnecting_mid_stream(server: FlightSqlServer, reference: dict) -> None:
    for _ in range(3):
        client = flight.FlightClient(uri(server))
        info = client.get_flight_info(statement(UNBUFFERABLE))
        reader = client.do_get(info.endpoints[0].ticket)
        assert reader.read_chunk().data.num_rows > 0
        assert open_handles(server)["running"] == 1
        client.close()  # the connection goes away with the stream half read
        del reader
        wait_until_released(server)
    assert_still_answers(server, reference)


def test_abandoned_stream_on_a_live_connection(server: FlightSqlServer, reference: dict) -> None:
    client = flight.FlightClient(uri(server))
    for _ in range(3):
        info = client.get_flight_info(statement(LARGE))
        reader = client.do_get(info.endpoints[0].ticket)
        reader.read_chunk()
        reader.cancel()
        wait_until_released(server)
    table = client.do_get(client.get_flight_info(statement(LARGE)).endpoints[0].ticket)
    assert table.read_all().num_rows == reference["large_rows"]
    client.close()


def test_cancel_flight_info_mid_stream(server: FlightSqlServer, reference: dict) -> None:
    client = flight.FlightClient(uri(server))
    info = client.get_flight_info(statement(UNBUFFERABLE))
    reader = client.do_get(info.endpoints[0].ticket)
    received = reader.read_chunk().data.num_rows
    results = list(client.do_action(load._cancel_request(info)))
    assert load._cancel_status(results[0].body.to_pybytes()) == 1  # CANCELLED
    with pytest.raises(flight.FlightCancelledError, match="cancelled"):
        for chunk in reader:
            received += chunk.data.num_rows
    assert received < reference["large_rows"] * 200
    wait_until_released(server)
    # Cancelling a ticket before DoGet drops it; redeeming it then is a clean error.
    info = client.get_flight_info(statement(LARGE))
    results = list(client.do_action(load._cancel_request(info)))
    assert load._cancel_status(results[0].body.to_pybytes()) == 1
    with pytest.raises(pa.ArrowInvalid, match="Unknown or expired ticket"):
        client.do_get(info.endpoints[0].ticket).read_all()
    client.close()
    wait_until_released(server)
    assert_still_answers(server, reference)


@pytest.fixture(scope="module")
def corrupt_registry(
    registry: Path,
    tmp_path_factory: pytest.TempPathFactory,
    destroy_last_data_page: Callable[[Path, int], None],
) -> Path:
    """The registry with one data page of the residential table's last row group destroyed:
    the footer reads fine, so the query starts, and fails only when the scan reaches it."""
    folder = tmp_path_factory.mktemp("corrupt") / "reg"
    shutil.copytree(registry.parent, folder)
    path = folder / "data" / "data" / "dsgrid_demo_residential" / "1.0.0" / "table.parquet"
    destroy_last_data_page(path, 4096)
    return folder / "registry.db"


def test_engine_error_in_the_middle_of_a_stream(corrupt_registry: Path) -> None:
    """The engine fails after DoGet began streaming (schema sent, the query running). The
    mapped plan hashes the scan before the first row leaves, so the failure arrives before
    the first batch here; the engine-level test below fails after a batch."""
    server = start(corrupt_registry, batch_rows=1024)
    try:
        client = flight.FlightClient(uri(server))
        info = client.get_flight_info(statement(LARGE))
        reader = client.do_get(info.endpoints[0].ticket)
        with pytest.raises(flight.FlightInternalError) as err:
            for _chunk in reader:
                pass
        message = str(err.value)
        assert "DuckDB could not finish the query" in message
        assert "dsgrid_demo_residential/1.0.0/table.parquet" in message
        assert "Traceback" not in message
        wait_until_released(server)
        # The server stays up: other datasets answer, on the same connection.
        info = client.get_flight_info(
            statement("SELECT COUNT(*) AS n FROM dsgrid_demo_commercial")
        )
        assert client.do_get(info.endpoints[0].ticket).read_all().column("n")[0].as_py() > 0
        client.close()
    finally:
        server.close()


def test_engine_reader_dropped_before_its_first_batch_releases_the_query() -> None:
    """An engine stream closed or dropped unread (a client gone before DoGet pulled a batch)
    releases the engine's cursor; a cast failing on a later row fails mid-stream."""
    from dsgrid_sql.engine.duckdb import DuckDBEngine
    from dsgrid_sql.errors import QueryExecutionError

    engine = DuckDBEngine(threads=1)
    try:
        reader = engine.execute("SELECT * FROM range(200000) t(i)", [])
        assert engine.running_count() == 1
        del reader
        assert engine.running_count() == 0
        reader = engine.execute("SELECT * FROM range(10) t(i)", [])
        reader.close()
        del reader  # pyarrow lets go of the batches only with the reader itself
        assert engine.running_count() == 0
        sql = "SELECT CAST(CASE WHEN i < 150000 THEN '1' ELSE 'x' END AS INTEGER) AS n FROM range(200000) t(i)"
        reader = engine.execute(sql, [])
        assert reader.read_next_batch().num_rows > 0
        with pytest.raises(QueryExecutionError, match="could not finish the query: Conversion"):
            reader.read_all()
        assert engine.running_count() == 0
    finally:
        engine.close()


# -- auth --------------------------------------------------------------------------------------


def test_tokens_expire_after_the_servers_ttl(registry: Path, users_file: Path) -> None:
    # Long enough to outlast signing in on a loaded machine, short enough to wait out.
    server = start(registry, users_file=users_file, token_ttl_s=2)
    try:
        client = flight.FlightClient(uri(server))
        header = client.authenticate_basic_token(USER.encode(), PASSWORD.encode())
        options = flight.FlightCallOptions(headers=[header])
        assert client.list_actions(options)
        deadline = time.monotonic() + 30
        token = header[1].decode().split(" ", 1)[1]

        def expired() -> bool:
            return server.authenticator.verify(token) is None

        while not expired():
            assert time.monotonic() < deadline
            time.sleep(0.2)
        with pytest.raises(flight.FlightUnauthenticatedError):
            client.list_actions(options)
        client.close()
    finally:
        server.close()
    # The users file holds an scrypt hash, never the password.
    text = users_file.read_text()
    assert PASSWORD not in text and "scrypt$" in text


def test_errors_answered_leave_no_formatted_lines_behind(server: FlightSqlServer) -> None:
    """pyarrow's server formats an error's detail with traceback.format_exception and never
    releases the lines (~250 bytes a failed query, for the server's life); the errors the
    server answers are formatted as one string per class (flight_server/status.py)."""
    client = flight.FlightClient(uri(server))

    def fail(times: int) -> str:
        for _ in range(times):
            with pytest.raises(pa.ArrowInvalid) as caught:
                client.get_flight_info(statement("SELECT no_such_column FROM data"))
        return str(caught.value)

    fail(3)
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        message = fail(60)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    client.close()
    assert "Unknown column 'no_such_column'" in message
    assert message.endswith("Detail: Python exception: InvalidArgument")
    grown = [
        stat
        for stat in after.compare_to(before, "filename")
        if stat.traceback[0].filename == traceback.__file__ and stat.count_diff > 0
    ]
    assert grown == []  # before: 60 lines, one a failed statement
