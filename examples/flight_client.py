"""Query a dsgrid-sql Flight SQL server from Python with ADBC, into pandas, with a user name and
password.

Shows:
- starting ``dsgrid-sql serve`` with authentication: a users file made by
  ``dsgrid-sql users add``, port 0 (any free port), the URI read from the server's first line,
  and a clean stop (SIGTERM) at the end;
- connecting with ``adbc_driver_flightsql.dbapi`` and ``username``/``password``;
- a query with ``?`` parameters into a pandas DataFrame (``cursor.fetch_df()``), and
  ``pandas.read_sql`` for a query without parameters (pandas does not pass parameters to
  ADBC drivers);
- what a client sees when the password is wrong.

Run it from the repository root (the demo registry is generated on first use)::

    python examples/flight_client.py                      # starts and stops its own server
    python examples/flight_client.py --registry path/to/registry.db
    DSGRID_SQL_PASSWORD=... python examples/flight_client.py \\
        --uri grpc://127.0.0.1:31337 --username analyst   # a server already running

Needs the ADBC Flight SQL driver and pandas:
``pip install adbc-driver-flightsql 'dsgrid-sql[dataframes]'``.
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import secrets
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import adbc_driver_flightsql.dbapi as flight_sql
import pandas as pd

DEMO_DIR = Path(__file__).resolve().parents[1] / "demo"  # where `make demo` writes it

# The dsgrid-sql command of this Python environment (`python -m dsgrid_sql` is the same
# program as `dsgrid-sql`).
DSGRID_SQL = [sys.executable, "-m", "dsgrid_sql"]
STARTUP_TIMEOUT_S = 60

STATE_TOTALS = """
    SELECT us_states, SUM(value) AS mwh
    FROM data
    WHERE scenario = ? AND model_year = ?
    GROUP BY us_states
    ORDER BY us_states
"""


def demo_registry() -> Path:
    """The demo registry of `make demo`, generated the same way when it is absent."""
    registry = DEMO_DIR / "registry.db"
    if not registry.exists():
        from dsgrid_sql.generator import GeneratorSpec, generate_registry

        print(f"Generating the demo registry in {DEMO_DIR} ...", file=sys.stderr)
        generate_registry(DEMO_DIR, GeneratorSpec())
    return registry


@contextmanager
def local_server(registry: Path, username: str, password: str) -> Iterator[str]:
    """Run `dsgrid-sql serve --auth` on 127.0.0.1, any free port; yield its URI."""
    with tempfile.TemporaryDirectory(prefix="dsgrid-sql-flight-") as folder:
        users = Path(folder) / "users.toml"
        # The password goes through the environment, not the command line (which other
        # users of the machine can see); the file keeps only a scrypt hash of it.
        added = subprocess.run(
            [*DSGRID_SQL, "users", "add", str(users), username],
            env={**os.environ, "DSGRID_SQL_PASSWORD": password},
            capture_output=True,
            text=True,
        )
        if added.returncode != 0:
            sys.exit(added.stderr.strip())
        with subprocess.Popen(
            [*DSGRID_SQL, "serve", "--registry", str(registry), "--port", "0",
             "--auth", str(users)],
            stderr=subprocess.PIPE,
            text=True,
        ) as server:  # fmt: skip
            # The server announces itself on stderr ("dsgrid-sql Flight SQL on grpc://...")
            # and then logs one line per query; a thread reads them so the pipe never fills.
            announced: queue.Queue[str | None] = queue.Queue()
            reader = threading.Thread(target=_read_log, args=(server, announced), daemon=True)
            reader.start()
            try:
                try:
                    uri = announced.get(timeout=STARTUP_TIMEOUT_S)
                except queue.Empty:
                    sys.exit(f"dsgrid-sql serve did not start within {STARTUP_TIMEOUT_S} s.")
                if uri is None:
                    sys.exit("dsgrid-sql serve stopped before it was ready (see [server] above).")
                yield uri
            finally:
                server.terminate()  # SIGTERM: running queries are cancelled, then it stops
                server.wait(timeout=30)
                reader.join(timeout=5)


def _read_log(server: subprocess.Popen[str], announced: queue.Queue[str | None]) -> None:
    assert server.stderr is not None
    for line in server.stderr:
        print(f"[server] {line.rstrip()}", file=sys.stderr)
        match = re.search(r"Flight SQL on (\S+)", line)
        if match:
            announced.put(match.group(1))
    announced.put(None)  # the server exited (before announcing itself, if nothing came yet)


def run_queries(uri: str, username: str | None, password: str | None, params: list[str]) -> None:
    # With TLS: grpc+tls://host:port, and for a certificate the system does not trust add
    # "adbc.flight.sql.client_option.tls_root_certs": <the PEM text> to db_kwargs.
    db_kwargs = {"username": username, "password": password or ""} if username else {}
    # autocommit=True: the server has no transactions (without it the driver warns).
    with flight_sql.connect(uri, db_kwargs=db_kwargs, autocommit=True) as connection:
        # Parameters are bound by the driver and sent with the prepared statement.
        with connection.cursor() as cursor:
            cursor.execute(STATE_TOTALS, params)
            frame = cursor.fetch_df()
        print(f"\nEnergy by state over Flight SQL, {params[0]} {params[1]} (MWh):")
        print(frame.to_string(index=False, float_format="{:,.3f}".format))

        # pandas' own entry point takes the ADBC connection for queries without parameters.
        rows = pd.read_sql(
            "SELECT dataset_id, COUNT(*) AS value_rows FROM data GROUP BY 1 ORDER BY 1",
            connection,
        )
        print("\nValue rows per dataset (pandas.read_sql):")
        print(rows.to_string(index=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registry", type=Path, help="registry.db or its folder [demo]")
    parser.add_argument("--uri", help="a running server, e.g. grpc://127.0.0.1:31337")
    parser.add_argument("--username", help="user of the server's --auth file")
    parser.add_argument(
        "--password",
        default=os.environ.get("DSGRID_SQL_PASSWORD"),
        help="[env DSGRID_SQL_PASSWORD]",
    )
    parser.add_argument("--scenario", default="reference")
    parser.add_argument("--model-year", default="2030")
    args = parser.parse_args()
    params = [args.scenario, args.model_year]

    if args.uri:
        print(f"Connecting to {args.uri}" + (f" as {args.username}" if args.username else ""))
        run_queries(args.uri, args.username, args.password, params)
        return

    username = args.username or "analyst"
    password = args.password or secrets.token_urlsafe(16)
    with local_server(args.registry or demo_registry(), username, password) as uri:
        print(f"Started dsgrid-sql serve on {uri} with user {username}")
        run_queries(uri, username, password, params)

        # A wrong password: the driver raises a DB-API error carrying UNAUTHENTICATED.
        try:
            run_queries(uri, username, password + "-wrong", params)
        except flight_sql.Error as exc:
            print(f"\nA wrong password is refused: {str(exc).splitlines()[0]}")
    print("\nServer stopped.")


if __name__ == "__main__":
    main()
