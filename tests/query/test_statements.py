"""SHOW, DESCRIBE, USE and SET: the statements beyond queries."""

from __future__ import annotations

from pathlib import Path

import pytest

import dsgrid_sql
from dsgrid_sql.errors import SqlSyntaxError, UnknownSchemaError


def test_show_and_describe(efs_dir: Path) -> None:
    with dsgrid_sql.connect(efs_dir) as session:
        assert session.sql("SHOW PROJECTS").to_arrow().to_pylist() == [
            {"project_id": "test_efs", "version": "1.2.0", "status": "Complete", "problem": None}
        ]
        schemas = session.sql("SHOW SCHEMAS").to_arrow().column("schema_name").to_pylist()
        assert schemas == session.catalog.list_schemas()
        tables = session.sql("SHOW TABLES").to_arrow()
        assert tables.column("table_name").to_pylist() == [
            "data", "test_efs_comstock", "test_efs_comstock_unpivoted",
        ]  # fmt: skip
        registry = session.sql("SHOW TABLES IN registry;").to_arrow()
        assert "mapping_records" in registry.column("table_name").to_pylist()
        with pytest.raises(
            UnknownSchemaError, match=r"no schema 'regsitry'\. Did you mean 'registry'"
        ):
            session.sql("SHOW TABLES IN regsitry")
        describe = session.sql('DESCRIBE "test_efs"."data"').to_arrow().to_pylist()
        assert describe[0] == {
            "column_name": "geography",
            "column_type": "VARCHAR",
            "null": "NO",
            "role": "dimension",
            "remarks": describe[0]["remarks"],
        }
        assert session.sql("SHOW COLUMNS FROM data").to_arrow().num_rows == len(describe)
        dims = session.sql("SHOW DIMENSIONS FOR test_efs_comstock").to_arrow().to_pylist()
        categories = {d["column_name"]: d["category"] for d in dims}
        assert categories["geography"] == "base" and categories["us_states"] == "supplemental"
        with pytest.raises(SqlSyntaxError, match="Unknown SHOW statement: SHOW GRANTS"):
            session.sql("SHOW GRANTS")


def test_use_and_set(efs_dir: Path) -> None:
    with dsgrid_sql.connect(efs_dir) as session:
        assert session.sql("USE registry").message == "Using registry."
        assert (
            session.sql("SELECT COUNT(*) AS n FROM projects").to_arrow().column("n")[0].as_py()
            == 1
        )
        session.sql("USE test_efs")
        assert session.sql("SET pushdown = off").message == "pushdown = False"
        assert session.pushdown is False
        with pytest.raises(UnknownSchemaError, match="Did you mean 'test_efs'"):
            session.sql("USE test_ef")
