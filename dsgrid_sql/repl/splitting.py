"""Cutting what a user typed into statements, and knowing when a statement is finished.

SQL ends at a ``;`` outside strings, quoted names and comments; a backslash command ends at
the end of its line (psql's rule), so ``\\records us_states O'Brien`` cannot open a string that
swallows the next statement.
"""

from __future__ import annotations

from dataclasses import dataclass

from dsgrid_sql.completion.lexer import Kind, tokenize

QUIT_WORDS = ("quit", "exit", "\\q")


@dataclass(frozen=True)
class Piece:
    """One statement of a script: SQL without its ``;``, or a backslash command line."""

    text: str
    is_command: bool


def split_statements(text: str) -> list[Piece]:
    """Statements of ``text`` in order; empty and comment-only statements are dropped.

    Example:
        >>> split_statements("SELECT ';' AS x; \\\\dt\\nSELECT 2")
        [Piece(text="SELECT ';' AS x", is_command=False), Piece(text='\\\\dt', is_command=True), \
Piece(text='SELECT 2', is_command=False)]
    """
    pieces: list[Piece] = []
    position = 0
    while position < len(text):
        start = _skip_space_and_comments(text, position)
        if start >= len(text):
            break
        if text.startswith("\\", start):
            end = text.find("\n", start)
            end = len(text) if end < 0 else end
            line = text[start:end].strip().rstrip(";").strip()
            pieces.append(Piece(line, True))
            position = end + 1
            continue
        end = _statement_end(text, start)
        statement = text[start:end].strip()
        if statement:
            pieces.append(Piece(statement, False))
        position = end + 1
    return pieces


def _skip_space_and_comments(text: str, position: int) -> int:
    """Offset of the first character after ``position`` that is neither space nor comment
    (a comment before a backslash command must not hide it)."""
    while position < len(text):
        if text[position].isspace():
            position += 1
        elif text.startswith("--", position):
            end = text.find("\n", position)
            position = len(text) if end < 0 else end + 1
        elif text.startswith("/*", position):
            end = text.find("*/", position + 2)
            position = len(text) if end < 0 else end + 2
        else:
            break
    return position


def _statement_end(text: str, start: int) -> int:
    """Offset of the ``;`` ending the statement that begins at ``start`` (or the text end)."""
    for token in tokenize(text[start:]):
        if token.kind is Kind.OP and token.text == ";":
            return start + token.start
    return len(text)


def is_complete(text: str) -> bool:
    """Whether pressing Enter should run ``text`` rather than start a new line.

    Example:
        >>> is_complete("SELECT 1"), is_complete("SELECT ';"), is_complete("SELECT 1;")
        (False, False, True)
        >>> is_complete("\\\\dt"), is_complete("quit"), is_complete("")
        (True, True, True)
    """
    stripped = text.strip()
    if not stripped or stripped.startswith("\\") or stripped.lower() in QUIT_WORDS:
        return True
    tokens = [t for t in tokenize(text) if t.kind is not Kind.COMMENT or not t.closed]
    if not tokens:
        return True
    last = tokens[-1]
    return last.closed and last.kind is Kind.OP and last.text == ";"
