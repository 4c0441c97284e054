"""The engine interface and the Arrow conventions every engine's results follow."""

from __future__ import annotations

import abc
from collections.abc import Iterable

import pyarrow as pa

from dsgrid_sql.rewrite.inputs import Input

BATCH_ROWS = 65_536


class Engine(abc.ABC):
    """Runs engine SQL over named inputs; registers each input once per engine."""

    name: str
    dialect: str

    @abc.abstractmethod
    def register(self, inputs: Iterable[Input]) -> None: ...

    @abc.abstractmethod
    def execute(self, sql: str, inputs: Iterable[Input]) -> pa.RecordBatchReader: ...

    @abc.abstractmethod
    def cancel(self) -> None:
        """Stop the running query, if any; the engine stays usable."""

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


def normalized_reader(reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
    """Cast batches to the normalized schema as they stream (no copy when already right)."""
    target = normalize_schema(reader.schema)
    if target.equals(reader.schema):
        return reader

    def batches() -> Iterable[pa.RecordBatch]:
        for batch in reader:
            yield batch.cast(target)

    return pa.RecordBatchReader.from_batches(target, batches())
