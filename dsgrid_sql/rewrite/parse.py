"""Parse one SQL query in the session dialect into a sqlglot AST; turn sqlglot's errors into
one positioned sentence (never sqlglot's own text alone)."""

from __future__ import annotations

import re
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Tokenizer

from dsgrid_sql.errors import Position, SqlSyntaxError, UnsupportedSqlError
from dsgrid_sql.suggest import did_you_mean

DIALECTS = ("duckdb", "spark", "postgres", "trino", "ansi", "bigquery", "snowflake", "mysql")


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


STATEMENT_WORDS = ("SELECT", "WITH", "VALUES", "FROM", "TABLE")
# A first word that is no SQL keyword at all is a typo worth naming (SELEC, SLECT, ...).
_SQL_KEYWORDS = {k.split()[0] for k in Tokenizer.KEYWORDS} | set(STATEMENT_WORDS)


def parse_query(text: str, dialect: str) -> exp.Expression:
    read = check_dialect(dialect)
    first = re.match(r"\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*([A-Za-z_]+)", text, re.S)
    if first and first.group(1).upper() not in _SQL_KEYWORDS:
        word = first.group(1)
        close = did_you_mean(word.upper(), list(STATEMENT_WORDS))
        if close is not None:
            raise SqlSyntaxError(
                f"Syntax error at line 1, col {first.start(1) + 1}: unknown statement '{word}'.",
                suggestion=close,
                position=position_at(text, first.start(1), first.end(1)),
            )
    try:
        statements = [s for s in sqlglot.parse(text, read=read) if s is not None]
    except ParseError as exc:
        raise _syntax_error(text, exc.errors[0] if exc.errors else {}) from None
    except TokenError:
        raise SqlSyntaxError(
            "Syntax error: the SQL has an unterminated string, quoted name or comment."
        ) from None
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
    return statement


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
    position = position_at(text, start, start + len(near))
    where = f"line {position.line}, col {position.col}"
    return SqlSyntaxError(f"Syntax error at {where}: {reason}.", position=position)


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
