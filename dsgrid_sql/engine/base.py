"""The engine interface and the Arrow conventions every engine's results follow."""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator

import pyarrow as pa

from dsgrid_sql.errors import DsgridSqlError, QueryCancelledError, QueryExecutionError
from dsgrid_sql.rewrite.inputs import Input

BATCH_ROWS = 65_536


class Engine(abc.ABC):
    """Runs engine SQL over named inputs; registers each input once per engine."""

    name: str
    dialect: str

    @abc.abstractmethod
    def register(self, inputs: Iterable[Input]) -> None: ...

    @abc.abstractmethod
    def execute(
        self, sql: str, inputs: Iterable[Input], *, tag: str | None = None
    ) -> pa.RecordBatchReader:
        """Run a query; batches stream as the reader is read. ``tag`` names the query for
        :meth:`cancel` (several queries may run at once, each cancelled on its own)."""

    @abc.abstractmethod
    def schema(self, sql: str, inputs: Iterable[Input]) -> pa.Schema:
        """The normalized schema ``execute`` would produce, without running the query."""

    @abc.abstractmethod
    def cancel(self, tag: str | None = None) -> None:
        """Stop the query named ``tag`` (every running query when None); the engine stays
        usable."""

    @abc.abstractmethod
    def close(self) -> None: ...


def normalize_type(arrow_type: pa.DataType) -> pa.DataType:
    """The types results carry on every engine: strings as ``string``, timestamps in
    microseconds (UTC when zoned)."""
    if pa.types.is_large_string(arrow_type) or pa.types.is_string_view(arrow_type):
        return pa.string()
    if pa.types.is_timestamp(arrow_type):
        return pa.timestamp("us", tz="UTC" if arrow_type.tz else None)
    if pa.types.is_dictionary(arrow_type):
        return normalize_type(arrow_type.value_type)
    return arrow_type


def normalize_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema(
        [pa.field(f.name, normalize_type(f.type), f.nullable, f.metadata) for f in schema]
    )


def guarded_reader(
    reader: pa.RecordBatchReader,
    *,
    engine_name: str,
    cancelled: Callable[[], bool],
    on_close: Callable[[], None],
) -> pa.RecordBatchReader:
    """Batches cast to the normalized schema as they stream (no copy when already right).

    Engines report errors that happen while results stream (a failed cast, a cancelled
    query) as Arrow errors from the reader; they become dsgrid-sql errors here, and the
    engine's per-query state is released however the stream ends.
    """
    target = normalize_schema(reader.schema)
    cast = not target.equals(reader.schema)

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for batch in reader:
                yield batch.cast(target) if cast else batch
        except DsgridSqlError:
            raise
        except Exception as exc:  # engines surface stream errors as several Arrow/OS types
            if cancelled():
                raise QueryCancelledError("The query was cancelled.") from None
            raise QueryExecutionError(
                f"{engine_name} could not finish the query: {first_line(exc)}."
            ) from None
        finally:
            on_close()

    return pa.RecordBatchReader.from_batches(target, batches())


def first_line(exc: BaseException) -> str:
    """The first line of an engine's error text, without its final period."""
    text = str(exc).strip()
    return text.splitlines()[0].rstrip(".") if text else type(exc).__name__
