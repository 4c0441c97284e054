"""Rendering results and errors, splitting scripts, the config file, and cancelling work."""

from __future__ import annotations

import _thread
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from dsgrid_sql.errors import DsgridSqlError, Position, QueryCancelledError
from dsgrid_sql.repl.config import default_text, history_path, load_config, user_config_path
from dsgrid_sql.repl.history import BoundedFileHistory
from dsgrid_sql.repl.render import format_error, render_table
from dsgrid_sql.repl.runner import run_cancellable
from dsgrid_sql.repl.splitting import Piece, is_complete, split_statements

# -- rendering --------------------------------------------------------------------------------

TABLE = pa.table(
    {
        "us_states": ["CA", "TX", None],
        "mwh": [1234567.5, 12.25, None],
        "n": pa.array([1, 2000, 3], pa.int64()),
    }
)


def test_table_aligns_numbers_right_with_separators_and_footer() -> None:
    text = render_table(TABLE, "table", elapsed_s=0.0421)
    assert text.splitlines() == [
        "us_states          mwh      n",
        "---------  -----------  -----",
        "CA         1,234,567.5      1",
        "TX               12.25  2,000",
        "NULL              NULL      3",
        "(3 rows, 0.042 s)",
    ]


def test_wide_table_turns_vertical_and_long_text_is_cut() -> None:
    wide = pa.table({f"column_{i}": [f"value number {i}"] for i in range(12)})
    text = render_table(wide, "table", width=80)
    assert text.startswith("-[ RECORD 1 ]")
    assert "column_11 | value number 11" in text
    remarks = pa.table({"table": ["data"], "remarks": ["x" * 200]})
    cut = render_table(remarks, "table", width=80)
    assert max(len(line) for line in cut.splitlines()) <= 80
    assert "…" in cut


def test_other_formats() -> None:
    assert render_table(TABLE, "csv").splitlines()[0] == '"us_states","mwh","n"'
    assert '"mwh": 1234567.5' in render_table(TABLE, "json")
    markdown = render_table(TABLE, "markdown").splitlines()
    assert markdown[:2] == ["| us_states | mwh | n |", "|---|---:|---:|"]
    vertical = render_table(TABLE, "vertical", elapsed_s=None)
    assert "mwh       | 1,234,567.5" in vertical and vertical.endswith("(3 rows)")


def test_truncated_result_says_how_to_get_the_rest() -> None:
    text = render_table(TABLE, "table", truncated=True)
    assert text.endswith("(first 3 rows shown: add LIMIT, or \\export the whole result)")


def test_error_shows_sentence_line_caret_and_hint() -> None:
    sql = "SELECT geography,\n       SUM(valu)\nFROM data"
    error = DsgridSqlError(
        "Unknown column 'valu'.", position=Position(2, 12, 29, 32), hint="Columns: value."
    )
    assert format_error(error, sql).splitlines() == [
        "Error: Unknown column 'valu'.",
        "         SUM(valu)",
        "             ^^^^",
        "Hint: Columns: value.",
    ]
    colored = format_error(error, sql, color=True)
    assert "\x1b[31m" in colored


# -- splitting --------------------------------------------------------------------------------


def test_split_respects_quotes_comments_and_command_lines() -> None:
    text = (
        "SELECT ';' AS a, \"x;y\" FROM t; -- a comment; still a comment\n"
        "\\records us_states O'Brien\n"
        "/* block; */ SELECT 2\n;;\n"
        "SELECT 3"
    )
    assert split_statements(text) == [
        Piece("SELECT ';' AS a, \"x;y\" FROM t", False),
        Piece("\\records us_states O'Brien", True),
        Piece("SELECT 2", False),
        Piece("SELECT 3", False),
    ]


@pytest.mark.parametrize(
    ("text", "complete"),
    [
        ("SELECT 1", False),
        ("SELECT 1;", True),
        ("SELECT 1; -- done", True),
        ("SELECT ';'", False),
        ("SELECT 'a;", False),
        ("SELECT 1 /* ; */", False),
        ("\\dt", True),
        ("  quit  ", True),
        ("", True),
    ],
)
def test_enter_runs_only_a_complete_statement(text: str, complete: bool) -> None:
    assert is_complete(text) is complete


# -- config -----------------------------------------------------------------------------------


def test_default_config_is_shipped_commented_and_loads() -> None:
    text = default_text()
    assert text.count("\n# ") > 20
    config = load_config(Path("/nonexistent/config.toml"))
    assert (config.format, config.key_mode, config.timing, config.pager) == (
        "table",
        "emacs",
        True,
        "",
    )
    assert config.warnings == [] and config.source is None


def test_user_config_overrides_and_bad_settings_warn(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "mine.toml"
    path.write_text(
        '[main]\nformat = "vertical"\nrow_limt = 5\ntiming = "yes"\n'
        '[keys]\nmode = "vi"\n[colors.styles]\n"prompt" = "#ff0000"\n'
    )
    monkeypatch.setenv("DSGRID_SQL_REPL_CONFIG", str(path))
    assert user_config_path() == path
    config = load_config()
    assert (config.format, config.key_mode, config.timing) == ("vertical", "vi", True)
    assert config.styles["prompt"] == "#ff0000" and "bottom-toolbar" in config.styles
    assert any("'main.row_limt'; did you mean 'row_limit'?" in w for w in config.warnings)
    assert any("'main.timing' must be a bool" in w for w in config.warnings)


def test_xdg_config_home_locates_the_user_file(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "dsgrid-sql").mkdir()
    (tmp_path / "dsgrid-sql" / "config.toml").write_text("[main]\nnull = '∅'\n")
    assert load_config().null == "∅"


def test_broken_toml_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[main\nformat=")
    config = load_config(path)
    assert config.format == "table" and config.warnings[0].startswith(f"Ignoring {path}")


def test_history_path_env_and_bounded_history(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DSGRID_SQL_HISTORY", str(tmp_path / "h" / "history"))
    path = history_path()
    assert path == tmp_path / "h" / "history"
    history = BoundedFileHistory(path, 3)
    for i in range(10):
        history.store_string(f"SELECT {i}")
    assert list(BoundedFileHistory(path, 3).load_history_strings()) == [
        "SELECT 9",
        "SELECT 8",
        "SELECT 7",
    ]
    assert path.read_text().count("+SELECT") == 3  # trimmed once past twice the size


# -- cancelling -------------------------------------------------------------------------------


def test_ctrl_c_cancels_the_work_and_raises_cancelled() -> None:
    cancelled = threading.Event()

    def work(stop: threading.Event) -> str:
        # Stands in for an engine call: returns only once cancel() has interrupted it.
        if not cancelled.wait(10):
            return "never cancelled"
        raise QueryCancelledError("interrupted by the engine")

    threading.Timer(0.3, _thread.interrupt_main).start()
    start = time.monotonic()
    with pytest.raises(QueryCancelledError, match="The query was cancelled"):
        run_cancellable(work, cancelled.set)
    assert cancelled.is_set() and time.monotonic() - start < 5


def test_errors_of_the_work_reach_the_caller() -> None:
    def work(stop: threading.Event) -> None:
        raise DsgridSqlError("boom")

    with pytest.raises(DsgridSqlError, match="boom"):
        run_cancellable(work, lambda: None)
    assert run_cancellable(lambda stop: 42, lambda: None) == 42
