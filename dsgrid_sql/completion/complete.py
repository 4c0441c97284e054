"""Completion: each kind of suggestion (from :mod:`.suggestions`) mapped to its matcher.

``complete()`` is plain Python over a :class:`~.index.CatalogIndex`, testable without a
terminal; the REPL adapts it to prompt-toolkit, the web console serves it over HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from dsgrid_sql.catalog.tables import DATA_TABLE
from dsgrid_sql.rewrite.allowlist import KNOWN_FUNCTION_NAMES

from . import suggestions as s
from .commands import CommandSpec
from .index import CatalogIndex, ColumnEntry, RecordList, TableEntry
from .matching import best_matches

MAX_RECORDS = 500  # a menu longer than this helps nobody; typing narrows it
_PLAIN_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*\Z")


@dataclass(frozen=True)
class Match:
    """One completion: ``text`` replaces the last ``replace`` characters before the cursor."""

    text: str
    replace: int
    display: str
    meta: str = ""


def complete(
    text_before_cursor: str,
    index: CatalogIndex | None,
    current_schema: str | None,
    text_after_cursor: str = "",
    commands: Mapping[str, CommandSpec] | None = None,
) -> list[Match]:
    """Completions at the cursor, best first, without duplicates (``commands``: the front
    end's backslash commands, see :func:`~.suggestions.suggest`)."""
    context = s.suggest(text_before_cursor, text_after_cursor, commands)
    return matches_for(context, index, current_schema)


def matches_for(
    context: s.Context, index: CatalogIndex | None, current_schema: str | None
) -> list[Match]:
    """The names that match each kind of suggestion in ``context``."""
    seen: set[str] = set()
    found: list[Match] = []
    for suggestion in context.suggestions:
        matcher = MATCHERS.get(type(suggestion))
        if matcher is None:
            continue
        for match in matcher(suggestion, context.word, index, current_schema):
            if match.text not in seen:
                seen.add(match.text)
                found.append(match)
    return found


# -- matchers, one per kind -------------------------------------------------------------------

Matcher = Callable[[object, str, CatalogIndex | None, str | None], Iterable[Match]]


def _quote_identifier(name: str) -> str:
    if _PLAIN_IDENTIFIER.match(name):
        return name
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _cased(word: str, typed: str) -> str:
    """Keywords and functions in the case the user types them (upper when unsure)."""
    return word.lower() if typed and typed == typed.lower() else word.upper()


def keyword_matches(
    suggestion: s.Keyword, word: str, index: CatalogIndex | None, schema: str | None
) -> Iterable[Match]:
    found = best_matches(word, (((k.lower(),), k) for k in suggestion.words))
    return [Match(_cased(k, word), len(word), k, "keyword") for k in found]


def function_matches(
    suggestion: s.Function, word: str, index: CatalogIndex | None, schema: str | None
) -> Iterable[Match]:
    if not word:
        return []  # two hundred functions on an empty word would bury the columns
    # Over a thousand names: only those containing the word, never fuzzy look-alikes.
    lowered = word.lower()
    found = best_matches(word, (((f,), f) for f in KNOWN_FUNCTION_NAMES if lowered in f))
    return [Match(_cased(f, word) + "(", len(word), f + "()", "function") for f in found]


def schema_matches(
    suggestion: s.Schema, word: str, index: CatalogIndex | None, schema: str | None
) -> Iterable[Match]:
    if index is None:
        return []
    found = best_matches(word, (((n.lower(),), n) for n in index.schemas))
    return [Match(_quote_identifier(n), len(word), n, "schema") for n in found]


def table_matches(
    suggestion: s.Table, word: str, index: CatalogIndex | None, schema: str | None
) -> Iterable[Match]:
    if index is None:
        return []
    if suggestion.schema is not None:
        tables = index.tables_of(suggestion.schema) or index.tables_of(
            next((k for k in index.schemas if k.lower() == suggestion.schema.lower()), "")
        )
        found = best_matches(word, (((t.name.lower(),), t) for t in tables))
        return [Match(_quote_identifier(t.name), len(word), t.name, t.meta) for t in found]
    # Tables of the current schema by bare name; other schemas' tables, qualified, only when
    # none of the current schema's match (so "FROM dat<Tab>" completes "data" at once).
    local = index.tables_of(schema) if schema else []
    found = best_matches(word, (((t.name.lower(),), (t, False)) for t in local))
    if not found and (word or not local):
        others = [t for name in index.schemas if name != schema for t in index.tables_of(name)]
        keys = (((t.name.lower(), f"{t.schema}.{t.name}".lower()), (t, True)) for t in others)
        found = best_matches(word, keys)
    matches = []
    for table, qualified in found:
        name = _quote_identifier(table.name)
        text = f"{_quote_identifier(table.schema)}.{name}" if qualified else name
        matches.append(Match(text, len(word), text, table.meta))
    return matches


def _tables_for(
    refs: tuple[s.TableRef, ...], qualifier: str | None, index: CatalogIndex, schema: str | None
) -> list[TableEntry]:
    """The tables whose columns fit: those in scope (or the one ``qualifier`` names); with
    nothing in scope yet, the current project's ``data``."""
    if qualifier is not None:
        lowered = qualifier.lower()
        named = [r for r in refs if r.reference.lower() == lowered]
        found = [t for r in named if (t := index.resolve(r, schema)) is not None]
        if not found and not named:
            table = index.resolve_name(qualifier, schema)
            found = [table] if table is not None else []
        return found
    found = [t for r in refs if (t := index.resolve(r, schema)) is not None]
    if not found and not refs and schema is not None:
        data = index.resolve(s.TableRef(None, DATA_TABLE), schema)
        found = [data] if data is not None else []
    return found


def column_matches(
    suggestion: s.Column, word: str, index: CatalogIndex | None, schema: str | None
) -> Iterable[Match]:
    if index is None:
        return []
    tables = _tables_for(suggestion.tables, suggestion.qualifier, index, schema)
    if not tables and suggestion.qualifier is not None:
        # schema.<cursor> outside FROM: the tables of that schema.
        return table_matches(s.Table(suggestion.qualifier), word, index, schema)
    columns: dict[str, ColumnEntry] = {}
    for table in tables:
        for column in table.columns:
            columns.setdefault(column.name, column)
    candidates = (((c.name.lower(), *(a.lower() for a in c.aliases)), c) for c in columns.values())
    found = best_matches(word, candidates)
    return [Match(_quote_identifier(c.name), len(word), c.name, c.meta) for c in found]


def alias_matches(
    suggestion: s.Alias, word: str, index: CatalogIndex | None, schema: str | None
) -> Iterable[Match]:
    refs = [r for r in suggestion.tables if r.alias]
    found = best_matches(word, (((r.reference.lower(),), r) for r in refs))
    return [Match(_quote_identifier(r.reference), len(word), r.reference, r.name) for r in found]


def _record_lists(
    suggestion: s.RecordValue, index: CatalogIndex, schema: str | None
) -> tuple[list[RecordList], bool]:
    """The record lists behind the compared column, and whether it holds names."""
    if suggestion.bare:
        dimension = index.dimensions_of(schema).get(suggestion.column)
        if dimension is None:
            dimension = next(
                (
                    d
                    for d in index.dimensions_of(schema).values()
                    if d.name.lower() == suggestion.column.lower()
                ),
                None,
            )
        records = index.records.get(dimension.records) if dimension else None
        return ([records] if records else []), False
    for table in _tables_for(suggestion.tables, suggestion.qualifier, index, schema):
        column = table.find_column(suggestion.column)
        if column is not None and column.records:
            lists = [index.records[k] for k in column.records if k in index.records]
            return lists, column.by_name
    return [], False


def record_matches(
    suggestion: s.RecordValue, word: str, index: CatalogIndex | None, schema: str | None
) -> Iterable[Match]:
    if index is None:
        return []
    lists, by_name = _record_lists(suggestion, index, schema)
    typed = word[1:] if suggestion.quoted else word
    typed = typed.replace("''", "'")
    matches: list[Match] = []
    for records in lists:
        pairs = zip(records.ids_lower, records.names_lower, strict=True)
        candidates = (((i, n), k) for k, (i, n) in enumerate(pairs))
        for position in best_matches(typed, candidates)[:MAX_RECORDS]:
            record_id, name = records.ids[position], records.names[position]
            value, meta = (name, record_id) if by_name else (record_id, name)
            text = value if suggestion.bare else _quote_literal(value)
            matches.append(Match(text, len(word), text, meta))
    return matches


def dimension_matches(
    suggestion: s.Dimension, word: str, index: CatalogIndex | None, schema: str | None
) -> Iterable[Match]:
    if index is None:
        return []
    dims = index.dimensions_of(schema).values()
    found = best_matches(word, (((d.name.lower(),), d) for d in dims))
    return [Match(d.name, len(word), d.name, d.meta) for d in found]


def choice_matches(
    suggestion: s.Choice, word: str, index: CatalogIndex | None, schema: str | None
) -> Iterable[Match]:
    found = best_matches(word, (((o.lower(),), o) for o in suggestion.options))
    return [Match(o, len(word), o) for o in found]


def command_matches(
    suggestion: s.Command, word: str, index: CatalogIndex | None, schema: str | None
) -> Iterable[Match]:
    names = suggestion.names
    found = best_matches(
        word.lstrip("\\"), (((n.lstrip("\\").lower(),), (n, h)) for n, h in names)
    )
    return [Match(n, len(word), n, h) for n, h in found]


MATCHERS: dict[type, Matcher] = {
    s.Keyword: keyword_matches,
    s.Function: function_matches,
    s.Schema: schema_matches,
    s.Table: table_matches,
    s.Column: column_matches,
    s.Alias: alias_matches,
    s.RecordValue: record_matches,
    s.Dimension: dimension_matches,
    s.Choice: choice_matches,
    s.Command: command_matches,
}  # type: ignore[dict-item]
