"""What the rewrites of joins share (dimension_joins.py, subquery_values.py, bind.py): the
joins of a SELECT whose FROM is a data table, a table reference's name parts, whether a
nested query reads an alias, and whether a node lies inside another."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from dsgrid_sql.catalog import Table


@dataclass(frozen=True)
class DataJoin:
    scope: Scope
    select: exp.Select
    source: exp.Table  # the data table's reference, the SELECT's FROM
    data: Table
    join: exp.Join
    tables: dict[str, Table]  # the scope's catalog tables by alias


def data_joins(scopes: Iterable[tuple[Scope, dict[str, Table]]]) -> Iterator[DataJoin]:
    """Every join of a SELECT whose FROM is a data table (with an alias, as bound tables
    have). The rewrites that read a join differently need the data on the preserved side:
    the FROM is."""
    for scope, tables in scopes:
        select = scope.expression
        if not isinstance(select, exp.Select) or not select.args.get("joins"):
            continue
        source = select.args["from_"].this if select.args.get("from_") else None
        if not isinstance(source, exp.Table) or not source.alias:
            continue
        data = tables.get(source.alias)
        if data is None or not data.is_data:
            continue
        for join in select.args["joins"]:
            yield DataJoin(scope, select, source, data, join, tables)


# The parts of a Table node that name it; any other (a sample, pivots) is the user's.
TABLE_NAME_PARTS = ("this", "db", "catalog", "alias")


def read_by_nested(scope: Scope, alias: str) -> bool:
    """A query nested in this scope reads the alias's rows (correlated, at any depth)."""
    return any(
        column.table == alias
        for nested in scope.traverse()
        if nested is not scope
        for column in nested.external_columns
    )


def inside(node: exp.Expression, ancestor: exp.Expression) -> bool:
    parent: exp.Expression | None = node
    while parent is not None:
        if parent is ancestor:
            return True
        parent = parent.parent
    return False
