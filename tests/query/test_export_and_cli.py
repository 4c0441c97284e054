"""Parquet export (COPY, --output, Result.to_parquet) and the query commands of the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import dsgrid_sql
from dsgrid_sql.cli import main
from dsgrid_sql.errors import ExportError
from dsgrid_sql.session import Session

STATES = "SELECT us_states, metric, SUM(value) AS value FROM data GROUP BY ALL"


@pytest.fixture(autouse=True)
def _translation_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Translations kept by `query` go to this test's folder, not the user's cache."""
    monkeypatch.setenv("DSGRID_SQL_CACHE_DIR", str(tmp_path / "translation-cache"))


def test_to_parquet_with_lineage(efs_duckdb: Session, tmp_path: Path) -> None:
    target = efs_duckdb.sql(STATES).to_parquet(tmp_path / "states.parquet")
    table = pq.read_table(target)
    assert table.num_rows == 8
    lineage = json.loads(table.schema.metadata[b"dsgrid_sql"])
    assert lineage["query"] == STATES
    assert lineage["projects"] == {"test_efs": "1.2.0"}
    assert lineage["datasets"] == {
        "test_efs_comstock": "1.0.0",
        "test_efs_comstock_unpivoted": "1.0.0",
    }
    assert [p.name for p in tmp_path.iterdir()] == ["states.parquet"]
    with pytest.raises(ExportError, match="already exists; nothing was written"):
        efs_duckdb.sql(STATES).to_parquet(target)


def test_copy_partitioned(efs_duckdb: Session, tmp_path: Path) -> None:
    result = efs_duckdb.sql(
        f"COPY ({STATES}) TO '{tmp_path / 'out'}' (FORMAT parquet, PARTITION_BY (metric))"
    )
    assert result.message == f"Wrote 8 rows to {tmp_path / 'out'}."
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "metric=cooling",
        "metric=fans",
    ]
    assert pq.read_table(tmp_path / "out").num_rows == 8


def test_failed_export_leaves_nothing(efs_duckdb: Session, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="Cannot partition by nope"):
        efs_duckdb.sql(f"COPY ({STATES}) TO '{tmp_path / 'x.parquet'}' (PARTITION_BY (nope))")
    assert list(tmp_path.iterdir()) == []


def test_export_dir_confines_paths(efs_dir: Path, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    with dsgrid_sql.connect(efs_dir, export_dir=exports) as session:
        result = session.sql(f"COPY ({STATES}) TO 'states.parquet'")
        assert (exports / "states.parquet").is_file() and "8 rows" in (result.message or "")
        for path in ("../escape.parquet", str(tmp_path / "escape.parquet")):
            with pytest.raises(ExportError, match="must stay inside the export directory"):
                session.sql(f"COPY ({STATES}) TO '{path}'")
    assert not (tmp_path / "escape.parquet").exists()


def test_cli_query_formats_and_output(efs_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["--registry", str(efs_dir)]
    table = runner.invoke(main, [*base, "query", STATES + " ORDER BY ALL"])
    assert table.exit_code == 0, table.output
    assert table.output.splitlines()[0].split() == ["us_states", "metric", "value"]
    assert "(8 rows)" in table.output
    as_json = runner.invoke(
        main,
        [*base, "query", "--format", "json", "SELECT DISTINCT us_states FROM data ORDER BY 1"],
    )
    assert [r["us_states"] for r in json.loads(as_json.output)] == ["CA", "CO", "NY", "TX"]
    csv = runner.invoke(
        main, [*base, "query", "--format", "csv", "SELECT DISTINCT metric FROM data ORDER BY 1"]
    )
    assert csv.output.split() == ['"metric"', '"cooling"', '"fans"']
    md = runner.invoke(
        main,
        [*base, "query", "--format", "markdown", "SELECT DISTINCT metric FROM data ORDER BY 1"],
    )
    assert md.output.splitlines()[:3] == ["| metric |", "|---|", "| cooling |"]
    out = tmp_path / "r.parquet"
    written = runner.invoke(main, [*base, "query", "-o", str(out), STATES])
    assert written.exit_code == 0 and pq.read_table(out).num_rows == 8
    from_stdin = runner.invoke(
        main, [*base, "query", "-"], input="SELECT COUNT(*) AS n FROM test_efs_comstock"
    )
    assert "178080" in from_stdin.output


def test_cli_errors_explain_translate(efs_dir: Path) -> None:
    runner = CliRunner()
    base = ["--registry", str(efs_dir)]
    bad = runner.invoke(main, [*base, "query", "SELECT * FROM data WHERE us_states = 'XX'"])
    assert bad.exit_code == 1
    assert "Error: Unknown record 'XX' for column 'us_states' (US States)." in bad.output
    assert "Traceback" not in bad.output
    explained = runner.invoke(
        main,
        [
            *base,
            "explain",
            "SELECT us_states, SUM(value) FROM data WHERE us_states = 'CA' GROUP BY 1",
        ],
    )
    assert "pushed filter: geography IN (06073, 06075)" in explained.output
    assert "unit conversion com_cooling → cooling: × 1000" in explained.output
    assert (
        # Two counties pass: summed by county, us_states joined to those sums.
        "supplemental us_states: joined to the sums by its base column (about 2 groups"
        in explained.output
        and "Engine SQL (duckdb):" in explained.output
    )
    spark_sql = runner.invoke(
        main,
        [
            *base,
            "translate",
            "--to",
            "spark",
            "SELECT us_states, SUM(value) FROM data GROUP BY ALL",
        ],
    )
    assert spark_sql.exit_code == 0 and "`us_states`" in spark_sql.output


# -- the file name says the format; CSV printed whole ----------------------------------------


def _is_parquet(path: Path) -> bool:
    return path.read_bytes()[:4] == b"PAR1"


def test_copy_format_from_the_file_name(efs_duckdb: Session, tmp_path: Path) -> None:
    query = "SELECT DISTINCT metric FROM data ORDER BY 1"
    efs_duckdb.sql(f"COPY ({query}) TO '{tmp_path / 'x.csv'}'")
    assert (tmp_path / "x.csv").read_text() == '"metric"\n"cooling"\n"fans"\n'
    efs_duckdb.sql(f"COPY ({query}) TO '{tmp_path / 'upper.CSV'}'")
    assert not _is_parquet(tmp_path / "upper.CSV")
    efs_duckdb.sql(f"COPY ({query}) TO '{tmp_path / 'x.parquet'}'")
    assert pq.read_table(tmp_path / "x.parquet").num_rows == 2
    # No format in the name: Parquet, as before; an explicit FORMAT wins over that default.
    efs_duckdb.sql(f"COPY ({query}) TO '{tmp_path / 'x.out'}'")
    assert _is_parquet(tmp_path / "x.out")
    efs_duckdb.sql(f"COPY ({query}) TO '{tmp_path / 'y.out'}' (FORMAT csv)")
    assert (tmp_path / "y.out").read_text().startswith('"metric"\n')
    efs_duckdb.sql(f"COPY ({query}) TO '{tmp_path / 'z.csv'}' (FORMAT 'CSV')")
    assert not _is_parquet(tmp_path / "z.csv")


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        (
            "x.csv",
            "(FORMAT parquet)",
            "The format parquet contradicts the file name 'x.csv', which says csv: name the file for its format, or leave the format out.",
        ),
        (
            "x.parquet",
            "(FORMAT csv)",
            "The format csv contradicts the file name 'x.parquet', which says parquet",
        ),
        ("x.txt", "(FORMAT json)", "Unknown export format 'json'; use parquet or csv."),
    ],
)
def test_copy_format_contradicting_the_name_is_an_error(
    efs_duckdb: Session, tmp_path: Path, name: str, options: str, message: str
) -> None:
    with pytest.raises(ExportError) as info:
        efs_duckdb.sql(f"COPY (SELECT 1 AS one) TO '{tmp_path / name}' {options}")
    assert str(info.value).startswith(message)
    assert list(tmp_path.iterdir()) == []


def test_cli_output_format_from_the_file_name(efs_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["--registry", str(efs_dir), "query"]
    sql = "SELECT DISTINCT metric FROM data ORDER BY 1"
    for name in ("r.csv", "R.CSV"):
        done = runner.invoke(main, [*base, "-o", str(tmp_path / name), sql])
        assert done.exit_code == 0, done.output
        assert (tmp_path / name).read_text() == '"metric"\n"cooling"\n"fans"\n'
    done = runner.invoke(main, [*base, "-o", str(tmp_path / "r.data"), sql])
    assert done.exit_code == 0 and _is_parquet(tmp_path / "r.data")
    copy = runner.invoke(main, [*base, f"COPY ({sql}) TO '{tmp_path / 'c.csv'}'"])
    assert copy.exit_code == 0 and (tmp_path / "c.csv").read_text().endswith('"fans"\n')


def test_cli_csv_is_the_whole_csv(efs_dir: Path) -> None:
    import io

    import pyarrow as pa
    import pyarrow.csv as pacsv

    runner = CliRunner()
    base = ["--registry", str(efs_dir), "query", "--format", "csv"]
    # Ends with a line end, and a trailing row of NULLs (an empty line) is a row, not padding.
    sql = "SELECT metric FROM (SELECT DISTINCT metric FROM data UNION ALL SELECT NULL) ORDER BY 1"
    done = runner.invoke(main, [*base, sql])
    assert done.exit_code == 0, done.output
    buffer = io.BytesIO()
    pacsv.write_csv(pa.table({"metric": ["cooling", "fans", None]}), buffer)
    assert done.output == buffer.getvalue().decode() == '"metric"\n"cooling"\n"fans"\n\n'
    header_only = runner.invoke(main, [*base, "SELECT metric FROM data WHERE false"])
    assert header_only.output == '"metric"\n'
