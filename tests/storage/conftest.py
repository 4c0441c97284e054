"""A real S3-compatible server (moto's S3 on 127.0.0.1, port 0) holding the test_efs registry
and its data, for the whole test run. Fake credentials and no instance-metadata probes: no
SDK reaches past this machine."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.s3_server import LocalS3Server, fake_aws_environment, upload_tree  # noqa: E402

BUCKET = "dsgrid-registries"
REGISTRY_URL = f"s3://{BUCKET}/test_efs"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[LocalS3Server]:
    pytest.importorskip("moto", reason="moto (the tests' S3 server) is not installed")
    server = LocalS3Server().start()
    with fake_aws_environment(server.endpoint):
        yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_efs(s3_server: LocalS3Server, efs_dir: Path) -> str:
    """The test_efs registry folder (registry.db and data/) uploaded; its s3:// URL."""
    upload_tree(efs_dir, REGISTRY_URL, s3_server.endpoint)
    return REGISTRY_URL


@pytest.fixture
def unused_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
