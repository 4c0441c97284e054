"""The query benchmark's hand-written peer (bench/handwritten.py) answers every question of
bench/questions.py as dsgrid-sql does, with aggregate_early on and off.

The expert's SQL is written independently of the rewrite (sums before mappings, weights,
time shifted on summed rows, annual data as per-key constants), so twenty-two query shapes are
checked against an answer dsgrid-sql did not produce, on a registry of the benchmark's
catalog with 30 hours (two UTC days and local days in several zones).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import dsgrid_sql
from dsgrid_sql.generator import generate_registry

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.compare import assert_same  # noqa: E402
from bench.queries import _Expert, _ours  # noqa: E402
from bench.questions import QUESTIONS, Question  # noqa: E402
from bench.scale import spec_for  # noqa: E402


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bench-registry")
    generate_registry(path, spec_for("1M").model_copy(update={"hours": 30}), overwrite=True)
    return path


@pytest.fixture(scope="module")
def expert(registry: Path) -> _Expert:
    return _Expert(registry)


@pytest.mark.parametrize("mode", ["on", "off"])
@pytest.mark.parametrize("question", QUESTIONS, ids=[q.id for q in QUESTIONS])
def test_same_answer_as_hand_written(
    registry: Path, expert: _Expert, question: Question, mode: str, tmp_path: Path
) -> None:
    with dsgrid_sql.connect(registry, export_dir=tmp_path) as session:
        session.set("aggregate_early", mode)
        ours = _ours(session, question, tmp_path / "ours.parquet")
    theirs = expert.run(question, tmp_path / "theirs.parquet")
    assert ours.num_rows > 0
    assert_same(ours, theirs, question.keys, f"{question.id} ({mode})")
