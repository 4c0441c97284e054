"""What a query may contain: an allowlist of statement kinds and functions (DESIGN.md §8).

Anything not listed is refused before the engine sees it, so a function an engine adds
later (a file reader, an environment probe) is refused until someone decides it is safe.
"""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.errors import ErrorLevel, UnsupportedError

from dsgrid_sql.errors import EngineOnlyError, UnknownFunctionError, UnsupportedSqlError
from dsgrid_sql.suggest import did_you_mean

from . import functions, ranges
from .functions import ENGINE_TITLES, engine_of_dialect

# Which functions a query may call is the engines' own catalogs' answer (functions.py, from
# tools/function_catalog.py): every pure function, by name, in the engine that reads the query's
# dialect and in the engine that runs it.


def function_names(group: str | None = None, engine: str = "duckdb") -> list[str]:
    """Allowed function names (lower case) of an engine, all of them or one group's."""
    return list(functions.names(engine, group))


FUNCTION_GROUPS = ("numeric", "string", "datetime", "system", "aggregate", "window", "array")
# What completion offers: both engines' functions, less DuckDB's collation helpers (one per
# language, reached through COLLATE).
KNOWN_FUNCTION_NAMES = sorted(
    n
    for n in set(functions.names("duckdb")) | set(functions.names("spark"))
    if not n.startswith(("collate_", "icu_collate_"))
)


# The parts a query may be built of besides functions and operators (which have their own
# allowlist and are checked by check_functions). A node of any other kind — SELECT ... INTO,
# a DML statement inside a CTE, Spark's TRANSFORM ... USING 'script', FOR UPDATE, an engine
# hint — is refused, whatever an engine would make of it.
_QUERY_PARTS = {
    # statements and their clauses
    "Select", "Union", "Intersect", "Except", "Values", "Subquery", "With", "CTE", "From",
    "Join", "Where", "Group", "Having", "Qualify", "Order", "Ordered", "Limit", "Offset",
    "Fetch", "Distinct", "Window", "WindowSpec", "Lateral", "Pivot", "PivotAlias", "Cube",
    "Rollup", "GroupingSets", "TableSample", "Semicolon",
    # names and values
    "Table", "TableAlias", "Alias", "Aliases", "Column", "Identifier", "Literal", "Star",
    "Null", "Boolean", "Paren", "Tuple", "DataType", "DataTypeParam", "Interval",
    "IntervalSpan", "Var", "Placeholder", "Parameter", "Bracket", "Slice", "Escape",
    "Kwarg", "PropertyEQ", "Lambda", "IgnoreNulls", "RespectNulls", "WithinGroup", "Filter",
    "HavingMax", "ColumnPosition", "HexString", "ByteString", "BitString", "RawString",
    "National",
    # x AT TIME ZONE 'zone' (time_zones.py gives it one meaning on both engines)
    "AtTimeZone",
    # a table's VERSION / TIMESTAMP AS OF: resolved against the registry (versions.py) and
    # removed before any SQL reaches an engine
    "Version",
}  # fmt: skip
# Operators are Func subclasses in sqlglot too (AND, comparisons, LIKE, arithmetic).
_OPERATORS = (exp.Binary, exp.Connector, exp.Unary, exp.Predicate)


def check_statement_kind(statement: exp.Expression) -> None:
    if not isinstance(statement, exp.Query | exp.Values):
        kind = statement.key.upper()
        raise UnsupportedSqlError(
            f"{kind} statements are not allowed: dsgrid-sql runs read-only queries.",
            hint="Use SELECT (or WITH ... SELECT); SHOW, DESCRIBE, EXPLAIN, USE, SET and "
            "COPY (query) TO are also available.",
        )
    check_query_parts(statement)


def check_query_parts(statement: exp.Expression) -> None:
    """Refuse any part of the query that is not on the allowlist of query parts."""
    for node in statement.walk():
        if isinstance(node, (exp.Func, exp.Command, *_OPERATORS)):
            continue  # check_functions decides on these
        if type(node).__name__ in _QUERY_PARTS:
            continue
        if isinstance(node, exp.DDL | exp.DML):
            what = f"{node.key.upper()} statements are"
        elif isinstance(node, exp.Into):
            what = "SELECT ... INTO is"
        else:
            what = f"{_describe(node)} is"
        raise UnsupportedSqlError(
            f"{what} not allowed: dsgrid-sql runs read-only queries over catalog tables.",
            hint="Queries may use SELECT, WITH, VALUES, joins, subqueries, set operations, "
            "window functions and the allowed functions.",
        )


def _describe(node: exp.Expression) -> str:
    words = {"QueryTransform": "TRANSFORM ... USING", "Lock": "FOR UPDATE / FOR SHARE"}
    name = type(node).__name__
    return words.get(name, f"'{node.key.upper()}'")


# SQL that sqlglot models as a function but the engines parse as syntax (no catalog has
# CASE, a list literal or CURRENT_DATE as a function): its parts are checked one by one.
_SYNTAX_NODES = (
    exp.Case, exp.Cast, exp.Array, exp.Struct, exp.CurrentDate, exp.CurrentTimestamp,
    exp.CurrentTime, exp.Columns, exp.Unnest,
)  # fmt: skip
# Calls that are syntax in the engines, not catalog functions (CAST(x AS t), EXTRACT(f FROM x),
# Spark's TIMESTAMPDIFF(HOUR, a, b)).
_COMMON_SYNTAX = {
    "cast", "try_cast", "extract", "coalesce", "struct", "array", "map", "unnest", "grouping",
}  # fmt: skip
_SYNTAX_CALLS = {
    "duckdb": _COMMON_SYNTAX,
    "spark": _COMMON_SYNTAX | {"timestampdiff", "timestampadd"},
}
_CALL = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_UNSUPPORTED = "\x00unsupported"


def _operator(node: exp.Expression) -> bool:
    # The logical operators are Func subclasses in sqlglot; other "operators" that are
    # (regular expression matches, array containment, POWER, CORR) are calls in some engine,
    # and are judged as functions.
    return isinstance(node, exp.And | exp.Or | exp.Xor | exp.Not | exp.Exists | exp.Collate)


def engine_call(node: exp.Func, engine: str, spelled: str | None = None) -> str | None:
    """The function an engine runs for ``node``: its name in the engine's SQL (lower case),
    None when sqlglot writes it as syntax there (CASE, an operator, a literal), or
    ``_UNSUPPORTED`` when sqlglot has no way to write it for that engine."""
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    if isinstance(node, _SYNTAX_NODES):
        return None
    try:
        text = node.sql(dialect=engine, unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError:
        return _UNSUPPORTED
    match = _CALL.match(text)
    if match is not None and match.group(1).lower() in _SYNTAX_CALLS.get(engine, _COMMON_SYNTAX):
        return None
    if match is not None:
        return match.group(1).lower()
    # Written as syntax in that engine (CURRENT_CATALOG, x -> '$.a', d + INTERVAL 1 DAY): the
    # function it stands for must be allowed under one of its names, or the name the query
    # called it by (``spelled``, for the engine of the query's dialect).
    names = [n.lower() for n in type(node).sql_names()]
    if spelled:
        names.insert(0, spelled.lower())
    if any(functions.allowed(engine, n) for n in names):
        return None
    return names[0] if names else type(node).__name__.lower()


def check_functions(
    statement: exp.Expression,
    position_of,  # type: ignore[no-untyped-def]
    dialect: str = "duckdb",
    target: str = "duckdb",
    text: str | None = None,
) -> set[str]:
    """Refuse any function that is not pure in the engine of the query's dialect, or that the
    target engine cannot run (with a suggestion when a known one is close, and the engine it
    belongs to when it is one engine's only). Returns the names called, as the engines know
    them."""
    source = engine_of_dialect(dialect)
    called: set[str] = set()
    # Deepest first: a call inside another is judged (and named in an error) on its own.
    for node in reversed(list(statement.walk())):
        if isinstance(node, exp.Command):
            raise UnsupportedSqlError(f"'{node.name.upper()}' is not allowed in a query.")
        if not isinstance(node, exp.Func) or _operator(node) or ranges.is_ranges(node):
            continue  # (a chain of ranges is the parse's, written back as BETWEENs)
        spelled = _spelling(node, text)
        name = None
        # A call portable.py wrote for the target engine is the target's to judge.
        if source is not None and not node.meta.get("dsgrid_adapted"):
            name = engine_call(node, source, spelled)
            if name == _UNSUPPORTED or (name is not None and not functions.allowed(source, name)):
                _refuse(spelled or name, source, target, node, position_of)
            if name is not None:
                called.add(name)
        if target == source or _converted_later(node):
            continue
        there = engine_call(node, target)
        if there == _UNSUPPORTED or (there is not None and not functions.allowed(target, there)):
            if source is None:
                _refuse(spelled or there, target, target, node, position_of)
            raise engine_only(spelled or name or there or "", source, target, position_of(node))
        if source is not None and name is not None and functions.verified():
            # The target runs something of that name: does it compute what the source does?
            verdict = functions.on_other_engine(source, name, target)
            if verdict == "differs" or (isinstance(node, exp.Anonymous) and verdict != "equal"):
                raise engine_only(spelled or name, source, target, position_of(node),
                                  differs=verdict == "differs")  # fmt: skip
        if there is not None:
            called.add(there)
    return called


def _converted_later(node: exp.Expression) -> bool:
    """timezone('zone', x) is spelled for each engine by time_zones.py, after this check."""
    return (
        isinstance(node, exp.Anonymous)
        and node.name.lower() == "timezone"
        and len(node.expressions) == 2
    )


def engine_only(
    name: str, source: str, target: str, position=None, differs: bool = False
) -> EngineOnlyError:  # type: ignore[no-untyped-def]
    why = (
        f"{ENGINE_TITLES[target]}'s gives other results"
        if differs
        else f"{ENGINE_TITLES[target]} has no equivalent"
    )
    return EngineOnlyError(
        f"Function '{name}' is {ENGINE_TITLES[source]}-only: {why}.",
        position=position,
        hint=f"Run the query on {ENGINE_TITLES[source]} (--engine {source}), or write it with "
        "functions both engines have.",
    )


def _spelling(node: exp.Expression, text: str | None) -> str | None:
    """The function's name as the user wrote it, when the parser kept its place."""
    if isinstance(node, exp.Anonymous):
        return node.name
    meta = node.meta
    if text is None or "start" not in meta or "end" not in meta:
        return None
    word = text[meta["start"] : meta["end"] + 1]
    return word if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", word) else None


def repeatable(statement: exp.Expression, called: set[str] | None = None) -> bool:
    """Whether the statement, run again on the same data, has the same answer (an answer
    that may come in any row order, or pick any value for ANY_VALUE, counts as the same:
    any of them is correct). A function reading the clock, or sampling rows (engines give a
    seed no guarantee across threads), makes it not repeatable (Translation.repeatable):
    its result is never served from the result cache."""
    for name in called or ():
        if any(functions.is_clock(engine, name) for engine in functions.ENGINES):
            return False
    for node in statement.walk():
        if isinstance(node, (*_SYNTAX_CLOCK, exp.TableSample)):
            return False
        if (
            isinstance(node, exp.Anonymous)
            and node.name.lower() in _CLOCK_WITHOUT_ARGUMENTS
            and not node.expressions
        ):
            return False
    return True


_SYNTAX_CLOCK = (exp.CurrentDate, exp.CurrentTimestamp, exp.CurrentTime)
# unix_timestamp() with no argument is now; with one it converts its argument.
_CLOCK_WITHOUT_ARGUMENTS = {"unix_timestamp"}


def _refuse(name: str, engine: str, target: str, node: exp.Expression, position_of) -> None:  # type: ignore[no-untyped-def]
    why = functions.refusal(engine, name)
    hint = (
        "dsgrid-sql allows the functions that compute on values; file readers, table "
        "functions and functions that reach outside the data are refused."
    )
    other = next((e for e in functions.ENGINES if e != engine), None)
    suggestion = None
    if why is not None:
        reason = why.split(": ", 1)[-1]
        message = f"Function '{name}' is not allowed: {_REASONS.get(reason, reason)}."
    else:
        message = f"Function '{name}' is unknown or not allowed."
        suggestion = did_you_mean(name, functions.names(engine))
        if other is not None and functions.allowed(other, name):
            hint = (
                f"'{name}' is a {ENGINE_TITLES[other]} function: write {ENGINE_TITLES[other]} "
                f"SQL with SET dialect = '{other}' (or --dialect {other})."
            )
    raise UnknownFunctionError(
        message, suggestion=suggestion, position=position_of(node), hint=hint
    )


_REASONS = {
    "engine state": "it reads the engine's state",
    "identity": "it reads who is connected",
    "environment": "it reads the server's environment",
    "files": "it reads files",
    "runs SQL text": "it runs SQL text",
    "extensions and secrets": "it reaches extensions or secrets",
    "runs JVM code": "it runs JVM code",
    "raises errors": "it raises errors",
    "XML parsers (external entities)": "its XML parser can reach files and the network",
    "PostgreSQL catalog compatibility": "it reads the engine's catalogs",
    "volatile or side effects": "it is not deterministic or has side effects",
    "nondeterministic": "it is not deterministic",
}
