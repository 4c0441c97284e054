"""Conditional sums computed inside the early aggregate, before the mappings.

A query such as ``SUM(CASE WHEN scenario = 'high_electrification' THEN value ELSE -value
END)`` reads ``scenario`` only to choose each row's sign. Planned as is, scenario is a column
of the data table and so a group key of every dataset's pre-sum (dataset_plan); the expert
evaluates the CASE on the stored rows inside the pre-sum instead, one group key fewer.

Here the query side: a SUM over the rows of a data table (or ``SUM(...) FILTER (WHERE
...)``) is pushed when its argument is linear in value (summed.py has decided so for every
SUM of the query) and reads nothing but value and, in CASE/IF conditions, predicates that
pushed filters understand (``=``, ``<>``, ``IN``, ``LIKE``, ``BETWEEN`` of a base dimension
column or its ``_name`` twin with string literals, under AND/OR/NOT). Each such predicate
is evaluated at plan time into the project record ids it keeps (an *atom*); the SUM
becomes ``SUM(<alias>.__dsgrid_cs<i>)``, a column the table plan computes per dataset:

- where the dataset's mapping of the atom's column sends each stored record to one project
  record, the atom becomes ``<stored column> IN (<dataset ids>)`` and the CASE is summed in
  the pre-sum (value weighed as before), its result multiplied by the mapping, unit and
  supplemental fractions exactly as value is — every fraction is a factor of every branch,
  NULL branches included;
- otherwise (a record split between project records, too many ids for a literal list,
  zoned time read through geography) the column stays a group key and the CASE is evaluated
  on the mapped rows (today's plan, inside the dataset's branch).

A SUM is pushed only where that takes a group key away: a dimension type the query reads
elsewhere stays a key anyway. With no row matching a CASE without ELSE, the pre-sum's SUM is
NULL and so is the query's SUM of those NULLs, as over the literal plan's rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlglot import exp

from dsgrid_sql.catalog import Column, ColumnRole, DimensionType, Table

PREFIX = "__dsgrid_cs"
VALUE_SLOT = "__dsgrid_value"
ATOM_SLOT = "__dsgrid_atom"
# More ids than this in one predicate (a condition on counties): not pushed.
MAX_ATOM_IDS = 64


@dataclass(frozen=True)
class Atom:
    """A predicate of a CASE condition: its column's dimension type and the project record
    ids that pass it."""

    dim_type: DimensionType
    ids: frozenset[str]


@dataclass(frozen=True)
class ConditionalSum:
    """``SUM(template)`` with value and each atom as named slots; computed per dataset as the
    column ``name`` (a key for plan memos: equal sums share plans)."""

    name: str
    template_sql: str
    atoms: tuple[Atom, ...]
    shown: str  # the user's SUM, for EXPLAIN
    template: exp.Expression = field(compare=False, hash=False, repr=False)

    @property
    def dim_types(self) -> frozenset[DimensionType]:
        return frozenset(a.dim_type for a in self.atoms)

    def instantiate(
        self, atom: Callable[[int, Atom], exp.Expression], value: exp.Expression
    ) -> exp.Expression:
        """The argument with each atom slot replaced by ``atom(index, atom)`` and every
        value slot by a copy of ``value``."""
        tree = self.template.copy()
        for node in list(tree.find_all(exp.Column)):
            if node.name == VALUE_SLOT:
                node.replace(value.copy())
            elif node.name.startswith(ATOM_SLOT):
                index = int(node.name[len(ATOM_SLOT) :])
                node.replace(exp.paren(atom(index, self.atoms[index]), copy=False))
        return tree


Evaluate = Callable[[exp.Expression], tuple[Column, Atom] | None]


@dataclass
class _Candidate:
    node: exp.Expression  # the SUM, or the FILTER around it, that is replaced
    template: exp.Expression
    atoms: list[Atom]
    atom_columns: list[str]  # the data-table columns the atoms read


def push_conditional_sums(
    select: exp.Expression,
    alias: str,
    table: Table,
    evaluate: Evaluate,
    types_read: Callable[[list[Column]], frozenset[DimensionType]],
    guaranteed: list[tuple[exp.Expression, DimensionType]] = (),  # type: ignore[assignment]
) -> tuple[ConditionalSum, ...]:
    """Replace the conditional sums of ``select`` (which reads ``table`` as ``alias`` and
    only sums its rows) by sums of computed columns; return those columns' definitions.
    ``evaluate(predicate)``: the column and atom of a predicate pushed filters understand;
    ``types_read(columns)``: the dimension types the plan keeps for columns read.

    ``guaranteed``: WHERE conjuncts on base dimension columns that the plan's pushed filters
    make true of every row (``model_year IN ('2020', '2030')`` beside CASEs on model year).
    They do not count as reads of a type the pushed sums decide, and are dropped from the
    WHERE where nothing else reads that type, so the column leaves the plan."""
    if not isinstance(select, exp.Select):
        return ()
    found = (_candidate(s, alias, table, evaluate) for s in _sums(select))
    candidates = [c for c in found if c is not None]
    # Pushed only where that takes a group key away: drop the sums whose atoms' types the
    # query reads elsewhere (outside the sums still pushed) until none is dropped.
    read: frozenset[DimensionType] = frozenset()
    while candidates:
        decided = {a.dim_type for c in candidates for a in c.atoms}
        nodes = [c.node for c in candidates] + [n for n, t in guaranteed if t in decided]
        inside = {id(n) for node in nodes for n in node.walk()}
        outside = [
            table.get_column(node.name)
            for node in select.find_all(exp.Column)
            if node.table == alias and id(node) not in inside and table.find_column(node.name)
        ]
        read = types_read(outside)
        kept = [c for c in candidates if not {a.dim_type for a in c.atoms} <= read]
        if len(kept) == len(candidates):
            break
        candidates = kept
    decided = {a.dim_type for c in candidates for a in c.atoms}
    for node, dim_type in guaranteed:
        if dim_type in decided and dim_type not in read:
            node.replace(exp.true())  # the pushed filter keeps only rows it holds for
    sums: dict[tuple[str, tuple[Atom, ...]], ConditionalSum] = {}
    for candidate in candidates:
        template_sql = candidate.template.sql()
        key = (template_sql, tuple(candidate.atoms))
        found = sums.get(key)
        if found is None:
            found = sums[key] = ConditionalSum(
                f"{PREFIX}{len(sums)}",
                template_sql,
                tuple(candidate.atoms),
                _shown(candidate.node, alias),
                candidate.template,
            )
        candidate.node.replace(
            exp.Sum(
                this=exp.Column(
                    this=exp.to_identifier(found.name, quoted=True),
                    table=exp.to_identifier(alias),
                )
            )
        )
    return tuple(sums.values())


def _sums(select: exp.Select) -> list[exp.Sum]:
    """The aggregate SUMs of the select (not window functions, not DISTINCT)."""
    out = []
    for node in select.find_all(exp.Sum):
        parent = node.parent
        if isinstance(parent, exp.Window) and parent.this is node:
            continue
        if isinstance(node.this, exp.Distinct):
            continue
        out.append(node)
    return out


def _candidate(node: exp.Sum, alias: str, table: Table, evaluate: Evaluate) -> _Candidate | None:
    template = node.this.copy()
    replaced: exp.Expression = node
    parent = node.parent
    if isinstance(parent, exp.Filter) and parent.this is node:
        # SUM(x) FILTER (WHERE c) is SUM(CASE WHEN c THEN x END).
        where = parent.expression
        condition = where.this if isinstance(where, exp.Where) else where
        template = exp.Case(ifs=[exp.If(this=condition.copy(), true=template)])
        replaced = parent
    if isinstance(replaced.parent, exp.Select) and replaced.arg_key == "expressions":
        return None  # an unnamed output column of a subquery: its name is its text
    atoms: list[Atom] = []
    atom_columns: list[str] = []
    conditions: list[exp.Expression] = []
    for case in list(template.find_all(exp.Case, exp.If)):
        if isinstance(case, exp.Case):
            if case.this is not None:
                return None  # CASE x WHEN …: not decomposed (left to the plan as is)
            conditions += [i.this for i in case.args.get("ifs") or []]
        elif not isinstance(case.parent, exp.Case):  # IF(c, a, b), not a branch of a CASE
            conditions.append(case.this)
    for condition in conditions:
        for leaf in _leaves(condition):
            found = evaluate(leaf)
            if found is None:
                return None
            column, atom = found
            if len(atom.ids) > MAX_ATOM_IDS:
                return None
            slot = exp.column(f"{ATOM_SLOT}{len(atoms)}")
            atoms.append(atom)
            atom_columns.append(column.name)
            if leaf is template:
                template = slot
            else:
                leaf.replace(slot)
    if not atoms:
        return None
    for column in list(template.find_all(exp.Column)):
        if column.name.startswith(ATOM_SLOT) and not column.table:
            continue
        found = table.find_column(column.name) if column.table == alias else None
        if found is None or found.role is not ColumnRole.VALUE:
            return None  # another column in a branch: not a sum of weighed values
        column.replace(exp.column(VALUE_SLOT))
    return _Candidate(replaced, template, atoms, atom_columns)


def _leaves(condition: exp.Expression) -> list[exp.Expression]:
    """The predicates under AND, OR, NOT and parentheses."""
    out: list[exp.Expression] = []
    stack = [condition]
    while stack:
        node = stack.pop()
        if isinstance(node, exp.And | exp.Or):
            stack += [node.expression, node.this]
        elif isinstance(node, exp.Not | exp.Paren):
            stack.append(node.this)
        else:
            out.append(node)
    return out


def _shown(node: exp.Expression, alias: str) -> str:
    """The user's sum as SQL, columns unqualified."""
    tree = node.copy()
    for column in tree.find_all(exp.Column):
        if column.table == alias:
            column.set("table", None)
    return tree.sql()
