"""A filter on project time read as the stored instants that can pass it (issue 21: time at
the right moment).

``WHERE timestamp BETWEEN '2018-07-01' AND '2018-07-02'`` (a peak day's profile) compared
each row's *mapped* time: every stored row was shifted, wrapped and mapped before the filter
threw most of them away. Here the top-level AND-ed comparisons of a data table's ``timestamp``
with instant literals become a window of project instants (closed spans of UTC
microseconds), and each dataset whose time is a plain shift (period-beginning against
period-ending, wrapped into the project's year as dsgrid does) reads only the stored instants
whose mapped time lies in it: the same spans shifted back, split where the wrap puts them,
as a condition on the stored column that the engine pushes into its Parquet scan.

The query's own filter stays where it was: the window only keeps, of each dataset, rows that
can pass it, so an instant the engine reads differently from Python can only keep too many
rows, never drop one (a literal Python does not read as an ISO instant makes no window).
Annual and representative-period time are left as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlglot import exp

from .time_mapping import DatetimeShift

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
# Unbounded ends of a span (microseconds: ±146,000 years, beyond any timestamp).
LOW, HIGH = -(2**62), 2**62
# More stored spans than this (a list of instants a BI tool sent) are not worth a condition.
MAX_SPANS = 1_000

Span = tuple[int, int]
_INSTANT_TYPES = {
    exp.DataType.Type.TIMESTAMP,
    exp.DataType.Type.TIMESTAMPTZ,
    exp.DataType.Type.TIMESTAMPLTZ,
    exp.DataType.Type.TIMESTAMPNTZ,
}
_WALL_CLOCK_TYPES = {exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPNTZ}


@dataclass(frozen=True)
class TimeWindow:
    """Project instants a query keeps: sorted, disjoint, closed spans of UTC microseconds."""

    spans: tuple[Span, ...]

    def intersect(self, other: TimeWindow) -> TimeWindow:
        out: list[Span] = []
        for a_low, a_high in self.spans:
            for b_low, b_high in other.spans:
                low, high = max(a_low, b_low), min(a_high, b_high)
                if low <= high:
                    out.append((low, high))
        return TimeWindow(_merged(out))

    def stored(self, mapping: DatetimeShift) -> tuple[Span, ...] | None:
        """The stored instants whose mapped time lies in the window, as spans; None when
        there are too many to be worth a condition. The mapping is dataset_plan's: stored
        + shift, less the wrap above the project's end, plus it below its start (no wrap
        without a shift), then kept within the project's range."""
        start, end = micros(mapping.project.start), micros(mapping.project.end)
        shift, wrap = mapping.shift // _US, mapping.wrap // _US
        out: list[Span] = []
        # A row whose mapped time leaves the project's range is dropped by the mapping (or
        # cannot be: DatetimeShift.always_in_range), so only the window's part in it counts.
        for low, high in self.intersect(TimeWindow(((start, end),))).spans:
            if not shift:
                out.append((low, high))
                continue
            # Shifted time m = s + shift: in [start, end] as it is, above end less the
            # wrap, below start plus it; each piece's m in the span, then s = m - shift.
            pieces = (
                (max(start, low), min(end, high)),
                (max(end + 1, low + wrap), high + wrap),
                (low - wrap, min(start - 1, high - wrap)),
            )
            out += [(a - shift, b - shift) for a, b in pieces if a <= b]
        merged = _merged(out)
        return merged if len(merged) <= MAX_SPANS else None


def window_of(predicate: exp.Expression, column: exp.Expression) -> TimeWindow | None:
    """The window a comparison of ``column`` (a node of ``predicate``) with instant literals
    keeps, or None for any other predicate."""
    if isinstance(predicate, exp.Between) and predicate.this is column:
        if predicate.args.get("symmetric"):
            return None
        low, high = instant(predicate.args.get("low")), instant(predicate.args.get("high"))
        if low is None or high is None:
            return None
        return TimeWindow(((low, high),) if low <= high else ())
    if isinstance(predicate, exp.In) and predicate.this is column:
        if predicate.args.get("query") or predicate.args.get("negate"):
            return None
        points = [instant(v) for v in predicate.expressions]
        if not points or any(p is None for p in points):
            return None
        return TimeWindow(_merged([(p, p) for p in points if p is not None]))
    if not isinstance(predicate, exp.EQ | exp.GT | exp.GTE | exp.LT | exp.LTE):
        return None
    kind = type(predicate)
    if predicate.expression is column:  # literal <op> column: the mirrored comparison
        other = instant(predicate.this)
        kind = _MIRRORED.get(kind, kind)
    elif predicate.this is column:
        other = instant(predicate.expression)
    else:
        return None
    if other is None:
        return None
    span = {
        exp.EQ: (other, other),
        exp.GT: (other + 1, HIGH),
        exp.GTE: (other, HIGH),
        exp.LT: (LOW, other - 1),
        exp.LTE: (LOW, other),
    }[kind]
    return TimeWindow((span,))


_MIRRORED: dict[type[exp.Expression], type[exp.Expression]] = {
    exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE,
}  # fmt: skip


def instant(node: exp.Expression | None) -> int | None:
    """A string literal (or one cast to a timestamp type) as UTC microseconds, read as the
    engines read it in the session's zone (UTC); None for anything else."""
    wall_clock = False
    if isinstance(node, exp.Cast):
        if not node.to.is_type(*_INSTANT_TYPES):
            return None
        wall_clock = node.to.is_type(*_WALL_CLOCK_TYPES)
        node = node.this
    if not isinstance(node, exp.Literal) or not node.is_string:
        return None
    try:
        parsed = datetime.fromisoformat(node.this.strip())
    except ValueError:
        return None
    if wall_clock and parsed.tzinfo is not None:
        return None  # an offset cast to a wall clock: engines differ on what they keep of it
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return micros(parsed)


def stored_condition(column: exp.Expression, spans: tuple[Span, ...]) -> exp.Expression:
    """``column`` (a stored instant) within ``spans`` (bounded, as ``TimeWindow.stored``
    gives them, and at least one): one IN list of the single instants, and a range per
    longer span."""
    points = [literal(low) for low, high in spans if low == high]
    terms: list[exp.Expression] = []
    if points:
        terms.append(exp.In(this=column.copy(), expressions=points))
    terms += [
        exp.Between(this=column.copy(), low=literal(low), high=literal(high))
        for low, high in spans
        if low != high
    ]
    condition = terms[0]
    for term in terms[1:]:
        condition = exp.Or(this=condition, expression=term)
    return exp.Paren(this=condition) if len(terms) > 1 else condition


def literal(micros: int) -> exp.Expression:
    text = (_EPOCH + micros * _US).isoformat(sep=" ")
    return exp.cast(exp.Literal.string(text), exp.DataType.build("TIMESTAMPTZ"))


def shown_span(span: Span) -> str:
    """A stored span for EXPLAIN (bounded, as ``TimeWindow.stored`` gives them)."""
    low, high = span
    return _shown(low) if low == high else f"{_shown(low)} to {_shown(high)}"


def _shown(micros: int) -> str:
    return (_EPOCH + micros * _US).strftime("%Y-%m-%d %H:%M:%S")


def micros(instant: datetime) -> int:
    """An aware instant as microseconds since the epoch, the unit windows are kept in."""
    return (instant - _EPOCH) // _US


def _merged(spans: list[Span]) -> tuple[Span, ...]:
    """Sorted, overlapping or touching spans joined."""
    out: list[Span] = []
    for low, high in sorted(spans):
        if out and low <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], high))
        else:
            out.append((low, high))
    return tuple(out)
