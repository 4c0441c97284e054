"""Turning results and errors into text for the REPL (the printing is in :mod:`.printer`).

Tables reuse :mod:`dsgrid_sql.render`, the CLI's renderer, with the REPL's habits on top:
thousands separators, a visible NULL, a footer with the row count and time, and a switch to
one-column-per-line records when a table is wider than the terminal.
"""

from __future__ import annotations

import pyarrow as pa

from dsgrid_sql.errors import DsgridSqlError
from dsgrid_sql.render import format_rows, format_vertical

FORMATS = ("table", "vertical", "csv", "json", "markdown")

RED, BOLD, DIM, RESET = "\x1b[31m", "\x1b[1m", "\x1b[2m", "\x1b[0m"


def footer(rows: int, elapsed_s: float | None, *, truncated: bool = False) -> str:
    """``(3 rows, 0.042 s)``; a cut result says how to get the rest.

    Example:
        >>> footer(1234, 0.5)
        '(1,234 rows, 0.500 s)'
        >>> footer(10, None, truncated=True)
        '(first 10 rows shown: add LIMIT, or \\\\export the whole result)'
    """
    if truncated:
        text = f"first {rows:,} rows shown: add LIMIT, or \\export the whole result"
    else:
        text = f"{rows:,} row{'s' if rows != 1 else ''}"
    if elapsed_s is not None:
        text += f", {elapsed_s:.3f} s"
    return f"({text})"


def render_table(
    table: pa.Table,
    fmt: str,
    *,
    width: int | None = None,
    null: str = "NULL",
    auto_vertical: bool = True,
    elapsed_s: float | None = None,
    truncated: bool = False,
    title: str | None = None,
) -> str:
    """A result in one of :data:`FORMATS`. ``width`` is the terminal's; a table wider than
    it prints as vertical records when ``auto_vertical``."""
    if fmt in ("csv", "json", "markdown"):
        return format_rows(table, fmt)
    note = footer(table.num_rows, elapsed_s, truncated=truncated)
    if fmt == "table":
        text = format_rows(
            table, fmt, title=title, thousands=True, null=null, footer=note, max_width=width
        )
        if not auto_vertical or width is None or _widest_line(text) <= width:
            return text
    headers = table.column_names
    rows = [[r[h] for h in headers] for r in table.to_pylist()]
    vertical = format_vertical(headers, rows, thousands=True, null=null, footer=note)
    return f"{title}\n{vertical}" if title else vertical


def _widest_line(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def format_error(error: DsgridSqlError, sql: str | None = None, *, color: bool = False) -> str:
    """The sentence, the SQL line with a caret under the position, and the hint.

    Example:
        >>> from dsgrid_sql.errors import Position
        >>> err = DsgridSqlError("Unknown column 'geogrphy'.", position=Position(1, 8, 7, 15),
        ...                      hint="\\\\d data lists columns.")
        >>> print(format_error(err, "SELECT geogrphy FROM data"))
        Error: Unknown column 'geogrphy'.
          SELECT geogrphy FROM data
                 ^^^^^^^^
        Hint: \\d data lists columns.
    """
    red, bold, dim, reset = (RED, BOLD, DIM, RESET) if color else ("", "", "", "")
    lines = [f"{red}{bold}Error:{reset}{red} {error.message}{reset}"]
    position = error.position
    if sql and position is not None:
        sql_lines = sql.split("\n")
        if 1 <= position.line <= len(sql_lines):
            # Tabs become one space so the caret lines up under the same character.
            line = sql_lines[position.line - 1].expandtabs(1)
            column = min(max(0, position.col - 1), len(line))
            length = max(1, min(position.end - position.start, len(line) - column))
            # Positions from the binder end on the last character, the parser's after it:
            # finish a caret that stops inside a name.
            if line[column : column + 1] in ("'", '"'):
                close = line.find(line[column], column + 1)
                length = max(length, close - column + 1) if close > 0 else length
            while _in_word(line, column + length - 1) and _in_word(line, column + length):
                length += 1
            lines.append(f"  {line}")
            lines.append(f"  {' ' * column}{red}{'^' * length}{reset}")
    if error.hint:
        lines.append(f"{dim}Hint:{reset} {error.hint}")
    return "\n".join(lines)


def _in_word(line: str, index: int) -> bool:
    return 0 <= index < len(line) and (line[index].isalnum() or line[index] == "_")


def format_unexpected(error: BaseException) -> str:
    """A bug or an environment failure: one line, no traceback (DSGRID_SQL_DEBUG=1 shows it)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"Error: {type(error).__name__}{': ' + text if text else ''}"
