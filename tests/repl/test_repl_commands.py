"""Backslash commands run on the shared registry and a generated one, through the same
execute() path the prompt uses; output captured as text."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dsgrid_sql.repl.special import COMMANDS
from dsgrid_sql.repl.special.registry import help_rows


def test_help_lists_every_command_from_the_registry(efs_repl) -> None:  # type: ignore[no-untyped-def]
    assert efs_repl.run("\\?")
    for command in set(COMMANDS.values()):
        assert command.usage in efs_repl.out, command.name
    required = ["\\dt", "\\d", "\\dd", "\\records", "\\mappings", "\\explain", "\\sql", "\\timing",
                "\\format", "\\o", "\\export", "\\engine", "\\dialect", "\\i", "\\e", "\\refresh",
                "\\q", "\\?"]  # fmt: skip
    assert set(required) <= set(COMMANDS)
    assert len(help_rows()) == len(set(COMMANDS.values()))


def test_unknown_command_suggests_the_closest(efs_repl) -> None:  # type: ignore[no-untyped-def]
    assert not efs_repl.run("\\recrods us_states")
    assert efs_repl.err.splitlines()[0] == (
        "Error: Unknown command '\\recrods'. Did you mean '\\records'?"
    )
    assert "Traceback" not in efs_repl.err


def test_dt_lists_the_project_tables(efs_repl) -> None:  # type: ignore[no-untyped-def]
    assert efs_repl.run("\\dt")
    assert "Tables of test_efs" in efs_repl.out
    for table in ("data", "test_efs_comstock", "test_efs_comstock_unpivoted"):
        assert f"test_efs  {table}" in efs_repl.out


def test_dt_pattern_searches_every_schema(efs_repl) -> None:  # type: ignore[no-untyped-def]
    assert efs_repl.run("\\dt us_*")
    assert "test_efs_dimensions  us_states" in efs_repl.out
    assert "test_efs_comstock" not in efs_repl.out


def test_d_describes_a_table_with_roles(efs_repl) -> None:  # type: ignore[no-untyped-def]
    assert efs_repl.run("\\d data")
    out = efs_repl.out
    assert "test_efs.data:" in out
    assert "us_states" in out and "supplemental" in out and "record_name" in out


def test_d_unknown_table_is_an_error_with_a_guess(efs_repl) -> None:  # type: ignore[no-untyped-def]
    assert not efs_repl.run("\\d dta")
    assert "Did you mean 'data'?" in efs_repl.err


def test_dd_lists_dimensions_with_columns_and_counts(efs_repl) -> None:  # type: ignore[no-untyped-def]
    assert efs_repl.run("\\dd")
    lines = efs_repl.out.splitlines()
    states = next(line for line in lines if line.startswith("us_states "))
    assert "supplemental" in states and "US States" in states and " 4 " in states
    county = next(line for line in lines if line.startswith("geography "))
    assert "base" in county and " 8 " in county


def test_records_by_column_name_with_a_pattern_on_names(efs_repl) -> None:  # type: ignore[no-untyped-def]
    assert efs_repl.run("\\records geography san")
    out = efs_repl.out
    assert "06073" in out and "San Diego County" in out and "06075" in out
    assert "48201" not in out
    assert "(2 rows)" in out


def test_records_by_dimension_name_and_glob(efs_repl) -> None:  # type: ignore[no-untyped-def]
    assert efs_repl.run('\\records "US States" col*')
    assert (
        "CO  " in efs_repl.out and "Colorado" in efs_repl.out and "California" not in efs_repl.out
    )
    assert efs_repl.run("\\records us_census_regions w*")
    assert "west" in efs_repl.out


def test_records_unknown_dimension(efs_repl) -> None:  # type: ignore[no-untyped-def]
    assert not efs_repl.run("\\records us_stats")
    assert "Did you mean 'us_states'?" in efs_repl.err
    assert "\\dd lists the dimensions" in efs_repl.err


def test_mappings(efs_repl) -> None:  # type: ignore[no-untyped-def]
    assert efs_repl.run("\\mappings geography")
    assert "geography__us_states" in efs_repl.out
    assert "Base-to-supplemental" in efs_repl.out


def test_explain_and_sql_show_plan_and_engine_sql(efs_repl) -> None:  # type: ignore[no-untyped-def]
    query = "SELECT us_states, SUM(value) FROM data WHERE us_states = 'CA' GROUP BY ALL"
    assert efs_repl.run(f"\\explain {query}")
    assert "test_efs_comstock" in efs_repl.out
    before = len(efs_repl.out)
    assert efs_repl.run(f"\\sql {query}")
    engine_sql = efs_repl.out[before:]
    assert engine_sql.startswith("SELECT\n")  # pretty-printed
    # Two counties pass: summed by county, us_states joined to the sums with its fraction.
    assert '"sp0"."from_fraction"' in engine_sql
    assert "WHERE us_states" not in engine_sql


def test_sql_without_query_is_an_error(efs_repl) -> None:  # type: ignore[no-untyped-def]
    assert not efs_repl.run("\\sql")
    assert "needs a query" in efs_repl.err


def test_format_timing_engine_dialect(small_repl) -> None:  # type: ignore[no-untyped-def]
    assert small_repl.run("\\format csv")
    assert small_repl.run("SELECT 1 AS one")
    assert small_repl.out.strip().splitlines()[-2:] == ['"one"', "1"]
    assert small_repl.run("\\timing off")
    assert small_repl.run("\\format table")
    assert small_repl.run("SELECT 1234567 AS n")
    assert "1,234,567" in small_repl.out and small_repl.out.rstrip().endswith("(1 row)")
    assert small_repl.run("\\engine duckdb") and "Engine is duckdb." in small_repl.err
    assert not small_repl.run("\\engine oracle")
    assert "Unknown engine 'oracle'" in small_repl.err
    assert small_repl.run("\\dialect spark") and small_repl.session.dialect == "spark"
    assert not small_repl.run("\\format xml")
    assert "Unknown format 'xml'" in small_repl.err


def test_o_sends_results_to_a_file_and_back(small_repl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "out.txt"
    assert small_repl.run(f"\\o {target}\nSELECT 'to the file' AS x;\n\\o\nSELECT 'back' AS y;")
    assert "to the file" in target.read_text()
    assert "to the file" not in small_repl.out
    assert "back" in small_repl.out and "back" not in target.read_text()


def test_export_writes_parquet_with_lineage(small_repl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "states.parquet"
    query = "SELECT us_states, SUM(value) AS v FROM data GROUP BY ALL"
    assert small_repl.run(f"\\export {target} {query}")
    table = pq.read_table(target)
    assert table.num_rows == 12 and table.column_names == ["us_states", "v"]
    assert b"dsgrid_sql" in pq.read_metadata(target).metadata
    assert f"Wrote 12 rows to {target}" in small_repl.err
    assert not small_repl.run(f"\\export {target} {query}")
    assert "already exists" in small_repl.err
    assert small_repl.run(f"\\export --overwrite {target} {query}")
    csv = tmp_path / "states.csv"
    assert small_repl.run(f"\\export {csv} {query} ORDER BY 1;")
    assert csv.read_text().splitlines()[:2][0] == '"us_states","v"'
    assert csv.read_text().splitlines()[1].startswith('"AL",')


def test_export_refuses_a_non_query(small_repl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert not small_repl.run(f"\\export {tmp_path / 'x.parquet'} SHOW TABLES")
    assert "takes a query" in small_repl.err


def test_i_runs_a_file_and_stops_at_its_error(small_repl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "q.sql"
    script.write_text("SELECT 'first' AS a;\nSELECT nope FROM data;\nSELECT 'third' AS c;\n")
    assert not small_repl.run(f"\\i {script}\nSELECT 'after' AS d")
    assert "first" in small_repl.out and "third" not in small_repl.out
    assert "after" not in small_repl.out  # the script's failure stops the outer script too
    assert "Unknown column 'nope'" in small_repl.err
    assert not small_repl.run(f"\\i {tmp_path / 'missing.sql'}")
    assert "Cannot read" in small_repl.err


def test_e_puts_the_edited_query_at_the_next_prompt(small_repl, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    seen = {}

    def fake_edit(text: str = "", **kwargs: object) -> str:
        seen["text"] = text
        return text.replace("1", "2")

    monkeypatch.setattr("click.edit", fake_edit)
    assert small_repl.run("SELECT 1 AS x;\n\\e")
    assert seen["text"] == "SELECT 1 AS x"
    assert small_repl.next_text == "SELECT 2 AS x"


def test_refresh_reopens_the_catalog(small_repl) -> None:  # type: ignore[no-untyped-def]
    old = small_repl.session.catalog
    assert small_repl.run("\\refresh")
    assert small_repl.session.catalog is not old
    assert small_repl.index.wait(10) is not None
    assert small_repl.run("SELECT COUNT(*) AS n FROM data")


def test_q_ends_the_session_and_skips_the_rest(small_repl) -> None:  # type: ignore[no-untyped-def]
    assert small_repl.run("\\q\nSELECT 'never' AS x")
    assert small_repl.done and "never" not in small_repl.out


@pytest.mark.parametrize("command", ["\\dd", "\\records us_states", "\\mappings"])
def test_project_commands_need_a_project(command: str, repl_factory, small_registry) -> None:  # type: ignore[no-untyped-def]
    repl = repl_factory(small_registry)
    repl.session.schema = "registry"  # a schema of no project
    assert not repl.run(command)
    assert (
        " ".join(repl.err.split()) == "Error: No project is chosen. Hint: USE one of: dsgrid_demo."
    )


def test_generated_registry_records_and_dimensions(small_repl) -> None:  # type: ignore[no-untyped-def]
    assert small_repl.run("\\records end_uses_by_fuel_type")
    assert "natural_gas" in small_repl.out and "Natural Gas" in small_repl.out
    assert small_repl.run("\\dd fuel")
    assert "End Uses by Fuel Type" in small_repl.out


def test_every_command_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## REPL", 1)[1].split("\n## ", 1)[0]
    for name in {c.name for c in COMMANDS.values()}:
        assert re.search(rf"`{re.escape(name)}[` \[]", section), name
