"""REPL fixtures: completion indexes of the shared and generated registries, a REPL whose
output is captured, and an environment that never touches the user's config or history."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import dsgrid_sql
from dsgrid_sql.catalog import Catalog
from dsgrid_sql.completion.index import CatalogIndex, build_index
from dsgrid_sql.repl.app import Repl
from dsgrid_sql.repl.config import load_config
from dsgrid_sql.repl.printer import Printer


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Config and history files under tmp_path, never the user's."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("DSGRID_SQL_HISTORY", str(tmp_path / "history"))
    monkeypatch.delenv("DSGRID_SQL_REPL_CONFIG", raising=False)
    monkeypatch.delenv("DSGRID_BACKEND_ENGINE", raising=False)
    monkeypatch.delenv("PAGER", raising=False)
    monkeypatch.delenv("DSGRID_SQL_REGISTRY", raising=False)


@pytest.fixture(scope="session")
def efs_index(efs_catalog: Catalog) -> CatalogIndex:
    return build_index(efs_catalog)


@pytest.fixture(scope="session")
def small_index(small_catalog: Catalog) -> CatalogIndex:
    return build_index(small_catalog)


class CapturedRepl(Repl):
    """A REPL printing into strings: ``out`` (results) and ``err`` (statuses, errors)."""

    @property
    def out(self) -> str:
        return self.printer.stdout.getvalue()  # type: ignore[attr-defined]

    @property
    def err(self) -> str:
        return self.printer.stderr.getvalue()  # type: ignore[attr-defined]

    def run(self, text: str) -> bool:
        return self.execute(text)


def make_repl(registry: Path, *, interactive: bool = True, **config: object) -> CapturedRepl:
    settings = load_config()
    settings.warm_engine = False
    for key, value in config.items():
        setattr(settings, key, value)
    printer = Printer(stdout=io.StringIO(), stderr=io.StringIO(), pager="off", color=False)
    session = dsgrid_sql.connect(registry, engine="duckdb")
    return CapturedRepl(session, settings, printer, interactive=interactive)


@pytest.fixture
def repl_factory():  # type: ignore[no-untyped-def]
    """make_repl(registry, interactive=..., **config settings), closed at teardown."""
    made: list[CapturedRepl] = []

    def factory(registry: Path, *, interactive: bool = True, **config: object) -> CapturedRepl:
        repl = make_repl(registry, interactive=interactive, **config)
        made.append(repl)
        return repl

    yield factory
    for repl in made:
        repl.printer.close()
        repl.session.close()


@pytest.fixture
def small_repl(repl_factory, small_registry: Path) -> CapturedRepl:  # type: ignore[no-untyped-def]
    return repl_factory(small_registry)


@pytest.fixture
def efs_repl(repl_factory, efs_dir: Path) -> CapturedRepl:  # type: ignore[no-untyped-def]
    return repl_factory(efs_dir)
