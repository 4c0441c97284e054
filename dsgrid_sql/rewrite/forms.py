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

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

from dsgrid_sql.catalog import Column, Table
from dsgrid_sql.errors import SqlSyntaxError, UnknownColumnError, UnsupportedSqlError
from dsgrid_sql.suggest import did_you_mean

# How many columns a pivot may make (DuckDB's own pivot_limit is 100,000).
MAX_PIVOT_COLUMNS = 10_000
_SOURCE = "__dsgrid_pivot_source"
_DYNAMIC = "dsgrid_dynamic_pivot"
PivotValues = Callable[[str], list[Any]]


# -- PIVOT and UNPIVOT statements ----------------------------------------------------------------


def pivot_statements(statement: exp.Expression, dialect: str) -> exp.Expression:
    """DuckDB's ``PIVOT src ON col [IN (...)] USING agg [GROUP BY g]`` and ``UNPIVOT src ON
    cols INTO NAME n VALUE v`` — the whole statement, a CTE or a subquery — as SELECTs with
    PIVOT / UNPIVOT clauses. Returns the (possibly new) statement."""
    for node in list(statement.find_all(exp.Pivot)):
        if node.this is None:
            continue  # a clause already, attached to its table
        select = _unpivot_clause(node, dialect) if node.args.get("unpivot") else None
        if select is None and not node.args.get("unpivot"):
            select = _pivot_clause(node, dialect)
        if node is statement:
            statement = select
        else:
            node.replace(select)
    return statement


def _pivot_clause(node: exp.Pivot, dialect: str) -> exp.Expression:
    on = list(node.expressions)
    if len(on) != 1:
        raise UnsupportedSqlError(
            "PIVOT ... ON takes one column here; pivot on one column, or on an expression "
            "joining several in a subquery.",
        )
    (field,) = on
    column = field.this if isinstance(field, exp.In) else field
    if not isinstance(column, exp.Column):
        raise UnsupportedSqlError(
            "PIVOT ... ON takes a column; compute the expression in a subquery first."
        )
    using = list(node.args.get("using") or []) or [exp.Count(this=exp.Star())]
    group = node.args.get("group")
    source = node.this.copy()
    if group is not None:
        keys = list(group.expressions)
        if not all(isinstance(k, exp.Column) for k in keys):
            raise UnsupportedSqlError("PIVOT ... GROUP BY takes columns.")
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


def _unpivot_clause(node: exp.Pivot, dialect: str) -> exp.Expression:
    columns = list(node.expressions)
    if not columns or not all(isinstance(c, exp.Column) for c in columns):
        raise UnsupportedSqlError(
            "UNPIVOT ... ON takes the columns to unpivot by name (COLUMNS(...) and * are not "
            "supported there)."
        )
    into = node.args.get("into")
    name = into.this.name if into is not None and into.this is not None else "name"
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
    statement: exp.Expression, dialect: str, values: PivotValues | None, position_of
) -> None:  # type: ignore[no-untyped-def]
    """Write the distinct values of each IN-less pivot's column into its IN list."""
    for pivot in dynamic_pivots(statement):
        if values is None:
            raise UnsupportedSqlError(
                "PIVOT without an IN list needs its column's values, which this call cannot "
                "read; list them, as in ON metric IN ('a', 'b')."
            )
        source = pivot.parent
        field = pivot.args["fields"][0]
        query = _values_query(source, field.this, dialect)
        found = [v for v in values(query) if v is not None]
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
    """Give every pivot the output names its dialect gives it (sqlglot's qualify reads them),
    and name several aggregates explicitly, so both engines name the columns alike."""
    for pivot in statement.find_all(exp.Pivot):
        if pivot.args.get("unpivot") or pivot.meta.get(_DYNAMIC):
            continue
        aggregates = list(pivot.expressions)
        if len(aggregates) > 1:
            names = _parsed_columns(pivot, dialect)
            values = len(pivot.args["fields"][0].expressions)
            for i, aggregate in enumerate(aggregates):
                if isinstance(aggregate, exp.Alias) or not names or not values:
                    continue
                first = names[i]  # the first value's column for this aggregate
                value_name = first.split("_", 1)[0] if "_" in first else first
                suffix = first[len(value_name) + 1 :]
                aggregate.replace(exp.alias_(aggregate.copy(), suffix, quoted=True))
        columns = _parsed_columns(pivot, dialect)
        if columns is not None:
            pivot.set("columns", [exp.to_identifier(c, quoted=True) for c in columns])


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
