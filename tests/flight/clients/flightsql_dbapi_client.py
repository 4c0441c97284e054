"""flightsql-dbapi 0.2.2 and its SQLAlchemy 1.4 dialect against a running dsgrid-sql server.

Runs in its own virtual environment, never in the project's (flightsql-dbapi pins
SQLAlchemy < 2 and registers Flight SQL protobuf symbols in protobuf's default pool):
tests/flight/test_flightsql_dbapi.py starts it as

    python flightsql_dbapi_client.py '{"host": ..., "port": ..., "user": ..., "password": ...}'

and reads one JSON object from stdout. Every step is recorded under its name, or, when it
raises, under ``errors`` with the exception's class and message, so one failing call never
hides the others.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

STATES_SQL = "SELECT us_states, SUM(value) AS v FROM test_efs.data GROUP BY us_states ORDER BY 1"
PARAM_SQL = (
    "SELECT us_states, SUM(value) AS v FROM test_efs.data WHERE geography = ? "
    "GROUP BY us_states ORDER BY 1"
)
NAMED_SQL = PARAM_SQL.replace("?", ":geography")
TIME_SQL = "SELECT MIN(timestamp) AS first, MAX(timestamp) AS last FROM test_efs.data"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, type):
        return value.__name__
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return repr(value)


def main() -> None:
    config = json.loads(sys.argv[1])
    host, port = config["host"], int(config["port"])
    user, password = config.get("user"), config.get("password")
    out: dict[str, Any] = {"errors": {}}

    def step(name: str, run: Callable[[], Any]) -> None:
        try:
            out[name] = _jsonable(run())
        except Exception as exc:
            out["errors"][name] = {"type": type(exc).__name__, "message": str(exc)}

    import flightsql
    import sqlalchemy
    from flightsql import FlightSQLClient, connect

    out["versions"] = {"flightsql": flightsql.__version__, "sqlalchemy": sqlalchemy.__version__}

    # -- DB-API ---------------------------------------------------------------------------
    credentials = {"user": user, "password": password} if user else {}

    def rows(sql: str, params: tuple[Any, ...] | None = None) -> dict[str, Any]:
        cursor = conn.cursor()
        cursor.execute(sql, params)
        return {
            "columns": [d[0] for d in cursor.description],
            "types": [d[1] for d in cursor.description],
            "rows": cursor.fetchall(),
        }

    try:
        client = FlightSQLClient(host=host, port=port, insecure=True, **credentials)
    except Exception as exc:
        out["errors"]["connect"] = {"type": type(exc).__name__, "message": str(exc)}
    else:
        conn = connect(client)
        step(
            "geographies", lambda: rows("SELECT DISTINCT geography FROM test_efs.data ORDER BY 1")
        )
        step("states", lambda: rows(STATES_SQL))
        step("states_param", lambda: rows(PARAM_SQL, (config["geography"],)))
        step("unknown_record", lambda: rows(PARAM_SQL, ("no-such-county",)))
        step("times", lambda: rows(TIME_SQL))
        step("schema_names", conn.flightsql_get_schema_names)
        step("table_names", lambda: conn.flightsql_get_table_names("test_efs"))
        step("columns", lambda: conn.flightsql_get_columns("data", "test_efs"))
        step("sql_info", lambda: conn.flightsql_get_sql_info([0, 2, 3, 504]))
        conn.close()
        client.close()

    if user:
        step("wrong_password", lambda: FlightSQLClient(
            host=host, port=port, user=user, password="wrong", insecure=True
        ))  # fmt: skip

    # -- SQLAlchemy 1.4 ---------------------------------------------------------------------
    from sqlalchemy import create_engine, inspect, text

    auth = f"{quote(user, safe='')}:{quote(password, safe='')}@" if user else ""
    url = f"datafusion://{auth}{host}:{port}?insecure=true"
    engine = create_engine(url)

    def inspect_columns() -> list[dict[str, Any]]:
        columns = inspect(engine).get_columns("data", schema="test_efs")
        return [{"name": c["name"], "type": type(c["type"]).__name__} for c in columns]

    inspector_steps: dict[str, Callable[[], Any]] = {
        "sa_schema_names": lambda: inspect(engine).get_schema_names(),
        "sa_table_names": lambda: inspect(engine).get_table_names(schema="test_efs"),
        "sa_has_table": lambda: inspect(engine).has_table("data", schema="test_efs"),
        "sa_columns": inspect_columns,
    }
    for name, run in inspector_steps.items():
        step(name, run)

    def sa_rows(engine: Any, sql: str, **params: Any) -> list[list[Any]]:
        with engine.connect() as connection:
            return [list(r) for r in connection.execute(text(sql), params).fetchall()]

    step("sa_states", lambda: sa_rows(engine, STATES_SQL))
    # Without the prepared-statements feature the dialect renders bound values as literals.
    step("sa_states_param", lambda: sa_rows(engine, NAMED_SQL, geography=config["geography"]))
    prepared = create_engine(f"{url}&feature-sqlalchemy-prepared-statements=on")
    step(
        "sa_states_prepared",
        lambda: sa_rows(prepared, NAMED_SQL, geography=config["geography"]),
    )
    if user:
        wrong = f"datafusion://{quote(user, safe='')}:wrong@{host}:{port}?insecure=true"
        step("sa_wrong_password", lambda: create_engine(wrong).connect())

    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
