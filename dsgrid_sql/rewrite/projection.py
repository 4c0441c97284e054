"""A projection: an initial-value dataset grown by a growth-rate dataset, both already
mapped onto the project (dsgrid's ``Project._build_projection_dataset`` and
``dataset/growth_rates.py``).

``exponential_growth``: the initial values of the base year (its rows only, when the data has
several model years), for every model year of the growth rates, times
``(1 + r) ^ (model_year − base_year)`` — the rate stored for that year applied over the whole
gap, as dsgrid applies it — joined on every other dimension (inner: combinations missing on
either side are dropped). The base year defaults to the lowest model year of the initial
values. ``annual_multiplier``: value × r of the same model year, as dsgrid documents it
(its 0.4 code for this method fails to run).
"""

from __future__ import annotations

from sqlglot import exp

from dsgrid_sql.catalog import DimensionType, ProjectDataset
from dsgrid_sql.catalog.models import DIMENSION_COLUMN_ORDER
from dsgrid_sql.catalog.tables import Projection

from .dataset_plan import VALUE, col, ident, string

INITIAL, GROWTH = "iv", "gr"


def base_year(projection: Projection, initial: ProjectDataset) -> int:
    if projection.base_year is not None:
        return projection.base_year
    return min(int(y) for y in initial.model_years())


def projected_relation(
    projection: Projection,
    initial: ProjectDataset,
    initial_select: exp.Select,
    growth_select: exp.Select,
    time_column: str | None,
) -> exp.Select:
    """The projection's rows: dimension columns, time, value (no dataset_id)."""
    exponential = projection.method == "exponential_growth"
    year = DimensionType.MODEL_YEAR
    keys = [t for t in DIMENSION_COLUMN_ORDER if t != year or not exponential]
    on = exp.and_(
        *(exp.EQ(this=col(t.value, INITIAL), expression=col(t.value, GROWTH)) for t in keys)
    )
    rate = col(VALUE, GROWTH)
    if exponential:
        start = base_year(projection, initial)
        exponent = exp.Sub(
            this=exp.cast(col(year.value, GROWTH), exp.DataType.build("INT")),
            expression=exp.Literal.number(start),
        )
        factor: exp.Expression = exp.Pow(
            this=exp.Paren(this=exp.Add(this=exp.Literal.number(1), expression=rate)),
            expression=exponent,
        )
    else:
        factor = rate
    value = exp.Mul(this=col(VALUE, INITIAL), expression=factor)
    columns = [
        exp.alias_(col(t.value, GROWTH if t == year else INITIAL), t.value, quoted=True)
        for t in DIMENSION_COLUMN_ORDER
    ]
    if time_column is not None:
        columns.append(exp.alias_(col(time_column, INITIAL), time_column, quoted=True))
    columns.append(exp.alias_(value, VALUE, quoted=True))
    query = (
        exp.select(*columns)
        .from_(exp.Subquery(this=initial_select, alias=exp.TableAlias(this=ident(INITIAL))))
        .join(
            exp.Subquery(this=growth_select, alias=exp.TableAlias(this=ident(GROWTH))),
            on=on,
            join_type="INNER",
        )
    )
    if exponential and len(initial.model_years()) > 1:
        start = base_year(projection, initial)
        query = query.where(exp.EQ(this=col(year.value, INITIAL), expression=string(str(start))))
    return query
