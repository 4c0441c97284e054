"""The statements beyond queries (DESIGN.md §3): recognized by their leading words before
any SQL parser sees them, because their grammar is ours, not an engine's."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dsgrid_sql.errors import SqlSyntaxError, UnsupportedSqlError


@dataclass(frozen=True)
class Query:
    text: str


@dataclass(frozen=True)
class ShowProjects:
    pass


@dataclass(frozen=True)
class ShowSchemas:
    pass


@dataclass(frozen=True)
class ShowTables:
    schema: str | None


@dataclass(frozen=True)
class ShowDimensions:
    table: str | None


@dataclass(frozen=True)
class ShowVersions:
    """Every version of a project, dataset, dimension or mapping (all when None)."""

    of: str | None


@dataclass(frozen=True)
class Describe:
    table: str


@dataclass(frozen=True)
class Explain:
    query: str


@dataclass(frozen=True)
class Use:
    schema: str


@dataclass(frozen=True)
class SetOption:
    name: str
    value: str


@dataclass(frozen=True)
class Copy:
    query: str
    path: str
    options: dict[str, str | list[str]]


Statement = (
    Query | ShowProjects | ShowSchemas | ShowTables | ShowDimensions | ShowVersions | Describe
    | Explain | Use | SetOption | Copy
)  # fmt: skip


def _unquote(name: str) -> str:
    name = name.strip()
    if name.startswith("`") and name.endswith("`"):
        return name[1:-1]
    return name


def classify(text: str) -> Statement:
    stripped = text.strip().rstrip(";").strip()
    upper = stripped.upper()
    word = upper.split(None, 1)[0] if upper else ""
    if word == "SHOW":
        return _show(stripped)
    if word in ("DESCRIBE", "DESC"):
        rest = stripped.split(None, 1)[1] if len(stripped.split(None, 1)) > 1 else ""
        if not rest:
            raise SqlSyntaxError("DESCRIBE needs a table name.")
        return Describe(_unquote(rest))
    if word == "EXPLAIN":
        rest = stripped.split(None, 1)[1] if len(stripped.split(None, 1)) > 1 else ""
        if not rest:
            raise SqlSyntaxError("EXPLAIN needs a query.")
        return Explain(rest)
    if word == "USE":
        rest = stripped.split(None, 1)[1] if len(stripped.split(None, 1)) > 1 else ""
        if not rest:
            raise SqlSyntaxError("USE needs a project (schema) name.")
        return Use(_unquote(rest).strip('"'))
    if word == "SET":
        match = re.fullmatch(r"SET\s+([\w.]+)\s*(?:=|\s+TO\s+|\s)\s*(.+)", stripped, re.I | re.S)
        if not match:
            raise SqlSyntaxError("SET takes a name and a value: SET dialect = 'spark'.")
        return SetOption(match.group(1).lower(), match.group(2).strip().strip("'\""))
    if word == "COPY":
        return _copy(stripped)
    return Query(text)


def _show(text: str) -> Statement:
    match = re.fullmatch(r"SHOW\s+(\w+)(?:\s+(\w+)\s+(.+))?", text, re.I | re.S)
    if not match:
        raise SqlSyntaxError(
            "SHOW takes PROJECTS, SCHEMAS, TABLES, DIMENSIONS, COLUMNS or VERSIONS."
        )
    what = match.group(1).upper()
    preposition = (match.group(2) or "").upper()
    target = _unquote(match.group(3)) if match.group(3) else None
    if what == "PROJECTS" and target is None:
        return ShowProjects()
    if what in ("SCHEMAS", "DATABASES") and target is None:
        return ShowSchemas()
    if what == "TABLES" and preposition in ("", "IN", "FROM"):
        return ShowTables(target.strip('"') if target else None)
    if what == "DIMENSIONS" and preposition in ("", "FOR", "IN", "FROM"):
        return ShowDimensions(target)
    if what == "COLUMNS" and preposition in ("IN", "FROM") and target:
        return Describe(target)
    if what == "VERSIONS" and preposition in ("", "OF", "FOR"):
        return ShowVersions(target.strip('"').strip("'") if target else None)
    raise SqlSyntaxError(
        f"Unknown SHOW statement: SHOW {what}.",
        hint="SHOW PROJECTS, SHOW SCHEMAS, SHOW TABLES [IN schema], SHOW DIMENSIONS [FOR "
        "table], SHOW COLUMNS FROM table, SHOW VERSIONS [OF project|dataset].",
    )


def _copy(text: str) -> Copy:
    """COPY (query) TO 'path' [(FORMAT parquet, PARTITION_BY (a, b), OVERWRITE true)]."""
    rest = text[4:].lstrip()
    if re.match(r"[^()\s]+(?:\s*\([^)]*\))?\s+FROM\b", rest, re.I):
        raise UnsupportedSqlError("COPY ... FROM is not allowed: dsgrid-sql never loads data.")
    if not rest.startswith("("):
        raise SqlSyntaxError(
            "COPY takes a query in parentheses: COPY (SELECT ...) TO 'file.parquet'."
        )
    depth = 0
    quote: str | None = None
    end = -1
    for index, char in enumerate(rest):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"`":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                end = index
                break
    if end < 0:
        raise SqlSyntaxError("COPY: the query's parentheses are not closed.")
    query = rest[1:end]
    tail = rest[end + 1 :].strip()
    match = re.fullmatch(r"TO\s+'((?:[^']|'')+)'\s*(?:\((.*)\))?", tail, re.I | re.S)
    if not match:
        raise SqlSyntaxError("COPY needs TO 'path' after the query.")
    path = match.group(1).replace("''", "'")
    options: dict[str, str | list[str]] = {}
    for part in _split_options(match.group(2) or ""):
        key_value = re.fullmatch(r"(\w+)\s*(?:=\s*)?(.*)", part.strip(), re.S)
        if not key_value:
            raise SqlSyntaxError(f"COPY: cannot read the option '{part.strip()}'.")
        key, value = key_value.group(1).upper(), key_value.group(2).strip()
        if value.startswith("(") and value.endswith(")"):
            options[key] = [v.strip().strip("'\"") for v in value[1:-1].split(",") if v.strip()]
        else:
            options[key] = value.strip("'\"")
    return Copy(query, path, options)


def _split_options(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return parts
