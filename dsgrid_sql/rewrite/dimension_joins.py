"""A data table joined with its own project dimension's records, read as the data's columns.

BI tools model a project as a star and write the join themselves::

    SELECT g.time_zone, d.timestamp, SUM(d.value)
    FROM bench.data d JOIN bench_dimensions.geography g ON d.geography = g.id
    GROUP BY ALL

The dimension table has one row per record id, and every row of the data table carries a
record id of that dimension in its column (dsgrid maps every dataset row onto the project's
records), so each data row meets exactly one record: ``g.id`` is ``d.geography``, ``g.name``
is ``d.geography_name`` and ``g.time_zone`` is ``d.time_zone``, which the data table already
computes from the same records. Read that way, the join is gone, and the mapping plan can sum
the rows straight to the time zone (a 1:1 attribute folded into its key table) instead of
summing them per county and joining 3,000 × hours rows afterwards.

Folded only where that reading is exact:

- the data table is the SELECT's FROM, and the dimension table is joined to it by ``INNER``
  or ``LEFT`` join on exactly ``d.<column> = g.id``, with no sample, pivot or USING;
- the dimension table is the project's own dimension of that column (same project version),
  base or supplemental; a supplemental column is NULL where a base record maps to nothing,
  which an inner join drops: the fold keeps that as ``d.<column> IS NOT NULL``;
- the query reads no other column of the dimension table (``id``, ``name``, and for the base
  geography ``time_zone``), and no nested query reads it (correlated);
- every column the fold substitutes has the dimension table column's type.

Anything else keeps the join as written. The decision is here; translate.py applies it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from dsgrid_sql.catalog import Column, ColumnRole, DimensionType, Table, TableKind
from dsgrid_sql.catalog.project import ProjectDimension

from .joined import TABLE_NAME_PARTS, DataJoin, data_joins, inside, read_by_nested

# The records table's columns the data table also has (as its column, its _name twin and,
# for the base geography, time_zone).
_ID, _NAME, _TIME_ZONE = "id", "name", "time_zone"


@dataclass(frozen=True)
class Fold:
    """One join to drop: the dimension table's alias, its columns read as the data's."""

    join: exp.Join
    data_alias: exp.Identifier  # the data table's alias, as the statement spells it
    dimension_alias: str
    dimension_table: Table
    data_table: Table
    columns: dict[str, str]  # dimension table column → data table column
    not_null: str | None  # a data column the inner join required to be non-NULL

    def sentence(self) -> str:
        read = ", ".join(f"{k} as {v}" for k, v in sorted(self.columns.items()))
        return (
            f"{self.data_table.qualified_name}: the join with "
            f"{self.dimension_table.qualified_name} read as the data's own columns ({read}; "
            "one record per id)"
        )


def find_folds(
    scopes: Iterable[tuple[Scope, dict[str, Table]]],
    dimension: Callable[[Table, Column], ProjectDimension | None],
) -> list[Fold]:
    """The joins of data tables with their own dimension tables that read as the data's
    columns. ``scopes`` pairs each scope with the catalog table of each alias it reads;
    ``dimension`` is the project dimension whose record ids a data column holds."""
    folds: list[Fold] = []
    for found in data_joins(scopes):
        fold = _fold(found, dimension)
        if fold is not None:
            folds.append(fold)
    return folds


def _fold(
    found: DataJoin, dimension: Callable[[Table, Column], ProjectDimension | None]
) -> Fold | None:
    scope, join, source, data, tables = (
        found.scope, found.join, found.source, found.data, found.tables
    )  # fmt: skip
    node = join.this
    if not isinstance(node, exp.Table) or not node.alias:
        return None
    table = tables.get(node.alias)
    if table is None or table.kind is not TableKind.DIMENSION:
        return None
    if any(value for key, value in node.args.items() if key not in TABLE_NAME_PARTS):
        return None  # a sample or pivot of the records
    side, kind = join.side.upper(), join.kind.upper()
    inner = side == "" and kind in ("", "INNER")
    if not (inner or (side == "LEFT" and kind in ("", "OUTER"))):
        return None
    if any(join.args.get(key) for key in ("using", "method", "match_condition")):
        return None
    key = _key_column(join.args.get("on"), source.alias, node.alias)
    if key is None:
        return None
    column = data.find_column(key)
    if column is None:
        return None
    dim = dimension(data, column)
    if dim is None or (dim.dimension_id, dim.version) != table.source:
        return None
    if (table.project_id, table.project_version) != (data.project_id, data.project_version):
        return None
    columns = _same_columns(data, column, table, dim)
    read = [c for c in scope.columns if c.table == node.alias]
    if any(c.name not in columns for c in read):
        return None
    if read_by_nested(scope, node.alias):
        return None  # reading the records row by row, it sees them through the join
    not_null = column.name if inner and column.nullable else None
    alias = source.args["alias"].this
    return Fold(join, alias, node.alias, table, data, columns, not_null)


def _key_column(on: exp.Expression | None, data_alias: str, alias: str) -> str | None:
    """The data column of ``ON d.<column> = g.id`` (either way round), else None."""
    while isinstance(on, exp.Paren):
        on = on.this
    if not isinstance(on, exp.EQ):
        return None
    for left, right in ((on.this, on.expression), (on.expression, on.this)):
        if (
            isinstance(left, exp.Column)
            and isinstance(right, exp.Column)
            and left.table == data_alias
            and right.table == alias
            and right.name == _ID
        ):
            return left.name
    return None


def _same_columns(
    data: Table, column: Column, table: Table, dim: ProjectDimension
) -> dict[str, str]:
    """Dimension table columns the data table computes from the same record field."""
    pairs = {_ID: column}
    twin = next(
        (
            c
            for c in data.columns
            if c.role is ColumnRole.RECORD_NAME and c.names_column == column.name
        ),
        None,
    )
    if twin is not None:
        pairs[_NAME] = twin
    zone = next((c for c in data.columns if c.role is ColumnRole.TIME_ZONE), None)
    # The data's time_zone is its base geography record's field, with an empty one read as
    # none: the same as the table's where no record has an empty zone.
    if (
        zone is not None
        and column.role is ColumnRole.DIMENSION
        and column.dimension_type is DimensionType.GEOGRAPHY
        and all(r.fields.get(_TIME_ZONE) != "" for r in dim.records)
    ):
        pairs[_TIME_ZONE] = zone
    result = {}
    for name, data_column in pairs.items():
        own = table.find_column(name)
        if own is not None and own.name == name and own.type == data_column.type:
            result[name] = data_column.name
    return result


def apply_fold(fold: Fold) -> None:
    """Drop the join and read the dimension table's columns from the data table."""
    select = fold.join.parent
    assert isinstance(select, exp.Select)
    on = fold.join.args.get("on")
    for node in list(select.find_all(exp.Column)):
        if node.table != fold.dimension_alias or (on is not None and inside(node, on)):
            continue
        if node.parent_select is not select:
            continue  # a nested query's own table of the same alias (never a correlated read)
        node.replace(
            exp.column(
                exp.to_identifier(fold.columns[node.name], quoted=True),
                table=fold.data_alias.copy(),
            )
        )
    fold.join.pop()
    if fold.not_null is not None:
        column = exp.column(
            exp.to_identifier(fold.not_null, quoted=True),
            table=fold.data_alias.copy(),
        )
        select.where(exp.Not(this=exp.Is(this=column, expression=exp.Null())), copy=False)
