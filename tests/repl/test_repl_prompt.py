"""The prompt's wiring, driven through prompt-toolkit's pipe input (no terminal): Enter runs
only finished statements, Tab completes from the index, vi keys and history suggestions follow
the config, the toolbar tells where queries go."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.enums import EditingMode
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from dsgrid_sql.repl.prompt import _toolbar, banner, make_prompt


@pytest.fixture
def pipe():  # type: ignore[no-untyped-def]
    with (
        create_pipe_input() as pipe_input,
        create_app_session(input=pipe_input, output=DummyOutput()),
    ):
        yield pipe_input


def test_enter_adds_lines_until_the_statement_ends(pipe, small_repl) -> None:  # type: ignore[no-untyped-def]
    prompt = make_prompt(small_repl)
    pipe.send_text("SELECT 1\rAS x;\r")
    assert prompt.prompt("> ") == "SELECT 1\nAS x;"


def test_tab_completes_from_the_index(pipe, small_repl) -> None:  # type: ignore[no-untyped-def]
    small_repl.index.start().wait(10)
    prompt = make_prompt(small_repl)
    prompt.complete_while_typing = False

    async def type_slowly() -> str:
        # Completion runs in a thread: give each Tab time to land before the next keys.
        answer = asyncio.ensure_future(prompt.prompt_async("> "))
        for keys in ("SELECT us_census_regions_na", "\t", " FROM dat", "\t", ";\r"):
            pipe.send_text(keys)
            await asyncio.sleep(0.3)
        return await answer

    assert asyncio.run(type_slowly()) == "SELECT us_census_regions_name FROM data;"


def test_history_is_saved_and_suggested(pipe, small_repl, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prompt = make_prompt(small_repl)
    assert isinstance(prompt.auto_suggest, AutoSuggestFromHistory)
    pipe.send_text("SELECT 42 AS remembered;\r")
    prompt.prompt("> ")
    assert "+SELECT 42 AS remembered;" in (tmp_path / "history").read_text()
    again = make_prompt(small_repl)
    assert "SELECT 42 AS remembered;" in list(again.history.load_history_strings())


def test_vi_keys_from_config(pipe, small_repl) -> None:  # type: ignore[no-untyped-def]
    small_repl.config.key_mode = "vi"
    assert make_prompt(small_repl).editing_mode is EditingMode.VI
    small_repl.config.key_mode = "emacs"
    assert make_prompt(small_repl).editing_mode is EditingMode.EMACS


def test_toolbar_and_banner_name_registry_project_engine_dialect(pipe, small_repl) -> None:  # type: ignore[no-untyped-def]
    prompt = make_prompt(small_repl)
    small_repl.index.start().wait(10)
    text = "".join(part[1] for part in _toolbar(small_repl, prompt))
    for piece in ("registry small/registry.db", "project dsgrid_demo", "engine duckdb",
                  "dialect duckdb", "format table"):  # fmt: skip
        assert piece in text
    assert "loading" not in text
    small_repl.session.set("dialect", "spark")
    assert "dialect spark" in "".join(part[1] for part in _toolbar(small_repl, prompt))
    assert "project dsgrid_demo, engine duckdb" in banner(small_repl)
