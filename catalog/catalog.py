"""The catalog: a dsgrid registry, read-only, presented as schemas of virtual tables.

``Catalog`` is the only entry point other layers use. It knows the registry (projects,
datasets, dimensions, mappings at every version) and the SQL names built from it
(DESIGN.md §3); it knows nothing of SQL text or engines.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from types import TracebackType

import pyarrow as pa

from dsgrid_sql.errors import (
    CatalogError,
    DsgridSqlError,
    ProjectionError,
    UnknownDatasetError,
    UnknownNameError,
    UnknownProjectError,
    UnknownSchemaError,
    UnknownTableError,
    UnknownVersionError,
)
from dsgrid_sql.storage import Location, StorageOptions
from dsgrid_sql.suggest import did_you_mean

from . import table_data
from .models import AnyDimensionModel, DatasetModel, DimensionMappingModel
from .names import NameAllocator
from .paths import DatasetFiles, find_dataset_files, resolve_data_root
from .project import Project, ProjectDataset
from .registry import Registration, RegistryDatabase, RegistrySource, locate_registry
from .store import ModelStore
from .tables import (
    DATA_TABLE,
    DIMENSIONS_SCHEMA_SUFFIX,
    INFORMATION_SCHEMA,
    INFORMATION_SCHEMA_TABLES,
    MAPPING_TABLE_COLUMNS,
    MAPPINGS_SCHEMA_SUFFIX,
    PROJECTION_METHODS,
    REGISTRY_SCHEMA,
    REGISTRY_TABLES,
    Projection,
    ProjectNames,
    Table,
    TableKind,
    allocate_project_names,
    data_table_columns,
    dimension_table_columns,
)

DEFAULT_CATALOG_NAME = "dsgrid"


class Catalog:
    """A dsgrid registry opened read-only.

    Example:
        >>> catalog = Catalog.open("path/to/registry.db")  # doctest: +SKIP
        >>> [t.name for t in catalog.list_tables("test_efs")]  # doctest: +SKIP
        ['data', 'test_efs_comstock', 'test_efs_comstock_unpivoted']
    """

    def __init__(
        self,
        db: RegistryDatabase,
        data_root: Location,
        name: str = DEFAULT_CATALOG_NAME,
        *,
        source: RegistrySource | None = None,
        storage_options: StorageOptions | None = None,
        previous: Catalog | None = None,
    ):
        self._db = db
        self.name = name
        # The SQLite file read: for a registry on object storage, its local cached copy.
        self.registry_path = db.path
        # What was opened, as the user named it (an s3:// URL for a remote registry).
        self.source = source or RegistrySource(db.path, db.path)
        self.storage_options = storage_options or StorageOptions()
        self.data_root = data_root
        self.key_values = db.key_values()
        self._store = ModelStore(db, None if previous is None else previous._store)
        self._projects: dict[tuple[str, str], Project] = {}
        # By (project id, version): None is the current version, whose schemas are listed.
        self._tables: dict[tuple[str, str | None], dict[str, dict[str, Table]]] = {}
        self._names: dict[tuple[str, str | None], ProjectNames] = {}

    @classmethod
    def open(
        cls,
        location: str | Path | RegistrySource,
        *,
        data_path: str | Location | None = None,
        name: str = DEFAULT_CATALOG_NAME,
        storage_options: StorageOptions | dict | list | None = None,
        previous: Catalog | None = None,
    ) -> Catalog:
        """Open a registry by its ``registry.db``, its folder, a ``sqlite:///`` URL, or an
        ``s3://`` URL of either (fetched into a local cache; ``storage_options`` say how to
        reach the store, beside the standard AWS environment variables). ``previous``, the
        catalog of the same registry this one replaces, lends the JSON text of unchanged rows
        and what was read from them for VERSION AS OF (each project version's datasets)."""
        options = StorageOptions.parse(storage_options)
        source = locate_registry(location, options)
        db = RegistryDatabase(source.local, previous=None if previous is None else previous._db)
        try:
            data_root = resolve_data_root(
                source.location, db.key_values().get("data_path"), data_path, options
            )
            return cls(
                db, data_root, name, source=source, storage_options=options, previous=previous
            )
        except BaseException:
            db.close()
            raise

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the registry --------------------------------------------------------------------------

    def registrations(self) -> list[Registration]:
        return self._db.registrations()

    def list_project_ids(self) -> list[str]:
        return self._store.ids("project")

    def project_versions(self, project_id: str) -> list[str]:
        self._check_project(project_id)
        return self._store.versions("project", project_id)

    def project(self, project_id: str, version: str | None = None) -> Project:
        """A project at ``version`` (default: current). Every version stays reachable.

        A project whose config or base dimensions cannot be read is an error naming it; any
        other part that cannot be read is left out of it (Project.all_problems)."""
        self._check_project(project_id)
        try:
            model = self._store.project(project_id, version)
            key = (project_id, model.version)
            project = self._projects.get(key)
            if project is None:
                project = Project(model, self._store, self.data_root)
                self._projects[key] = project
            return project
        except UnknownNameError:
            raise  # a version that does not exist is the caller's mistake, not the registry's
        except DsgridSqlError as exc:
            label = version or self._store.current_version("project", project_id)
            raise CatalogError(
                f"Project '{project_id}' version {label} cannot be read: "
                f"{exc.message.rstrip('.')}.",
                hint="The rest of the registry works; the project needs repairing in the "
                "registry.",
            ) from None

    def version_rows(self) -> list[tuple[str, str, str, bool, int]]:
        """Every registered version of every model (registry.versions)."""
        return self._store.version_rows()

    def registered_at(self, model_type: str, model_id: str, version: str) -> str:
        """When a version was registered (the registry's timestamp text)."""
        return self._store.registered_at(model_type, model_id, version)

    def version_as_of(self, model_type: str, model_id: str, when: datetime) -> str:
        """The version of a model that was current at ``when`` by the registry's
        registration history (the latest registered at or before it)."""
        known = [
            (parse_registry_time(self.registered_at(model_type, model_id, v)), v)
            for v in self._store.versions(model_type, model_id)
        ]
        if not known:
            raise UnknownNameError(f"The registry has no {model_type} '{model_id}'.")
        earlier = [item for item in known if item[0] <= when]
        if not earlier:
            first_time, first = min(known)
            raise UnknownVersionError(
                f"The {model_type} '{model_id}' did not exist at {when.isoformat(sep=' ')}: "
                f"its first version ({first}) was registered at {first_time.isoformat(sep=' ')}."
            )
        return max(earlier)[1]

    def project_version_with_dataset(
        self, project_id: str, dataset_id: str, dataset_version: str
    ) -> str:
        """The latest project version whose config names ``dataset_id`` at
        ``dataset_version`` (how a dataset table is read at a dataset version)."""
        named: list[str] = []
        found: str | None = None
        for version, datasets in self._store.project_datasets(project_id):
            for entry_id, entry_version in datasets:
                if entry_id == dataset_id and entry_version:
                    if entry_version not in named:
                        named.append(entry_version)
                    if entry_version == dataset_version:
                        found = version
        if found is None:
            raise UnknownVersionError(
                f"No version of project '{project_id}' holds dataset '{dataset_id}' at version "
                f"{dataset_version}; its versions there are {', '.join(named) or 'none'}.",
                suggestion=did_you_mean(dataset_version, named),
            )
        return found

    def project_problem(self, project_id: str) -> str | None:
        """Why the current version of a project cannot be read, or None."""
        try:
            self.project(project_id)
        except CatalogError as exc:
            return exc.message
        return None

    def readable_projects(self) -> list[Project]:
        """The current version of every project that can be read."""
        return [
            self.project(p) for p in self.list_project_ids() if self.project_problem(p) is None
        ]

    def problems(self, schema: str | None = None) -> list[str]:
        """Every part of the registry left out because it cannot be read, one sentence each:
        projects, their datasets, supplemental dimensions and mappings, and other current
        datasets, dimensions and mappings; with ``schema``, what that project schema
        leaves out."""
        found: list[str] = []
        if schema is not None:
            if schema not in self.list_project_ids():
                return []
            problem = self.project_problem(schema)
            return [problem] if problem else self.project(schema).all_problems()
        for project_id in self.list_project_ids():
            problem = self.project_problem(project_id)
            if problem is not None:
                found.append(problem)
            else:
                found += self.project(project_id).all_problems()
        for model_type in ("dataset", "dimension", "dimension_mapping"):
            for model_id in self._store.ids(model_type):
                problem = self.model_problem(model_type, model_id)
                if problem is not None and not any(model_id in f for f in found):
                    found.append(problem)
        return found

    def model_problems(self, model_type: str) -> list[tuple[str, str]]:
        """(id, why) of every current model of a type that cannot be read."""
        found = [(i, self.model_problem(model_type, i)) for i in self._store.ids(model_type)]
        return [(i, p) for i, p in found if p is not None]

    def model_problem(self, model_type: str, model_id: str) -> str | None:
        """Why the current version of a dataset, dimension or mapping cannot be read."""
        store = self._store
        version = store.current_version(model_type, model_id)
        try:
            if model_type == "dataset":
                store.dataset(model_id, version)
            elif model_type == "dimension":
                store.dimension(model_id, version or "")
            else:
                store.mapping(model_id, version or "")
        except DsgridSqlError as exc:
            return exc.message
        return None

    def list_dataset_ids(self) -> list[str]:
        return self._store.ids("dataset")

    def dataset_versions(self, dataset_id: str) -> list[str]:
        self._check_dataset(dataset_id)
        return self._store.versions("dataset", dataset_id)

    def dataset(self, dataset_id: str, version: str | None = None) -> DatasetModel:
        self._check_dataset(dataset_id)
        return self._store.dataset(dataset_id, version)

    def dataset_files(self, dataset_id: str, version: str | None = None) -> DatasetFiles:
        model = self.dataset(dataset_id, version)
        return find_dataset_files(
            self.data_root,
            dataset_id,
            model.version,
            two_table=model.table_format == "two_table",
        )

    def current_dimensions(self) -> list[AnyDimensionModel]:
        """Current versions of every readable dimension (model_problem says why not)."""
        store = self._store
        return [
            store.dimension(i, store.current_version("dimension", i) or "")
            for i in store.ids("dimension")
            if self.model_problem("dimension", i) is None
        ]

    def current_mappings(self) -> list[DimensionMappingModel]:
        """Current versions of every readable mapping (model_problem says why not)."""
        store = self._store
        return [
            store.mapping(i, store.current_version("dimension_mapping", i) or "")
            for i in store.ids("dimension_mapping")
            if self.model_problem("dimension_mapping", i) is None
        ]

    def current_version(self, model_type: str, model_id: str) -> str | None:
        return self._store.current_version(model_type, model_id)

    def find_dimension(self, dimension_id: str, version: str) -> AnyDimensionModel | None:
        if version not in self._store.versions("dimension", dimension_id):
            return None
        return self._store.dimension(dimension_id, version)

    def _check_project(self, project_id: str) -> None:
        ids = self.list_project_ids()
        if project_id not in ids:
            raise UnknownProjectError(
                f"The registry has no project '{project_id}'.",
                suggestion=did_you_mean(project_id, ids),
                hint=f"Projects: {', '.join(ids)}." if ids else "The registry holds no project.",
            )

    def _check_dataset(self, dataset_id: str) -> None:
        ids = self.list_dataset_ids()
        if dataset_id not in ids:
            raise UnknownDatasetError(
                f"The registry has no dataset '{dataset_id}'.",
                suggestion=did_you_mean(dataset_id, ids),
            )

    # -- the virtual catalog -------------------------------------------------------------------

    def project_names(self, project_id: str, version: str | None = None) -> ProjectNames:
        """Column and table names of a project (at ``version``; default the current one)."""
        if version is not None and version == self._store.current_version("project", project_id):
            version = None
        names = self._names.get((project_id, version))
        if names is None:
            names = allocate_project_names(self.project(project_id, version))
            self._names[(project_id, version)] = names
        return names

    def project_table_names(self, project_id: str) -> dict[str, str]:
        """Submitted dataset id → its table name in the project schema."""
        return {
            t.dataset_ids[0]: t.name
            for t in self._project_schemas(project_id)[project_id].values()
            if t.kind is TableKind.DATASET
        }

    def list_schemas(self) -> list[str]:
        schemas: list[str] = []
        for project_id in self.list_project_ids():
            schemas += [
                project_id,
                project_id + DIMENSIONS_SCHEMA_SUFFIX,
                project_id + MAPPINGS_SCHEMA_SUFFIX,
            ]
        return [*schemas, REGISTRY_SCHEMA, INFORMATION_SCHEMA]

    def schema_remarks(self, schema: str) -> str:
        if schema == REGISTRY_SCHEMA:
            return "The registry itself: projects, datasets, dimensions, mappings."
        if schema == INFORMATION_SCHEMA:
            return "Standard views of the catalog's schemas, tables and columns."
        for project_id in self.list_project_ids():
            if schema == project_id:
                return f"Project {project_id}: data mapped onto its base dimensions."
            if schema == project_id + DIMENSIONS_SCHEMA_SUFFIX:
                return f"Dimension records of project {project_id}."
            if schema == project_id + MAPPINGS_SCHEMA_SUFFIX:
                return f"Dimension mappings of project {project_id}."
        return ""

    def list_tables(self, schema: str | None = None) -> list[Table]:
        if schema is not None:
            return list(self._schema_tables(schema).values())
        return [t for s in self.list_schemas() for t in self._schema_tables(s).values()]

    def get_table(self, schema: str, name: str) -> Table:
        tables = self._schema_tables(schema)
        table = tables.get(name)
        if table is None:
            self.check_left_out(schema, name)
            raise UnknownTableError(
                f"Schema '{schema}' has no table '{name}'.",
                suggestion=did_you_mean(name, list(tables)),
            )
        return table

    @property
    def default_schema(self) -> str | None:
        """The schema unqualified names resolve in: the project, when there is one."""
        projects = self.list_project_ids()
        return projects[0] if len(projects) == 1 else None

    def resolve_table(self, name: str, default_schema: str | None = None) -> Table:
        """A table by ``schema.table`` or by bare name.

        A bare name is looked up in ``default_schema`` (or the catalog's default schema),
        then in every schema; a name found in several schemas is an error naming them.
        """
        schema, table_name = split_table_name(name)
        if schema is not None:
            return self.get_table(schema, table_name)
        default = default_schema or self.default_schema
        if default is not None:
            found = self.find_table(default, table_name)
            if found is not None:
                return found
        matches = [t for t in self.list_tables() if t.name == table_name]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            options = ", ".join(t.qualified_name for t in matches)
            raise UnknownTableError(
                f"Table name '{table_name}' is ambiguous: it exists as {options}.",
                hint="Qualify it with its schema.",
            )
        raise UnknownTableError(
            f"No schema has a table '{table_name}'.",
            suggestion=did_you_mean(table_name, [t.name for t in self.list_tables()]),
        )

    def projection_table(self, project_id: str, projection: Projection) -> Table:
        """``<project>.projected(initial, growth, ...)``: the initial-value dataset grown by the
        growth-rate dataset, with the initial dataset's columns (tables.Projection)."""
        project = self.project(project_id)
        submitted = {d.dataset_id: d for d in project.submitted_datasets}

        def dataset(dataset_id: str, role: str) -> ProjectDataset:
            found = submitted.get(dataset_id)
            if found is None:
                raise UnknownDatasetError(
                    f"Project '{project_id}' has no submitted dataset '{dataset_id}' to use "
                    f"as the {role}.",
                    suggestion=did_you_mean(dataset_id, list(submitted)),
                )
            return found

        initial = dataset(projection.initial_dataset_id, "initial-value dataset")
        growth = dataset(projection.growth_dataset_id, "growth-rate dataset")
        if initial.is_growth_rate or not initial.has_time:
            raise ProjectionError(
                f"'{initial.dataset_id}' holds growth rates or has no time; the first argument "
                "of projected() is the initial-value dataset."
            )
        if growth.has_time and not growth.is_growth_rate:
            raise ProjectionError(
                f"'{growth.dataset_id}' is a quantity dataset with time, not growth rates; the "
                "second argument of projected() is the growth-rate dataset."
            )
        if projection.method not in PROJECTION_METHODS:
            raise ProjectionError(
                f"Unknown construction method '{projection.method}'.",
                suggestion=did_you_mean(projection.method, PROJECTION_METHODS),
                hint=f"Methods: {', '.join(PROJECTION_METHODS)}.",
            )
        years = initial.model_years()
        if projection.base_year is not None and str(projection.base_year) not in years:
            raise ProjectionError(
                f"base_year {projection.base_year} is not a model year of "
                f"'{initial.dataset_id}' ({', '.join(years)}).",
            )
        if len(project.dataset_groups([initial, growth])) > 1:
            raise ProjectionError(
                f"'{initial.dataset_id}' and '{growth.dataset_id}' map onto different base "
                "dimensions, so their rows cannot be joined."
            )
        names = self.project_names(project_id)
        key = "\x1f".join(
            (initial.dataset_id, growth.dataset_id, projection.method, str(projection.base_year))
        )
        name = f"projected__{hashlib.sha1(key.encode()).hexdigest()[:8]}"
        return Table(
            self.name,
            project_id,
            name,
            TableKind.PROJECTION,
            data_table_columns(project, names, (initial.dataset_id,)),
            f"Dataset {initial.dataset_id} grown by {growth.dataset_id} ({projection.method}).",
            project_id=project_id,
            project_version=project.version,
            dataset_ids=(initial.dataset_id, growth.dataset_id),
            projection=projection,
        )

    def check_left_out(self, schema: str, name: str) -> None:
        """A table the catalog leaves out is an error saying why: a project that cannot be
        read, or a submitted dataset of a project that cannot."""
        for project_id in self.list_project_ids():
            if schema not in (
                project_id,
                project_id + DIMENSIONS_SCHEMA_SUFFIX,
                project_id + MAPPINGS_SCHEMA_SUFFIX,
            ):
                continue
            self.project(project_id)  # an unreadable project is the error
            if schema != project_id:
                return
            for dataset in self.project(project_id).broken_datasets:
                error = dataset.error
                if error is not None and dataset.dataset_id.lower() == name.lower():
                    # The reading error itself, of its own kind (a data file error stays one).
                    raise type(error)(
                        f"{error.message.rstrip('.')}; it is left out of project '{project_id}'.",
                        hint=error.hint
                        or "Every other table works; the dataset needs repairing in the registry.",
                    )

    def find_table(self, schema: str, name: str) -> Table | None:
        if schema not in self.list_schemas() and split_schema_version(schema)[1] is None:
            return None
        return self._schema_tables(schema).get(name)

    def table_data(self, table: Table) -> pa.Table:
        """Rows of a registry, information_schema, dimension or mapping table."""
        if table.kind is TableKind.REGISTRY:
            return table_data.registry_rows(self, table)
        if table.kind is TableKind.INFORMATION_SCHEMA:
            return table_data.information_schema_rows(self, table)
        if table.kind is TableKind.DIMENSION:
            assert table.project_id and table.source
            project = self.project(table.project_id, table.project_version)
            dim = self._dimension_in(project, table.source)
            return table_data.dimension_rows(dim, table.columns)
        if table.kind is TableKind.MAPPING:
            assert table.source
            mapping = self._store.mapping(*table.source)
            return table_data.mapping_rows(mapping, table.columns)
        raise ValueError(f"{table.qualified_name} is a data table; the query path computes it")

    def _schema_tables(self, schema: str) -> dict[str, Table]:
        base, version = split_schema_version(schema)
        if version is not None:
            project_id = self._project_of_schema(base)
            if project_id is None:
                raise UnknownSchemaError(
                    f"The catalog has no schema '{base}' to read at version {version}.",
                    suggestion=did_you_mean(base, self.list_project_ids()),
                )
            self.project(project_id, version)  # an unknown version names the ones there are
            return self._project_schemas(project_id, version)[schema]
        if schema == REGISTRY_SCHEMA:
            return self._fixed_schemas[REGISTRY_SCHEMA]
        if schema == INFORMATION_SCHEMA:
            return self._fixed_schemas[INFORMATION_SCHEMA]
        for project_id in self.list_project_ids():
            if schema in (
                project_id,
                project_id + DIMENSIONS_SCHEMA_SUFFIX,
                project_id + MAPPINGS_SCHEMA_SUFFIX,
            ):
                return self._project_schemas(project_id)[schema]
        schemas = self.list_schemas()
        raise UnknownSchemaError(
            f"The catalog has no schema '{schema}'.", suggestion=did_you_mean(schema, schemas)
        )

    @cached_property
    def _fixed_schemas(self) -> dict[str, dict[str, Table]]:
        def build(schema: str, kind: TableKind, spec: dict) -> dict[str, Table]:
            return {
                name: Table(self.name, schema, name, kind, columns, remarks)
                for name, (remarks, columns) in spec.items()
            }

        return {
            REGISTRY_SCHEMA: build(REGISTRY_SCHEMA, TableKind.REGISTRY, REGISTRY_TABLES),
            INFORMATION_SCHEMA: build(
                INFORMATION_SCHEMA, TableKind.INFORMATION_SCHEMA, INFORMATION_SCHEMA_TABLES
            ),
        }

    def _project_of_schema(self, schema: str) -> str | None:
        """The project a project, dimensions or mappings schema belongs to."""
        for project_id in self.list_project_ids():
            if schema in (
                project_id,
                project_id + DIMENSIONS_SCHEMA_SUFFIX,
                project_id + MAPPINGS_SCHEMA_SUFFIX,
            ):
                return project_id
        return None

    def versioned_schema(self, schema: str, version: str) -> str:
        """The name of ``schema`` read at a project ``version`` (``test_efs@1.1.0``); the
        current version's schema keeps its plain name."""
        project_id = self._project_of_schema(schema)
        if project_id is None:
            raise UnknownSchemaError(
                f"Schema '{schema}' is not a project's, so it has no versions.",
                hint=f"Projects: {', '.join(self.list_project_ids())}.",
            )
        self.project(project_id, version)  # an unknown version names the ones there are
        if version == self._store.current_version("project", project_id):
            return schema
        return f"{schema}{VERSION_MARK}{version}"

    def _project_schemas(
        self, project_id: str, version: str | None = None
    ) -> dict[str, dict[str, Table]]:
        if version is not None:
            cached = self._tables.get((project_id, version))
            if cached is None:
                cached = self._build_project_schemas(project_id, version)
                self._tables[(project_id, version)] = cached
            return cached
        cached = self._tables.get((project_id, None))
        if cached is None:
            if self.project_problem(project_id) is not None:
                # Listed, with no tables: naming one says why (check_left_out). Kept like a
                # readable project's tables, so the model is not parsed again per lookup.
                cached = {
                    project_id: {},
                    project_id + DIMENSIONS_SCHEMA_SUFFIX: {},
                    project_id + MAPPINGS_SCHEMA_SUFFIX: {},
                }
            else:
                cached = self._build_project_schemas(project_id)
            self._tables[(project_id, None)] = cached
        return cached

    def _build_project_schemas(
        self, project_id: str, version: str | None = None
    ) -> dict[str, dict[str, Table]]:
        project = self.project(project_id, version)
        names = self.project_names(project_id, version)
        common = {"project_id": project_id, "project_version": project.version}
        suffix = "" if version is None else f"{VERSION_MARK}{version}"
        data_schema = project_id + suffix

        data_tables: dict[str, Table] = {}
        submitted = project.submitted_datasets
        stacked = project.stacked_datasets
        left_out = [d.dataset_id for d in submitted if d not in stacked]
        data_tables[DATA_TABLE] = Table(
            self.name,
            data_schema,
            DATA_TABLE,
            TableKind.DATA,
            data_table_columns(project, names, timed=project.has_time),
            f"Every dataset submitted to {project_id}, mapped onto its base dimensions and "
            "stacked (duplicates kept)"
            + (
                f"; growth rates and data without time are not stacked ({', '.join(left_out)})."
                if left_out
                else "."
            ),
            dataset_ids=tuple(d.dataset_id for d in stacked),
            **common,
        )
        table_names = NameAllocator({DATA_TABLE})
        for dataset in submitted:
            name = table_names.allocate(dataset.dataset_id)
            kind = "growth rates" if dataset.is_growth_rate else "Dataset"
            data_tables[name] = Table(
                self.name,
                data_schema,
                name,
                TableKind.DATASET,
                data_table_columns(project, names, (dataset.dataset_id,), timed=dataset.has_time),
                f"{kind} {dataset.dataset_id} version {dataset.version}, mapped onto the "
                f"base dimensions of {project_id}.",
                dataset_ids=(dataset.dataset_id,),
                **common,
            )

        dims_schema = project_id + DIMENSIONS_SCHEMA_SUFFIX + suffix
        dimension_tables: dict[str, Table] = {}
        by_key = {(d.dimension_id, d.version): d for d in self._all_project_dimensions(project)}
        for key, table_name in names.dimension_tables.items():
            dim = by_key[key]
            dimension_tables[table_name] = Table(
                self.name,
                dims_schema,
                table_name,
                TableKind.DIMENSION,
                dimension_table_columns(dim),
                f"Records of {dim.category.value} {dim.type.value} dimension '{dim.name}'.",
                source=key,
                **common,
            )

        maps_schema = project_id + MAPPINGS_SCHEMA_SUFFIX + suffix
        mapping_tables: dict[str, Table] = {}
        mapping_names = NameAllocator()
        for mapping, purpose in self._project_mappings(project):
            from_key = (mapping.from_dimension.dimension_id, mapping.from_dimension.version)
            to_key = (mapping.to_dimension.dimension_id, mapping.to_dimension.version)
            from_table = names.dimension_tables.get(from_key)
            to_table = names.dimension_tables.get(to_key)
            if from_table is None or to_table is None:
                continue
            table_name = mapping_names.allocate(f"{from_table}__{to_table}")
            mapping_tables[table_name] = Table(
                self.name,
                maps_schema,
                table_name,
                TableKind.MAPPING,
                MAPPING_TABLE_COLUMNS,
                f"{purpose} mapping {mapping.mapping_id} version {mapping.version} "
                f"({mapping.mapping_type}): '{by_key[from_key].name}' → '{by_key[to_key].name}'.",
                source=(mapping.mapping_id, mapping.version),
                **common,
            )
        return {
            data_schema: data_tables,
            dims_schema: dimension_tables,
            maps_schema: mapping_tables,
        }

    @staticmethod
    def _all_project_dimensions(project: Project) -> list:
        dims = list(project.dimensions)
        for dataset in project.submitted_datasets:
            for mapping in dataset.mappings:
                dims.append(mapping.from_dimension)
        return dims

    @staticmethod
    def _project_mappings(project: Project) -> list[tuple[DimensionMappingModel, str]]:
        seen: set[tuple[str, str]] = set()
        result: list[tuple[DimensionMappingModel, str]] = []
        for dim in project.supplemental_dimensions:
            if dim.base_mapping is not None:
                key = (dim.base_mapping.mapping_id, dim.base_mapping.version)
                if key not in seen:
                    seen.add(key)
                    result.append((dim.base_mapping, "Base-to-supplemental"))
        for dataset in project.submitted_datasets:
            for mapping in dataset.mappings:
                key = (mapping.model.mapping_id, mapping.model.version)
                if key not in seen:
                    seen.add(key)
                    result.append((mapping.model, f"Dataset-to-project ({dataset.dataset_id})"))
        return result

    def _dimension_in(self, project: Project, key: tuple[str, str]):  # type: ignore[no-untyped-def]
        for dim in self._all_project_dimensions(project):
            if (dim.dimension_id, dim.version) == key:
                return dim
        raise UnknownTableError(f"Project '{project.project_id}' has no dimension {key[0]}.")


VERSION_MARK = "@"


def parse_registry_time(text: str) -> datetime:
    """A registration timestamp as a naive UTC datetime (dsgrid writes them without a zone;
    the registries we know were written in UTC)."""
    parsed = datetime.fromisoformat(text.strip())
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def split_schema_version(schema: str) -> tuple[str, str | None]:
    """``test_efs@1.1.0`` → ("test_efs", "1.1.0"); a schema without a version → (it, None)."""
    base, mark, version = schema.partition(VERSION_MARK)
    return (base, version) if mark and version else (schema, None)


def split_table_name(name: str) -> tuple[str | None, str]:
    """``schema.table`` → (schema, table); a bare name has no schema. Double quotes around
    a part keep dots inside it (``"my.schema"."t"``).

    Example:
        >>> split_table_name('test_efs.data')
        ('test_efs', 'data')
        >>> split_table_name('"US States"')
        (None, 'US States')
    """
    parts: list[str] = []
    current = ""
    quoted = False
    i = 0
    while i < len(name):
        char = name[i]
        if char == '"':
            if quoted and i + 1 < len(name) and name[i + 1] == '"':
                current += '"'
                i += 1
            else:
                quoted = not quoted
        elif char == "." and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
        i += 1
    parts.append(current)
    if len(parts) == 1:
        return None, parts[0]
    return ".".join(parts[:-1]), parts[-1]
