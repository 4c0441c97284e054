"""A virtual table reference — ``<project>.data`` or ``<project>.<dataset_id>`` — as a
subquery producing exactly the columns the query uses.

Datasets are planned one by one (:mod:`.dataset_plan`) and stacked with UNION ALL
(duplicates kept, as dsgrid's default ``ds1 | ds2`` does). Supplemental columns then join the
base→supplemental mapping and multiply ``value`` by its fraction row by row, before any
aggregate of the user's query; record names, time zones and units join only when used.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
from sqlglot import exp

from dsgrid_sql.catalog import (
    Catalog,
    ColumnRole,
    DimensionType,
    ProjectDimension,
    Table,
    TableKind,
    arrays,
)
from dsgrid_sql.catalog.models import DIMENSION_COLUMN_ORDER, DateTimeDimensionModel
from dsgrid_sql.catalog.project import Project, ProjectDataset
from dsgrid_sql.catalog.tables import LOCAL_STANDARD_TIME_COLUMN
from dsgrid_sql.errors import MixedDatasetsError

from .conditional import ConditionalSum
from .dataset_plan import (
    DATASET_ID,
    MAPPING_SCHEMA,
    VALUE,
    DatasetPlan,
    Memo,
    Shared,
    SupplementalColumn,
    build_dataset_plan,
    build_now,
    col,
    dataset_time_mapping,
    ident,
    sql_type,
    string,
    with_value,
)
from .inputs import ArrowInput, Input
from .projection import projected_relation
from .time_mapping import TimeMapping, instant_range, named_zone
from .time_window import TimeWindow


@dataclass
class Restrictions:
    """Filters pushed below the mappings: project base record ids per dimension type,
    supplemental record ids per supplemental column, dataset ids, and the project instants
    a filter on time keeps."""

    base: dict[DimensionType, frozenset[str]] = field(default_factory=dict)
    supplemental: dict[str, frozenset[str]] = field(default_factory=dict)
    datasets: frozenset[str] | None = None
    time: TimeWindow | None = None


@dataclass
class TablePlan:
    table: Table
    columns: tuple[str, ...]
    datasets: list[DatasetPlan]
    skipped_datasets: list[tuple[str, str]]  # (dataset id, why)
    supplementals: list[tuple[str, str, str]]  # (column, mapping id, version)
    inputs: list[Input]
    select: exp.Select
    # Engine SQL of ``select`` per dialect, generated once (see cache.py).
    rendered: dict[str, str] = field(default_factory=dict)
    # Submitted datasets `data` would stack but cannot read: (dataset id, why).
    left_out: list[tuple[str, str]] = field(default_factory=list)
    # What `u` reads instead of the datasets' union: a projection, or no rows at all.
    relation: exp.Select | None = None
    # Conditional sums the plan computes as columns after ``columns`` (conditional.py).
    conditional: tuple[ConditionalSum, ...] = ()

    def render(self, dialect: str) -> str:
        """The plan's SQL: its own SELECT, with the datasets' union spliced in as text."""
        text = self.select.sql(dialect=dialect, identify=True)
        union = exp.to_identifier(UNION, quoted=True).sql(dialect=dialect)
        return text.replace(union, f"({self.union_sql(dialect)})", 1)

    def union_sql(self, dialect: str) -> str:
        """The rows of ``u``: the datasets' SQL (each generated once per dataset plan and
        dialect, shared by every plan that uses it) joined with UNION ALL."""
        if self.relation is not None:
            return self.relation.sql(dialect=dialect, identify=True)
        return " UNION ALL ".join(branch_sql(d, dialect) for d in self.datasets)

    def tree(self) -> exp.Select:
        """The whole plan as one tree (EXPLAIN and `translate` print it)."""
        if self.relation is not None:
            union: exp.Expression = self.relation.copy()
        else:
            branches = [d.select.copy() for d in self.datasets if d.select is not None]
            union = branches[0]
            for other in branches[1:]:
                union = exp.union(union, other, distinct=False, copy=False)
        tree = self.select.copy()
        for node in tree.find_all(exp.Table):
            if node.name == UNION:
                node.replace(exp.Subquery(this=union, alias=node.args.get("alias")))
                break
        return tree

    @property
    def notes(self) -> list[str]:
        """What a user must know about rows this table does not have."""
        name = self.table.qualified_name
        return [f"{name} leaves out a dataset. {why}" for _, why in self.left_out]


def plan_virtual_table(
    catalog: Catalog,
    table: Table,
    needed: Sequence[str],
    restrictions: Restrictions,
    dialect: str,
    only_summed: bool = False,
    aggregate_early: bool = True,
    memo: Memo | None = None,
    conditional: tuple[ConditionalSum, ...] = (),
) -> TablePlan:
    """``only_summed``: the query reads the rows only through sums linear in value
    (summed.py); with no time column read either, annual data is summed, not spread, and
    with ``aggregate_early`` each dataset is summed over the columns the query reads before
    its mappings (dataset_plan._early_aggregate).

    ``memo(key, build)`` keeps what plans of one registry version share: each dataset's plan
    for the dimension types, time and filters it reads (many column sets share it: us_states
    and us_census_regions both read geography), its rendered SQL, and the engine inputs
    (mapping, record and time tables). A new column set then costs a few look-ups per
    dataset, not a plan per dataset.

    ``conditional`` (aggregate early only): sums the query reads as computed columns, each
    dataset computing them before its mappings where it can (conditional.py)."""
    memo = memo or build_now
    assert table.is_data and table.project_id
    project = catalog.project(table.project_id, table.project_version)
    names = catalog.project_names(table.project_id, table.project_version)
    columns = [table.get_column(n) for n in needed]
    datasets = [
        d
        for d in project.submitted_datasets
        if d.dataset_id in table.dataset_ids
        and (restrictions.datasets is None or d.dataset_id in restrictions.datasets)
    ]
    _check_one_group(table, project, datasets)
    # Growth rates and data without time have no time column.
    time_column = next((c.name for c in table.columns if c.role is ColumnRole.TIME), None)
    project_start = _project_start(project)
    inputs: list[Input] = []
    version = (table.project_id, table.project_version)
    project_time_input = memo(
        ("project_time", *version, time_column),
        lambda: _project_time_input(project, time_column),
    )
    reads_time = any(c.role in (ColumnRole.TIME, ColumnRole.LOCAL_TIME) for c in columns)
    sum_spread = only_summed and not reads_time
    supplemental_dims = {
        names.supplemental_columns[d.name]: d for d in project.supplemental_dimensions
    }
    # A projection multiplies by growth rates per key: its rows must keep their keys.
    early = only_summed and aggregate_early and table.projection is None
    keep = dimension_types_read(table, columns) if early else None
    conditional = conditional if early else ()
    value_read = not conditional or any(c.role is ColumnRole.VALUE for c in columns)
    # Aggregating early, the datasets resolve the supplemental columns themselves (summed by
    # them in place of their base column where the query reads that no other way).
    resolved = (
        tuple(_supplemental_column(c, supplemental_dims, restrictions) for c in
              _supplementals_read(table, columns, supplemental_dims))
        if early
        else ()
    )  # fmt: skip
    # A row's time zone depends on its geography alone: resolved like a supplemental, so
    # local days sum by zone (and state), not by county.
    zones_resolved = early and any(
        c.role in (ColumnRole.TIME_ZONE, ColumnRole.LOCAL_TIME)
        and c.name != LOCAL_STANDARD_TIME_COLUMN
        for c in columns
    )
    if zones_resolved:
        resolved += (_zone_column(project, datasets),)

    plans: list[DatasetPlan] = []
    skipped: list[tuple[str, str]] = []
    projection = table.projection
    # A projection's base year and model years come from the whole inputs: nothing is
    # pushed into them (filters still apply above the projection).
    pushed = {} if projection is not None else restrictions.base
    time_window = None if projection is not None else restrictions.time
    pushed_key = tuple(sorted((t.value, ids) for t, ids in pushed.items()))
    for dataset in datasets:
        dataset_memo = _dataset_memo(memo, table, dataset)

        def build(
            dataset: ProjectDataset = dataset, dataset_memo: Memo = dataset_memo
        ) -> DatasetPlan:
            return build_dataset_plan(
                project,
                dataset,
                pushed,
                time_column if dataset.has_time else None,
                project_time_input,
                dialect,
                sum_spread=sum_spread,
                keep=keep,
                keep_time=reads_time,
                memo=dataset_memo,
                supplementals=resolved,
                conditional=conditional,
                value_read=value_read,
                time_window=time_window,
            )

        plan = dataset_memo(
            (
                "plan", pushed_key, time_column, dialect, sum_spread, keep, reads_time,
                tuple(c.key for c in resolved), conditional, value_read, time_window,
            ),
            build,
        )  # fmt: skip
        if plan.empty_reason:
            skipped.append((dataset.dataset_id, plan.empty_reason))
            continue
        plans.append(plan)
        inputs += plan.inputs

    relation: exp.Select | None = None
    if projection is not None:
        by_id = {p.dataset_id: p for p in plans}
        initial = by_id[projection.initial_dataset_id]
        growth = by_id[projection.growth_dataset_id]
        assert initial.select is not None and growth.select is not None
        relation = projected_relation(
            projection, initial.dataset, initial.select.copy(), growth.select.copy(), time_column
        ).select(
            exp.alias_(string(projection.initial_dataset_id), DATASET_ID, quoted=True),
            copy=False,
        )
    elif not plans:
        relation = _empty_relation(
            time_column, [c.name for c in resolved], [c.name for c in conditional]
        )

    # Bases in use: those of the (single group of) datasets, else the project's first.
    bases: dict[DimensionType, ProjectDimension] = {}
    for dataset in datasets:
        bases.update(dataset.base_dimensions)
    for dim in project.base_dimensions:
        bases.setdefault(dim.type, dim)

    # The datasets' union is spliced in as text (plan_sql): their trees are shared by plans.
    query = exp.select().from_(
        exp.Table(this=ident(UNION), alias=exp.TableAlias(this=ident("u"))), copy=False
    )
    value: exp.Expression = col(VALUE, "u")
    supplementals: list[tuple[str, str, str]] = []
    joined: dict[str, str] = {}  # join key → alias

    def join_records(dim: ProjectDimension, on: exp.Expression) -> str:
        nonlocal query
        key = f"records:{dim.dimension_id}:{on.sql()}"
        if key in joined:
            return joined[key]
        alias = f"r{len(joined)}"
        records_input = memo(
            ("records", dim.dimension_id, dim.version, project_start),
            lambda: _records_input(dim, project_start),
        )
        inputs.append(records_input)
        query = query.join(
            exp.Table(this=ident(records_input.name), alias=exp.TableAlias(this=ident(alias))),
            on=exp.EQ(this=on, expression=col("id", alias)),
            join_type="INNER",
            copy=False,
        )
        joined[key] = alias
        return alias

    resolved_names = {c.name for c in resolved}

    def join_supplemental(column_name: str) -> str:
        nonlocal query, value
        key = f"supplemental:{column_name}"
        if column_name in resolved_names:
            return "u"  # the datasets' rows carry it, its fraction applied
        if key in joined:
            return joined[key]
        mapping = supplemental_dims[column_name].base_mapping
        assert mapping is not None
        wanted = restrictions.supplemental.get(column_name)

        def mapping_table() -> ArrowInput:
            records = [
                {"from_id": r.from_id, "to_id": r.to_id, "from_fraction": r.from_fraction}
                for r in mapping.records
                if r.to_id is not None and (wanted is None or r.to_id in wanted)
            ]
            return ArrowInput.of("map", arrays.from_rows(records, MAPPING_SCHEMA))

        mapping_input = memo(
            ("supplemental", mapping.mapping_id, mapping.version, wanted), mapping_table
        )
        inputs.append(mapping_input)
        alias = f"s{len(joined)}"
        base_type = mapping.from_dimension.type
        query = query.join(
            exp.Table(this=ident(mapping_input.name), alias=exp.TableAlias(this=ident(alias))),
            on=exp.EQ(this=col(base_type.value, "u"), expression=col("from_id", alias)),
            join_type="INNER",
            copy=False,
        )
        value = exp.Mul(this=value, expression=col("from_fraction", alias))
        supplementals.append((column_name, mapping.mapping_id, mapping.version))
        joined[key] = alias
        return alias

    # Supplemental joins first: each multiplies value, which columns below then read.
    for column in columns:
        if column.role is ColumnRole.SUPPLEMENTAL:
            join_supplemental(column.name)
        elif column.role is ColumnRole.RECORD_NAME and column.names_column in supplemental_dims:
            join_supplemental(column.names_column)

    selected: list[exp.Expression] = []
    for column in columns:
        role = column.role
        if (
            role is ColumnRole.DIMENSION
            or role is ColumnRole.TIME
            or role is ColumnRole.DATASET_ID
        ):
            expression: exp.Expression = col(column.name, "u")
        elif role is ColumnRole.VALUE:
            expression = value
        elif role is ColumnRole.SUPPLEMENTAL:
            alias = join_supplemental(column.name)
            expression = col(column.name if alias == "u" else "to_id", alias)
        elif role is ColumnRole.RECORD_NAME:
            target = table.get_column(column.names_column or "")
            if target.role is ColumnRole.SUPPLEMENTAL:
                alias = join_supplemental(target.name)
                on = col(target.name if alias == "u" else "to_id", alias)
                expression = col("name", join_records(supplemental_dims[target.name], on))
            else:
                dim = bases[target.dimension_type]  # type: ignore[index]
                expression = col("name", join_records(dim, col(target.name, "u")))
        elif column.name == LOCAL_STANDARD_TIME_COLUMN:
            geography = bases[DimensionType.GEOGRAPHY]
            alias = join_records(geography, col(DimensionType.GEOGRAPHY.value, "u"))
            instant = col(time_column or "timestamp", "u")
            expression = _offset_time(instant, col(UTC_OFFSET, alias), dialect)
        elif role is ColumnRole.TIME_ZONE or role is ColumnRole.LOCAL_TIME:
            if zones_resolved:
                zone = col(ZONE, "u")
            else:
                geography = bases[DimensionType.GEOGRAPHY]
                alias = join_records(geography, col(DimensionType.GEOGRAPHY.value, "u"))
                zone = col("time_zone", alias)
            expression = (
                zone
                if role is ColumnRole.TIME_ZONE
                else _local_time(col(time_column or "timestamp", "u"), zone, dialect)
            )
        elif role is ColumnRole.UNIT:
            metric = bases[DimensionType.METRIC]
            expression = col("unit", join_records(metric, col(DimensionType.METRIC.value, "u")))
        else:  # pragma: no cover - every role of a data table is handled above
            raise AssertionError(role)
        selected.append(exp.alias_(expression, column.name, quoted=True))
    for summed in conditional:
        # Computed per dataset and weighed like value: whatever multiplies value here
        # multiplies it too.
        computed = with_value(value, col(summed.name, "u"), "u")
        selected.append(exp.alias_(computed, summed.name, quoted=True))
    if not selected:
        selected = [exp.alias_(exp.Literal.number(1), "__dsgrid_row", quoted=True)]
    left_out = (
        [(d.dataset_id, d.problem or "") for d in project.broken_datasets]
        if table.kind is TableKind.DATA
        else []
    )
    return TablePlan(
        table,
        tuple(needed),
        plans,
        skipped,
        supplementals,
        _unique(inputs),
        query.select(*selected, copy=False),
        left_out=left_out,
        relation=relation,
        conditional=conditional,
    )


ZONE = "__time_zone"


def _zone_column(project: Project, datasets: list[ProjectDataset]) -> SupplementalColumn:
    """The time zone of each base geography record, as a supplemental column (fraction 1;
    a record without a zone keeps its rows, with no zone, as the records join does)."""
    geography = (
        next((d.base_dimensions[DimensionType.GEOGRAPHY] for d in datasets), None)
        or project.base_dimensions_of(DimensionType.GEOGRAPHY)[0]
    )
    records = tuple(
        (r.id, None if not r.fields.get("time_zone") else str(r.fields["time_zone"]), 1.0)
        for r in geography.records
    )
    return SupplementalColumn(
        ZONE,
        DimensionType.GEOGRAPHY,
        records,
        ("zones", geography.dimension_id, geography.version),
    )


def _supplementals_read(
    table: Table, columns: list, supplemental_dims: dict[str, ProjectDimension]
) -> list[str]:
    """The supplemental columns the query reads, itself or through its `*_name` twin."""
    names: list[str] = []
    for column in columns:
        if column.role is ColumnRole.RECORD_NAME:
            column = table.get_column(column.names_column or "")
        if column.role is ColumnRole.SUPPLEMENTAL and column.name not in names:
            names.append(column.name)
    return sorted(names)


def _supplemental_column(
    name: str, supplemental_dims: dict[str, ProjectDimension], restrictions: Restrictions
) -> SupplementalColumn:
    mapping = supplemental_dims[name].base_mapping
    assert mapping is not None
    wanted = restrictions.supplemental.get(name)
    records = tuple(
        (r.from_id, r.to_id, r.from_fraction)
        for r in mapping.records
        if r.to_id is not None and (wanted is None or r.to_id in wanted)
    )
    return SupplementalColumn(
        name,
        mapping.from_dimension.type,
        records,
        (mapping.mapping_id, mapping.version, wanted),
    )


def dimension_types_read(table: Table, columns: list) -> frozenset[DimensionType]:
    """The base dimension types whose base columns the query's columns are computed from:
    a record name from its base column, time zones and local times from geography, units
    from metric. (Supplemental columns are resolved by the dataset plans themselves.)"""
    types: set[DimensionType] = set()
    for column in columns:
        role = column.role
        if role is ColumnRole.RECORD_NAME:
            column = table.get_column(column.names_column or "")
            role = column.role
        if role is ColumnRole.DIMENSION:
            types.add(column.dimension_type)
        elif column.name == LOCAL_STANDARD_TIME_COLUMN:
            types.add(DimensionType.GEOGRAPHY)  # its offset comes from the records table
        elif role is ColumnRole.UNIT:
            types.add(DimensionType.METRIC)
    return frozenset(types)


UNION = "__dsgrid_union"


def branch_sql(plan: DatasetPlan, dialect: str) -> str:
    """One dataset's rows (with their dataset_id) as engine SQL, generated once."""
    rendered = plan.rendered.get(dialect)
    if rendered is None:
        assert plan.select is not None
        # Racing threads generate the same text; the last write wins harmlessly. Not copied
        # first (a third of a new plan's cost): the plan is built for this dialect, and the
        # generator's rewrites of a SELECT (QUALIFY, DISTINCT ON, UNNEST) find none of
        # those here, so the tree is left as it was.
        rendered = plan.rendered[dialect] = plan.select.sql(
            dialect=dialect, identify=True, copy=False
        )
    return rendered


def _check_one_group(table: Table, project: Project, datasets: list[ProjectDataset]) -> None:
    groups = project.dataset_groups(datasets)
    if len(groups) > 1:
        described = "; ".join(", ".join(d.dataset_id for d in group) for group in groups)
        raise MixedDatasetsError(
            f"Table '{table.qualified_name}' would stack datasets mapped onto different base "
            f"dimensions ({described}).",
            hint="Query one dataset's table, or filter dataset_id to datasets of one group.",
        )


def _dataset_memo(memo: Memo, table: Table, dataset: ProjectDataset) -> Memo:
    """The memo of one dataset version's plans: its keys are prefixed by the dataset, except
    Shared keys, which name everything their value is built from."""
    prefix = (
        "dataset",
        table.project_id,
        table.project_version,
        dataset.dataset_id,
        dataset.version,
    )

    def dataset_memo(key: Hashable, build: Callable[[], Any]) -> Any:
        return memo(key if isinstance(key, Shared) else (*prefix, key), build)

    return dataset_memo


def dataset_times(catalog: Catalog, table: Table, memo: Memo) -> dict[str, TimeMapping | None]:
    """How each dataset of a data table maps its time onto the project's (None: the dataset
    has no time), from the same memo entry its plans use."""
    assert table.project_id
    project = catalog.project(table.project_id, table.project_version)
    return {
        d.dataset_id: (
            dataset_time_mapping(project, d, _dataset_memo(memo, table, d)) if d.has_time else None
        )
        for d in project.submitted_datasets
        if d.dataset_id in table.dataset_ids
    }


def stored_rows(catalog: Catalog, table: Table) -> int:
    """The rows a data table's datasets store (Parquet footers, read once per dataset
    version; a dataset whose count is unknown counts nothing)."""
    assert table.project_id
    project = catalog.project(table.project_id, table.project_version)
    return sum(
        d.files().table_rows or 0
        for d in project.submitted_datasets
        if d.dataset_id in table.dataset_ids
    )


def _project_time_input(project: Project, time_column: str | None) -> ArrowInput | None:
    """Every project timestamp, for spreading annual data over the project's hours."""
    time = project.time_dimension
    if time_column is None or time is None or not isinstance(time.model, DateTimeDimensionModel):
        return None
    instants = instant_range(time.model, "The project time dimension")
    table = pa.table({time_column: instants.timestamps()})
    return ArrowInput.of("time", table)


# Record fields the helper columns read (time_zone, unit); kept with id and name.
HELPER_FIELDS = ("time_zone", "unit")
# Microseconds from UTC to the record's zone at the project's first hour.
UTC_OFFSET = "utc_offset_us"


def _project_start(project: Project) -> datetime | None:
    time = project.time_dimension
    if time is None or not isinstance(time.model, DateTimeDimensionModel):
        return None
    return instant_range(time.model, "The project time dimension").start


def _records_input(dim: ProjectDimension, project_start: datetime | None) -> ArrowInput:
    fields = tuple(f for f in HELPER_FIELDS if f in dim.record_fields)
    data = {
        "id": arrays.array([r.id for r in dim.records], pa.string()),
        "name": arrays.array([r.name for r in dim.records], pa.string()),
    }
    for name in fields:
        values = [r.fields.get(name) for r in dim.records]
        data[name] = arrays.array([None if v is None else str(v) for v in values], pa.string())
    if "time_zone" in fields and project_start is not None:
        data[UTC_OFFSET] = arrays.array(
            [_utc_offset_us(r.fields.get("time_zone"), project_start) for r in dim.records],
            pa.int64(),
        )
    return ArrowInput.of("records", pa.table(data))


def _utc_offset_us(zone: object, instant: datetime) -> int | None:
    """dsgrid's geography time (chronify's TimeZoneConverterByColumn) counts hours on from
    the wall clock of the project's first timestamp: the offset then holds all year."""
    if not zone:
        return None
    offset = instant.astimezone(named_zone(str(zone), "A geography record")).utcoffset()
    return None if offset is None else offset // timedelta(microseconds=1)


def _offset_time(instant: exp.Expression, offset: exp.Expression, dialect: str) -> exp.Expression:
    """An instant moved by a fixed offset, as a zone-less wall-clock timestamp."""
    micros = exp.Add(this=exp.UnixMicros(this=instant), expression=offset)
    if dialect == "spark":
        return exp.cast(
            exp.Anonymous(this="timestamp_micros", expressions=[micros]),
            exp.DataType.build("TIMESTAMP_NTZ", dialect="spark"),
        )
    return exp.Anonymous(this="make_timestamp", expressions=[micros])


def _local_time(instant: exp.Expression, zone: exp.Expression, dialect: str) -> exp.Expression:
    """Wall-clock time of an instant in a per-row zone, as a zone-less timestamp."""
    if dialect == "spark":
        return exp.cast(
            exp.Anonymous(this="from_utc_timestamp", expressions=[instant, zone]),
            exp.DataType.build("TIMESTAMP_NTZ", dialect="spark"),
        )
    return exp.Anonymous(this="timezone", expressions=[zone, instant])


def _empty_relation(
    time_column: str | None,
    extra: list[str] = (),  # type: ignore[assignment]
    summed: list[str] = (),  # type: ignore[assignment]
) -> exp.Select:
    null = exp.Null()
    varchar = sql_type("VARCHAR")
    columns = [
        exp.alias_(exp.cast(null.copy(), varchar), t.value, quoted=True)
        for t in DIMENSION_COLUMN_ORDER
    ]
    if time_column:
        columns.append(
            exp.alias_(exp.cast(null.copy(), sql_type("TIMESTAMPTZ")), time_column, quoted=True)
        )
    columns.append(exp.alias_(exp.cast(null.copy(), sql_type("DOUBLE")), VALUE, quoted=True))
    columns += [
        exp.alias_(exp.cast(null.copy(), varchar.copy()), name, quoted=True) for name in extra
    ]
    columns += [
        exp.alias_(exp.cast(null.copy(), sql_type("DOUBLE")), name, quoted=True) for name in summed
    ]
    columns.append(exp.alias_(exp.cast(null.copy(), varchar), DATASET_ID, quoted=True))
    return exp.select(*columns).where(exp.false())


def _unique(inputs: list[Input]) -> list[Input]:
    seen: dict[str, Input] = {}
    for item in inputs:
        seen.setdefault(item.name, item)
    return list(seen.values())
