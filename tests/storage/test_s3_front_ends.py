"""S3 from the front ends: the CLI's --storage-option, the server's registry-change detection
for a registry on object storage, and its logs."""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

import pyarrow.csv as pacsv
import pytest
from click.testing import CliRunner

import dsgrid_sql
from dsgrid_sql.cli import main
from dsgrid_sql.service.catalogs import REMOTE_POLL_S, CatalogHolder
from dsgrid_sql.storage import S3Path

from .conftest import BUCKET, LocalS3Server

TOTALS = "SELECT us_states, SUM(value) AS v FROM data GROUP BY ALL ORDER BY ALL"


def _expected(efs_dir: Path) -> list[dict]:
    with dsgrid_sql.connect(efs_dir) as session:
        return session.sql(TOTALS).to_arrow().to_pylist()


def test_cli_queries_a_registry_on_s3_with_storage_options(
    s3_server: LocalS3Server, s3_efs: str, efs_dir: Path
) -> None:
    # The endpoint as an option, not from the environment.
    env = {"AWS_ENDPOINT_URL": None, "DSGRID_SQL_STORAGE_OPTIONS": None}
    args = ["query", "--registry", s3_efs, "--storage-option", f"endpoint={s3_server.endpoint}"]
    result = CliRunner(env=env).invoke(main, [*args, "--format", "json", TOTALS])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    expected = _expected(efs_dir)
    assert [r["us_states"] for r in rows] == [r["us_states"] for r in expected]
    assert [r["v"] for r in rows] == pytest.approx([r["v"] for r in expected], rel=1e-9)
    # --output to the bucket, as CSV; the options from the environment this time.
    url = f"s3://{BUCKET}/cli/totals.csv"
    env_options = {**env, "DSGRID_SQL_STORAGE_OPTIONS": f"endpoint={s3_server.endpoint} tls=false"}
    result = CliRunner(env=env_options).invoke(
        main, ["query", "--registry", s3_efs, "--output", url, TOTALS]
    )
    assert result.exit_code == 0, result.output
    assert f"Wrote {len(expected)} rows to {url}." in result.output
    path = S3Path.parse(url)
    with path.filesystem.open_input_stream(path.fs_path) as handle:
        written = pacsv.read_csv(handle)
    assert written.column("us_states").to_pylist() == [r["us_states"] for r in expected]


def test_cli_storage_option_mistakes_are_one_line(s3_efs: str) -> None:
    result = CliRunner().invoke(
        main, ["query", "--registry", s3_efs, "--storage-option", "regoin=us-east-1", TOTALS]
    )
    assert result.exit_code == 1
    assert "Error: Unknown storage option 'regoin'. Did you mean 'region'?" in result.output
    assert "Traceback" not in result.output


def test_the_server_sees_a_changed_remote_registry(
    s3_efs: str, efs_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"s3://{BUCKET}/served/registry.db"
    _put(efs_dir / "registry.db", url)
    secret = "ServerSecretNeverLogged"
    options = {"access_key_id": "AKIDEXAMPLE", "secret_access_key": secret}
    caplog.set_level(logging.INFO, logger="dsgrid_sql.server")
    holder = CatalogHolder(url, data_path=f"{s3_efs}/data", poll_s=0.05, storage_options=options)
    first = holder.current()
    assert str(first.source) == url
    time.sleep(0.1)
    assert holder.current() is first and holder.reloads == 0  # unchanged: not re-read
    changed = tmp_path / "registry.db"
    shutil.copy(efs_dir / "registry.db", changed)
    with changed.open("ab") as handle:
        handle.write(b"\0" * 4096)  # another size and ETag, the same registry
    _put(changed, url)
    deadline = time.monotonic() + 30
    while holder.reloads == 0 and time.monotonic() < deadline:
        holder.current()
        time.sleep(0.05)
    assert holder.reloads == 1
    assert holder.current() is not first
    assert holder.current().registry_path.stat().st_size == changed.stat().st_size
    assert "Registry re-read" in caplog.text and secret not in caplog.text


def test_a_remote_registry_is_polled_less_often(s3_efs: str) -> None:
    holder = CatalogHolder(s3_efs)
    assert holder._poll_s == REMOTE_POLL_S > 1


def _put(local: Path, url: str) -> None:
    target = S3Path.parse(url)
    with target.filesystem.open_output_stream(target.fs_path) as sink:
        sink.write(local.read_bytes())


def test_a_flight_sql_client_queries_a_registry_on_s3(s3_efs: str, efs_dir: Path) -> None:
    """serve's server over an s3:// registry, a real ADBC client: the local answers, and a
    COPY into an s3:// export directory."""
    flight_sql = pytest.importorskip("adbc_driver_flightsql.dbapi")
    from dsgrid_sql.flight_server import FlightSqlServer, ServerConfig

    exports = f"s3://{BUCKET}/flight-exports"
    server = FlightSqlServer(ServerConfig(registry=s3_efs, port=0, export_dir=exports))
    try:
        with flight_sql.connect(f"grpc://127.0.0.1:{server.port}", autocommit=True) as conn:
            cur = conn.cursor()
            cur.execute(TOTALS)
            rows = cur.fetch_arrow_table().to_pylist()
            cur.execute(f"COPY ({TOTALS}) TO 'totals.parquet'")
            copied = cur.fetch_arrow_table().to_pylist()
            cur.close()
    finally:
        server.close()
    expected = _expected(efs_dir)
    assert [r["us_states"] for r in rows] == [r["us_states"] for r in expected]
    assert [r["v"] for r in rows] == pytest.approx([r["v"] for r in expected], rel=1e-9)
    assert copied == [{"rows": len(expected), "path": f"{exports}/totals.parquet"}]
    assert S3Path.parse(f"{exports}/totals.parquet").is_file()
