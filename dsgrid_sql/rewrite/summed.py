"""Which virtual-table references a query only sums: the licence to skip spreading annual data.

dsgrid maps an annual dataset onto an hourly project by repeating each annual value once per
project hour as ``value / 8760`` (dsgrid-format.md §4.3). Planned literally that is a cross
join: at 100 M rows, 67 M rows that only exist to be added up again. When a query's SELECT
reads a data table's rows in nothing but ``SUM(<linear in value>)`` and reads no time, the
``N`` copies of a row add up to one row of ``value / 8760 * N``; the plan then keeps one row
(table_plan / dataset_plan do the rewriting; this module only decides).

"Only sums" is checked conservatively, on the SELECT that reads the table directly:

- the table is the SELECT's only data table, and the SELECT aggregates (GROUP BY or an
  aggregate function); joined with dimension tables, CTEs or subqueries (on a condition, or
  a cross join: no ASOF, positional, USING or lateral join, no sample), or filtered by
  queries that do not read its rows (``us_states IN (SELECT …)``). A sum over a join is
  the sum of value times the rows each row meets, and which rows it meets depends only on
  the columns the query reads: rows sharing them may be summed first (eager aggregation),
  as long as every sum reads value (a sum of the other side's column would count its rows
  again for each row of this one);
- every aggregate is ``SUM`` (not DISTINCT) of an expression linear in ``value`` — value
  times or divided by value-free terms, sums and differences of such, CASE/IF branches with
  value-free conditions, COALESCE — or ``MIN``/``MAX`` of a value-free expression, which
  copies do not change;
- ``value`` appears nowhere else (not in WHERE, GROUP BY, FILTER, or another function);
- no function sqlglot does not model (it might count rows); window functions only over
  the groups of an aggregating SELECT (``RANK() OVER (ORDER BY SUM(value))``,
  ``SUM(SUM(value)) OVER (...)``): they see one row per group, however many rows each group
  summed.

Anything else keeps the literal spread: COUNT(*), AVG(value), MIN(value), a filter on value,
``SUM(value + 1)``, ``SUM(value * value)``, or any query that reads the timestamp.
"""

from __future__ import annotations

from enum import Enum

from sqlglot import exp

from dsgrid_sql.catalog import ColumnRole, Table


class _Kind(Enum):
    FREE = "free"  # does not read value
    LINEAR = "linear"  # c · value, c value-free
    ZERO = "zero"  # NULL or 0: the same however often it is added
    NONLINEAR = "nonlinear"


_LINEARISH = (_Kind.LINEAR, _Kind.ZERO)
# Nodes after which the row count is no longer the table's, or that may count rows.
_REFUSED = (
    exp.Lateral, exp.Unnest, exp.Explode, exp.TableSample, exp.Pivot, exp.WithinGroup,
    exp.Anonymous,
)  # fmt: skip
# Queries inside this one: their own scopes (bind.py marks each where it reads a table).
_NESTED = (exp.Select, exp.Subquery, exp.Union, exp.Intersect, exp.Except)
# Joins that pair rows by values: every row of the table meets the same rows of the other
# side whatever rows share its values, so summing those first changes no sum (below).
_JOIN_KINDS = {"", "INNER", "OUTER", "CROSS", "SEMI", "ANTI"}
# Casts that keep a number's value (an integer or decimal cast would round each copy).
_EXACT_CASTS = {exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT}


def only_summed(select: exp.Expression, alias: str, table: Table) -> bool:
    """Whether ``select`` (reading ``table`` as ``alias``, columns qualified) uses the
    table's rows only through sums linear in value."""
    if not isinstance(select, exp.Select):
        return False
    if select.args.get("laterals") or not all(
        _keeps_rows(j) for j in select.args.get("joins") or []
    ):
        return False
    value_names = {c.name for c in table.columns if c.role is ColumnRole.VALUE}
    # One walk (a WHERE of thousands of terms makes each walk count): the aggregates over
    # the table's rows (window functions run over the groups they make) and value's reads.
    # Queries nested in this one (a joined subquery, `IN (SELECT …)`) are scopes of their
    # own, not walked; the caller makes sure none reads this one's rows (no correlation).
    aggregates: list[exp.AggFunc] = []
    values: list[exp.Column] = []
    for node in select.walk(prune=lambda n: n is not select and isinstance(n, _NESTED)):
        if isinstance(node, exp.Column):
            if node.table == alias and node.name in value_names:
                values.append(node)
        elif isinstance(node, exp.AggFunc):
            if not _over_groups(node):
                aggregates.append(node)
        elif node is not select and isinstance(node, _REFUSED):
            return False
    if not aggregates and not select.args.get("group"):
        return False
    # Every read of value lies inside a SUM (whose argument must be linear, below); MIN and
    # MAX then only see value-free terms, which copies do not change.
    for column in values:
        aggregate = column.find_ancestor(exp.AggFunc)
        if not isinstance(aggregate, exp.Sum) or _over_groups(aggregate):
            return False
    if any(not isinstance(a, exp.Sum | exp.Min | exp.Max) for a in aggregates):
        return False
    # The nodes that read value: the value columns and their ancestors (one walk up each),
    # so telling a value-free term costs one look-up, not a walk of the term.
    reading = {id(c) for c in values}
    for column in values:
        node = column.parent
        while node is not None and id(node) not in reading:
            reading.add(id(node))
            node = node.parent
    try:
        return all(
            not isinstance(a.this, exp.Distinct) and _kind(a.this, reading) in _LINEARISH
            for a in aggregates
            if isinstance(a, exp.Sum)
        )
    except RecursionError:  # a very long arithmetic chain: keep the literal spread
        return False


def _keeps_rows(join: exp.Join) -> bool:
    """A join of this query's table with a table or query on a condition (or a cross join):
    each row meets the rows of the other side its column values pick, whatever other rows
    share those values. Not an ASOF join (one match among equals), a positional or natural
    one, USING (columns read without being named) or a lateral one."""
    if not isinstance(join.this, exp.Table | exp.Subquery) or join.this.args.get("sample"):
        return False
    if join.args.get("method") or join.args.get("using") or join.args.get("pivots"):
        return False
    return (join.args.get("kind") or "").upper() in _JOIN_KINDS


def _over_groups(function: exp.Expression) -> bool:
    """Whether ``function`` is a window function (``f(...) OVER (...)``)."""
    return isinstance(function.parent, exp.Window) and function.parent.this is function


def _kind(node: exp.Expression, reading: set[int]) -> _Kind:
    if id(node) not in reading:
        return _Kind.ZERO if _is_zero(node) else _Kind.FREE
    if isinstance(node, exp.Column):
        return _Kind.LINEAR  # a column that reads value is value itself
    if isinstance(node, exp.Paren | exp.Neg):
        return _kind(node.this, reading)
    if isinstance(node, exp.Mul):
        kinds = {_kind(node.this, reading), _kind(node.expression, reading)}
        if _Kind.NONLINEAR in kinds:
            return _Kind.NONLINEAR
        if _Kind.ZERO in kinds:
            return _Kind.ZERO
        return _Kind.LINEAR if kinds == {_Kind.LINEAR, _Kind.FREE} else _Kind.NONLINEAR
    if isinstance(node, exp.Div):
        top, bottom = _kind(node.this, reading), _kind(node.expression, reading)
        return top if top in _LINEARISH and bottom is _Kind.FREE else _Kind.NONLINEAR
    if isinstance(node, exp.Add | exp.Sub):
        return _branches([node.this, node.expression], reading)
    if isinstance(node, exp.Coalesce):
        return _branches([node.this, *node.expressions], reading)
    if isinstance(node, exp.Case):
        if node.this is not None and id(node.this) in reading:
            return _Kind.NONLINEAR
        conditions = [i.this for i in node.args.get("ifs") or []]
        results = [i.args["true"] for i in node.args.get("ifs") or []]
        results.append(node.args.get("default") or exp.Null())
        if any(id(c) in reading for c in conditions):
            return _Kind.NONLINEAR
        return _branches(results, reading)
    if isinstance(node, exp.If):
        if id(node.this) in reading:
            return _Kind.NONLINEAR
        results = [node.args["true"], node.args.get("false") or exp.Null()]
        return _branches(results, reading)
    if isinstance(node, exp.Cast) and node.to.this in _EXACT_CASTS:
        return _kind(node.this, reading)
    return _Kind.NONLINEAR


def _branches(parts: list[exp.Expression], reading: set[int]) -> _Kind:
    """Terms added together, or alternatives of a CASE: all linear (or zero) or all free."""
    kinds = {_kind(p, reading) for p in parts}
    if kinds <= {_Kind.ZERO}:
        return _Kind.ZERO
    if kinds <= set(_LINEARISH):
        return _Kind.LINEAR
    if kinds == {_Kind.FREE}:
        return _Kind.FREE
    return _Kind.NONLINEAR


def _is_zero(node: exp.Expression) -> bool:
    """NULL or a numeric 0: the same however often it is added."""
    if isinstance(node, exp.Null):
        return True
    if not isinstance(node, exp.Literal) or node.is_string:
        return False
    try:
        return float(node.this) == 0.0
    except ValueError:
        return False
