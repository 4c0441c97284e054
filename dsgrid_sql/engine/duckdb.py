"""DuckDB in-process: the embedded default engine."""

from __future__ import annotations

import threading
from collections.abc import Iterable

import duckdb
import pyarrow as pa

from dsgrid_sql.errors import QueryCancelledError, QueryExecutionError
from dsgrid_sql.rewrite.inputs import ArrowInput, Input, ParquetInput

from .base import BATCH_ROWS, Engine, normalized_reader


class DuckDBEngine(Engine):
    name = "duckdb"
    dialect = "duckdb"
    OPTIONS = ("memory_limit", "threads")

    def __init__(self, memory_limit: str | None = None, threads: int | None = None) -> None:
        self._conn = duckdb.connect(":memory:")
        self._conn.execute("SET TimeZone = 'UTC'")
        if memory_limit:
            self._conn.execute(f"SET memory_limit = '{memory_limit}'")
        if threads:
            self._conn.execute(f"SET threads = {int(threads)}")
        self._registered: set[str] = set()
        self._lock = threading.Lock()
        self._running: list[duckdb.DuckDBPyConnection] = []

    def register(self, inputs: Iterable[Input]) -> None:
        with self._lock:
            for item in inputs:
                if item.name in self._registered:
                    continue
                if isinstance(item, ParquetInput):
                    files = [str(f) for f in item.files] or [str(item.path)]
                    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
                    self._conn.execute(
                        f'CREATE OR REPLACE VIEW "{item.name}" AS '
                        f"SELECT * FROM read_parquet([{listed}], hive_partitioning = true)"
                    )
                elif isinstance(item, ArrowInput):
                    # A real table (not a registered Arrow object) so every cursor sees it.
                    arrow = item.table  # noqa: F841 - read by DuckDB's replacement scan
                    self._conn.execute(
                        f'CREATE OR REPLACE TABLE "{item.name}" AS SELECT * FROM arrow'
                    )
                self._registered.add(item.name)

    def execute(self, sql: str, inputs: Iterable[Input]) -> pa.RecordBatchReader:
        self.register(inputs)
        cursor = self._conn.cursor()
        self._running.append(cursor)
        try:
            reader = cursor.sql(sql).to_arrow_reader(BATCH_ROWS)
        except duckdb.InterruptException:
            raise QueryCancelledError("The query was cancelled.") from None
        except duckdb.Error as exc:
            raise QueryExecutionError(
                f"DuckDB could not run the query: {_first_line(exc)}."
            ) from None
        finally:
            self._running.remove(cursor)
        return normalized_reader(reader)

    def cancel(self) -> None:
        for cursor in list(self._running):
            cursor.interrupt()
        self._conn.interrupt()

    def close(self) -> None:
        self._conn.close()


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() else type(exc).__name__
