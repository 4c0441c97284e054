"""Bad input gives one clear error each; data paths resolve as dsgrid's do, and more."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from dsgrid_sql.catalog import Catalog
from dsgrid_sql.catalog.versions import version_key
from dsgrid_sql.errors import (
    CatalogError,
    DataFileError,
    NotARegistryError,
    RegistryNotFoundError,
    UnknownProjectError,
    UnknownTableError,
    UnknownVersionError,
)


def _copy_registry(src: Path, dst: Path, *, with_data: bool = True) -> Path:
    dst.mkdir(parents=True)
    shutil.copy(src / "registry.db", dst / "registry.db")
    if with_data:
        shutil.copytree(src / "data", dst / "data")
    return dst / "registry.db"


def _set_data_path(db: Path, value: str) -> None:
    conn = sqlite3.connect(db)
    conn.execute("UPDATE key_value SET value = ? WHERE key = 'data_path'", (value,))
    conn.commit()
    conn.close()


def test_missing_registry(tmp_path: Path) -> None:
    with pytest.raises(
        RegistryNotFoundError, match=r"No registry at '.*nope': the path does not exist\."
    ):
        Catalog.open(tmp_path / "nope")


def test_directory_without_registry(tmp_path: Path) -> None:
    with pytest.raises(RegistryNotFoundError, match=r"contains no registry\.db"):
        Catalog.open(tmp_path)


def test_corrupt_sqlite(tmp_path: Path) -> None:
    bad = tmp_path / "registry.db"
    bad.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(NotARegistryError, match="is not a readable SQLite database"):
        Catalog.open(bad)


def test_sqlite_that_is_not_a_registry(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(
        NotARegistryError, match=r"lacks the table.*key_value, registrations, models"
    ):
        Catalog.open(db)


def test_unknown_project_suggests(efs_catalog: Catalog) -> None:
    with pytest.raises(UnknownProjectError) as info:
        efs_catalog.project("test_ef")
    assert info.value.message == "The registry has no project 'test_ef'. Did you mean 'test_efs'?"
    assert info.value.code == "unknown_project"


def test_unknown_version_lists_versions(efs_catalog: Catalog) -> None:
    with pytest.raises(
        UnknownVersionError,
        match=r"has no version 1\.3\.0; registered versions are 1\.0\.0, 1\.1\.0, 1\.2\.0",
    ):
        efs_catalog.project("test_efs", "1.3.0")


def test_unknown_table_suggests(efs_catalog: Catalog) -> None:
    with pytest.raises(
        UnknownTableError, match=r"Schema 'test_efs' has no table 'dta'\. Did you mean 'data'\?"
    ):
        efs_catalog.get_table("test_efs", "dta")


def test_sqlite_url_and_directory_forms(efs_dir: Path) -> None:
    for location in (efs_dir, efs_dir / "registry.db", f"sqlite:///{efs_dir / 'registry.db'}"):
        with Catalog.open(location) as catalog:
            assert catalog.list_project_ids() == ["test_efs"]


def test_catalog_never_writes(efs_dir: Path, tmp_path: Path) -> None:
    db = _copy_registry(efs_dir, tmp_path / "reg", with_data=False)
    before = db.read_bytes()
    with Catalog.open(db) as catalog:
        for table in catalog.list_tables():
            if table.kind.value not in ("data", "dataset"):
                catalog.table_data(table)
        # Read once at open (mode=ro), then closed: an open catalog holds no file.
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            catalog._db._conn.execute("DELETE FROM key_value")
    assert db.read_bytes() == before
    assert not (db.parent / "registry.db-journal").exists()


def test_data_path_relative_to_registry_folder(efs_dir: Path, efs_catalog: Catalog) -> None:
    assert efs_catalog.data_root == efs_dir / "data"


def test_data_path_absolute(efs_dir: Path, tmp_path: Path) -> None:
    db = _copy_registry(efs_dir, tmp_path / "reg", with_data=False)
    _set_data_path(db, str(efs_dir / "data"))
    with Catalog.open(db) as catalog:
        assert catalog.data_root == efs_dir / "data"
        assert catalog.dataset_files("test_efs_comstock").table.is_file()


def test_data_path_relative_to_working_directory(
    efs_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _copy_registry(efs_dir, tmp_path / "reg", with_data=False)
    monkeypatch.chdir(efs_dir)
    with Catalog.open(db) as catalog:
        assert catalog.data_root == Path(os.getcwd()) / "data"
        assert catalog.dataset_files("test_efs_comstock").table.is_file()


def test_data_path_override(efs_dir: Path, tmp_path: Path) -> None:
    db = _copy_registry(efs_dir, tmp_path / "reg", with_data=False)
    with Catalog.open(db, data_path=efs_dir / "data") as catalog:
        assert catalog.dataset_files("test_efs_comstock_unpivoted").table.is_file()
    with pytest.raises(CatalogError, match="is not a directory"):
        Catalog.open(db, data_path=tmp_path / "missing")


def test_missing_data_file_names_dataset_version_and_path(efs_dir: Path, tmp_path: Path) -> None:
    db = _copy_registry(efs_dir, tmp_path / "reg")
    (db.parent / "data" / "data" / "test_efs_comstock" / "1.0.0" / "lookup_table.parquet").unlink()
    with Catalog.open(db) as catalog:
        with pytest.raises(DataFileError) as info:
            catalog.dataset_files("test_efs_comstock")
        message = info.value.message
        assert "Dataset 'test_efs_comstock' version 1.0.0" in message
        assert "lookup_table.parquet" in message
        assert str(db.parent / "data" / "data" / "test_efs_comstock" / "1.0.0") in message


def test_unreadable_parquet_is_a_clear_error(efs_dir: Path, tmp_path: Path) -> None:
    db = _copy_registry(efs_dir, tmp_path / "reg")
    table = db.parent / "data" / "data" / "test_efs_comstock_unpivoted" / "1.0.0" / "table.parquet"
    table.write_bytes(b"garbage")
    expected = r"Dataset 'test_efs_comstock_unpivoted' version 1\.0\.0: '.*table\.parquet' is not"
    with Catalog.open(db) as catalog, pytest.raises(DataFileError, match=expected):
        catalog.dataset_files("test_efs_comstock_unpivoted").table_schema()


def test_spark_directory_and_legacy_names(efs_dir: Path, tmp_path: Path) -> None:
    db = _copy_registry(efs_dir, tmp_path / "reg")
    folder = db.parent / "data" / "data" / "test_efs_comstock" / "1.0.0"
    # Spark writes a directory of part files with _SUCCESS and .crc companions.
    part_dir = folder / "table.parquet"
    content = part_dir.read_bytes()
    part_dir.unlink()
    part_dir.mkdir()
    (part_dir / "part-00000-abc.snappy.parquet").write_bytes(content)
    (part_dir / "_SUCCESS").write_bytes(b"")
    (part_dir / ".part-00000-abc.snappy.parquet.crc").write_bytes(b"x")
    # Legacy name for the lookup table.
    (folder / "lookup_table.parquet").rename(folder / "load_data_lookup.parquet")
    with Catalog.open(db) as catalog:
        files = catalog.dataset_files("test_efs_comstock")
        assert files.table == part_dir and files.lookup == folder / "load_data_lookup.parquet"
        assert set(files.load_schema().names) >= {
            "id",
            "timestamp",
            "metric",
            "value",
            "geography",
        }


def test_semantic_version_order_and_current_fallback(efs_dir: Path, tmp_path: Path) -> None:
    db = _copy_registry(efs_dir, tmp_path / "reg", with_data=False)
    conn = sqlite3.connect(db)
    (model,) = conn.execute(
        "SELECT model FROM models WHERE model_id='test_efs' AND version='1.2.0'"
    ).fetchone()
    data = json.loads(model)
    data["version"] = "1.10.0"
    data["description"] = "the tenth minor version"
    conn.execute(
        "INSERT INTO models (registration_id, model_type, model_id, version, model) "
        "VALUES (6, 'project', 'test_efs', '1.10.0', ?)",
        (json.dumps(data),),
    )
    conn.commit()
    with Catalog.open(db) as catalog:
        assert catalog.project_versions("test_efs") == ["1.0.0", "1.1.0", "1.2.0", "1.10.0"]
        # current_versions still points at 1.2.0: the registry's word wins.
        assert catalog.project("test_efs").version == "1.2.0"
        assert catalog.project("test_efs", "1.10.0").model.description == "the tenth minor version"
    conn.execute("DELETE FROM current_versions WHERE model_type='project'")
    conn.commit()
    conn.close()
    with Catalog.open(db) as catalog:
        # Without a current_versions row the newest version by semver (not lexically) wins.
        assert catalog.project("test_efs").version == "1.10.0"


def test_version_key_orders_prereleases_and_junk() -> None:
    versions = ["1.10.0", "1.2.0", "1.2.0-rc.1", "junk", "0.9.9"]
    assert sorted(versions, key=version_key) == ["junk", "0.9.9", "1.2.0-rc.1", "1.2.0", "1.10.0"]


def test_invalid_model_json_is_a_catalog_error(efs_dir: Path, tmp_path: Path) -> None:
    db = _copy_registry(efs_dir, tmp_path / "reg", with_data=False)
    conn = sqlite3.connect(db)
    conn.execute(
        'UPDATE models SET model = \'{"version": "1.2.0"}\' '
        "WHERE model_id='test_efs' AND version='1.2.0'"
    )
    conn.commit()
    conn.close()
    with (
        Catalog.open(db) as catalog,
        pytest.raises(
            CatalogError,
            match=r"The project 'test_efs' version 1\.2\.0 is not a valid dsgrid model "
            r"\(project_id: Field required\)",
        ),
    ):
        catalog.project("test_efs")
