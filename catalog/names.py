"""SQL identifiers derived from dsgrid dimension names.

The rule (documented in the README): lower-case the name, replace every run of characters
other than ASCII letters and digits with one ``_``, trim ``_`` at both ends; a result that
starts with a digit gets the prefix ``d_``, an empty result becomes ``dimension``. Names are
then allocated in a fixed order (base dimensions by type, then supplemental dimensions by
name, then subset selectors and dataset dimensions by name); when a slug — or its ``_name``
twin — is already taken, ``_2``, ``_3``, … is appended. The same registry therefore always
yields the same names.
"""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def slugify(name: str) -> str:
    """A lower-case SQL identifier for a dimension name.

    Example:
        >>> slugify("US States")
        'us_states'
        >>> slugify("2012 Weather Year")
        'd_2012_weather_year'
        >>> slugify("Time-2012-EST-hourly")
        'time_2012_est_hourly'
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = _NON_ALNUM.sub("_", ascii_name.lower()).strip("_")
    if not slug:
        return "dimension"
    if slug[0].isdigit():
        return f"d_{slug}"
    return slug


class NameAllocator:
    """Hands out collision-free identifiers within one namespace.

    ``twin_suffix`` reserves a companion name with every allocation (``us_states`` also
    takes ``us_states_name``), so a later slug can never collide with a twin column.
    """

    def __init__(self, reserved: set[str] | None = None, twin_suffix: str | None = None) -> None:
        self._taken: set[str] = set(reserved or ())
        self._twin_suffix = twin_suffix

    def _names_for(self, candidate: str) -> tuple[str, ...]:
        if self._twin_suffix:
            return (candidate, candidate + self._twin_suffix)
        return (candidate,)

    def is_free(self, candidate: str) -> bool:
        return not any(n in self._taken for n in self._names_for(candidate))

    def reserve(self, name: str) -> None:
        self._taken.update(self._names_for(name))

    def allocate(self, base: str) -> str:
        candidate = base
        counter = 2
        while not self.is_free(candidate):
            candidate = f"{base}_{counter}"
            counter += 1
        self.reserve(candidate)
        return candidate
