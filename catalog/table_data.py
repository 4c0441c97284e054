"""Rows of the catalog's own tables, as Arrow: registry, dimension, mapping and
information_schema tables. Data tables are computed by the query path instead."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from . import arrays
from .models import RecordDimensionModel
from .tables import Column, Table, sql_type_name

if TYPE_CHECKING:
    from .catalog import Catalog
    from .models import DimensionMappingModel
    from .project import ProjectDimension


def rows_to_table(columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> pa.Table:
    schema = pa.schema([c.field for c in columns])
    data = list(zip(*rows, strict=True)) if rows else []
    if not data:
        return schema.empty_table()
    return pa.Table.from_arrays(
        [arrays.array(list(values), c.type) for values, c in zip(data, columns, strict=True)],
        schema=schema,
    )


def dimension_rows(dim: ProjectDimension, columns: Sequence[Column]) -> pa.Table:
    extra = [c.name for c in columns[2:]]
    rows = [
        (
            r.id,
            r.name,
            *(_coerce(r.fields.get(n), c.type) for n, c in zip(extra, columns[2:], strict=True)),
        )
        for r in dim.records
    ]
    return rows_to_table(columns, rows)


def mapping_rows(mapping: DimensionMappingModel, columns: Sequence[Column]) -> pa.Table:
    rows = [(r.from_id, r.to_id, r.from_fraction) for r in mapping.records]
    return rows_to_table(columns, rows)


def information_schema_rows(catalog: Catalog, table: Table) -> pa.Table:
    if table.name == "schemata":
        rows: list[tuple[Any, ...]] = [
            (catalog.name, schema, catalog.schema_remarks(schema))
            for schema in catalog.list_schemas()
        ]
    elif table.name == "tables":
        rows = [
            (t.catalog, t.schema, t.name, t.table_type, t.remarks) for t in catalog.list_tables()
        ]
    else:
        rows = [
            (
                t.catalog,
                t.schema,
                t.name,
                c.name,
                position,
                sql_type_name(c.type),
                "YES" if c.nullable else "NO",
                c.remarks,
            )
            for t in catalog.list_tables()
            for position, c in enumerate(t.columns, start=1)
        ]
    return rows_to_table(table.columns, rows)


def registry_rows(catalog: Catalog, table: Table) -> pa.Table:
    builder = _REGISTRY_BUILDERS[table.name]
    return rows_to_table(table.columns, builder(catalog))


def _projects(catalog: Catalog) -> list[tuple[Any, ...]]:
    rows = []
    for project_id in catalog.list_project_ids():
        versions = ", ".join(catalog.project_versions(project_id))
        problem = catalog.project_problem(project_id)
        if problem is not None:
            version = catalog.current_version("project", project_id)
            rows.append((project_id, version, None, None, None, versions, None, None, problem))
            continue
        project = catalog.project(project_id)
        model = project.model
        left_out = project.all_problems()
        rows.append(
            (
                project_id,
                model.version,
                model.name,
                model.status,
                model.description,
                versions,
                len(model.datasets),
                len(project.submitted_datasets),
                " ".join(left_out) if left_out else None,
            )
        )
    return rows


def _datasets(catalog: Catalog) -> list[tuple[Any, ...]]:
    submitted: dict[str, list[str]] = {}
    problems: dict[str, str] = {}
    for project in catalog.readable_projects():
        for ds in project.submitted_datasets:
            submitted.setdefault(ds.dataset_id, []).append(project.project_id)
        for ds in project.broken_datasets:
            problems.setdefault(ds.dataset_id, ds.problem or "")
    rows = []
    for dataset_id in catalog.list_dataset_ids():
        problem = catalog.model_problem("dataset", dataset_id)
        if problem is not None:
            version = catalog.current_version("dataset", dataset_id)
            rows.append((dataset_id, version, *([None] * 7), problem))
            continue
        model = catalog.dataset(dataset_id)
        rows.append(
            (
                dataset_id,
                model.version,
                model.dataset_type,
                model.table_format,
                model.qualifier_type,
                model.data_source,
                model.description,
                ", ".join(catalog.dataset_versions(dataset_id)),
                ", ".join(submitted.get(dataset_id, [])),
                problems.get(dataset_id),
            )
        )
    return rows


def _project_datasets(catalog: Catalog) -> list[tuple[Any, ...]]:
    rows = []
    for project in catalog.readable_projects():
        project_id = project.project_id
        names = catalog.project_table_names(project_id)
        for ds in project.datasets:
            rows.append(
                (
                    project_id,
                    project.version,
                    ds.dataset_id,
                    ds.entry.version,
                    ds.entry.status,
                    ds.entry.dataset_type,
                    ds.config is not None,
                    names.get(ds.dataset_id),
                    ds.problem,
                )
            )
    return rows


def _project_dimensions(catalog: Catalog) -> list[tuple[Any, ...]]:
    rows = []
    for project in catalog.readable_projects():
        project_id = project.project_id
        names = catalog.project_names(project_id)
        for dim in project.dimensions:
            if dim.category.value == "base":
                column = names.base_columns.get(dim.type) or (
                    names.time_columns[0].name if names.time_columns else None
                )
            else:
                column = names.supplemental_columns.get(dim.name)
            rows.append(
                (
                    project_id,
                    project.version,
                    dim.name,
                    dim.type.value,
                    dim.category.value,
                    column,
                    names.dimension_tables.get((dim.dimension_id, dim.version)),
                    dim.dimension_id,
                    dim.version,
                    len(dim.records),
                )
            )
    return rows


def _dimensions(catalog: Catalog) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = [
        (i, catalog.current_version("dimension", i), *([None] * 6), problem)
        for i, problem in catalog.model_problems("dimension")
    ]
    for dimension in catalog.current_dimensions():
        rows.append(
            (
                dimension.dimension_id,
                dimension.version,
                dimension.name,
                dimension.type.value,
                dimension.class_name,
                getattr(dimension, "time_type", None),
                dimension.description,
                len(dimension.records) if isinstance(dimension, RecordDimensionModel) else 0,
                None,
            )
        )
    return rows


def _dimension_records(catalog: Catalog) -> list[tuple[Any, ...]]:
    rows = []
    for dimension in catalog.current_dimensions():
        if not isinstance(dimension, RecordDimensionModel):
            continue
        for r in dimension.records:
            fields = r.fields
            rows.append(
                (
                    dimension.dimension_id,
                    dimension.version,
                    dimension.name,
                    dimension.type.value,
                    r.id,
                    r.name,
                    json.dumps(fields, sort_keys=True) if fields else None,
                )
            )
    return rows


def _dimension_mappings(catalog: Catalog) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = [
        (i, catalog.current_version("dimension_mapping", i), *([None] * 8), problem)
        for i, problem in catalog.model_problems("dimension_mapping")
    ]
    for mapping in catalog.current_mappings():
        from_dim = catalog.find_dimension(
            mapping.from_dimension.dimension_id, mapping.from_dimension.version
        )
        to_dim = catalog.find_dimension(
            mapping.to_dimension.dimension_id, mapping.to_dimension.version
        )
        rows.append(
            (
                mapping.mapping_id,
                mapping.version,
                mapping.mapping_type,
                mapping.from_dimension.dimension_id,
                from_dim.name if from_dim else None,
                mapping.to_dimension.dimension_id,
                to_dim.name if to_dim else None,
                mapping.from_dimension.type.value,
                mapping.description,
                len(mapping.records),
                None,
            )
        )
    return rows


def _mapping_records(catalog: Catalog) -> list[tuple[Any, ...]]:
    return [
        (m.mapping_id, m.version, r.from_id, r.to_id, r.from_fraction)
        for m in catalog.current_mappings()
        for r in m.records
    ]


def _registrations(catalog: Catalog) -> list[tuple[Any, ...]]:
    return [
        (r.id, r.timestamp, r.submitter, r.update_type, r.log_message)
        for r in catalog.registrations()
    ]


def _versions(catalog: Catalog) -> list[tuple[Any, ...]]:
    registrations = {r.id: r for r in catalog.registrations()}
    rows = []
    for model_type, model_id, version, current, registration_id in catalog.version_rows():
        found = registrations.get(registration_id)
        rows.append(
            (
                model_type, model_id, version, current, registration_id,
                found.timestamp if found else None,
                found.submitter if found else None,
                found.log_message if found else None,
            )
        )  # fmt: skip
    return rows


_REGISTRY_BUILDERS = {
    "projects": _projects,
    "datasets": _datasets,
    "project_datasets": _project_datasets,
    "project_dimensions": _project_dimensions,
    "dimensions": _dimensions,
    "dimension_records": _dimension_records,
    "dimension_mappings": _dimension_mappings,
    "mapping_records": _mapping_records,
    "registrations": _registrations,
    "versions": _versions,
}


def _coerce(value: Any, arrow_type: pa.DataType) -> Any:
    if value is None:
        return None
    if pa.types.is_string(arrow_type) and not isinstance(value, str):
        return json.dumps(value) if isinstance(value, dict | list) else str(value)
    return value
