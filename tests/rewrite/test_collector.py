"""The cyclic collector is held off while a long statement is translated (collector.py), and
on again when the last long translation ends, whatever happens to it."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dsgrid_sql.catalog import Catalog
from dsgrid_sql.errors import DsgridSqlError
from dsgrid_sql.rewrite import translate as translate_module
from dsgrid_sql.rewrite.collector import LONG_TEXT

QUERY = "SELECT metric, SUM(value) AS v FROM test_efs.data WHERE {} GROUP BY ALL"


def long_text(run: int, column: str = "value") -> str:
    terms = " OR ".join(f"{column} BETWEEN {i}.{run} AND {i}.{run}5" for i in range(400))
    text = QUERY.format(terms)
    assert len(text) >= LONG_TEXT
    return text


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    assert gc.isenabled()
    yield
    gc.enable()  # whatever a failing test left


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Records whether the collector was on in the middle of each translation (a step every
    translation runs), and can hold a translation there until released."""
    state: dict[str, Any] = {"enabled": [], "hold": None, "holding": threading.Event()}
    step: Callable[..., Any] = translate_module.check_functions

    def spy(*args: Any, **kwargs: Any) -> Any:
        state["enabled"].append(gc.isenabled())
        hold = state["hold"]
        if hold is not None and threading.current_thread().name == "held":
            state["holding"].set()
            assert hold.wait(60)
        return step(*args, **kwargs)

    monkeypatch.setattr(translate_module, "check_functions", spy)
    return state


def translate(text: str, catalog: Catalog) -> None:
    translate_module.translate(text, catalog)


def test_a_long_statement_is_translated_with_the_collector_off(
    efs_catalog: Catalog, seen: dict[str, Any]
) -> None:
    translate(long_text(1), efs_catalog)
    assert seen["enabled"] == [False]
    assert gc.isenabled()
    translate(QUERY.format("value > 1"), efs_catalog)  # a short one never touches it
    assert seen["enabled"] == [False, True]


def test_the_collector_is_on_again_after_a_failed_translation(
    efs_catalog: Catalog, seen: dict[str, Any]
) -> None:
    with pytest.raises(DsgridSqlError, match="Unknown column 'valu'"):
        translate(long_text(2, column="valu"), efs_catalog)
    assert gc.isenabled()


def test_the_collector_stays_off_until_the_last_long_translation_ends(
    efs_catalog: Catalog, seen: dict[str, Any]
) -> None:
    seen["hold"] = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            translate(long_text(3), efs_catalog)
        except BaseException as exc:  # reported below
            errors.append(exc)

    held = threading.Thread(target=run, name="held")
    held.start()
    try:
        assert seen["holding"].wait(60)
        translate(long_text(4), efs_catalog)  # starts and ends while the other runs
        assert not gc.isenabled()
    finally:
        seen["hold"].set()
        held.join(60)
    assert not errors
    assert gc.isenabled()


def test_a_collector_the_process_switched_off_stays_off(
    efs_catalog: Catalog, seen: dict[str, Any]
) -> None:
    gc.disable()
    translate(long_text(5), efs_catalog)
    assert not gc.isenabled()
