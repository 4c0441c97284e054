"""EXPLAIN: the mapping plan of every data table a query reads, then the engine SQL."""

from __future__ import annotations

from dsgrid_sql.rewrite.dataset_plan import LOOKUP_ZONE
from dsgrid_sql.rewrite.time_mapping import AnnualSpread, DatetimeShift, NoTimeMapping, ZonedTime
from dsgrid_sql.rewrite.time_window import shown_span
from dsgrid_sql.rewrite.translate import Translation


def explain_text(translation: Translation) -> str:
    lines: list[str] = [f"Rewritten: {said}" for said in translation.rewrites]
    for plan in translation.plans:
        table = plan.table
        lines.append(
            f"Table {table.qualified_name} (project {table.project_id} "
            f"version {table.project_version}), columns: {', '.join(plan.columns) or '(none)'}"
            + "".join(f", {c.name} := {c.shown}" for c in plan.conditional)
        )
        for dataset_plan in plan.datasets:
            dataset = dataset_plan.dataset
            config = dataset.config
            layout = config.table_format if config else "?"
            lines.append(f"  Dataset {dataset.dataset_id} version {dataset.version} ({layout})")
            files = dataset.files()
            lines.append(
                f"    scan: {files.table}"
                + (f" JOIN {files.lookup} ON id" if files.lookup else "")
            )
            for dim_type, ids in dataset_plan.scan_filters.items():
                lines.append(
                    f"    pushed filter: {dim_type.value} IN ({_shown(ids)})"
                    + (
                        " as a semi-join with a table of the ids"
                        if dim_type in dataset_plan.semi_joined
                        else ""
                    )
                )
            time = dataset_plan.time
            if dataset_plan.annual_filter is not None and isinstance(time, AnnualSpread):
                lines.append(
                    f"    pushed filter: {time.time_column} IN "
                    f"({_shown(dataset_plan.annual_filter)}) (model_year of annual data)"
                )
            if dataset_plan.time_filter is not None:
                spans = ", ".join(shown_span(s) for s in dataset_plan.time_filter)
                lines.append(
                    f"    pushed filter: stored time within {spans} (the project "
                    "instants the query's filter on time keeps, mapped back)"
                )
            if (
                not dataset_plan.scan_filters
                and dataset_plan.annual_filter is None
                and dataset_plan.time_filter is None
            ):
                lines.append("    pushed filters: none")
            if dataset_plan.aggregated_over is not None:
                over = (
                    ", ".join(_shown_column(c) for c in dataset_plan.aggregated_over)
                    or "nothing (one row)"
                )
                summed = "SUM(value)" if dataset_plan.value_summed else "the conditional sums"
                how = (
                    f"aggregated before mapping (the query only sums value): {summed} by "
                    if dataset_plan.presummed
                    else "not summed before mapping (about "
                    f"{dataset_plan.rows_per_group or 0:.1f} stored rows per group, too few "
                    "to pay): rows mapped as stored, reading only "
                )
                lines.append(
                    f"    {how}"
                    f"{over}"
                    + (
                        "; mappings of "
                        + ", ".join(t.value for t in dataset_plan.weighed)
                        + " (not read) applied as row weights"
                        if dataset_plan.weighed
                        else ""
                    )
                    + (
                        "; "
                        + ", ".join(f"{c} = '{i}'" for c, i in dataset_plan.constants)
                        + " (held to one value by the filters) as constants, not group keys"
                        if dataset_plan.constants
                        else ""
                    )
                )
            if dataset_plan.summed_by_id:
                lines.append(
                    "    load table summed by "
                    + ", ".join(dataset_plan.summed_by_id)
                    + " before the lookup join (stored time not read)"
                )
            before = [c for c, why in dataset_plan.conditional if why is None]
            if before:
                types = sorted({t.value for c in before for t in c.dim_types})
                lines.append(
                    "    conditional sums computed before mapping (their conditions decided on "
                    f"the stored ids, {', '.join(types)} not a group key): "
                    + "; ".join(f"{c.shown} as {c.name}" for c in before)
                )
            for summed, why in dataset_plan.conditional:
                if why is not None:
                    types = sorted(t.value for t in summed.dim_types)
                    lines.append(
                        f"    conditional sum {summed.shown} as {summed.name} computed after "
                        f"mapping, {', '.join(types)} "
                        f"{'stays a group key' if len(types) == 1 else 'stay group keys'} "
                        f"({why})"
                    )
            if dataset_plan.folded:
                lines.append(
                    "    supplemental " + ", ".join(dataset_plan.folded) + ": summed by in place "
                    "of the base column (dataset and supplemental mappings composed, fractions "
                    "multiplied)"
                )
            if dataset_plan.joined_after:
                lines.append(
                    "    supplemental " + ", ".join(dataset_plan.joined_after) + ": joined to the "
                    f"sums by its base column (about {dataset_plan.base_groups:,} groups, too few "
                    "for folding into the sum to pay)"
                )
            for mapping in dataset_plan.mappings:
                how = "identity, skipped" if mapping.skipped else f"{mapping.records} records"
                lines.append(
                    f"    map {mapping.dimension_type.value}: '{mapping.from_dimension}' → "
                    f"'{mapping.to_dimension}' via {mapping.mapping_id} v{mapping.version} "
                    f"({mapping.mapping_type}; {how})"
                )
                for from_id, to_id, factor in mapping.unit_factors:
                    lines.append(f"      unit conversion {from_id} → {to_id}: × {factor:g}")
            if dataset_plan.grouped:
                lines.append(
                    "    sum over the other columns (a mapping sends several records to one)"
                )
            if isinstance(time, DatetimeShift):
                shift = time.shift.total_seconds() / 3600
                lines.append(
                    f"    time: shift {shift:+g} h, wrap into "
                    f"{time.project.start:%Y-%m-%d %H:%M} – "
                    f"{time.project.end:%Y-%m-%d %H:%M} UTC ({time.project.count} periods)"
                    + (
                        "; not read, so only rows outside that range are dropped"
                        if dataset_plan.aggregated_over is not None
                        and not set(dataset.files().time_columns())
                        & set(dataset_plan.aggregated_over)
                        else ""
                    )
                )
            elif isinstance(time, AnnualSpread) and dataset_plan.spread_summed:
                lines.append(
                    f"    time: annual {time.time_column} summed over {time.project.count} "
                    f"project timestamps without spreading (the query only sums value and "
                    f"reads no time): value / {time.periods_per_year} × {time.project.count}, "
                    f"model_year := {time.time_column}"
                )
            elif isinstance(time, AnnualSpread):
                lines.append(
                    f"    time: annual {time.time_column} spread over {time.project.count} "
                    f"project timestamps, value / {time.periods_per_year}, "
                    f"model_year := {time.time_column}"
                )
            elif isinstance(time, ZonedTime):
                how = (
                    "summed over the project timestamps each stored period stands for (the "
                    "query only sums value and reads no time)"
                    if dataset_plan.spread_summed
                    else f"joined with the {time.lookup.project.count} project timestamps"
                )
                if dataset_plan.zone_folded:
                    how += " once per time zone (rows summed by zone first, not by geography)"
                lines.append(f"    time: {time.description}; {how}")
            elif isinstance(time, NoTimeMapping):
                lines.append("    time: passes through")
        projection = table.projection
        if projection is not None:
            lines.append(
                f"  projection: {projection.initial_dataset_id} grown by "
                f"{projection.growth_dataset_id} ({projection.method}"
                + (
                    f", base year {projection.base_year}"
                    if projection.base_year is not None
                    else ", base year: the lowest model year of the initial values"
                )
                + "), joined on every other dimension"
            )
        for dataset_id, why in plan.left_out:
            lines.append(f"  Dataset {dataset_id}: left out, it cannot be read ({why})")
        for dataset_id, why in plan.skipped_datasets:
            lines.append(f"  Dataset {dataset_id}: skipped, {why}")
        for column, mapping_id, version in plan.supplementals:
            lines.append(
                f"  supplemental {column}: join {mapping_id} v{version}, value × from_fraction"
            )
    lines.append("")
    lines.append(f"Engine SQL ({translation.target}):")
    lines.append(translation.ast.sql(dialect=translation.target, identify=True, pretty=True))
    return "\n".join(lines)


def _shown(ids: tuple[str, ...]) -> str:
    return ", ".join(ids[:8]) + (f", … ({len(ids)} ids)" if len(ids) > 8 else "")


def _shown_column(name: str) -> str:
    """A column the early sum groups by, as EXPLAIN names it (internal ones described)."""
    return "time zone" if name == LOOKUP_ZONE else name
