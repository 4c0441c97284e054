"""Versions in SQL: a table read as the registry held it at a version or at a time.

    FROM test_efs.data VERSION AS OF '1.1.0'          -- also FOR VERSION AS OF
    FROM test_efs.data TIMESTAMP AS OF '2026-03-01'   -- also FOR SYSTEM_TIME AS OF
    FROM "test_efs@1.1.0".data                        -- for tools that cannot send a clause
    SET as_of = '2026-03-01 12:00' | 'test_efs@1.1.0[, other@2.0.0]' | 'none'

A project table (``data``, a dataset table, the dimension and mapping tables) at a project
version reads that version's dimensions, mappings and the dataset versions it named. On a
dataset table, ``VERSION AS OF`` names the dataset's version: the latest project version that
held it. Times are read against the registry's registration history (catalog.version_as_of).
A clause on the table wins over the session's ``as_of``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlglot import exp

from dsgrid_sql.catalog import Catalog, Table, TableKind
from dsgrid_sql.catalog.catalog import VERSION_MARK
from dsgrid_sql.errors import DsgridSqlError, UnsupportedSqlError


@dataclass(frozen=True)
class AsOf:
    """A session's pin: a time, or a version per project."""

    when: datetime | None = None
    versions: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def version_for(self, catalog: Catalog, project_id: str) -> str | None:
        if self.when is not None:
            return catalog.version_as_of("project", project_id, self.when)
        return dict(self.versions).get(project_id)

    def text(self) -> str:
        if self.when is not None:
            return self.when.isoformat(sep=" ")
        return ", ".join(f"{p}{VERSION_MARK}{v}" for p, v in self.versions)


def parse_as_of(text: str) -> AsOf | None:
    """``SET as_of``'s value: 'none' (current versions), a time, or project@version pairs."""
    value = text.strip()
    if value.lower() in ("", "none", "current", "default", "off"):
        return None
    if VERSION_MARK in value:
        pairs = []
        for part in value.split(","):
            project, mark, version = part.strip().partition(VERSION_MARK)
            if not (mark and project.strip() and version.strip()):
                raise UnsupportedSqlError(
                    f"as_of '{text}' is neither a time nor a list of project@version.",
                    hint="E.g. SET as_of = 'test_efs@1.1.0' or SET as_of = '2026-03-01 12:00'.",
                )
            pairs.append((project.strip(), version.strip()))
        return AsOf(versions=tuple(pairs))
    return AsOf(when=parse_time(value))


def parse_time(text: str) -> datetime:
    """A time as naive UTC (the registry's registration times are)."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("T", " "))
    except ValueError:
        raise UnsupportedSqlError(
            f"'{text}' is not a time; write e.g. '2026-03-01' or '2026-03-01 12:00:00'."
        ) from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def pin(
    node: exp.Table,
    catalog: Catalog,
    as_of: AsOf | None,
    lookup: Callable[[exp.Table], Table],
    position: Callable[[exp.Expression], object],
) -> None:
    """Point ``node`` at the versioned schema its clause (or the session's ``as_of``) asks
    for; the clause itself is removed (the engine never sees catalog tables)."""
    clause = node.args.get("version")
    if clause is None and as_of is None:
        return
    schema_node = node.args.get("db")
    if clause is None and schema_node is not None and VERSION_MARK in schema_node.name:
        return  # already pinned by name: "test_efs@1.1.0".data
    if clause is not None:
        node.set("version", None)
    table = lookup(node)
    if table.project_id is None:
        if clause is not None:
            raise UnsupportedSqlError(
                f"'{table.qualified_name}' has no versions: only a project's tables do.",
                position=position(clause.expression),
            )
        return
    if VERSION_MARK in table.schema:
        if clause is not None:
            raise UnsupportedSqlError(
                f"'{table.qualified_name}' names its version already; drop the AS OF clause.",
                position=position(clause.expression),
            )
        return
    try:
        if clause is not None:
            version = _clause_version(clause, table, catalog, position)
        else:
            assert as_of is not None
            version = as_of.version_for(catalog, table.project_id)
            if version is None:
                return
        schema = catalog.versioned_schema(table.schema, version)
    except DsgridSqlError as exc:
        if exc.position is None:
            # The clause keeps no position of its own; its value does.
            where = clause.expression if clause is not None else node
            exc.position = position(where)  # type: ignore[assignment]
        raise
    node.set("db", exp.to_identifier(schema, quoted=True))


def _clause_version(
    clause: exp.Version, table: Table, catalog: Catalog, position: Callable
) -> str:
    value = clause.expression
    if not isinstance(value, exp.Literal):
        raise UnsupportedSqlError(
            "AS OF takes a constant: a version in quotes ('1.1.0') or a time.",
            position=position(value),
        )
    text = value.name
    assert table.project_id is not None
    if clause.name.upper() == "VERSION":
        if table.kind is TableKind.DATASET:
            return catalog.project_version_with_dataset(
                table.project_id, table.dataset_ids[0], text
            )
        return text
    return catalog.version_as_of("project", table.project_id, parse_time(text))
