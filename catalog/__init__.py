"""The registry catalog: a dsgrid registry read-only, as schemas of virtual tables."""

from __future__ import annotations

from .catalog import DEFAULT_CATALOG_NAME, Catalog
from .models import DimensionType
from .project import DimensionCategory, Project, ProjectDataset, ProjectDimension
from .tables import Column, ColumnRole, Table, TableKind

__all__ = [
    "DEFAULT_CATALOG_NAME",
    "Catalog",
    "Column",
    "ColumnRole",
    "DimensionCategory",
    "DimensionType",
    "Project",
    "ProjectDataset",
    "ProjectDimension",
    "Table",
    "TableKind",
]
