"""``dsgrid-sql serve`` and ``dsgrid-sql users``: the Flight SQL endpoint's commands.

Kept apart from cli.py so that the server's options live beside each other; cli.py adds
these commands to the main group.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import click

from dsgrid_sql.cli_options import registry_options
from dsgrid_sql.errors import DsgridSqlError


def _int_env(name: str) -> dict[str, Any]:
    return {"envvar": name, "show_default": True, "type": int}


@click.command()
@registry_options
@click.option("--host", default="127.0.0.1", show_default=True, envvar="DSGRID_SQL_HOST",
              help="Address to listen on; loopback unless you mean to share it.")  # fmt: skip
@click.option("--port", default=31337, **_int_env("DSGRID_SQL_PORT"), help="Port (0: any free).")
@click.option("--engine", envvar="DSGRID_BACKEND_ENGINE", type=click.Choice(["duckdb", "spark"]),
              help="Query engine (env DSGRID_BACKEND_ENGINE; default duckdb).")  # fmt: skip
@click.option("--spark-master", envvar="DSGRID_SQL_SPARK_MASTER", metavar="URL")
@click.option("--spark-remote", envvar="SPARK_REMOTE", metavar="URL")
@click.option("--memory-limit", metavar="SIZE", help="DuckDB memory limit, e.g. 8GB.")
@click.option("--dialect", default="duckdb", show_default=True, help="Default input dialect.")
@click.option("--project", help="Default schema of every client session.")
@click.option("--export-dir", type=click.Path(file_okay=False),
              help="COPY ... TO writes only under this folder (refused when unset).")  # fmt: skip
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True), help="PEM certificate.")
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True), help="PEM private key.")
@click.option("--tls-client-ca", type=click.Path(dir_okay=False, exists=True),
              help="Require client certificates signed by this CA (mutual TLS).")  # fmt: skip
@click.option("--auth", "users_file", metavar="USERS_FILE", envvar="DSGRID_SQL_USERS",
              type=click.Path(dir_okay=False),
              help="Users file; turns authentication on (`dsgrid-sql users add`).")  # fmt: skip
@click.option("--token-ttl", default=8 * 3600, **_int_env("DSGRID_SQL_TOKEN_TTL"),
              help="Seconds a Bearer token stays valid.")  # fmt: skip
@click.option("--max-concurrent-queries", default=8, **_int_env("DSGRID_SQL_MAX_QUERIES"))
@click.option("--max-queries-per-user", default=4, **_int_env("DSGRID_SQL_MAX_USER_QUERIES"))
@click.option("--queue-wait", "queue_wait_s", default=2.0, show_default=True, type=float,
              envvar="DSGRID_SQL_QUEUE_WAIT",
              help="Seconds a query over a concurrency limit waits for a slot before it is "
              "refused.")  # fmt: skip
@click.option("--query-timeout", default=300.0, show_default=True, type=float,
              envvar="DSGRID_SQL_QUERY_TIMEOUT", help="Seconds; 0 for none.")  # fmt: skip
@click.option("--max-result-rows", default=0, **_int_env("DSGRID_SQL_MAX_ROWS"),
              help="0 for no limit.")  # fmt: skip
@click.option("--max-result-bytes", default=0, **_int_env("DSGRID_SQL_MAX_BYTES"),
              help="0 for no limit.")  # fmt: skip
@click.option("--max-sql-length", default=1_048_576, **_int_env("DSGRID_SQL_MAX_SQL_LENGTH"),
              help="Characters of SQL text a client may send; 0 for no limit.")  # fmt: skip
@click.option("--max-nesting-depth", default=64, **_int_env("DSGRID_SQL_MAX_NESTING_DEPTH"),
              help="Levels of parentheses, subqueries and CASE in one query; 0 for no "
              "limit.")  # fmt: skip
@click.option("--max-series-rows", default=10_000_000, **_int_env("DSGRID_SQL_MAX_SERIES_ROWS"),
              help="Rows one generate_series or range may make; 0 for no limit.")  # fmt: skip
@click.option("--result-cache-mb", default=256.0, show_default=True, type=click.FloatRange(min=0),
              envvar="DSGRID_SQL_RESULT_CACHE_MB",
              help="MiB of results kept for queries sent again (one result at most a "
              "quarter); 0 keeps none.")  # fmt: skip
@click.option("--http-port", type=int, envvar="DSGRID_SQL_HTTP_PORT",
              help="Also serve the HTTP API and the web console (and /health, /metrics, "
              "/docs) on this port (0: any free).")  # fmt: skip
@click.option("--jobs-dir", type=click.Path(file_okay=False), envvar="DSGRID_SQL_JOBS_DIR",
              help="Where job results are kept (default: the user's data folder).")  # fmt: skip
@click.option("--job-ttl", default=24 * 3600.0, show_default=True, type=float,
              envvar="DSGRID_SQL_JOB_TTL",
              help="Seconds a finished job's result is kept.")  # fmt: skip
@click.option("--max-running-jobs", default=2, **_int_env("DSGRID_SQL_MAX_RUNNING_JOBS"),
              help="Jobs that run at once; the others wait their turn.")  # fmt: skip
@click.option("--job-timeout", default=6 * 3600.0, show_default=True, type=float,
              envvar="DSGRID_SQL_JOB_TIMEOUT",
              help="Seconds a job may run; 0 for none.")  # fmt: skip
@click.option("--job-budget-per-user", default="10GiB", show_default=True, metavar="SIZE",
              envvar="DSGRID_SQL_JOB_BUDGET_PER_USER",
              help="Disk one user's kept job results may take (e.g. 500MB, 10GiB; 0: no "
              "limit).")  # fmt: skip
@click.option("--job-budget-total", default="100GiB", show_default=True, metavar="SIZE",
              envvar="DSGRID_SQL_JOB_BUDGET_TOTAL",
              help="Disk all kept job results may take (0: no limit).")  # fmt: skip
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]))  # fmt: skip
@click.pass_context
def serve(ctx: click.Context, log_level: str, **options: Any) -> None:
    """Serve the registry over Arrow Flight SQL (and HTTP with --http-port) until
    SIGINT/SIGTERM.

    Clients: ADBC (grpc://HOST:PORT), JDBC (jdbc:arrow-flight-sql://HOST:PORT), pandas,
    polars, DBeaver, Tableau, Superset; curl or any HTTP client on the HTTP port. See the
    README's "Flight SQL", "HTTP API" and "Jobs" sections.
    """
    from dsgrid_sql.flight_server import FlightSqlServer
    from dsgrid_sql.service.config import ServerConfig
    from dsgrid_sql.service.core import ServerCore

    registry = ctx.obj.get("registry")
    if registry is None:
        raise click.UsageError(
            "No registry given: pass --registry PATH or set DSGRID_SQL_REGISTRY.", ctx
        )
    import logging  # here: every other command starts without it

    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine_options = {
        "spark_master": options.pop("spark_master"),
        "spark_remote": options.pop("spark_remote"),
        "memory_limit": options.pop("memory_limit"),
    }
    config = ServerConfig(
        registry=registry,
        data_path=ctx.obj.get("data_path"),
        storage_options=ctx.obj.get("storage_options") or None,
        engine_options=engine_options,
        query_timeout_s=options.pop("query_timeout"),
        token_ttl_s=options.pop("token_ttl"),
        job_ttl_s=options.pop("job_ttl"),
        job_timeout_s=options.pop("job_timeout"),
        job_budget_per_user_bytes=parse_size(
            options.pop("job_budget_per_user"), "--job-budget-per-user"
        ),
        job_budget_total_bytes=parse_size(options.pop("job_budget_total"), "--job-budget-total"),
        **options,
    )
    core = ServerCore(config)
    servers: list[Any] = []
    try:
        flight_server = FlightSqlServer(config, core)
        servers.append(flight_server)
        auth = "auth on" if core.authenticator.enabled else "no auth"
        click.echo(f"dsgrid-sql Flight SQL on {flight_server.uri} ({auth}).", err=True)
        if config.http_port is not None:
            from dsgrid_sql.http.server import HttpServer
            from dsgrid_sql.web import mount_console

            http = HttpServer(core, config.host, config.http_port, extensions=[mount_console])
            servers.append(http)
            # Scripts read the address after "HTTP API on "; keep that wording.
            click.echo(
                f"dsgrid-sql HTTP API on {http.url} (web console: {http.url}/, "
                f"docs: {http.url}/docs).",
                err=True,
            )
        click.echo("Ctrl-C stops the server.", err=True)
        wait_for_signal(signal.SIGINT, signal.SIGTERM)
    finally:
        for server in reversed(servers):
            server.close()  # stop taking calls; Flight cancels its running queries
        core.close()  # fails unfinished jobs, releases the engine
        click.echo("dsgrid-sql server stopped.", err=True)


@click.command()
@registry_options
@click.option("--port", default=0, show_default=True, type=int, envvar="DSGRID_SQL_WEB_PORT",
              help="Port on 127.0.0.1 (0: any free).")  # fmt: skip
@click.option("--engine", envvar="DSGRID_BACKEND_ENGINE", type=click.Choice(["duckdb", "spark"]),
              help="Query engine (env DSGRID_BACKEND_ENGINE; default duckdb).")  # fmt: skip
@click.option("--project", help="Default schema of the console.")
@click.option("--dialect", default="duckdb", show_default=True, help="Default input dialect.")
@click.option("--auth", "users_file", metavar="USERS_FILE", envvar="DSGRID_SQL_USERS",
              type=click.Path(dir_okay=False),
              help="Users file; the console asks to sign in.")  # fmt: skip
@click.option("--jobs-dir", type=click.Path(file_okay=False), envvar="DSGRID_SQL_JOBS_DIR",
              help="Where job results are kept (default: the user's data folder).")  # fmt: skip
@click.option("--no-browser", is_flag=True, help="Print the console's address; open nothing.")
@click.pass_context
def web(ctx: click.Context, no_browser: bool, **options: Any) -> None:
    """Open the web console on this machine: browse the registry, write SQL with
    completion, see results as tables and charts (README "Web console").

    Serves only on 127.0.0.1 until Ctrl-C; `serve --http-port N` serves the same console
    beside Flight SQL.
    """
    import webbrowser

    from dsgrid_sql.http.server import HttpServer
    from dsgrid_sql.service.config import ServerConfig
    from dsgrid_sql.service.core import ServerCore
    from dsgrid_sql.web import mount_console

    registry = ctx.obj.get("registry")
    if registry is None:
        raise click.UsageError(
            "No registry given: pass --registry PATH or set DSGRID_SQL_REGISTRY.", ctx
        )
    port = options.pop("port")
    stop = catch_signals(signal.SIGINT, signal.SIGTERM)
    config = ServerConfig(
        registry=registry,
        data_path=ctx.obj.get("data_path"),
        storage_options=ctx.obj.get("storage_options") or None,
        http_port=port,
        **options,
    )
    try:
        core = ServerCore(config)
    except DsgridSqlError as exc:
        raise click.ClickException(exc.message) from None
    try:
        try:
            http = HttpServer(core, "127.0.0.1", port, extensions=[mount_console])
        except DsgridSqlError as exc:
            raise click.ClickException(exc.message) from None
        try:
            url = http.url + "/"
            click.echo(f"dsgrid-sql web console on {url}", err=True)
            if not no_browser and not webbrowser.open(url):
                click.echo("No browser could be opened; open the address above.", err=True)
            click.echo("Ctrl-C stops it.", err=True)
            wait_for_signal(stop=stop)
        finally:
            http.close()
    finally:
        core.close()
        click.echo("dsgrid-sql web console stopped.", err=True)


_SIZE_UNITS = {
    "": 1, "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}  # fmt: skip


def parse_size(text: str, option: str) -> int:
    """Bytes from '500MB', '10GiB', '1.5gb' or a plain number; '0' means no limit."""
    import re

    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([a-zA-Z]*)\s*", str(text))
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _SIZE_UNITS:
        raise click.BadParameter(
            f"'{text}' is not a size; write e.g. 500MB or 10GiB.", param_hint=option
        )
    return int(float(match.group(1)) * _SIZE_UNITS[unit])


def catch_signals(*signals: signal.Signals) -> threading.Event:
    """An event set when one of ``signals`` arrives. Caught before the server starts, so a
    signal sent as soon as its address is printed stops it cleanly."""
    stop = threading.Event()
    for number in signals:
        signal.signal(number, lambda *_: stop.set())
    return stop


def wait_for_signal(*signals: signal.Signals, stop: threading.Event | None = None) -> None:
    """Block the main thread until one of ``signals`` arrives (the server's RPCs run on
    gRPC threads meanwhile). pyarrow's own serve() does not stop on SIGTERM."""
    stop = stop or catch_signals(*signals)
    while not stop.wait(0.5):
        pass


@click.group()
def users() -> None:
    """Manage the users file of `serve --auth FILE` (scrypt password hashes)."""


@users.command("add")
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("name")
@click.option("--password", envvar="DSGRID_SQL_PASSWORD", help="Prompted for when not given.")
def users_add(file: str, name: str, password: str | None) -> None:
    """Add or replace user NAME in FILE."""
    from dsgrid_sql.service.auth import add_user

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise click.BadParameter("The password is empty.", param_hint="--password")
    try:
        add_user(file, name, password)
    except DsgridSqlError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"User '{name}' written to {os.path.abspath(file)}.", err=True)
