"""Faults in the registry (issue 7): missing and corrupt Parquet, a locked or replaced
registry.db, a dataset version registered while a server runs — clear errors naming the
dataset, version and path; the new version visible without restart; no query ever mixing
two versions of one dataset."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.flight as flight
import pyarrow.parquet as pq
import pytest

import dsgrid_sql
from dsgrid_sql.catalog import Catalog
from dsgrid_sql.catalog.registry import RegistryDatabase
from dsgrid_sql.errors import DataFileError, RegistryLockedError
from dsgrid_sql.flight_server import FlightSqlServer, ServerConfig
from dsgrid_sql.generator import GeneratorSpec, generate_registry

DATASET = "dsgrid_demo_residential"
SPEC = GeneratorSpec(counties=6, hours=24, datasets=2)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_registry(tmp_path_factory.mktemp("faults") / "reg", SPEC).path.parent


@pytest.fixture()
def registry(pristine: Path, tmp_path: Path) -> Path:
    """A private copy of the generated registry (folder holding registry.db and data/)."""
    folder = tmp_path / "reg"
    shutil.copytree(pristine, folder)
    return folder


def table_file(registry: Path, version: str = "1.0.0") -> Path:
    return registry / "data" / "data" / DATASET / version / "table.parquet"


def total(session_or_rows: pa.Table) -> float:
    return pc.sum(session_or_rows.column("value")).as_py()


def register_new_version(registry: Path, factor: float, version: str = "1.1.0") -> None:
    """What `dsgrid registry datasets update` does: the dataset's data at a new version
    (here its values times ``factor``) and, in one transaction, a new dataset model, a new
    project version submitting it, and the current-version pointers."""
    old_dir = table_file(registry).parent
    new_dir = old_dir.parent / version
    shutil.copytree(old_dir, new_dir)
    data = pq.read_table(new_dir / "table.parquet")
    index = data.schema.get_field_index("value")
    data = data.set_column(index, "value", pc.multiply(data.column("value"), factor))
    pq.write_table(data, new_dir / "table.parquet")

    conn = sqlite3.connect(registry / "registry.db", isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        (reg_id,) = conn.execute("SELECT MAX(id) + 1 FROM registrations").fetchone()
        conn.execute(
            "INSERT INTO registrations VALUES (?, '2026-02-01 00:00:00', 'test', 'minor', ?)",
            (reg_id, f"{DATASET} {version}"),
        )
        next_id = conn.execute("SELECT MAX(id) FROM models").fetchone()[0] + 1
        for model_type, model_id in (("dataset", DATASET), ("project", "dsgrid_demo")):
            row_id, text = conn.execute(
                "SELECT m.id, m.model FROM models m JOIN current_versions c "
                "ON c.current_id = m.id WHERE c.model_type = ? AND c.model_id = ?",
                (model_type, model_id),
            ).fetchone()
            model = json.loads(text)
            if model_type == "project":
                major, minor, _ = model["version"].split(".")
                model["version"] = f"{major}.{int(minor) + 1}.0"
                for entry in model["datasets"]:
                    if entry["dataset_id"] == DATASET:
                        entry["version"] = version
            else:
                model["version"] = version
            model["id"] = next_id
            conn.execute(
                "INSERT INTO models VALUES (?, ?, ?, ?, ?, ?)",
                (next_id, reg_id, model_type, model_id, model["version"], json.dumps(model)),
            )
            conn.execute(
                "UPDATE current_versions SET current_id = ? WHERE model_type = ? AND model_id = ?",
                (next_id, model_type, model_id),
            )
            for (child,) in conn.execute(
                "SELECT child_id FROM contains WHERE parent_id = ?", (row_id,)
            ).fetchall():
                conn.execute(
                    "INSERT INTO contains VALUES ((SELECT MAX(id) + 1 FROM contains), ?, ?)",
                    (next_id, child),
                )
            next_id += 1
        conn.execute("COMMIT")
    finally:
        conn.close()


# -- data files ------------------------------------------------------------------------------


def _query_error(registry: Path) -> DataFileError:
    with dsgrid_sql.connect(registry) as session, pytest.raises(DataFileError) as err:
        session.sql(f"SELECT SUM(value) FROM {DATASET}").to_arrow()
    return err.value


def test_missing_parquet_names_dataset_version_and_path(registry: Path) -> None:
    table_file(registry).unlink()
    error = _query_error(registry)
    assert f"Dataset '{DATASET}' version 1.0.0 has no load data" in error.message
    assert str(table_file(registry).parent) in error.message
    assert "\n" not in error.message


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_corrupt_parquet_names_dataset_version_and_path(registry: Path, damage: str) -> None:
    path = table_file(registry)
    content = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(content[: len(content) // 2])
    elif damage == "garbage":
        path.write_bytes(b"this is not parquet" * 100)
    else:
        path.write_bytes(b"")
    error = _query_error(registry)
    assert f"Dataset '{DATASET}' version 1.0.0" in error.message
    assert f"'{path}' is not readable Parquet" in error.message
    assert "\n" not in error.message and "Traceback" not in error.message


def test_corrupt_row_group_names_the_files_read(
    registry: Path, destroy_last_data_page: Callable[[Path, int], None]
) -> None:
    """Footer fine, a data page destroyed: the engine fails while streaming; the error says
    which dataset files the query was reading."""
    path = table_file(registry)
    destroy_last_data_page(path, 2000)
    with dsgrid_sql.connect(registry) as session:
        with pytest.raises(dsgrid_sql.DsgridSqlError) as err:
            session.sql(f"SELECT * FROM {DATASET}").to_arrow()
        assert err.value.code == "execution_error"
        assert "could not finish the query" in err.value.message
        assert f"while reading '{path}'" in err.value.message
        assert session.engine.running_count() == 0
        # The session still answers.
        assert session.sql("SELECT COUNT(*) AS n FROM dsgrid_demo_commercial").to_arrow()


# -- registry.db -----------------------------------------------------------------------------


@pytest.fixture()
def writer_lock(registry: Path) -> Iterator[Callable[[], None]]:
    """Hold BEGIN EXCLUSIVE on registry.db from another connection, as a dsgrid writer
    does mid-registration; call the yielded function to release it."""
    conn = sqlite3.connect(registry / "registry.db", isolation_level=None, timeout=0)
    conn.execute("BEGIN EXCLUSIVE")
    released = threading.Event()

    def release() -> None:
        if not released.is_set():
            released.set()
            conn.execute("ROLLBACK")

    yield release
    release()
    conn.close()


def test_locked_registry_is_a_clear_error(registry: Path, writer_lock: Callable) -> None:
    with pytest.raises(RegistryLockedError) as err:
        Catalog.open(registry)
    assert err.value.message == (
        f"The registry '{registry / 'registry.db'}' is locked by a writer (database is locked)."
    )
    writer_lock()
    with Catalog.open(registry) as catalog:
        assert catalog.list_project_ids() == ["dsgrid_demo"]


def test_open_catalog_is_a_snapshot(registry: Path) -> None:
    """A catalog reads the registry once: a later registration changes nothing in it (not
    even registry.registrations), and a newly opened catalog sees all of it."""
    with Catalog.open(registry) as before:
        registrations = len(before.registrations())
        register_new_version(registry, factor=2.0)
        assert before.dataset(DATASET).version == "1.0.0"
        assert len(before.registrations()) == registrations
        with Catalog.open(registry) as after:
            assert after.dataset(DATASET).version == "1.1.0"
            assert len(after.registrations()) == registrations + 1


def test_a_registration_commits_while_a_catalog_is_built(
    registry: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The registry's lock is held only while its pages are copied: a registration that
    commits while the catalog builds its rows (here without waiting for any lock, as a
    writer would after its busy timeout) succeeds, and the catalog is the state before it."""
    committed: list[int] = []
    build_row = RegistryDatabase._row

    def row_with_a_writer(self: RegistryDatabase, *args: object) -> object:
        if not committed:
            writer = sqlite3.connect(registry / "registry.db", isolation_level=None, timeout=0)
            try:
                writer.execute("BEGIN IMMEDIATE")
                writer.execute("INSERT INTO key_value VALUES ('written_meanwhile', 'yes')")
                writer.execute("COMMIT")
            finally:
                writer.close()
            committed.append(1)
        return build_row(self, *args)

    monkeypatch.setattr(RegistryDatabase, "_row", row_with_a_writer)
    with Catalog.open(registry) as catalog:
        assert committed
        assert catalog.list_project_ids() == ["dsgrid_demo"]
        assert "written_meanwhile" not in catalog.key_values
    monkeypatch.undo()
    with Catalog.open(registry) as catalog:
        assert catalog.key_values["written_meanwhile"] == "yes"


def test_models_stored_as_blobs_read_as_text_models(registry: Path) -> None:
    """A registry whose JSON is stored as BLOBs (no JSON array can hold them) is read row by
    row, into the same catalog."""
    with dsgrid_sql.connect(registry) as session:
        expected = session.sql(f"SELECT SUM(value) AS v FROM {DATASET}").to_arrow()
    conn = sqlite3.connect(registry / "registry.db", isolation_level=None)
    conn.execute("UPDATE models SET model = CAST(model AS BLOB)")
    assert conn.execute("SELECT DISTINCT typeof(model) FROM models").fetchall() == [("blob",)]
    conn.close()
    with Catalog.open(registry) as catalog:
        assert catalog.dataset(DATASET).version == "1.0.0"
        assert len(catalog.registrations()) >= 1
    with dsgrid_sql.connect(registry) as session:
        assert session.sql(f"SELECT SUM(value) AS v FROM {DATASET}").to_arrow() == expected


# -- a running server --------------------------------------------------------------------------


@pytest.fixture()
def server(registry: Path) -> Iterator[FlightSqlServer]:
    config = ServerConfig(
        registry=registry / "registry.db",
        port=0,
        registry_poll_s=0.05,
        batch_rows=500,
        query_timeout_s=60,
    )
    running = FlightSqlServer(config)
    try:
        yield running
    finally:
        running.close()


def _client(server: FlightSqlServer) -> flight.FlightClient:
    return flight.FlightClient(f"grpc://127.0.0.1:{server.port}")


def _stream(client: flight.FlightClient, sql: str) -> flight.FlightStreamReader:
    from dsgrid_sql.flight_server import proto

    command = proto.pack(proto.sql("CommandStatementQuery")(query=sql))
    info = client.get_flight_info(flight.FlightDescriptor.for_command(command))
    return client.do_get(info.endpoints[0].ticket)


def _wait_for_reload(server: FlightSqlServer, reloads: int) -> None:
    deadline = time.monotonic() + 30  # a safety net, not a timing assertion
    while server.state.catalogs.reloads <= reloads:
        assert time.monotonic() < deadline, "the server never re-read the registry"
        server.state.catalogs.current()
        time.sleep(0.02)


def _idle(server: FlightSqlServer) -> None:
    deadline = time.monotonic() + 30
    while server.state.counts()["running"] or server.state.engine.running_count():
        assert time.monotonic() < deadline, server.state.counts()
        time.sleep(0.02)


def test_no_query_mixes_two_versions(registry: Path, server: FlightSqlServer) -> None:
    """A new version is registered while a query over the dataset streams: that query's
    rows all come from the version it started with; the next query sees the new one."""
    with dsgrid_sql.connect(registry) as session:
        old_total = total(session.sql(f"SELECT value FROM {DATASET}").to_arrow())
    client = _client(server)
    sql = f"SELECT value FROM {DATASET} UNION ALL SELECT value FROM {DATASET}"
    reader = _stream(client, sql)
    chunks = [reader.read_chunk().data]
    reloads = server.state.catalogs.reloads
    register_new_version(registry, factor=1000.0)
    _wait_for_reload(server, reloads)
    for chunk in reader:
        chunks.append(chunk.data)
    streamed = pa.Table.from_batches(chunks)
    assert len(chunks) > 2
    assert total(streamed) == pytest.approx(2 * old_total, rel=1e-12)
    # Visible without restart, through the same connection.
    after = _stream(client, sql).read_all()
    assert total(after) == pytest.approx(2 * 1000.0 * old_total, rel=1e-12)
    versions = _stream(
        client, f"SELECT version FROM registry.datasets WHERE dataset_id = '{DATASET}'"
    ).read_all()
    assert versions.column("version").to_pylist() == ["1.1.0"]
    client.close()
    _idle(server)


def test_replaced_registry_is_served_without_restart(
    registry: Path, pristine: Path, tmp_path: Path, server: FlightSqlServer
) -> None:
    replacement = tmp_path / "next"
    shutil.copytree(registry, replacement)
    register_new_version(replacement, factor=3.0)
    # Its data first (a new version folder), then registry.db replaced by rename.
    shutil.copytree(table_file(replacement, "1.1.0").parent, table_file(registry, "1.1.0").parent)
    client = _client(server)
    before = total(_stream(client, f"SELECT value FROM {DATASET}").read_all())
    reloads = server.state.catalogs.reloads
    (replacement / "registry.db").replace(registry / "registry.db")
    _wait_for_reload(server, reloads)
    after = total(_stream(client, f"SELECT value FROM {DATASET}").read_all())
    assert after == pytest.approx(3 * before, rel=1e-12)
    client.close()


def test_locked_registry_keeps_the_server_answering(
    registry: Path, server: FlightSqlServer, writer_lock: Callable
) -> None:
    client = _client(server)
    reloads = server.state.catalogs.reloads
    # The writer changed the file and still holds its lock: the re-read fails, the server
    # keeps the catalog it has and answers every call meanwhile.
    now = time.time()
    (registry / "registry.db").touch()
    os.utime(registry / "registry.db", (now + 5, now + 5))
    for _ in range(3):
        rows = _stream(client, f"SELECT COUNT(*) AS n FROM {DATASET}").read_all()
        assert rows.column("n")[0].as_py() > 0
        time.sleep(0.06)
    assert server.state.catalogs.reloads == reloads
    writer_lock()
    _wait_for_reload(server, reloads)
    assert _stream(client, "SELECT 1 AS one").read_all().column("one").to_pylist() == [1]
    client.close()
