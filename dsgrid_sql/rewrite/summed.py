"""Which virtual-table references a query only sums: the licence to skip spreading annual data.

dsgrid maps an annual dataset onto an hourly project by repeating each annual value once per
project hour as ``value / 8760`` (dsgrid-format.md §4.3). Planned literally that is a cross
join: at 100 M rows, 67 M rows that only exist to be added up again. When a query's SELECT
reads a data table's rows in nothing but ``SUM(<linear in value>)`` and reads no time, the
``N`` copies of a row add up to one row of ``value / 8760 * N``; the plan then keeps one row
(table_plan / dataset_plan do the rewriting; this module only decides).

"Only sums" is checked conservatively, on the SELECT that reads the table directly:

- the table is its only source (no joins, laterals, samples or nested queries) and the
  SELECT aggregates (GROUP BY or an aggregate function);
- every aggregate is ``SUM`` (not DISTINCT) of an expression linear in ``value`` — value
  times or divided by value-free terms, sums and differences of such, CASE/IF branches with
  value-free conditions, COALESCE — or ``MIN``/``MAX`` of a value-free expression, which
  copies do not change;
- ``value`` appears nowhere else (not in WHERE, GROUP BY, FILTER, or another function);
- no window function and no function sqlglot does not model (it might count rows).

Anything else keeps the literal spread: COUNT(*), AVG(value), MIN(value), a filter on value,
``SUM(value + 1)``, ``SUM(value * value)``, or any query that reads the timestamp.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from sqlglot import exp

from dsgrid_sql.catalog import ColumnRole, Table


class _Kind(Enum):
    FREE = "free"  # does not read value
    LINEAR = "linear"  # c · value, c value-free
    ZERO = "zero"  # NULL or 0: the same however often it is added
    NONLINEAR = "nonlinear"


_LINEARISH = (_Kind.LINEAR, _Kind.ZERO)
IsValue = Callable[[exp.Expression], bool]
# Nodes after which the row count is no longer the table's, or that may count rows.
_REFUSED = (
    exp.Select, exp.Subquery, exp.Window, exp.Lateral, exp.Unnest, exp.Explode,
    exp.TableSample, exp.Pivot, exp.WithinGroup, exp.Anonymous,
)  # fmt: skip
# Casts that keep a number's value (an integer or decimal cast would round each copy).
_EXACT_CASTS = {exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT}


def only_summed(select: exp.Expression, alias: str, table: Table) -> bool:
    """Whether ``select`` (reading ``table`` as ``alias``, columns qualified) uses the
    table's rows only through sums linear in value."""
    if not isinstance(select, exp.Select):
        return False
    if select.args.get("joins") or select.args.get("laterals"):
        return False
    value_names = {c.name for c in table.columns if c.role is ColumnRole.VALUE}

    def is_value(node: exp.Expression) -> bool:
        return isinstance(node, exp.Column) and node.table == alias and node.name in value_names

    aggregates = list(select.find_all(exp.AggFunc))
    if not aggregates and not select.args.get("group"):
        return False
    for node in select.walk():
        if node is not select and isinstance(node, _REFUSED):
            return False
    for aggregate in aggregates:
        if isinstance(aggregate, exp.Sum):
            argument = aggregate.this
            if isinstance(argument, exp.Distinct) or _kind(argument, is_value) not in _LINEARISH:
                return False
        elif isinstance(aggregate, exp.Min | exp.Max):
            if any(is_value(n) for n in aggregate.walk()):
                return False
        else:
            return False
    # Every read of value lies inside a SUM (whose argument was found linear above).
    for node in select.find_all(exp.Column):
        if is_value(node) and not isinstance(node.find_ancestor(exp.AggFunc), exp.Sum):
            return False
    return True


def _kind(node: exp.Expression, is_value: IsValue) -> _Kind:
    if is_value(node):
        return _Kind.LINEAR
    if isinstance(node, exp.Null) or (isinstance(node, exp.Literal) and _is_zero(node)):
        return _Kind.ZERO
    if isinstance(node, exp.Paren | exp.Neg):
        return _kind(node.this, is_value)
    if not any(is_value(n) for n in node.walk()):
        return _Kind.FREE
    if isinstance(node, exp.Mul):
        kinds = {_kind(node.this, is_value), _kind(node.expression, is_value)}
        if _Kind.NONLINEAR in kinds:
            return _Kind.NONLINEAR
        if _Kind.ZERO in kinds:
            return _Kind.ZERO
        return _Kind.LINEAR if kinds == {_Kind.LINEAR, _Kind.FREE} else _Kind.NONLINEAR
    if isinstance(node, exp.Div):
        top, bottom = _kind(node.this, is_value), _kind(node.expression, is_value)
        return top if top in _LINEARISH and bottom is _Kind.FREE else _Kind.NONLINEAR
    if isinstance(node, exp.Add | exp.Sub):
        return _branches([node.this, node.expression], is_value)
    if isinstance(node, exp.Coalesce):
        return _branches([node.this, *node.expressions], is_value)
    if isinstance(node, exp.Case):
        if node.this is not None and _kind(node.this, is_value) is not _Kind.FREE:
            return _Kind.NONLINEAR
        conditions = [i.this for i in node.args.get("ifs") or []]
        results = [i.args["true"] for i in node.args.get("ifs") or []]
        results.append(node.args.get("default") or exp.Null())
        if any(_kind(c, is_value) is not _Kind.FREE for c in conditions):
            return _Kind.NONLINEAR
        return _branches(results, is_value)
    if isinstance(node, exp.If):
        if _kind(node.this, is_value) is not _Kind.FREE:
            return _Kind.NONLINEAR
        results = [node.args["true"], node.args.get("false") or exp.Null()]
        return _branches(results, is_value)
    if isinstance(node, exp.Cast) and node.to.this in _EXACT_CASTS:
        return _kind(node.this, is_value)
    return _Kind.NONLINEAR


def _branches(parts: list[exp.Expression], is_value: IsValue) -> _Kind:
    """Terms added together, or alternatives of a CASE: all linear (or zero) or all free."""
    kinds = {_kind(p, is_value) for p in parts}
    if kinds <= {_Kind.ZERO}:
        return _Kind.ZERO
    if kinds <= set(_LINEARISH):
        return _Kind.LINEAR
    if kinds == {_Kind.FREE}:
        return _Kind.FREE
    return _Kind.NONLINEAR


def _is_zero(literal: exp.Literal) -> bool:
    if literal.is_string:
        return False
    try:
        return float(literal.this) == 0.0
    except ValueError:
        return False
