"""A real S3-compatible server on 127.0.0.1 for tests and benchmarks: moto's S3 (the same
WSGI application its ``ThreadedMotoServer`` runs), on port 0, counting the bytes of every
response body so a benchmark can say how much a query read.

Used by tests/storage (the suite's S3 fixture, in the test process) and ``python -m bench s3``,
which runs it as a process of its own (:class:`S3ServerProcess`) so that the server's Python
does not share the measured process's interpreter lock: ``GET /__counts`` answers the counts,
``POST /__counts`` resets them. ``python -m bench.s3_server`` prints the endpoint and serves
until its standard input closes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

COUNTS_PATH = "/__counts"
# The SDKs probe the EC2 instance metadata address for credentials when none are set: off.
FAKE_ENVIRONMENT = {
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_ACCESS_KEY_ID": "testing-key-id",
    "AWS_SECRET_ACCESS_KEY": "testing-secret-key-value",
    "AWS_REGION": "us-east-1",
}


class LocalS3Server:
    """moto's S3 on 127.0.0.1 in a thread; ``bytes_sent`` counts response bytes."""

    def __init__(self) -> None:
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.bytes_sent = 0
        self.requests = 0

    def start(self) -> LocalS3Server:
        try:
            from moto.moto_server.werkzeug_app import (
                DomainDispatcherApplication,
                MotoRequestHandler,
                create_backend_app,
            )
            from werkzeug.serving import make_server
        except ImportError:
            raise SystemExit(
                "The local S3 server needs moto, which is not installed; install it with: "
                "pip install 'moto[server]' (part of dsgrid-sql's dev extras)."
            ) from None

        app = DomainDispatcherApplication(create_backend_app)

        def counting(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
            if environ.get("PATH_INFO") == COUNTS_PATH:
                if environ.get("REQUEST_METHOD") == "POST":
                    self.reset_counts()
                body = json.dumps({"bytes": self.bytes_sent, "requests": self.requests}).encode()
                start_response("200 OK", [("Content-Type", "application/json")])
                return [body]
            return count(environ, start_response)

        def count(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
            with self._lock:
                self.requests += 1
            for chunk in app(environ, start_response):
                with self._lock:
                    self.bytes_sent += len(chunk)
                yield chunk

        self._server = make_server(
            "127.0.0.1",
            0,
            counting,
            threaded=True,
            request_handler=_QuietHandler(MotoRequestHandler),
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def reset_counts(self) -> None:
        with self._lock:
            self.bytes_sent = 0
            self.requests = 0

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)


def _QuietHandler(base: Any) -> Any:
    class Quiet(base):  # type: ignore[misc, valid-type]
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass  # one line per request would drown a test's output

    return Quiet


@contextmanager
def fake_aws_environment(endpoint: str) -> Iterator[None]:
    """Fake credentials, the local endpoint, no metadata probes: for this block."""
    values = {**FAKE_ENVIRONMENT, "AWS_ENDPOINT_URL": endpoint}
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def upload_tree(local: Path, url: str, endpoint: str) -> None:
    """Copy the folder ``local`` to ``s3://bucket/prefix`` (the bucket is created)."""
    import pyarrow.fs as pafs

    fs = pafs.S3FileSystem(
        endpoint_override=endpoint.split("://", 1)[1],
        scheme="http",
        region="us-east-1",
        access_key=FAKE_ENVIRONMENT["AWS_ACCESS_KEY_ID"],
        secret_key=FAKE_ENVIRONMENT["AWS_SECRET_ACCESS_KEY"],
        allow_bucket_creation=True,
    )
    bucket_key = url.split("://", 1)[1].rstrip("/")
    bucket = bucket_key.split("/", 1)[0]
    fs.create_dir(bucket)
    pafs.copy_files(str(local), bucket_key, destination_filesystem=fs)


class S3ServerProcess:
    """The same server in a child process (``python -m bench.s3_server``)."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.s3_server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=str(Path(__file__).resolve().parents[1]),
        )
        assert self._process.stdout is not None
        self.endpoint = self._process.stdout.readline().strip()
        if not self.endpoint.startswith("http://"):
            raise RuntimeError("the S3 server process did not start")

    def counts(self, reset: bool = False) -> tuple[int, int]:
        request = urllib.request.Request(
            self.endpoint + COUNTS_PATH, method="POST" if reset else "GET"
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            found = json.loads(answer.read())
        return found["bytes"], found["requests"]

    def stop(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()  # the child stops when its input closes
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def main() -> None:
    server = LocalS3Server().start()
    print(server.endpoint, flush=True)
    sys.stdin.read()  # until the parent closes it (or exits)
    server.stop()


if __name__ == "__main__":
    main()
