"""Spark: local mode, a cluster master URL, or Spark Connect.

One SparkSession per process (starting one takes seconds): every SparkEngine shares it.
Small-machine settings by default, session time zone UTC.

Results stream as Arrow batches; the driver never holds a whole result:

- classic (local mode, a cluster master): the plan's Arrow batch RDD is served to Python one
  partition at a time, in order (``Dataset.toArrowBatchRdd`` and
  ``PythonRDD.toLocalIteratorAndServe``, the JVM side of pyspark's own ``toLocalIterator``,
  which yields pickled rows instead, 5–25× slower). The next partition is computed while
  one is read. Those JVM methods are ``private[sql]``/internal; if a pyspark release lacks
  them the engine falls back to ``toArrow()`` (the whole result at once).
- Spark Connect: the server already streams Arrow batches in order; the client's
  ``to_table_as_iterator`` (what the public ``toLocalIterator`` reads) yields them one by one,
  where ``toArrow()`` would gather them into one table first.

Every path fetches the first batch before ``execute`` returns, so planning and execution errors
surface there, as they did when results were collected.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

import pyarrow as pa

from dsgrid_sql.errors import (
    DsgridSqlError,
    EngineUnavailableError,
    QueryCancelledError,
    QueryExecutionError,
)
from dsgrid_sql.rewrite.inputs import ArrowInput, Input, ParquetInput
from dsgrid_sql.storage import S3Path, StorageOptions

from .base import BATCH_ROWS, Engine, first_line, guarded_reader, idle_inputs, normalize_schema

DEFAULT_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # Rows per Arrow batch sent to Python (Spark's default is 10,000): the batch size every
    # engine streams.
    "spark.sql.execution.arrow.maxRecordsPerBatch": str(BATCH_ROWS),
    "spark.sql.ansi.enabled": "false",
    "spark.driver.memory": "2g",
    # Spark replaces ${env:X}, ${system:X} and ${spark.*} anywhere in SQL text, string
    # literals included: a read of the server's environment. Off (DESIGN.md §8).
    "spark.sql.variable.substitute": "false",
}

# Settings that change answers (not only speed): set on every session, remote ones too.
ANSWER_CONF = (
    "spark.sql.session.timeZone",
    "spark.sql.ansi.enabled",
    "spark.sql.variable.substitute",
)

_session_lock = threading.Lock()
_session: Any = None
# False once this pyspark turned out not to have the JVM methods the classic stream uses.
_arrow_iterator = True


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
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise _not_installed(exc) from None

        builder = SparkSession.builder.appName("dsgrid-sql")
        if remote:
            builder = builder.remote(remote)
        else:
            builder = builder.master(
                master or os.environ.get("DSGRID_SQL_SPARK_MASTER") or "local[2]"
            )
            for name, value in {**DEFAULT_CONF, **(conf or {})}.items():
                builder = builder.config(name, value)
        try:
            _session = builder.getOrCreate()
        except ImportError as exc:  # Spark Connect's own packages (grpcio, pandas, ...)
            raise _not_installed(exc) from None
        # Also when the session existed before (getOrCreate) or is remote: a Spark Connect
        # server brings its own defaults (Spark 4 turns ANSI mode on), and these change
        # answers, so every client session sets them as local mode does.
        for name in ANSWER_CONF:
            _session.conf.set(name, DEFAULT_CONF[name])
        if not remote:
            _session.sparkContext.setLogLevel("ERROR")
        return _session


def _not_installed(exc: ImportError) -> EngineUnavailableError:
    missing = exc.name or "pyspark"
    return EngineUnavailableError(
        f"The Spark engine needs {missing.split('.')[0]}, which is not installed; "
        "install it with: pip install 'dsgrid-sql[spark]'."
    )


class SparkEngine(Engine):
    name = "spark"
    dialect = "spark"
    OPTIONS = ("spark_master", "spark_remote", "spark_conf", "result_cache_mb", "storage_options")

    def __init__(
        self,
        spark_master: str | None = None,
        spark_remote: str | None = None,
        spark_conf: dict[str, str] | None = None,
        result_cache_mb: float = 0,
        storage_options: StorageOptions | None = None,
    ) -> None:
        super().__init__(result_cache_mb)
        self._s3a_conf = s3a_conf(storage_options or StorageOptions())
        # Given to a session started here; a session already running gets them below.
        self._spark = spark_session(
            spark_master, spark_remote, {**self._s3a_conf, **(spark_conf or {})}
        )
        self._remote = spark_remote or os.environ.get("SPARK_REMOTE")
        self._s3a_set = False
        self._lock = threading.Lock()
        self._groups: set[str] = set()
        self._cancelled: set[str] = set()

    # Temporary views belong to the process's one Spark session, which every SparkEngine of
    # the process shares: which views exist, when a query last used each, and what running
    # queries read are kept once per process, so one engine never drops another's view.
    _views_lock = threading.Lock()
    _registered: ClassVar[dict[str, float]] = {}  # view name → when a query last used it
    _reading: ClassVar[dict[str, list[str]]] = {}  # running query group → views it reads

    def register(self, inputs: Iterable[Input]) -> None:
        with self._views_lock:
            now = time.monotonic()
            for item in inputs:
                # Names carry their content (rewrite/inputs.py): a view registered under a
                # name never needs replacing, so no catalog round trip per query.
                if item.name in self._registered:
                    self._registered[item.name] = now
                    continue
                if isinstance(item, ParquetInput) and isinstance(item.path, S3Path):
                    self._set_s3a()
                    try:
                        frame = self._spark.read.parquet(s3a_url(item.path))
                    except Exception as exc:  # pyspark raises many exception classes
                        raise s3a_error(exc, item.path) from None
                elif isinstance(item, ParquetInput):
                    frame = self._spark.read.parquet(str(item.path))
                elif isinstance(item, ArrowInput):
                    frame = self._spark.createDataFrame(_plain(item.table))
                frame.createOrReplaceTempView(item.name)
                self._registered[item.name] = now

    def _set_s3a(self) -> None:
        """The S3A settings of this engine's storage options on the running session's Hadoop
        configuration (a session started before this engine did not get them)."""
        if self._s3a_set or self._remote:
            # Spark Connect: the server's own spark.hadoop.fs.s3a.* settings apply.
            return
        hadoop = self._spark.sparkContext._jsc.hadoopConfiguration()
        for name, value in self._s3a_conf.items():
            hadoop.set(name.removeprefix("spark.hadoop."), value)
        self._s3a_set = True

    def execute(
        self, sql: str, inputs: Iterable[Input], *, tag: str | None = None, progress: bool = False
    ) -> pa.RecordBatchReader:
        # Spark's status tracker counts every job group's tasks: ``progress`` needs nothing.
        inputs = list(inputs)
        group = tag or uuid.uuid4().hex
        with self._lock:
            self._groups.add(group)
        # Marked as read before registered: release_idle never drops a view between.
        with self._views_lock:
            self._reading[group] = [item.name for item in inputs]

        def release() -> None:
            with self._lock:
                self._groups.discard(group)
                self._cancelled.discard(group)
            with self._views_lock:
                self._reading.pop(group, None)

        try:
            self.register(inputs)
            self._tag(group)
            frame = self._spark.sql(sql)
            batches = self._remote_batches(frame) if self._remote else self._batches(frame)
            # Run the query up to its first batch here: errors surface from execute().
            first = next(batches, None)
        except DsgridSqlError:  # ours already (an input Spark cannot read, say): as it is
            release()
            raise
        except Exception as exc:  # pyspark raises many exception classes
            release()
            if self._was_cancelled(group):
                raise QueryCancelledError("The query was cancelled.") from None
            raise QueryExecutionError(
                f"Spark could not run the query: {first_line(exc)}."
            ) from None
        finally:
            # Connect tags belong to the thread that ran the query; the running operation
            # keeps its tag (and stays cancellable) after this.
            self._untag(group)
        if first is None:  # no rows: the schema from the plan
            schema = self._arrow_schema(frame)
            reader = pa.RecordBatchReader.from_batches(schema, iter(()))
        else:
            reader = pa.RecordBatchReader.from_batches(
                first.schema, self._checked(first, batches, group)
            )
        return guarded_reader(
            reader,
            engine_name="Spark",
            cancelled=lambda: self._was_cancelled(group),
            on_close=release,
        )

    def _checked(
        self, first: pa.RecordBatch, batches: Iterator[pa.RecordBatch], group: str
    ) -> Iterator[pa.RecordBatch]:
        yield first
        for batch in batches:
            # A cancel between two partition jobs has no job to stop: stop here.
            if self._was_cancelled(group):
                raise QueryCancelledError("The query was cancelled.")
            yield batch

    def _arrow_schema(self, frame: Any) -> pa.Schema:
        from pyspark.sql.pandas.types import to_arrow_schema

        return to_arrow_schema(frame.schema, timezone="UTC")

    def _batches(self, frame: Any) -> Iterator[pa.RecordBatch]:
        """Classic pyspark: the result one partition at a time, in order."""
        global _arrow_iterator
        if _arrow_iterator:
            from py4j.protocol import Py4JError
            from pyspark.errors.exceptions.captured import unwrap_spark_exception
            from pyspark.serializers import NoOpSerializer
            from pyspark.util import _local_iterator_from_socket

            try:
                rdd = frame._jdf.toArrowBatchRdd()
            except Py4JError as exc:
                if "does not exist" not in str(exc):
                    raise
                _arrow_iterator = False  # this pyspark lacks the method: collect instead
            else:
                schema = self._arrow_schema(frame)
                jvm = self._spark.sparkContext._jvm
                # prefetch: the next partition's job runs while this one is read.
                served = jvm.PythonRDD.toLocalIteratorAndServe(rdd, True)
                with unwrap_spark_exception():  # a failed job: Spark's error, not Py4J's
                    for message in _local_iterator_from_socket(served, NoOpSerializer()):
                        yield pa.ipc.read_record_batch(pa.py_buffer(message), schema)
                return
        table = frame.toArrow()
        yield from table.to_batches(BATCH_ROWS)

    def _remote_batches(self, frame: Any) -> Iterator[pa.RecordBatch]:
        """Spark Connect: the server's Arrow batches as they arrive."""
        client = self._spark.client
        plan = frame._plan.to_proto(client)
        for item in client.to_table_as_iterator(plan, frame._plan.observations):
            if isinstance(item, pa.Table):
                yield from item.to_batches()

    def probe_schema(self, sql: str, inputs: Iterable[Input]) -> pa.Schema:
        inputs = list(inputs)
        probe = uuid.uuid4().hex
        with self._views_lock:
            self._reading[probe] = [item.name for item in inputs]
        try:
            self.register(inputs)
            # LIMIT 0 becomes an empty local relation in Spark's optimizer: no job runs.
            empty = self._spark.sql(sql).limit(0).toArrow()
        except DsgridSqlError:
            raise
        except Exception as exc:  # pyspark raises many exception classes
            raise QueryExecutionError(
                f"Spark could not run the query: {first_line(exc)}."
            ) from None
        finally:
            with self._views_lock:
                self._reading.pop(probe, None)
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

    def release_idle(self, idle_s: float) -> list[str]:
        now = time.monotonic()
        with self._views_lock:
            idle = idle_inputs(self._registered, self._reading, idle_s, now)
            for name in idle:
                self._spark.catalog.dropTempView(name)
                del self._registered[name]
        self.forget(idle)
        return idle

    def registered_count(self) -> int:
        with self._views_lock:
            return len(self._registered)

    def progress(self, tag: str) -> float | None:
        """Finished tasks over all tasks of the query's jobs so far (classic Spark only:
        Spark Connect does not report task counts to the client)."""
        if self._remote:
            return None
        with self._lock:
            if tag not in self._groups:
                return None
        tracker = self._spark.sparkContext.statusTracker()
        done = total = 0
        for job_id in tracker.getJobIdsForGroup(tag):
            job = tracker.getJobInfo(job_id)
            for stage_id in job.stageIds if job is not None else ():
                stage = tracker.getStageInfo(stage_id)
                if stage is not None:
                    done += stage.numCompletedTasks
                    total += stage.numTasks
        return done / total if total else None

    def close(self) -> None:
        """The session is shared by the process; it stops when the process ends."""


def _plain(table: pa.Table) -> pa.Table:
    """Spark's Arrow conversion wants plain types (no dictionaries, no views)."""
    return table.cast(normalize_schema(table.schema))


# -- object storage ---------------------------------------------------------------------------


def s3a_url(path: S3Path) -> str:
    """Hadoop's connector reads s3a://; s3:// names no filesystem in open-source Hadoop."""
    return f"s3a://{path.bucket}/{path.key}"


def s3a_conf(options: StorageOptions) -> dict[str, str]:
    """``spark.hadoop.fs.s3a.*`` settings from the same storage options (and AWS environment)
    DuckDB reads with. Without explicit keys, the connector's default credential chain reads
    AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN and AWS_PROFILE itself."""
    options = options.resolved()
    prefix = "spark.hadoop.fs.s3a."
    conf: dict[str, str] = {}
    if options.endpoint:
        conf[prefix + "endpoint"] = options.endpoint_host() or options.endpoint
        conf[prefix + "connection.ssl.enabled"] = str(options.use_tls()).lower()
    elif options.tls is not None:
        conf[prefix + "connection.ssl.enabled"] = str(options.tls).lower()
    if options.region:
        conf[prefix + "endpoint.region"] = options.region
    if options.path_style is not None:
        conf[prefix + "path.style.access"] = str(options.path_style).lower()
    elif options.endpoint:
        # S3-compatible servers mostly want the bucket in the path (as pyarrow sends it).
        conf[prefix + "path.style.access"] = "true"
    if options.anonymous:
        conf[prefix + "aws.credentials.provider"] = (
            "org.apache.hadoop.fs.s3a.AnonymousAWSCredentialsProvider"
        )
    elif options.access_key_id or options.secret_access_key:
        conf[prefix + "access.key"] = options.access_key_id or ""
        conf[prefix + "secret.key"] = options.secret_access_key or ""
        if options.session_token:
            conf[prefix + "session.token"] = options.session_token
            conf[prefix + "aws.credentials.provider"] = (
                "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider"
            )
    conf[prefix + "connection.establish.timeout"] = str(int(options.connect_timeout_s * 1000))
    conf[prefix + "connection.timeout"] = str(int(options.request_timeout_s * 1000))
    return conf


def hadoop_version() -> str | None:
    """The Hadoop version of this pyspark build, from its bundled client jar."""
    try:
        import pyspark
    except ImportError:
        return None
    from pathlib import Path

    jars = Path(pyspark.__file__).parent / "jars"
    for jar in sorted(jars.glob("hadoop-client-api-*.jar")):
        return jar.name.removeprefix("hadoop-client-api-").removesuffix(".jar")
    return None


def s3a_error(exc: BaseException, path: S3Path) -> DsgridSqlError:
    """Spark's failure to read ``path``: a missing S3A connector named as what to add."""
    text = str(exc)
    if "S3AFileSystem" in text or 'No FileSystem for scheme "s3a"' in text:
        version = hadoop_version() or "<the Hadoop version of your Spark build>"
        return EngineUnavailableError(
            f"Spark cannot read '{s3a_url(path)}': this Spark has no S3A connector; add "
            f"spark.jars.packages=org.apache.hadoop:hadoop-aws:{version} "
            "(--spark-conf, or the cluster's spark-defaults.conf).",
        )
    message = StorageOptions().scrub(first_line(exc))
    return QueryExecutionError(f"Spark could not read '{s3a_url(path)}': {message}.")
