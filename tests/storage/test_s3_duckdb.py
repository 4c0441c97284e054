"""Registries and data on S3, on DuckDB: the same answers as from local files, for a remote
registry with remote data and for a local registry with remote data."""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import dsgrid_sql
from dsgrid_sql.errors import DsgridSqlError, ExportError, StorageError
from dsgrid_sql.export import METADATA_KEY
from dsgrid_sql.session import Session
from dsgrid_sql.storage import S3Path, StorageOptions

from .conftest import BUCKET, LocalS3Server


def _surface_queries() -> dict[str, str]:
    """The SQL-surface suite (tests/query/test_sql_surface.py), reused as it is."""
    path = Path(__file__).resolve().parents[1] / "query" / "test_sql_surface.py"
    spec = importlib.util.spec_from_file_location("_sql_surface_queries", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.QUERIES)


QUERIES = {
    **_surface_queries(),
    "state_totals": "SELECT us_states, SUM(value) AS v FROM data GROUP BY ALL",
    "hourly_profile_filtered": """
        SELECT EXTRACT(hour FROM timestamp) AS h, SUM(value) AS v FROM data
        WHERE us_states = 'CA' AND model_year = '2030' GROUP BY ALL
    """,
}


@pytest.fixture(scope="module")
def local(efs_dir: Path) -> Iterator[Session]:
    with dsgrid_sql.connect(efs_dir, engine="duckdb") as session:
        yield session


@pytest.fixture(scope="module")
def remote(s3_efs: str) -> Iterator[Session]:
    with dsgrid_sql.connect(s3_efs, engine="duckdb") as session:
        yield session


@pytest.fixture(scope="module")
def remote_data(efs_dir: Path, s3_efs: str) -> Iterator[Session]:
    """The local registry file, its data read from the bucket."""
    with dsgrid_sql.connect(efs_dir, engine="duckdb", data_path=f"{s3_efs}/data") as session:
        yield session


def _same(left: object, right: object, name: str) -> None:
    a, b = left.to_pylist(), right.to_pylist()  # type: ignore[attr-defined]
    assert left.column_names == right.column_names  # type: ignore[attr-defined]
    assert len(a) == len(b) > 0, name

    def key(row: dict) -> tuple:
        return tuple(
            str(round(v, 6 - math.floor(math.log10(abs(v)))) if isinstance(v, float) and v else v)
            for v in row.values()
        )

    for x, y in zip(sorted(a, key=key), sorted(b, key=key), strict=True):
        for column, value in x.items():
            if isinstance(value, float):
                assert value == pytest.approx(y[column], rel=1e-9), (name, column)
            else:
                assert value == y[column], (name, column)


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_remote_registry_answers_as_local_files(
    local: Session, remote: Session, name: str
) -> None:
    _same(local.sql(QUERIES[name]).to_arrow(), remote.sql(QUERIES[name]).to_arrow(), name)


@pytest.mark.parametrize("name", ["state_totals", "hourly_profile_filtered", "window"])
def test_local_registry_with_remote_data(local: Session, remote_data: Session, name: str) -> None:
    assert isinstance(remote_data.catalog.data_root, S3Path)
    _same(local.sql(QUERIES[name]).to_arrow(), remote_data.sql(QUERIES[name]).to_arrow(), name)


def test_the_registry_is_found_by_file_folder_and_s3a(s3_efs: str, local: Session) -> None:
    expected = local.sql(QUERIES["state_totals"]).to_arrow()
    for url in (f"{s3_efs}/registry.db", f"{s3_efs}/", s3_efs.replace("s3://", "s3a://")):
        with dsgrid_sql.connect(url) as session:
            assert str(session.catalog.data_root) == f"{s3_efs}/data"
            _same(expected, session.sql(QUERIES["state_totals"]).to_arrow(), url)


def test_the_registry_file_is_cached_by_identity(
    s3_server: LocalS3Server, efs_dir: Path, tmp_path: Path
) -> None:
    url = f"s3://{BUCKET}/cached/registry.db"
    _put(efs_dir / "registry.db", url)
    first = dsgrid_sql.connect(url)
    copy = first.catalog.registry_path
    first.close()
    assert copy.is_file() and not copy.stat().st_mode & 0o222  # read-only
    s3_server.reset_counts()
    with dsgrid_sql.connect(url) as again:
        assert again.catalog.registry_path == copy
    # An unchanged object is not downloaded again: a few small requests, not the file.
    assert s3_server.bytes_sent < copy.stat().st_size / 10
    # A changed object (another size and ETag) is fetched again into another copy.
    changed = tmp_path / "registry.db"
    shutil.copy(efs_dir / "registry.db", changed)
    with changed.open("ab") as handle:
        handle.write(b"\0" * 4096)
    _put(changed, url)
    with dsgrid_sql.connect(url) as fresh:
        assert fresh.catalog.registry_path != copy
        assert fresh.catalog.registry_path.stat().st_size == changed.stat().st_size


def test_explain_and_lineage_name_the_bucket_never_a_secret(s3_efs: str, tmp_path: Path) -> None:
    secret = "Sup3rSecretValueNeverShown"
    options = {"access_key_id": "AKIDEXAMPLE", "secret_access_key": secret}
    with dsgrid_sql.connect(s3_efs, storage_options=options) as session:
        assert secret not in repr(session.catalog.storage_options)
        result = session.sql(QUERIES["state_totals"])
        plan = result.explain()
        assert f"{s3_efs}/data/data/" in plan and secret not in plan
        target = result.to_parquet(tmp_path / "out.parquet")
        metadata = pq.read_schema(target).metadata[METADATA_KEY].decode()
        assert secret not in metadata
        assert json.loads(metadata)["registry"] == f"{s3_efs}/registry.db"
        with pytest.raises(StorageError) as caught:
            session.sql(f"COPY ({QUERIES['state_totals']}) TO 's3://no-such-bucket/x.parquet'")
        assert "no-such-bucket" in caught.value.message and secret not in str(caught.value)


def test_export_to_s3_is_whole_or_absent(remote: Session, local: Session) -> None:
    query = QUERIES["state_totals"]
    url = f"s3://{BUCKET}/exports/totals.parquet"
    rows = remote.sql(f"COPY ({query}) TO '{url}'").to_arrow()
    assert rows.column("path").to_pylist() == [url]
    fs = S3Path.parse(url).filesystem
    written = pq.read_table(S3Path.parse(url).fs_path, filesystem=fs)
    _same(local.sql(query).to_arrow(), written.select(["us_states", "v"]), "export")
    with pytest.raises(ExportError, match="already exists"):
        remote.sql(query).to_parquet(url)
    # Never into the registry's own objects.
    with pytest.raises(ExportError, match="part of the registry being read"):
        remote.sql(query).to_parquet(f"{remote.catalog.data_root}/data/x.parquet")
    # A result that fails while it is written leaves nothing at the target, and no staging.
    target = f"s3://{BUCKET}/exports/failed.parquet"
    with pytest.raises(DsgridSqlError):
        remote.sql("SELECT us_states, CAST('x' || us_states AS INT) AS n FROM data").to_parquet(
            target
        )
    assert not S3Path.parse(target).exists()
    listing = [p.name for p in S3Path.parse(f"s3://{BUCKET}/exports").rglob("*")]
    assert not [n for n in listing if ".partial-" in n], listing
    # Partitioned: every part under the target prefix, hive-style.
    parts = f"s3://{BUCKET}/exports/by_state"
    remote.sql(query).write(parts, partition_by=["us_states"])
    names = sorted(
        p.relative_to(S3Path.parse(parts)).parts[0]
        for p in S3Path.parse(parts).rglob("*")
        if p.known == "file"
    )
    assert names == sorted(
        f"us_states={s}" for s in local.sql(query).to_arrow()["us_states"].to_pylist()
    )


def test_errors_name_bucket_and_key(s3_efs: str) -> None:
    with pytest.raises(StorageError, match="The bucket 'no-such-bucket' does not exist"):
        dsgrid_sql.connect("s3://no-such-bucket/registry.db")
    with pytest.raises(StorageError, match=f"bucket '{BUCKET}' has no key 'nowhere/registry.db'"):
        dsgrid_sql.connect(f"s3://{BUCKET}/nowhere/registry.db")
    with pytest.raises(DsgridSqlError, match=r"data path .* is not a directory"):
        dsgrid_sql.connect(s3_efs, data_path=f"s3://{BUCKET}/no-data-here")


def test_an_unreachable_endpoint_is_an_error_not_a_hang(
    s3_server: LocalS3Server, unused_port: int
) -> None:
    # s3_server: its fake environment keeps the SDK from looking for credentials elsewhere.
    options = {"endpoint": f"http://127.0.0.1:{unused_port}", "connect_timeout": "1"}
    with pytest.raises(StorageError) as caught:
        dsgrid_sql.connect(f"s3://{BUCKET}/test_efs", storage_options=options)
    message = caught.value.message
    assert f"127.0.0.1:{unused_port}" in message and "could not be reached" in message
    assert f"s3://{BUCKET}/test_efs" in message


def test_an_endpoint_that_never_answers_times_out(s3_server: LocalS3Server) -> None:
    """A server that accepts connections and never answers: the request timeout ends it."""
    import socket
    import threading

    outcome: list[BaseException] = []
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        options = {"endpoint": f"http://127.0.0.1:{port}", "request_timeout": "1"}

        def attempt() -> None:
            try:
                dsgrid_sql.connect(f"s3://{BUCKET}/test_efs", storage_options=options)
            except BaseException as exc:  # any outcome is checked below
                outcome.append(exc)

        worker = threading.Thread(target=attempt, daemon=True)
        worker.start()
        worker.join(timeout=120)  # a hang guard, not a timing: it takes ~10 s (3 attempts)
        assert not worker.is_alive(), "the request did not time out"
    assert len(outcome) == 1 and isinstance(outcome[0], StorageError), outcome
    assert "could not be reached" in outcome[0].message and "request 1 s" in outcome[0].message


def test_bad_storage_options_are_one_sentence() -> None:
    with pytest.raises(
        StorageError, match=r"Unknown storage option 'endpont'\. Did you mean 'endpoint'"
    ):
        StorageOptions.parse(["endpont=http://x"])
    with pytest.raises(StorageError, match="anonymous is true or false"):
        StorageOptions.parse(["anonymous=maybe"])
    with pytest.raises(StorageError, match="not key=value") as caught:
        StorageOptions.parse(["Sup3rSecretPastedAlone"])
    assert "Sup3rSecretPastedAlone" not in caught.value.message
    assert StorageOptions.parse({"url_style": "path", "use_ssl": "false"}).path_style is True


def test_access_denied_by_the_server(s3_efs: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto checks credentials against its IAM users once asked to: ours are unknown."""
    import moto.settings

    monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    secret = "An0therSecretNeverShown"
    options = {"access_key_id": "AKIDUNKNOWN", "secret_access_key": secret}
    with pytest.raises(StorageError, match="was denied") as caught:
        dsgrid_sql.connect(s3_efs, storage_options=options)
    assert s3_efs in caught.value.message and secret not in str(caught.value)


def test_access_denied_names_the_object_and_hides_the_key() -> None:
    from dsgrid_sql.storage.s3 import storage_error

    secret = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"
    path = S3Path.parse(
        "s3://private-bucket/a/registry.db", StorageOptions(secret_access_key=secret)
    )
    # pyarrow's text for a 403 from HeadObject.
    error = OSError(
        "When getting information for key 'a/registry.db' in bucket 'private-bucket': AWS Error "
        f"ACCESS_DENIED during HeadObject operation: No response body. ({secret})"
    )
    result = storage_error(error, path)
    assert "Access to 's3://private-bucket/a/registry.db' was denied" in result.message
    assert secret not in result.message + (result.hint or "")


def _put(local: Path, url: str) -> None:
    target = S3Path.parse(url)
    with target.filesystem.open_output_stream(target.fs_path) as sink:
        sink.write(local.read_bytes())


def test_a_filter_reads_a_fraction_of_the_bytes(
    s3_server: LocalS3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pushdown on object storage: a one-state query fetches only the row groups whose
    geography statistics can match (DuckDB's own Parquet reader does this locally)."""
    from bench.s3_server import upload_tree
    from dsgrid_sql.generator import GeneratorSpec, generate_registry, load_data

    monkeypatch.setattr(load_data, "ROW_GROUP_SIZE", 2_000)  # many row groups, small files
    # 3,000 counties: a state has dozens, a set of ids the Arrow scan cannot skip row groups
    # by from an IN list alone (the plan adds the set's range for remote scans).
    spec = GeneratorSpec(
        counties=3000,
        hours=24,
        datasets=2,
        model_years=("2030",),
        residential_end_uses=1,
        residential_subsectors_per_county=1,
        commercial_end_uses=1,
        commercial_subsectors_per_county=1,
    )
    path = generate_registry(tmp_path / "pushdown", spec).path  # its registry.db
    url = f"s3://{BUCKET}/pushdown"
    upload_tree(path.parent, url, s3_server.endpoint)
    with dsgrid_sql.connect(path) as local, dsgrid_sql.connect(url) as remote:
        for kind in ("residential", "commercial"):  # one_table, and two_table (lookup)
            table = next(
                t.name for t in remote.catalog.list_tables(spec.project_id) if kind in t.name
            )
            _assert_filter_reads_less(s3_server, local, remote, table)


def _assert_filter_reads_less(
    s3_server: LocalS3Server, local: Session, remote: Session, table: str
) -> None:
    # The state of most counties: its filter is a set of several geography ids.
    state, counties = (
        local.sql(
            f"SELECT us_states, COUNT(DISTINCT geography) AS n FROM {table} "
            "GROUP BY ALL ORDER BY n DESC, us_states LIMIT 1"
        )
        .to_arrow()
        .to_pylist()[0]
        .values()
    )
    assert counties > 30
    read = {}
    for name, where in (("all", ""), ("one state", f"WHERE us_states = '{state}'")):
        sql = f"SELECT timestamp, SUM(value) AS v FROM {table} {where} GROUP BY ALL"
        expected = local.sql(sql).to_arrow()
        s3_server.reset_counts()
        _same(expected, remote.sql(sql).to_arrow(), name)
        read[name] = s3_server.bytes_sent
    assert read["one state"] < read["all"] / 4, (table, read)
