"""End-to-end sessions through a real pseudo-terminal: the REPL as a person uses it.

Each test spawns ``python -m dsgrid_sql repl`` with HOME, config and history under tmp_path,
types as a person would (Tab included) and reads the screen with escape codes stripped.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

pexpect = pytest.importorskip("pexpect")

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][A-Z0-9]|\x1b[=>78]|\r")
PROMPT = "dsgrid_demo> "
# Twelve counties' rows joined with themselves three times over: minutes of work for DuckDB,
# so it is still running when Ctrl-C comes.
LONG_QUERY = (
    "SELECT COUNT(*) AS n, SUM(a.value * b.value) AS v "
    "FROM data a CROSS JOIN data b WHERE a.geography <> b.geography;"
)


class Terminal:
    """A spawned REPL and everything it has printed, searchable without escape codes."""

    def __init__(self, registry: Path, home: Path, *, env: dict[str, str] | None = None) -> None:
        environment = {
            **os.environ,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
            "DSGRID_SQL_HISTORY": str(home / "history"),
            "TERM": "xterm-256color",
            "PROMPT_TOOLKIT_NO_CPR": "1",  # no cursor-position request the test would answer
            "PAGER": "cat",
            **(env or {}),
        }
        environment.pop("DSGRID_SQL_REPL_CONFIG", None)
        environment.pop("NO_COLOR", None)
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "dsgrid_sql", "repl", "--registry", str(registry)],
            env=environment,
            cwd=str(home),
            encoding="utf-8",
            dimensions=(40, 140),
            timeout=30,
        )
        self.raw = ""
        self.mark = 0

    @property
    def screen(self) -> str:
        return ANSI.sub("", self.raw)

    def read(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                self.raw += self.child.read_nonblocking(65536, timeout=0.1)
            except pexpect.TIMEOUT:
                pass
            except pexpect.EOF:
                return

    def expect(self, text: str, timeout: float = 20) -> str:
        """Wait until ``text`` appears after the mark; move the mark past it; return what
        appeared up to it."""
        end = time.monotonic() + timeout
        while True:
            screen = self.screen
            found = screen.find(text, self.mark)
            if found >= 0:
                seen = screen[self.mark : found + len(text)]
                self.mark = found + len(text)
                return seen
            if time.monotonic() > end or not self.child.isalive():
                raise AssertionError(
                    f"Expected {text!r} on the screen; after the mark it shows:\n"
                    f"{screen[self.mark :][-3000:]}"
                )
            self.read(0.1)

    def prompt(self) -> None:
        self.expect(PROMPT)
        self.read(0.3)  # let the prompt finish drawing before typing
        self.mark = len(self.screen)

    def type(self, text: str, pause: float = 0.3) -> None:
        self.child.send(text)
        self.read(pause)

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)


@pytest.fixture
def terminal(small_registry: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    opened: list[Terminal] = []

    def spawn(**env: str) -> Terminal:
        term = Terminal(small_registry, tmp_path, env=env)
        opened.append(term)
        term.prompt()
        term.read(0.7)  # the completion index loads in the background
        return term

    yield spawn
    for term in opened:
        term.close()


def test_tab_completes_columns_tables_and_records_then_the_table_prints(terminal) -> None:  # type: ignore[no-untyped-def]
    term = terminal()
    assert "engine duckdb" in term.screen and "project dsgrid_demo" in term.screen  # toolbar
    term.type("SELECT us_census_reg")
    term.type("\t")
    term.type(", COUNT(*) AS n FROM dat")
    term.type("\t")
    term.type(" WHERE us_states <> 'Califo")
    term.type("\t")
    term.type(" GROUP BY 1 ORDER BY 1;\r")
    # The column only exists completed, the record only as 'CA': an error would show otherwise.
    shown = term.expect("rows,")
    lines = [line.rstrip() for line in shown.splitlines()]
    header = next(i for i, line in enumerate(lines) if line.startswith("us_census_regions"))
    assert re.fullmatch(r"us_census_regions\s+n", lines[header])
    assert lines[header + 2].startswith("midwest") and re.search(r"\d,\d{3}$", lines[header + 2])
    assert "Error" not in shown
    term.prompt()
    term.child.sendcontrol("d")
    term.child.expect(pexpect.EOF)
    term.child.close()
    assert term.child.exitstatus == 0
    history = (Path(term.child.env["DSGRID_SQL_HISTORY"])).read_text()
    assert "+SELECT us_census_regions, COUNT(*) AS n FROM data WHERE us_states <> 'CA'" in history


def test_error_shows_a_caret_and_the_prompt_returns(terminal) -> None:  # type: ignore[no-untyped-def]
    term = terminal()
    term.type("SELECT geogrphy\rFROM data;\r")
    error = term.expect("Did you mean 'geography'?")
    assert "Error: Unknown column 'geogrphy' in table 'dsgrid_demo.data'." in error
    term.expect("  SELECT geogrphy\n")
    term.expect("         ^^^^^^^^\n")
    term.prompt()
    term.type("SELECT 6 * 7 AS answer;\r")
    assert re.search(r"answer\n-+\n\s+42\n\(1 row, ", term.expect("s)"))
    term.prompt()
    term.type("SELECT 'something else' AS other;\r")
    term.expect("(1 row")
    term.prompt()
    term.child.sendcontrol("r")  # reverse search finds the earlier query
    term.type("6 * 7")
    term.expect("(reverse-i-search)")
    term.type("\r")  # accept the search
    term.type("\r")  # run it
    assert re.search(r"answer\n-+\n\s+42\n", term.expect("(1 row"))
    assert "Traceback" not in term.screen


def test_ctrl_c_cancels_a_running_query_and_keeps_the_session(terminal) -> None:  # type: ignore[no-untyped-def]
    term = terminal()
    term.type("SELECT 'typed, then abandoned'")
    term.child.sendintr()  # Ctrl-C at the prompt clears the line
    term.prompt()
    term.type(LONG_QUERY + "\r")
    term.expect("Ctrl-C cancels", timeout=10)  # the query has run for more than a second
    start = time.monotonic()
    term.child.sendintr()
    term.expect("Error: The query was cancelled.", timeout=15)
    assert time.monotonic() - start < 10
    term.prompt()
    term.type("SELECT COUNT(*) AS n FROM data;\r")
    assert re.search(r"n\n-+\n\s*[\d,]+\n\(1 row", term.expect("s)"))
    assert "abandoned" not in term.screen.split("Ctrl-C cancels")[-1]


def test_export_then_quit_with_backslash_q(terminal, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    term = terminal()
    term.type("\\export states.parquet SELECT us_states, SUM(value) AS v FROM data GROUP BY ALL\r")
    term.expect("Wrote 12 rows to")
    assert pq.read_table(tmp_path / "states.parquet").num_rows == 12
    term.prompt()
    term.type("\\q\r")
    term.child.expect(pexpect.EOF)
    term.child.close()
    assert term.child.exitstatus == 0


def test_long_results_go_through_the_pager(terminal) -> None:  # type: ignore[no-untyped-def]
    term = terminal(PAGER="sed s/^/PAGED:/")
    term.type("SELECT DISTINCT timestamp FROM data ORDER BY 1;\r")
    shown = term.expect("PAGED:(48 rows")
    assert "PAGED:2018-01-01 " in shown
    term.prompt()
    term.type("SELECT 1 AS short;\r")  # a short result prints directly
    assert "PAGED" not in term.expect("(1 row")
