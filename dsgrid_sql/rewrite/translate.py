"""User SQL → engine SQL: the whole rewrite, as one function over small named steps."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from dsgrid_sql.catalog import Catalog, Column, ColumnRole, Table
from dsgrid_sql.catalog.project import ProjectDimension

from . import bind, forms, portable, subquery_values
from .allowlist import check_functions, check_statement_kind, repeatable
from .annual_peaks import add_annual_after_peaks
from .cache import (
    cached_plan,
    catalog_memo,
    plan_sql,
    remembered,
    remembered_translation,
    table_input,
    table_key,
)
from .collector import held_off
from .dataset_plan import ident
from .deadline import check_time
from .dimension_joins import apply_fold, find_folds
from .functions import engine_of_dialect
from .inputs import Input
from .joined import TABLE_NAME_PARTS
from .parse import active_limits, parse_query
from .table_plan import TablePlan, dataset_times, dimension_types_read, stored_rows
from .time_zones import convert_time_zones
from .versions import AsOf


@dataclass
class Translation:
    """A query ready for an engine: its SQL in the engine's dialect and the inputs to
    register, plus the mapping plans EXPLAIN reports."""

    sql: str
    target: str
    inputs: list[Input]
    # The user's statement with a placeholder table per planned virtual table.
    statement: exp.Expression
    plans: list[TablePlan] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    placeholders: dict[str, TablePlan] = field(default_factory=dict)
    # The same SQL on the same data has the same answer (no clock, no sampling): the
    # engines may serve it from their result cache (engine/results.py).
    repeatable: bool = True
    # What the rewrite changed in the statement itself, a sentence each (EXPLAIN).
    rewrites: list[str] = field(default_factory=list)
    # The text was completed with data read while translating (a PIVOT's values, a
    # subquery's answer): not remembered, since the files it read may change (as the
    # result cache notices, engine/results.py).
    read_data: bool = False

    @property
    def notes(self) -> list[str]:
        """Sentences about rows the query's tables leave out (unreadable datasets)."""
        return [note for plan in self.plans for note in plan.notes]

    def release_trees(self) -> None:
        """Unlink this translation's statement tree from its nodes' parents, for a
        translation dropped from the cache (cache.py).

        A syntax tree is a cycle per node (node -> child in ``args``, child -> node in
        ``parent``), so a dropped tree waits for the cyclic collector; and one kept in the
        cache for a while waits in its oldest generation, which Python collects only when
        it has grown by a quarter. Under a stable registry a server's evicted trees
        (distinct long texts: generated IN lists, a hostile client) piled up to 6 M objects
        between full collections of 2-3 s each, with RSS near 1 GiB (issue 20). Without
        their parent links, reference counting frees them at once. Safe while another
        thread still holds the translation: its SQL is generated already, and ``ast``
        copies the statement (a copy follows ``args``, never ``parent``, and links its own
        nodes). ``ast`` itself, once built (EXPLAIN), is left as it is: a caller may be
        generating SQL from it, which reads parents."""
        for node in self.statement.walk():
            node.parent = None

    @functools.cached_property
    def ast(self) -> exp.Expression:
        """The whole engine query as one tree (for EXPLAIN and `translate`): built only
        when asked, because copying the plans' trees is most of a translation's cost."""
        tree = self.statement.copy()
        for node in list(tree.find_all(exp.Table)):
            plan = self.placeholders.get(node.name)
            if plan is not None:
                node.replace(exp.Subquery(this=plan.tree(), alias=node.args.get("alias")))
        return tree


def translate(
    text: str,
    catalog: Catalog,
    *,
    dialect: str = "duckdb",
    target: str = "duckdb",
    default_schema: str | None = None,
    params: Sequence[Any] | dict[str, Any] | None = None,
    pushdown: bool = True,
    aggregate_early: bool = True,
    read_query: forms.ReadQuery | None = None,
    as_of: AsOf | None = None,
    read_subqueries: bool = True,
) -> Translation:
    """``read_query`` runs a query (text in ``dialect``) and returns its answer: how a PIVOT
    without an IN list learns its values (forms.py) and a subquery is read first
    (subquery_values.py). ``read_subqueries=False`` reads none first: for the result's
    schema, which their answers do not change (a PIVOT's values do, and are read)."""

    def build() -> Translation:
        with held_off(len(text)):  # collector.py: a long text's trees are many cycles
            statement = parse_query(text, dialect)
            return translate_statement(
                statement, text, catalog, dialect=dialect, target=target,
                default_schema=default_schema, params=params, pushdown=pushdown,
                aggregate_early=aggregate_early, read_query=read_query, as_of=as_of,
                read_subqueries=read_subqueries,
            )  # fmt: skip

    if params:
        return build()  # values are substituted into the tree: built each time
    # A dashboard or BI tool sends the same texts again and again; a translation depends
    # only on the text, the catalog (registry version) and these settings (including the
    # SQL limits the parse enforces), and is never modified once built.
    key = (
        "translation", text, dialect, target, default_schema, pushdown, aggregate_early,
        active_limits(), as_of, read_subqueries,
    )  # fmt: skip
    return remembered_translation(
        catalog, key, len(text), build, keep=lambda kept: not kept.read_data
    )


def translate_statement(
    statement: exp.Expression,
    text: str,
    catalog: Catalog,
    *,
    dialect: str,
    target: str,
    default_schema: str | None,
    params: Sequence[Any] | dict[str, Any] | None = None,
    pushdown: bool = True,
    aggregate_early: bool = True,
    read_query: forms.ReadQuery | None = None,
    as_of: AsOf | None = None,
    read_subqueries: bool = True,
) -> Translation:
    ctx = bind.BindContext(text, catalog, dialect, default_schema, as_of=as_of)
    statement = forms.pivot_statements(statement, dialect, ctx.position)
    check_statement_kind(statement)
    bind.substitute_parameters(statement, params)
    bind.resolve_tables(statement, ctx)
    check_time()  # between steps: a statement over its time stops here (deadline.py)
    forms.check_series(
        statement, active_limits().max_series_rows, ctx.position,
        engine_of_dialect(dialect), target,
    )  # fmt: skip
    forms.wrap_pivoted_tables(statement, ctx.bindings, bind.star_columns)
    bind.expand_stars(statement, ctx)
    by_node = {id(b.node): b.table for b in ctx.bindings}
    forms.expand_columns(
        statement, lambda node: by_node.get(id(node)), bind.star_columns, ctx.position
    )
    bind.canonicalize_columns(statement, ctx)
    check_time()
    # Columns are named by the user's text, before any call is adapted to the engine.
    bind.name_output_columns(statement, dialect)
    portable.adapt(statement, engine_of_dialect(dialect), target, ctx.position)
    called = check_functions(statement, ctx.position, dialect, target, text)
    same_every_run = repeatable(statement, called)
    check_time()
    # Every check has passed: now a PIVOT without an IN list may read its values.
    read_data = forms.fill_pivot_values(statement, dialect, read_query, ctx.position) > 0
    forms.name_pivot_columns(statement, dialect)
    check_time()
    statement = bind.qualify_columns(statement, ctx)
    check_time()
    _rebind_nodes(statement, ctx)
    check_time()
    bind.check_literals(statement, ctx, lambda b, c: _records(catalog, b.table, c))
    check_time()
    rewrites: list[str] = []
    if aggregate_early:
        # After the literal checks: a filter on g.id stays a filter on a records table's
        # column, where an id no record has is no error.
        rewrites = _fold_dimension_joins(statement, ctx)
        rewrites += _annual_after_peaks(statement, ctx)
    check_time()
    answers: list[subquery_values.Answer] = []
    if pushdown and read_query is not None and read_subqueries:
        answers = _subqueries_read_first(statement, ctx, read_query)
        read_data = read_data or bool(answers)
        rewrites += [a.sentence for a in answers]
    check_time()
    if convert_time_zones(statement, bind.bound_schema(ctx), dialect, target, ctx.position):
        ctx.forget_scopes()
    check_time()
    if pushdown:
        bind.collect_restrictions(statement, ctx, lambda b, c, m: _allowed(catalog, b.table, c, m))
    check_time()
    bind.mark_only_summed(statement, ctx)
    if aggregate_early:
        bind.push_conditional_sums(
            statement,
            ctx,
            lambda b, c, m: _allowed(catalog, b.table, c, m),
            lambda t, columns: dimension_types_read(t, columns),
            pushdown,
        )
    bind.used_columns(statement, ctx)
    check_time()

    inputs: list[Input] = [a.table for a in answers if a.table is not None]
    plans: list[TablePlan] = []
    placeholders: dict[str, TablePlan] = {}
    for binding in ctx.bindings:
        check_time()
        table = binding.table
        if table.is_data:
            plan = cached_plan(
                catalog, table, binding.used, binding.restrictions, target, binding.only_summed,
                aggregate_early, binding.conditional,
            )  # fmt: skip
            plans.append(plan)
            inputs += plan.inputs
            # A placeholder now, the plan's SQL spliced into the text below: the plan's
            # tree is shared between queries and never copied or generated again.
            name = f"__dsgrid_plan_{uuid.uuid4().hex}"
            placeholders[name] = plan
            replacement: exp.Expression = exp.Table(
                this=ident(name), alias=exp.TableAlias(this=exp.to_identifier(binding.alias))
            )
        else:
            arrow_input = table_input(catalog, table)
            inputs.append(arrow_input)
            replacement = exp.Table(
                this=ident(arrow_input.name),
                alias=exp.TableAlias(this=exp.to_identifier(binding.alias)),
            )
        # What the user attached to the table (a sample of its rows, a pivot) stays on the
        # relation that replaces it; only its name and alias are the rewrite's.
        for key, value in binding.node.args.items():
            if key not in TABLE_NAME_PARTS and value:
                replacement.set(key, value)
        binding.node.replace(replacement)
    check_time()
    # Not copied first (a copy is 10–30 µs per predicate of a long WHERE): the statement is
    # this translation's own, and the generator's rewrites for the target are ones `ast`
    # (EXPLAIN, `translate`) would apply again when it generates the same dialect.
    sql = statement.sql(dialect=target, identify=True, copy=False)
    for name, plan in placeholders.items():
        quoted = exp.to_identifier(name, quoted=True).sql(dialect=target)
        sql = sql.replace(quoted, f"({plan_sql(plan, target)})", 1)
    seen: dict[str, Input] = {}
    for item in inputs:
        seen.setdefault(item.name, item)
    return Translation(
        sql,
        target,
        list(seen.values()),
        statement,
        plans,
        [b.table for b in ctx.bindings],
        placeholders,
        same_every_run,
        rewrites,
        read_data,
    )


def _fold_dimension_joins(statement: exp.Expression, ctx: bind.BindContext) -> list[str]:
    """dimension_joins.py over the bound statement: the folded tables are read no more."""
    folds = find_folds(
        bind.tables_by_scope(statement, ctx),
        lambda table, column: _dimension_of(ctx.catalog, table, column),
    )
    if not folds:
        return []
    joined = [fold.join.this for fold in folds]
    for fold in folds:
        apply_fold(fold)
    ctx.drop_bindings_inside(joined)
    return [fold.sentence() for fold in folds]


def _dimension_of(catalog: Catalog, table: Table, column: Column) -> ProjectDimension | None:
    """The one project dimension whose record ids a data column holds."""
    if column.role not in (ColumnRole.DIMENSION, ColumnRole.SUPPLEMENTAL):
        return None
    dims = _dimensions_of(catalog, table, column)
    return dims[0] if len(dims) == 1 else None


def _subqueries_read_first(
    statement: exp.Expression, ctx: bind.BindContext, read_query: forms.ReadQuery
) -> list[subquery_values.Answer]:
    """subquery_values.py over the bound statement, over tables that store enough rows for
    it: IN subqueries first, then (in the scopes as they are after those) joined ones."""
    said: list[subquery_values.Answer] = []

    def large(table: Table) -> bool:
        check_time()
        return stored_rows(ctx.catalog, table) >= subquery_values.READ_FIRST_ROWS

    catalog_tables = {id(b.node) for b in ctx.bindings}
    scopes = bind.tables_by_scope(statement, ctx)
    for candidate in subquery_values.candidates(scopes, catalog_tables):
        if large(candidate.table):
            answer = subquery_values.read_first(candidate, ctx.dialect, read_query)
            if answer is not None:
                said.append(answer)
                ctx.drop_bindings_inside(answer.gone)
    schema = bind.bound_schema(ctx)
    scopes = bind.tables_by_scope(statement, ctx)
    for joined in subquery_values.join_candidates(scopes, catalog_tables, schema):
        if large(joined.table):
            answer = subquery_values.read_join_first(joined, ctx.dialect, read_query)
            if answer is not None:
                said.append(answer)
                ctx.drop_bindings_inside(answer.gone)
    return said


def _annual_after_peaks(statement: exp.Expression, ctx: bind.BindContext) -> list[str]:
    """annual_peaks.py over the bound statement: its annual part reads the table through a
    new reference, bound like the user's."""
    by_node = {id(b.node): b.table for b in ctx.bindings}

    def new_binding(node: exp.Table, table: Table) -> None:
        ctx.bindings.append(bind.Binding(table, node, node.alias))

    memo = catalog_memo(ctx.catalog)
    said = add_annual_after_peaks(
        bind.scope_queries(statement, ctx),  # the scopes the checks traversed: no new walk
        lambda node: by_node.get(id(node)),
        lambda table: dataset_times(ctx.catalog, table, memo),
        new_binding,
        lambda table, name: len(_records(ctx.catalog, table, table.get_column(name))[0]),
    )
    if said:
        ctx.forget_scopes()
    return said


def _rebind_nodes(statement: exp.Expression, ctx: bind.BindContext) -> None:
    """qualify() copies the tree: find each binding's Table node again by its alias."""
    tables = [t for t in statement.find_all(exp.Table) if t.alias]
    remaining = list(ctx.bindings)
    for node in tables:
        for binding in remaining:
            if node.alias == binding.alias and node.name.lower() == binding.table.name.lower():
                binding.node = node
                remaining.remove(binding)
                break


def _dimensions_of(catalog: Catalog, table: Table, column: Column) -> list[ProjectDimension]:
    assert table.project_id
    project = catalog.project(table.project_id, table.project_version)
    target = column
    if column.role is ColumnRole.RECORD_NAME and column.names_column:
        target = table.get_column(column.names_column)
    return [project.get_dimension(name) for name in target.dimension_names]


def _records(catalog: Catalog, table: Table, column: Column) -> tuple[set[str], dict[str, str]]:
    """(valid literals, the other spelling → its counterpart) for a dimension, name or
    dataset_id column: record names → ids for an id column, ids → names for a name column.
    Built once per registry version and column (a filter on 10,000 counties asks 10,000
    times), and only read."""
    return remembered(
        catalog,
        ("literal_records", table_key(table), column.name),
        lambda: _build_records(catalog, table, column),
    )


def _build_records(
    catalog: Catalog, table: Table, column: Column
) -> tuple[set[str], dict[str, str]]:
    if column.role is ColumnRole.DATASET_ID:
        return set(table.dataset_ids), {}
    records = [r for d in _dimensions_of(catalog, table, column) for r in d.records]
    if column.role is ColumnRole.RECORD_NAME:
        return {r.name for r in records}, {r.id: r.name for r in records}
    return {r.id for r in records}, {r.name: r.id for r in records}


def _allowed(catalog: Catalog, table: Table, column: Column, matches: Any) -> bind.Allowed | None:
    dims = _dimensions_of(catalog, table, column)
    if not dims or column.dimension_type is None:
        return None
    by_name = column.role is ColumnRole.RECORD_NAME
    target = table.get_column(column.names_column) if by_name and column.names_column else column
    kept = frozenset(r.id for d in dims for r in d.records if matches(r.name if by_name else r.id))
    if target.role is ColumnRole.DIMENSION:
        return bind.Allowed(column.dimension_type, kept)
    if target.role is ColumnRole.SUPPLEMENTAL:
        (dim,) = dims
        mapping = dim.base_mapping
        if mapping is None:
            return None
        base_ids = frozenset(r.from_id for r in mapping.records if r.to_id in kept)
        return bind.Allowed(mapping.from_dimension.type, base_ids, target.name, kept)
    return None
