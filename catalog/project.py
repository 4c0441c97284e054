"""A project version resolved against the registry: its dimensions, mappings and datasets.

Everything here is derived from the project JSON plus the models it references by
(type, id, version); nothing is read from Parquet until a caller asks for a dataset's files.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import TypeVar

import pyarrow as pa

from dsgrid_sql.errors import CatalogError, DsgridSqlError, UnknownDimensionError
from dsgrid_sql.suggest import did_you_mean

from .models import (
    AnnualTimeDimensionModel,
    AnyDimensionModel,
    DatasetModel,
    DimensionMappingModel,
    DimensionType,
    NoOpTimeDimensionModel,
    ProjectDatasetModel,
    ProjectModel,
    RecordDimensionModel,
)
from .paths import DatasetFiles, find_dataset_files
from .store import ModelStore

T = TypeVar("T")


class DimensionCategory(StrEnum):
    BASE = "base"
    SUPPLEMENTAL = "supplemental"
    SUBSET = "subset"
    DATASET = "dataset"


@dataclass(frozen=True)
class ProjectDimension:
    """A dimension as one project uses it.

    ``base_mapping`` is the base→supplemental mapping for a supplemental dimension;
    ``subset_group`` names the group of a subset selector.
    """

    model: AnyDimensionModel
    category: DimensionCategory
    base_mapping: DimensionMappingModel | None = None
    subset_group: str | None = None

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def type(self) -> DimensionType:
        return self.model.type

    @property
    def dimension_id(self) -> str:
        return self.model.dimension_id

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def records(self) -> tuple:
        return self.model.records if isinstance(self.model, RecordDimensionModel) else ()

    @property
    def record_fields(self) -> tuple[str, ...]:
        """Fields beyond id and name, in the order records first show them."""
        seen: dict[str, None] = {}
        for record in self.records:
            for key in record.fields:
                seen.setdefault(key, None)
        return tuple(seen)


@dataclass(frozen=True)
class DatasetMapping:
    """One dataset→project mapping: the dataset dimension, the project base it maps onto."""

    model: DimensionMappingModel
    from_dimension: ProjectDimension
    to_dimension: ProjectDimension


@dataclass
class ProjectDataset:
    """A dataset listed by a project, with its registered config when it has one."""

    entry: ProjectDatasetModel
    config: DatasetModel | None
    dimensions: dict[DimensionType, AnyDimensionModel]
    mappings: tuple[DatasetMapping, ...]
    base_dimensions: dict[DimensionType, ProjectDimension]
    data_root: Path = field(repr=False)
    # Why a submitted dataset cannot be read (its config, a dimension or mapping it
    # references, its files): it is then left out of the catalog, and said so.
    error: DsgridSqlError | None = field(default=None, repr=False)

    @property
    def problem(self) -> str | None:
        return None if self.error is None else self.error.message

    @property
    def dataset_id(self) -> str:
        return self.entry.dataset_id

    @property
    def version(self) -> str | None:
        return self.config.version if self.config is not None else self.entry.version

    @property
    def is_submitted(self) -> bool:
        """Submitted and readable: a dataset the catalog serves."""
        return self.entry.is_submitted and self.config is not None and self.problem is None

    @property
    def is_broken(self) -> bool:
        """Submitted, but something it needs cannot be read."""
        return self.entry.is_submitted and self.problem is not None

    @property
    def time_dimension(self) -> AnyDimensionModel | None:
        return self.dimensions.get(DimensionType.TIME)

    @property
    def is_growth_rate(self) -> bool:
        """Growth factors (dataset_qualifier_type growth_rate), not quantities: they combine
        with an initial-value dataset in a projection and are never summed with energy."""
        return self.config is not None and self.config.qualifier_type == "growth_rate"

    @property
    def has_time(self) -> bool:
        """Whether rows carry time (every time type but noop)."""
        return not isinstance(self.time_dimension, NoOpTimeDimensionModel | None)

    def model_years(self) -> tuple[str, ...]:
        """The project model years its mapped rows carry, sorted as years: an annual
        dataset's time values, else its model-year records as its mapping sends them."""
        time = self.time_dimension
        if isinstance(time, AnnualTimeDimensionModel):
            years: set[str] = set()
            for r in time.ranges:
                step = int(r.frequency or 1)
                years |= {str(y) for y in range(int(r.start), int(r.end) + 1, step)}
        else:
            mapping = next(
                (m for m in self.mappings if m.to_dimension.type == DimensionType.MODEL_YEAR),
                None,
            )
            if mapping is not None:
                years = {r.to_id for r in mapping.model.records if r.to_id is not None}
            else:
                dim = self.dimensions.get(DimensionType.MODEL_YEAR)
                years = {r.id for r in getattr(dim, "records", ())}
        return tuple(sorted(years, key=lambda y: (len(y), y)))

    def files(self) -> DatasetFiles:
        """The dataset version's load-data files, located on first use."""
        return self._files

    @cached_property
    def _files(self) -> DatasetFiles:
        if self.config is None:
            raise CatalogError(f"Dataset '{self.dataset_id}' is not registered in the registry.")
        return find_dataset_files(
            self.data_root,
            self.dataset_id,
            self.config.version,
            two_table=self.config.table_format == "two_table",
        )

    def load_schema(self) -> pa.Schema:
        return self.files().load_schema()

    def time_columns(self) -> tuple[str, ...]:
        return self.files().time_columns()


def _reason(exc: DsgridSqlError) -> str:
    """An error's sentence as the reason inside another sentence."""
    return exc.message.rstrip(".")


def _check_readable(dataset: ProjectDataset, project: Project) -> None:
    """What a query on the dataset would otherwise find out first: its layout, which base
    dimension it maps onto where the project has several of a type, its files."""
    config = dataset.config
    assert config is not None
    if not config.has_layout:
        raise CatalogError(
            "its config has neither data_layout nor registry_data_layout, so its table "
            "format is unknown (dsgrid refuses it too)."
        )
    layout = config.layout
    if layout is not None and layout.value_format != "stacked":
        raise CatalogError(
            f"its data is stored {layout.value_format}; dsgrid-sql reads stacked data only."
        )
    for dim_type in DimensionType:
        bases = project.base_dimensions_of(dim_type)
        if len(bases) > 1 and dataset.entry.base_dimension_names.get(dim_type) is None:
            raise CatalogError(
                f"the project has {len(bases)} base {dim_type.value} dimensions and "
                "base_dimension_names does not say which one it maps onto."
            )
    dataset.files().load_schema()


class Project:
    """One version of a project, resolved."""

    def __init__(self, model: ProjectModel, store: ModelStore, data_root: Path) -> None:
        self.model = model
        self._store = store
        self._data_root = data_root
        dims = model.dimensions
        self.base_dimensions: tuple[ProjectDimension, ...] = tuple(
            ProjectDimension(store.dimension(r.dimension_id, r.version), DimensionCategory.BASE)
            for r in dims.base_dimension_references
        )
        # What cannot be read beyond the base dimensions costs that part, not the project:
        # a supplemental dimension, its mapping or a subset selector is left out and listed.
        self.problems: list[str] = []
        # Names of supplemental dimensions left out, so that naming their column says why.
        self.left_out_dimensions: dict[str, str] = {}
        supplemental_mapping: dict[tuple[str, str], DimensionMappingModel] = {}
        for ref in model.dimension_mappings.base_to_supplemental_references:
            mapping = self._readable(
                lambda ref=ref: store.mapping(ref.mapping_id, ref.version),
                f"Base-to-supplemental mapping {ref.mapping_id} v{ref.version}",
            )
            if mapping is not None:
                to = mapping.to_dimension
                supplemental_mapping[(to.dimension_id, to.version)] = mapping
        supplementals = []
        for r in dims.supplemental_dimension_references:
            label = store.label("dimension", r.dimension_id, r.version)
            dim = self._readable(
                lambda r=r: store.dimension(r.dimension_id, r.version),
                f"Supplemental dimension {label} v{r.version}",
            )
            if dim is None:
                raw = store.row("dimension", r.dimension_id, r.version).model.get("name")
                self.left_out_dimensions[str(raw or r.dimension_id)] = self.problems[-1]
            else:
                supplementals.append(
                    ProjectDimension(
                        dim,
                        DimensionCategory.SUPPLEMENTAL,
                        base_mapping=supplemental_mapping.get((r.dimension_id, r.version)),
                    )
                )
        self.supplemental_dimensions: tuple[ProjectDimension, ...] = tuple(supplementals)
        subsets = []
        for group in dims.subset_dimensions:
            for r in group.selector_references:
                label = store.label("dimension", r.dimension_id, r.version)
                dim = self._readable(
                    lambda r=r: store.dimension(r.dimension_id, r.version),
                    f"Subset selector {label} v{r.version} of '{group.name}'",
                )
                if dim is not None:
                    subsets.append(
                        ProjectDimension(dim, DimensionCategory.SUBSET, subset_group=group.name)
                    )
        self.subset_dimensions: tuple[ProjectDimension, ...] = tuple(subsets)
        if not self.base_dimensions:
            raise CatalogError(
                f"Project '{model.project_id}' version {model.version} has no base dimensions.",
                hint="The registry is inconsistent; the project config lists no "
                "base_dimension_references.",
            )

    def _readable(self, read: Callable[[], T], what: str) -> T | None:
        try:
            return read()
        except DsgridSqlError as exc:
            self.problems.append(f"{what} cannot be read: {_reason(exc)}")
            return None

    @property
    def project_id(self) -> str:
        return self.model.project_id

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def dimensions(self) -> tuple[ProjectDimension, ...]:
        """Base, supplemental and subset-selector dimensions, in that order."""
        return self.base_dimensions + self.supplemental_dimensions + self.subset_dimensions

    def base_dimensions_of(self, dimension_type: DimensionType) -> tuple[ProjectDimension, ...]:
        return tuple(d for d in self.base_dimensions if d.type == dimension_type)

    @property
    def time_dimension(self) -> ProjectDimension | None:
        """The project's base time dimension (the first, should a project list several)."""
        times = self.base_dimensions_of(DimensionType.TIME)
        return times[0] if times else None

    def get_dimension(self, name: str) -> ProjectDimension:
        """A project dimension by its (project-unique) name."""
        for dim in self.dimensions:
            if dim.name == name:
                return dim
        raise UnknownDimensionError(
            f"Project '{self.project_id}' has no dimension named '{name}'.",
            suggestion=did_you_mean(name, [d.name for d in self.dimensions]),
        )

    @cached_property
    def datasets(self) -> tuple[ProjectDataset, ...]:
        """Every dataset the project lists, submitted or not, in the project's order."""
        return tuple(self._resolve_dataset(entry) for entry in self.model.datasets)

    @property
    def submitted_datasets(self) -> tuple[ProjectDataset, ...]:
        """Submitted datasets the catalog serves (readable)."""
        return tuple(d for d in self.datasets if d.is_submitted)

    @property
    def broken_datasets(self) -> tuple[ProjectDataset, ...]:
        """Submitted datasets left out because something they need cannot be read."""
        return tuple(d for d in self.datasets if d.is_broken)

    def all_problems(self) -> list[str]:
        """Every part of this project version left out, one sentence each."""
        return [*self.problems, *(d.problem for d in self.broken_datasets if d.problem)]

    @property
    def has_time(self) -> bool:
        time = self.time_dimension
        return time is not None and not isinstance(time.model, NoOpTimeDimensionModel)

    @property
    def stacked_datasets(self) -> tuple[ProjectDataset, ...]:
        """The submitted datasets ``data`` stacks: quantities with the project's kind of time.
        Growth rates are factors, and data without time (noop) cannot stand beside hourly
        rows; dsgrid cannot stack either (its union needs identical columns)."""
        return tuple(
            d
            for d in self.submitted_datasets
            if not d.is_growth_rate and d.has_time == self.has_time
        )

    def dataset_groups(
        self, datasets: Iterable[ProjectDataset] | None = None
    ) -> list[tuple[ProjectDataset, ...]]:
        """Datasets (default: all submitted) grouped by the base dimensions they map onto.

        Datasets in one group can be stacked into one table; a query mixing groups has no
        common set of base dimensions (dsgrid's ``_check_datasets``).
        """
        groups: dict[tuple[tuple[str, str], ...], list[ProjectDataset]] = {}
        for dataset in self.submitted_datasets if datasets is None else datasets:
            key = tuple(sorted((t.value, d.name) for t, d in dataset.base_dimensions.items()))
            groups.setdefault(key, []).append(dataset)
        return [tuple(g) for g in groups.values()]

    def _resolve_dataset(self, entry: ProjectDatasetModel) -> ProjectDataset:
        """The dataset as the project uses it; a submitted dataset that cannot be read (its
        config, a dimension or mapping it references, its files) comes back with its
        problem, so that it costs that dataset only."""
        try:
            dataset = self._read_dataset(entry)
            if dataset.entry.is_submitted and dataset.config is not None:
                _check_readable(dataset, self)
            return dataset
        except DsgridSqlError as exc:
            error = exc
            own_config = f"The dataset '{entry.dataset_id}' "
            if exc.message.startswith(own_config):  # its own config: already a full sentence
                error = type(exc)(
                    f"Dataset '{entry.dataset_id}' " + exc.message[len(own_config) :],
                    hint=exc.hint,
                )
            elif not exc.message.startswith(f"Dataset '{entry.dataset_id}'"):
                error = type(exc)(
                    f"Dataset '{entry.dataset_id}' version {entry.version or '?'} cannot be "
                    f"read: {_reason(exc)}.",
                    hint=exc.hint,
                )
            config = None
            with contextlib.suppress(DsgridSqlError):
                config = self._store.dataset(entry.dataset_id, entry.version)
            return ProjectDataset(entry, config, {}, (), {}, self._data_root, error)

    def _read_dataset(self, entry: ProjectDatasetModel) -> ProjectDataset:
        store = self._store
        config: DatasetModel | None = None
        if entry.dataset_id in store.ids("dataset"):
            # The project pins the version it was submitted with; an unsubmitted entry may
            # name a version never registered ("In Progress" projects), so fall back.
            version = (
                entry.version
                if entry.version in store.versions("dataset", entry.dataset_id)
                else None
            )
            config = store.dataset(entry.dataset_id, version)
        dimensions: dict[DimensionType, AnyDimensionModel] = {}
        if config is not None:
            for ref in config.dimension_references:
                dimensions[ref.type] = store.dimension(ref.dimension_id, ref.version)
        base = self._base_dimensions_for(entry)
        mapping_refs = (
            entry.mapping_references
            or self.model.dimension_mappings.dataset_to_project.get(entry.dataset_id, ())
        )
        mappings = []
        for ref in mapping_refs:
            model = store.mapping(ref.mapping_id, ref.version)
            from_dim = store.dimension(
                model.from_dimension.dimension_id, model.from_dimension.version
            )
            to_base = base.get(ref.to_dimension_type)
            to_dim = (
                to_base
                if to_base is not None and to_base.dimension_id == model.to_dimension.dimension_id
                else ProjectDimension(
                    store.dimension(model.to_dimension.dimension_id, model.to_dimension.version),
                    DimensionCategory.BASE,
                )
            )
            mappings.append(
                DatasetMapping(
                    model, ProjectDimension(from_dim, DimensionCategory.DATASET), to_dim
                )
            )
        return ProjectDataset(entry, config, dimensions, tuple(mappings), base, self._data_root)

    def _base_dimensions_for(
        self, entry: ProjectDatasetModel
    ) -> dict[DimensionType, ProjectDimension]:
        """The base dimension of each type that this dataset maps onto.

        ``base_dimension_names`` decides when a type has several bases; registries written
        before 0.4 leave it null, and the single base of the type applies
        (dsgrid's ``_fix_legacy_base_dimension_names``).
        """
        chosen: dict[DimensionType, ProjectDimension] = {}
        for dim in self.base_dimensions:
            wanted = entry.base_dimension_names.get(dim.type)
            if wanted is None:
                chosen.setdefault(dim.type, dim)
            elif wanted == dim.name:
                chosen[dim.type] = dim
        return chosen
