"""Server settings: one place for every limit and its safe default (README "Flight SQL",
"HTTP API" and "Jobs"), for every front end of ``dsgrid-sql serve``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dsgrid_sql.rewrite.parse import DEFAULT_LIMITS

DEFAULT_PORT = 31337


@dataclass
class ServerConfig:
    registry: str | Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    data_path: str | Path | None = None
    # How to reach an s3:// registry or data (KEY=VALUE texts, a dict or StorageOptions).
    storage_options: Any = None
    engine: str | None = None
    engine_options: dict[str, Any] = field(default_factory=dict)
    dialect: str = "duckdb"
    project: str | None = None
    export_dir: str | Path | None = None
    # TLS: certificate and key files (PEM); a CA bundle makes clients present certificates.
    tls_cert: str | Path | None = None
    tls_key: str | Path | None = None
    tls_client_ca: str | Path | None = None
    # Auth: None (no authentication, for local use) or a users file (auth.py).
    users_file: str | Path | None = None
    token_ttl_s: int = 8 * 3600
    # A fixed secret keeps tokens valid across restarts; random per start otherwise.
    token_secret: bytes | None = None
    # Limits: each exceeded one is a clear error, never a truncated result. 0 = no limit.
    max_concurrent_queries: int = 8
    max_queries_per_user: int = 4
    # Seconds a query over either limit waits for a slot before it is refused.
    queue_wait_s: float = 2.0
    query_timeout_s: float = 300.0
    max_result_rows: int = 0
    max_result_bytes: int = 0
    # SQL text a client may send: characters, and levels of nesting (parentheses,
    # subqueries, CASE, prefix operators); over either is a clear error before parsing.
    max_sql_length: int = DEFAULT_LIMITS.max_length
    max_nesting_depth: int = DEFAULT_LIMITS.max_depth
    # Rows (or list elements) one generate_series / range may make.
    max_series_rows: int = DEFAULT_LIMITS.max_series_rows
    # Results of repeatable queries kept for clients that send the same query again
    # (dashboards refresh, many users open one chart): MiB of Arrow data, least recently
    # used out; one result may take a quarter of it (engine/results.py). 0 keeps nothing.
    result_cache_mb: float = 256
    # Batches sent to clients: Go clients refuse gRPC messages over 16 MiB.
    batch_bytes: int = 4 * 1024 * 1024
    batch_rows: int = 262_144
    # Abandoned tickets and prepared statements are dropped after these idle times.
    ticket_ttl_s: float = 600.0
    prepared_ttl_s: float = 3600.0
    session_ttl_s: float = 3600.0
    max_prepared_per_user: int = 1000
    # Seconds between checks of the registry for changes; None: 1 s for a local file, 10 s
    # for one on object storage (a request per check).
    registry_poll_s: float | None = None
    # Engine inputs (Parquet views, record and mapping tables) no query used for this long
    # are dropped, so those of registry versions no longer current do not pile up.
    input_idle_s: float = 600.0
    # HTTP API and web console on the same host (None: Flight SQL only; 0: any free port).
    http_port: int | None = None
    # Jobs: where results are kept (None: DSGRID_SQL_JOBS_DIR or the user's data folder),
    # how long, how many run at once, and the disk they may fill (bytes; 0 = no limit).
    jobs_dir: str | Path | None = None
    job_ttl_s: float = 24 * 3600.0
    max_running_jobs: int = 2
    max_queued_jobs_per_user: int = 100
    job_timeout_s: float = 6 * 3600.0
    job_budget_per_user_bytes: int = 10 * 2**30
    job_budget_total_bytes: int = 100 * 2**30

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def location(self) -> str:
        scheme = "grpc+tls" if self.tls else "grpc+tcp"
        return f"{scheme}://{self.host}:{self.port}"
