"""Spark: local mode, a cluster master URL, or Spark Connect.

One SparkSession per process (starting one takes seconds): every SparkEngine shares it.
Small-machine settings by default, session time zone UTC, results through ``toArrow()``.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from dsgrid_sql.errors import QueryCancelledError, QueryExecutionError
from dsgrid_sql.rewrite.inputs import ArrowInput, Input, ParquetInput

from .base import BATCH_ROWS, Engine, first_line, normalize_schema

DEFAULT_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.ansi.enabled": "false",
    "spark.driver.memory": "2g",
}

_session_lock = threading.Lock()
_session: Any = None


def spark_session(
    master: str | None = None, remote: str | None = None, conf: dict[str, str] | None = None
) -> Any:
    """The process's SparkSession, created on first use; later calls get the same one
    (Spark allows one active session per process)."""
    global _session
    remote = remote or os.environ.get("SPARK_REMOTE") or None
    with _session_lock:
        if _session is not None:
            return _session
        from pyspark.sql import SparkSession

        builder = SparkSession.builder.appName("dsgrid-sql")
        if remote:
            builder = builder.remote(remote)
        else:
            builder = builder.master(
                master or os.environ.get("DSGRID_SQL_SPARK_MASTER") or "local[2]"
            )
            for name, value in {**DEFAULT_CONF, **(conf or {})}.items():
                builder = builder.config(name, value)
        _session = builder.getOrCreate()
        if remote:
            _session.conf.set("spark.sql.session.timeZone", "UTC")
        else:
            _session.sparkContext.setLogLevel("ERROR")
        return _session


class SparkEngine(Engine):
    name = "spark"
    dialect = "spark"
    OPTIONS = ("spark_master", "spark_remote", "spark_conf")

    def __init__(
        self,
        spark_master: str | None = None,
        spark_remote: str | None = None,
        spark_conf: dict[str, str] | None = None,
    ) -> None:
        self._spark = spark_session(spark_master, spark_remote, spark_conf)
        self._remote = spark_remote or os.environ.get("SPARK_REMOTE")
        self._registered: set[str] = set()
        self._lock = threading.Lock()
        self._groups: set[str] = set()
        self._cancelled: set[str] = set()

    def register(self, inputs: Iterable[Input]) -> None:
        with self._lock:
            for item in inputs:
                # Names carry their content (rewrite/inputs.py): a view registered under a
                # name never needs replacing, so no catalog round trip per query.
                if item.name in self._registered:
                    continue
                if isinstance(item, ParquetInput):
                    frame = self._spark.read.parquet(str(item.path))
                elif isinstance(item, ArrowInput):
                    frame = self._spark.createDataFrame(_plain(item.table))
                frame.createOrReplaceTempView(item.name)
                self._registered.add(item.name)

    def execute(
        self, sql: str, inputs: Iterable[Input], *, tag: str | None = None
    ) -> pa.RecordBatchReader:
        self.register(inputs)
        group = tag or uuid.uuid4().hex
        with self._lock:
            self._groups.add(group)
        try:
            self._tag(group)
            table = self._spark.sql(sql).toArrow()
        except Exception as exc:  # pyspark raises many exception classes
            if self._was_cancelled(group):
                raise QueryCancelledError("The query was cancelled.") from None
            raise QueryExecutionError(
                f"Spark could not run the query: {first_line(exc)}."
            ) from None
        finally:
            self._untag(group)
            with self._lock:
                self._groups.discard(group)
                self._cancelled.discard(group)
        # toArrow() collects the whole result on the driver; re-batch it for streaming.
        table = table.cast(normalize_schema(table.schema))
        return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(BATCH_ROWS))

    def schema(self, sql: str, inputs: Iterable[Input]) -> pa.Schema:
        self.register(inputs)
        try:
            # LIMIT 0 becomes an empty local relation in Spark's optimizer: no job runs.
            empty = self._spark.sql(sql).limit(0).toArrow()
        except Exception as exc:  # pyspark raises many exception classes
            raise QueryExecutionError(
                f"Spark could not run the query: {first_line(exc)}."
            ) from None
        return normalize_schema(empty.schema)

    def _tag(self, group: str) -> None:
        # Job groups (classic) and tags (Connect) are per thread / per session operation;
        # each query sets its own before it runs.
        if self._remote:
            self._spark.addTag(group)
        else:
            self._spark.sparkContext.setJobGroup(group, "dsgrid-sql query", True)

    def _untag(self, group: str) -> None:
        if self._remote:
            self._spark.removeTag(group)

    def _was_cancelled(self, group: str) -> bool:
        with self._lock:
            return group in self._cancelled

    def cancel(self, tag: str | None = None) -> None:
        with self._lock:
            groups = [g for g in self._groups if tag is None or g == tag]
            self._cancelled.update(groups)
        for group in groups:
            if self._remote:
                self._spark.interruptTag(group)
            else:
                self._spark.sparkContext.cancelJobGroup(group)

    def close(self) -> None:
        """The session is shared by the process; it stops when the process ends."""


def _plain(table: pa.Table) -> pa.Table:
    """Spark's Arrow conversion wants plain types (no dictionaries, no views)."""
    return table.cast(normalize_schema(table.schema))
