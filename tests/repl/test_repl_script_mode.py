"""``dsgrid-sql repl`` without a terminal: -c, -f, an argument or stdin; formats for scripts;
exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from dsgrid_sql.cli import main

STATES = "SELECT us_states, ROUND(SUM(value), 3) AS mwh FROM data GROUP BY ALL ORDER BY 1"


def invoke(registry: Path, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["--registry", str(registry), "repl", *args], input=input)


def test_c_runs_several_statements_in_csv(small_registry: Path) -> None:
    result = invoke(small_registry, "-c", f"SELECT 'a;b' AS x; {STATES}", "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:2] == ['"x"', '"a;b"']
    assert lines[2] == '"us_states","mwh"' and len(lines) == 3 + 12


def test_json_format_and_commands_in_scripts(small_registry: Path) -> None:
    result = invoke(small_registry, "-c", "\\records us_census_regions", "--format", "json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert {r["id"] for r in records} == {"midwest", "northeast", "south", "west"}


def test_stdin_when_not_a_terminal(small_registry: Path) -> None:
    result = invoke(small_registry, input="SELECT 40 + 2 AS answer;\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["answer", "------", "    42", "(1 row)"]


def test_f_file_and_first_error_stops_with_exit_1(small_registry: Path, tmp_path: Path) -> None:
    script = tmp_path / "q.sql"
    script.write_text("SELECT 1 AS one;\nSELECT us_states FROM data WHERE us_states = 'ca';\n"
                      "SELECT 3 AS three;\n")  # fmt: skip
    result = invoke(small_registry, "-f", str(script), "--format", "csv")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == ['"one"', "1"]
    assert "Error: Unknown record 'ca' for column 'us_states'" in result.stderr
    assert "Did you mean 'CA'?" in result.stderr
    assert "^^^^" in result.stderr and "Traceback" not in result.stderr


def test_sql_argument_and_registry_option_on_the_command(small_registry: Path) -> None:
    result = CliRunner().invoke(
        main, ["repl", "--registry", str(small_registry), "SELECT 7 AS n", "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ['"n"', "7"]


def test_meta_statements_print_their_message(small_registry: Path) -> None:
    result = invoke(small_registry, "-c", "SET pushdown = off; USE dsgrid_demo")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["pushdown = False", "Using dsgrid_demo."]


def _run(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, NO_COLOR="1")
    return subprocess.run(
        [sys.executable, "-m", "dsgrid_sql", *args],
        input=input,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_exit_codes_in_a_real_process(small_registry: Path) -> None:
    ok = _run("--registry", str(small_registry), "repl", "-c", "SELECT 1 AS x", "--format", "csv")
    assert (ok.returncode, ok.stdout) == (0, '"x"\n1\n')
    bad = _run("--registry", str(small_registry), "repl", input="SELECT nope FROM data;\n")
    assert bad.returncode == 1
    assert bad.stderr.startswith("Error: Unknown column 'nope' in table 'dsgrid_demo.data'.")
    assert "Traceback" not in bad.stderr and bad.stdout == ""
    missing = _run("repl", "-c", "SELECT 1")
    assert missing.returncode == 2 and "No registry given" in missing.stderr


def test_repeated_c_each_a_statement_even_after_a_comment(small_registry: Path) -> None:
    result = invoke(
        small_registry,
        *(
            "-c",
            "SELECT 1 AS a -- a trailing comment",
            "-c",
            "\\format json",
            "-c",
            "SELECT 2 AS b",
        ),
        "--format",
        "csv",
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == ['"a"', "1", "[", "{", '"b":', "2", "}", "]"]
    assert "Output format is json." in result.stderr
