"""How a typed word matches a candidate: prefix, word start, substring, then fuzzy.

Lower scores rank first. Fuzzy (the typed letters in order, anywhere) only counts when nothing
matches better, so a Tab on a unique prefix still completes at once instead of opening a menu
full of distant matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")

PREFIX, WORD_START, SUBSTRING, FUZZY = 0, 1, 2, 3
_WORD_BREAK = re.compile(r"[\s_.\-/(]+")


def score(typed: str, candidate: str) -> int | None:
    """Score of ``candidate`` (already lower-cased) for ``typed`` (lower-cased), or None.

    Example:
        >>> [score("san di", c) for c in ("san diego county", "north san diego", "sandiego")]
        [0, 1, 3]
        >>> score("usst", "us_states"), score("cal", "california"), score("x", "abc")
        (3, 0, None)
    """
    if not typed or candidate.startswith(typed):
        return PREFIX
    position = candidate.find(typed)
    if position > 0:
        return WORD_START if _WORD_BREAK.match(candidate[position - 1]) else SUBSTRING
    if _is_subsequence(typed, candidate):
        return FUZZY
    return None


def _is_subsequence(typed: str, candidate: str) -> bool:
    return _subsequence_span(typed, candidate) is not None


def _subsequence_span(typed: str, candidate: str) -> int | None:
    """Length of the stretch of ``candidate`` the typed letters were found in (leftmost
    greedy); a tighter stretch is a better fuzzy match."""
    position, first = 0, None
    for char in typed:
        if char.isspace():
            continue
        found = candidate.find(char, position)
        if found < 0:
            return None
        first = found if first is None else first
        position = found + 1
    return position - (first or 0)


def best_matches(typed: str, candidates: Iterable[tuple[Sequence[str], T]]) -> list[T]:
    """Payloads whose keys (lower-cased strings, e.g. an id and a name) match ``typed``,
    best first, keeping the candidates' own order within a score; fuzzy-only matches are
    dropped when anything matches better."""
    typed = typed.lower()
    scored: list[tuple[int, int, int, T]] = []
    best = FUZZY + 1
    for order, (keys, payload) in enumerate(candidates):
        key_score: tuple[int, int] | None = None
        for key in keys:
            s = score(typed, key)
            if s is None:
                continue
            span = _subsequence_span(typed, key) or 0 if s == FUZZY else 0
            if key_score is None or (s, span) < key_score:
                key_score = (s, span)
                if s == PREFIX:
                    break
        if key_score is None:
            continue
        best = min(best, key_score[0])
        scored.append((*key_score, order, payload))
    if best < FUZZY:
        scored = [item for item in scored if item[0] < FUZZY]
    scored.sort(key=lambda item: item[:3])
    return [item[3] for item in scored]
