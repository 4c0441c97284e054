"""``col IN (SELECT …)`` on a record column: the subquery read first, its values pushed down.

    SELECT us_states, timestamp, SUM(value) FROM data
    WHERE us_states IN (SELECT us_states FROM data GROUP BY 1 ORDER BY SUM(value) DESC LIMIT 3)
    GROUP BY ALL

The outer query's filter is a set only known at run time, so the mapping plan cannot push it
below the mappings as it pushes a literal list: every state's hourly series is computed and
all but three thrown away after. An expert runs the small question first and restricts the
state mapping to its answer, so the scan reads three states' counties. This module does the
same: an uncorrelated subquery in a top-level ``AND`` of a WHERE (``IN`` or ``NOT … IN``),
compared with a dimension, supplemental, record-name or dataset_id column of a data table, is
run on its own (through the session, so it is planned like any query), and when it returns at
most ``MAX_VALUES`` strings it is replaced by their literal list; a longer answer (up to
``MAX_ROWS``) becomes a table the query reads instead of running the subquery again.
``x IN (v1, …, vn)`` is ``x IN (SELECT …)`` in SQL's three-valued logic, NULLs among the
values included; an empty answer is ``FALSE``.
The literal list then restricts the plan as a written one does (bind.collect_restrictions).

The subquery must read only catalog tables (no CTE of the enclosing statement, which its own
text would not have) and no column of the enclosing query. ``SET pushdown = off`` leaves it
as written; so does an outer table of fewer than ``READ_FIRST_ROWS`` stored rows, where a
second query costs more than it saves. A subquery inner-joined to the data table is read
first the same way (below).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pyarrow as pa
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.scope import Scope
from sqlglot.schema import Schema

from dsgrid_sql.catalog import ColumnRole, Table

from .bind import conjuncts
from .inputs import ArrowInput
from .joined import data_joins, inside
from .time_window import literal as instant_literal

# More values than this, and the literal list costs more to translate and push than the
# set is worth: the answer is a table the query reads, and no filter is pushed.
MAX_VALUES = 1000
# Reading first is a second engine query (~5 ms of translating and starting it on DuckDB),
# and what it saves is scanning the rows the list prunes: at 1 M stored rows a list of 3
# of 49 states saved 2 ms, at 10 M 79 ms (bench/results/2026-12-04-*). Below this many
# stored rows of the outer table the subquery stays in the query.
READ_FIRST_ROWS = 2_000_000
# An answer of more rows stays a subquery of the query (it is then run twice: read first
# and capped here, then in the query).
MAX_ROWS = 1_000_000
_ROLES = {
    ColumnRole.DIMENSION,
    ColumnRole.SUPPLEMENTAL,
    ColumnRole.RECORD_NAME,
    ColumnRole.DATASET_ID,
}


@dataclass(frozen=True)
class Candidate:
    node: exp.In
    table: Table  # the data table whose column the subquery's values restrict
    column: str


def candidates(
    scopes: Iterable[tuple[Scope, dict[str, Table]]], catalog_tables: set[int]
) -> list[Candidate]:
    """``col IN (subquery)`` conjuncts whose subquery can be read on its own.
    ``catalog_tables`` holds the ids of the statement's catalog Table nodes."""
    found: list[Candidate] = []
    for scope, tables in scopes:
        select = scope.expression
        if not isinstance(select, exp.Select) or select.args.get("where") is None:
            continue
        for predicate in conjuncts(select.args["where"].this):
            if isinstance(predicate, exp.Not):
                predicate = predicate.this  # NOT col IN (…): the list form pushes as well
                while isinstance(predicate, exp.Paren):
                    predicate = predicate.this
            if not isinstance(predicate, exp.In) or predicate.args.get("query") is None:
                continue
            column = predicate.this
            if not isinstance(column, exp.Column) or not column.table:
                continue
            table = tables.get(column.table)
            if table is None or not table.is_data:
                continue
            found_column = table.find_column(column.name)
            if found_column is None or found_column.role not in _ROLES:
                continue
            query = predicate.args["query"]
            inner = query.unnest() if isinstance(query, exp.Subquery) else query
            if len(inner.expressions) == 1 and _self_contained(query, scope, catalog_tables):
                found.append(Candidate(predicate, table, found_column.name))
    return found


def _self_contained(query: exp.Expression, scope: Scope, catalog_tables: set[int]) -> bool:
    """The subquery is one SELECT without a star, reads catalog tables only, and no column
    of an enclosing query: its own text runs alone."""
    inner = query.unnest() if isinstance(query, exp.Subquery) else query
    if not isinstance(inner, exp.Select) or any(
        isinstance(e, exp.Star) for e in inner.expressions
    ):
        return False
    if any(id(t) not in catalog_tables for t in inner.find_all(exp.Table)):
        return False  # a CTE of the enclosing statement, or a table function
    nested = [s for s in scope.traverse() if s is not scope and inside(s.expression, query)]
    defined = {alias for s in nested for alias in s.sources}
    return not any(c.table not in defined for s in nested for c in s.external_columns)


def _listable(kind: pa.DataType) -> bool:
    """An answer whose values can be written as string literals (record ids and names)."""
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind)


@dataclass(frozen=True)
class Answer:
    sentence: str  # for EXPLAIN
    table: ArrowInput | None  # the answer as a table the query reads, when too long a list
    # The parts the statement no longer holds (the subquery; a CTE nothing else reads):
    # their tables are read no more.
    gone: tuple[exp.Expression, ...]


def read_first(
    candidate: Candidate, dialect: str, read_query: Callable[[str], pa.Table]
) -> Answer | None:
    """Run the subquery and put its answer in its place: a literal list, or where it has
    more than MAX_VALUES values (or not strings) a table of them, so the subquery is not
    run a second time in the query. None: more than MAX_ROWS rows, the subquery stays."""
    query = candidate.node.args["query"]
    inner = query.unnest() if isinstance(query, exp.Subquery) else query
    answer = read_query(_capped(inner, dialect)).column(0)
    if len(answer) > MAX_ROWS:
        return None
    column = candidate.node.this
    head = f"{candidate.table.qualified_name}: {candidate.column} IN (SELECT …) read first"
    count = _count(len(answer), "value")
    if len(answer) > MAX_VALUES or not _listable(answer.type):
        table = ArrowInput.of("values", pa.table({_VALUE: answer}))
        read = exp.select(exp.column(_VALUE, quoted=True)).from_(exp.to_table(table.name))
        candidate.node.set("query", exp.Subquery(this=read))
        return Answer(f"{head} ({count}), read as a table", table, (query,))
    values = answer.to_pylist()
    if values:
        listed = [exp.Null() if v is None else exp.Literal.string(v) for v in values]
        candidate.node.replace(exp.In(this=column.copy(), expressions=listed))
    else:
        candidate.node.replace(exp.false())
    return Answer(f"{head} ({count}), pushed below the mappings as a list", None, (query,))


_VALUE = "v"


def _capped(query: exp.Expression, dialect: str) -> str:
    """The subquery's own text, asked for one row more than MAX_ROWS."""
    rows = exp.Subquery(this=query.copy(), alias=exp.TableAlias(this="__dsgrid_read"))
    return exp.select(exp.Star()).from_(rows).limit(MAX_ROWS + 1).sql(dialect=dialect)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'s' if n != 1 else ''}"


# -- a subquery joined to the data table ---------------------------------------------------
#
#     SELECT d.us_states, d.timestamp, SUM(d.value) FROM data d
#     JOIN (SELECT us_states FROM data GROUP BY 1 ORDER BY SUM(value) DESC LIMIT 3) t
#       ON d.us_states = t.us_states
#     GROUP BY ALL
#
# is how BI tools write a top-N filter. The join is no semi-join (t's keys need not be
# unique), but an inner join on d.col = t.k keeps only rows whose col is one of t's non-NULL
# k values: that list is a filter the join implies, and pushed below the mappings it prunes
# the scans as an IN list does. t itself is read first, whole, and the query reads its answer
# as a table, so it is not computed twice. Applied to an inner join of a derived table with
# the data table that is its SELECT's FROM; the answer's columns must be strings, numbers,
# booleans or instants (TIMESTAMPTZ, which both engines read back from Arrow's timestamp with
# a zone as the same instants; wall clocks, dates and intervals are not read first), at most
# MAX_ROWS rows; keys of at most MAX_VALUES values are pushed. A key on the data table's
# project timestamp (the top hours of a total, joined back for a breakdown) implies a list
# of instants, which time_window.py reads back to each dataset's stored instants.
# Typed before the subquery runs (_plain_columns); the answer's Arrow types are checked
# again (_PLAIN_TYPES, the same kinds), so a typing sqlglot got wrong changes nothing.


def _instants(kind: pa.DataType) -> bool:
    return pa.types.is_timestamp(kind) and kind.tz is not None


_PLAIN_TYPES = (
    pa.types.is_string,
    pa.types.is_large_string,
    pa.types.is_integer,
    pa.types.is_floating,
    pa.types.is_decimal,
    pa.types.is_boolean,
    pa.types.is_null,
    _instants,
)


@dataclass(frozen=True)
class JoinCandidate:
    join: exp.Join
    select: exp.Select
    table: Table  # the data table
    keys: tuple[tuple[exp.Column, str], ...]  # (data column node, the subquery's column)
    query: exp.Select  # what is read first: the derived table's, or the CTE's
    cte: exp.CTE | None = None  # the CTE the join names (WITH top AS (…) … JOIN top t)


def join_candidates(
    scopes: Iterable[tuple[Scope, dict[str, Table]]], catalog_tables: set[int], schema: Schema
) -> list[JoinCandidate]:
    """Inner joins of the data table with a subquery it can read first; ``schema`` types the
    subquery's columns before it runs (sqlglot's annotation over the bound tables)."""
    found: list[JoinCandidate] = []
    for joined in data_joins(scopes):
        join, derived = joined.join, joined.join.this
        cte = _cte_named(joined.select, derived)
        if cte is not None:
            query, alias = cte.this, derived.alias_or_name
        elif isinstance(derived, exp.Subquery) and derived.alias:
            query, alias = derived.this, derived.alias
        else:
            continue
        if join.side or join.kind.upper() not in ("", "INNER"):
            continue
        if any(join.args.get(k) for k in ("using", "method", "match_condition")):
            continue
        if not _self_contained(query, joined.scope, catalog_tables):
            continue
        if not _plain_columns(query, schema):
            continue  # read first, its answer could not be read back as a table
        keys = []
        for part in conjuncts(join.args["on"]) if join.args.get("on") else []:
            if not isinstance(part, exp.EQ):
                continue
            for left, right in ((part.this, part.expression), (part.expression, part.this)):
                if (
                    isinstance(left, exp.Column)
                    and isinstance(right, exp.Column)
                    and left.table == joined.source.alias
                    and right.table == alias
                ):
                    column = joined.data.find_column(left.name)
                    if column is not None and column.role in _ROLES | {ColumnRole.TIME}:
                        keys.append((left, right.name))
        if keys:
            found.append(JoinCandidate(join, joined.select, joined.data, tuple(keys), query, cte))
    return found


def _cte_named(select: exp.Select, node: exp.Expression) -> exp.CTE | None:
    """The CTE a joined table reference names: of the nearest WITH around ``select`` that
    defines its name (an unqualified name, as a CTE is referred to)."""
    if not isinstance(node, exp.Table) or node.args.get("db") or node.args.get("catalog"):
        return None
    scope_node: exp.Expression | None = select
    while scope_node is not None:
        with_ = scope_node.args.get("with_") if isinstance(scope_node, exp.Query) else None
        if isinstance(with_, exp.With):
            for cte in with_.expressions:
                if cte.alias == node.name:
                    return cte
        scope_node = scope_node.parent
    return None


def _removed_if_unused(cte: exp.CTE) -> bool:
    """Take a CTE out of its WITH when nothing of the statement reads it any more."""
    with_ = cte.parent
    query = with_.parent if with_ is not None else None
    if not isinstance(with_, exp.With) or query is None:
        return False
    named = [
        t for t in query.find_all(exp.Table)
        if t.name == cte.alias and not t.args.get("db") and not inside(t, cte)
    ]  # fmt: skip
    if named:
        return False
    cte.pop()
    if not with_.expressions:
        with_.pop()
    return True


_PLAIN = exp.DataType.TEXT_TYPES | exp.DataType.NUMERIC_TYPES
_PLAIN |= {exp.DataType.Type.BOOLEAN, exp.DataType.Type.TIMESTAMPTZ}


def _plain_columns(query: exp.Select, schema: Schema) -> bool:
    """Every column of the subquery is typed, and a string, number, boolean or instant."""
    try:
        typed = annotate_types(query.copy(), schema=schema)
    except Exception:
        return False
    return all(e.type is not None and e.type.this in _PLAIN for e in typed.expressions)


def read_join_first(
    candidate: JoinCandidate, dialect: str, read_query: Callable[[str], pa.Table]
) -> Answer | None:
    """Run the joined subquery, read its answer as a table, and add the filters its keys
    imply; None (nothing changed) where the answer is too long or of other types."""
    derived = candidate.join.this
    answer = read_query(_capped(candidate.query, dialect))
    names = [n.lower() for n in answer.column_names]
    if (
        answer.num_rows > MAX_ROWS
        or len(set(names)) != len(names)
        or not all(any(test(f.type) for test in _PLAIN_TYPES) for f in answer.schema)
    ):
        return None
    table = ArrowInput.of("rows", answer)
    alias = (
        derived.args["alias"].copy()
        if derived.args.get("alias")
        else exp.TableAlias(this=exp.to_identifier(derived.name))
    )
    candidate.join.set("this", exp.Table(this=exp.to_identifier(table.name), alias=alias))
    gone: tuple[exp.Expression, ...] = (derived,)
    if candidate.cte is not None and _removed_if_unused(candidate.cte):
        gone += (candidate.cte,)
    pushed = []
    for column, name in candidate.keys:
        if name.lower() not in names:
            continue
        values = answer.column(names.index(name.lower()))
        literals: list[exp.Expression]
        if _listable(values.type):
            kept = sorted({v for v in values.to_pylist() if v is not None})
            literals = [exp.Literal.string(v) for v in kept]
        elif _instants(values.type):
            micros = values.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_pylist()
            literals = [instant_literal(v) for v in sorted({v for v in micros if v is not None})]
        else:
            continue
        if len(literals) > MAX_VALUES:
            continue
        implied: exp.Expression = (
            exp.In(this=column.copy(), expressions=literals) if literals else exp.false()
        )
        candidate.select.where(implied, copy=False)
        pushed.append(f"{column.name} ({_count(len(literals), 'value')})")
    rows = _count(answer.num_rows, "row")
    what = f"{candidate.cte.alias} (a CTE)" if candidate.cte is not None else "(SELECT …)"
    sentence = (
        f"{candidate.table.qualified_name}: JOIN {what} {alias.name} read first ({rows})"
        + (f", its keys pushed below the mappings as lists: {', '.join(pushed)}" if pushed else "")
    )
    return Answer(sentence, table, gone)
