"""``dsgrid-sql jobs``: submit, follow, fetch and cancel jobs on a dsgrid-sql server.

The commands talk to ``dsgrid-sql serve`` over Arrow Flight (the ``jobs.*`` actions and the
``("jobs", id)`` descriptor; README "Jobs"), so a job submitted from one machine or process
is followed and fetched from any other. pyarrow is imported only when a command runs:
``dsgrid-sql --help`` stays fast.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from dsgrid_sql.cli_options import store_option
from dsgrid_sql.render import format_json, format_rows, format_table

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_SERVER = "grpc://127.0.0.1:31337"
FINISHED = ("SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED")
# Exit code of `wait` (and `submit --wait`) when the time ran out first, as timeout(1) has.
TIMED_OUT = 124


def server_options(function: F) -> F:
    """--server, --user, --password and --tls-root-certs, before or after the subcommand
    (after wins), as --registry is."""
    options = [
        click.option("--server", envvar="DSGRID_SQL_SERVER", metavar="URL", expose_value=False,
                     callback=store_option("server"),
                     help=f"The dsgrid-sql server: grpc://HOST:PORT or grpc+tls://HOST:PORT "
                     f"(env DSGRID_SQL_SERVER; default {DEFAULT_SERVER})."),
        click.option("--user", envvar="DSGRID_SQL_USER", metavar="NAME", expose_value=False,
                     callback=store_option("user"),
                     help="Sign in as NAME (env DSGRID_SQL_USER) when the server has --auth."),
        click.option("--password", envvar="DSGRID_SQL_PASSWORD", metavar="TEXT",
                     expose_value=False, callback=store_option("password"),
                     help="The user's password (env DSGRID_SQL_PASSWORD; prompted for when "
                     "missing)."),
        click.option("--tls-root-certs", envvar="DSGRID_SQL_TLS_ROOT_CERTS", metavar="PEM",
                     type=click.Path(dir_okay=False), expose_value=False,
                     callback=store_option("tls_root_certs"),
                     help="CA certificates to trust for grpc+tls:// (default: the system's)."),
    ]  # fmt: skip
    for option in reversed(options):
        function = option(function)
    return function


class _TimedOut(click.ClickException):
    exit_code = TIMED_OUT


class JobsClient:
    """The Flight calls the commands make, with one-sentence errors."""

    def __init__(self, ctx: click.Context) -> None:
        import pyarrow.flight as flight

        obj = ctx.obj
        self.url = obj.get("server") or DEFAULT_SERVER
        kwargs: dict[str, Any] = {}
        roots = obj.get("tls_root_certs")
        if roots:
            try:
                kwargs["tls_root_certs"] = Path(roots).expanduser().read_bytes()
            except OSError as exc:
                raise click.ClickException(
                    f"Cannot read the certificates '{roots}': {exc.strerror or exc}."
                ) from None
        with self.errors():
            self.client = flight.FlightClient(self.url, **kwargs)
        headers: list[tuple[bytes, bytes]] = []
        user = obj.get("user")
        if user:
            password = obj.get("password")
            if password is None:
                password = click.prompt(f"Password for {user}", hide_input=True, err=True)
            with self.errors():
                headers.append(self.client.authenticate_basic_token(user, password))
        self.options = flight.FlightCallOptions(headers=headers)

    def close(self) -> None:
        self.client.close()

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Flight and Arrow errors as one sentence (pyarrow's ". Detail: ..." cut off)."""
        import pyarrow as pa
        import pyarrow.flight as flight

        try:
            yield
        except flight.FlightUnavailableError as exc:
            text = str(exc)
            if text.startswith("Flight returned unavailable error"):
                reason = text.rsplit(": ", 1)[-1].split(". Detail:")[0]
                raise click.ClickException(
                    f"Cannot reach the dsgrid-sql server at {self.url}: {reason}."
                ) from None
            raise click.ClickException(_sentence(text)) from None
        except pa.ArrowException as exc:
            raise click.ClickException(_sentence(str(exc))) from None

    def action(self, name: str, body: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        import pyarrow.flight as flight

        payload = json.dumps(body or {}).encode()
        with self.errors():
            results = list(self.client.do_action(flight.Action(name, payload), self.options))
        return [json.loads(r.body.to_pybytes()) for r in results]

    def status(self, job_id: str, wait_timeout: float = 0) -> dict[str, Any]:
        body: dict[str, Any] = {"id": job_id}
        if wait_timeout > 0:
            body["wait_timeout"] = wait_timeout
        return self.action("jobs.status", body)[0]

    def wait(self, job_id: str, timeout: float | None) -> dict[str, Any]:
        """The record once the job finished, or when ``timeout`` seconds passed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        record = self.status(job_id)
        while record["state"] not in FINISHED:
            left = 30.0 if deadline is None else min(30.0, deadline - time.monotonic())
            if left <= 0:
                break
            record = self.status(job_id, wait_timeout=left)
        return record

    def reader(self, job_id: str) -> Any:
        """The job's result as a pyarrow RecordBatchReader, streamed."""
        import pyarrow.flight as flight

        with self.errors():
            descriptor = flight.FlightDescriptor.for_path("jobs", job_id)
            info = self.client.get_flight_info(descriptor, self.options)
            stream = self.client.do_get(info.endpoints[0].ticket, self.options)
            return _Reader(stream.to_reader(), self)


class _Reader:
    """Batches of a job's stream; an error mid-stream becomes one sentence too."""

    def __init__(self, reader: Any, client: JobsClient) -> None:
        self.reader = reader
        self.schema = reader.schema
        self.client = client

    def __iter__(self) -> Iterator[Any]:
        with self.client.errors():
            yield from self.reader

    def read_all(self) -> Any:
        with self.client.errors():
            return self.reader.read_all()


def _sentence(text: str) -> str:
    text = text.split(". Detail:")[0].strip()
    if text.startswith("Flight returned"):
        text = text.split("with message: ", 1)[-1]
    return text if text.endswith((".", "?", "!")) else text + "."


@contextmanager
def _client(ctx: click.Context) -> Iterator[JobsClient]:
    client = JobsClient(ctx)
    try:
        yield client
    finally:
        client.close()


def _summary(record: dict[str, Any]) -> str:
    """One line on a job: its state and what it came to."""
    state = record["state"]
    text = f"Job {record['id']} {state}"
    if state == "SUCCEEDED":
        text += f": {record.get('rows') or 0:,} rows, {_size(record.get('bytes') or 0)} kept"
        took = _took(record)
        text += f", in {took}." if took else "."
    elif state in ("FAILED", "CANCELLED") and record.get("error"):
        text += f": {record['error'].get('message') or record['error'].get('code')}"
    elif state == "RUNNING" and record.get("cancel_requested_at"):
        text += ": cancel requested, stopping."
    elif state == "RUNNING" and record.get("progress") is not None:
        text += f" ({record['progress']:.0%})"
    elif state == "EXPIRED":
        text += ": its result was removed after the server's time to live."
    return text


def _size(size: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return str(size)  # pragma: no cover


def _took(record: dict[str, Any]) -> str | None:
    from datetime import datetime

    if not record.get("started_at") or not record.get("finished_at"):
        return None
    seconds = (
        datetime.fromisoformat(record["finished_at"])
        - datetime.fromisoformat(record["started_at"])
    ).total_seconds()
    return f"{seconds:.1f} s"


def _finished_or_fail(record: dict[str, Any], timeout: float | None) -> None:
    """Exit non-zero unless the job succeeded."""
    if record["state"] == "SUCCEEDED":
        return
    if record["state"] not in FINISHED:
        raise _TimedOut(f"Job {record['id']} is still {record['state']} after {timeout:g} s.")
    raise click.ClickException(_summary(record))


FORMATS = click.Choice(["table", "json"])


@click.group()
@server_options
def jobs() -> None:
    """Run long queries as jobs on a dsgrid-sql server, and fetch their results later.

    \b
      ID=$(dsgrid-sql jobs submit "SELECT us_states, SUM(value) FROM data GROUP BY 1")
      dsgrid-sql jobs wait $ID && dsgrid-sql jobs fetch $ID -o totals.parquet
    """


@jobs.command()
@server_options
@click.argument("sql")
@click.option("-p", "--param", "params", multiple=True, metavar="VALUE",
              help="A value for the next ? in SQL (text); repeatable.")  # fmt: skip
@click.option("--wait", "wait_", is_flag=True, help="Wait for the job and report how it ended.")
@click.option("--timeout", type=click.FloatRange(min=0), metavar="S",
              help="With --wait: give up waiting after S seconds (exit 124).")  # fmt: skip
@click.pass_context
def submit(
    ctx: click.Context, sql: str, params: tuple[str, ...], wait_: bool, timeout: float | None
) -> None:
    """Submit SQL as a job; prints its id. A mistake in the SQL is reported at once."""
    with _client(ctx) as client:
        body: dict[str, Any] = {"sql": sql}
        if params:
            body["parameters"] = list(params)
        record = client.action("jobs.submit", body)[0]
        click.echo(record["id"])
        if wait_:
            record = client.wait(record["id"], timeout)
            _finished_or_fail(record, timeout)
            click.echo(_summary(record), err=True)


@jobs.command()
@server_options
@click.argument("job_id", metavar="ID")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def status(ctx: click.Context, job_id: str, fmt: str) -> None:
    """Show a job: state, progress, rows, times, error."""
    with _client(ctx) as client:
        record = client.status(job_id)
    if fmt == "json":
        click.echo(format_json(record))
        return
    shown = {
        "id": record["id"],
        "state": record["state"],
        "progress": None if record.get("progress") is None else f"{record['progress']:.0%}",
        "rows": record.get("rows"),
        "bytes": record.get("bytes"),
        "engine": record.get("engine"),
        "created": record.get("created_at"),
        "started": record.get("started_at"),
        "finished": record.get("finished_at"),
        "error": (record.get("error") or {}).get("message"),
        "sql": record.get("sql"),
    }
    width = max(len(k) for k in shown)
    for key, value in shown.items():
        if value is not None:
            click.echo(f"{key.ljust(width)}  {value}")


@jobs.command()
@server_options
@click.argument("job_id", metavar="ID")
@click.option("--timeout", type=click.FloatRange(min=0), metavar="S",
              help="Give up after S seconds (exit 124); default: as long as it runs.")  # fmt: skip
@click.pass_context
def wait(ctx: click.Context, job_id: str, timeout: float | None) -> None:
    """Wait for a job to finish. Exits 0 when it succeeded, 1 when it failed, was cancelled
    or expired, 124 when --timeout ran out first."""
    with _client(ctx) as client:
        record = client.wait(job_id, timeout)
    _finished_or_fail(record, timeout)
    click.echo(_summary(record))


@jobs.command()
@server_options
@click.argument("job_id", metavar="ID")
@click.option("-o", "--output", type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the result to FILE: Parquet, or CSV when it ends in .csv.")  # fmt: skip
@click.option("--overwrite", is_flag=True, help="Replace FILE if it exists.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="How to print the result without -o.")  # fmt: skip
@click.pass_context
def fetch(ctx: click.Context, job_id: str, output: str | None, overwrite: bool, fmt: str) -> None:
    """Fetch a finished job's result: to FILE (written whole or not at all), else printed."""
    with _client(ctx) as client:
        reader = client.reader(job_id)
        if output is None:
            click.echo(format_rows(reader.read_all(), fmt))
            return
        import pyarrow as pa

        from dsgrid_sql.export import write_result

        batches = pa.RecordBatchReader.from_batches(reader.schema, iter(reader))
        # An export error is a DsgridSqlError: the main group prints it as one sentence.
        target, rows = write_result(batches, output, overwrite=overwrite)
    click.echo(f"Wrote {rows} rows to {target}.", err=True)


@jobs.command()
@server_options
@click.argument("job_id", metavar="ID")
@click.pass_context
def cancel(ctx: click.Context, job_id: str) -> None:
    """Cancel a queued or running job (a finished one is left as it is)."""
    with _client(ctx) as client:
        record = client.action("jobs.cancel", {"id": job_id})[0]
    click.echo(_summary(record))


@jobs.command("list")
@server_options
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def list_jobs(ctx: click.Context, fmt: str) -> None:
    """List your jobs, newest first."""
    with _client(ctx) as client:
        records = client.action("jobs.list")
    if fmt == "json":
        click.echo(format_json(records))
        return
    rows = [
        [
            r["id"],
            r["state"],
            (r.get("created_at") or "")[:19].replace("T", " "),
            r.get("rows"),
            " ".join((r.get("sql") or "").split())[:60],
        ]
        for r in records
    ]
    click.echo(format_table(["id", "state", "created (UTC)", "rows", "sql"], rows))


@jobs.command()
@server_options
@click.argument("job_ids", metavar="ID...", nargs=-1, required=True)
@click.pass_context
def delete(ctx: click.Context, job_ids: tuple[str, ...]) -> None:
    """Delete jobs and their kept results (a running job is cancelled first)."""
    with _client(ctx) as client:
        for job_id in job_ids:
            client.action("jobs.delete", {"id": job_id})
            click.echo(f"Deleted job {job_id}.", err=True)
