"""Every registered model at every version, parsed on first use.

One ``SELECT`` reads the whole ``models`` table (a registry holds hundreds of rows, not
millions); typed models are built lazily and cached, so opening a registry costs one read
and only what a caller touches is validated.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, TypeVar

from pydantic import ValidationError

from dsgrid_sql.errors import CatalogError, DsgridSqlError, UnknownVersionError
from dsgrid_sql.suggest import did_you_mean

from .models import (
    AnyDimensionModel,
    DatasetModel,
    DimensionMappingModel,
    ProjectModel,
    parse_dimension,
)
from .registry import ModelRow, RegistryDatabase
from .versions import version_key

T = TypeVar("T")

MODEL_TYPES = ("project", "dataset", "dimension", "dimension_mapping")


class ModelStore:
    """Models by (type, id, version), with the current version of each (type, id)."""

    def __init__(self, db: RegistryDatabase, previous: ModelStore | None = None) -> None:
        self._db = db
        self._rows: dict[tuple[str, str, str], ModelRow] = {}
        self._by_row_id: dict[int, ModelRow] = {}
        self._versions: dict[tuple[str, str], list[str]] = defaultdict(list)
        for row in db.all_models():
            self._rows[(row.model_type, row.model_id, row.version)] = row
            self._by_row_id[row.row_id] = row
            self._versions[(row.model_type, row.model_id)].append(row.version)
        for versions in self._versions.values():
            versions.sort(key=version_key)
        self._current: dict[tuple[str, str], str] = {}
        for key, row_id in db.current_model_row_ids().items():
            row = self._by_row_id.get(row_id)
            if row is not None:
                self._current[key] = row.version
        self._parsed: dict[tuple[str, str, str], Any] = {}
        self._project_datasets: dict[str, list[tuple[str, tuple[tuple[str, str], ...]]]] = {}
        # (project id, version) -> (the row's JSON text, its datasets): what project_datasets
        # read, kept beside the text it was read from and lent to the store of the next
        # snapshot, which takes the entries whose row it shares unchanged (the same text
        # object, RegistryDatabase's reuse). A server replaces its catalog with every
        # registration, and each rebuilt the index by validating every project version:
        # 0.25 s at 300 versions, per catalog, on the first VERSION AS OF read of each (the
        # soak's queries per second fell 76 -> 20 over 30 minutes as versions accumulated).
        self._dataset_lists: dict[tuple[str, str], tuple[object, tuple[tuple[str, str], ...]]] = (
            {} if previous is None else previous._lend_dataset_lists(self._rows)
        )
        self._registration_times: dict[int, str] | None = None

    def registered_at(self, model_type: str, model_id: str, version: str) -> str:
        """The registration timestamp of a model version."""
        row = self.row(model_type, model_id, version)
        if self._registration_times is None:
            self._registration_times = {r.id: r.timestamp for r in self._db.registrations()}
        return self._registration_times.get(row.registration_id, "")

    def version_rows(self) -> list[tuple[str, str, str, bool, int]]:
        """(model_type, model_id, version, is_current, registration_id) of every version,
        by type and id, oldest version first."""
        rows = []
        for (model_type, model_id), versions in sorted(self._versions.items()):
            current = self.current_version(model_type, model_id)
            for version in versions:
                registration = self._rows[(model_type, model_id, version)].registration_id
                rows.append((model_type, model_id, version, version == current, registration))
        return rows

    def ids(self, model_type: str) -> list[str]:
        """Ids of every registered model of a type, sorted."""
        return sorted(mid for (mtype, mid) in self._versions if mtype == model_type)

    def versions(self, model_type: str, model_id: str) -> list[str]:
        """Every registered version, oldest first in semantic-version order."""
        return list(self._versions.get((model_type, model_id), ()))

    def current_version(self, model_type: str, model_id: str) -> str | None:
        current = self._current.get((model_type, model_id))
        if current is None and (model_type, model_id) in self._versions:
            # current_versions lacks the row (a registry being written): newest wins.
            current = self._versions[(model_type, model_id)][-1]
        return current

    def row(self, model_type: str, model_id: str, version: str | None = None) -> ModelRow:
        if version is None:
            version = self.current_version(model_type, model_id)
        row = None if version is None else self._rows.get((model_type, model_id, version))
        if row is None:
            known = self.versions(model_type, model_id)
            label = model_type.replace("_", " ")
            if not known:
                raise CatalogError(
                    f"The registry references {label} '{model_id}', which is not registered.",
                    hint="The registry is inconsistent; re-register the referencing model.",
                )
            raise UnknownVersionError(
                f"The {label} '{model_id}' has no version {version}; registered versions are "
                f"{', '.join(known)}.",
                suggestion=did_you_mean(str(version), known),
            )
        return row

    def label(self, model_type: str, model_id: str, version: str | None = None) -> str:
        """How to name a model in a message: its stored name when it has one (read from the
        raw JSON, so a model that does not validate is still named), else its id."""
        try:
            name = self.row(model_type, model_id, version).model.get("name")
        except DsgridSqlError:
            name = None
        return f"'{name}' ({model_id})" if isinstance(name, str) and name else f"'{model_id}'"

    def project(self, project_id: str, version: str | None = None) -> ProjectModel:
        return self._parse("project", project_id, version, ProjectModel.from_json)

    def dataset(self, dataset_id: str, version: str | None = None) -> DatasetModel:
        return self._parse("dataset", dataset_id, version, DatasetModel.from_json)

    def dimension(self, dimension_id: str, version: str) -> AnyDimensionModel:
        return self._parse("dimension", dimension_id, version, parse_dimension)

    def mapping(self, mapping_id: str, version: str) -> DimensionMappingModel:
        return self._parse(
            "dimension_mapping", mapping_id, version, DimensionMappingModel.from_json
        )

    def project_datasets(self, project_id: str) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
        """(project version, ((dataset_id, dataset version), ...)) for every version of a
        project, oldest first: what a dataset table read at a dataset version looks up.

        Kept as this small index, not as parsed models: a registry whose project gains a
        version with every dataset update would otherwise keep every version parsed
        (~0.3 MB of objects each; hundreds in a soak) for as long as the catalog lives."""
        index = self._project_datasets.get(project_id)
        if index is None:
            index = []
            for version in self.versions("project", project_id):
                # Entries here were read from this snapshot's rows or lent for rows it shares.
                known = self._dataset_lists.get((project_id, version))
                if known is not None:
                    datasets = known[1]
                else:
                    model = self._parse(
                        "project", project_id, version, ProjectModel.from_json, keep=False
                    )
                    datasets = tuple((e.dataset_id, e.version) for e in model.datasets)
                    text = self.row("project", project_id, version).text
                    self._dataset_lists[(project_id, version)] = (text, datasets)
                index.append((version, datasets))
            self._project_datasets[project_id] = index
        return index

    def _lend_dataset_lists(
        self, rows: dict[tuple[str, str, str], ModelRow]
    ) -> dict[tuple[str, str], tuple[object, tuple[tuple[str, str], ...]]]:
        """The dataset lists this store read whose rows ``rows`` (the next snapshot's) hold
        with the same text."""
        lent = {}
        # A copy first: a query may be adding to this store's lists in another thread (list()
        # of a dict's items runs without giving up the GIL).
        for (project_id, version), entry in list(self._dataset_lists.items()):
            row = rows.get(("project", project_id, version))
            if row is not None and row.text is entry[0]:
                lent[(project_id, version)] = entry
        return lent

    def _parse(
        self, model_type: str, model_id: str, version: str | None, parse: Any, keep: bool = True
    ) -> Any:
        row = self.row(model_type, model_id, version)
        key = (model_type, model_id, row.version)
        cached = self._parsed.get(key)
        if cached is None:
            decoded = "model" in row.__dict__  # ModelRow.model keeps its decoded JSON
            try:
                cached = parse(row.model)
            except (ValidationError, ValueError) as exc:
                raise CatalogError(
                    f"The {model_type.replace('_', ' ')} '{model_id}' version {row.version} "
                    f"is not a valid dsgrid model ({_first_problem(exc)}).",
                    hint="The registry may have been written by an unsupported dsgrid version.",
                ) from None
            if keep:
                self._parsed[key] = cached
            elif not decoded:
                row.__dict__.pop("model", None)  # nor the JSON decoded for this look
        return cached


def _first_problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        return f"{where}: {err['msg']}"
    return str(exc)
