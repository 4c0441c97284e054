"""Unit conversion factors, as dsgrid's ``units/energy.py`` and ``units/power.py`` define
them: energy and power families only, unit strings case-sensitive."""

from __future__ import annotations

from dsgrid_sql.errors import UnitConversionError

# Multiples of one base unit per family (kWh for energy, kW for power).
_ENERGY_KWH = {
    "kWh": 1.0,
    "MWh": 1_000.0,
    "GWh": 1_000_000.0,
    "TWh": 1_000_000_000.0,
    "therm": 29.307107017222222,
    "MBtu": 293.0710701722222,
}
_POWER_KW = {"kW": 1.0, "MW": 1_000.0, "GW": 1_000_000.0, "TW": 1_000_000_000.0}


def unit_factor(from_unit: str | None, to_unit: str | None, *, context: str) -> float:
    """The factor that converts a value in ``from_unit`` into ``to_unit``.

    Equal units (including both missing) convert by 1, as dsgrid returns early before
    looking units up; anything else must be two units of one family.

    Example:
        >>> unit_factor("kWh", "MWh", context="x")
        0.001
        >>> unit_factor("kw", "kw", context="x")
        1.0
    """
    if from_unit == to_unit:
        return 1.0
    for family in (_ENERGY_KWH, _POWER_KW):
        if from_unit in family and to_unit in family:
            return family[from_unit] / family[to_unit]
    raise UnitConversionError(
        f"Cannot convert {context} from unit '{from_unit}' to '{to_unit}'.",
        hint="dsgrid converts only between energy units (kWh, MWh, GWh, TWh, therm, MBtu) "
        "or between power units (kW, MW, GW, TW).",
    )
