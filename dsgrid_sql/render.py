"""Text renderings of tabular output for the CLI and the REPL: aligned tables, one-column-
per-line records, Markdown and JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _cell(value: Any, thousands: bool = False, null: str = "") -> str:
    if value is None:
        return null
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        # format(x, ",") keeps repr's shortest round-trip digits and adds separators.
        return format(value, ",") if thousands else repr(value)
    if thousands and isinstance(value, int):
        return f"{value:,}"
    # A newline inside a cell would break the grid; show it as the escape it is.
    return str(value).replace("\n", "\\n")


def row_count(rows: int) -> str:
    """The footer under a table: ``(1 row)``, ``(1,234 rows)``."""
    return f"({rows:,} row{'s' if rows != 1 else ''})"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def format_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    title: str | None = None,
    *,
    thousands: bool = False,
    null: str = "",
    footer: str | None = None,
    max_width: int | None = None,
) -> str:
    """An aligned plain-text table; numbers right-aligned, text left-aligned.

    ``thousands`` groups digits (1,234,567.5); ``footer`` replaces the "(N rows)" line;
    ``max_width`` cuts long text columns (with …) so that lines fit, when that is possible
    without cutting any of them below :data:`MIN_CUT_WIDTH`.
    """
    cells = [[_cell(v, thousands, null) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, text in enumerate(row):
            widths[i] = max(widths[i], len(text))
    numeric = _numeric_columns(len(headers), rows)
    if max_width is not None:
        widths = _fit(widths, numeric, max_width)
        cells = [[_cut(text, widths[i]) for i, text in enumerate(row)] for row in cells]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(widths[i]) if numeric[i] else v.ljust(widths[i]) for i, v in enumerate(values)
        ]
        return "  ".join(parts).rstrip()

    out = []
    if title:
        out.append(title)
    out.append(line([_cut(h, widths[i]) for i, h in enumerate(headers)]))
    out.append("  ".join("-" * w for w in widths))
    out += [line(row) for row in cells]
    out.append(footer if footer is not None else row_count(len(rows)))
    return "\n".join(out)


MIN_CUT_WIDTH = 16


def _numeric_columns(count: int, rows: Sequence[Sequence[Any]]) -> list[bool]:
    """Columns whose values are all numbers (nulls aside, and at least one number)."""
    numeric = []
    for i in range(count):
        values = [r[i] for r in rows if r[i] is not None]
        numeric.append(bool(values) and all(_is_number(v) for v in values))
    return numeric


def _fit(widths: list[int], numeric: list[bool], max_width: int) -> list[int]:
    """Narrow the widest text columns until the table fits, or give up unchanged."""
    total = sum(widths) + 2 * (len(widths) - 1)
    excess = total - max_width
    if excess <= 0:
        return widths
    narrowed = list(widths)
    while excess > 0:
        candidates = [i for i, w in enumerate(narrowed) if not numeric[i] and w > MIN_CUT_WIDTH]
        if not candidates:
            return widths
        widest = max(candidates, key=lambda i: narrowed[i])
        others = [narrowed[i] for i in candidates if i != widest]
        target = max(MIN_CUT_WIDTH, max(others, default=0), narrowed[widest] - excess)
        if target >= narrowed[widest]:
            target = narrowed[widest] - 1
        excess -= narrowed[widest] - target
        narrowed[widest] = target
    return narrowed


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def format_vertical(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    thousands: bool = False,
    null: str = "",
    footer: str | None = None,
) -> str:
    """One block per row, one line per column (psql's expanded display), for wide results."""
    width = max((len(h) for h in headers), default=0)
    out = []
    for number, row in enumerate(rows, 1):
        out.append(f"-[ RECORD {number} ]".ljust(width + 3, "-"))
        out += [
            f"{h.ljust(width)} | {_cell(v, thousands, null)}".rstrip()
            for h, v in zip(headers, row, strict=True)
        ]
    out.append(footer if footer is not None else row_count(len(rows)))
    return "\n".join(out)


def format_markdown(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table; numbers right-aligned."""

    def escape(text: str) -> str:
        return text.replace("|", "\\|")

    numeric = _numeric_columns(len(headers), rows)
    lines = ["| " + " | ".join(escape(h) for h in headers) + " |"]
    lines.append("|" + "|".join("---:" if n else "---" for n in numeric) + "|")
    lines += ["| " + " | ".join(escape(_cell(v)) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def format_json(data: Any) -> str:
    return json.dumps(data, indent=2, default=str)


def _records(table: Any) -> list[dict[str, Any]]:
    """``table.to_pylist()``. pyarrow's own conversion of a timestamp with a time zone imports
    pandas (a quarter of a second, for a command that never uses it), so those are read as
    UTC wall clocks and given their zone here."""
    import pyarrow as pa  # loaded already (table is Arrow); not at module level: --help

    zones = {}
    for field in table.schema:
        if pa.types.is_timestamp(field.type) and field.type.tz and field.type.unit != "ns":
            zone = _zone(field.type.tz)
            if zone is None:
                return list(table.to_pylist())
            zones[field.name] = zone
    if not zones or table.num_columns == 0:
        return list(table.to_pylist())
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        zone = zones.get(field.name)
        if zone is None:
            columns.append(column.to_pylist())
            continue
        utc = column.cast(pa.timestamp(field.type.unit)).to_pylist()
        columns.append(
            [None if v is None else v.replace(tzinfo=UTC).astimezone(zone) for v in utc]
        )
    return [dict(zip(table.column_names, row, strict=True)) for row in zip(*columns, strict=True)]


def _zone(name: str) -> tzinfo | None:
    if name.upper() in ("UTC", "Z", "+00:00", "ETC/UTC"):
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        return None  # a fixed offset such as +05:30: pyarrow reads it


def format_rows(table: Any, fmt: str, **table_options: Any) -> str:
    """An Arrow table as csv, json, markdown or an aligned table (``table_options`` go to
    :func:`format_table`). The one place the CLI and the REPL turn results into text."""
    if fmt == "csv":
        import io

        import pyarrow.csv as pacsv

        buffer = io.BytesIO()
        pacsv.write_csv(table, buffer)
        # Without its last line end only (printing adds one): a trailing row of NULLs in a
        # one-column result is an empty line, and stripping every line end dropped it.
        return buffer.getvalue().decode().removesuffix("\n")
    records = _records(table)
    if fmt == "json":
        return format_json(records)
    headers = table.column_names
    rows = [[r[h] for h in headers] for r in records]
    if fmt == "markdown":
        return format_markdown(headers, rows)
    return format_table(headers, rows, **table_options)
