""" "Did you mean ...?" for every lookup by name."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """Return the one candidate closest to ``word``, or ``None`` when nothing is close.

    A case-insensitive exact match wins over any fuzzy match, so ``'CA'`` for ``'ca'`` is
    always suggested.

    Example:
        >>> did_you_mean("geogrphy", ["geography", "sector"])
        'geography'
        >>> did_you_mean("zzz", ["geography"]) is None
        True
    """
    pool = [c for c in dict.fromkeys(candidates) if c != word]
    lowered = word.lower()
    for candidate in pool:
        if candidate.lower() == lowered:
            return candidate
    by_lower = {c.lower(): c for c in pool}
    close = difflib.get_close_matches(lowered, list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None
