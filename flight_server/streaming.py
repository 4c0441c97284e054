"""Results as clients need them: a declared schema, then batches that match it exactly.

The schema announced in FlightInfo (and in a prepared statement's dataset_schema) is the
engine's normalized schema with every field nullable and Flight SQL column metadata; each
streamed batch is cast to it (the Go client refuses a stream whose schema differs from the
announced one). Batches are cut to stay well under the 16 MiB gRPC message limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import pyarrow as pa

from dsgrid_sql.engine.base import normalize_type
from dsgrid_sql.errors import QueryCancelledError

from .metadata import result_field_metadata
from .status import LimitError


def declared_schema(schema: pa.Schema) -> pa.Schema:
    fields = []
    for field in schema:
        arrow_type = normalize_type(field.type)
        fields.append(
            pa.field(
                field.name,
                arrow_type,
                nullable=True,
                metadata=result_field_metadata(arrow_type),
            )
        )
    return pa.schema(fields)


def conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """A batch with exactly ``schema`` (names, types, nullability, metadata)."""
    columns = []
    for column, field in zip(batch.columns, schema, strict=True):
        if not column.type.equals(field.type):
            column = column.cast(field.type)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def split(batch: pa.RecordBatch, max_bytes: int, max_rows: int) -> Iterator[pa.RecordBatch]:
    """Slices of at most ``max_rows`` rows and about ``max_bytes`` bytes each."""
    rows = batch.num_rows
    if rows == 0:
        return
    size = batch.get_total_buffer_size()
    per_row = max(1, size // rows)
    step = max(1, min(max_rows, max_bytes // per_row))
    for start in range(0, rows, step):
        yield batch.slice(start, step)


class Limits:
    """Counts rows and bytes as they stream; over a limit is an error, not a cut result."""

    def __init__(self, max_rows: int = 0, max_bytes: int = 0) -> None:
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.rows = 0
        self.bytes = 0

    def add(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        self.bytes += batch.nbytes
        if self.max_rows and self.rows > self.max_rows:
            raise LimitError(
                f"The result has more than {self.max_rows:,} rows, the server's limit.",
                hint="Aggregate, filter or add LIMIT, or export with COPY.",
            )
        if self.max_bytes and self.bytes > self.max_bytes:
            raise LimitError(
                f"The result is larger than {self.max_bytes:,} bytes, the server's limit.",
                hint="Aggregate, filter or add LIMIT, or export with COPY.",
            )


def batches_for_client(
    readers: Iterable[pa.RecordBatchReader],
    schema: pa.Schema,
    *,
    max_bytes: int,
    max_rows: int,
    limits: Limits,
    stopped: Callable[[], bool],
) -> Iterator[pa.RecordBatch]:
    """Client batches from the engine's readers; ``stopped`` is checked before every batch,
    so a cancelled query stops within one batch even when the engine is between fetches."""
    for reader in readers:
        for batch in reader:
            for piece in split(batch, max_bytes, max_rows):
                if stopped():
                    raise QueryCancelledError("The query was cancelled.")
                limits.add(piece)
                yield conform(piece, schema)
