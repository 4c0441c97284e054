"""The query timeout and cancellation cover parsing and translating too: a statement whose
text takes longer than the limit to translate is stopped there, on Flight SQL and HTTP
alike, and the server answers the next query."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.flight as flight
import pytest

from dsgrid_sql.flight_server import proto

# Tens of thousands of OR terms (within the default 1 MiB text limit) take seconds to parse
# and translate on any machine; each text is new, so no translation is reused.
TERMS = 30_000


def _huge(offset: int) -> str:
    terms = " OR ".join(f"value = {i + offset}.5" for i in range(TERMS))
    return f"SELECT COUNT(*) AS n FROM data WHERE {terms}"


def _command(sql: str) -> flight.FlightDescriptor:
    message = proto.sql("CommandStatementQuery")(query=sql)
    return flight.FlightDescriptor.for_command(proto.pack(message))


def _count(client: flight.FlightClient, sql: str) -> int:
    info = client.get_flight_info(_command(sql))
    return client.do_get(info.endpoints[0].ticket).read_all().column(0)[0].as_py()


def _metric(text: str, status: str, protocol: str) -> int:
    match = re.search(
        rf'dsgrid_sql_queries_total{{protocol="{protocol}",status="{status}"}} (\d+)', text
    )
    return int(match.group(1)) if match else 0


def _wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_translation_over_the_timeout_is_stopped_on_flight_and_http(
    make_http: Any, efs_dir: Path
) -> None:
    served = make_http(efs_dir, query_timeout_s=0.5)
    client = flight.FlightClient(served.flight_uri)
    try:
        expected = _count(client, "SELECT COUNT(*) AS n FROM data")
        with pytest.raises(flight.FlightTimedOutError, match=r"longer than 0\.5 s"):
            client.get_flight_info(_command(_huge(0)))
        # The call's thread is free: the server answers the next query, and counted a timeout.
        assert _count(client, "SELECT COUNT(*) AS n FROM data") == expected
        assert _metric(served.core.metrics.render(), "timeout", "flight") == 1
    finally:
        client.close()
    with served.client() as http:
        answer = http.post("/api/v1/statements", json={"sql": _huge(1), "wait_timeout": 60})
        assert answer.status_code == 504, answer.text
        body = answer.json()
        assert body["code"] == "timeout" and "longer than 0.5 s" in body["message"]
        assert "Traceback" not in answer.text
        small = http.post(
            "/api/v1/statements", json={"sql": "SELECT COUNT(*) AS n FROM data"}
        ).json()
        assert small["rows"] == [[expected]]
        assert _metric(served.core.metrics.render(), "timeout", "http") == 1


def test_a_client_that_gives_up_stops_the_translation(make_http: Any, efs_dir: Path) -> None:
    """The server's limit is far away; the client's own deadline cancels the call, and the
    server stops translating at its next step instead of finishing for nobody."""
    served = make_http(efs_dir, query_timeout_s=600)
    client = flight.FlightClient(served.flight_uri)
    try:
        with pytest.raises((flight.FlightTimedOutError, flight.FlightCancelledError)):
            client.get_flight_info(_command(_huge(2)), flight.FlightCallOptions(timeout=0.5))
        assert _wait_for(lambda: _metric(served.core.metrics.render(), "cancelled", "flight") == 1)
        assert _count(client, "SELECT COUNT(*) AS n FROM data") > 0
    finally:
        client.close()


def test_an_http_client_that_hangs_up_stops_the_translation(make_http: Any, efs_dir: Path) -> None:
    """The request is sent whole and the connection closed at once: the server notices the
    hang-up at the translation's next step, counts the statement cancelled and makes no job
    (without the check it would translate for seconds and queue a job nobody can see)."""
    import json
    import socket
    from urllib.parse import urlsplit

    served = make_http(efs_dir, query_timeout_s=600)
    where = urlsplit(served.url)
    body = json.dumps({"sql": _huge(3), "wait_timeout": 60}).encode()
    head = (
        f"POST /api/v1/statements HTTP/1.1\r\nHost: {where.hostname}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((where.hostname, where.port)) as sock:
        sock.sendall(head + body)
    assert _wait_for(lambda: _metric(served.core.metrics.render(), "cancelled", "http") == 1)
    assert served.core.jobs.list("anonymous") == []
    with served.client() as http:  # and the server answers the next statement
        small = http.post("/api/v1/statements", json={"sql": "SELECT COUNT(*) AS n FROM data"})
        assert small.status_code == 200 and small.json()["rows"][0][0] > 0
