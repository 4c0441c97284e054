"""A server whose registry gains versions keeps only what the current version (and running
queries) need: engine inputs, remembered schemas, kept results, per-catalog plans and file
handles come back to where they were after each new version."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.compute as pc
import pytest

from dsgrid_sql.catalog.registry import Packed
from dsgrid_sql.generator import GeneratorSpec, generate_registry
from dsgrid_sql.generator.updates import register_dataset_update
from dsgrid_sql.rewrite import cache
from dsgrid_sql.service.config import ServerConfig
from dsgrid_sql.service.core import ServerCore

QUERIES = (
    "SELECT geography, SUM(value) AS v FROM data GROUP BY ALL ORDER BY ALL",
    "SELECT SUM(value) AS v FROM dsgrid_demo_commercial",
    "SELECT metric, COUNT(*) AS n FROM dsgrid_demo_residential GROUP BY ALL ORDER BY ALL",
    "SELECT * FROM dsgrid_demo_mappings.geography__us_states ORDER BY ALL",
)
VERSIONS = 12


def _wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_what_old_registry_versions_held_is_released(tmp_path: Path) -> None:
    registry = generate_registry(
        tmp_path / "registry", GeneratorSpec(counties=3, hours=24, datasets=3)
    ).path
    config = ServerConfig(
        registry=registry, port=0, registry_poll_s=0.0, result_cache_mb=64,
        jobs_dir=tmp_path / "jobs",
    )  # fmt: skip
    core = ServerCore(config)
    engine = core.engine

    def ask() -> float:
        session = core.new_session()
        for sql in QUERIES:
            session.result_schema(sql)  # remembered by the engine
            session.sql(sql).to_arrow()
            session.sql(sql).to_arrow()  # kept result
        # An old dataset version: looks through every project version of the registry.
        session.sql(f"{QUERIES[1]} VERSION AS OF '1.0.0'").to_arrow()
        return pc.sum(session.sql(QUERIES[1]).to_arrow().column("v")).as_py()

    def held() -> dict[str, int]:
        return {
            "inputs": engine.registered_count(),
            "schemas": engine._schemas.weight,
            "kept_bytes": engine.results.bytes,
            # This registry's catalogs only: other tests' live in the same process.
            "catalogs": sum(1 for c in list(cache._caches) if c.registry_path == registry),
            "files": len(os.listdir("/proc/self/fd")),
        }

    def new_version(k: int) -> None:
        register_dataset_update(registry, 1 + k / 100, replace_file=k % 3 == 0)
        assert _wait_for(lambda: core.catalogs.current() and core.catalogs.reloads == k)

    try:
        base = ask()
        # The baseline is a version after the first: from then on the VERSION AS OF query
        # reads an old version's tables beside the current one's.
        new_version(1)
        ask()
        assert _wait_for(lambda: core.catalogs.reloads == 1)
        baseline = held()
        assert baseline["inputs"] and baseline["schemas"] and baseline["kept_bytes"]
        for k in range(2, VERSIONS + 1):
            new_version(k)
            assert abs(ask() - base * (1 + k / 100)) <= 1e-9 * base  # the new version's
            # Within a housekeeping tick or two, the old version's inputs (and what was
            # remembered about queries over them) are gone.
            assert _wait_for(lambda: engine.registered_count() <= baseline["inputs"]), held()
        now = held()
        assert now["inputs"] <= baseline["inputs"]
        assert now["schemas"] <= baseline["schemas"]
        assert now["kept_bytes"] <= baseline["kept_bytes"] * 1.01
        # The current catalog and at most the one before it (freed at the next reload).
        assert now["catalogs"] <= 2
        # The current catalog keeps the project versions it reads, not every one it looked
        # through (its history grows with every version).
        parsed = core.catalogs.current()._store._parsed
        assert sum(1 for key in parsed if key[0] == "project") <= 2, sorted(parsed)
        # A file kept per version would be 12 more; other tests' servers in this process
        # may hold one or two for a moment.
        assert now["files"] <= baseline["files"] + 2
    finally:
        core.close()


def test_translations_kept_per_version_are_bounded_by_their_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A translation holds its statement's tree (~160 bytes per character of text): distinct
    long texts are kept within a budget of text, not by count."""
    import dsgrid_sql

    monkeypatch.setattr(cache, "TRANSLATION_CHARS", 60_000)  # a smaller budget, same rule

    registry = generate_registry(
        tmp_path / "registry", GeneratorSpec(counties=3, hours=24, datasets=3)
    ).path
    with dsgrid_sql.connect(registry) as session:
        short = "SELECT COUNT(*) AS n FROM dsgrid_demo_residential"
        first = session.translate(short)
        assert session.translate(short) is first  # short texts are remembered
        terms = 500  # ~9,000 characters a text
        texts = [
            "SELECT COUNT(*) AS n FROM dsgrid_demo_residential WHERE "
            + " OR ".join(f"value = -{i + k / 100}" for i in range(terms))
            for k in range(cache.TRANSLATION_CHARS // 9_000 + 3)
        ]
        for text in texts:
            session.translate(text)
        kept = cache._translations[session.catalog]
        assert kept.weight <= cache.TRANSLATION_CHARS
        assert kept.lookup(next(iter(kept._entries))) is not None
        assert len(kept._entries) < len(texts)  # the oldest long texts went


def test_translations_dropped_from_the_cache_leave_no_cycles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A translation the cache drops takes its trees apart, so reference counting frees them
    at once: kept a while, they would wait in the collector's oldest generation (a stable
    registry's server piled up millions of such nodes between full collections)."""
    import gc

    from sqlglot import exp

    import dsgrid_sql

    registry = generate_registry(
        tmp_path / "registry", GeneratorSpec(counties=3, hours=24, datasets=3)
    ).path

    def text(k: int) -> str:  # ~9,000 characters, ~3,500 nodes
        terms = " OR ".join(f"value = -{i + k / 100}" for i in range(500))
        return f"SELECT COUNT(*) AS n FROM dsgrid_demo_residential WHERE {terms}"

    def cyclic_nodes(session: dsgrid_sql.Session, texts: range) -> int:
        """Syntax-tree nodes that only the cyclic collector frees, of translating ``texts``
        (collected after each, as a server's young generation soon would)."""
        gc.collect()
        was_enabled = gc.isenabled()
        gc.disable()
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            for k in texts:
                session.translate(text(k))
                gc.collect()
            return sum(isinstance(o, exp.Expression) for o in gc.garbage)
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            if was_enabled:
                gc.enable()

    # Each catalog's cache takes the budget in force when it is first used.
    monkeypatch.setattr(cache, "TRANSLATION_CHARS", 10_000_000)
    with dsgrid_sql.connect(registry) as session:
        session.translate(text(0))
        # What translating leaves to the collector by itself (the OR chain rebalanced).
        own = cyclic_nodes(session, range(1, 9))
        assert len(cache._translations[session.catalog]._entries) == 9  # nothing dropped
    monkeypatch.setattr(cache, "TRANSLATION_CHARS", 30_000)
    with dsgrid_sql.connect(registry) as session:
        held = session.translate(text(0))  # its whole tree (ast) not built yet
        for k in range(1, 4):  # fills the budget: from now on each text drops the oldest
            session.translate(text(k))
        with_drops = cyclic_nodes(session, range(4, 12))
        assert len(cache._translations[session.catalog]._entries) <= 4
        # Eight ~3,500-node trees were dropped; none of their nodes waits for the collector.
        assert with_drops <= own + 100, (with_drops, own)
        # A translation a caller still held when it was dropped still explains, as a new
        # translation of its text does.
        assert session.translate(text(0)) is not held
        assert held.ast.sql(dialect="duckdb") == session.translate(text(0)).ast.sql(
            dialect="duckdb"
        )
        assert "dsgrid_demo_residential" in session.explain(text(0))


def test_a_new_registry_version_shares_the_rows_that_did_not_change(tmp_path: Path) -> None:
    """Each catalog snapshot holds every version's JSON, and a server keeps a few alive at
    once: the JSON texts of rows a new version did not change are the previous snapshot's,
    not copies; what a snapshot parsed stays its own (and goes with it)."""
    from dsgrid_sql.catalog import Catalog
    from dsgrid_sql.service.catalogs import CatalogHolder

    registry = generate_registry(
        tmp_path / "registry", GeneratorSpec(counties=3, hours=24, datasets=3)
    ).path
    holder = CatalogHolder(registry, poll_s=0.0)
    old = holder.current()
    old_rows = {row.row_id: row for row in old._db.all_models()}
    parsed = old_rows[min(old_rows)].model
    for k, replace_file in ((1, False), (2, True)):  # a new row; then the file replaced
        register_dataset_update(registry, 1 + k / 100, replace_file=replace_file)
        assert _wait_for(lambda k=k: holder.current() is not None and holder.reloads == k)
        new = holder.current()
        new_rows = {row.row_id: row for row in new._db.all_models()}
        assert set(new_rows) > set(old_rows)
        current = set(new._db.current_model_row_ids().values())
        # Versions the new one replaced (the dataset's and the project's) are packed now;
        # the other rows are the same objects, packed or not.
        replaced = {i for i in old_rows if i not in current and not isinstance(
            old_rows[i].text, Packed)}  # fmt: skip
        assert len(replaced) == 2
        assert all(new_rows[i].text is old_rows[i].text for i in set(old_rows) - replaced)
        for i in replaced:
            assert isinstance(new_rows[i].text, Packed)
            assert new_rows[i].model == json.loads(old_rows[i].text)
        assert new_rows[min(old_rows)].__dict__.get("model") is not parsed
        assert new_rows[min(old_rows)].model == parsed
        # Registrations and `contains` edges: the old ones are the same objects.
        for listed in ("registrations", "contains_edges"):
            before, after = getattr(old._db, listed)(), getattr(new._db, listed)()
            assert len(after) > len(before)
            assert all(any(b is a for a in after) for b in before), listed
        old, old_rows = new, new_rows

    # Another registry whose rows have the same ids but other JSON shares nothing.
    other = generate_registry(
        tmp_path / "other", GeneratorSpec(counties=4, hours=24, datasets=3)
    ).path
    different = Catalog.open(other, previous=holder.current())
    rows = {row.row_id: row for row in different._db.all_models()}
    changed = [i for i in rows if i in old_rows and rows[i].text != old_rows[i].text]
    assert changed and not any(rows[i].text is old_rows[i].text for i in changed)
    with sqlite3.connect(other) as db:
        stored = dict(db.execute("SELECT id, model FROM models"))
    assert {i: _text(row) for i, row in rows.items()} == stored


def test_a_new_registry_version_reads_only_new_project_versions_for_version_as_of(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dataset read at a version looks up the project version naming it, through every
    project version's dataset list. A server replaces its catalog at every registration: the
    new catalog takes the lists of rows it shares with the one before and validates only the
    project versions whose text it does not share (the new one, and the one it replaced,
    now packed), not all of them again."""
    from dsgrid_sql.catalog import Catalog
    from dsgrid_sql.catalog.models import ProjectModel

    registry = generate_registry(
        tmp_path / "registry", GeneratorSpec(counties=3, hours=24, datasets=3)
    ).path
    for k in range(1, 6):
        register_dataset_update(registry, 1 + k / 100)
    parsed: list[str] = []
    original = ProjectModel.from_json.__func__  # type: ignore[attr-defined]

    def counted(cls, data):  # type: ignore[no-untyped-def]
        parsed.append(data["version"])
        return original(cls, data)

    monkeypatch.setattr(ProjectModel, "from_json", classmethod(counted))
    dataset = "dsgrid_demo_commercial"
    first = Catalog.open(registry)
    # The generator's project has versions 1.0.0-1.3.0 before the first update (1.4.0).
    assert first.project_version_with_dataset("dsgrid_demo", dataset, "1.3.0") == "1.6.0"
    assert len(parsed) == 9  # every project version, once

    register_dataset_update(registry, 1.06)
    parsed.clear()
    second = Catalog.open(registry, previous=first)
    for version, project_version in (("1.0.0", "1.3.0"), ("1.3.0", "1.6.0"), ("1.6.0", "1.9.0")):
        found = second.project_version_with_dataset("dsgrid_demo", dataset, version)
        assert found == project_version
    assert sorted(parsed) == ["1.8.0", "1.9.0"]  # the one replaced (now packed), the new one
    fresh = Catalog.open(registry)
    assert fresh._store.project_datasets("dsgrid_demo") == second._store.project_datasets(
        "dsgrid_demo"
    )

    # The file replaced by another registry's (the same row ids, other JSON): nothing lent.
    other = generate_registry(
        tmp_path / "other", GeneratorSpec(counties=4, hours=24, datasets=3)
    ).path
    parsed.clear()
    different = Catalog.open(other, previous=second)
    assert different.project_version_with_dataset("dsgrid_demo", dataset, "1.0.0") == "1.3.0"
    assert sorted(parsed) == ["1.0.0", "1.1.0", "1.2.0", "1.3.0"]


def _text(row) -> str:  # type: ignore[no-untyped-def]
    text = row.text
    return text.unpacked().decode() if isinstance(text, Packed) else text


def test_versions_that_are_not_current_are_held_packed(tmp_path: Path) -> None:
    """A snapshot holds every version's JSON, for VERSION AS OF; the versions that are not
    current are kept compressed (a registry gaining a version every few seconds grew the
    server by each version's text), read back whole when asked for."""
    from dsgrid_sql.catalog import Catalog

    registry = generate_registry(
        tmp_path / "registry", GeneratorSpec(counties=3, hours=24, datasets=3)
    ).path
    for k in range(1, 4):
        register_dataset_update(registry, 1 + k / 100)
    with sqlite3.connect(registry) as db:
        stored = dict(db.execute("SELECT id, model FROM models"))
        current = {i for (i,) in db.execute("SELECT current_id FROM current_versions")}
    catalog = Catalog.open(registry)
    try:
        rows = catalog._db.all_models()
        assert {row.row_id for row in rows} == set(stored)
        for row in rows:
            assert isinstance(row.text, Packed) is (row.row_id not in current), row
            assert _text(row) == stored[row.row_id]
            assert row.model == json.loads(stored[row.row_id])
        old = [row for row in rows if isinstance(row.text, Packed)]
        # The generator's earlier project versions, and the three dataset and three
        # project versions the updates replaced.
        assert len(old) == len(stored) - len(current) >= 6
        assert sum(len(r.text.data) for r in old) * 4 < sum(len(stored[r.row_id]) for r in old)
    finally:
        catalog.close()
