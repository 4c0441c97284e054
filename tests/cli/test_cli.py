"""The command line: help everywhere, catalog listings, errors without tracebacks."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from dsgrid_sql.cli import main


@pytest.fixture(autouse=True)
def _translation_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Translations kept by `query` go to a folder of this test, not the user's cache."""
    folder = tmp_path_factory.mktemp("translation-cache")
    monkeypatch.setenv("DSGRID_SQL_CACHE_DIR", str(folder))
    return folder


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("path", _commands(main), ids=lambda p: " ".join(p) or "dsgrid-sql")
def test_help_on_every_command(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_python_dash_m() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dsgrid_sql", "--help"], capture_output=True, text=True, check=True
    )
    assert "catalog" in result.stdout and "generate" in result.stdout


def test_catalog_overview(efs_dir: Path) -> None:
    result = CliRunner().invoke(main, ["--registry", str(efs_dir), "catalog"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "test_efs  1.2.0    1.0.0, 1.1.0, 1.2.0  Complete" in out
    assert "test_efs_comstock_time_in_parts  1.0.0    1.0.0     two_table  (not submitted)" in out
    assert "test_efs_mappings" in out and "registry" in out


def test_catalog_json(efs_dir: Path) -> None:
    result = CliRunner().invoke(main, ["--registry", str(efs_dir), "catalog", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [p["project"] for p in data["projects"]] == ["test_efs"]
    assert {d["dataset"] for d in data["datasets"]} == {
        "test_efs_comstock",
        "test_efs_comstock_time_in_parts",
        "test_efs_comstock_unpivoted",
    }
    assert any(t["schema"] == "test_efs" and t["table"] == "data" for t in data["tables"])


def test_describe_shows_types_and_remarks(efs_dir: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main, ["--registry", str(efs_dir), "catalog", "--format", "json", "describe", "data"]
    )
    assert result.exit_code == 0, result.output
    columns = {c["column"]: c for c in json.loads(result.output)}
    assert columns["timestamp"]["type"] == "TIMESTAMP WITH TIME ZONE"
    assert columns["us_states"]["also known as"] == "US States"
    assert "US States" in columns["us_states"]["remarks"]
    assert "kWh" in columns["unit"]["remarks"]
    text = runner.invoke(
        main, ["--registry", str(efs_dir), "catalog", "describe", "test_efs_dimensions.us_states"]
    )
    assert "census_region" in text.output and "VARCHAR" in text.output


def test_listing_subcommands(efs_dir: Path) -> None:
    runner = CliRunner()
    base = ["--registry", str(efs_dir), "catalog"]
    assert "test_efs_comstock_unpivoted" in runner.invoke(main, [*base, "datasets"]).output
    assert "information_schema" in runner.invoke(main, [*base, "schemas"]).output
    assert "us_states" in runner.invoke(main, [*base, "tables", "test_efs_dimensions"]).output
    columns = runner.invoke(main, [*base, "columns", "registry"]).output
    assert "mapping_records" in columns and "from_fraction" in columns


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--registry", "/no/such/registry", "catalog"],
            "Error: No registry at '/no/such/registry'",
        ),
        (["catalog"], "No registry given: pass --registry PATH or set DSGRID_SQL_REGISTRY."),
        (
            ["catalog", "describe", "dta"],
            "Error: No schema has a table 'dta'. Did you mean 'data'?",
        ),
        (
            ["catalog", "tables", "tst_efs"],
            "Error: The catalog has no schema 'tst_efs'. Did you mean 'test_efs'?",
        ),
    ],
)
def test_errors_are_one_sentence_and_exit_non_zero(
    efs_dir: Path, args: list[str], message: str
) -> None:
    if "--registry" not in args and args != ["catalog"]:
        args = ["--registry", str(efs_dir), *args]
    result = CliRunner(env={"DSGRID_SQL_REGISTRY": None}).invoke(main, args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_registry_from_environment(efs_dir: Path) -> None:
    result = CliRunner(env={"DSGRID_SQL_REGISTRY": str(efs_dir)}).invoke(
        main, ["catalog", "projects"]
    )
    assert result.exit_code == 0 and "test_efs" in result.output


def test_generate_and_demo(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "reg"
    result = runner.invoke(main, ["generate", str(out), "--counties", "3", "--hours", "24"])
    assert result.exit_code == 0, result.output
    assert (out / "registry.db").is_file()
    again = runner.invoke(main, ["generate", str(out), "--counties", "3"])
    assert again.exit_code == 1 and "already exists" in again.output
    bad = runner.invoke(main, ["generate", str(tmp_path / "x"), "--counties", "0"])
    assert bad.exit_code == 2 and "--counties" in bad.output and "Traceback" not in bad.output
    demo = runner.invoke(main, ["demo", "--output", str(tmp_path / "demo")])
    assert demo.exit_code == 0, demo.output
    assert "dsgrid_demo.data" in demo.output and "us_states" in demo.output


# -- --registry and --data-path before or after the command -------------------------------------

REGISTRY_COMMANDS = [
    ("query",),
    ("explain",),
    ("translate",),
    ("catalog",),
    *[("catalog", name) for name in main.commands["catalog"].commands],  # type: ignore[attr-defined]
    ("repl",),
    ("serve",),
]


@pytest.mark.parametrize("path", REGISTRY_COMMANDS, ids=" ".join)
def test_session_options_listed_in_every_command_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "--registry PATH" in result.output and "--data-path DIR" in result.output


def test_session_options_before_or_after_the_command(efs_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner(env={"DSGRID_SQL_REGISTRY": None, "DSGRID_SQL_DATA_PATH": None})
    registry, missing = str(efs_dir / "registry.db"), str(tmp_path / "none")
    count = "SELECT COUNT(*) AS n FROM test_efs_comstock"
    after = runner.invoke(main, ["query", "--registry", registry, count])
    assert after.exit_code == 0, after.output
    assert "178080" in after.output
    # After the command wins over before it, both ways round.
    wins = runner.invoke(main, ["--registry", missing, "query", "--registry", registry, count])
    assert wins.exit_code == 0 and "178080" in wins.output, wins.output
    loses = runner.invoke(main, ["--registry", registry, "query", "--registry", missing, count])
    assert loses.exit_code == 1 and f"No registry at '{missing}'" in loses.output
    empty = str(tmp_path)
    data = runner.invoke(
        main,
        [
            "--data-path",
            empty,
            "query",
            "--registry",
            registry,
            "--data-path",
            str(efs_dir / "data"),
            count,
        ],
    )
    assert data.exit_code == 0 and "178080" in data.output, data.output
    no_data = runner.invoke(main, ["query", "--registry", registry, "--data-path", empty, count])
    assert no_data.exit_code == 1 and "has no load data" in no_data.output
    # Nested groups: at the group or at its subcommand.
    for args in (
        ["catalog", "--registry", registry, "tables", "test_efs"],
        ["catalog", "tables", "--registry", registry, "test_efs"],
        ["catalog", "--registry", missing, "tables", "--registry", registry, "test_efs"],
    ):
        listed = runner.invoke(main, args)
        assert listed.exit_code == 0 and "test_efs_comstock" in listed.output, (
            args,
            listed.output,
        )
    for command in (["explain"], ["translate", "--to", "spark"], ["repl", "-c"]):
        done = runner.invoke(main, [command[0], "--registry", registry, *command[1:], count])
        assert done.exit_code == 0, (command, done.output)


def test_environment_fills_only_what_the_command_line_leaves_out(
    efs_dir: Path, tmp_path: Path
) -> None:
    registry = str(efs_dir / "registry.db")
    bad_env = CliRunner(env={"DSGRID_SQL_REGISTRY": str(tmp_path / "none")})
    for args in (
        ["--registry", registry, "catalog", "projects"],
        ["catalog", "projects", "--registry", registry],
    ):
        result = bad_env.invoke(main, args)
        assert result.exit_code == 0 and "test_efs" in result.output, (args, result.output)
    missing = bad_env.invoke(main, ["catalog", "projects"])
    assert missing.exit_code == 1 and "No registry at" in missing.output


# -- --engine spark without pyspark -------------------------------------------------------------

# Runs the CLI in a process where pyspark cannot be imported, as in an install without the
# spark extra (pyspark is installed in the development environment).
WITHOUT_PYSPARK = """
import sys

class NoPyspark:
    def find_spec(self, name, path=None, target=None):
        if name == "pyspark" or name.startswith("pyspark."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, NoPyspark())
sys.argv[0] = "dsgrid-sql"
from dsgrid_sql.cli import run
run()
"""


def test_spark_engine_without_pyspark_is_one_sentence(efs_dir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_PYSPARK, "--registry", str(efs_dir), "query",
         "--engine", "spark", "SELECT 1 AS one"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "ModuleNotFoundError" not in done.stderr
    assert done.stderr.strip() == (
        "Error: The Spark engine needs pyspark, which is not installed; "
        "install it with: pip install 'dsgrid-sql[spark]'."
    )


def test_engine_unavailable_is_a_dsgrid_sql_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from dsgrid_sql.engine import spark
    from dsgrid_sql.errors import DsgridSqlError, EngineUnavailableError

    monkeypatch.setattr(spark, "_session", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(EngineUnavailableError, match=r"pip install 'dsgrid-sql\[spark\]'") as info:
        spark.spark_session()
    assert isinstance(info.value, DsgridSqlError) and info.value.code == "engine_unavailable"


# -- what a command imports ---------------------------------------------------------------------

# Runs the CLI in-process and prints, after it, which heavy modules it loaded.
IMPORTS_AFTER = """
import sys
sys.argv[0] = "dsgrid-sql"
from dsgrid_sql.cli import main
try:
    main(standalone_mode=False)
finally:
    heavy = ("pandas", "pyspark", "prompt_toolkit", "pyarrow.flight", "polars")
    print("LOADED:", ",".join(sorted(m for m in heavy if m in sys.modules)), file=sys.stderr)
"""


def _loaded(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", IMPORTS_AFTER, *args], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stderr.rsplit("LOADED:", 1)[1].strip()


def test_import_of_the_cli_loads_no_heavy_module() -> None:
    code = (
        "import sys, dsgrid_sql.cli; "
        "print(sorted(m for m in ('pandas', 'pyspark', 'prompt_toolkit', 'pyarrow', 'duckdb', "
        "'sqlglot', 'pydantic', 'pyarrow.flight') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "args",
    [
        ["query", "SELECT us_states, SUM(value) FROM test_efs.data GROUP BY ALL"],
        ["query", "SELECT timestamp, local_timestamp, SUM(value) FROM data GROUP BY ALL LIMIT 3"],
        ["query", "--format", "json", "SELECT us_states_name, unit FROM data LIMIT 2"],
        ["query", "SHOW TABLES"],
        ["catalog"],
        ["explain", "SELECT us_states, SUM(value) FROM data WHERE us_states = 'CA' GROUP BY 1"],
    ],
    ids=lambda a: " ".join(a)[:40],
)
def test_commands_load_no_pandas_spark_or_repl(efs_dir: Path, args: list[str]) -> None:
    assert _loaded("--registry", str(efs_dir), *args) == ""


# -- the translation cache: a query sent again -------------------------------------------------

PLANNING = ("sqlglot", "pydantic", "dsgrid_sql.catalog", "dsgrid_sql.session")
LOADED_AFTER = """
import sys
sys.argv[0] = "dsgrid-sql"
from dsgrid_sql.cli import main
try:
    main(standalone_mode=False)
finally:
    names = ("sqlglot", "pydantic", "dsgrid_sql.catalog", "dsgrid_sql.session")
    print("PLANNED:", ",".join(m for m in names if m in sys.modules), file=sys.stderr)
"""


def _query_process(*args: str, env: dict[str, str] | None = None) -> tuple[str, bool]:
    """(stdout, whether the process planned the query) of one `dsgrid-sql` process."""
    done = subprocess.run(
        [sys.executable, "-c", LOADED_AFTER, *args],
        capture_output=True, text=True, env=None if env is None else {**os.environ, **env},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    planned = done.stderr.rsplit("PLANNED:", 1)[1].strip()
    assert planned in ("", ",".join(PLANNING)), planned
    return done.stdout, planned != ""


def _copy_of_efs(efs_dir: Path, tmp_path: Path) -> Path:
    """registry.db copied (to be changed), its data linked."""
    folder = tmp_path / "efs"
    folder.mkdir()
    shutil.copy2(efs_dir / "registry.db", folder / "registry.db")
    (folder / "data").symlink_to(efs_dir / "data", target_is_directory=True)
    return folder / "registry.db"


def test_query_sent_again_runs_without_planning(efs_dir: Path, _translation_cache: Path) -> None:
    args = [
        "--registry",
        str(efs_dir),
        "query",
        "SELECT us_states, ROUND(SUM(value)) AS v FROM data GROUP BY 1 ORDER BY 1",
    ]
    first, planned = _query_process(*args)
    assert planned and "(4 rows)" in first
    again, planned = _query_process(*args)
    assert not planned and again == first
    as_json, planned = _query_process(*args[:3], "--format", "json", *args[3:])
    assert not planned and '"us_states": "CA"' in as_json  # the format is not part of a plan
    # Other settings are: another dialect plans again.
    _, planned = _query_process(*args[:3], "--dialect", "postgres", *args[3:])
    assert planned
    off, planned = _query_process(*args, env={"DSGRID_SQL_CACHE_DIR": "off"})
    assert planned and off == first


def test_a_changed_registry_is_planned_again(efs_dir: Path, tmp_path: Path) -> None:
    registry = _copy_of_efs(efs_dir, tmp_path)
    args = [
        "--registry",
        str(registry),
        "query",
        "SELECT DISTINCT us_states_name FROM data ORDER BY 1",
    ]
    assert "California" in _query_process(*args)[0]
    out, planned = _query_process(*args)
    assert not planned and "California" in out
    # The record's name changes in the registry database (same file size).
    with sqlite3.connect(registry) as con:
        con.execute(
            "UPDATE models SET model = replace(model, '\"California\"', '\"Kalifornia\"') WHERE model_type = 'dimension'"
        )
    con.close()
    out, planned = _query_process(*args)
    assert planned and "Kalifornia" in out and "California" not in out
    out, planned = _query_process(*args)
    assert not planned and "Kalifornia" in out


def test_a_changed_data_folder_is_planned_again(efs_dir: Path, tmp_path: Path) -> None:
    registry = _copy_of_efs(efs_dir, tmp_path)
    data = tmp_path / "data-copy"
    shutil.copytree(efs_dir / "data", data)
    args = [
        "--registry",
        str(registry),
        "--data-path",
        str(data),
        "query",
        "SELECT COUNT(*) AS n FROM data",
    ]
    first, planned = _query_process(*args)
    assert planned
    assert _query_process(*args) == (first, False)
    table = data / "data" / "test_efs_comstock" / "1.0.0" / "table.parquet"
    # A file rewritten in place, a file added beside the data, a write-ahead log appearing:
    # each is planned again.
    os.utime(table, ns=(table.stat().st_atime_ns, table.stat().st_mtime_ns + 1_000_000))
    assert _query_process(*args) == (first, True)
    (table.parent / "load_data.parquet").write_bytes(table.read_bytes())
    assert _query_process(*args) == (first, True)
    assert _query_process(*args) == (first, False)
    Path(f"{registry}-wal").write_bytes(b"")
    assert _query_process(*args)[1]


def test_cache_entries_are_replaced_whole(efs_dir: Path, _translation_cache: Path) -> None:
    """Two processes writing the same entry at once: each renames a finished folder into
    place, so a reader sees a whole entry (or none), never a half-written one."""
    args = ["--registry", str(efs_dir), "query", "SELECT COUNT(*) AS n FROM test_efs_comstock"]
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "dsgrid_sql", *args], stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outputs = [run.communicate()[0] for run in runs]
    assert all(run.returncode == 0 for run in runs) and len(set(outputs)) == 1
    entries = list((_translation_cache / "translations").iterdir())
    assert [p.name.startswith(".") for p in entries] == [False]
    assert (entries[0] / "translation.json").is_file()
    assert _query_process(*args) == (outputs[0], False)


def test_cached_output_file_has_the_same_rows_and_lineage(
    efs_dir: Path, tmp_path: Path, same_answer
) -> None:  # type: ignore[no-untyped-def]
    sql = "SELECT us_states, SUM(value) AS v FROM data GROUP BY 1 ORDER BY 1"
    files = []
    for name in ("first.parquet", "again.parquet"):
        files.append(tmp_path / name)
        _, planned = _query_process("--registry", str(efs_dir), "query", "-o", str(files[-1]), sql)
        assert planned == (name == "first.parquet")
    first, again = (pq.read_table(f) for f in files)
    # The second process reuses the translation and runs the query again.
    same_answer(first, again)
    lineage = [json.loads(t.schema.metadata[b"dsgrid_sql"]) for t in (first, again)]
    for item in lineage:
        item.pop("written_at")
    assert lineage[0] == lineage[1] and lineage[0]["projects"] == {"test_efs": "1.2.0"}
