"""One SQL text, two engines: where DuckDB and Spark spell a function alike but mean different
things (or sqlglot's translation between them is wrong), the query is adjusted so the engine
that runs it computes what the query's dialect means, or refused before any work runs.

Each fix names the engines it is for: (dialect's engine, engine that runs the query). The
translations below are checked on both engines by tests/query/test_portable_functions.py;
every other function's translation is checked against the engines' own examples by
tools/function_catalog.py (functions.json records which give equal results).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import exp

from dsgrid_sql.errors import EngineOnlyError

from .functions import ENGINE_TITLES


def adapt(statement: exp.Expression, source: str | None, target: str, position_of) -> None:  # type: ignore[no-untyped-def]
    """Rewrite, in place, the calls whose meaning differs between ``source`` (the engine of
    the query's dialect) and ``target`` (the engine that runs it)."""
    fixes = {**_FOR_TARGET.get(target, {}), **_FIXES.get((source, target), {})}
    anonymous = _ANONYMOUS.get((source, target), {})
    if not fixes and not anonymous:
        return
    for node in list(statement.walk()):
        if isinstance(node, exp.Anonymous):
            fix = anonymous.get(node.name.lower())
        else:
            fix = fixes.get(type(node))
        replacement = fix(node, position_of) if fix is not None else None
        if replacement is None or replacement is node:
            continue
        _keep_place(node, replacement)
        node.replace(replacement)


ADAPTED = "dsgrid_adapted"


def _keep_place(node: exp.Expression, replacement: exp.Expression) -> None:
    """The calls the fix made stand where the user's call stood (errors point there and
    name it as written), marked as made for the target engine: only its catalog judges
    them."""
    original = {id(n) for n in node.walk()}
    for made in replacement.walk():
        if id(made) in original or not isinstance(made, exp.Func):
            continue
        made.meta[ADAPTED] = True
        if "start" not in made.meta:
            made.meta.update(
                {k: node.meta[k] for k in ("line", "col", "start", "end") if k in node.meta}
            )


def _only(source: str, target: str, name: str, why: str, node: exp.Expression, position_of):  # type: ignore[no-untyped-def]
    return EngineOnlyError(
        f"{name} is {ENGINE_TITLES[source]}-only here: {why}.",
        position=position_of(node),
        hint=f"Run the query on {ENGINE_TITLES[source]} (--engine {source}), or write it with "
        "functions both engines have.",
    )


# -- day and month names, days of the week -----------------------------------------------------


def _name_format(full: str, short: str) -> Callable[..., exp.Expression]:
    """DuckDB's dayname/monthname are full names ('Wednesday'), Spark's abbreviated ('Wed'):
    both become a formatted date, which sqlglot writes in each engine's own format."""

    def fix(node: exp.Expression, _position_of) -> exp.Expression:  # type: ignore[no-untyped-def]
        form = short if node.args.get("abbreviated") else full
        return exp.TimeToStr(this=node.this, format=exp.Literal.string(form))

    return fix


def _spark_name_format(full: str, short: str) -> Callable[..., exp.Expression]:
    def fix(node: exp.Expression, _position_of) -> exp.Expression:  # type: ignore[no-untyped-def]
        return exp.TimeToStr(this=node.this, format=exp.Literal.string(short))

    return fix


def _plus(node: exp.Expression, amount: int) -> exp.Expression:
    op = exp.Add if amount > 0 else exp.Sub
    return exp.Paren(this=op(this=node, expression=exp.Literal.number(abs(amount))))


def _duckdb_dayofweek(node: exp.Expression, _position_of) -> exp.Expression:  # type: ignore[no-untyped-def]
    # DuckDB counts Sunday = 0 … Saturday = 6; Spark Sunday = 1 … Saturday = 7.
    return _plus(exp.DayOfWeek(this=node.this), -1)


def _spark_dayofweek(node: exp.Expression, _position_of) -> exp.Expression:  # type: ignore[no-untyped-def]
    return _plus(exp.DayOfWeek(this=node.this), 1)


def _duckdb_isodow(node: exp.Expression, _position_of) -> exp.Expression:  # type: ignore[no-untyped-def]
    # Monday = 1 … Sunday = 7 from Spark's Sunday = 1 … Saturday = 7.
    shifted = exp.Mod(
        this=_plus(exp.DayOfWeek(this=node.this), 5), expression=exp.Literal.number(7)
    )
    return _plus(exp.Paren(this=shifted), 1)


def _spark_weekday(node: exp.Anonymous, _position_of) -> exp.Expression | None:  # type: ignore[no-untyped-def]
    # Spark's weekday: Monday = 0 … Sunday = 6 (DuckDB's weekday is its dayofweek).
    if len(node.expressions) != 1:
        return None
    return _plus(exp.DayOfWeekIso(this=node.expressions[0]), -1)


def _duckdb_weekday(node: exp.Anonymous, _position_of) -> exp.Expression | None:  # type: ignore[no-untyped-def]
    if len(node.expressions) != 1:
        return None
    return _plus(exp.DayOfWeek(this=node.expressions[0]), -1)


# -- differences of dates ----------------------------------------------------------------------


def _duckdb_date_diff(node: exp.DateDiff, _position_of) -> exp.Expression:  # type: ignore[no-untyped-def]
    """DuckDB's date_diff counts the unit's boundaries crossed; Spark's datediff(unit, …)
    counts whole units elapsed. The boundaries crossed are the whole units between the two
    values truncated to the unit."""
    unit = node.args.get("unit")
    if unit is None or not node.args.get("date_part_boundary"):
        return node
    name = unit.name.upper()
    truncated = node.copy()
    for key in ("this", "expression"):
        truncated.set(key, exp.TimestampTrunc(this=node.args[key], unit=exp.var(name)))
    truncated.set("date_part_boundary", None)
    return truncated


def _spark_date_diff(node: exp.DateDiff, _position_of) -> exp.Expression:  # type: ignore[no-untyped-def]
    """Spark's datediff(unit, start, end) is timestampdiff (whole units, of timestamps);
    sqlglot reads its arguments as dates. DuckDB's date_sub(unit, start, end) is the same."""
    unit = node.args.get("unit")
    if unit is None:
        return node  # datediff(end, start): days between dates, translated alike
    parts = [node.args["expression"], node.this]
    start, end = (p.this if isinstance(p, exp.TsOrDsToDate) else p for p in parts)
    return exp.Anonymous(
        this="DATE_SUB", expressions=[exp.Literal.string(unit.name.lower()), start, end]
    )


def _spark_timestamp_diff(node: exp.TimestampDiff, _position_of) -> exp.Expression:  # type: ignore[no-untyped-def]
    unit = node.args.get("unit")
    if unit is None:
        return node
    return exp.Anonymous(
        this="DATE_SUB",
        expressions=[exp.Literal.string(unit.name.lower()), node.expression, node.this],
    )


def _duckdb_date_sub(node: exp.Anonymous, position_of) -> exp.Expression | None:  # type: ignore[no-untyped-def]
    # DuckDB's date_sub(part, start, end): whole units elapsed, Spark's timestampdiff.
    if len(node.expressions) != 3 or not isinstance(node.expressions[0], exp.Literal):
        return None
    part, start, end = node.expressions
    return exp.TimestampDiff(this=end, expression=start, unit=exp.var(part.name.upper()))


# -- regular expressions -----------------------------------------------------------------------


def _duckdb_regexp_replace(node: exp.RegexpReplace, position_of) -> exp.Expression:  # type: ignore[no-untyped-def]
    modifiers = node.args.get("modifiers")
    flags = modifiers.name if isinstance(modifiers, exp.Literal) else None
    if flags == "g":
        return node  # every match, as Spark's regexp_replace does
    raise _only(
        "duckdb", "spark", "regexp_replace without the 'g' option",
        "it replaces the first match only, and Spark's replaces every match (add 'g' to "
        "replace every match on both)", node, position_of,
    )  # fmt: skip


# -- time buckets ------------------------------------------------------------------------------

_MICROS = {
    "MICROSECOND": 1, "MILLISECOND": 1_000, "SECOND": 1_000_000, "MINUTE": 60_000_000,
    "HOUR": 3_600_000_000, "DAY": 86_400_000_000, "WEEK": 7 * 86_400_000_000,
}  # fmt: skip
_MONTHS = {"MONTH": 1, "QUARTER": 3, "YEAR": 12, "DECADE": 120, "CENTURY": 1200}
# DuckDB aligns buckets of days, hours, … to 2000-01-03 and buckets of months to 2000-01-01;
# Spark aligns both to 1970-01-01. Buckets agree when that shift is a whole number of them.
_DAY_TIME_SHIFT = 10_959 * 86_400_000_000  # 1970-01-01 → 2000-01-03
_MONTH_SHIFT = 360  # 1970-01 → 2000-01


def interval_width(node: exp.Expression) -> tuple[int, int] | None:
    """(months, microseconds) of a constant INTERVAL, None when it is not one."""
    if isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.INTERVAL):
        text = node.this.name if isinstance(node.this, exp.Literal) else None
        return _parse_interval_text(text) if text else None
    if not isinstance(node, exp.Interval):
        return None
    value = node.this
    unit = node.args.get("unit")
    if not isinstance(value, exp.Literal):
        return None
    if unit is None:
        return _parse_interval_text(value.name)
    return _parse_interval_text(f"{value.name} {unit.name}")


def _parse_interval_text(text: str) -> tuple[int, int] | None:
    months = micros = 0
    parts = re.findall(r"([-+]?\d+(?:\.\d+)?)\s*([a-zA-Z]+)", text)
    if not parts or re.sub(r"[-+]?\d+(?:\.\d+)?\s*[a-zA-Z]+", "", text).strip():
        return None
    for number, unit in parts:
        name = unit.upper().rstrip("S") if unit.upper() not in ("S",) else "SECOND"
        name = {"SEC": "SECOND", "MIN": "MINUTE", "MS": "MILLISECOND", "US": "MICROSECOND",
                "H": "HOUR", "D": "DAY", "W": "WEEK", "Y": "YEAR", "MON": "MONTH",
                "CENTURIE": "CENTURY"}.get(name, name)  # fmt: skip
        value = float(number)
        if name in _MICROS:
            micros += round(value * _MICROS[name])
        elif name in _MONTHS and value == int(value):
            months += int(value) * _MONTHS[name]
        else:
            return None
    return months, micros


def _aligned(width: tuple[int, int]) -> bool:
    months, micros = width
    if months and micros:
        return False
    if months:
        return months > 0 and _MONTH_SHIFT % months == 0
    return micros > 0 and _DAY_TIME_SHIFT % micros == 0


def _duckdb_time_bucket(node: exp.DateBin, position_of) -> exp.Expression:  # type: ignore[no-untyped-def]
    width = interval_width(node.this)
    # DuckDB's third argument (sqlglot keeps it as the unit) is an origin, an offset or a
    # time zone; only an origin has a Spark equivalent.
    origin = node.args.get("origin") or node.args.get("unit")
    if node.args.get("zone") is not None or (
        origin is not None
        and (
            interval_width(origin) is not None
            or (isinstance(origin, exp.Literal) and origin.is_string)
            or isinstance(origin, exp.Var)
        )
    ):
        raise _only("duckdb", "spark", "time_bucket with an offset or a time zone",
                    "Spark's time_bucket takes an origin only", node, position_of)  # fmt: skip
    if origin is None and (width is None or not _aligned(width)):
        raise _only(
            "duckdb", "spark", "time_bucket with this width",
            "DuckDB aligns buckets to 2000-01-03 (months to 2000-01-01), Spark to 1970-01-01 "
            "(give the origin, as in time_bucket(INTERVAL '7 days', ts, TIMESTAMP "
            "'2000-01-03'))", node, position_of,
        )  # fmt: skip
    arguments = [node.this, node.expression] + ([origin] if origin is not None else [])
    return exp.Anonymous(this="TIME_BUCKET", expressions=arguments)


def _spark_time_bucket(node: exp.Anonymous, position_of) -> exp.Expression | None:  # type: ignore[no-untyped-def]
    if len(node.expressions) != 2:
        return None  # with an origin both engines align alike
    width = interval_width(node.expressions[0])
    if width is None or not _aligned(width):
        raise _only(
            "spark", "duckdb", "time_bucket with this width",
            "Spark aligns buckets to 1970-01-01, DuckDB to 2000-01-03 (give the origin, as in "
            "time_bucket(INTERVAL '7' DAY, ts, TIMESTAMP '1970-01-01'))", node, position_of,
        )  # fmt: skip
    return None


# -- percentiles -------------------------------------------------------------------------------
# sqlglot writes PERCENTILE_CONT(p) WITHIN GROUP (ORDER BY x) for Spark as percentile_approx,
# and DuckDB's quantile (discrete) as Spark's percentile (continuous). Spark has the exact
# forms: percentile(x, p) and PERCENTILE_CONT / PERCENTILE_DISC ... WITHIN GROUP.


def _within_group(name: str, fraction: exp.Expression, order: exp.Expression) -> exp.Expression:
    return exp.WithinGroup(this=exp.Anonymous(this=name, expressions=[fraction]), expression=order)


def _spark_within_group(node: exp.WithinGroup, _position_of) -> exp.Expression | None:  # type: ignore[no-untyped-def]
    inner = node.this
    if not isinstance(inner, exp.PercentileCont | exp.PercentileDisc):
        return None
    name = "PERCENTILE_CONT" if isinstance(inner, exp.PercentileCont) else "PERCENTILE_DISC"
    # sqlglot keeps the fraction as the function's argument (this or expression).
    fraction = inner.args.get("expression") or inner.this
    return _within_group(name, fraction, node.expression)


def _spark_percentile(kind: str) -> Callable[..., exp.Expression | None]:
    def fix(node: exp.Expression, _position_of) -> exp.Expression | None:  # type: ignore[no-untyped-def]
        fraction = node.args.get("expression") or node.args.get("quantile")
        if isinstance(node.parent, exp.WithinGroup) or fraction is None:
            return None
        column = node.this
        if kind == "cont":
            return exp.Anonymous(this="PERCENTILE", expressions=[column, fraction])
        order = exp.Order(expressions=[exp.Ordered(this=column, nulls_first=False)])
        return _within_group("PERCENTILE_DISC", fraction, order)

    return fix


def _spark_quantile_to_duckdb(node: exp.Quantile, _position_of) -> exp.Expression:  # type: ignore[no-untyped-def]
    # Spark's percentile(x, p) interpolates: DuckDB's quantile_cont.
    return exp.PercentileCont(this=node.this, expression=node.args.get("quantile"))


_FOR_TARGET: dict[str, dict[type[exp.Expression], Callable[..., exp.Expression | None]]] = {
    "spark": {
        exp.WithinGroup: _spark_within_group,
        exp.PercentileCont: _spark_percentile("cont"),
        exp.PercentileDisc: _spark_percentile("disc"),
    },
}
_FIXES: dict[tuple[str, str], dict[type[exp.Expression], Callable[..., exp.Expression]]] = {
    ("duckdb", "spark"): {
        exp.Dayname: _name_format("%A", "%a"),
        exp.Monthname: _name_format("%B", "%b"),
        exp.DayOfWeek: _duckdb_dayofweek,
        exp.DayOfWeekIso: _duckdb_isodow,
        exp.DateDiff: _duckdb_date_diff,
        exp.RegexpReplace: _duckdb_regexp_replace,
        exp.DateBin: _duckdb_time_bucket,
        exp.Quantile: _spark_percentile("disc"),
    },
    ("spark", "duckdb"): {
        exp.Dayname: _spark_name_format("%A", "%a"),
        exp.Monthname: _spark_name_format("%B", "%b"),
        exp.DayOfWeek: _spark_dayofweek,
        exp.DateDiff: _spark_date_diff,
        exp.TimestampDiff: _spark_timestamp_diff,
        exp.Quantile: _spark_quantile_to_duckdb,
    },
}
_ANONYMOUS: dict[tuple[str, str], dict[str, Callable[..., exp.Expression | None]]] = {
    ("duckdb", "spark"): {"weekday": _duckdb_weekday, "date_sub": _duckdb_date_sub},
    ("spark", "duckdb"): {"weekday": _spark_weekday, "time_bucket": _spark_time_bucket},
}
