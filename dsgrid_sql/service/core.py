"""One server process's shared parts: what Flight SQL and the HTTP API both stand on.

``dsgrid-sql serve`` builds one ``ServerCore`` and hands it to each front end it starts, so
both protocols see the same registry version, the same users and tokens, the same limits on
running queries, the same jobs and one set of metrics.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from dsgrid_sql.catalog import Catalog
from dsgrid_sql.engine import Engine, make_engine
from dsgrid_sql.jobs import JobRecord, JobRunner, JobState, JobStore
from dsgrid_sql.session import Session

from .admission import Admission
from .auth import Authenticator, load_users
from .catalogs import CatalogHolder
from .config import ServerConfig
from .heap import fix_allocator_thresholds, return_free_memory
from .metrics import Metrics

log = logging.getLogger("dsgrid_sql.server")


class ServerCore:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        fix_allocator_thresholds()  # a server runs for months: see heap.py
        users = load_users(config.users_file) if config.users_file else None
        self.authenticator = Authenticator(
            users, ttl_s=config.token_ttl_s, secret=config.token_secret
        )
        self.catalogs = CatalogHolder(
            config.registry,
            data_path=config.data_path,
            poll_s=config.registry_poll_s,
            storage_options=config.storage_options,
        )
        self.admission = Admission(
            config.max_concurrent_queries, config.max_queries_per_user, config.queue_wait_s
        )
        self.engine: Engine = make_engine(
            config.engine,
            **{
                **config.engine_options,
                "result_cache_mb": config.result_cache_mb,
                # Spark reads s3a:// paths with these (DuckDB reads through the catalog's).
                "storage_options": self.catalogs.current().storage_options,
            },
        )
        try:
            self.jobs = JobRunner(
                JobStore(
                    config.jobs_dir,
                    ttl_s=config.job_ttl_s,
                    user_budget_bytes=config.job_budget_per_user_bytes,
                    total_budget_bytes=config.job_budget_total_bytes,
                ),
                max_running=config.max_running_jobs,
                max_queued_per_user=config.max_queued_jobs_per_user,
                timeout_s=config.job_timeout_s,
                admission=self.admission,
            )
        except BaseException:
            self.engine.close()
            raise
        self.metrics = Metrics()
        self.metrics.gauge(
            "dsgrid_sql_running_queries",
            "Queries running now, every protocol and jobs.",
            self.admission.running,
        )
        self.metrics.gauge(
            "dsgrid_sql_running_jobs", "Jobs running now.", lambda: self.jobs.running()
        )
        self.metrics.gauge(
            "dsgrid_sql_queued_jobs",
            "Jobs waiting to run.",
            lambda: self.jobs.count(JobState.QUEUED),
        )
        self.metrics.gauge(
            "dsgrid_sql_kept_result_hits_total",
            "Queries answered from kept results.",
            lambda: self.engine.results.hits,
        )
        self.metrics.gauge(
            "dsgrid_sql_kept_result_bytes",
            "Bytes of results kept for queries sent again.",
            lambda: self.engine.results.bytes,
        )
        self.metrics.gauge(
            "dsgrid_sql_job_result_bytes",
            "Bytes of job results kept on disk.",
            lambda: self.jobs.store.usage(),
        )
        self.metrics.gauge(
            "dsgrid_sql_registry_reloads_total",
            "Times a changed registry was read again.",
            lambda: self.catalogs.reloads,
        )
        self.jobs.on_finish = self._job_finished
        self._closed = False
        self._stop = threading.Event()
        self._housekeeper = threading.Thread(
            target=self._housekeeping, name="dsgrid-sql-housekeeping", daemon=True
        )
        self._housekeeper.start()

    def _housekeeping(self) -> None:
        """Release engine inputs nobody has used for a while (tables of records a dashboard
        stopped asking for) and, soon after the registry changes, those of the versions no
        longer current: every input no query has used since the new catalog replaced the
        old one and none is reading now. An input the current version shares with the old
        one goes too when nothing used it meanwhile; the next query registers it again
        (a view, or a small table: milliseconds), which keeps the rule simple and the
        memory of a server whose registry changes for months where it started."""
        interval = max(0.05, min(60.0, self.config.input_idle_s / 4))
        # Checked this often for a registry change (a look at two numbers).
        tick = min(interval, 1.0)
        seen_reloads = self.catalogs.reloads
        last_idle = time.monotonic()
        while not self._stop.wait(tick):
            now = time.monotonic()
            idle_s = None
            reloaded = self.catalogs.reloads != seen_reloads
            if reloaded:
                seen_reloads = self.catalogs.reloads
                idle_s = min(self.config.input_idle_s, now - self.catalogs.replaced_at)
            elif now - last_idle >= interval:
                idle_s = self.config.input_idle_s
            if idle_s is None:
                continue
            last_idle = now
            try:
                released = self.engine.release_idle(idle_s)
            except Exception as exc:  # housekeeping never stops the server
                log.warning("Releasing idle engine inputs failed: %s", exc)
                continue
            if released:
                log.debug("Released %d idle engine inputs", len(released))
            if released or reloaded:
                # What a released version held (and a replaced catalog, freed at its
                # reload) goes back to the system, not only to the allocator's free lists;
                # an idle server with nothing released does not walk the arenas.
                return_free_memory()

    def _job_finished(self, record: JobRecord, seconds: float) -> None:
        status = job_status_label(record)
        self.metrics.query("jobs", status, seconds)
        # One line per job, like Flight's per query: never the SQL text or its literals.
        log.info(
            "job user=%s id=%s status=%s rows=%s bytes=%s ms=%d",
            record.owner, record.id, status, record.rows, record.bytes, seconds * 1000,
        )  # fmt: skip

    def new_session(self, catalog: Catalog | None = None) -> Session:
        """A client session with the server's settings, on the shared engine."""
        return make_session(self.config, catalog or self.catalogs.current(), self.engine)

    def close(self) -> None:
        """Stop the jobs (unfinished ones are failed), then release the engine."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._housekeeper.join(timeout=5)
        self.jobs.close()
        self.engine.close()


def make_session(config: ServerConfig, catalog: Catalog, engine: Engine) -> Session:
    return Session(
        catalog,
        engine=engine,
        dialect=config.dialect,
        schema=config.project,
        export_dir=config.export_dir,
        allow_copy=config.export_dir is not None,
        max_sql_length=config.max_sql_length,
        max_nesting_depth=config.max_nesting_depth,
        max_series_rows=config.max_series_rows,
        jobs_dir=Path(config.jobs_dir) if config.jobs_dir else None,
    )


def job_status_label(record: JobRecord) -> str:
    """A finished job as a metrics status: ok, cancelled, timeout or error."""
    if record.state is JobState.SUCCEEDED:
        return "ok"
    if record.state is JobState.CANCELLED:
        return "cancelled"
    return "timeout" if (record.error or {}).get("code") == "timeout" else "error"
