"""Results kept for the next time the same query comes: a dashboard's refresh, sixteen
viewers of one chart, a BI extract pulled again.

A kept result is served as it was produced, without running the engine: an aggregate over
100 M rows that takes seconds comes back in milliseconds, and a large result streams at the
speed of the transport. Producing a large result is bound by writing its bytes, not by the
query: gathering the 0.57 GB of a 4.9 M-row ``SELECT * FROM data`` into new buffers once, in
pyarrow or in DuckDB, takes longer than a bare Flight server needs to stream all of it
(bench/flight.py, case 5).

What makes a kept result the right answer:
- the key is the engine SQL, which names every input by its content (rewrite/inputs.py),
  plus the size and modification time of every Parquet file the query reads (an object's
  on object storage, asked of the store), so a file rewritten in place is read again;
- only repeatable queries are kept (Translation.repeatable: no clock, no sampling);
- only complete results are kept: a stream that fails, is cancelled or is closed early
  leaves nothing behind.

The budget is bytes of Arrow data per engine, least recently used out; a result larger than
a quarter of it is streamed without being kept, so one large extract cannot push out every
dashboard's results. A budget of 0 (the default of engines made directly) keeps nothing.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Iterable, Iterator

import pyarrow as pa

from dsgrid_sql.rewrite.cache import Lru
from dsgrid_sql.rewrite.inputs import Input, ParquetInput
from dsgrid_sql.storage import S3Path

ENTRY_SHARE = 4  # a result may use at most 1/ENTRY_SHARE of the budget
# What a kept result costs beside its Arrow buffers: the table's and its arrays' objects
# (~2.6 KB measured for a one-row, three-column result, whose buffers are 33 bytes).
ENTRY_BYTES = 4096


class ResultCache:
    def __init__(self, budget_mb: float = 0) -> None:
        self.budget = max(0, int(budget_mb * 2**20))
        self.entry_limit = self.budget // ENTRY_SHARE
        self._kept = Lru(self.budget, weigh=_weigh)
        # For tests and benchmarks; not locked, so approximate under concurrent queries.
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.budget > 0

    @property
    def bytes(self) -> int:
        return self._kept.weight

    def key(self, sql: str, inputs: Iterable[Input]) -> Hashable | None:
        """The query and the state of its files; None when a file cannot be read (the engine
        then reports it)."""
        try:
            return (sql, _file_states(inputs))
        except OSError:
            return None

    def forget(self, names: Iterable[str]) -> int:
        """Drop kept results of queries that read any input in ``names`` (inputs an engine
        released: a registry version no longer current); returns how many."""
        return self._kept.discard(lambda key: naming(key[0], names))  # type: ignore[index]

    def reader(self, key: Hashable) -> pa.RecordBatchReader | None:
        """The kept result for ``key``, or None (counted as a hit or a miss)."""
        table = self._kept.lookup(key)
        if table is None:
            self.misses += 1
            return None
        self.hits += 1
        return table.to_reader()

    def keeping(self, key: Hashable, reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
        """``reader``'s batches, unchanged; kept under ``key`` once all have been read.

        A generator is enough here: one that fails, is closed or is dropped never reaches
        the line that keeps, and dropping it drops ``reader``, whose own guard closes the
        engine's query (engine/base.py)."""

        def batches() -> Iterator[pa.RecordBatch]:
            held: list[pa.RecordBatch] | None = []
            size = 0
            for batch in reader:
                if held is not None:
                    size += batch.get_total_buffer_size()
                    if size > self.entry_limit:
                        held = None  # too large to keep: stream the rest, hold nothing
                    else:
                        held.append(batch)
                yield batch
            if held is not None:
                self._kept.store(key, pa.Table.from_batches(held, reader.schema))

        return pa.RecordBatchReader.from_batches(reader.schema, batches())


def _weigh(key: Hashable, table: pa.Table) -> int:
    """A kept result's bytes: its buffers, its key (the engine SQL, tens of KB for a long
    filter, and the state of every file read) and ENTRY_BYTES. Weighed by its buffers alone,
    a budget of 256 MB held millions of small results of distinct long texts (issue 20)."""
    sql, files = key  # type: ignore[misc]
    key_bytes = len(sql) + sum(len(path) + 64 for path, _, _ in files)
    return table.get_total_buffer_size() + key_bytes + ENTRY_BYTES


def naming(sql: str, names: Iterable[str]) -> bool:
    """Whether engine SQL reads any of the inputs ``names`` (each name is unique: it
    carries a digest of its content, rewrite/inputs.py)."""
    return any(name in sql for name in names)


def _file_states(inputs: Iterable[Input]) -> tuple[tuple[str, int, int], ...]:
    states = []
    for item in inputs:
        if isinstance(item, ParquetInput) and isinstance(item.path, S3Path):
            states += _object_states(item)
        elif isinstance(item, ParquetInput):
            # A directory's listing was taken when the catalog was read; its own time
            # changes when part files are added or removed.
            for path in (*item.files, item.path):
                stat = os.stat(path)
                states.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(states)


def _object_states(item: ParquetInput) -> list[tuple[str, int, int]]:
    """Size and modification time of each object on object storage (a request each, far
    less than the scan a kept result saves); a prefix has no time of its own, its objects
    do. A failure is an OSError: the result is then not kept."""
    objects = [f for f in item.files if isinstance(f, S3Path)] or [item.path]
    assert isinstance(item.path, S3Path)
    infos = item.path.filesystem.get_file_info([o.fs_path for o in objects])
    states = []
    for info in infos:
        if info.size is None or info.mtime_ns is None:
            raise OSError(f"'{info.path}' has no size or time")
        states.append((f"s3://{info.path}", info.size, info.mtime_ns))
    return states
