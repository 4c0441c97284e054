"""Query forms that DuckDB and Spark spell differently, or that must see the catalog's columns:
DuckDB's PIVOT / UNPIVOT statements become the SQL-standard PIVOT / UNPIVOT clauses both
engines run; a pivot over a catalog table sees the table as ``SELECT *`` does; ``COLUMNS(...)``
expands over the columns the catalog knows (never over what the mapping plan computes).

A PIVOT without an IN list (``PIVOT data ON metric USING SUM(value)``) pivots on the distinct
values its column has: they are read with a query of their own (through the whole rewrite and
its checks) once the pivot's query has passed every check, sorted, NULL left out, and written
into the IN list — so both engines make the same columns.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

from dsgrid_sql.catalog import Column, Table
from dsgrid_sql.errors import (
    EngineOnlyError,
    SeriesTooLargeError,
    SqlSyntaxError,
    UnknownColumnError,
    UnsupportedSqlError,
)
from dsgrid_sql.suggest import did_you_mean

# How many columns a pivot may make (DuckDB's own pivot_limit is 100,000).
MAX_PIVOT_COLUMNS = 10_000
_SOURCE = "__dsgrid_pivot_source"
_DYNAMIC = "dsgrid_dynamic_pivot"
# Runs a query (text in the statement's dialect) and returns its answer: a PIVOT's values
# here, a subquery's answer in subquery_values.py.
ReadQuery = Callable[[str], pa.Table]


# -- PIVOT and UNPIVOT statements ----------------------------------------------------------------


def pivot_statements(
    statement: exp.Expression,
    dialect: str,
    position_of=lambda _node: None,  # type: ignore[no-untyped-def]
) -> exp.Expression:
    """DuckDB's ``PIVOT src ON col [IN (...)] USING agg [GROUP BY g]`` and ``UNPIVOT src ON
    cols INTO NAME n VALUE v`` — the whole statement, a CTE or a subquery — as SELECTs with
    PIVOT / UNPIVOT clauses. Returns the (possibly new) statement."""
    for node in list(statement.find_all(exp.Pivot)):
        _check_in_lists(node, position_of)
        if node.this is None:
            continue  # a clause already, attached to its table
        select = _unpivot_clause(node, position_of) if node.args.get("unpivot") else None
        if select is None and not node.args.get("unpivot"):
            select = _pivot_clause(node, position_of)
        if node is statement:
            statement = select
        else:
            node.replace(select)
    return statement


def _check_in_lists(node: exp.Pivot, position_of) -> None:  # type: ignore[no-untyped-def]
    """A pivot's IN list holds values (or, for UNPIVOT, columns), never a query."""
    for field in [*(node.args.get("fields") or []), *node.expressions]:
        if not isinstance(field, exp.In):
            continue
        if field.args.get("query") is not None or any(not _is_value(v) for v in field.expressions):
            raise UnsupportedSqlError(
                "A PIVOT's IN list takes values (an UNPIVOT's, columns), not queries or "
                "expressions.",
                position=position_of(field.this),
            )


def _is_value(node: exp.Expression) -> bool:
    if isinstance(node, exp.PivotAlias):
        node = node.this
    if isinstance(node, exp.Literal | exp.Boolean | exp.Null | exp.Column | exp.Identifier):
        return True
    if isinstance(node, exp.Neg | exp.Paren):
        return _is_value(node.this)
    return isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal)


def _pivot_clause(node: exp.Pivot, position_of) -> exp.Expression:  # type: ignore[no-untyped-def]
    on = list(node.expressions)
    if len(on) != 1:
        raise UnsupportedSqlError(
            "PIVOT ... ON takes one column here; pivot on one column, or on an expression "
            "joining several in a subquery.",
            position=position_of(on[1] if len(on) > 1 else node),
        )
    (field,) = on
    column = field.this if isinstance(field, exp.In) else field
    if not isinstance(column, exp.Column):
        raise UnsupportedSqlError(
            "PIVOT ... ON takes a column; compute the expression in a subquery first.",
            position=position_of(column),
        )
    using = list(node.args.get("using") or []) or [exp.Count(this=exp.Star())]
    group = node.args.get("group")
    source = node.this.copy()
    if group is not None:
        keys = list(group.expressions)
        if not all(isinstance(k, exp.Column) for k in keys):
            raise UnsupportedSqlError(
                "PIVOT ... GROUP BY takes columns.", position=position_of(group)
            )
        # Only the grouped columns, the pivot column and what the aggregates read stay.
        wanted: list[exp.Expression] = []
        seen: set[str] = set()
        for item in [*keys, column, *(c for u in using for c in u.find_all(exp.Column))]:
            if item.name.lower() not in seen:
                seen.add(item.name.lower())
                wanted.append(exp.column(item.this.copy()))
        inner = exp.select(*wanted).from_(source)
        source = exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(_SOURCE)))
    values = field.expressions if isinstance(field, exp.In) else None
    in_list = exp.In(this=column.copy(), expressions=[v.copy() for v in values or []])
    pivot = exp.Pivot(expressions=[u.copy() for u in using], fields=[in_list], unpivot=False)
    if values is None:
        pivot.meta[_DYNAMIC] = True
    source.append("pivots", pivot)
    return exp.select(exp.Star()).from_(source)


def _unpivot_clause(node: exp.Pivot, position_of) -> exp.Expression:  # type: ignore[no-untyped-def]
    columns = list(node.expressions)
    if not columns or not all(isinstance(c, exp.Column) for c in columns):
        raise UnsupportedSqlError(
            "UNPIVOT ... ON takes the columns to unpivot by name (COLUMNS(...) and * are not "
            "supported there).",
            position=position_of(columns[0] if columns else node),
        )
    into = node.args.get("into")
    # ``INTO VALUE v`` without NAME parses with a flag (True), not a name, in ``this``.
    named = into.this if into is not None else None
    name = named.name if isinstance(named, exp.Expression) else "name"
    value_nodes = into.expressions if into is not None else []
    value = value_nodes[0].name if value_nodes else "value"
    pivot = exp.Pivot(
        expressions=[exp.to_identifier(value)],
        fields=[exp.In(this=exp.to_identifier(name), expressions=[c.copy() for c in columns])],
        unpivot=True,
    )
    source = node.this.copy()
    source.append("pivots", pivot)
    return exp.select(exp.Star()).from_(source)


# -- pivots over catalog tables ------------------------------------------------------------------


def wrap_pivoted_tables(
    statement: exp.Expression, bindings: list[Any], star_columns: Callable[[Table], list[Column]]
) -> None:
    """A PIVOT or UNPIVOT clause on a catalog table (``FROM data PIVOT (...)``) reads the
    table as ``SELECT *`` does — its core columns, plus any column the clause names — from a
    subquery, so that the rest of the table's columns are the pivot's row keys and nothing
    the mapping plan computes is."""
    for binding in bindings:
        node = binding.node
        pivots = node.args.get("pivots")
        if not pivots:
            continue
        table = binding.table
        names = [c.name for c in star_columns(table)]
        named = {n.lower() for n in names}
        # What the pivot names, and what the query around it reads through it.
        refs = [r for p in pivots for r in p.find_all(exp.Column)]
        around = node.parent_select
        if around is not None:
            refs += [
                r
                for r in around.find_all(exp.Column)
                if r.table in ("", binding.alias) and r.find_ancestor(exp.Pivot) is None
            ]
        for ref in refs:
            column = table.find_column(ref.name)
            if column is not None and column.name.lower() not in named:
                names.append(column.name)
                named.add(column.name.lower())
        inner_table = node.copy()
        inner_table.set("pivots", None)
        inner = exp.select(*(exp.column(n, quoted=True) for n in names)).from_(inner_table)
        wrapped = exp.Subquery(
            this=inner,
            alias=exp.TableAlias(this=exp.to_identifier(binding.alias)),
            pivots=[p.copy() for p in pivots],
        )
        node.replace(wrapped)
        binding.node = inner_table


# -- PIVOT without an IN list ------------------------------------------------------------------


def dynamic_pivots(statement: exp.Expression) -> list[exp.Pivot]:
    return [p for p in statement.find_all(exp.Pivot) if p.meta.get(_DYNAMIC)]


def fill_pivot_values(
    statement: exp.Expression, dialect: str, values: ReadQuery | None, position_of
) -> int:  # type: ignore[no-untyped-def]
    """Write the distinct values of each IN-less pivot's column into its IN list; how many
    pivots read their values."""
    pivots = dynamic_pivots(statement)
    for pivot in pivots:
        if values is None:
            raise UnsupportedSqlError(
                "PIVOT without an IN list needs its column's values, which this call cannot "
                "read; list them, as in ON metric IN ('a', 'b')."
            )
        source = pivot.parent
        field = pivot.args["fields"][0]
        query = _values_query(source, field.this, dialect)
        found = [v for v in values(query).column(0).to_pylist() if v is not None]
        if len(found) > MAX_PIVOT_COLUMNS:
            raise UnsupportedSqlError(
                f"PIVOT would make {len(found):,} columns, over the limit of "
                f"{MAX_PIVOT_COLUMNS:,}; list the values with ON ... IN (...)."
            )
        if not found:
            raise UnsupportedSqlError(
                f"PIVOT has no values to pivot on: column '{field.this.name}' is empty or NULL."
            )
        field.set("expressions", [_literal(v) for v in sorted(found, key=_sort_key)])
        pivot.meta.pop(_DYNAMIC, None)
    return len(pivots)


def _values_query(source: exp.Expression, column: exp.Expression, dialect: str) -> str:
    """``SELECT DISTINCT col FROM <source>``, with the CTEs the source can see."""
    relation = source.copy()
    relation.set("pivots", None)
    name = column.name
    select = (
        exp.select(exp.column(name, quoted=True).as_("v", quoted=True))
        .distinct()
        .from_(relation)
        .limit(MAX_PIVOT_COLUMNS + 1)
    )
    # The CTEs in scope: those of every enclosing WITH, but in a CTE's own body only the
    # ones before it.
    ctes: list[exp.Expression] = []
    child, parent = source, source.parent
    while parent is not None:
        if isinstance(parent, exp.With):
            before = []
            for cte in parent.expressions:
                if cte is child:
                    break
                before.append(cte.copy())
            ctes = before + ctes
        else:
            with_ = parent.args.get("with_") or parent.args.get("with")
            if isinstance(with_, exp.With) and with_ is not child:
                ctes = [c.copy() for c in with_.expressions] + ctes
        child, parent = parent, parent.parent
    if ctes:
        select.set("with_", exp.With(expressions=ctes))
    return select.sql(dialect=dialect)


def _sort_key(value: Any) -> tuple[str, Any]:
    return (type(value).__name__, value)


def _literal(value: Any) -> exp.Expression:
    import datetime

    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if isinstance(value, datetime.datetime):
        kind = "TIMESTAMPTZ" if value.tzinfo else "TIMESTAMP"
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), kind)
    if isinstance(value, datetime.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    return exp.Literal.string(str(value))


def name_pivot_columns(statement: exp.Expression, dialect: str) -> None:
    """Name every pivot's output columns explicitly, as the query's dialect names them, so
    both engines name them alike (Spark ignores a lone aggregate's alias, DuckDB appends
    it), and give sqlglot's qualify the names."""
    for pivot in statement.find_all(exp.Pivot):
        if pivot.args.get("unpivot") or pivot.meta.get(_DYNAMIC):
            continue
        names = _parsed_columns(pivot, dialect)
        field = pivot.args["fields"][0]
        values = list(field.expressions)
        aggregates = list(pivot.expressions)
        if not names or not values or len(names) != len(values) * len(aggregates):
            continue
        if len(aggregates) == 1:
            # One aggregate: each value's column by an alias of its own.
            for value, name in zip(values, names, strict=True):
                bare = value.this if isinstance(value, exp.PivotAlias) else value
                value.replace(exp.PivotAlias(this=bare.copy(), alias=exp.to_identifier(name)))
            if isinstance(aggregates[0], exp.Alias):
                aggregates[0].replace(aggregates[0].this.copy())
        else:
            # Several: "<value>_<aggregate>", the aggregate named as the dialect names it.
            for i, aggregate in enumerate(aggregates):
                if isinstance(aggregate, exp.Alias):
                    continue
                first = names[i]  # the first value's column for this aggregate
                prefix = _value_name(values[0], names, len(aggregates))
                suffix = first[len(prefix) + 1 :] if first.startswith(prefix + "_") else first
                aggregate.replace(exp.alias_(aggregate.copy(), suffix, quoted=True))
        columns = _parsed_columns(pivot, dialect)
        if columns is not None:
            pivot.set("columns", [exp.to_identifier(c, quoted=True) for c in columns])


def _value_name(value: exp.Expression, names: list[str], aggregates: int) -> str:
    """The part of the first value's columns that names the value (the common prefix)."""
    firsts = names[:aggregates]
    prefix = firsts[0]
    for name in firsts[1:]:
        while not name.startswith(prefix):
            prefix = prefix[:-1]
    return prefix.rstrip("_")


def _parsed_columns(pivot: exp.Pivot, dialect: str) -> list[str] | None:
    """The output columns the dialect's parser names for this pivot clause."""
    clause = pivot.copy()
    clause.set("columns", None)
    text = f"SELECT * FROM t {clause.sql(dialect=dialect)}"
    try:
        parsed = sqlglot.parse_one(text, read=dialect)
    except sqlglot.errors.ParseError:
        return None
    found = parsed.find(exp.Pivot)
    columns = found.args.get("columns") if found is not None else None
    return [c.name for c in columns] if columns else None


# -- COLUMNS(...) --------------------------------------------------------------------------------


def expand_columns(
    statement: exp.Expression,
    catalog_table: Callable[[exp.Expression], Table | None],
    star_columns: Callable[[Table], list[Column]],
    position_of,  # type: ignore[no-untyped-def]
) -> None:
    """DuckDB's ``COLUMNS('regex')``, ``COLUMNS(*)`` and ``COLUMNS(['a', 'b'])`` in a select
    list or WHERE, expanded over the columns of the query's sources: a catalog table's
    columns as the catalog lists them (a regular expression may name supplemental columns,
    as naming them would; ``*`` means what ``SELECT *`` means), a subquery's or CTE's its
    output columns."""
    if not any(isinstance(n, exp.Columns) for n in statement.walk()):
        return
    for scope in traverse_scope(statement):
        select = scope.expression
        if not isinstance(select, exp.Select):
            continue
        if not any(isinstance(n, exp.Columns) for n in select.walk()):
            continue
        candidates = _scope_columns(scope, catalog_table, star_columns)
        projections: list[exp.Expression] = []
        for projection in select.expressions:
            projections += _expand(projection, candidates, position_of, True)
        select.set("expressions", projections)
        for clause in ("where", "having", "qualify"):
            node = select.args.get(clause)
            if node is not None and any(isinstance(n, exp.Columns) for n in node.walk()):
                copies = _expand(node.this, candidates, position_of, False)
                node.set("this", exp.and_(*copies) if len(copies) > 1 else copies[0])
        for node in select.walk():
            if isinstance(node, exp.Columns):
                raise UnsupportedSqlError(
                    "COLUMNS(...) is expanded in the select list, WHERE, HAVING and QUALIFY only.",
                    position=position_of(node),
                )


# (source alias, column name, catalog column or None, in what SELECT * means)
_Candidate = tuple[str, str, bool]


def _scope_columns(
    scope: Scope,
    catalog_table: Callable[[exp.Expression], Table | None],
    star_columns: Callable[[Table], list[Column]],
) -> list[_Candidate]:
    out: list[_Candidate] = []
    for alias, (node, source) in scope.selected_sources.items():
        table = catalog_table(node) if isinstance(node, exp.Table) else None
        if table is not None:
            star = {c.name for c in star_columns(table)}
            out += [(alias, c.name, c.name in star) for c in table.columns]
        elif isinstance(source, Scope):
            out += [(alias, n, True) for n in source.expression.named_selects]
    return out


def _expand(
    expression: exp.Expression, candidates: list[_Candidate], position_of, in_select: bool
) -> list[exp.Expression]:  # type: ignore[no-untyped-def]
    found = [n for n in expression.walk() if isinstance(n, exp.Columns)]
    if not found:
        return [expression]
    lists = [_matches(node, candidates, position_of) for node in found]
    if len({len(m) for m in lists}) != 1:
        raise UnsupportedSqlError(
            "The COLUMNS(...) of one expression match different numbers of columns.",
            position=position_of(found[0]),
        )
    aliased = isinstance(expression, exp.Alias)
    if aliased and len(lists[0]) > 1:
        raise UnsupportedSqlError(
            "An alias of COLUMNS(...) would name several columns alike; leave it out.",
            position=position_of(found[0]),
        )
    names = [name for _, name, _ in candidates]
    out = []
    for i in range(len(lists[0])):
        copy = expression.copy()
        copies = [n for n in copy.walk() if isinstance(n, exp.Columns)]
        for node, matches in zip(copies, lists, strict=True):
            alias, name = matches[i]
            table = exp.to_identifier(alias) if names.count(name) > 1 else None
            column = exp.column(exp.to_identifier(name), table=table)
            if node is copy:
                copy = column
            else:
                node.replace(column)
        if in_select and not aliased and not isinstance(copy, exp.Column):
            copy = exp.alias_(copy, copy.sql(), quoted=True)
        out.append(copy)
    return out


def _matches(
    node: exp.Columns, candidates: list[_Candidate], position_of
) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    argument = node.this
    if isinstance(argument, exp.Star):
        excluded = {e.name.lower() for e in argument.args.get("except_") or []}
        return [(a, n) for a, n, star in candidates if star and n.lower() not in excluded]
    if isinstance(argument, exp.Literal) and argument.is_string:
        try:
            pattern = re.compile(argument.this)
        except re.error:
            raise SqlSyntaxError(
                f"COLUMNS('{argument.this}') is not a valid regular expression.",
                position=position_of(node),
            ) from None
        matched = [(a, n) for a, n, _ in candidates if pattern.search(n)]
    elif isinstance(argument, exp.Array) and all(
        isinstance(e, exp.Literal) and e.is_string for e in argument.expressions
    ):
        wanted = [e.this for e in argument.expressions]
        matched = []
        for name in wanted:
            hit = [(a, n) for a, n, _ in candidates if n == name or n.lower() == name.lower()]
            if not hit:
                raise UnknownColumnError(
                    f"Unknown column '{name}' in COLUMNS(...).",
                    suggestion=did_you_mean(name, [n for _, n, _ in candidates]),
                    position=position_of(node),
                )
            matched.append(hit[0])
    else:
        raise UnsupportedSqlError(
            "COLUMNS(...) takes a regular expression, a list of names or *; a lambda is not "
            "supported.",
            position=position_of(node),
        )
    if not matched:
        raise UnknownColumnError(
            f"COLUMNS({argument.sql()}) matches no column.", position=position_of(node)
        )
    return matched


# -- generate_series and range -----------------------------------------------------------------


def series_table(node: exp.Table, dialect: str) -> exp.Expression | None:
    """``FROM generate_series(a, b[, step])`` / ``FROM range(...)`` (DuckDB, column named
    like the function) and Spark's ``FROM range([start,] end[, step])`` (column ``id``) as a
    subquery unnesting the list, which both engines run: a bounded table of numbers, dates
    or timestamps. None for any other table function."""
    inner = node.this
    if isinstance(inner, exp.GenerateSeries):
        series = inner
        column = "range" if inner.args.get("is_end_exclusive") else "generate_series"
    elif isinstance(inner, exp.Anonymous) and inner.name.lower() == "range":
        arguments = list(inner.expressions)
        if not 1 <= len(arguments) <= 4:
            raise SqlSyntaxError("range() takes one to four arguments: [start,] end[, step].")
        if len(arguments) == 1:
            arguments.insert(0, exp.Literal.number(0))
        series = exp.GenerateSeries(
            start=arguments[0],
            end=arguments[1],
            step=arguments[2] if len(arguments) > 2 else None,
            is_end_exclusive=True,
        )
        column = "id"
    else:
        return None
    alias = node.args.get("alias")
    names = alias.columns if alias is not None else []
    if names:
        column = names[0].name
    select = exp.select(
        exp.Alias(this=exp.Unnest(expressions=[series]), alias=exp.to_identifier(column))
    )
    table_alias = exp.TableAlias(
        this=exp.to_identifier(alias.name if alias is not None and alias.name else column)
    )
    return exp.Subquery(this=select, alias=table_alias)


def check_series(
    statement: exp.Expression,
    limit: int,
    position_of,  # type: ignore[no-untyped-def]
    source: str | None = None,
    target: str | None = None,
) -> None:
    """Refuse a generate_series / range / sequence whose size is not known before it runs
    (bounds that are no constants), or over ``limit`` rows."""
    for node in list(statement.find_all(exp.GenerateSeries)):
        size = series_size(node, position_of)
        if limit and size > limit:
            raise SeriesTooLargeError(
                f"generate_series would make {size:,} rows, over the limit of {limit:,}.",
                position=position_of(node),
                hint="Narrow the range or take a larger step (the limit is the "
                "max_series_rows setting, --max-series-rows for serve).",
            )
        if source is not None and target is not None and source != target:
            _check_month_steps(node, source, target, position_of)
        _portable_series(node, size)


def _check_month_steps(node: exp.GenerateSeries, source: str, target: str, position_of) -> None:  # type: ignore[no-untyped-def]
    """DuckDB adds a month step to the previous value (Jan 30, Feb 29, Mar 29), Spark to the
    start (Jan 30, Feb 29, Mar 30): they agree unless the series starts after the 28th."""
    import datetime

    from .portable import interval_width

    step = node.args.get("step")
    width = interval_width(step) if step is not None else None
    low = _constant(node.args.get("start"))
    if width and width[0] and isinstance(low, datetime.date) and low.day > 28:
        from .functions import ENGINE_TITLES

        raise EngineOnlyError(
            f"A series in month steps from day {low.day} is {ENGINE_TITLES[source]}-only: "
            f"{ENGINE_TITLES[target]} steps from the start, not from the previous value.",
            position=position_of(node),
        )


def _portable_series(node: exp.GenerateSeries, size: int) -> None:
    """Write the series the way both engines agree on: an explicit step, an inclusive end
    (sqlglot's translation of DuckDB's exclusive range to Spark's sequence is wrong for
    steps other than 1 and for intervals), integers as BIGINT (Spark's sequence of int
    literals is INT), dates as timestamps (DuckDB's series of dates are), and no empty
    series in the wrong direction (Spark's sequence refuses one)."""
    start, end, step = (node.args.get(k) for k in ("start", "end", "step"))
    low = _constant(start)
    if isinstance(low, int | float):
        by = _constant(step) if step is not None else 1
        if size == 0:
            # Empty on both engines: one value, filtered out.
            one = exp.GenerateSeries(
                start=exp.cast(exp.Literal.number(0), "BIGINT"),
                end=exp.cast(exp.Literal.number(0), "BIGINT"),
                step=exp.cast(exp.Literal.number(1), "BIGINT"),
            )
            never = exp.Lambda(this=exp.false(), expressions=[exp.to_identifier("x")])
            node.replace(exp.ArrayFilter(this=one, expression=never))
            return
        last = low + (size - 1) * by
        kind = "BIGINT" if all(isinstance(v, int) for v in (low, by, last)) else "DOUBLE"
        node.set("start", exp.cast(start, kind))
        node.set("end", exp.cast(_number_literal(last), kind))
        node.set("step", exp.cast(_number_literal(by), kind))
        node.set("is_end_exclusive", None)
        return
    high = _constant(end)
    aware = any(getattr(v, "tzinfo", None) is not None for v in (low, high))
    aware = aware or any(
        isinstance(b, exp.Cast) and b.to.is_type(exp.DataType.Type.TIMESTAMPTZ)
        for b in (start, end)
    )
    kind = exp.DataType(
        this=exp.DataType.Type.TIMESTAMPTZ if aware else exp.DataType.Type.TIMESTAMPNTZ
    )
    node.set("start", _as_timestamp(start, kind))
    end_node = _as_timestamp(end, kind)
    if node.args.get("is_end_exclusive"):
        one = exp.Interval(this=exp.Literal.string("1"), unit=exp.var("MICROSECOND"))
        end_node = exp.Sub(this=end_node, expression=one)
    node.set("end", end_node)
    node.set("is_end_exclusive", None)


def _as_timestamp(node: exp.Expression, kind: exp.DataType) -> exp.Expression:
    if isinstance(node, exp.Cast) and node.to.this == kind.this:
        return node
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal):
        return exp.Cast(this=node.this, to=kind.copy())
    return exp.Cast(this=node, to=kind.copy())


def _number_literal(value: int | float) -> exp.Expression:
    literal = exp.Literal.number(abs(value))
    return exp.Neg(this=literal) if value < 0 else literal


def series_size(node: exp.GenerateSeries, position_of=None) -> int:  # type: ignore[no-untyped-def]
    """How many values ``node`` makes, from its constant bounds and step."""
    from .portable import interval_width

    start, end, step = (node.args.get(k) for k in ("start", "end", "step"))
    exclusive = bool(node.args.get("is_end_exclusive"))
    low, high = _constant(start), _constant(end)
    if low is None or high is None:
        raise UnsupportedSqlError(
            "generate_series and range need constant bounds (numbers, or dates and "
            "timestamps with a constant INTERVAL step), so their size is known before they "
            "run.",
            position=position_of(node) if position_of else None,
        )
    where = position_of(node) if position_of else None
    if isinstance(low, int | float) and isinstance(high, int | float):
        by = _constant(step) if step is not None else 1
        if not isinstance(by, int | float):
            raise UnsupportedSqlError(
                "generate_series needs a constant numeric step.", position=where
            )
        return _count(float(high - low), float(by), exclusive, where)
    import datetime

    if isinstance(low, datetime.date) and isinstance(high, datetime.date):
        width = interval_width(step) if step is not None else None
        if width is None:
            raise UnsupportedSqlError(
                "generate_series of dates or timestamps needs a constant INTERVAL step.",
                position=where,
            )
        months, micros = width
        # A month is at least 28 days: an upper bound on the count.
        shortest = months * 28 * 86_400_000_000 + micros
        span = _micros(high) - _micros(low)
        return _count(float(span), float(shortest), exclusive, where)
    raise UnsupportedSqlError(
        "generate_series bounds must be both numbers, or both dates.", position=where
    )


def _count(span: float, step: float, exclusive: bool, where=None) -> int:  # type: ignore[no-untyped-def]
    if step == 0:
        raise UnsupportedSqlError("generate_series with a step of 0 never ends.", position=where)
    if span * step < 0:
        return 0
    steps = span / step
    whole = int(steps)
    return whole + (0 if exclusive and whole == steps else 1)


def _micros(value: Any) -> int:
    import datetime

    if not isinstance(value, datetime.datetime):
        value = datetime.datetime(value.year, value.month, value.day)
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    delta = value - datetime.datetime(1970, 1, 1)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _number(node: exp.Expression | None) -> int | float | None:
    value = _constant(node)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _constant(node: exp.Expression | None) -> Any:
    """The value of a constant expression: numbers with + - * / ^, dates and timestamps
    written as typed literals. None for anything else."""
    import datetime

    if node is None:
        return None
    if isinstance(node, exp.Paren):
        return _constant(node.this)
    if isinstance(node, exp.Literal) and not node.is_string:
        text = node.this
        try:
            return int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                return None
            return int(number) if number.is_integer() and abs(number) < 2**63 else number
    if isinstance(node, exp.Neg):
        value = _constant(node.this)
        return -value if isinstance(value, int | float) else None
    if isinstance(node, exp.Cast):
        kind = node.to.this
        inner = node.this
        if kind in exp.DataType.NUMERIC_TYPES:
            return _constant(inner)
        if isinstance(inner, exp.Literal) and inner.is_string:
            text = inner.this.strip()
            try:
                if kind == exp.DataType.Type.DATE:
                    return datetime.date.fromisoformat(text)
                if kind in exp.DataType.TEMPORAL_TYPES:
                    return datetime.datetime.fromisoformat(text.replace(" UTC", "+00:00"))
            except ValueError:
                return None
        return None
    operators = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.Pow: "^"}
    for kind, symbol in operators.items():
        if isinstance(node, kind):
            left = _constant(node.this)
            right = _constant(node.expression)
            if not isinstance(left, int | float) or not isinstance(right, int | float):
                return None
            try:
                if symbol == "+":
                    return left + right
                if symbol == "-":
                    return left - right
                if symbol == "*":
                    return left * right
                if symbol == "/":
                    return left / right
                return left**right if abs(right) < 1000 else float("inf")
            except (ZeroDivisionError, OverflowError):
                return None
    return None
