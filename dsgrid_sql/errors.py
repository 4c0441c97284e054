"""The one error tree of dsgrid-sql.

Every error a user can cause is a :class:`DsgridSqlError` with a stable ``code``, a
one-sentence ``message``, an optional ``hint`` and an optional ``position`` in the SQL text.
Front ends render these; nothing else about an error reaches a user. This module imports
nothing from the rest of the package so that every layer may use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


def one_line(exc: BaseException) -> str:
    """An exception in one line for a log or an answer: its message (or its text, or its
    class name), first line only."""
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return message.splitlines()[0]


@dataclass(frozen=True)
class Position:
    """Where in the SQL text an error is: 1-based line and column, 0-based character span."""

    line: int
    col: int
    start: int
    end: int


class DsgridSqlError(Exception):
    """Root of every error dsgrid-sql raises on purpose."""

    code: ClassVar[str] = "error"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        position: Position | None = None,
        suggestion: str | None = None,
    ) -> None:
        if suggestion:
            message = f"{message.rstrip('.')}. Did you mean '{suggestion}'?"
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.position = position
        self.suggestion = suggestion

    def to_dict(self) -> dict[str, Any]:
        """The one serialisable shape of an error (used by JSON output and Flight details)."""
        pos = self.position
        return {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "position": None
            if pos is None
            else {"line": pos.line, "col": pos.col, "start": pos.start, "end": pos.end},
        }


class CatalogError(DsgridSqlError):
    """The registry cannot be read as a dsgrid registry."""

    code = "catalog_error"


class RegistryNotFoundError(CatalogError):
    code = "registry_not_found"


class NotARegistryError(CatalogError):
    code = "not_a_registry"


class RegistryLockedError(CatalogError):
    """A writer holds the registry database's lock longer than the reader waits."""

    code = "registry_locked"


class DataFileError(CatalogError):
    """A dataset's Parquet file is missing or unreadable."""

    code = "data_file_error"


class StorageError(CatalogError):
    """Object storage (S3) cannot be read or written as asked: no such bucket or key, access
    denied, an endpoint that does not answer, a bad storage option. Messages name the bucket
    and key, never a credential."""

    code = "storage_error"


class UnknownNameError(DsgridSqlError):
    """A name that should exist in the catalog does not."""

    code = "unknown_name"


class UnknownProjectError(UnknownNameError):
    code = "unknown_project"


class UnknownDatasetError(UnknownNameError):
    code = "unknown_dataset"


class UnknownVersionError(UnknownNameError):
    code = "unknown_version"


class UnknownSchemaError(UnknownNameError):
    code = "unknown_schema"


class UnknownTableError(UnknownNameError):
    code = "unknown_table"


class UnknownDimensionError(UnknownNameError):
    code = "unknown_dimension"


class GeneratorError(DsgridSqlError):
    """Parameters for the registry generator are out of range or inconsistent."""

    code = "generator_error"


class SqlSyntaxError(DsgridSqlError):
    code = "syntax_error"


class SqlLimitError(DsgridSqlError):
    """The SQL text is over a size limit of the session (length, nesting depth)."""

    code = "sql_limit"


class SqlTooLongError(SqlLimitError):
    code = "sql_too_long"


class SqlTooDeepError(SqlLimitError):
    code = "sql_too_deep"


class UnsupportedSqlError(DsgridSqlError):
    """Valid SQL that dsgrid-sql does not run (writes, engine statements, file readers)."""

    code = "not_allowed"


class EngineOnlyError(UnsupportedSqlError):
    """The query uses a function or form one engine has and the engine running it lacks."""

    code = "engine_only"


class SeriesTooLargeError(SqlLimitError):
    """generate_series / range would make more rows than the limit, or a number the query
    cannot know before it runs."""

    code = "series_too_large"


class UnknownColumnError(UnknownNameError):
    code = "unknown_column"


class UnknownFunctionError(UnknownNameError):
    code = "unknown_function"


class UnknownRecordError(UnknownNameError):
    """A literal compared with a dimension column is not a record of that dimension."""

    code = "unknown_record"


class AmbiguousNameError(DsgridSqlError):
    code = "ambiguous_name"


class TypeMismatchError(DsgridSqlError):
    code = "type_mismatch"


class MixedDatasetsError(DsgridSqlError):
    """A query would stack datasets mapped onto different base dimensions of one type."""

    code = "mixed_base_dimensions"


class ProjectionError(DsgridSqlError):
    """projected(...) asked for something dsgrid's projections cannot be."""

    code = "projection"


class UnitConversionError(DsgridSqlError):
    code = "unit_conversion"


class EngineUnavailableError(DsgridSqlError):
    """The engine asked for cannot start here: its package is not installed."""

    code = "engine_unavailable"


class QueryExecutionError(DsgridSqlError):
    """The engine failed while running a query that passed every check."""

    code = "execution_error"


class QueryCancelledError(DsgridSqlError):
    code = "cancelled"


class ExportError(DsgridSqlError):
    code = "export_error"


class LimitError(DsgridSqlError):
    """A query went over a server limit (rows, bytes, concurrency)."""

    code = "limit_exceeded"


class ServerBusyError(LimitError):
    code = "server_busy"


class QueryTimeoutError(DsgridSqlError):
    code = "timeout"


class JobError(DsgridSqlError):
    """A request about a job that cannot be answered as asked."""

    code = "job_error"


class UnknownJobError(JobError):
    """No such job for this user (another user's job is unknown too)."""

    code = "unknown_job"


class JobNotFinishedError(JobError):
    """The job's result is asked for before the job succeeded."""

    code = "job_not_finished"


class JobBudgetError(LimitError):
    """Kept results would go over a user's or the server's disk budget."""

    code = "disk_budget"
