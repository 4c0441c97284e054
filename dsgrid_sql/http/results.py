"""A kept job result as an HTTP body, batch by batch: Arrow IPC stream, Parquet, CSV or JSON.

Rows are read from the job's Parquet file a batch at a time and written to the client as they
are encoded, so a result larger than the server's memory streams (the client's speed sets the
pace: the ASGI server sends each chunk before the next is read).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from .errors import HttpError

FORMATS = {
    "arrow": "application/vnd.apache.arrow.stream",
    "parquet": "application/vnd.apache.parquet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}
BATCH_ROWS = 65_536
PARQUET_CHUNK = 1 << 20


def check_format(name: str | None, default: str = "arrow") -> str:
    chosen = (name or default).lower()
    if chosen not in FORMATS:
        raise HttpError(
            f"Unknown result format '{name}'; use {', '.join(FORMATS)}.", code="bad_format"
        )
    return chosen


class _Chunks:
    """A file-like sink whose written bytes are taken out after each batch."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        return len(chunk)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _batches(parquet: pq.ParquetFile) -> Iterator[pa.RecordBatch]:
    yield from parquet.iter_batches(batch_size=BATCH_ROWS)


def arrow_stream(parquet: pq.ParquetFile) -> Iterator[bytes]:
    sink = _Chunks()
    schema = parquet.schema_arrow
    with pa.ipc.new_stream(sink, schema) as writer:
        yield sink.take()
        for batch in _batches(parquet):
            writer.write_batch(batch)
            yield sink.take()
    yield sink.take()


def parquet_bytes(path: Any) -> Iterator[bytes]:
    with open(path, "rb") as file:
        while chunk := file.read(PARQUET_CHUNK):
            yield chunk


def csv_stream(parquet: pq.ParquetFile) -> Iterator[bytes]:
    sink = _Chunks()
    writer = pacsv.CSVWriter(sink, _csv_schema(parquet.schema_arrow))
    try:
        for batch in _batches(parquet):
            writer.write_batch(batch)
            yield sink.take()
    finally:
        writer.close()
    yield sink.take()


def _csv_schema(schema: pa.Schema) -> pa.Schema:
    return schema.remove_metadata()


def json_rows(parquet: pq.ParquetFile, max_rows: int | None = None) -> Iterator[str]:
    """The rows as JSON arrays, comma separated (the caller writes the brackets); at most
    ``max_rows`` of them."""
    first = True
    left = max_rows
    for batch in _batches(parquet):
        if left is not None:
            if left <= 0:
                return
            batch = batch.slice(0, left)
            left -= batch.num_rows
        columns = [column.to_pylist() for column in batch.columns]
        for values in zip(*columns, strict=True):
            text = json.dumps([json_value(v) for v in values], allow_nan=False)
            yield text if first else "," + text
            first = False


def json_document(
    parquet: pq.ParquetFile, head: dict[str, Any], max_rows: int | None = None
) -> Iterator[bytes]:
    """``{...head, "columns": [...], "row_count": n, "truncated": bool, "rows": [[...]]}``:
    ``row_count`` is the whole result's, ``rows`` at most ``max_rows`` of them."""
    columns = [{"name": f.name, "type": str(f.type)} for f in parquet.schema_arrow]
    total = parquet.metadata.num_rows
    truncated = max_rows is not None and total > max_rows
    document = {**head, "columns": columns, "row_count": total, "truncated": truncated}
    opening = json.dumps(document)[:-1] + ', "rows": ['
    yield opening.encode()
    chunk: list[str] = []
    size = 0
    for text in json_rows(parquet, max_rows):
        chunk.append(text)
        size += len(text)
        if size >= PARQUET_CHUNK:
            yield "".join(chunk).encode()
            chunk, size = [], 0
    yield ("".join(chunk) + "]}").encode()


def plain_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or infinity
    return value


def json_value(value: Any) -> Any:
    """A value JSON can hold: times as ISO text, decimals as text, bytes as base64."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return plain_value(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return str(value)
