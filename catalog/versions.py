"""Semantic-version ordering for registry model versions.

dsgrid stores versions as strings; compared lexically, ``1.10.0`` would sort before
``1.2.0``. Every comparison of versions in the catalog goes through :func:`version_key`.
"""

from __future__ import annotations

import re

_SEMVER = re.compile(
    r"^(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$"
)


def version_key(version: str) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
    """A sort key that orders versions as semantic versions.

    Pre-releases sort before their release; a string that is not a semantic version sorts
    before every real one, by its text, so a malformed registry still lists deterministically.

    Example:
        >>> sorted(["1.2.0", "1.10.0", "1.9.1"], key=version_key)
        ['1.2.0', '1.9.1', '1.10.0']
    """
    match = _SEMVER.match(version.strip())
    if match is None:
        return (-1, -1, -1, 0, ((1, version),))
    pre = match.group("pre")
    # A release (no pre-release tag) sorts after every pre-release of the same version.
    release_rank = 1 if pre is None else 0
    pre_parts: tuple[tuple[int, int | str], ...] = ()
    if pre is not None:
        pre_parts = tuple(
            (0, int(part)) if part.isdigit() else (1, part) for part in pre.split(".")
        )
    return (
        int(match.group("major")),
        int(match.group("minor")),
        int(match.group("patch")),
        release_rank,
        pre_parts,
    )
