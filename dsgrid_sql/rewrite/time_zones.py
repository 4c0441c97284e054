"""``x AT TIME ZONE 'zone'`` and ``timezone('zone', x)``: one meaning on both engines.

The meaning is DuckDB's (and PostgreSQL's): an instant (``timestamp``, TIMESTAMP WITH TIME
ZONE) becomes the wall-clock time in that zone, without a zone (daylight saving applied); a
wall-clock time (``local_timestamp``, a TIMESTAMP without zone) read in that zone becomes the
instant. DuckDB runs both spellings natively. Spark has neither, so for Spark they become
``from_utc_timestamp`` (an instant → the wall clock, cast to TIMESTAMP_NTZ so it is a wall
clock and not an instant shifted by the offset) or ``to_utc_timestamp`` (the reverse).
Which one depends on the operand's type, so the statement's types are annotated first —
only when a conversion is present, since annotation walks the whole statement.

A zone given as a string literal is checked here: a misspelt zone is a positioned error with
a suggestion, never an engine message.
"""

from __future__ import annotations

import functools
import zoneinfo

from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.schema import Schema

from dsgrid_sql.errors import UnknownNameError
from dsgrid_sql.suggest import did_you_mean

_NAIVE_TYPES = {
    exp.DataType.Type.TIMESTAMP,
    exp.DataType.Type.TIMESTAMPNTZ,
    exp.DataType.Type.DATETIME,
    exp.DataType.Type.DATE,
    exp.DataType.Type.TIMESTAMP_S,
    exp.DataType.Type.TIMESTAMP_MS,
    exp.DataType.Type.TIMESTAMP_NS,
}
_DATES = {exp.DataType.Type.DATE}


def _conversions(statement: exp.Expression) -> list[exp.Expression]:
    return [
        node
        for node in statement.walk()
        if isinstance(node, exp.AtTimeZone)
        or (
            isinstance(node, exp.Anonymous)
            and node.name.lower() == "timezone"
            and len(node.expressions) == 2
        )
    ]


def convert_time_zones(
    statement: exp.Expression, schema: Schema, dialect: str, target: str, position_of
) -> bool:  # type: ignore[no-untyped-def]
    """Check the zones of every conversion and spell each one for ``target``; True when a
    node of the tree was replaced (its scopes must then be traversed again)."""
    nodes = _conversions(statement)
    for node in nodes:
        zone = _zone_of(node)
        if isinstance(zone, exp.Literal) and zone.is_string:
            check_zone(zone.this, zone, position_of)
    if target != "spark" or not (nodes or statement.find(exp.TimestampTrunc)):
        return False
    annotate_types(statement, schema=schema, dialect=dialect)
    # Decided before any node is replaced: replacements carry no types.
    from_naive = {id(node): _is_naive(_value_of(node)) for node in nodes}

    def gives_wall_clock(operand: exp.Expression) -> bool:
        if id(operand) in from_naive:
            return not from_naive[id(operand)]
        return operand.type is not None and operand.type.this in _NAIVE_TYPES - _DATES

    # Spark truncates a wall-clock time to an instant; a wall clock it stays, as on DuckDB.
    # Deepest first, so an outer truncation copies the inner one already wrapped.
    truncations = sorted(
        (n for n in statement.find_all(exp.TimestampTrunc) if gives_wall_clock(n.this)),
        key=lambda n: -n.depth,
    )
    for node in nodes:
        value, zone = _value_of(node).copy(), _zone_of(node).copy()
        node.replace(_spark_conversion(value, zone, from_naive[id(node)]))
    for node in truncations:
        node.replace(exp.cast(node.copy(), exp.DataType.build("TIMESTAMP_NTZ", dialect="spark")))
    return bool(nodes or truncations)


def _value_of(node: exp.Expression) -> exp.Expression:
    return node.this if isinstance(node, exp.AtTimeZone) else node.expressions[1]


def _zone_of(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.AtTimeZone):
        return node.args["zone"]
    return node.expressions[0]


def _is_naive(value: exp.Expression) -> bool:
    data_type = value.type
    if data_type is None:
        return False
    if data_type.this in _NAIVE_TYPES:
        return True
    # A string read as a timestamp has no zone (PostgreSQL's reading of a literal).
    return data_type.this in exp.DataType.TEXT_TYPES


def _spark_conversion(value: exp.Expression, zone: exp.Expression, naive: bool) -> exp.Expression:
    if naive:
        # The wall clock, read as UTC by the cast (sessions run in UTC), then taken as the
        # wall clock of `zone`.
        as_instant = exp.cast(value, exp.DataType.build("TIMESTAMP", dialect="spark"))
        return exp.Anonymous(this="to_utc_timestamp", expressions=[as_instant, zone])
    return exp.cast(
        exp.Anonymous(this="from_utc_timestamp", expressions=[value, zone]),
        exp.DataType.build("TIMESTAMP_NTZ", dialect="spark"),
    )


@functools.cache
def known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_zone(name: str, node: exp.Expression | None = None, position_of=None) -> None:  # type: ignore[no-untyped-def]
    """Refuse a time zone name both engines would not read the same way: IANA names only."""
    if name in known_zones():
        return
    raise UnknownNameError(
        f"Unknown time zone '{name}'.",
        suggestion=did_you_mean(name, known_zones()),
        position=position_of(node) if position_of is not None and node is not None else None,
        hint="Use an IANA time zone name such as 'America/Denver' or 'Etc/GMT+7'.",
    )
