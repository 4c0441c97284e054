"""One dataset mapped onto its project's base dimensions, as relational SQL.

This is dsgrid's ``make_project_dataframe`` (dsgrid-format.md §4.1) step for step:

1. scan the load data (two_table: ``table JOIN lookup USING (id)``), add trivial dimensions as
   constants, multiply by ``scaling_factor`` where it is not null, and apply pushed filters
   as sets of dataset record ids;
2. inner-join each dataset→project mapping (``to_id`` null dropped), replacing the column by
   ``to_id`` and multiplying ``value`` by ``from_fraction`` — the metric mapping's fractions
   also carry the unit factor from the dataset metric's unit to the project metric's unit;
   identity mappings with fraction 1 are skipped, as dsgrid skips them;
3. sum over the other columns when a mapping sends several records to one (only then can
   rows collide; otherwise the sum is a no-op and is left out);
4. map time onto the project's time (shift and wrap, or spread annual values over the
   project's timestamps with model_year set from the annual value). When the query only
   sums value and reads no time (``sum_spread``), the N copies of an annual row are one row
   of ``value / periods_per_year * N`` and the time column is a typed NULL nobody reads.
   Zoned time (representative periods, index time) read by hour joins the time lookup on
   each row's zone; aggregating early without geography read, the rows are summed by that
   zone first (LOOKUP_ZONE), so the lookup expands one row per zone, not per county.

The result has one column per dimension type, the project's time column and ``value``.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
from sqlglot import exp

from dsgrid_sql.catalog import DimensionType, Project, ProjectDataset, arrays
from dsgrid_sql.catalog.models import DIMENSION_COLUMN_ORDER, DimensionMappingModel
from dsgrid_sql.catalog.paths import DatasetFiles
from dsgrid_sql.catalog.project import DatasetMapping
from dsgrid_sql.errors import CatalogError
from dsgrid_sql.storage import S3Path

from .conditional import Atom, ConditionalSum
from .inputs import ArrowInput, Input, ParquetInput, input_name
from .time_lookup import FACTOR, summed
from .time_mapping import (
    AnnualSpread,
    DatetimeShift,
    TimeMapping,
    ZonedTime,
    named_zone,
    plan_time_mapping,
)
from .time_window import TimeWindow, micros, stored_condition
from .time_window import literal as instant_literal
from .units import unit_factor

VALUE = "value"
DATASET_ID = "dataset_id"
MAPPING_SCHEMA = pa.schema(
    [("from_id", pa.string()), ("to_id", pa.string()), ("from_fraction", pa.float64())]
)


WEIGHTS_SCHEMA = pa.schema([("from_id", pa.string()), ("weight", pa.float64())])


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.Column(this=ident(name), table=ident(table) if table else None)


def string(value: str) -> exp.Literal:
    return exp.Literal.string(value)


_TYPES: dict[str, exp.DataType] = {}


def sql_type(name: str) -> exp.DataType:
    """A data type node, parsed once per name (DataType.build parses its text each call: a
    fifth of planning a dataset)."""
    built = _TYPES.get(name)
    if built is None:
        built = _TYPES[name] = exp.DataType.build(name)
    return built.copy()


def timestamp_literal(instant: datetime) -> exp.Expression:
    """A UTC instant as a TIMESTAMPTZ literal (time_window.literal writes every one)."""
    return instant_literal(micros(instant))


@dataclass(frozen=True)
class AppliedMapping:
    """A dataset→project mapping as the plan applies it (reported by EXPLAIN)."""

    dimension_type: DimensionType
    mapping_id: str
    version: str
    mapping_type: str | None
    from_dimension: str
    to_dimension: str
    skipped: bool  # identity with fraction 1: no join, as dsgrid's is_noop_mapping
    records: int  # records joined (after dropping null to_id and pushed restrictions)
    unit_factors: tuple[tuple[str, str, float], ...] = ()


@dataclass
class DatasetPlan:
    project: Project
    dataset: ProjectDataset
    mappings: list[AppliedMapping] = field(default_factory=list)
    # Dataset record ids kept by pushed filters, per dimension type.
    scan_filters: dict[DimensionType, tuple[str, ...]] = field(default_factory=dict)
    # Annual time values kept by a pushed model_year filter (annual data's model year).
    annual_filter: tuple[str, ...] | None = None
    # Stored instants (spans of UTC microseconds) a pushed filter on project time keeps.
    time_filter: tuple[tuple[int, int], ...] | None = None
    time: TimeMapping | None = None
    # An annual spread (or zoned time) planned as one summed row per stored row
    # (value × the number of project timestamps it stands for).
    spread_summed: bool = False
    # Zoned time whose lookup feeds one project timestamp from two stored periods.
    time_grouped: bool = False
    grouped: bool = False
    # Summed before the mappings over these dimension columns and stored time columns
    # (None: not aggregated early).
    aggregated_over: tuple[str, ...] | None = None
    # Mappings of columns nobody reads, applied as row weights before that aggregate.
    weighed: list[DimensionType] = field(default_factory=list)
    # Supplemental columns the early aggregate sums by in place of their base column.
    folded: tuple[str, ...] = ()
    # Or, where the base column's groups are few: summed by the base column (about
    # base_groups groups) and these supplementals joined to the sums (_few_base_groups).
    joined_after: tuple[str, ...] = ()
    base_groups: int | None = None
    # Read columns pushed filters hold to one id: constants, not early group keys.
    constants: tuple[tuple[str, str], ...] = ()
    # Estimated stored rows per group of the early aggregate, and whether it is taken
    # (too few rows per group: the rows are mapped as stored, weighed and folded).
    rows_per_group: float | None = None
    presummed: bool = True
    # Zoned time read by hour, geography not read: summed by each row's zone (LOOKUP_ZONE,
    # folded like a supplemental) and the time lookup joined per zone after the sum.
    zone_folded: bool = False
    empty_reason: str | None = None
    # Pushed filters too long for a literal IN list: a semi-join against a table of the ids.
    semi_joined: list[DimensionType] = field(default_factory=list)
    # The query's conditional sums (conditional.py): each computed before the mappings
    # (None) or, why not, after them with its columns kept as group keys.
    conditional: list[tuple[ConditionalSum, str | None]] = field(default_factory=list)
    # Whether the early aggregate sums value itself (not when only conditional sums are read).
    value_summed: bool = True
    # A two-table dataset's load table summed by these columns (id among them) before the
    # lookup join (see _summed_by_id); () where not.
    summed_by_id: tuple[str, ...] = ()
    inputs: list[Input] = field(default_factory=list)
    select: exp.Select | None = None
    # The SQL of this dataset's rows with their dataset_id, per engine dialect (generated
    # once: a plan is shared by every table plan whose columns and filters it serves).
    rendered: dict[str, str] = field(default_factory=dict)

    @property
    def dataset_id(self) -> str:
        return self.dataset.dataset_id


def _is_identity(mapping: DimensionMappingModel) -> bool:
    return all(r.to_id == r.from_id and r.from_fraction == 1.0 for r in mapping.records) and bool(
        mapping.records
    )


def build_dataset_plan(
    project: Project,
    dataset: ProjectDataset,
    allowed: dict[DimensionType, frozenset[str]],
    time_column: str | None,
    project_time_input: ArrowInput | None,
    dialect: str,
    *,
    sum_spread: bool = False,
    keep: frozenset[DimensionType] | None = None,
    keep_time: bool = True,
    memo: Memo | None = None,
    supplementals: tuple[SupplementalColumn, ...] = (),
    conditional: tuple[ConditionalSum, ...] = (),
    value_read: bool = True,
    time_window: TimeWindow | None = None,
) -> DatasetPlan:
    """Plan one dataset. ``allowed`` holds project base record ids per dimension type that
    pushed-down filters keep (absent type: no restriction). ``sum_spread``: the query only
    sums value and reads no time, so annual data need not be repeated per timestamp.

    ``keep`` (aggregate early): the query only sums value, reading of this dataset's rows
    only the dimension types in ``keep`` and time only if ``keep_time``. The scan is then
    summed over exactly those columns before any mapping join (see :func:`_aggregate_early`);
    the other dimension columns come out NULL, as nobody reads them.

    ``supplementals`` (with ``keep`` only): supplemental columns the plan resolves itself,
    output after time: folded into the early aggregate where the query reads their base
    column no other way (``_fold_supplementals``), else joined to the summed rows.

    ``conditional`` (with ``keep`` only): sums of CASEs on dimension columns the query reads
    as computed columns, output after value; each summed in the early aggregate where its
    conditions can be decided on the stored ids (``_stored_atom``), else its columns kept and
    the CASE evaluated on the mapped rows. ``value_read``: whether value itself is read (else
    it comes out NULL, and is not summed where no conditional sum needs it).

    ``time_window``: the project instants a filter on time keeps; a dataset whose time is a
    plain shift then scans only the stored instants mapped into it (time_window.py).

    ``memo(key, build)`` keeps the engine inputs this dataset's plans share (mapping and
    weight tables, zone and time lookups) between plans of different column sets."""
    memo = memo or build_now
    plan = DatasetPlan(project, dataset)
    config = dataset.config
    assert config is not None
    files = dataset.files()
    table_schema = files.table_schema()
    lookup_schema = files.lookup_schema()
    two_table = lookup_schema is not None

    remote = isinstance(files.table, S3Path)
    table_input = ParquetInput(
        input_name("scan", dataset.dataset_id, dataset.version, files.table),
        files.table,
        files.table_files,
    )
    plan.inputs.append(table_input)
    source: exp.Expression = exp.Table(
        this=ident(table_input.name), alias=exp.TableAlias(this=ident("t"))
    )
    joins: list[exp.Join] = []
    if two_table:
        assert files.lookup is not None
        lookup_input = ParquetInput(
            input_name("scan", dataset.dataset_id, dataset.version, files.lookup),
            files.lookup,
            files.lookup_files,
        )
        plan.inputs.append(lookup_input)
        joins.append(
            exp.Join(
                this=exp.Table(
                    this=ident(lookup_input.name), alias=exp.TableAlias(this=ident("l"))
                ),
                on=exp.EQ(this=col("id", "t"), expression=col("id", "l")),
                kind="INNER",
            )
        )

    # Column name → (alias, Arrow type), table first (Schema.names is a new list on every
    # call, and a plan asks a dozen times).
    stored_columns = {
        f.name: (alias, f.type)
        for alias, schema in (("l", lookup_schema), ("t", table_schema))
        if schema is not None
        for f in schema
    }

    def stored(name: str, *, dimension: bool = False) -> exp.Expression | None:
        """A stored column; dimension columns are strings (record ids) whatever the Parquet
        type, as dsgrid requires of registered data."""
        found = stored_columns.get(name)
        if found is None:
            return None
        column: exp.Expression = col(name, found[0])
        if dimension and not pa.types.is_string(found[1]):
            column = exp.cast(column, sql_type("VARCHAR"))
        return column

    # 1. Dimension columns of the load data (stored or trivial constants).
    load_dims: dict[DimensionType, exp.Expression] = {}
    for dim_type in DIMENSION_COLUMN_ORDER:
        expression = stored(dim_type.value, dimension=True)
        if expression is None and dim_type in config.trivial_dimensions:
            records = dataset.dimensions[dim_type].records  # type: ignore[union-attr]
            if len(records) != 1:
                raise CatalogError(
                    f"Dataset '{dataset.dataset_id}' declares {dim_type.value} trivial but its "
                    f"dimension has {len(records)} records."
                )
            expression = string(records[0].id)
        if expression is None:
            raise CatalogError(
                f"Dataset '{dataset.dataset_id}' version {dataset.version} has no "
                f"{dim_type.value} column and does not declare it trivial."
            )
        load_dims[dim_type] = expression

    value: exp.Expression = col(VALUE, "t")
    if stored("scaling_factor") is not None:
        value = exp.Mul(
            this=value,
            expression=exp.Coalesce(
                this=stored("scaling_factor"), expressions=[exp.Literal.number(1.0)]
            ),
        )

    # Time first: an annual dataset's model_year becomes its annual time value after the
    # mappings, so a model-year filter applies to the time column, not to the stored
    # model_year (dsgrid's map_annual_time_to_date_time).
    time_columns = files.time_columns()
    plan.time = dataset_time_mapping(project, dataset, memo)
    allowed = dict(allowed)
    annual_years = None
    if isinstance(plan.time, AnnualSpread):
        annual_years = allowed.pop(DimensionType.MODEL_YEAR, None)

    # 2. Mapping joins.
    mapped_dims = dict(load_dims)
    dataset_filters: dict[DimensionType, frozenset[str]] = {}
    steps: list[_MappingStep] = []
    by_type = {m.model.to_dimension.type: m for m in dataset.mappings}
    for dim_type in DIMENSION_COLUMN_ORDER:
        wanted = allowed.get(dim_type)
        mapping = by_type.get(dim_type)
        if mapping is None:
            if wanted is not None:
                dataset_filters[dim_type] = _own_records(dataset, dim_type, wanted)
            continue

        def applied_mapping(
            dim_type: DimensionType = dim_type,
            mapping: DatasetMapping = mapping,
            wanted: frozenset[str] | None = wanted,
        ) -> tuple[list[tuple[str, str, float]], AppliedMapping]:
            factors = (
                _unit_factors(project, dataset, mapping.model)
                if dim_type == DimensionType.METRIC
                else {}
            )
            records = [
                (r.from_id, r.to_id, r.from_fraction * factors.get((r.from_id, r.to_id), 1.0))
                for r in mapping.model.records
                if r.to_id is not None and (wanted is None or r.to_id in wanted)
            ]
            skipped = _is_identity(mapping.model) and not any(f != 1.0 for f in factors.values())
            applied = AppliedMapping(
                dim_type,
                mapping.model.mapping_id,
                mapping.model.version,
                mapping.model.mapping_type,
                mapping.from_dimension.name,
                mapping.to_dimension.name,
                skipped,
                len(records),
                tuple(sorted((f, t, x) for (f, t), x in factors.items() if x != 1.0)),
            )
            return records, applied

        # The records kept and the unit factors, once per mapping and filter.
        records, applied = memo(
            ("mapping", mapping.model.mapping_id, mapping.model.version, wanted),
            applied_mapping,
        )
        skipped = applied.skipped
        plan.mappings.append(applied)
        if skipped:
            if wanted is not None:
                dataset_filters[dim_type] = _own_records(dataset, dim_type, wanted)
            continue
        if wanted is not None:
            dataset_filters[dim_type] = frozenset(r[0] for r in records)
        steps.append(
            _MappingStep(
                dim_type,
                records,
                (mapping.model.mapping_id, mapping.model.version, wanted),
                shared=dim_type is not DimensionType.METRIC,
            )
        )

    early = keep is not None
    kept: set[DimensionType] = set(keep or ())
    # Conditional sums decided on the stored ids: name → the atoms' expressions on the scan.
    stored_atoms: dict[str, list[exp.Expression]] = {}
    if early:
        by_step = {s.dim_type: s for s in steps}
        for summed_column in conditional:
            atoms: list[exp.Expression] = []
            why: str | None = None
            for atom in summed_column.atoms:
                expression, why = _stored_atom(plan, atom, load_dims, by_step, stored)
                if expression is None:
                    break
                atoms.append(expression)
            plan.conditional.append((summed_column, why))
            if why is None:
                stored_atoms[summed_column.name] = atoms
            else:
                kept |= summed_column.dim_types  # the literal plan's group keys
    # Value is carried where read, and where a conditional sum is computed after mapping.
    value_carried = value_read or len(stored_atoms) < len(conditional)
    plan.value_summed = value_carried
    constants: dict[DimensionType, str] = {}
    if early:
        constants = _single_values(kept, allowed, annual_years, load_dims, plan.time)
        kept -= constants.keys()
        plan.constants = tuple((t.value, i) for t, i in constants.items())
    lookup_zone: SupplementalColumn | None = None
    # Zoned time nobody reads, on the stored geography ids (their own zones, or the project's
    # with no geography mapping between): each stored row weighs the project hours its
    # period stands for in its zone, joined on the stored columns before the early sum.
    zoned_summed = (
        early
        and not keep_time
        and isinstance(plan.time, ZonedTime)
        and not (
            plan.time.project_zones and any(s.dim_type is DimensionType.GEOGRAPHY for s in steps)
        )
    )
    if early:
        if zoned_summed:
            assert isinstance(plan.time, ZonedTime)
            value = _weigh_zoned_time(
                plan, plan.time, load_dims[DimensionType.GEOGRAPHY], stored,
                files.load_schema(), value, joins, memo,
            )  # fmt: skip
        elif isinstance(plan.time, ZonedTime):
            keep_time = True  # the lookup's keys
            if DimensionType.GEOGRAPHY not in kept:
                # The lookup needs a row's zone, not its geography: summed by zone like a
                # supplemental (composed with those of geography), the lookup then joins
                # once per zone and period, not once per county and period.
                lookup_zone = memo(
                    ("lookup_zone", plan.time.project_zones),
                    lambda: _lookup_zone_column(plan, plan.time),  # type: ignore[arg-type]
                )
        if isinstance(plan.time, AnnualSpread) and DimensionType.MODEL_YEAR in kept:
            # An annual dataset's model year is its time value: summed by that, and the
            # stored model_year (which the plan overwrites) only weighs, like a column
            # nobody reads.
            keep_time = True
            kept.discard(DimensionType.MODEL_YEAR)
        # Time read on a plain datetime mapping multiplies the groups by the project's
        # periods (metric → fuel by month: a few metrics × 556 hours); zoned and annual time
        # keep folding, their lookups and spreads read each row's own columns.
        periods: int | None = 1
        if keep_time:
            periods = plan.time.project.count if isinstance(plan.time, DatetimeShift) else None
        if periods is not None:
            # (A base held to one value is a constant: folded as before.)
            bases = {c.base for c in supplementals} - kept - constants.keys()
            plan.base_groups = _few_base_groups(
                plan, bases, kept, load_dims, dataset_filters, periods
            )
            if plan.base_groups is not None:
                kept |= bases
                plan.joined_after = tuple(c.name for c in supplementals if c.base in bases)
        plan.aggregated_over = _group_keys(kept, load_dims) + (
            tuple(time_columns) if keep_time else ()
        )
    # Supplemental columns whose base the query reads no other way are summed by, in place
    # of their base column: the dataset's mapping and the supplemental's composed.
    folding = supplementals + ((lookup_zone,) if lookup_zone is not None else ())
    folded = {c.base for c in folding if c.base not in kept}
    extra: list[tuple[str, exp.Expression]] = []
    if early and folded:
        value, extra = _fold_supplementals(
            plan, folding, folded, kept, steps, load_dims, value, joins, memo
        )
        plan.aggregated_over = (
            _group_keys(kept, load_dims) + (tuple(time_columns) if keep_time else ()) + plan.folded
        )
    # Not folded (a stored record split between places): geography is kept and the zone
    # joined to the summed rows, as before.
    plan.zone_folded = lookup_zone is not None and lookup_zone.base in folded
    if plan.zone_folded:
        plan.folded = tuple(n for n in plan.folded if n != LOOKUP_ZONE)
        supplementals_out = (*supplementals, lookup_zone)
    else:
        supplementals_out = supplementals
    for step in steps:
        dim_type, records = step.dim_type, step.records
        if early and dim_type in folded:
            continue  # composed into the folded supplementals' table
        if early and dim_type not in kept:
            dimension = dataset.dimensions.get(dim_type)
            ids = frozenset(r.id for r in getattr(dimension, "records", None) or ())
            value = _weigh(plan, step, load_dims[dim_type], value, joins, memo, ids)
            continue

        def mapping_table(records: list[tuple[str, str, float]] = records) -> ArrowInput:
            table = arrays.from_rows(
                [{"from_id": f, "to_id": t, "from_fraction": x} for f, t, x in records],
                MAPPING_SCHEMA,
            )
            return ArrowInput.of("map", table)

        mapping_input = memo(("map", *step.key), mapping_table)
        plan.inputs.append(mapping_input)
        alias = f"m_{dim_type.value}"
        step.join = exp.Join(
            this=exp.Table(
                this=ident(mapping_input.name), alias=exp.TableAlias(this=ident(alias))
            ),
            on=exp.EQ(this=load_dims[dim_type], expression=col("from_id", alias)),
            kind="INNER",
        )
        mapped_dims[dim_type] = col("to_id", alias)
        step.fraction = col("from_fraction", alias)
        to_ids: dict[str, set[str]] = defaultdict(set)
        for f, t, _ in records:
            to_ids[t].add(f)
        # Keys can collide only then; early-aggregated rows are summed by the query anyway.
        if not early and any(len(froms) > 1 for froms in to_ids.values()):
            plan.grouped = True
    if not early:
        for step in steps:
            if step.join is not None and step.fraction is not None:
                joins.append(step.join)
                value = exp.Mul(this=value, expression=step.fraction)

    # Pushed filters become sets of dataset record ids in the scan.
    where: list[exp.Expression] = []
    for dim_type, ids in dataset_filters.items():
        expression = load_dims[dim_type]
        if isinstance(expression, exp.Literal):
            if expression.this not in ids:
                plan.empty_reason = f"its {dim_type.value} '{expression.this}' is filtered out"
            continue
        plan.scan_filters[dim_type] = tuple(sorted(ids))
        if not ids:
            plan.empty_reason = f"no {dim_type.value} record passes the filters"
            continue
        if remote and len(ids) > 1 and isinstance(expression, exp.Column):
            # Parquet on object storage is scanned through Arrow datasets, which skip row
            # groups by their min/max statistics for range comparisons but not for IN lists
            # (nor semi-joins): the set's range, redundant to the ids, lets them skip what
            # cannot match.
            low, high = min(ids), max(ids)
            where.append(exp.Between(this=expression, low=string(low), high=string(high)))
        where.append(_kept_ids(plan, dim_type, expression, plan.scan_filters[dim_type], memo))

    if plan.empty_reason is None:
        _leave_out_unheld(plan, files, load_dims)

    if remote and two_table:
        # A filter on lookup columns reaches the load table only through the id join; a
        # remote scan gets the kept ids' range (see DatasetFiles.lookup_id_span).
        keep = {
            dim_type.value: frozenset(ids)
            for dim_type, ids in plan.scan_filters.items()
            if ids and dim_type.value not in table_schema.names
        }
        span = files.lookup_id_span(keep) if keep else None
        if span is not None:
            low, high = (
                exp.Literal.number(v) if isinstance(v, int) else string(str(v)) for v in span
            )
            where.append(exp.Between(this=col("id", "t"), low=low, high=high))

    if annual_years is not None and isinstance(plan.time, AnnualSpread):
        time_value = stored(plan.time.time_column, dimension=True)
        assert time_value is not None
        plan.annual_filter = tuple(sorted(annual_years))
        if not annual_years:
            plan.empty_reason = "no model_year passes the filters"
        else:
            where.append(
                exp.In(this=time_value, expressions=[string(y) for y in sorted(annual_years)])
            )

    if time_window is not None and isinstance(plan.time, DatetimeShift) and time_columns:
        # Only instants stored as such (a timestamp column) are compared with instants.
        found = stored_columns.get(time_columns[0])
        if found is not None and pa.types.is_timestamp(found[1]):
            plan.time_filter = time_window.stored(plan.time)
            if plan.time_filter == ():
                plan.empty_reason = "no timestamp passes the filters"
            elif plan.time_filter is not None:
                where.append(stored_condition(col(time_columns[0], found[0]), plan.time_filter))

    # 3. The mapped load data: one row per key, summed only when keys can collide.
    if early:
        plan.rows_per_group = _rows_per_group(
            plan, files.table_rows, load_dims, dataset_filters, kept, keep_time, folding,
            annual_years,
        )  # fmt: skip
        plan.presummed = plan.rows_per_group is None or plan.rows_per_group >= MIN_ROWS_PER_GROUP
        # The conditional sums on the weighed stored rows (value as the pre-sum sums it).
        sums = [(c, stored_atoms[c.name]) for c in conditional if c.name in stored_atoms]
        pre = _early_aggregate(
            plan, source, joins, where, load_dims, stored, time_columns,
            value, kept, keep_time, extra, sums, value_summed=value_carried, two_table=two_table,
        )  # fmt: skip
        stage1 = _map_summed(
            pre, steps, load_dims, mapped_dims, kept, time_columns, keep_time,
            supplementals_out, folded, plan, memo, constants, [c.name for c, _ in sums],
        )  # fmt: skip
    else:
        stage1_columns = [
            exp.alias_(mapped_dims[t], t.value, quoted=True) for t in DIMENSION_COLUMN_ORDER
        ]
        stage1_columns += [
            exp.alias_(stored(c) or col(c, "t"), c, quoted=True, copy=False) for c in time_columns
        ]
        value_expr = exp.Sum(this=value) if plan.grouped else value
        stage1 = exp.select(
            *stage1_columns, exp.alias_(value_expr, VALUE, quoted=True, copy=False)
        )
        stage1 = stage1.from_(source, copy=False)
        for join in joins:
            stage1 = stage1.join(join, copy=False)
        if where:
            stage1 = stage1.where(exp.and_(*where), copy=False)
        if plan.grouped:
            stage1 = stage1.group_by(
                *[exp.Literal.number(i + 1) for i in range(len(stage1_columns))], copy=False
            )

    # 4. Time onto project time.
    stage2_dims = {t: col(t.value, "s") for t in DIMENSION_COLUMN_ORDER}
    stage2_value: exp.Expression = col(VALUE, "s")
    stage2 = exp.select().from_(
        exp.Subquery(this=stage1, alias=exp.TableAlias(this=ident("s"))), copy=False
    )
    time_expr: exp.Expression | None = None
    time_mapping = plan.time
    if early and not keep_time and isinstance(time_mapping, DatetimeShift):
        # Out-of-range rows were dropped before the early aggregate; nobody reads time.
        time_expr = exp.cast(exp.Null(), sql_type("TIMESTAMPTZ"))
    elif isinstance(time_mapping, DatetimeShift):
        raw = col(time_columns[0], "s")
        project_range = time_mapping.project
        if time_mapping.shift:
            micros = _shifted_micros(raw, time_mapping)
            time_expr = _instant_from_micros(micros, dialect)
            in_range = exp.Between(
                this=micros.copy(),
                low=_instant_micros(project_range.start),
                high=_instant_micros(project_range.end),
            )
        else:
            time_expr = raw
            in_range = exp.Between(
                this=raw.copy(),
                low=timestamp_literal(project_range.start),
                high=timestamp_literal(project_range.end),
            )
        if not time_mapping.always_in_range:
            stage2 = stage2.where(in_range, copy=False)
    elif isinstance(time_mapping, AnnualSpread):
        assert project_time_input is not None and time_column is not None
        if early and not keep_time:
            sum_spread = True  # neither time nor model year is read: nothing to spread by
        stage2_value = exp.Div(
            this=stage2_value, expression=exp.Literal.number(time_mapping.periods_per_year)
        )
        if sum_spread:
            # The sum of the N spread copies, in one row: no cross join, no time.
            plan.spread_summed = True
            stage2_value = exp.Mul(
                this=stage2_value, expression=exp.Literal.number(time_mapping.project.count)
            )
            time_expr = exp.cast(exp.Null(), sql_type("TIMESTAMPTZ"))
        else:
            plan.inputs.append(project_time_input)
            stage2 = stage2.join(
                exp.Table(
                    this=ident(project_time_input.name), alias=exp.TableAlias(this=ident("pt"))
                ),
                join_type="CROSS",
                copy=False,
            )
            time_expr = col(time_column, "pt")
        if keep_time:
            stage2_dims[DimensionType.MODEL_YEAR] = exp.cast(
                col(time_mapping.time_column, "s"), sql_type("VARCHAR")
            )
    elif isinstance(time_mapping, ZonedTime) and zoned_summed:
        time_expr = exp.cast(exp.Null(), sql_type("TIMESTAMPTZ"))
    elif isinstance(time_mapping, ZonedTime):
        assert time_column is not None
        stage2, stage2_value, time_expr = _join_zoned_time(
            plan, stage2, stage2_value, time_mapping, files.load_schema(), time_column,
            sum_spread, memo, col(LOOKUP_ZONE, "s") if plan.zone_folded else None,
        )  # fmt: skip
    columns = [
        exp.alias_(stage2_dims[t], t.value, quoted=True, copy=False)
        for t in DIMENSION_COLUMN_ORDER
    ]
    if time_column is not None:
        if time_expr is None:
            raise CatalogError(
                f"Dataset '{dataset.dataset_id}' has no time to map onto the project's."
            )
        columns.append(exp.alias_(time_expr, time_column, quoted=True, copy=False))
    columns += [
        exp.alias_(col(c.name, "s"), c.name, quoted=True, copy=False) for c in supplementals
    ]
    if plan.time_grouped and not early:
        # Interpolated index time: two stored periods feed one project timestamp (the
        # query's own sum adds them when rows were aggregated early).
        stage2_value = exp.Sum(this=stage2_value)
        stage2 = stage2.group_by(
            *[exp.Literal.number(i + 1) for i in range(len(columns))], copy=False
        )
    columns.append(
        exp.alias_(
            stage2_value if value_read else exp.cast(exp.Null(), sql_type("DOUBLE")),
            VALUE,
            quoted=True,
        )
    )
    for summed_column in conditional:
        # Time maps value by factors (periods, lookup weights): the sums alike.
        if summed_column.name in stored_atoms:
            computed = with_value(stage2_value, col(summed_column.name, "s"), "s")
        else:
            # Not summed early: the CASE on the mapped rows, its columns kept by the plan.
            computed = summed_column.instantiate(
                lambda _, atom: _in_ids(stage2_dims[atom.dim_type].copy(), atom.ids),
                stage2_value,
            )
        columns.append(exp.alias_(computed, summed_column.name, quoted=True, copy=False))
    columns.append(exp.alias_(string(dataset.dataset_id), DATASET_ID, quoted=True, copy=False))
    plan.select = stage2.select(*columns, copy=False)
    return plan


# Above this many ids a pushed filter is a semi-join against a registered table of them, not
# a literal IN list: DuckDB binds and plans every literal (the South's 1,314 counties in three
# scans: 140 ms of planning for a 15 ms answer), while the table is registered once and
# planned as one small join whose keys still prune the scan (dynamic filters).
IN_LIST_MAX = 64
IDS_SCHEMA = pa.schema([("id", pa.string())])


def _leave_out_unheld(
    plan: DatasetPlan, files: DatasetFiles, load_dims: dict[DimensionType, exp.Expression]
) -> None:
    """Leave the dataset out when its Parquet proves no stored row passes the pushed
    filters: a dataset registered for part of a dimension's records (residential subsectors
    only, under a project's dimension of all subsectors) filtered to the others. The engine
    would find it empty too, from the same statistics, but only after planning its branch
    (3.5 ms of a 10 ms question at 1 M rows on DuckDB; a Spark stage)."""
    kept = {
        expression.name: frozenset(plan.scan_filters[dim_type])
        for dim_type, expression in load_dims.items()
        if isinstance(expression, exp.Column) and plan.scan_filters.get(dim_type)
    }
    if kept and not files.may_hold(kept):
        # Name what alone leaves no row, else the filters that do it together.
        alone = [c for c in sorted(kept) if not files.may_hold({c: kept[c]})]
        names = alone or sorted(kept)
        named = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        together = "" if alone else " together"
        plan.empty_reason = f"its Parquet holds no row with the filtered {named}{together}"


def _kept_ids(
    plan: DatasetPlan,
    dim_type: DimensionType,
    expression: exp.Expression,
    ids: tuple[str, ...],
    memo: Memo,
) -> exp.Expression:
    """``expression IN (ids)``: a literal list, or a semi-join when the list is long."""
    if len(ids) <= IN_LIST_MAX:
        return exp.In(this=expression, expressions=[string(i) for i in ids])
    ids_input = memo(
        ("ids", dim_type.value, ids),
        lambda: ArrowInput.of("ids", arrays.table({"id": list(ids)}, IDS_SCHEMA)),
    )
    plan.inputs.append(ids_input)
    plan.semi_joined.append(dim_type)
    return exp.In(
        this=expression,
        query=exp.Subquery(
            this=exp.select(col("id")).from_(exp.Table(this=ident(ids_input.name)), copy=False)
        ),
    )


# A pre-sum pays when it folds several stored rows into each group; below this many rows per
# group (estimated) it costs a hash aggregate over every row and saves little after it (the
# (county, hour) sum of a peak query: 3.3 M commercial rows into 1.7 M groups; residential
# rows filtered to one year and scenario: 1.7 M rows into 1.7 M groups).
MIN_ROWS_PER_GROUP = 3.0


def _rows_per_group(
    plan: DatasetPlan,
    table_rows: int | None,
    load_dims: dict[DimensionType, exp.Expression],
    dataset_filters: dict[DimensionType, frozenset[str]],
    kept: set[DimensionType],
    keep_time: bool,
    folding: tuple[SupplementalColumn, ...],
    annual_years: frozenset[str] | None,
) -> float | None:
    """Stored rows per group of the early aggregate, estimated from the table's row count,
    the dataset's record counts and the filters (each filter keeps its share of the rows,
    each group key contributes its records kept), or None where unknown (zoned time, whose
    lookup is joined per group, is always summed)."""
    if not table_rows or isinstance(plan.time, ZonedTime):
        return None
    dataset = plan.dataset
    rows = float(table_rows)
    groups = 1.0
    counts: dict[DimensionType, int] = {}
    for dim_type, expression in load_dims.items():
        if isinstance(expression, exp.Literal):
            continue
        records = getattr(dataset.dimensions.get(dim_type), "records", None)
        ids = dataset_filters.get(dim_type)
        if records and ids is not None:
            rows *= min(1.0, len(ids) / len(records))
        count = _kept_count(plan, dim_type, dataset_filters)
        counts[dim_type] = count
        if dim_type in kept:
            if not count:
                return None
            groups *= count
    for base in {c.base for c in folding if c.name in plan.folded}:
        targets = 1
        for column in folding:
            if column.base is base and column.name in plan.folded:
                targets *= max(1, len({t for _, t, _ in column.records}))
        groups *= max(1, min(targets, counts.get(base) or targets))
    if keep_time:
        if isinstance(plan.time, DatetimeShift):
            groups *= plan.time.project.count
        elif isinstance(plan.time, AnnualSpread):
            years = dataset.dimensions.get(DimensionType.MODEL_YEAR)
            stored_years = len(getattr(years, "records", None) or ()) or 1
            if annual_years is not None:
                rows *= min(1.0, len(annual_years) / stored_years)
            groups *= len(annual_years) if annual_years is not None else stored_years
        else:
            return None
    return rows / groups


# Folding a supplemental into the pre-sum joins every stored row to the composed table so
# that the sum has fewer groups; it pays where the base column's groups are many (county ×
# hour: 26 M groups become 430 k). Up to this many groups (a few thousand counties, time not
# read) the sum by the base column is about as cheap as the sum by state, and mapping its
# few thousand sums afterwards saves the join of every row (the residential rows of a state
# total at 10M: 3.3 M probes, ~25 ms of a ~100 ms query). The expert's plan, either way.
BASE_GROUPS_MAX = 20_000


def _few_base_groups(
    plan: DatasetPlan,
    bases: set[DimensionType],
    kept: set[DimensionType],
    load_dims: dict[DimensionType, exp.Expression],
    dataset_filters: dict[DimensionType, frozenset[str]],
    periods: int = 1,
) -> int | None:
    """The early aggregate's groups with the supplementals' base columns ``bases`` among its
    keys (and ``periods`` of time where time is read), when that is at most BASE_GROUPS_MAX:
    the supplementals are then joined to the sums instead of folded into them. None where
    folding pays or nothing would fold (each key counts the dataset records the filters
    keep; an unknown count folds, as before)."""
    if not bases or periods > BASE_GROUPS_MAX:
        return None
    groups = periods
    for dim_type in kept | bases:
        expression = load_dims.get(dim_type)
        if expression is None or isinstance(expression, exp.Literal):
            continue
        count = _kept_count(plan, dim_type, dataset_filters)
        if not count:
            return None
        groups *= count
        if groups > BASE_GROUPS_MAX:
            return None
    return groups


def _kept_count(
    plan: DatasetPlan,
    dim_type: DimensionType,
    dataset_filters: dict[DimensionType, frozenset[str]],
) -> int:
    """How many of the dataset's records of a type the scan keeps: the pushed filter's ids,
    else all its records (0 where the dimension lists none)."""
    ids = dataset_filters.get(dim_type)
    if ids is not None:
        return len(ids)
    return len(getattr(plan.dataset.dimensions.get(dim_type), "records", None) or ())


def _group_keys(
    kept: set[DimensionType], load_dims: dict[DimensionType, exp.Expression]
) -> tuple[str, ...]:
    """The dimension columns the early aggregate sums by (a trivial one is a constant)."""
    return tuple(
        t.value
        for t in DIMENSION_COLUMN_ORDER
        if t in kept and not isinstance(load_dims[t], exp.Literal)
    )


def _single_values(
    kept: set[DimensionType],
    allowed: dict[DimensionType, frozenset[str]],
    annual_years: frozenset[str] | None,
    load_dims: dict[DimensionType, exp.Expression],
    time: TimeMapping | None,
) -> dict[DimensionType, str]:
    """Read columns that pushed filters hold to one project record: every row the scan
    keeps carries that id (the scan keeps only its dataset ids, a mapping only records to
    it), so the early aggregate need not sum by the column; its mapping only weighs, and the
    id comes out as a constant (``model_year = '2030' AND scenario = 'reference'``: one
    group per county and hour, not per county, year, scenario and hour)."""
    constants: dict[DimensionType, str] = {}
    for dim_type in sorted(kept, key=DIMENSION_COLUMN_ORDER.index):
        if isinstance(load_dims[dim_type], exp.Literal):
            continue  # a trivial dimension: never a group key
        if dim_type is DimensionType.GEOGRAPHY and isinstance(time, ZonedTime):
            continue  # the time lookup reads each row's zone from its geography
        ids = allowed.get(dim_type)
        if dim_type is DimensionType.MODEL_YEAR and isinstance(time, AnnualSpread):
            ids = annual_years  # an annual dataset's model year is its time value
        if ids is not None and len(ids) == 1:
            constants[dim_type] = next(iter(ids))
    return constants


def _own_records(
    dataset: ProjectDataset, dim_type: DimensionType, wanted: frozenset[str]
) -> frozenset[str]:
    """The project ids a filter keeps that the dataset's own (unmapped) dimension holds: a
    filter none of them passes leaves the dataset out (empty_reason) instead of scanning it
    for rows that cannot exist (dsgrid validates load data against its records)."""
    records = getattr(dataset.dimensions.get(dim_type), "records", None)
    if not records:
        return wanted
    return wanted & frozenset(r.id for r in records)


@dataclass
class _MappingStep:
    """A dataset→project mapping the plan applies: its records (from, to, fraction with the
    unit factor), then the join and the fraction column once built."""

    dim_type: DimensionType
    records: list[tuple[str, str, float]]
    # (mapping id, version, project ids kept): what its engine inputs are built from.
    key: tuple[Hashable, ...] = ()
    # Whether the key names all the records depend on: not for metric, whose records carry
    # the dataset's unit factors.
    shared: bool = False
    join: exp.Join | None = None
    fraction: exp.Expression | None = None


@dataclass(frozen=True)
class SupplementalColumn:
    """A supplemental column a dataset plan resolves itself (aggregate early only)."""

    name: str
    base: DimensionType
    # Project base record id → supplemental record id, fraction (to_id kept by filters).
    records: tuple[tuple[str, str, float], ...] = field(repr=False)
    # (mapping id, version, supplemental ids kept): what records is built from.
    key: tuple[Hashable, ...] = ()


def _fold_supplementals(
    plan: DatasetPlan,
    supplementals: tuple[SupplementalColumn, ...],
    folded: set[DimensionType],
    kept: set[DimensionType],
    steps: list[_MappingStep],
    load_dims: dict[DimensionType, exp.Expression],
    value: exp.Expression,
    joins: list[exp.Join],
    memo: Memo,
) -> tuple[exp.Expression, list[tuple[str, exp.Expression]]]:
    """Supplemental columns whose base column the query does not read, in the early
    aggregate: per base type, one table from the stored record id to the tuple of its
    supplemental ids with the fraction Σ over project records of (dataset→project fraction
    × each supplemental's fraction) — the literal plan's joins, composed — so the scan is
    summed by state or region, not by county."""
    extra: list[tuple[str, exp.Expression]] = []
    unfolded: set[DimensionType] = set()
    by_step = {s.dim_type: s for s in steps}
    for base in sorted(folded, key=DIMENSION_COLUMN_ORDER.index):
        columns = [c for c in supplementals if c.base is base]
        step = by_step.get(base)

        def composed(
            columns: list[SupplementalColumn] = columns, step: _MappingStep | None = step
        ) -> tuple[ArrowInput, bool]:
            targets: dict[str, list[list[tuple[str, float]]]] = defaultdict(
                lambda: [[] for _ in columns]
            )
            for i, column in enumerate(columns):
                for b, target, fraction in column.records:
                    targets[b][i].append((target, fraction))
            base_records = step.records if step is not None else [(b, b, 1.0) for b in targets]
            weights: dict[tuple[str, ...], float] = defaultdict(float)
            for d, b, f in base_records:
                for combination in itertools.product(*targets.get(b, [[] for _ in columns])):
                    fraction = f
                    for _, x in combination:
                        fraction *= x
                    weights[(d, *(t for t, _ in combination))] += fraction
            names = ["from_id", *(c.name for c in columns)]
            data: dict[str, list[Any]] = {n: [] for n in names}
            data["fraction"] = []
            for key, fraction in weights.items():
                for n, part in zip(names, key, strict=True):
                    data[n].append(part)
                data["fraction"].append(fraction)
            schema = pa.schema([(n, pa.string()) for n in names] + [("fraction", pa.float64())])
            # Folding pays only where each stored record goes to one place: a split (five-
            # year intervals, dual-fuel end uses) would multiply the stored rows before the
            # sum instead of the summed ones after it.
            single = len(set(data["from_id"])) == len(data["from_id"])
            return ArrowInput.of("folded", arrays.table(data, schema)), single

        key = ("folded", base.value, step.key if step else (), *(c.key for c in columns))
        # Without a dataset-specific step (no mapping, or one every dataset may use), every
        # dataset folds the same table: composed once, not once per dataset.
        folded_input, single = memo(Shared(key) if step is None or step.shared else key, composed)
        if not single:
            unfolded.add(base)
            continue
        plan.inputs.append(folded_input)
        alias = f"f_{base.value}"
        joins.append(
            exp.Join(
                this=exp.Table(
                    this=ident(folded_input.name), alias=exp.TableAlias(this=ident(alias))
                ),
                on=exp.EQ(this=load_dims[base].copy(), expression=col("from_id", alias)),
                kind="INNER",
            )
        )
        value = exp.Mul(this=value, expression=col("fraction", alias))
        extra += [(c.name, col(c.name, alias)) for c in columns]
    folded -= unfolded
    kept |= unfolded  # summed by their base column, the supplemental joined afterwards
    plan.folded = tuple(c.name for c in supplementals if c.base in folded)
    return value, extra


def _weigh(
    plan: DatasetPlan,
    step: _MappingStep,
    load_column: exp.Expression,
    value: exp.Expression,
    joins: list[exp.Join],
    memo: Memo,
    record_ids: frozenset[str],
) -> exp.Expression:
    """A mapping of a column nobody reads, before an early aggregate: each row only weighs
    the sum of its fractions over the records kept (none: the row is dropped, as the
    mapping's inner join drops it)."""
    weights: dict[str, float] = defaultdict(float)
    for f, _, x in step.records:
        weights[f] += x
    name = step.dim_type.value
    plan.weighed.append(step.dim_type)
    if isinstance(load_column, exp.Literal):  # a trivial dimension: one weight for all
        weight = weights.get(load_column.this)
        if weight is None:
            plan.empty_reason = f"its {name} '{load_column.this}' maps to no project record"
            return value
        return exp.Mul(this=value, expression=exp.Literal.number(weight))
    filtered = step.key[2] is not None if len(step.key) > 2 else False
    if len(set(weights.values())) == 1 and (filtered or set(weights) >= record_ids):
        # Every row that reaches here weighs the same (a unit factor, say): a constant,
        # not a join per stored row. (With a pushed filter the scan keeps exactly the ids
        # weighed; else every record of the dimension is weighed.)
        return exp.Mul(this=value, expression=exp.Literal.number(next(iter(weights.values()))))
    weight_input = memo(
        ("weights", *step.key),
        lambda: ArrowInput.of(
            "weights",
            arrays.table(
                {"from_id": list(weights), "weight": list(weights.values())}, WEIGHTS_SCHEMA
            ),
        ),
    )
    plan.inputs.append(weight_input)
    alias = f"w_{name}"
    joins.append(
        exp.Join(
            this=exp.Table(this=ident(weight_input.name), alias=exp.TableAlias(this=ident(alias))),
            on=exp.EQ(this=load_column, expression=col("from_id", alias)),
            kind="INNER",
        )
    )
    return exp.Mul(this=value, expression=col("weight", alias))


def _early_aggregate(
    plan: DatasetPlan,
    source: exp.Expression,
    joins: list[exp.Join],
    where: list[exp.Expression],
    load_dims: dict[DimensionType, exp.Expression],
    stored: Callable[[str], exp.Expression | None],
    time_columns: tuple[str, ...],
    value: exp.Expression,
    kept: set[DimensionType],
    keep_time: bool,
    extra: list[tuple[str, exp.Expression]],
    sums: list[tuple[ConditionalSum, list[exp.Expression]]] = (),  # type: ignore[assignment]
    value_summed: bool = True,
    two_table: bool = False,
) -> exp.Select:
    """The scan summed over the columns the query reads, before any mapping: the expert's
    plan for a query that only sums. ``SUM(f(keys) · value)`` over mapped rows equals that
    sum over the mapped pre-summed rows, because each mapping multiplies value by a factor
    that depends only on the row's keys. ``sums``: conditional sums (conditional.py) with
    their conditions' predicates on the scan, summed beside value (``value_summed``: else only
    those sums are read)."""
    columns: list[exp.Expression] = []
    for dim_type in DIMENSION_COLUMN_ORDER:
        expression = load_dims[dim_type]
        if dim_type in kept and not isinstance(expression, exp.Literal):
            columns.append(exp.alias_(expression, dim_type.value, quoted=True))
    columns += [exp.alias_(e, name, quoted=True, copy=False) for name, e in extra]
    conditions = list(where)
    if keep_time:
        columns += [
            exp.alias_(stored(c) or col(c, "t"), c, quoted=True, copy=False) for c in time_columns
        ]
    elif isinstance(plan.time, DatetimeShift) and not plan.time.always_in_range:
        # Rows that the time mapping would drop are dropped before they are summed.
        raw = stored(time_columns[0]) or col(time_columns[0], "t")
        conditions.append(_in_project_range(raw, plan.time))
    if plan.presummed and two_table:
        source, conditions = _summed_by_id(
            plan, source, joins, conditions, [*columns, value, *(a for _, x in sums for a in x)],
            time_columns,
        )  # fmt: skip
    if sums:
        pre = _summed_conditionally(
            plan, source, joins, conditions, columns, value, sums, value_summed
        )
    else:
        summed = exp.Sum(this=value) if plan.presummed else value
        pre = exp.select(*columns, exp.alias_(summed, VALUE, quoted=True, copy=False))
        pre = pre.from_(source, copy=False)
        for join in joins:
            pre = pre.join(join, copy=False)
        if conditions:
            pre = pre.where(exp.and_(*conditions), copy=False)
    if not plan.presummed:
        # About as many groups as rows: the rows go on as stored (weighed and folded, so
        # still only the columns read), and the query's own aggregate sums them once.
        return pre
    if columns:
        pre = pre.group_by(*[exp.Literal.number(i + 1) for i in range(len(columns))], copy=False)
    else:
        # A sum without GROUP BY has a row even over no rows; the literal plan has none.
        pre = pre.having(
            exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(0)),
            copy=False,
        )
    return pre


WEIGHED = "__dsgrid_weighed"


def _summed_by_id(
    plan: DatasetPlan,
    source: exp.Expression,
    joins: list[exp.Join],
    conditions: list[exp.Expression],
    expressions: list[exp.Expression],
    time_columns: tuple[str, ...],
) -> tuple[exp.Expression, list[exp.Expression]]:
    """A two-table dataset's load table summed by ``id`` and the load-table columns the
    early aggregate reads (metric, say) before the lookup join, when stored time is not among
    them: the expert's plan (3 M rows into ~6,000 sums, then the lookup, weights and folded
    supplementals joined to those, not to every row). Exact for the same reason as the early
    aggregate: everything the rows are multiplied by or grouped by depends on those columns
    and the lookup's, which depend on the id. Conditions on load-table columns alone are
    applied before that sum; conditions on lookup columns alone (pushed filters on geography
    or subsector) also, as a semi-join on the ids they keep, so that the scan still reads only
    those ids' rows. The source and the remaining conditions are returned."""
    inside: list[exp.Expression] = []
    outside: list[exp.Expression] = []
    on_lookup: list[exp.Expression] = []
    for condition in conditions:
        tables = {c.table for c in condition.find_all(exp.Column)} - {""}
        (inside if tables <= {"t"} else outside).append(condition)
        if tables == {"l"}:
            on_lookup.append(condition)
    lookup = next((j.this for j in joins if j.this.alias == "l"), None)
    if on_lookup and lookup is not None:
        kept_ids = exp.select(col("id", "l")).from_(lookup.copy(), copy=False)
        kept_ids = kept_ids.where(exp.and_(*(c.copy() for c in on_lookup)), copy=False)
        inside.append(exp.In(this=col("id", "t"), query=exp.Subquery(this=kept_ids)))
    read: set[str] = set()
    for node in [*expressions, *(j.args.get("on") for j in joins), *outside]:
        if node is not None:
            read |= {c.name for c in node.find_all(exp.Column) if c.table == "t"}
    keys = sorted(read - {VALUE})
    if "id" not in keys or set(keys) & set(time_columns):
        return source, conditions
    inner = exp.select(
        *[exp.alias_(col(k, "t"), k, quoted=True) for k in keys],
        exp.alias_(exp.Sum(this=col(VALUE, "t")), VALUE, quoted=True),
    ).from_(source, copy=False)
    if inside:
        inner = inner.where(exp.and_(*inside), copy=False)
    inner = inner.group_by(*[exp.Literal.number(i + 1) for i in range(len(keys))], copy=False)
    plan.summed_by_id = tuple(keys)
    return exp.Subquery(this=inner, alias=exp.TableAlias(this=ident("t"))), outside


def _summed_conditionally(
    plan: DatasetPlan,
    source: exp.Expression,
    joins: list[exp.Join],
    conditions: list[exp.Expression],
    columns: list[exp.Expression],
    value: exp.Expression,
    sums: list[tuple[ConditionalSum, list[exp.Expression]]],
    value_summed: bool,
) -> exp.Select:
    """The early aggregate's SELECT with conditional sums: the weighed value and each
    distinct predicate computed once per row (``r``), then every sum's CASE over those — not
    the product of the scan's weights once per CASE (three end uses as columns tripled the
    per-row arithmetic)."""
    predicates: dict[str, str] = {}
    inner_columns = list(columns)
    for _, atoms in sums:
        for atom in atoms:
            text = atom.sql()
            if text not in predicates and not isinstance(atom, exp.Boolean):
                predicates[text] = f"__dsgrid_p{len(predicates)}"
                inner_columns.append(exp.alias_(atom.copy(), predicates[text], quoted=True))
    inner = exp.select(*inner_columns, exp.alias_(value, WEIGHED, quoted=True))
    inner = inner.from_(source, copy=False)
    for join in joins:
        inner = inner.join(join, copy=False)
    if conditions:
        inner = inner.where(exp.and_(*conditions), copy=False)
    row = col(WEIGHED, "r")

    def predicate(atoms: list[exp.Expression], index: int) -> exp.Expression:
        atom = atoms[index]
        return atom.copy() if isinstance(atom, exp.Boolean) else col(predicates[atom.sql()], "r")

    outer = [exp.alias_(col(c.alias_or_name, "r"), c.alias_or_name, quoted=True) for c in columns]
    computed = [(VALUE, row)] if value_summed else []
    computed += [
        (c.name, c.instantiate(lambda i, _, atoms=atoms: predicate(atoms, i), row))
        for c, atoms in sums
    ]
    outer += [
        exp.alias_(exp.Sum(this=e) if plan.presummed else e, name, quoted=True, copy=False)
        for name, e in computed
    ]
    return exp.select(*outer).from_(
        exp.Subquery(this=inner, alias=exp.TableAlias(this=ident("r"))), copy=False
    )


def _map_summed(
    pre: exp.Select,
    steps: list[_MappingStep],
    load_dims: dict[DimensionType, exp.Expression],
    mapped_dims: dict[DimensionType, exp.Expression],
    kept: set[DimensionType],
    time_columns: tuple[str, ...],
    keep_time: bool,
    supplementals: tuple[SupplementalColumn, ...],
    folded: set[DimensionType],
    plan: DatasetPlan,
    memo: Memo,
    constants: dict[DimensionType, str],
    sums: list[str] = (),  # type: ignore[assignment]
) -> exp.Select:
    """The mappings of the kept columns, joined to the pre-summed rows (aliased ``e``);
    columns nobody reads come out as typed NULLs, for the union's sake, and columns a filter
    holds to one value as that value. Supplemental columns come out too: summed by already
    (folded), or joined here on their mapped base column."""
    value: exp.Expression = col(VALUE, "e")
    columns = []
    for dim_type in DIMENSION_COLUMN_ORDER:
        load = load_dims[dim_type]
        if dim_type in constants:
            # NULLIF(id, NULL) is the id, typed nullable as the stored column it stands for
            # (Spark types a bare literal NOT NULL: the schema would depend on the plan).
            expression: exp.Expression = exp.Nullif(
                this=string(constants[dim_type]), expression=exp.Null()
            )
        elif dim_type not in kept:
            expression = exp.cast(exp.Null(), sql_type("VARCHAR"))
        elif mapped_dims[dim_type] is not load:
            expression = mapped_dims[dim_type]
        elif isinstance(load, exp.Literal):
            expression = load.copy()
        else:
            expression = col(dim_type.value, "e")
        columns.append(exp.alias_(expression, dim_type.value, quoted=True, copy=False))
    for name in time_columns:
        # Not kept: never read, but typed as the time mapping expects (annual years, etc.).
        columns.append(
            exp.alias_(col(name, "e") if keep_time else exp.Null(), name, quoted=True, copy=False)
        )
    select = exp.select().from_(
        exp.Subquery(this=pre, alias=exp.TableAlias(this=ident("e"))), copy=False
    )
    for step in steps:
        if step.join is None or step.fraction is None:
            continue
        join = step.join.copy()
        if not isinstance(load_dims[step.dim_type], exp.Literal):
            # Built on the load column; on the pre-summed rows that column is e.<type>.
            on = join.args["on"]
            join.set("on", exp.EQ(this=col(step.dim_type.value, "e"), expression=on.expression))
        select = select.join(join, copy=False)
        value = exp.Mul(this=value, expression=step.fraction)
    for index, column in enumerate(supplementals):
        if column.base in folded:
            columns.append(exp.alias_(col(column.name, "e"), column.name, quoted=True, copy=False))
            continue
        mapping_input = memo(
            Shared(("supplemental", *column.key)),
            lambda column=column: ArrowInput.of(
                "map",
                arrays.from_rows(
                    [{"from_id": f, "to_id": t, "from_fraction": x} for f, t, x in column.records],
                    MAPPING_SCHEMA,
                ),
            ),
        )
        plan.inputs.append(mapping_input)
        alias = f"sp{index}"
        base = columns[DIMENSION_COLUMN_ORDER.index(column.base)].this.copy()
        select = select.join(
            exp.Table(this=ident(mapping_input.name), alias=exp.TableAlias(this=ident(alias))),
            on=exp.EQ(this=base, expression=col("from_id", alias)),
            join_type="INNER",
            copy=False,
        )
        value = exp.Mul(this=value, expression=col("from_fraction", alias))
        columns.append(exp.alias_(col("to_id", alias), column.name, quoted=True, copy=False))
    carried = [exp.alias_(value, VALUE, quoted=True, copy=False)]
    if not any(c.alias_or_name == VALUE for c in pre.expressions):
        carried = [exp.alias_(exp.cast(exp.Null(), sql_type("DOUBLE")), VALUE, quoted=True)]
    # Conditional sums computed before the mappings: weighed by the same fractions as value.
    carried += [
        exp.alias_(with_value(value, col(name, "e"), "e"), name, quoted=True) for name in sums
    ]
    return select.select(*columns, *carried, copy=False)


def with_value(expression: exp.Expression, column: exp.Column, table: str) -> exp.Expression:
    """A copy of ``expression`` (value weighed by factors) with ``column`` in place of
    ``<table>.value``."""
    tree = expression.copy()
    for node in list(tree.find_all(exp.Column)):
        if node.table == table and node.name == VALUE:
            node.replace(column.copy())
    if isinstance(tree, exp.Column) and tree.table == table and tree.name == VALUE:
        return column.copy()
    return tree


def _in_ids(expression: exp.Expression, ids: frozenset[str] | set[str]) -> exp.Expression:
    """``expression IN (ids)``; FALSE for no ids."""
    if not ids:
        return exp.false()
    return exp.In(this=expression, expressions=[string(i) for i in sorted(ids)])


def _stored_atom(
    plan: DatasetPlan,
    atom: Atom,
    load_dims: dict[DimensionType, exp.Expression],
    by_step: dict[DimensionType, _MappingStep],
    stored: Callable[..., exp.Expression | None],
) -> tuple[exp.Expression | None, str | None]:
    """A CASE condition's predicate (project ids of a dimension type) as a predicate on the
    scan's stored ids, or why it cannot be one. Exact where the dataset's mapping sends each
    stored record to one project record (fraction and unit factor aside): the record passes
    when that project record does. A stored id is never NULL (dsgrid validates load data
    against its dimension's records), so a predicate no stored id passes is FALSE."""
    dim_type = atom.dim_type
    if dim_type is DimensionType.MODEL_YEAR and isinstance(plan.time, AnnualSpread):
        # An annual dataset's model year is its time value, unmapped.
        time_value = stored(plan.time.time_column, dimension=True)
        assert time_value is not None
        return _in_ids(time_value, atom.ids), None
    if dim_type is DimensionType.GEOGRAPHY and isinstance(plan.time, ZonedTime):
        return None, "the time lookup reads each row's geography"
    load = load_dims[dim_type]
    step = by_step.get(dim_type)
    if step is None:  # stored ids are project ids
        ids: set[str] | frozenset[str] = _own_records(plan.dataset, dim_type, atom.ids)
    else:
        targets: dict[str, set[str]] = defaultdict(set)
        for from_id, to_id, _ in step.records:
            targets[from_id].add(to_id)
        if any(len(t) > 1 for t in targets.values()):
            return None, f"its {dim_type.value} mapping sends a record to several project records"
        ids = {f for f, t in targets.items() if t & atom.ids}
    if isinstance(load, exp.Literal):  # a trivial dimension: decided now
        return (exp.true() if load.this in ids else exp.false()), None
    if len(ids) > IN_LIST_MAX:
        return None, (
            f"{len(ids)} stored {dim_type.value} ids pass (a literal list holds {IN_LIST_MAX})"
        )
    return _in_ids(load.copy(), ids), None


def _in_project_range(raw: exp.Expression, mapping: DatetimeShift) -> exp.Expression:
    """Whether a stored instant, shifted and wrapped, lies in the project's range."""
    project_range = mapping.project
    if mapping.shift:
        return exp.Between(
            this=_shifted_micros(raw, mapping),
            low=_instant_micros(project_range.start),
            high=_instant_micros(project_range.end),
        )
    return exp.Between(
        this=raw.copy(),
        low=timestamp_literal(project_range.start),
        high=timestamp_literal(project_range.end),
    )


def _join_zoned_time(
    plan: DatasetPlan,
    stage2: exp.Select,
    value: exp.Expression,
    mapping: ZonedTime,
    load_schema: pa.Schema,
    time_column: str,
    sum_spread: bool,
    memo: Memo,
    zone: exp.Expression | None = None,
) -> tuple[exp.Select, exp.Expression, exp.Expression]:
    """Join each mapped row with its geography's time zone, then with the lookup of its
    stored period (or index) in that zone: one row per project timestamp it stands for.
    ``zone``: the rows carry their zone already (summed by it), no zone table is joined."""
    keys = mapping.key_columns
    if sum_spread:
        plan.spread_summed = True
    zone_input, lookup_input, weighted = memo(
        ("zoned", sum_spread, time_column),
        lambda: _zoned_inputs(plan, mapping, load_schema, time_column, sum_spread),
    )
    plan.inputs.append(lookup_input)
    if zone is None:
        plan.inputs.append(zone_input)
        stage2 = stage2.join(
            exp.Table(this=ident(zone_input.name), alias=exp.TableAlias(this=ident("z"))),
            on=exp.EQ(this=col(DimensionType.GEOGRAPHY.value, "s"), expression=col("id", "z")),
            join_type="INNER",
            copy=False,
        )
        zone = col("time_zone", "z")
    on = [exp.EQ(this=col("time_zone", "lk"), expression=zone)]
    on += [exp.EQ(this=col(k, "lk"), expression=col(k, "s")) for k in keys]
    stage2 = stage2.join(
        exp.Table(this=ident(lookup_input.name), alias=exp.TableAlias(this=ident("lk"))),
        on=exp.and_(*on),
        join_type="INNER",
        copy=False,
    )
    if weighted:
        value = exp.Mul(this=value, expression=col(FACTOR, "lk"))
    if sum_spread:
        return stage2, value, exp.cast(exp.Null(), sql_type("TIMESTAMPTZ"))
    plan.time_grouped = mapping.lookup.interpolates
    return stage2, value, col(time_column, "lk")


def _weigh_zoned_time(
    plan: DatasetPlan,
    mapping: ZonedTime,
    geography: exp.Expression,
    stored: Callable[[str], exp.Expression | None],
    load_schema: pa.Schema,
    value: exp.Expression,
    joins: list[exp.Join],
    memo: Memo,
) -> exp.Expression:
    """Zoned time nobody reads, before an early aggregate: each stored row (its geography's
    zone, its period or index) weighs the number of project timestamps it stands for."""
    keys = mapping.key_columns
    zone_input, lookup_input, _ = memo(
        ("zoned", True, None), lambda: _zoned_inputs(plan, mapping, load_schema, None, True)
    )
    plan.inputs += [zone_input, lookup_input]
    plan.spread_summed = True
    joins.append(
        exp.Join(
            this=exp.Table(this=ident(zone_input.name), alias=exp.TableAlias(this=ident("z"))),
            on=exp.EQ(this=geography.copy(), expression=col("id", "z")),
            kind="INNER",
        )
    )
    on = [exp.EQ(this=col("time_zone", "lk"), expression=col("time_zone", "z"))]
    on += [exp.EQ(this=col(k, "lk"), expression=stored(k) or col(k, "t")) for k in keys]
    joins.append(
        exp.Join(
            this=exp.Table(this=ident(lookup_input.name), alias=exp.TableAlias(this=ident("lk"))),
            on=exp.and_(*on),
            kind="INNER",
        )
    )
    return exp.Mul(this=value, expression=col(FACTOR, "lk"))


def _zoned_inputs(
    plan: DatasetPlan,
    mapping: ZonedTime,
    load_schema: pa.Schema,
    time_column: str | None,
    summed_up: bool,
) -> tuple[ArrowInput, ArrowInput, bool]:
    """The zone table and the time lookup as engine inputs (summed: one row per zone and
    stored period with the count of project timestamps it stands for), and whether the
    lookup carries factors other than 1."""
    zone_input, table = _zone_tables(plan, mapping, load_schema)
    if summed_up:
        table = summed(table, mapping.key_columns)
    else:
        table = table.rename_columns(
            [time_column if n == "instant" else n for n in table.column_names]
        )
    weighted = set(table.column(FACTOR).to_pylist()) != {1.0}
    return zone_input, ArrowInput.of("timelookup", table), weighted


LOOKUP_ZONE = "__lookup_zone"


def _lookup_zone_column(plan: DatasetPlan, mapping: ZonedTime) -> SupplementalColumn:
    """The zone the time lookup reads for each mapped geography id, as a supplemental of
    geography with fraction 1 (a record without a zone has no target: its rows drop, as the
    zone table's inner join drops them)."""
    ids, zones = _zone_records(plan, mapping)
    return SupplementalColumn(
        LOOKUP_ZONE,
        DimensionType.GEOGRAPHY,
        tuple((i, z, 1.0) for i, z in zip(ids, zones, strict=True)),
        ("lookup_zones", mapping.project_zones),
    )


def _zone_tables(
    plan: DatasetPlan, mapping: ZonedTime, load_schema: pa.Schema
) -> tuple[ArrowInput, pa.Table]:
    """The zone of each geography record, and the time lookup for those zones (its key
    columns typed as stored)."""
    ids, zones = _zone_records(plan, mapping)
    zone_input = ArrowInput.of("zones", arrays.table({"id": ids, "time_zone": zones}))
    table = mapping.lookup.table(tuple(sorted(set(zones))))
    for name in mapping.key_columns:
        stored_type = load_schema.field(name).type
        position = table.schema.get_field_index(name)
        table = table.set_column(position, name, table.column(name).cast(stored_type))
    return zone_input, table


def _zone_records(plan: DatasetPlan, mapping: ZonedTime) -> tuple[list[str], list[str]]:
    """The geography ids with a time zone and their zones (checked to be named zones)."""
    dataset = plan.dataset
    geography = (
        dataset.base_dimensions[DimensionType.GEOGRAPHY]
        if mapping.project_zones
        else dataset.dimensions[DimensionType.GEOGRAPHY]
    )
    ids, zones = [], []
    for record in geography.records:  # type: ignore[union-attr]
        zone = record.fields.get("time_zone")
        if zone:
            ids.append(record.id)
            zones.append(str(zone))
    distinct = tuple(sorted(set(zones)))
    if not distinct:
        raise CatalogError(
            f"Dataset '{dataset.dataset_id}' reads time in its geographies' time zones, but "
            f"the geography records of '{geography.name}' have none.",
            hint="dsgrid cannot map it either; the dataset may set "
            "use_project_geography_time_zone.",
        )
    for zone in distinct:
        named_zone(zone, f"Geography dimension '{geography.name}'")
    return ids, zones


Memo = Callable[[Hashable, Callable[[], Any]], Any]


def dataset_time_mapping(project: Project, dataset: ProjectDataset, memo: Memo) -> TimeMapping:
    """How the dataset's time becomes the project's; ``memo`` is the dataset's own (its key
    is the same for every column set: it parses the time ranges, a tenth of a new plan)."""
    config = dataset.config
    assert config is not None
    return memo(
        ("time",),
        lambda: plan_time_mapping(
            dataset.time_dimension,
            project.time_dimension.model if project.time_dimension else None,
            dataset.files().time_columns(),
            dataset.dataset_id,
            dataset.entry,
            config.use_project_geography_time_zone,
        ),
    )


@dataclass(frozen=True)
class Shared:
    """A memo key that names everything its value is built from (mapping ids, versions and
    filters), so the value is the same for every dataset of the registry version: one entry
    serves them all instead of one per dataset (table_plan's dataset memo keeps it as is)."""

    key: tuple[Hashable, ...]


def build_now(_key: Hashable, build: Callable[[], Any]) -> Any:
    """A Memo that keeps nothing."""
    return build()


def _micros(delta: timedelta) -> exp.Literal:
    return exp.Literal.number(delta // timedelta(microseconds=1))


def _instant_micros(instant: datetime) -> exp.Literal:
    return _micros(instant - _EPOCH)


def _shifted_micros(expression: exp.Expression, mapping: DatetimeShift) -> exp.Expression:
    """The shifted, wrapped instant as microseconds since the epoch.

    Integer arithmetic, not ``timestamptz ± INTERVAL``: DuckDB adds an interval to a
    TIMESTAMPTZ through ICU's calendar in the session zone, which made this one expression
    most of a state-totals query (1.97 s of 2.3 s at 10 M rows); on integers it is ~10× cheaper
    and means the same, because every shift here is a fixed number of microseconds.
    """
    micros: exp.Expression = exp.UnixMicros(this=expression)
    if mapping.shift > timedelta(0):
        micros = exp.Add(this=micros, expression=_micros(mapping.shift))
    elif mapping.shift:
        micros = exp.Sub(this=micros, expression=_micros(-mapping.shift))
    start = _instant_micros(mapping.project.start)
    end = _instant_micros(mapping.project.end)
    # dsgrid rolls shifted timestamps that leave the destination range back into it.
    return exp.Case(
        ifs=[
            exp.If(
                this=exp.GT(this=micros.copy(), expression=end),
                true=exp.Sub(this=micros.copy(), expression=_micros(mapping.wrap)),
            ),
            exp.If(
                this=exp.LT(this=micros.copy(), expression=start.copy()),
                true=exp.Add(this=micros.copy(), expression=_micros(mapping.wrap)),
            ),
        ],
        default=micros.copy(),
    )


def _instant_from_micros(micros: exp.Expression, dialect: str) -> exp.Expression:
    """A UTC instant from microseconds since the epoch, typed as the engine's instant type.

    DuckDB's MAKE_TIMESTAMP gives a naive TIMESTAMP whose cast to TIMESTAMPTZ goes through
    ICU again, so DuckDB gets MAKE_TIMESTAMPTZ(micros); Spark's TIMESTAMP is an instant.
    """
    if dialect == "duckdb":
        return exp.Anonymous(this="MAKE_TIMESTAMPTZ", expressions=[micros])
    return exp.UnixToTime(this=micros, scale=exp.UnixToTime.MICROS)


def _unit_factors(
    project: Project, dataset: ProjectDataset, mapping: DimensionMappingModel
) -> dict[tuple[str, str | None], float]:
    """Factor per (dataset metric id, project metric id), from the dataset record's unit to
    the project record's unit (dsgrid's convert_units_unpivoted), or none when disabled."""
    if dataset.config is None or not dataset.config.enable_unit_conversion:
        return {}
    from_units = {
        r.id: r.fields.get("unit")
        for r in dataset.dimensions[DimensionType.METRIC].records  # type: ignore[union-attr]
    }
    base = dataset.base_dimensions[DimensionType.METRIC]
    to_units = {r.id: r.fields.get("unit") for r in base.records}
    factors = {}
    for record in mapping.records:
        if record.to_id is None:
            continue
        factors[(record.from_id, record.to_id)] = unit_factor(
            from_units.get(record.from_id),
            to_units.get(record.to_id),
            context=f"'{record.from_id}' of dataset '{dataset.dataset_id}' to '{record.to_id}'",
        )
    return factors
