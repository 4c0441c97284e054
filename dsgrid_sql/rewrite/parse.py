"""Parse one SQL query in the session dialect into a sqlglot AST; turn sqlglot's errors into
one positioned sentence (never sqlglot's own text alone)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Tokenizer

from dsgrid_sql.errors import (
    Position,
    SqlSyntaxError,
    SqlTooDeepError,
    SqlTooLongError,
    UnsupportedSqlError,
)
from dsgrid_sql.suggest import did_you_mean

from . import ranges
from .deadline import check_time

DIALECTS = ("duckdb", "spark", "postgres", "trino", "ansi", "bigquery", "snowflake", "mysql")
# The engines' SQL; the dialect a query is written in is added when it is parsed.
ranges.register(("duckdb", "spark"))


def check_dialect(dialect: str) -> str:
    name = "" if dialect == "ansi" else dialect
    try:
        sqlglot.Dialect.get_or_raise(name)
    except ValueError:
        raise SqlSyntaxError(
            f"Unknown SQL dialect '{dialect}'.", hint=f"Dialects: {', '.join(DIALECTS)}."
        ) from None
    return name


def position_at(text: str, start: int, end: int | None = None) -> Position:
    """Line and column (1-based) of a character offset in ``text``."""
    start = max(0, min(start, len(text)))
    line = text.count("\n", 0, start) + 1
    col = start - (text.rfind("\n", 0, start) + 1) + 1
    return Position(line, col, start, end if end is not None else start)


def node_position(text: str, node: exp.Expression | None) -> Position | None:
    """Where a parsed node (or its identifier) is in the SQL text, when sqlglot kept it."""
    while node is not None:
        meta = (
            node.meta
            if isinstance(node, exp.Identifier)
            else (node.this.meta if isinstance(node.this, exp.Identifier) else node.meta)
        )
        if meta and "start" in meta:
            return position_at(text, meta["start"], meta.get("end"))
        node = node.this if isinstance(node.this, exp.Expression) else None
    return None


STATEMENT_WORDS = ("SELECT", "WITH", "VALUES", "FROM", "TABLE", "PIVOT", "UNPIVOT")
# A first word that is no SQL keyword at all is a typo worth naming (SELEC, SLECT, ...).
_SQL_KEYWORDS = {k.split()[0] for k in Tokenizer.KEYWORDS} | set(STATEMENT_WORDS)
# Statements of the engines that sqlglot does not know as keywords; named in the refusal.
_ENGINE_STATEMENT_WORDS = {
    "ATTACH", "DETACH", "INSTALL", "LOAD", "CALL", "RESET", "EXPORT", "IMPORT", "ADD", "LIST",
    "MSCK", "REFRESH", "SUMMARIZE", "CHECKPOINT", "VACUUM", "FORCE",
}  # fmt: skip
_FIRST_WORD = re.compile(
    r"[\s;\ufeff]*(?:(?:--[^\n]*(?:\n|$)|/\*.*?\*/)[\s;]*)*(\(|[^\W\d]\w*)?", re.S
)


# -- limits ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SqlLimits:
    """How large a SQL text may be: characters, and how deeply parentheses, brackets,
    CASE ... END, subqueries and prefix operators (NOT, -) may nest; and how many rows (or
    list elements) one generate_series / range may make. 0 means no limit."""

    max_length: int = 1_048_576
    max_depth: int = 64
    max_series_rows: int = 10_000_000


DEFAULT_LIMITS = SqlLimits()
# The limits of the session that is translating (set by Session around its calls), so that
# every parse on its behalf applies them without threading them through each function.
_ACTIVE_LIMITS: ContextVar[SqlLimits] = ContextVar("dsgrid_sql_limits", default=DEFAULT_LIMITS)


@contextlib.contextmanager
def sql_limits(limits: SqlLimits) -> Iterator[None]:
    token = _ACTIVE_LIMITS.set(limits)
    try:
        yield
    finally:
        _ACTIVE_LIMITS.reset(token)


def active_limits() -> SqlLimits:
    return _ACTIVE_LIMITS.get()


# Strings, quoted names and comments are skipped; what is left nests. Dialects that escape
# quotes with a backslash (Spark, MySQL, BigQuery) need it in their string pattern.
_STRING = r"'(?:[^']|'')*'"
_STRING_BACKSLASH = r"'(?:[^'\\]|\\.|'')*'"
_NESTING = r"""
    (?P<skip>{string}|"(?:[^"]|"")*"|`(?:[^`]|``)*`|--[^\n]*|/\*.*?(?:\*/|$))
  | (?P<open>[(\[{{]|\bCASE\b)
  | (?P<close>[)\]}}]|\bEND\b)
  | (?P<prefix>(?:(?:\bNOT\b|[-+~!](?!-))\s*){{2,}})
"""
_NESTING_PATTERNS = {
    escape: re.compile(
        _NESTING.format(string=_STRING_BACKSLASH if escape else _STRING), re.S | re.I | re.X
    )
    for escape in (False, True)
}
_BACKSLASH_DIALECTS = {"spark", "spark2", "databricks", "hive", "mysql", "bigquery"}


def nesting_depth(text: str, dialect: str = "duckdb") -> int:
    """How deeply the SQL text nests, found without parsing it (a parser recurses per level,
    which is the very thing this guards)."""
    pattern = _NESTING_PATTERNS[dialect in _BACKSLASH_DIALECTS]
    depth = deepest = 0
    for match in pattern.finditer(text):
        kind = match.lastgroup
        if kind == "open":
            depth += 1
            deepest = max(deepest, depth)
        elif kind == "close":
            depth = max(0, depth - 1)
        elif kind == "prefix":
            # A run of prefix operators nests one level per operator, for its operand only.
            run = len(re.findall(r"\bNOT\b|[-+~!]", match.group(0), re.I))
            deepest = max(deepest, depth + run)
    return deepest


def check_limits(text: str, dialect: str = "duckdb", limits: SqlLimits | None = None) -> None:
    """Refuse SQL over the length or nesting limit, before any parser sees it."""
    limits = limits or active_limits()
    if limits.max_length and len(text) > limits.max_length:
        raise SqlTooLongError(
            f"The SQL text is {len(text):,} characters long, over the limit of "
            f"{limits.max_length:,}.",
            hint="Send a shorter query (the limit is the max_sql_length setting, "
            "--max-sql-length for serve).",
        )
    if limits.max_depth:
        depth = nesting_depth(text, dialect)
        if depth > limits.max_depth:
            raise too_deep(limits, depth)


def too_deep(limits: SqlLimits, depth: int | None = None) -> SqlTooDeepError:
    found = f" ({depth} levels)" if depth is not None else ""
    limit = (
        f"the limit is {limits.max_depth} levels"
        if limits.max_depth
        else "the parser cannot follow it"
    )
    return SqlTooDeepError(
        f"The SQL nests parentheses, subqueries or expressions too deeply{found}; {limit}.",
        hint="Flatten the query, e.g. with WITH clauses (the limit is the max_nesting_depth "
        "setting, --max-nesting-depth for serve).",
    )


def parse_query(text: str, dialect: str) -> exp.Expression:
    read = check_dialect(dialect)
    limits = active_limits()
    check_time()
    check_limits(text, dialect, limits)
    _check_first_word(text)
    check_time()
    tokens: list[Any] = []
    try:
        # sqlglot.parse in its two steps, so that a time limit is looked at between them.
        reader = sqlglot.Dialect.get_or_raise(read)
        tokens = reader.tokenize(text)
        check_time()
        statements = [s for s in reader.parser().parse(tokens, text) if s is not None]
    except TypeError:
        # sqlglot's parser builds an arrow ('->', '->>') before it checks that both of its
        # operands are there, and fails as a program error when one is missing.
        raise _missing_operand(text, tokens) from None
    except ParseError as exc:
        raise _syntax_error(text, exc.errors[0] if exc.errors else {}) from None
    except TokenError:
        raise SqlSyntaxError(
            "Syntax error: the SQL has an unterminated string, quoted name or comment."
        ) from None
    except RecursionError:
        # Nesting the text scan does not count (rare) can still be too deep for the parser.
        raise too_deep(limits) from None
    if not statements:
        raise SqlSyntaxError("The SQL text holds no statement.")
    if len(statements) > 1:
        raise UnsupportedSqlError(
            f"The SQL text holds {len(statements)} statements; send one at a time."
        )
    statement = statements[0]
    if isinstance(statement, exp.Command):
        raise UnsupportedSqlError(
            f"'{statement.name.upper()}' statements are not supported.",
            position=position_at(text, 0, len(statement.name)),
        )
    check_time()
    if balance_connectors(statement):
        ranges.register((read,))  # its chains of ranges may be shown in the query's dialect
    return statement


# Chains of AND / OR at least this long are rebuilt as balanced trees.
BALANCE_AT = 16


def balance_connectors(tree: exp.Expression) -> bool:
    """Rebuild long AND / OR chains (``a OR b OR c ...``, which parse left-deep: one level
    per term) as balanced trees of the same terms in the same order.

    Name resolution walks from every column up through its ancestors, so a left-deep chain of
    n comparisons costs n² steps: 3,000 ORs took 10 s to bind. AND and OR are associative in
    SQL's three-valued logic, so only the grouping changes, never the result; the depth
    becomes log₂ n. Arithmetic chains are left alone: regrouping a floating-point sum can
    change its last bits. True when a chain of ranges was gathered (ranges.py)."""
    gathered = False
    for node in list(tree.find_all(exp.And, exp.Or)):
        if type(node.parent) is type(node):
            continue  # a link inside a chain: its head rebuilds the whole chain
        terms = _chain_terms(node)
        if len(terms) >= BALANCE_AT:
            terms = _comparisons_as_lists(terms, exp.EQ if isinstance(node, exp.Or) else exp.NEQ)
            count = len(terms)
            terms = ranges.as_ranges(terms, negated=isinstance(node, exp.And))
            gathered = gathered or len(terms) < count
            node.replace(_balanced(type(node), terms) if len(terms) > 1 else terms[0])
    return gathered


def _comparisons_as_lists(
    terms: list[exp.Expression], kind: type[exp.EQ] | type[exp.NEQ]
) -> list[exp.Expression]:
    """``c = 'a' OR c = 'b' OR …`` as ``c IN ('a', 'b', …)``, and ``c <> 1 AND c <> 2 AND …``
    as ``NOT c IN (1, 2, …)`` — how BI tools write a filter on many values, kept or left out.

    Equal in SQL's three-valued logic: a NULL column gives NULL either way; otherwise a match
    gives TRUE in the OR (FALSE in the AND), and a NULL in the list, which is no literal and
    stays a term of its own, gives NULL where nothing matched, as it did. One column
    instead of one per term: every pass over the tree (binding, checks, generation) and the
    engine's planner see a list, not thousands of comparisons. Only literals of one kind
    (all strings or all numbers) are put in one list, so the engine compares them as the
    single comparisons did; each list stands where its column's first comparison stood.
    ``kind`` is the chain's comparison: EQ for an OR chain, NEQ for an AND chain."""
    lists: dict[tuple[object, bool], exp.In] = {}
    kept: list[exp.Expression] = []
    for term in terms:
        pair = _column_compared_to_literal(term, kind)
        if pair is None:
            kept.append(term)
            continue
        column, value = pair
        key = (ranges.written_name(column), value.is_string)
        found = lists.get(key)
        if found is None:
            found = lists[key] = exp.In(this=column, expressions=[])
            kept.append(found)
        found.append("expressions", value)
    made = {id(node) for node in lists.values()}
    out: list[exp.Expression] = []
    for term in kept:
        if id(term) not in made:
            out.append(term)
        elif len(term.expressions) == 1:  # a list of one is the comparison it came from
            out.append(kind(this=term.this, expression=term.expressions[0]))
        else:
            out.append(term if kind is exp.EQ else exp.Not(this=term))
    return out


def _column_compared_to_literal(
    term: exp.Expression, kind: type[exp.EQ] | type[exp.NEQ]
) -> tuple[exp.Column, exp.Literal] | None:
    if type(term) is not kind:
        return None
    for column, value in ((term.this, term.expression), (term.expression, term.this)):
        if type(column) is exp.Column and type(value) is exp.Literal:
            return column, value
    return None


def _chain_terms(head: exp.Expression) -> list[exp.Expression]:
    """The terms of a chain of one connector, left to right (iteratively: chains are long)."""
    kind, terms, stack = type(head), [], [head]
    while stack:
        node = stack.pop()
        if type(node) is kind:
            stack.append(node.expression)
            stack.append(node.this)
        else:
            terms.append(node)
    return terms


def _balanced(kind: type[exp.Expression], terms: list[exp.Expression]) -> exp.Expression:
    while len(terms) > 1:
        pairs = [kind(this=terms[i], expression=terms[i + 1]) for i in range(0, len(terms) - 1, 2)]
        terms = pairs + ([terms[-1]] if len(terms) % 2 else [])
    return terms[0]


def _check_first_word(text: str) -> None:
    """An allowlist of how a query may begin: SELECT, WITH, VALUES, FROM, TABLE, PIVOT,
    UNPIVOT or '('.
    Every other statement (DDL, DML, ATTACH, PRAGMA, CALL, ...) is refused by name here,
    before any parser sees it."""
    first = _FIRST_WORD.match(text)
    word = first.group(1) if first else None
    if word is None:
        if not text.strip(" \t\r\n;"):
            raise SqlSyntaxError("The SQL text holds no statement.")
        # Only comments, or something that is no word: let the parser say what is wrong.
        return
    upper = word.upper()
    if word == "(" or upper in STATEMENT_WORDS:
        return
    assert first is not None
    position = position_at(text, first.start(1), first.end(1))
    if upper in _SQL_KEYWORDS or upper in _ENGINE_STATEMENT_WORDS:
        raise UnsupportedSqlError(
            f"{upper} statements are not allowed: dsgrid-sql runs read-only queries.",
            hint="Use SELECT (or WITH ... SELECT); SHOW, DESCRIBE, EXPLAIN, USE, SET and "
            "COPY (query) TO are also available.",
            position=position,
        )
    close = did_you_mean(upper, list(STATEMENT_WORDS))
    raise _syntax_error_at(position, f"unknown statement '{word}'", suggestion=close)


def _missing_operand(text: str, tokens: list[Any]) -> SqlSyntaxError:
    """The syntax error for an operator the parser found no operand for (see parse_query),
    at the first arrow in the text."""
    arrow = next((t for t in tokens if t.text in ("->", "->>")), None)
    if arrow is None:  # another failure of the parser's: no place to point at
        return SqlSyntaxError("Syntax error: the statement could not be parsed.")
    position = position_at(text, arrow.start, arrow.end + 1)
    return _syntax_error_at(position, f"'{arrow.text}' needs an expression on each side")


def _syntax_error(text: str, error: dict[str, Any]) -> SqlSyntaxError:
    line, col = error.get("line") or 1, error.get("col") or 1
    near = (error.get("highlight") or "").strip()
    description = str(error.get("description") or "")
    expected = re.match(r"Expecting (.+)", description)
    if expected:
        token = expected.group(1).strip()
        reason = f"expected '{token}'" if len(token) <= 2 else f"expected {token}"
    elif near:
        reason = f"unexpected '{near}'"
    else:
        reason = "the statement is incomplete"
    # col is the end column of the highlighted token; point the caret at its start.
    lines = text.split("\n")
    line_start = sum(len(x) + 1 for x in lines[: line - 1])
    start = line_start + max(0, col - len(near))
    return _syntax_error_at(position_at(text, start, start + len(near)), reason)


def _syntax_error_at(position: Position, reason: str, **details: Any) -> SqlSyntaxError:
    """'Syntax error at line L, col C: <reason>.', every syntax error's one form."""
    return SqlSyntaxError(
        f"Syntax error at line {position.line}, col {position.col}: {reason}.",
        position=position,
        **details,
    )


def parameter_count(text: str, dialect: str) -> int:
    """How many values a query's placeholders take: one per ``?``, and ``$n`` counts up to
    its highest ``n``; named placeholders count once per name."""
    statement = parse_query(text, dialect)
    positional, numbered, named = 0, 0, set()
    for node in statement.walk():
        if isinstance(node, exp.Placeholder | exp.Parameter):
            name = node.name
            if name in ("", "?"):
                positional += 1
            elif name.isdigit():
                numbered = max(numbered, int(name))
            else:
                named.add(name)
    return positional + numbered + len(named)
