"""DuckDB in-process: the embedded default engine."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

import duckdb
import pyarrow as pa

from dsgrid_sql.errors import QueryCancelledError, QueryExecutionError
from dsgrid_sql.rewrite.cache import Lru, text_weight
from dsgrid_sql.rewrite.inputs import ArrowInput, Input, ParquetInput
from dsgrid_sql.storage import S3Path

from . import prepared
from .base import (
    BATCH_ROWS,
    Engine,
    first_line,
    guarded_reader,
    idle_inputs,
    normalize_schema,
    reading_files,
)
from .prepared import PreparedCursor
from .results import naming

# Seconds close() waits for a query still planning (DuckDB plans a 30,000-term OR chain for
# tens of seconds on a loaded machine).
CLOSE_WAIT_S = 120.0
# DuckDB optimizer passes the engine turns off (where this DuckDB has them).
# ``partitioned_execution`` splits an aggregate grouped by a column the Parquet statistics
# range over (a county id, say) into one scan per range of it, and each scan reads the whole
# file when its row groups do not hold separate ranges, as dsgrid's files rarely do: at 100M
# rows the residential scan summed by county under a model-year filter read 16.7 M rows seven
# times over (3.8 GB) in 1.6 s, against 0.27 s read once (issue 21;
# bench/results/2026-12-04-partitioned-execution.md).
DISABLED_OPTIMIZERS = ("partitioned_execution",)


class DuckDBEngine(Engine):
    name = "duckdb"
    dialect = "duckdb"
    OPTIONS = ("memory_limit", "threads", "result_cache_mb")

    def __init__(
        self,
        memory_limit: str | None = None,
        threads: int | None = None,
        result_cache_mb: float = 0,
    ) -> None:
        super().__init__(result_cache_mb)
        self._conn = duckdb.connect(":memory:")
        self._conn.execute("SET TimeZone = 'UTC'")
        _disable_optimizers(self._conn)
        if memory_limit:
            self._conn.execute(f"SET memory_limit = '{memory_limit}'")
        if threads:
            self._conn.execute(f"SET threads = {int(threads)}")
        # Registered input name → when a query last used it (release_idle).
        self._registered: dict[str, float] = {}
        self._kinds: dict[str, str] = {}
        self._lock = threading.Lock()
        self._running: dict[str, tuple[duckdb.DuckDBPyConnection, dict[str, Any]]] = {}
        # Inputs each running query reads: never dropped under it.
        self._reading: dict[str, list[str]] = {}
        # Parquet on object storage, as pyarrow datasets (see _remote_dataset).
        self._datasets: dict[str, Any] = {}
        # Cursors between queries, with the statements they have planned (prepared.py).
        self._idle: list[PreparedCursor] = []
        self._serial = itertools.count()
        # Query texts whose last complete run returned few rows: run prepared next time.
        self._small = Lru(prepared.SMALL_TEXTS, weigh=lambda sql, _: text_weight(sql))

    def register(self, inputs: Iterable[Input]) -> None:
        with self._lock:
            now = time.monotonic()
            for item in inputs:
                if item.name in self._registered:
                    self._registered[item.name] = now
                    continue
                if isinstance(item, ParquetInput) and isinstance(item.path, S3Path):
                    self._datasets[item.name] = _remote_dataset(item)
                    self._kinds[item.name] = "DATASET"
                elif isinstance(item, ParquetInput):
                    files = [str(f) for f in item.files] or [str(item.path)]
                    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
                    self._conn.execute(
                        f'CREATE OR REPLACE VIEW "{item.name}" AS '
                        f"SELECT * FROM read_parquet([{listed}], hive_partitioning = true)"
                    )
                    self._kinds[item.name] = "VIEW"
                elif isinstance(item, ArrowInput):
                    # A real table (not a registered Arrow object) so every cursor sees it.
                    arrow = item.table  # noqa: F841 - read by DuckDB's replacement scan
                    self._conn.execute(
                        f'CREATE OR REPLACE TABLE "{item.name}" AS SELECT * FROM arrow'
                    )
                    self._kinds[item.name] = "TABLE"
                self._registered[item.name] = now

    def execute(
        self, sql: str, inputs: Iterable[Input], *, tag: str | None = None, progress: bool = False
    ) -> pa.RecordBatchReader:
        inputs = list(inputs)
        tag = tag or uuid.uuid4().hex
        self._read(tag, inputs)
        # One cursor per query: cursors run concurrently and are interrupted one by one. It
        # stays open (and cancellable) until its reader is exhausted or closed, then goes
        # back to the idle cursors (with the query's plan) or is closed.
        pooled: PreparedCursor | None = None
        try:
            small = not progress and self._small.lookup(sql) is not None
            pooled = self._checkout(inputs) if small else None
            cursor = pooled.cursor if pooled is not None else self._cursor(inputs)
            if progress:
                # Per connection (not settable globally), ~0.27 ms a query: only when asked.
                cursor.execute(
                    "SET enable_progress_bar = true; SET enable_progress_bar_print = false"
                )
        except BaseException:
            self._done_reading(tag)
            raise
        state = {"cancelled": False}
        with self._lock:
            self._running[tag] = (cursor, state)

        def release(kept: bool = True) -> None:
            with self._lock:
                self._running.pop(tag, None)
                self._reading.pop(tag, None)
                # Not a cancelled query's cursor: an interrupt may still be on its way.
                kept = kept and pooled is not None and not state["cancelled"]
                if kept and self._checkin(pooled):  # type: ignore[arg-type]
                    return
            cursor.close()

        try:
            reader = None
            if pooled is not None:
                try:
                    statement = pooled.statement(sql, [i.name for i in inputs])
                    if state["cancelled"]:  # while it was planned: DuckDB forgets that
                        raise duckdb.InterruptException("cancelled while planned")
                    reader = cursor.sql(statement).to_arrow_reader(BATCH_ROWS)
                except duckdb.InterruptException:
                    raise
                except duckdb.Error:
                    # Run as written: its error (or its rows) is the one the query reports.
                    pooled.forget(sql)
            if reader is None:
                reader = cursor.sql(sql).to_arrow_reader(BATCH_ROWS)
        except duckdb.InterruptException:
            release(kept=False)
            raise QueryCancelledError("The query was cancelled.") from None
        except duckdb.Error as exc:
            release(kept=False)
            raise QueryExecutionError(
                f"DuckDB could not run the query: {first_line(exc)}{reading_files(exc, inputs)}."
            ) from None
        return guarded_reader(
            reader,
            engine_name="DuckDB",
            cancelled=lambda: state["cancelled"],
            on_close=release,
            inputs=inputs,
            on_end=lambda rows: self._ended(sql, rows),
        )

    def _ended(self, sql: str, rows: int) -> None:
        """Remember whether ``sql`` has a result small enough to run prepared (prepared.py)."""
        if rows <= prepared.SMALL_RESULT_ROWS:
            self._small.store(sql, True)
        else:
            self._small.remove(sql)

    def forget(self, names: list[str]) -> None:
        super().forget(names)
        if names:
            self._small.discard(lambda sql: naming(sql, names))  # type: ignore[arg-type]

    def probe_schema(self, sql: str, inputs: Iterable[Input]) -> pa.Schema:
        inputs = list(inputs)
        tag = uuid.uuid4().hex
        self._read(tag, inputs)
        try:
            cursor = self._cursor(inputs)
            try:
                # LIMIT 0 binds and plans the query; DuckDB's optimizer skips the scans. In
                # the SQL text, not the relation API's .limit(0), which binds it twice.
                empty = cursor.sql(f"SELECT * FROM ({sql}) AS q LIMIT 0").to_arrow_table()
            except duckdb.Error as exc:
                raise QueryExecutionError(
                    f"DuckDB could not run the query: {first_line(exc)}."
                ) from None
            finally:
                cursor.close()
        finally:
            self._done_reading(tag)
        return normalize_schema(empty.schema)

    def _read(self, tag: str, inputs: list[Input]) -> None:
        """Mark ``inputs`` as read by query ``tag``, then register them: marked first, so
        that release_idle (another thread) never drops one between its registration and
        the query's start."""
        with self._lock:
            self._reading[tag] = [item.name for item in inputs]
        try:
            self.register(inputs)
        except BaseException:
            self._done_reading(tag)
            raise

    def _done_reading(self, tag: str) -> None:
        with self._lock:
            self._reading.pop(tag, None)

    def _checkout(self, inputs: list[Input]) -> PreparedCursor | None:
        """An idle cursor (or a new one) for a query over ``inputs``; None where the query
        needs a cursor of its own (an object-storage dataset is registered on one cursor)."""
        with self._lock:
            if any(i.name in self._datasets for i in inputs):
                return None
            if self._idle:
                return self._idle.pop()
        return PreparedCursor(self._conn.cursor(), lambda: next(self._serial))

    def _checkin(self, pooled: PreparedCursor) -> bool:
        """Keep a cursor whose query ended for the next query (under the lock); False when
        enough are idle already."""
        if len(self._idle) >= prepared.IDLE_CURSORS:
            return False
        pooled.keep_only(self._registered.__contains__)
        self._idle.append(pooled)
        return True

    def _cursor(self, inputs: list[Input]) -> duckdb.DuckDBPyConnection:
        """A new cursor that sees the query's inputs: views and tables live in the database;
        a registered Arrow dataset is seen only by the cursor it is registered on."""
        cursor = self._conn.cursor()
        with self._lock:
            datasets = [(i.name, self._datasets.get(i.name)) for i in inputs]
        for name, dataset in datasets:
            if dataset is not None:
                cursor.register(name, dataset)
        return cursor

    def cancel(self, tag: str | None = None) -> None:
        with self._lock:
            running = [item for key, item in self._running.items() if tag is None or key == tag]
            # Marked under the lock: a query ending now closes its cursor rather than
            # giving it to the next query, which the interrupt below would stop instead.
            for _, state in running:
                state["cancelled"] = True
        for cursor, _ in running:
            # The query may have ended (and closed its cursor) meanwhile: nothing to stop.
            with contextlib.suppress(duckdb.Error):
                cursor.interrupt()

    def release_idle(self, idle_s: float) -> list[str]:
        now = time.monotonic()
        with self._lock:
            idle = idle_inputs(self._registered, self._reading, idle_s, now)
            for name in idle:
                kind = self._kinds.pop(name, "VIEW")
                if kind == "DATASET":
                    self._datasets.pop(name, None)
                else:
                    self._conn.execute(f'DROP {kind} IF EXISTS "{name}"')
                del self._registered[name]
            if idle:
                for pooled in self._idle:
                    pooled.keep_only(self._registered.__contains__)
        self.forget(idle)
        return idle

    def registered_count(self) -> int:
        with self._lock:
            return len(self._registered)

    def prepared_count(self) -> int:
        """Statements the idle cursors hold planned (tests watch it)."""
        with self._lock:
            return sum(len(pooled) for pooled in self._idle)

    def progress(self, tag: str) -> float | None:
        with self._lock:
            running = self._running.get(tag)
        if running is None:
            return None
        try:
            percent = running[0].query_progress()
        except duckdb.Error:
            return None
        return None if percent < 0 else min(percent / 100.0, 1.0)

    def running_count(self) -> int:
        with self._lock:
            return len(self._running)

    def memory_bytes(self) -> int | None:
        try:
            cursor = self._conn.cursor()
        except duckdb.Error:  # closed
            return None
        try:
            rows = cursor.sql("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchall()
        except duckdb.Error:  # closing
            return None
        finally:
            cursor.close()
        return int(rows[0][0] or 0) if rows else 0

    def close(self) -> None:
        """Close the connection. A schema probe left planning past its request's time limit
        (rewrite/deadline.py's within_time_limit) keeps it busy, and DuckDB refuses to close
        a busy connection: wait for the planning, which ends by itself."""
        with self._lock:
            idle, self._idle = self._idle, []
        for pooled in idle:
            pooled.close()
        deadline = time.monotonic() + CLOSE_WAIT_S
        while True:
            try:
                self._conn.close()
                return
            except duckdb.ResourceInUseException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)


def _remote_dataset(item: ParquetInput) -> Any:
    """Parquet on object storage as a pyarrow dataset over pyarrow's S3 filesystem (DuckDB's
    httpfs cannot be assumed: its extension is downloaded at run time). DuckDB's Arrow scan
    hands the dataset the query's columns and filters, so only the needed column chunks of
    row groups whose statistics (and hive partitions) can match are fetched.

    Strings are read as plain strings although decoding them costs about half a full scan's
    time: read as dictionaries, the scan no longer skips row groups by their statistics
    (measured in bench/s3.py; a filtered question matters more than a full scan)."""
    import pyarrow.dataset as pads

    path = item.path
    assert isinstance(path, S3Path)
    files = [f for f in item.files if isinstance(f, S3Path)] or [path]
    single = files == [path]
    return pads.dataset(
        [f.fs_path for f in files],
        filesystem=path.filesystem,
        format="parquet",
        partitioning=None if single else "hive",
        partition_base_dir=None if single else path.fs_path,
    )


def _disable_optimizers(conn: duckdb.DuckDBPyConnection) -> None:
    """Turn off DISABLED_OPTIMIZERS, those this DuckDB has (naming an unknown pass fails)."""
    known = {row[0] for row in conn.execute("SELECT name FROM duckdb_optimizers()").fetchall()}
    names = [name for name in DISABLED_OPTIMIZERS if name in known]
    if names:
        conn.execute(f"SET disabled_optimizers = '{','.join(names)}'")
