"""Every user mistake is one DsgridSqlError with a code, one sentence, a position and a
suggestion where something is close — raised before any engine runs."""

from __future__ import annotations

import pytest

from dsgrid_sql import errors
from dsgrid_sql.session import Session


@pytest.mark.parametrize(
    ("sql", "error", "message", "column"),
    [
        (
            "SELEC * FROM data",
            errors.SqlSyntaxError,
            "Syntax error at line 1, col 1: unknown statement 'SELEC'. Did you mean 'SELECT'?",
            1,
        ),
        (
            "SELECT geography, SUM(value FROM data",
            errors.SqlSyntaxError,
            "Syntax error at line 1, col 29: expected ')'.",
            29,
        ),
        (
            # sqlglot's parser fails on an arrow without an operand as a program error.
            "SELECT geography FROM data WHERE geography ->",
            errors.SqlSyntaxError,
            "Syntax error at line 1, col 44: '->' needs an expression on each side.",
            44,
        ),
        (
            "SELECT * FROM dta",
            errors.UnknownTableError,
            "Unknown table 'dta'. Did you mean 'data'?",
            15,
        ),
        (
            "SELECT * FROM test_ef.data",
            errors.UnknownSchemaError,
            "Unknown schema 'test_ef'. Did you mean 'test_efs'?",
            15,
        ),
        (
            "SELECT geogrphy FROM data",
            errors.UnknownColumnError,
            "Unknown column 'geogrphy' in table 'test_efs.data'. Did you mean 'geography'?",
            8,
        ),
        (
            "SELECT * FROM data WHERE us_states = 'XX'",
            errors.UnknownRecordError,
            "Unknown record 'XX' for column 'us_states' (US States).",
            38,
        ),
        (
            "SELECT * FROM data WHERE us_states = 'ca'",
            errors.UnknownRecordError,
            "Unknown record 'ca' for column 'us_states' (US States). Did you mean 'CA'?",
            38,
        ),
        (
            "SELECT * FROM data WHERE geography IN ('06073', '0607')",
            errors.UnknownRecordError,
            "Unknown record '0607' for column 'geography' (US Counties 2010 - ComStock Only). Did you mean '06075'?",
            49,
        ),
        (
            "SELECT * FROM data WHERE model_year = 2020",
            errors.TypeMismatchError,
            "Column 'model_year' holds record ids as strings; compare it with '2020', not 2020.",
            39,
        ),
        (
            "SELECT * FROM data WHERE metric_name = 'cooling'",
            errors.UnknownRecordError,
            "Unknown record name 'cooling' for column 'metric_name' (EFS Detailed End Uses - ComStock Only). Did you mean 'Space Cooling'?",
            40,
        ),
        (
            "SELECT getenv('HOME')",
            errors.UnknownFunctionError,
            "Function 'getenv' is not allowed: it reads the server's environment.",
            8,
        ),
        (
            "SELECT * FROM read_parquet('/etc/passwd')",
            errors.UnsupportedSqlError,
            "Reading 'read_parquet' is not allowed: queries may read only catalog tables.",
            None,
        ),
        (
            "SELECT * FROM '/etc/passwd'",
            errors.UnsupportedSqlError,
            "Reading the file '/etc/passwd' is not allowed: queries may read only catalog tables.",
            None,
        ),
        (
            "DELETE FROM data",
            errors.UnsupportedSqlError,
            "DELETE statements are not allowed: dsgrid-sql runs read-only queries.",
            None,
        ),
        (
            "CREATE TABLE x AS SELECT 1",
            errors.UnsupportedSqlError,
            "CREATE statements are not allowed: dsgrid-sql runs read-only queries.",
            None,
        ),
        (
            "SELECT 1; SELECT 2",
            errors.UnsupportedSqlError,
            "The SQL text holds 2 statements; send one at a time.",
            None,
        ),
        (
            "SET memory_limit = '1GB'",
            errors.UnsupportedSqlError,
            "Unknown setting 'memory_limit'.",
            None,
        ),
    ],
)
def test_error_sentence_and_position(
    efs_duckdb: Session, sql: str, error: type, message: str, column: int | None
) -> None:
    with pytest.raises(error) as info:
        efs_duckdb.sql(sql)
    assert info.value.message == message
    assert isinstance(info.value, errors.DsgridSqlError)
    if column is not None:
        assert info.value.position is not None and info.value.position.col == column


def test_record_name_hint(efs_duckdb: Session) -> None:
    with pytest.raises(errors.UnknownRecordError) as info:
        efs_duckdb.sql("SELECT * FROM data WHERE metric = 'Space Cooling'")
    assert info.value.hint == "'Space Cooling' is a record name; compare metric_name with names."
    assert info.value.suggestion == "cooling"
    # Names work through the *_name columns, never by guessing.
    rows = efs_duckdb.sql(
        "SELECT DISTINCT metric FROM data WHERE metric_name = 'Space Cooling'"
    ).to_arrow()
    assert rows.column("metric").to_pylist() == ["cooling"]


def test_mixed_base_dimensions_name_the_datasets(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import dsgrid_sql
    from dsgrid_sql.generator import GeneratorSpec, generate_registry

    spec = GeneratorSpec(project_id="mix", counties=2, hours=24, ev_metric_base=True)
    registry = generate_registry(tmp_path / "mix", spec).path
    with dsgrid_sql.connect(registry) as session:
        with pytest.raises(errors.MixedDatasetsError) as info:
            session.sql("SELECT SUM(value) FROM data")
        assert "mix_commercial, mix_residential; mix_ev_annual" in info.value.message
        one_group = session.sql(
            "SELECT COUNT(*) AS n FROM data WHERE dataset_id IN ('mix_commercial', 'mix_residential')"
        ).to_arrow()
        assert one_group.column("n")[0].as_py() > 0
