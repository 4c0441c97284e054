"""The engine interface and the Arrow conventions every engine's results follow."""

from __future__ import annotations

import abc
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator

import pyarrow as pa

from dsgrid_sql.errors import (
    DsgridSqlError,
    QueryCancelledError,
    QueryExecutionError,
    QueryTimeoutError,
)
from dsgrid_sql.rewrite.cache import Lru, text_weight
from dsgrid_sql.rewrite.deadline import WAIT_SLICE_S, within_time_limit
from dsgrid_sql.rewrite.inputs import Input, ParquetInput

from .results import ResultCache, naming

BATCH_ROWS = 65_536
SCHEMA_CACHE_ENTRIES = 512  # per engine, texts counted by size (text_weight); LRU out


class Engine(abc.ABC):
    """Runs engine SQL over named inputs; registers each input once per engine."""

    name: str
    dialect: str

    def __init__(self, result_cache_mb: float = 0) -> None:
        self._schemas = Lru(SCHEMA_CACHE_ENTRIES, weigh=lambda sql, schema: text_weight(sql))
        self.results = ResultCache(result_cache_mb)

    @abc.abstractmethod
    def register(self, inputs: Iterable[Input]) -> None: ...

    @abc.abstractmethod
    def execute(
        self, sql: str, inputs: Iterable[Input], *, tag: str | None = None, progress: bool = False
    ) -> pa.RecordBatchReader:
        """Run a query; batches stream as the reader is read. ``tag`` names the query for
        :meth:`cancel` (several queries may run at once, each cancelled on its own);
        ``progress`` asks the engine to track it for :meth:`progress` (jobs do; it costs an
        interactive query time on some engines)."""

    def run(
        self,
        sql: str,
        inputs: Iterable[Input],
        *,
        tag: str | None = None,
        repeatable: bool = True,
        progress: bool = False,
    ) -> pa.RecordBatchReader:
        """:meth:`execute`, or the kept result of the same repeatable query over the same
        files (engine/results.py); what runs is kept for next time when it fits."""
        inputs = list(inputs)
        if not (repeatable and self.results.enabled):
            return self.execute(sql, inputs, tag=tag, progress=progress)
        key = self.results.key(sql, inputs)
        if key is None:
            return self.execute(sql, inputs, tag=tag, progress=progress)
        kept = self.results.reader(key)
        if kept is not None:
            return kept
        return self.results.keeping(key, self.execute(sql, inputs, tag=tag, progress=progress))

    def read_within_time_limit(
        self, sql: str, inputs: Iterable[Input], *, repeatable: bool = True
    ) -> pa.Table:
        """The whole answer of a query run while another is translated (a subquery read
        first, a PIVOT's values), under the request's time limit: past it (or cancelled)
        the caller gets the error at once and the query is interrupted, asked again until
        it has ended, since it may not have started when the limit passed."""
        inputs = list(inputs)
        tag = f"__dsgrid_read_{uuid.uuid4().hex}"
        finished = threading.Event()

        def read() -> pa.Table:
            try:
                reader = self.run(sql, inputs, tag=tag, repeatable=repeatable)
                try:
                    return reader.read_all()
                finally:
                    reader.close()
            finally:
                finished.set()

        def keep_cancelling() -> None:
            while True:
                self.cancel(tag)
                if finished.wait(WAIT_SLICE_S):
                    return

        try:
            return within_time_limit(read)
        except (QueryTimeoutError, QueryCancelledError):
            threading.Thread(target=keep_cancelling, name="dsgrid-sql-cancel", daemon=True).start()
            raise

    def schema(self, sql: str, inputs: Iterable[Input]) -> pa.Schema:
        """The normalized schema ``execute`` would produce, without running the query.

        Remembered per engine by SQL text: a probe binds and plans the whole query (1 ms
        for a dimension table, 11 ms for an aggregate over ``data`` on DuckDB, far more on
        Spark), and BI tools ask for the schema of the same few queries on every refresh.
        The text fixes the schema: input names carry their content (rewrite/inputs.py)."""
        inputs = list(inputs)
        # Under a request's time limit: engines plan the probe without looking for one.
        return self._schemas.get(
            sql, lambda: within_time_limit(lambda: self.probe_schema(sql, inputs))
        )

    @abc.abstractmethod
    def probe_schema(self, sql: str, inputs: Iterable[Input]) -> pa.Schema:
        """Ask the engine for the normalized schema of ``sql`` (registers the inputs)."""

    @abc.abstractmethod
    def cancel(self, tag: str | None = None) -> None:
        """Stop the query named ``tag`` (every running query when None); the engine stays
        usable."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def release_idle(self, idle_s: float) -> list[str]:
        """Drop registered inputs no query has used for ``idle_s`` seconds and none is
        using now; returns their names. A long-running server calls this now and then: the
        inputs of registry versions that are no longer current would otherwise stay
        registered (and tables of records stay in memory) for the life of the process."""
        return []

    def forget(self, names: list[str]) -> None:
        """Drop what is remembered about queries over released inputs: their result
        schemas and kept results can never be asked for again without registering the
        inputs anew, and would otherwise stay until pushed out (up to the caches' sizes)."""
        if names:
            self._schemas.discard(lambda sql: naming(sql, names))  # type: ignore[arg-type]
            self.results.forget(names)

    def registered_count(self) -> int:
        """Inputs registered now (tests and the soak bench watch it)."""
        return 0

    def progress(self, tag: str) -> float | None:
        """How far the query named ``tag`` is, in [0, 1], or None when the engine cannot
        tell (or the query is not running)."""
        return None

    def running_count(self) -> int:
        """Queries whose results are still open (0 once every reader is done or closed)."""
        return 0

    def memory_bytes(self) -> int | None:
        """Memory the engine's own buffers hold now, or None when it cannot tell (the soak
        bench places RSS growth with it)."""
        return None


def idle_inputs(
    registered: dict[str, float], reading: dict[str, list[str]], idle_s: float, now: float
) -> list[str]:
    """Registered inputs last used ``idle_s`` or more before ``now`` that no running query
    reads (``reading``: query → its inputs): what ``release_idle`` may drop."""
    in_use = {name for names in reading.values() for name in names}
    return [
        name for name, used in registered.items() if now - used >= idle_s and name not in in_use
    ]


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
    inputs: Iterable[Input] = (),
    on_end: Callable[[int], None] | None = None,
) -> pa.RecordBatchReader:
    """Batches cast to the normalized schema as they stream (no copy when already right).
    ``on_end`` hears how many rows there were when the stream is read to its end.

    Engines report errors that happen while results stream (a failed cast, a cancelled
    query) as Arrow errors from the reader; they become dsgrid-sql errors here, and the
    engine's per-query state is released however the stream ends — exhausted, failed,
    closed midway, or dropped before its first batch.
    """
    target = normalize_schema(reader.schema)
    batches = _GuardedBatches(
        reader, target, engine_name, cancelled, on_close, tuple(inputs), on_end
    )
    return pa.RecordBatchReader.from_batches(target, batches)


class _GuardedBatches:
    """The iterator behind :func:`guarded_reader`. Not a generator: a generator dropped
    before its first ``next`` never runs its ``finally``, and the engine's query would
    stay registered (and its cursor open) for ever."""

    def __init__(
        self,
        reader: pa.RecordBatchReader,
        target: pa.Schema,
        engine_name: str,
        cancelled: Callable[[], bool],
        on_close: Callable[[], None],
        inputs: tuple[Input, ...],
        on_end: Callable[[int], None] | None = None,
    ) -> None:
        self._reader = reader
        self._target = target
        self._cast = not target.equals(reader.schema)
        self._engine_name = engine_name
        self._cancelled = cancelled
        self._on_close: Callable[[], None] | None = on_close
        self._inputs = inputs
        self._on_end = on_end
        self._rows = 0

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return self

    def __next__(self) -> pa.RecordBatch:
        if self._on_close is None:
            raise StopIteration
        try:
            batch = self._reader.read_next_batch()
        except StopIteration:
            if self._on_end is not None:
                self._on_end(self._rows)
            self.close()
            raise
        except DsgridSqlError:
            self.close()
            raise
        except Exception as exc:  # engines surface stream errors as several Arrow/OS types
            self.close()
            if self._cancelled():
                raise QueryCancelledError("The query was cancelled.") from None
            raise QueryExecutionError(
                f"{self._engine_name} could not finish the query: {first_line(exc)}"
                f"{reading_files(exc, self._inputs)}."
            ) from None
        except BaseException:
            self.close()
            raise
        self._rows += batch.num_rows
        return batch.cast(self._target) if self._cast else batch

    def close(self) -> None:
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            try:
                self._reader.close()
            finally:
                on_close()

    def __del__(self) -> None:
        self.close()


# Engine messages that point at the data files rather than at the query.
_FILE_PROBLEMS = ("io error", "invalid error", "invalid input error", "parquet", "file", "corrupt")


def reading_files(exc: BaseException, inputs: Iterable[Input]) -> str:
    """`` while reading <files>`` when an engine error is about data files: the engines'
    own texts rarely say which file, and a file's path names its dataset and version
    (``data/<dataset_id>/<version>/table.parquet``)."""
    text = str(exc).lower()
    if not any(problem in text for problem in _FILE_PROBLEMS):
        return ""
    paths = sorted({str(i.path) for i in inputs if isinstance(i, ParquetInput)})
    if not paths:
        return ""
    shown = ", ".join(f"'{p}'" for p in paths[:3])
    more = f" and {len(paths) - 3} more" if len(paths) > 3 else ""
    return f" while reading {shown}{more}"


def first_line(exc: BaseException) -> str:
    """The first line of an engine's error text, without its final period."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    lines = text.splitlines()
    first = lines[0]
    if first.startswith("An error occurred while calling") and len(lines) > 1:
        # py4j: the JVM's exception is on the next line, after its class name.
        match = re.match(r":\s*[\w.$]+\s*:\s*(.+)", lines[1])
        if match:
            first = match.group(1)
    return first.rstrip(".: ")
