#!/usr/bin/env python
"""The functions a query may call, derived from each engine's own function catalog.

    python tools/function_catalog.py            # write dsgrid_sql/rewrite/functions.json
    python tools/function_catalog.py --check    # exit 1 when the committed file is stale

A function is *pure* when the engine says it computes on its arguments only — deterministic,
or reading the clock — and has no side effects, and it reaches nothing outside the data: no
file, network, environment, extension, secret or engine state. The first half comes from the
engines (DuckDB's ``duckdb_functions()``: stability and side effects, macro bodies; Spark's
function registry: each function's expression class, ``Nondeterministic`` or not); the
second half is the reviewed deny list below, by family, because no catalog says which
function reads a session setting or a file. Pure functions are allowed; everything else
(volatile, side effects, denied, table functions, pragmas, operators, internals) is not.

The file is committed, so the rewrite, the tests and the CLI know the lists without starting
an engine; tests/rewrite/test_function_catalog.py checks it against both engines and counts
how many pure functions a query can really call (the coverage the README publishes).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "dsgrid_sql" / "rewrite" / "functions.json"

NAME = re.compile(r"^[a-z_][a-z0-9_]*$")

# -- the reviewed deny lists -------------------------------------------------------------------
# Functions the engines call pure that reach outside the data. Names an engine version lacks
# stay listed: a later version may add them.
DUCKDB_DENIED = {
    "engine state": [
        "current_setting", "current_database", "current_schema", "current_schemas",
        "current_catalog", "getvariable", "in_search_path", "txid_current", "version",
        "get_block_size", "current_query", "current_connection_id", "current_query_id",
        "current_transaction_id", "platform", "duckdb_api",
    ],
    "identity": ["current_user", "user", "session_user", "current_role"],
    "environment": ["getenv"],
    "files": ["read_text", "read_blob", "glob", "file_exists"],
    "runs SQL text": ["json_serialize_plan", "json_execute_serialized_sql", "query"],
    "extensions and secrets": ["load_extension", "install_extension", "which_secret"],
}  # fmt: skip
# DuckDB's PostgreSQL compatibility functions (schema pg_catalog) answer questions about the
# engine's catalogs and privileges: all refused, as the pg_catalog tables are.
DUCKDB_DENIED_SCHEMAS = {"pg_catalog": "PostgreSQL catalog compatibility"}

SPARK_DENIED = {
    "runs JVM code": ["reflect", "java_method", "try_reflect"],
    "files": ["input_file_name", "input_file_block_start", "input_file_block_length",
              "from_protobuf", "to_protobuf"],
    "engine state": ["current_catalog", "current_database", "current_schema", "current_path",
                     "current_timezone", "version"],
    "identity": ["current_user", "user", "session_user"],
    "raises errors": ["raise_error", "assert_true"],
    "XML parsers (external entities)": [
        "from_xml", "schema_of_xml", "xpath", "xpath_boolean", "xpath_double", "xpath_float",
        "xpath_int", "xpath_long", "xpath_number", "xpath_short", "xpath_string",
    ],
}  # fmt: skip

# Pure functions whose value depends on when the query runs: allowed, never served from a
# result cache (allowlist.repeatable).
CLOCK = {
    "duckdb": [
        "current_date", "current_time", "current_timestamp", "current_localtime",
        "current_localtimestamp", "get_current_time", "get_current_timestamp", "now",
        "today", "transaction_timestamp", "ago",
    ],
    "spark": ["current_date", "current_timestamp", "now", "localtimestamp", "curdate",
              "current_time"],
}  # fmt: skip

# JDBC's function groups (Flight SQL GetSqlInfo, the REPL's completion) from each engine's
# own categories.
DUCKDB_GROUPS = {
    "numeric": "numeric", "string": "string", "regex": "string", "text_similarity": "string",
    "blob": "string", "date": "datetime", "timestamp": "datetime", "list": "array",
    "array": "array", "lambda": "array", "aggregate": "aggregate",
}  # fmt: skip
SPARK_GROUPS = {
    "math_funcs": "numeric", "bitwise_funcs": "numeric", "string_funcs": "string",
    "url_funcs": "string", "hash_funcs": "string", "datetime_funcs": "datetime",
    "array_funcs": "array", "lambda_funcs": "array", "collection_funcs": "array",
    "map_funcs": "array", "struct_funcs": "array", "agg_funcs": "aggregate",
    "window_funcs": "window", "conditional_funcs": "system", "conversion_funcs": "system",
    "predicate_funcs": "system", "misc_funcs": "system", "generator_funcs": "array",
}  # fmt: skip

_STABILITY = {"CONSISTENT": 0, "CONSISTENT_WITHIN_QUERY": 1, "VOLATILE": 2}
_KEYWORDS = {
    "case", "when", "then", "else", "end", "and", "or", "not", "in", "is", "null", "as",
    "select", "from", "where", "cast", "try_cast", "coalesce", "true", "false", "like",
}  # fmt: skip


def _denied(families: dict[str, list[str]]) -> dict[str, str]:
    return {name: family for family, names in families.items() for name in names}


def _entry(kind: str, group: str | None, clock: bool, probe: str) -> dict[str, Any]:
    """One allowed function: its kind, JDBC group, whether it reads the clock, and a call of
    it from the engine's own documentation (what the coverage test sends through the
    allowlist)."""
    entry: dict[str, Any] = {"kind": kind}
    if group:
        entry["group"] = group
    if clock:
        entry["clock"] = True
    entry["probe"] = probe
    return entry


def _call(name: str, arity: int) -> str:
    """A call of a function without a documented example, with typed-looking arguments."""
    return f"SELECT {name}({', '.join(f'a{i}' for i in range(1, arity + 1))}) FROM t"


# -- DuckDB ------------------------------------------------------------------------------------


def duckdb_report() -> dict[str, Any]:
    """DuckDB's functions, each allowed (pure) or not, with why."""
    import duckdb

    con = duckdb.connect(":memory:")
    rows = con.execute(
        """
        SELECT lower(function_name), function_type, schema_name, stability, has_side_effects,
               macro_definition, parameters, examples, categories
        FROM duckdb_functions()
        WHERE function_type IN ('scalar', 'aggregate', 'window', 'macro')
        """
    ).fetchall()
    by_name: dict[str, dict[str, Any]] = {}
    for name, ftype, schema, stability, effects, body, params, examples, categories in rows:
        if not NAME.match(name) or name.startswith("__"):
            continue  # operators and engine internals are no functions a query names
        item = by_name.setdefault(
            name,
            {"types": set(), "schemas": set(), "stability": 0, "effects": False,
             "bodies": [], "examples": set(), "categories": set(), "arity": 99},
        )  # fmt: skip
        item["types"].add(ftype)
        item["schemas"].add(schema)
        item["stability"] = max(item["stability"], _STABILITY.get(stability or "", 0))
        item["effects"] = item["effects"] or bool(effects)
        if body:
            item["bodies"].append((body, set(params or [])))
        item["examples"].update(e for e in examples or [] if e)
        item["arity"] = min(item["arity"], len(params or []))
        item["categories"].update(categories or [])

    denied = _denied(DUCKDB_DENIED)
    clock = set(CLOCK["duckdb"])
    verdict: dict[str, str] = {}  # name -> "pure" | reason refused
    for name, item in by_name.items():
        schema_family = next((DUCKDB_DENIED_SCHEMAS[s] for s in item["schemas"]
                              if s in DUCKDB_DENIED_SCHEMAS), None)  # fmt: skip
        if name in denied:
            verdict[name] = f"denied: {denied[name]}"
        elif schema_family and item["schemas"] <= set(DUCKDB_DENIED_SCHEMAS):
            verdict[name] = f"denied: {schema_family}"
        elif item["effects"] or item["stability"] == _STABILITY["VOLATILE"]:
            verdict[name] = "impure: volatile or side effects"
        elif not item["bodies"]:
            verdict[name] = "pure"
    # A macro is as pure as what its body calls (a fixed point: macros call macros).
    # Names that are only table functions (generate_series and range are lists too; UNNEST
    # in a select list is a set-returning expression, not a table read).
    table_functions = (
        {
            r[0].lower()
            for r in con.execute(
                "SELECT function_name FROM duckdb_functions() "
                "WHERE function_type IN ('table', 'table_macro', 'pragma')"
            ).fetchall()
        }
        - set(by_name)
        - {"unnest"}
    )
    changed = True
    while changed:
        changed = False
        for name, item in by_name.items():
            if name in verdict or not item["bodies"]:
                continue
            called = set()
            for body, params in item["bodies"]:
                called |= _words(body) - {p.lower() for p in params}
            if " select " in " " + " ".join(b.lower() for b, _ in item["bodies"]) + " ":
                verdict[name] = "impure: the macro reads a table"
                changed = True
                continue
            if called & table_functions:
                verdict[name] = "impure: the macro reads a table"
                changed = True
                continue
            known = [c for c in called if c in by_name]
            if any(c in verdict and verdict[c] != "pure" for c in known):
                bad = sorted(c for c in known if c in verdict and verdict[c] != "pure")
                verdict[name] = f"{verdict[bad[0]].split(':')[0]}: the macro calls {bad[0]}"
                changed = True
            elif all(c in verdict for c in known if c != name):
                verdict[name] = "pure"
                if called & clock:
                    clock.add(name)
                changed = True
    for name in by_name:
        verdict.setdefault(name, "impure: the macro's body could not be judged")
    # Denied names this version lacks are refused all the same, saying why.
    for name, family in denied.items():
        verdict.setdefault(name, f"denied: {family}")

    aggregates = {n for n, i in by_name.items() if "aggregate" in i["types"]}
    functions: dict[str, Any] = {}
    refused: dict[str, str] = {}
    for name in sorted(verdict):
        if name not in by_name:
            refused[name] = verdict[name]
            continue
        item = by_name[name]
        if verdict[name] != "pure":
            refused[name] = verdict[name]
            continue
        types = item["types"]
        if "macro" in types and types == {"macro"}:
            called = set().union(*(_words(b) for b, _ in item["bodies"]))
            kind = "aggregate" if called & aggregates else "scalar"
        else:
            kind = next(k for k in ("window", "aggregate", "scalar") if k in types)
        group = "aggregate" if kind == "aggregate" else "window" if kind == "window" else None
        for category in sorted(item["categories"]):
            group = group or DUCKDB_GROUPS.get(category)
        examples = sorted(item["examples"])
        probe = f"SELECT {examples[0]}" if examples else _call(name, item["arity"])
        functions[name] = _entry(kind, group, name in clock, probe)
    return {"version": duckdb.__version__, "functions": functions, "refused": refused}


def _words(body: str) -> set[str]:
    """The names a macro body can call: every word outside string literals, quoted or not
    (an over-approximation: a parameter or keyword is not a call, and is dropped)."""
    text = re.sub(r"'(?:[^']|'')*'", "''", body)
    words = {(a or b).lower() for a, b in re.findall(r'"(\w+)"|\b([A-Za-z_]\w*)\b', text)}
    return words - _KEYWORDS


# -- Spark -------------------------------------------------------------------------------------


def spark_report(spark: Any) -> dict[str, Any]:
    """Spark's built-in functions (its function registry), each allowed (pure) or not."""
    jvm = spark._jvm
    registry = spark._jsparkSession.sessionState().functionRegistry()
    nondeterministic = jvm.java.lang.Class.forName(
        "org.apache.spark.sql.catalyst.expressions.Nondeterministic"
    )
    identifiers = registry.listFunction().iterator()
    denied = _denied(SPARK_DENIED)
    clock = set(CLOCK["spark"])
    functions: dict[str, Any] = {}
    refused: dict[str, str] = {}
    while identifiers.hasNext():
        identifier = identifiers.next()
        name = identifier.funcName().lower()
        if not NAME.match(name):
            continue
        info = registry.lookupFunction(identifier)
        if info.isEmpty():
            continue
        info = info.get()
        group = info.getGroup() or ""
        try:
            impure = nondeterministic.isAssignableFrom(jvm.java.lang.Class.forName(
                info.getClassName()
            ))  # fmt: skip
        except Exception:  # a class the driver cannot load: judge it impure
            impure = True
        if name in denied:
            refused[name] = f"denied: {denied[name]}"
            continue
        if impure:
            refused[name] = "impure: nondeterministic"
            continue
        kind = {"agg_funcs": "aggregate", "window_funcs": "window"}.get(group, "scalar")
        if group == "generator_funcs":
            kind = "generator"
        examples = re.findall(r">\s*(SELECT\s.*?);", info.getExamples() or "", re.S)
        probe = " ".join(examples[0].split()) if examples else _call(name, 1)
        functions[name] = _entry(kind, SPARK_GROUPS.get(group), name in clock, probe)
    for name, family in denied.items():
        if name not in functions and name not in refused:
            refused[name] = f"denied: {family}"
    import pyspark

    return {
        "version": pyspark.__version__,
        "functions": dict(sorted(functions.items())),
        "refused": dict(sorted(refused.items())),
    }


# -- one SQL text, two engines -------------------------------------------------------------------

# Calls used instead of an engine's documented example where the example needs what the other
# engine spells differently (a BLOB literal, a list of formats, a string as a list), so that
# the check is of the function and not of the example's other parts.
PROBES = {
    "duckdb": {
        "md5": "SELECT md5('abc')",
        "sha1": "SELECT sha1('abc')",
        "sha256": "SELECT sha256('abc')",
        "strptime": "SELECT strptime('2023-04-15 10:56:00', '%Y-%m-%d %H:%M:%S')",
        "regexp_extract": "SELECT regexp_extract('2023-04-15', '(\\d+)-(\\d+)', 2)",
        "array_slice": "SELECT array_slice([1, 2, 3, 4], 2, 3)",
        "list_slice": "SELECT list_slice([1, 2, 3, 4], 2, 3)",
        "regexp_replace": "SELECT regexp_replace('hello', '[lo]', '-', 'g')",
        "split_part": "SELECT split_part('a-b-c', '-', 2)",
        "time_bucket": "SELECT time_bucket(INTERVAL '15 minutes', TIMESTAMP '2024-01-01 11:27')",
        "date_trunc": "SELECT date_trunc('hour', TIMESTAMP '2024-01-01 11:27:00')",
        "bool_and": "SELECT bool_and(b) FROM (VALUES (TRUE), (FALSE), (TRUE)) AS t(b)",
        "bool_or": "SELECT bool_or(b) FROM (VALUES (TRUE), (FALSE), (TRUE)) AS t(b)",
        "count_if": "SELECT count_if(a1 > 2) FROM {table}",
        "countif": "SELECT countif(a1 > 2) FROM {table}",
        "if": "SELECT if(a1 > 2, 'big', 'small') FROM {table}",
    },
    "spark": {
        "md5": "SELECT md5('abc')",
        "hour": "SELECT hour(TIMESTAMP '2018-02-14 12:58:59')",
        "minute": "SELECT minute(TIMESTAMP '2018-02-14 12:58:59')",
        "second": "SELECT second(TIMESTAMP '2018-02-14 12:58:59')",
        "quarter": "SELECT quarter(DATE '2016-08-31')",
        "date_trunc": "SELECT date_trunc('YEAR', TIMESTAMP '2015-03-05 09:32:05')",
        "last_day": "SELECT last_day(DATE '2009-01-12')",
        "weekday": "SELECT weekday(DATE '2009-07-30')",
        "dayofweek": "SELECT dayofweek(DATE '2009-07-30')",
        "monthname": "SELECT monthname(DATE '2008-02-20')",
        "rank": "SELECT a, b, rank() OVER (PARTITION BY a ORDER BY b) FROM {pairs}",
        "dense_rank": "SELECT a, b, dense_rank() OVER (PARTITION BY a ORDER BY b) FROM {pairs}",
        "percent_rank": "SELECT a, percent_rank() OVER (PARTITION BY a ORDER BY b) FROM {pairs}",
        "first_value": "SELECT a, first_value(b) OVER (PARTITION BY a ORDER BY b) FROM {pairs}",
        "last_value": "SELECT a, last_value(b) OVER (PARTITION BY a ORDER BY b) FROM {pairs}",
        "percentile_cont": "SELECT percentile_cont(0.25) WITHIN GROUP (ORDER BY a1) FROM {table}",
        "percentile_disc": "SELECT percentile_disc(0.25) WITHIN GROUP (ORDER BY a1) FROM {table}",
        "percentile": "SELECT percentile(a1, 0.3) FROM {table}",
    },
}  # fmt: skip
# Rows an aggregate (or a function without an example) is tried on: doubles, so neither
# engine's decimal arithmetic decides the result.
TABLE = (
    "(VALUES (1.5e0, 2.0e0, 3), (4.0e0, 0.5e0, 2), (10.0e0, 3.0e0, 1), (2.5e0, 2.5e0, 5)) "
    "AS t(a1, a2, a3)"
)
PAIRS = "(VALUES ('A1', 2), ('A1', 1), ('A2', 3), ('A1', 1)) AS tab(a, b)"


def _synthesized(name: str, arity: int) -> str:
    arguments = ", ".join(f"a{i}" for i in range(1, arity + 1))
    return f"SELECT {name}({arguments}) FROM {TABLE}"


def verify(catalog: dict[str, Any], registry: Path) -> dict[str, Any]:
    """Mark each function that runs on the other engine (through the rewrite, sqlglot's
    translation and portable.py) with ``"<other engine>": "equal"`` when its example gives
    the same rows there, ``"differs"`` when it gives other rows or fails there. A function
    whose example fails on its own engine, or that the other engine has no translation of,
    gets no mark."""
    import dsgrid_sql
    from dsgrid_sql.rewrite import functions

    unverified = json.loads(json.dumps(catalog))
    with functions.override(unverified):
        for source in functions.ENGINES:
            other = next(e for e in functions.ENGINES if e != source)
            with (
                dsgrid_sql.connect(registry, engine=source, dialect=source) as here,
                dsgrid_sql.connect(registry, engine=other, dialect=source) as there,
            ):
                for name, entry in catalog[source]["functions"].items():
                    result = verdict(here, there, source, name, entry)
                    if result is not None:
                        entry[other] = result
    catalog["verified"] = True
    return catalog


def verdict(here: Any, there: Any, source: str, name: str, entry: dict[str, Any]) -> str | None:
    """'equal' or 'differs' for one function of ``source``: its example run by session
    ``here`` (on the source engine) and ``there`` (on the other), both reading the source's
    dialect. None when the example fails on its own engine or has no translation."""
    from dsgrid_sql.errors import DsgridSqlError

    probe = PROBES[source].get(name, entry["probe"])
    candidates = [probe.replace("{table}", TABLE).replace("{pairs}", PAIRS)]
    candidates += [_synthesized(name, n) for n in (1, 2, 3)]
    for probe in candidates:
        try:
            expected = _rows(here.sql(probe).to_arrow())
            break
        except (DsgridSqlError, ArithmeticError, ValueError):
            continue  # an error, or values Python cannot hold
    else:
        return None
    try:
        got = _rows(there.sql(probe).to_arrow())
    except DsgridSqlError as error:
        return None if error.code in ("engine_only", "unknown_function") else "differs"
    except (ArithmeticError, ValueError):
        return "differs"
    return "equal" if got == expected or entry.get("clock") else "differs"


def coverage(engine: str) -> dict[str, tuple[int, int]]:
    """Per kind (scalar, aggregate, window): how many of the engine's pure functions a query
    can call (its example, or a plain call where the example's other parts do not parse,
    passes the allowlist on that engine) and how many there are. No engine needed."""
    import sqlglot
    from sqlglot.errors import ParseError

    from dsgrid_sql.errors import DsgridSqlError
    from dsgrid_sql.rewrite import allowlist, functions

    counts: dict[str, list[int]] = {}
    for name, entry in functions.functions(engine).items():
        kind = "scalar" if entry["kind"] == "generator" else entry["kind"]
        tally = counts.setdefault(kind, [0, 0])
        tally[1] += 1
        for text in (entry["probe"], *(_synthesized(name, n) for n in (1, 2, 3))):
            try:
                statement = sqlglot.parse_one(text, read=engine)
            except ParseError:
                continue
            try:
                allowlist.check_functions(statement, lambda _: None, engine, engine, text)
            except DsgridSqlError:
                break  # parsed, and refused: not callable
            tally[0] += 1
            break
    return {kind: (allowed, total) for kind, (allowed, total) in sorted(counts.items())}


def portability(engine: str) -> tuple[int, int]:
    """How many of the engine's pure functions a query in its dialect can call on the other
    engine (the allowlist lets the translated call through), and how many of those were
    checked equal on their example. No engine needed."""
    import sqlglot
    from sqlglot.errors import ParseError

    from dsgrid_sql.errors import DsgridSqlError
    from dsgrid_sql.rewrite import allowlist, functions

    other = next(e for e in functions.ENGINES if e != engine)
    runs = equal = 0
    for name, entry in functions.functions(engine).items():
        for text in (entry["probe"], *(_synthesized(name, n) for n in (1, 2, 3))):
            try:
                statement = sqlglot.parse_one(text, read=engine)
            except ParseError:
                continue
            try:
                allowlist.check_functions(statement, lambda _: None, engine, other, text)
            except DsgridSqlError:
                break
            runs += 1
            equal += entry.get(other) == "equal"
            break
    return runs, equal


def coverage_table() -> str:
    """The README's table of function coverage."""
    lines = [
        "| engine | scalar | aggregate | window | all | run on the other engine (checked equal) |",
        "|---|---|---|---|---|---|",
    ]
    from dsgrid_sql.rewrite import functions

    for engine in functions.ENGINES:
        counts = coverage(engine)
        cells = []
        for kind in ("scalar", "aggregate", "window"):
            allowed, total = counts.get(kind, (0, 0))
            cells.append(f"{allowed} / {total} ({100 * allowed / total:.1f} %)")
        allowed = sum(a for a, _ in counts.values())
        total = sum(t for _, t in counts.values())
        title = functions.ENGINE_TITLES[engine]
        version = functions.catalog_version(engine)
        runs, equal = portability(engine)
        lines.append(
            f"| {title} {version} | {' | '.join(cells)} | {allowed} / {total} "
            f"({100 * allowed / total:.1f} %) | {runs} ({equal}) |"
        )
    return "\n".join(lines)


def _rows(table: Any) -> list[str]:
    return sorted(json.dumps([_canonical(v) for v in row.values()]) for row in table.to_pylist())


def _canonical(value: Any) -> Any:
    """A value as both engines' results can be compared: numbers to 9 significant digits,
    instants in UTC, bytes as hex."""
    import datetime
    import decimal
    import math

    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float | decimal.Decimal):
        number = float(value)
        return str(number) if math.isnan(number) or math.isinf(number) else float(f"{number:.9g}")
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return str(value)


# -- the file ----------------------------------------------------------------------------------


def build(spark: Any, registry: Path | None = None) -> dict[str, Any]:
    """The whole file: both engines' functions, and (given a registry to run queries on)
    which of them give equal results on the other engine."""
    duckdb = duckdb_report()
    spark_functions = spark_report(spark)
    # DuckDB files most functions under no category: a function Spark also has takes
    # Spark's group.
    for name, entry in duckdb["functions"].items():
        twin = spark_functions["functions"].get(name, {})
        if "group" not in entry and "group" in twin:
            entry["group"] = twin["group"]
    catalog = {
        "about": "Generated by tools/function_catalog.py from the engines' function catalogs; "
        "do not edit by hand.",
        "duckdb": duckdb,
        "spark": spark_functions,
    }
    return verify(catalog, registry) if registry is not None else catalog


def render(catalog: dict[str, Any]) -> str:
    """One function a line, so a new engine version reads as a short diff."""
    lines = ["{", f'  "about": {json.dumps(catalog["about"])},']
    if "verified" in catalog:
        lines.append(f'  "verified": {json.dumps(catalog["verified"])},')
    engines = [k for k in catalog if k not in ("about", "verified")]
    for e, engine in enumerate(engines):
        report = catalog[engine]
        lines.append(f'  "{engine}": {{')
        lines.append(f'    "version": {json.dumps(report["version"])},')
        for s, section in enumerate(("functions", "refused")):
            lines.append(f'    "{section}": {{')
            items = list(report[section].items())
            for i, (name, value) in enumerate(items):
                comma = "," if i < len(items) - 1 else ""
                lines.append(
                    f"      {json.dumps(name)}: {json.dumps(value, sort_keys=True)}{comma}"
                )
            lines.append("    }" + ("," if s == 0 else ""))
        lines.append("  }" + ("," if e < len(engines) - 1 else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument(
        "--coverage", action="store_true", help="print the README's coverage table and stop"
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    if args.coverage:
        print(coverage_table())
        return 0
    import tempfile

    from dsgrid_sql.engine.spark import spark_session
    from dsgrid_sql.generator import GeneratorSpec, generate_registry

    with tempfile.TemporaryDirectory() as folder:
        registry = generate_registry(Path(folder) / "r", GeneratorSpec(counties=2, hours=24)).path
        text = render(build(spark_session(), registry))
    if args.check:
        if OUTPUT.read_text() != text:
            print(f"{OUTPUT.relative_to(REPO)} is stale: run tools/function_catalog.py")
            return 1
        print(f"{OUTPUT.relative_to(REPO)} matches the engines.")
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
