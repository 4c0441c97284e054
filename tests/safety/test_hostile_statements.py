"""Hostile statements, refused before an engine runs anything (DESIGN.md §8, issue 7).

Every row is a statement a gateway on the network will be sent sooner or later: writes, engine
statements, file readers, environment probes, catalogs of the engines, and the same things
hidden in comments, CTEs, subqueries, LATERAL, VALUES or unicode. Each runs through
``Session.sql`` on DuckDB and on Spark (the suite's one Spark session) with the engine's
``register``/``execute``/``schema`` replaced by spies: the test fails if any of them is called.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import dsgrid_sql
from dsgrid_sql.errors import DsgridSqlError
from dsgrid_sql.session import Session

ENGINES = ["duckdb", "spark"]

NOT_ALLOWED = "not_allowed"
FUNCTION = "unknown_function"
TABLE = "unknown_table"
SCHEMA = "unknown_schema"
EXPORT = "export_error"
SYNTAX = "syntax_error"
SERIES = "series_too_large"
COLUMN = "unknown_column"

# (id, dialect, SQL, expected error code). "duckdb" is the default input dialect.
HOSTILE: list[tuple[str, str, str, str]] = [
    # DDL and DML
    ("create-table", "duckdb", "CREATE TABLE t AS SELECT 1", NOT_ALLOWED),
    ("drop-table", "duckdb", "DROP TABLE test_efs.data", NOT_ALLOWED),
    ("alter-table", "duckdb", "ALTER TABLE data ADD COLUMN x INT", NOT_ALLOWED),
    ("truncate", "duckdb", "TRUNCATE data", NOT_ALLOWED),
    ("insert", "duckdb", "INSERT INTO data VALUES (1)", NOT_ALLOWED),
    ("update", "duckdb", "UPDATE data SET value = 0", NOT_ALLOWED),
    ("delete", "duckdb", "DELETE FROM data", NOT_ALLOWED),
    ("merge", "duckdb", "MERGE INTO data USING data AS s ON TRUE WHEN MATCHED THEN DELETE",
     NOT_ALLOWED),
    ("create-view", "duckdb", "CREATE TEMP VIEW v AS SELECT * FROM read_csv('/etc/passwd')",
     NOT_ALLOWED),
    ("create-macro", "duckdb", "CREATE MACRO f(x) AS getenv(x)", NOT_ALLOWED),
    ("create-function", "duckdb", "CREATE FUNCTION f(x) AS x + 1", NOT_ALLOWED),
    ("select-into", "duckdb", "SELECT * INTO stolen FROM test_efs.data", NOT_ALLOWED),
    ("delete-in-cte", "duckdb", "WITH d AS (DELETE FROM data RETURNING *) SELECT * FROM d",
     NOT_ALLOWED),
    ("insert-in-cte", "duckdb",
     "WITH d AS (INSERT INTO data VALUES (1) RETURNING *) SELECT * FROM d", NOT_ALLOWED),
    # engine statements
    ("attach", "duckdb", "ATTACH '/tmp/other.duckdb' AS other", NOT_ALLOWED),
    ("detach", "duckdb", "DETACH other", NOT_ALLOWED),
    ("install", "duckdb", "INSTALL httpfs", NOT_ALLOWED),
    ("force-install", "duckdb", "FORCE INSTALL httpfs", NOT_ALLOWED),
    ("load", "duckdb", "LOAD httpfs", NOT_ALLOWED),
    ("pragma", "duckdb", "PRAGMA database_list", NOT_ALLOWED),
    ("pragma-set", "duckdb", "PRAGMA enable_profiling", NOT_ALLOWED),
    ("call", "duckdb", "CALL pragma_version()", NOT_ALLOWED),
    ("set-threads", "duckdb", "SET threads = 1", NOT_ALLOWED),
    ("set-global", "duckdb", "SET GLOBAL memory_limit = '1TB'", NOT_ALLOWED),
    ("set-external-access", "duckdb", "SET enable_external_access = true", NOT_ALLOWED),
    ("reset", "duckdb", "RESET threads", NOT_ALLOWED),
    ("export-database", "duckdb", "EXPORT DATABASE '/tmp/dump'", NOT_ALLOWED),
    ("import-database", "duckdb", "IMPORT DATABASE '/tmp/dump'", NOT_ALLOWED),
    ("summarize", "duckdb", "SUMMARIZE test_efs.data", NOT_ALLOWED),
    ("checkpoint", "duckdb", "CHECKPOINT", NOT_ALLOWED),
    ("explain-analyze", "duckdb", "EXPLAIN ANALYZE SELECT 1", NOT_ALLOWED),
    # COPY: never FROM, TO only inside the export directory
    ("copy-from", "duckdb", "COPY data FROM '/tmp/evil.csv'", NOT_ALLOWED),
    ("copy-from-columns", "duckdb", "COPY data (value) FROM '/tmp/evil.csv'", NOT_ALLOWED),
    ("copy-to-absolute", "duckdb", "COPY (SELECT 1 AS a) TO '/tmp/dsgrid-sql-escape.parquet'",
     EXPORT),
    ("copy-to-dotdot", "duckdb", "COPY (SELECT 1 AS a) TO '../escape.parquet'", EXPORT),
    ("copy-to-home", "duckdb", "COPY (SELECT 1 AS a) TO '~/escape.parquet'", EXPORT),
    ("copy-behind-comment", "duckdb", "/* x */ COPY (SELECT 1) TO 'x.parquet'", NOT_ALLOWED),
    ("copy-table-to", "duckdb", "-- x\nCOPY data TO '/tmp/x.csv'", NOT_ALLOWED),
    # file readers and table functions
    ("read_parquet", "duckdb", "SELECT * FROM read_parquet('/etc/x.parquet')", NOT_ALLOWED),
    ("read_csv", "duckdb", "SELECT * FROM read_csv('/etc/passwd')", NOT_ALLOWED),
    ("read_csv_auto", "duckdb", "SELECT * FROM read_csv_auto('/etc/passwd')", NOT_ALLOWED),
    ("read_json", "duckdb", "SELECT * FROM read_json('/etc/x.json')", NOT_ALLOWED),
    ("read_text", "duckdb", "SELECT * FROM read_text('/etc/passwd')", NOT_ALLOWED),
    ("read_blob", "duckdb", "SELECT * FROM read_blob('/etc/passwd')", NOT_ALLOWED),
    ("glob", "duckdb", "SELECT * FROM glob('/etc/*')", NOT_ALLOWED),
    ("parquet_scan", "duckdb", "SELECT * FROM parquet_scan('/etc/x.parquet')", NOT_ALLOWED),
    ("from-first-reader", "duckdb", "FROM read_text('/etc/passwd')", NOT_ALLOWED),
    ("string-as-table", "duckdb", "SELECT * FROM 'file.parquet'", NOT_ALLOWED),
    ("url-as-table", "duckdb", "SELECT * FROM 's3://bucket/key.parquet'", NOT_ALLOWED),
    ("quoted-path", "duckdb", 'SELECT * FROM "/etc/passwd"', NOT_ALLOWED),
    ("quoted-file-name", "duckdb", 'SELECT * FROM "data.csv"', NOT_ALLOWED),
    ("path-in-schema", "duckdb", 'SELECT * FROM test_efs."../../registry.db"', NOT_ALLOWED),
    # generate_series / range are bounded tables of numbers: never huge, never unknown
    ("range-huge", "duckdb", "SELECT * FROM range(1000000000000)", SERIES),
    ("generate_series-huge", "duckdb", "SELECT * FROM generate_series(1, 10^12)", SERIES),
    ("generate_series-seconds", "duckdb",
     "SELECT * FROM generate_series(TIMESTAMP '1900-01-01', TIMESTAMP '2100-01-01', "
     "INTERVAL '1 second')", SERIES),
    ("generate_series-list", "duckdb", "SELECT generate_series(1, 1e12) AS l", SERIES),
    ("generate_series-unbounded", "duckdb",
     "SELECT * FROM generate_series(1, (SELECT COUNT(*) FROM data) * 1000000)", NOT_ALLOWED),
    ("generate_series-column-bound", "duckdb",
     "SELECT unnest(generate_series(1, CAST(value AS BIGINT))) FROM data", NOT_ALLOWED),
    ("generate_series-step-zero", "duckdb", "SELECT * FROM generate_series(1, 10, 0)",
     NOT_ALLOWED),
    ("range-beside-reader", "duckdb",
     "WITH r AS (SELECT * FROM range(3)) SELECT * FROM r, read_csv('/etc/passwd')", NOT_ALLOWED),
    ("query-function", "duckdb", "SELECT * FROM query('SELECT 1')", NOT_ALLOWED),
    ("time-travel", "duckdb", "SELECT * FROM test_efs.data AT (VERSION => 1)", NOT_ALLOWED),
    # environment and engine introspection
    ("getenv", "duckdb", "SELECT getenv('HOME')", FUNCTION),
    ("getenv-method", "duckdb", "SELECT 'HOME'.getenv()", FUNCTION),
    ("getenv-quoted", "duckdb", "SELECT \"getenv\"('HOME')", FUNCTION),
    ("current_setting", "duckdb", "SELECT current_setting('threads')", FUNCTION),
    ("getvariable", "duckdb", "SELECT getvariable('x')", FUNCTION),
    ("version", "duckdb", "SELECT version()", FUNCTION),
    ("current_user", "duckdb", "SELECT current_user", FUNCTION),
    ("current_database", "duckdb", "SELECT current_database()", FUNCTION),
    ("duckdb_settings", "duckdb", "SELECT * FROM duckdb_settings()", NOT_ALLOWED),
    ("duckdb_extensions", "duckdb", "SELECT * FROM duckdb_extensions()", NOT_ALLOWED),
    ("duckdb_secrets", "duckdb", "SELECT * FROM duckdb_secrets()", NOT_ALLOWED),
    ("duckdb_views", "duckdb", "SELECT * FROM duckdb_views", TABLE),
    ("pg_catalog", "duckdb", "SELECT * FROM pg_catalog.pg_tables", SCHEMA),
    ("sqlite_master", "duckdb", "SELECT * FROM sqlite_master", TABLE),
    ("system-catalog", "duckdb", "SELECT * FROM system.main.duckdb_tables", TABLE),
    ("internal-view", "duckdb", 'SELECT * FROM "__dsgrid_table_0"', TABLE),
    # several statements, comments, quoting and unicode
    ("two-statements", "duckdb", "SELECT 1; DROP TABLE data", NOT_ALLOWED),
    ("comment-then-drop", "duckdb", "-- harmless\nDROP TABLE data", NOT_ALLOWED),
    ("block-comment-install", "duckdb", "/* SELECT */ INSTALL httpfs", NOT_ALLOWED),
    ("semicolon-in-comment", "duckdb", "SELECT 1 /* ; */ ; DETACH other", NOT_ALLOWED),
    ("backslash-string", "duckdb", "SELECT '\\';DROP TABLE data;--'", NOT_ALLOWED),
    ("fullwidth-drop", "duckdb", "ＤＲＯＰ TABLE data", SYNTAX),
    ("cyrillic-getenv", "duckdb", "SELECT g\u0435tenv('HOME')", FUNCTION),
    ("zero-width-getenv", "duckdb", "SELECT get\u200benv('HOME')", FUNCTION),
    # a file read hidden in subqueries, CTEs, LATERAL, UNNEST and VALUES
    ("nested-subquery-read", "duckdb",
     "SELECT * FROM (SELECT * FROM (SELECT * FROM read_parquet('/etc/x.parquet')))",
     NOT_ALLOWED),
    ("cte-read", "duckdb", "WITH a AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM a",
     NOT_ALLOWED),
    ("in-subquery-read", "duckdb",
     "SELECT * FROM data WHERE value IN (SELECT * FROM read_json('/etc/x.json'))", NOT_ALLOWED),
    ("cte-out-of-scope", "duckdb",
     'SELECT (WITH "/etc/x.csv" AS (SELECT 1) SELECT 1) AS x, * FROM "/etc/x.csv"',
     NOT_ALLOWED),
    ("cte-forward-reference", "duckdb",
     "WITH a AS (SELECT * FROM duckdb_views), duckdb_views AS (SELECT 1) SELECT * FROM a", TABLE),
    ("lateral-read", "duckdb",
     "SELECT * FROM data, LATERAL (SELECT * FROM read_csv('/etc/passwd'))", NOT_ALLOWED),
    ("unnest-glob", "duckdb", "SELECT unnest(glob('/etc/*'))", FUNCTION),
    ("values-getenv", "duckdb", "VALUES (getenv('HOME'))", FUNCTION),
    ("values-read_text", "duckdb",
     "SELECT * FROM (VALUES (read_text('/etc/passwd'))) AS t(x)", FUNCTION),
    ("explain-getenv", "duckdb", "EXPLAIN SELECT getenv('HOME')", FUNCTION),
    ("describe-reader", "duckdb", "DESCRIBE read_parquet('/etc/x.parquet')", SCHEMA),
    # PIVOT / UNPIVOT: a file read or an outside function hidden in the source, the IN list
    # or USING; a pivot's values are read only after the whole query passed every check
    ("pivot-in-reader", "duckdb",
     "PIVOT data ON metric IN ((SELECT content FROM read_text('/etc/passwd'))) "
     "USING SUM(value)", NOT_ALLOWED),
    ("pivot-using-getenv", "duckdb",
     "PIVOT data ON metric IN ('fans') USING SUM(getenv('HOME'))", FUNCTION),
    ("pivot-source-reader", "duckdb", "PIVOT read_csv('/etc/passwd') ON a USING COUNT(*)",
     NOT_ALLOWED),
    ("pivot-dynamic-reader", "duckdb",
     "PIVOT (SELECT * FROM read_text('/etc/passwd')) ON content USING COUNT(*)", NOT_ALLOWED),
    ("pivot-dynamic-beside-getenv", "duckdb",
     "SELECT *, getenv('HOME') FROM (PIVOT data ON metric USING SUM(value))", FUNCTION),
    ("pivot-on-getenv", "duckdb", "PIVOT data ON getenv('HOME') USING SUM(value)",
     NOT_ALLOWED),
    ("pivot-engine-catalog", "duckdb", "PIVOT duckdb_settings() ON name USING COUNT(*)",
     NOT_ALLOWED),
    ("pivot-clause-in-reader", "duckdb",
     "SELECT * FROM data PIVOT (SUM(value) FOR metric IN "
     "((SELECT content FROM read_text('/etc/passwd'))))", NOT_ALLOWED),
    ("unpivot-reader", "duckdb", "UNPIVOT read_json('/etc/x.json') ON a, b", NOT_ALLOWED),
    # COLUMNS(...) sees only its query's sources, as the catalog lists their columns
    ("columns-engine-catalog", "duckdb", "SELECT COLUMNS('.*') FROM duckdb_settings()",
     NOT_ALLOWED),
    ("columns-plan-internals", "duckdb", "SELECT COLUMNS('^__dsgrid') FROM data", COLUMN),
    ("columns-lambda-getenv", "duckdb",
     "SELECT COLUMNS(c -> getenv(c) IS NOT NULL) FROM data", NOT_ALLOWED),
    ("columns-file-list", "duckdb", "SELECT COLUMNS(['/etc/passwd']) FROM data", COLUMN),
    # pure by the engine's flags, refused by the reviewed deny list
    ("json_serialize_plan", "duckdb",
     "SELECT json_serialize_plan('SELECT * FROM read_csv(''/etc/passwd'')') AS p", FUNCTION),
    ("pg_catalog-function", "duckdb", "SELECT pg_get_viewdef(1) AS v", FUNCTION),
    ("has_table_privilege", "duckdb", "SELECT has_table_privilege('t', 'SELECT') AS p",
     FUNCTION),
    ("get_block_size", "duckdb", "SELECT get_block_size('memory') AS b", FUNCTION),
    ("time_bucket-getenv", "duckdb",
     "SELECT time_bucket(INTERVAL '1 day', CAST(getenv('X') AS TIMESTAMP)) AS t", FUNCTION),
    # Spark SQL
    ("spark-add-jar", "spark", "ADD JAR /tmp/evil.jar", NOT_ALLOWED),
    ("spark-add-file", "spark", "ADD FILE /tmp/evil.py", NOT_ALLOWED),
    ("spark-list-jars", "spark", "LIST JARS", NOT_ALLOWED),
    ("spark-temp-function", "spark", "CREATE TEMPORARY FUNCTION f AS 'com.evil.F'",
     NOT_ALLOWED),
    ("spark-temp-view-using", "spark",
     "CREATE OR REPLACE TEMP VIEW v USING parquet OPTIONS (path '/tmp')", NOT_ALLOWED),
    ("spark-set", "spark", "SET spark.sql.ansi.enabled=true", NOT_ALLOWED),
    ("spark-reset", "spark", "RESET spark.sql.ansi.enabled", NOT_ALLOWED),
    ("spark-cache", "spark", "CACHE TABLE data", NOT_ALLOWED),
    ("spark-uncache", "spark", "UNCACHE TABLE data", NOT_ALLOWED),
    ("spark-refresh", "spark", "REFRESH TABLE data", NOT_ALLOWED),
    ("spark-msck", "spark", "MSCK REPAIR TABLE data", NOT_ALLOWED),
    ("spark-analyze", "spark", "ANALYZE TABLE data COMPUTE STATISTICS", NOT_ALLOWED),
    ("spark-insert-directory", "spark", "INSERT OVERWRITE DIRECTORY '/tmp/x' SELECT 1",
     NOT_ALLOWED),
    ("spark-parquet-path", "spark", "SELECT * FROM parquet.`/tmp/x.parquet`", NOT_ALLOWED),
    ("spark-csv-path", "spark", "SELECT * FROM csv.`/etc/passwd`", NOT_ALLOWED),
    ("spark-json-path", "spark", "SELECT * FROM json.`/etc/x`", NOT_ALLOWED),
    ("spark-text-path", "spark", "SELECT * FROM text.`/etc/passwd`", NOT_ALLOWED),
    ("spark-backtick-path", "spark", "SELECT * FROM `/etc/passwd`", NOT_ALLOWED),
    ("spark-path-in-subquery", "spark",
     "SELECT * FROM data WHERE value > (SELECT MAX(x) FROM json.`/tmp/x`)", NOT_ALLOWED),
    ("spark-read_files", "spark", "SELECT * FROM read_files('/tmp')", NOT_ALLOWED),
    ("spark-identifier", "spark", "SELECT * FROM IDENTIFIER('/etc/passwd')", NOT_ALLOWED),
    ("spark-range-huge", "spark", "SELECT * FROM range(1000000000000)", SERIES),
    ("spark-sequence-huge", "spark", "SELECT explode(sequence(1, 100000000000)) AS x", SERIES),
    ("spark-xpath", "spark", "SELECT xpath('<a><b>1</b></a>', 'a/b/text()')", FUNCTION),
    ("spark-from_protobuf", "spark",
     "SELECT from_protobuf(X'00', 'M', '/etc/desc.pb') AS m", FUNCTION),
    ("spark-current_timezone", "spark", "SELECT current_timezone()", FUNCTION),
    ("spark-pivot-path", "spark",
     "SELECT * FROM parquet.`/tmp/x` PIVOT (SUM(v) FOR k IN ('a'))", NOT_ALLOWED),
    ("spark-reflect", "spark", "SELECT reflect('java.lang.System', 'getenv', 'HOME')",
     FUNCTION),
    ("spark-java_method", "spark",
     "SELECT java_method('java.lang.Runtime', 'getRuntime')", FUNCTION),
    ("spark-try_reflect", "spark", "SELECT try_reflect('java.lang.System', 'exit', 0)",
     FUNCTION),
    ("spark-input_file_name", "spark", "SELECT input_file_name() FROM data", FUNCTION),
    ("spark-input_file_block", "spark", "SELECT input_file_block_start() FROM data", FUNCTION),
    ("spark-current_user", "spark", "SELECT current_user()", FUNCTION),
    ("spark-session_user", "spark", "SELECT session_user()", FUNCTION),
    ("spark-current_catalog", "spark", "SELECT current_catalog()", FUNCTION),
    ("spark-version", "spark", "SELECT version()", FUNCTION),
    ("spark-raise_error", "spark", "SELECT raise_error('boom')", FUNCTION),
    ("spark-transform-script", "spark",
     "SELECT TRANSFORM(value) USING 'cat /etc/passwd' AS (x) FROM data", NOT_ALLOWED),
    ("spark-lateral-view", "spark",
     "SELECT * FROM data LATERAL VIEW explode(java_method('a', 'b')) t AS x", FUNCTION),
    ("spark-global-temp", "spark", "SELECT * FROM global_temp.v", SCHEMA),
    ("spark-catalog", "spark", "SELECT * FROM spark_catalog.default.t", TABLE),
    ("spark-two-statements", "spark", "SELECT 1; ADD JAR /tmp/evil.jar", NOT_ALLOWED),
    ("spark-comment-hides", "spark", "/* q */ -- x\nCREATE TABLE t USING parquet AS SELECT 1",
     NOT_ALLOWED),
]  # fmt: skip


def test_the_table_is_large_and_covers_both_dialects() -> None:
    ids = [row[0] for row in HOSTILE]
    assert len(ids) == len(set(ids))
    assert len(HOSTILE) >= 100
    assert sum(row[1] == "spark" for row in HOSTILE) >= 20


class EngineSpy:
    """Replaces an engine's entry points; any call is recorded and fails the statement."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def install(self, engine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in ("register", "execute", "schema"):
            monkeypatch.setattr(engine, name, self._recorder(name))

    def _recorder(self, name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args[0] if args else None))
            raise AssertionError(f"the engine's {name} was called")

        return record


@pytest.fixture(scope="module", params=ENGINES)
def session(
    request: pytest.FixtureRequest, efs_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Session]:
    """A session per engine, with an export directory. Spark's session is the process's one
    (dsgrid_sql.engine.spark shares it), started once for the whole test run."""
    export_dir = tmp_path_factory.mktemp("exports")
    with dsgrid_sql.connect(efs_dir, engine=request.param, export_dir=export_dir) as session:
        session.engine  # noqa: B018 - start the engine before the spy replaces its methods
        yield session


@pytest.fixture
def spy(session: Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[EngineSpy]:
    spy = EngineSpy()
    spy.install(session.engine, monkeypatch)
    dialect = session.dialect
    yield spy
    session.dialect = dialect


@pytest.mark.parametrize(("dialect", "sql", "code"), [r[1:] for r in HOSTILE],
                         ids=[r[0] for r in HOSTILE])  # fmt: skip
def test_hostile_statement_is_refused_before_the_engine(
    session: Session, spy: EngineSpy, dialect: str, sql: str, code: str
) -> None:
    session.dialect = dialect
    with pytest.raises(DsgridSqlError) as caught:
        session.sql(sql).to_arrow()
    error = caught.value
    assert spy.calls == [], f"reached the engine: {spy.calls}"
    assert error.code == code, f"{type(error).__name__}: {error.message}"
    # One sentence for the user: no traceback, no engine text, no newline.
    assert "\n" not in error.message and "Traceback" not in error.message
    assert error.message.rstrip().endswith((".", "?"))


def test_copy_outside_the_export_dir_writes_nothing(session: Session, spy: EngineSpy) -> None:
    outside = Path(session.export_dir).parent / "escaped.parquet"  # type: ignore[arg-type]
    with pytest.raises(DsgridSqlError, match="inside the export directory"):
        session.sql(f"COPY (SELECT 1 AS a) TO '{outside}'")
    assert not outside.exists()
    assert spy.calls == []


def test_the_spy_sees_a_query_that_is_allowed(session: Session, spy: EngineSpy) -> None:
    """The control: an allowed query does reach the (spied) engine."""
    with pytest.raises(AssertionError, match="engine's"):
        session.sql("SELECT COUNT(*) AS n FROM data").to_arrow()
    assert [name for name, _ in spy.calls][:1] in (["register"], ["execute"])


def test_allowed_table_functions_still_run(session: Session) -> None:
    """UNNEST, VALUES and bounded series compute on values only; the allowlist keeps them."""
    rows = session.sql("SELECT x FROM UNNEST([1, 2, 3]) AS t(x) ORDER BY x").to_arrow()
    assert rows.column("x").to_pylist() == [1, 2, 3]
    rows = session.sql("SELECT a FROM (VALUES (1), (2)) AS t(a) ORDER BY a").to_arrow()
    assert rows.column("a").to_pylist() == [1, 2]
    rows = session.sql("SELECT x FROM generate_series(1, 3) AS t(x) ORDER BY x").to_arrow()
    assert rows.column("x").to_pylist() == [1, 2, 3]


def test_a_cte_named_like_a_file_is_a_cte_in_its_scope(session: Session) -> None:
    rows = session.sql('WITH "x.csv" AS (SELECT 1 AS a) SELECT a FROM "x.csv"').to_arrow()
    assert rows.column("a").to_pylist() == [1]


def test_spark_does_not_substitute_variables_in_strings(session: Session) -> None:
    """Spark replaces ${env:HOME} even inside a string literal unless told not to: a string
    must come back as written, on every engine."""
    text = "${env:HOME} ${system:java.version} ${spark.app.name}"
    rows = session.sql(f"SELECT '{text}' AS s").to_arrow()
    assert rows.column("s").to_pylist() == [text]
