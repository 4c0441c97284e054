"""The highest (or lowest) hourly sum per key, with annual datasets added as per-key constants.

    SELECT geography, MAX(value) FROM (
      SELECT geography, timestamp, SUM(value) AS value FROM data WHERE …
      GROUP BY geography, timestamp
    ) GROUP BY geography

dsgrid spreads an annual dataset over every project timestamp as ``value / 8760``: for each key
``k`` of the inner GROUP BY (all of it but time) an annual dataset adds the same amount
``e(k)`` to every hour. Planned literally, the annual rows are repeated per hour (3,000
counties × 8,760 hours) only for the sums to take them apart again. Adding a constant commutes
with MAX and MIN, so the maximum over hours of ``s(k, t) + e(k)`` is the time-varying datasets'
maximum plus ``e(k)`` — except where a key has hours without time-varying data, whose sum is
``e(k)`` alone. The rewrite counts those hours instead of assuming there are none:

    value(k) = m(k)                       where e(k) is NULL (no annual rows, or no values)
             = e(k)                       where m(k) is NULL (no time-varying hour has a value)
             = GREATEST(m(k) + e(k), e(k)) where fewer than all project hours have a value
             = m(k) + e(k)                 otherwise

with ``m(k)`` the MAX and ``n(k)`` the COUNT of the time-varying datasets' hourly sums, and
``e(k)`` the annual datasets' sum over the project's hours divided by its number
of hours (the plan sums annual data without spreading it: summed.py). SQL's SUM ignores NULL
values, and so does each case above. The new subquery has one row per key, so the outer
query's own MAX — over keys it groups more coarsely, if it does — gives the same answer.
The count stands for the hours covered because the time-varying datasets' timestamps are
project timestamps (shifted and wrapped, or looked up, onto the project's instants: dsgrid
checks registered time against the project's), each counted once per key by the GROUP BY.

Applied only where every step is exact: the outer query reads the hourly rows only through
MAX (or only MIN) of the sum and its grouping columns (and filters on the keys); the inner
one groups by keys and the project's timestamp, sums value and filters on dimension columns
only; every dataset of the table has datetime, representative or index time (time-varying) or
annual time, and both kinds are there; and where the spread it spares is large (key records
× timestamps, SPREAD_ROWS_MIN). ``aggregate_early = off`` leaves the query as written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp

from dsgrid_sql.catalog import ColumnRole, Table

from .time_mapping import AnnualSpread, DatetimeShift, TimeMapping, ZonedTime

# Roles whose value is the same in every hour of a row: keys and filters that do not tell
# hours apart. dataset_id filters, but as a key it gives no key both kinds of data (and the
# join would make the never-NULL column nullable on Spark).
_KEY_ROLES = {ColumnRole.DIMENSION, ColumnRole.SUPPLEMENTAL, ColumnRole.RECORD_NAME}
_FILTER_ROLES = _KEY_ROLES | {ColumnRole.DATASET_ID}
# The inner SELECT may have these parts; any other (HAVING, ORDER, LIMIT, DISTINCT…) refuses.
_INNER_PARTS = {"expressions", "from_", "where", "group"}
_MAX = "__dsgrid_max"
_COUNT = "__dsgrid_hours"
_TOTAL = "__dsgrid_annual"
_HOURLY, _VARYING, _ANNUAL = "__dsgrid_hourly", "__dsgrid_varying", "__dsgrid_annual_sums"


# Below this many spread rows (key records × project timestamps: 4 census regions × 556
# hours) the literal plan's spread is cheaper than the rewrite's join of two aggregates:
# on Spark the join is a stage of its own (regional peaks 0.83 → 1.26× hand-written at
# 10M), where 3,000 counties × 556 hours went 1.51 → 0.97×.
SPREAD_ROWS_MIN = 100_000


def add_annual_after_peaks(
    selects: list[exp.Expression],
    bound: Callable[[exp.Table], Table | None],
    times: Callable[[Table], dict[str, TimeMapping | None]],
    new_binding: Callable[[exp.Table, Table], None],
    records: Callable[[Table, str], int],
) -> list[str]:
    """Rewrite every matching MAX/MIN-of-hourly-sums among ``selects`` (the statement's
    queries, qualified, tables bound: ``bound`` gives a Table node's catalog table).
    ``times`` tells each dataset's time mapping; ``new_binding`` registers the annual
    part's copy of the table reference; ``records`` counts a key column's records. Returns
    a sentence per rewrite for EXPLAIN."""
    said: list[str] = []
    for outer in selects:
        if not isinstance(outer, exp.Select):
            continue  # a UNION's scope: its branches are scopes of their own
        match = _match(outer, bound, times)
        if match is None:
            continue
        spread = match.hours
        for _, column in match.keys:
            spread *= max(1, records(match.table, column.name))
        if spread >= SPREAD_ROWS_MIN:
            said.append(_rewrite(match, new_binding))
    return said


@dataclass
class _Match:
    sub: exp.Subquery | exp.CTE  # holds the hourly sums the outer query reads
    inner: exp.Select
    table: Table
    alias: str  # of the table in the inner query
    keys: list[tuple[str, exp.Column]]  # (output name, grouped column)
    summed: str  # the output name of SUM(value)
    function: type[exp.Max] | type[exp.Min]
    annual: list[str]
    varying: list[str]
    hours: int  # the project's timestamps, over which annual values are spread


def _match(
    outer: exp.Select,
    bound: Callable[[exp.Table], Table | None],
    times: Callable[[Table], dict[str, TimeMapping | None]],
) -> _Match | None:
    source = outer.args.get("from_")
    if source is None or outer.args.get("joins") or outer.args.get("laterals"):
        return None
    if source.this.args.get("pivots") or source.this.args.get("sample"):
        return None
    found = _hourly_source(outer, source.this)
    if found is None:
        return None
    sub, inner, read_as = found
    if any(value for key, value in inner.args.items() if key not in _INNER_PARTS and value):
        return None
    inner_from = inner.args.get("from_")
    inner_source = inner_from.this if inner_from is not None else None
    if not isinstance(inner_source, exp.Table):
        return None
    if inner_source.args.get("pivots") or inner_source.args.get("sample"):
        return None
    table = bound(inner_source)
    if table is None or not table.is_data or table.projection is not None:
        return None
    alias = inner_source.alias

    def role(node: exp.Expression) -> ColumnRole | None:
        if not isinstance(node, exp.Column) or node.table != alias:
            return None
        column = table.find_column(node.name)
        return None if column is None else column.role

    # Inner GROUP BY: keys and the project's timestamp, plain columns.
    group = inner.args.get("group")
    parts = {k for k, v in group.args.items() if v} if group is not None else set()
    if parts == {"expressions"}:
        grouped = group.expressions
    elif parts == {"all"}:  # GROUP BY ALL: every selected column (the SUM is checked below)
        grouped = [e.unalias() for e in inner.expressions if isinstance(e.unalias(), exp.Column)]
    else:
        return None
    timed = [g for g in grouped if role(g) is ColumnRole.TIME]
    key_columns = [g for g in grouped if role(g) in _KEY_ROLES]
    if len(timed) != 1 or len(timed) + len(key_columns) != len(grouped):
        return None
    # Inner SELECT: every key by a name, the time column or not, and one SUM(value).
    key_names: dict[str, str] = {}  # grouped column name → output name
    summed: str | None = None
    for item in inner.expressions:
        this, name = (item.this, item.alias) if isinstance(item, exp.Alias) else (item, None)
        if isinstance(this, exp.Column) and role(this) is not None:
            if role(this) is ColumnRole.TIME:
                continue
            if not any(this.name == k.name for k in key_columns):
                return None
            key_names.setdefault(this.name, name or this.name)
        elif (
            isinstance(this, exp.Sum)
            and role(this.this) is ColumnRole.VALUE
            and summed is None
            and name
        ):
            summed = name
        else:
            return None
    if summed is None or set(key_names) != {k.name for k in key_columns}:
        return None
    # Inner WHERE: per-row columns only (the same filter for every hour of a row), no query.
    where = inner.args.get("where")
    if where is not None:
        if any(isinstance(n, exp.Select | exp.Subquery) for n in where.walk()):
            return None
        if any(role(c) not in _FILTER_ROLES for c in where.find_all(exp.Column)):
            return None

    function = _outer_reads(outer, read_as, set(key_names.values()), summed)
    if function is None:
        return None
    mappings = times(table)
    annual = [d for d, t in mappings.items() if isinstance(t, AnnualSpread)]
    varying = [d for d, t in mappings.items() if isinstance(t, DatetimeShift | ZonedTime)]
    if not annual or not varying or len(annual) + len(varying) != len(mappings):
        return None
    spread = mappings[annual[0]]
    assert isinstance(spread, AnnualSpread)
    keys = [(key_names[k.name], k) for k in key_columns]
    return _Match(
        sub, inner, table, alias, keys, summed, function, annual, varying, spread.project.count
    )


def _hourly_source(
    outer: exp.Select, source: exp.Expression
) -> tuple[exp.Subquery | exp.CTE, exp.Select, str] | None:
    """(the node holding the hourly query, the query, the name the outer query reads it
    by): a subquery in FROM, or a CTE that only this FROM reads (its body is then the
    outer query's alone to rewrite)."""
    if isinstance(source, exp.Subquery):
        if isinstance(source.this, exp.Select) and source.alias:
            return source, source.this, source.alias
        return None
    if not isinstance(source, exp.Table) or source.args.get("db"):
        return None
    root = outer.root()
    named = [
        cte for with_ in root.find_all(exp.With) for cte in with_.expressions
        if cte.alias == source.name
    ]  # fmt: skip
    if len(named) != 1 or named[0].parent.args.get("recursive"):
        return None
    (cte,) = named
    reads = [t for t in root.find_all(exp.Table) if t.name == cte.alias and not t.args.get("db")]
    if reads != [source] or not isinstance(cte.this, exp.Select):
        return None
    return cte, cte.this, source.alias_or_name


def _outer_reads(
    outer: exp.Select, alias: str, keys: set[str], summed: str
) -> type[exp.Max] | type[exp.Min] | None:
    """MAX or MIN, where ``outer`` reads the hourly rows only through that function of the
    sum and through key columns: grouped by or selected (outside any aggregate), or filtered
    on in WHERE. None otherwise."""
    functions: set[type] = set()
    named = {e.alias for e in outer.expressions if isinstance(e, exp.Alias)}
    for key, value in outer.args.items():
        if key in ("from_", "with_") or not value:  # WITH: other queries, read by name
            continue
        for part in value if isinstance(value, list) else [value]:
            if not isinstance(part, exp.Expression):
                continue
            for node in part.walk():
                if isinstance(node, exp.Select | exp.Subquery | exp.Star):
                    return None
                if not isinstance(node, exp.Column):
                    continue
                if not node.table and node.name in named and key in ("order", "qualify"):
                    continue  # the outer query's own output, by its alias
                if node.table != alias:
                    return None
                if node.name in keys and key == "where":
                    continue
                enclosing = node.find_ancestor(exp.AggFunc, exp.Select)
                if node.name in keys and not isinstance(enclosing, exp.AggFunc):
                    continue
                parent = node.parent
                if (
                    node.name == summed
                    and key != "where"
                    and isinstance(parent, exp.Max | exp.Min)
                    and not (isinstance(parent.parent, exp.Window) and parent.arg_key == "this")
                ):
                    functions.add(type(parent))
                    continue
                return None
    if len(functions) != 1:
        return None
    return functions.pop()


def _column(name: str, table: str) -> exp.Column:
    return exp.column(name, table)


def _named(select: exp.Select, alias: str) -> exp.Subquery:
    return exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def _rewrite(match: _Match, new_binding: Callable[[exp.Table, Table], None]) -> str:
    dataset_id = next(c.name for c in match.table.columns if c.role is ColumnRole.DATASET_ID)
    alias = match.alias

    def only(inner: exp.Select, ids: list[str]) -> None:
        keep = exp.In(
            this=_column(dataset_id, alias), expressions=[exp.Literal.string(i) for i in ids]
        )
        where = inner.args.get("where")
        inner.set("where", exp.Where(this=exp.and_(exp.paren(where.this), keep)
                                     if where is not None else keep))  # fmt: skip

    # The annual datasets: summed per key, no time (summed.py lets them skip the spread).
    annual = match.inner.copy()
    only(annual, match.annual)
    annual_table = annual.args["from_"].this
    new_binding(annual_table, match.table)
    value = next(c.name for c in match.table.columns if c.role is ColumnRole.VALUE)
    annual.set(
        "expressions",
        [exp.alias_(column.copy(), name) for name, column in match.keys]
        + [exp.alias_(exp.Sum(this=_column(value, alias)), _TOTAL)],
    )
    keys = [column.copy() for _, column in match.keys]
    annual.set("group", exp.Group(expressions=keys) if keys else None)

    # The time-varying datasets: the user's hourly sums, then their MAX (or MIN) and count.
    varying = match.inner
    only(varying, match.varying)
    names = [name for name, _ in match.keys]
    peaks = exp.select(
        *[exp.alias_(_column(n, _HOURLY), n) for n in names],
        exp.alias_(match.function(this=_column(match.summed, _HOURLY)), _MAX),
        exp.alias_(exp.Count(this=_column(match.summed, _HOURLY)), _COUNT),
    ).from_(_named(varying, _HOURLY), copy=False)
    if names:
        peaks = peaks.group_by(*[_column(n, _HOURLY) for n in names], copy=False)

    peak = _column(_MAX, _VARYING)
    hours = _column(_COUNT, _VARYING)
    each = exp.Div(this=_column(_TOTAL, _ANNUAL), expression=exp.Literal.number(match.hours))
    either = exp.Greatest if match.function is exp.Max else exp.Least
    combined = exp.Case(
        ifs=[
            exp.If(this=exp.Is(this=each.copy(), expression=exp.Null()), true=peak.copy()),
            exp.If(this=exp.Is(this=peak.copy(), expression=exp.Null()), true=each.copy()),
            exp.If(
                this=exp.LT(this=hours, expression=exp.Literal.number(match.hours)),
                true=either(
                    this=exp.Add(this=peak.copy(), expression=each.copy()),
                    expressions=[each.copy()],
                    ignore_nulls=True,  # neither is NULL here: plain GREATEST/LEAST
                ),
            ),
        ],
        default=exp.Add(this=peak.copy(), expression=each.copy()),
    )
    selected = [
        exp.alias_(exp.Coalesce(this=_column(n, _VARYING), expressions=[_column(n, _ANNUAL)]), n)
        for n in names
    ] + [exp.alias_(combined, match.summed)]
    # Builders copy their arguments unless told not to: the user's inner query and the
    # annual copy keep their Table nodes, which the bindings name.
    combined_select = exp.select(*selected).from_(_named(peaks, _VARYING), copy=False)
    annual_sums = _named(annual, _ANNUAL)
    if names:  # a key on one side only is a key of that side's datasets alone
        on = exp.and_(
            *[exp.NullSafeEQ(this=_column(n, _VARYING), expression=_column(n, _ANNUAL))
              for n in names]
        )  # fmt: skip
        combined_select = combined_select.join(annual_sums, on=on, join_type="FULL", copy=False)
    else:  # two aggregates without GROUP BY: a row each
        combined_select = combined_select.join(annual_sums, join_type="CROSS", copy=False)
    # The subquery keeps its alias: the outer query reads it as before, a row per key.
    match.sub.set("this", combined_select)
    function = "maximum" if match.function is exp.Max else "minimum"
    per = f"as constants per {', '.join(names)}" if names else "as one constant"
    return (
        f"{match.table.qualified_name}: annual datasets {', '.join(match.annual)} added to the "
        f"{function} of the sums per timestamp of {', '.join(match.varying)} {per} (not "
        f"spread over {match.hours} timestamps)"
    )
