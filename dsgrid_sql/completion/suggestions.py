"""What fits at the cursor: the pure half of completion.

``suggest(text_before_cursor, text_after_cursor)`` reads the statement around the cursor and
says which *kinds* of things may come next — keywords, schemas, tables, columns of the tables
in scope, functions, record ids of a dimension column — and which word they would replace. It
knows nothing of a catalog; :mod:`.complete` maps each kind to the matching names. Keeping
the two apart lets both be tested alone (pgcli's split between ``suggest_type`` and its
matchers).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .commands import ArgKind, CommandSpec
from .lexer import Kind, Token, tokenize

# Words that start a statement of dsgrid-sql's surface (README "Statements").
STATEMENT_KEYWORDS = (
    "SELECT", "WITH", "SHOW", "DESCRIBE", "EXPLAIN", "USE", "SET", "COPY", "VALUES",
)  # fmt: skip
SHOW_KEYWORDS = ("PROJECTS", "SCHEMAS", "TABLES", "DIMENSIONS", "COLUMNS")
SETTINGS = ("dialect", "engine", "schema", "pushdown", "aggregate_early")
# Keywords offered inside a statement. Multi-word entries complete as a whole.
KEYWORDS = (
    "ALL", "AND", "AS", "ASC", "BETWEEN", "BY", "CASE", "CAST", "CROSS JOIN", "DESC",
    "DISTINCT", "ELSE", "END", "EXCEPT", "FALSE", "FILTER", "FROM", "FULL JOIN", "GROUP BY",
    "HAVING", "ILIKE", "IN", "INNER JOIN", "INTERSECT", "INTERVAL", "IS", "JOIN", "LEFT JOIN",
    "LIKE", "LIMIT", "NOT", "NULL", "NULLS FIRST", "NULLS LAST", "OFFSET", "ON", "OR",
    "ORDER BY", "OVER", "PARTITION BY", "QUALIFY", "RIGHT JOIN", "SELECT", "THEN", "TRUE",
    "UNION", "UNION ALL", "USING", "WHEN", "WHERE", "WINDOW",
)  # fmt: skip
# After a table in FROM: what may follow it.
AFTER_TABLE_KEYWORDS = (
    "AS", "CROSS JOIN", "FULL JOIN", "GROUP BY", "INNER JOIN", "JOIN", "LEFT JOIN", "LIMIT",
    "ON", "ORDER BY", "RIGHT JOIN", "UNION ALL", "USING", "WHERE",
)  # fmt: skip
# Single words that are keywords, never identifiers, for deciding where the cursor is.
_RESERVED = {
    *STATEMENT_KEYWORDS, "ALL", "AND", "AS", "ASC", "BETWEEN", "BY", "CASE", "CROSS", "DESC",
    "DISTINCT", "ELSE", "END", "EXCEPT", "FILTER", "FROM", "FULL", "GROUP", "HAVING", "ILIKE",
    "IN", "INNER", "INTERSECT", "IS", "JOIN", "LEFT", "LIKE", "LIMIT", "NOT", "OFFSET", "ON",
    "OR", "ORDER", "OUTER", "OVER", "PARTITION", "QUALIFY", "RIGHT", "THEN", "UNION",
    "USING", "WHEN", "WHERE", "WINDOW", "TO",
}  # fmt: skip
_EXPRESSION_WORDS = {
    "SELECT", "WHERE", "AND", "OR", "NOT", "BY", "ON", "HAVING", "WHEN", "THEN", "ELSE",
    "CASE", "DISTINCT", "ALL", "BETWEEN", "QUALIFY", "IS", "FILTER",
}  # fmt: skip
_TABLE_WORDS = {"FROM", "JOIN", "TABLE", "DESCRIBE", "DESC", "INTO"}
_CLAUSE_WORDS = {
    "SELECT", "FROM", "JOIN", "WHERE", "GROUP", "ORDER", "HAVING", "ON", "USING", "LIMIT",
    "QUALIFY", "WINDOW", "UNION", "EXCEPT", "INTERSECT",
}  # fmt: skip
_COMPARISONS = {"=", "==", "<>", "!=", "<", ">", "<=", ">="}
_PATTERN_WORDS = {"LIKE", "ILIKE"}


# -- kinds of suggestion ----------------------------------------------------------------------


@dataclass(frozen=True)
class TableRef:
    """A table the statement names, as written: ``schema.name AS alias``."""

    schema: str | None
    name: str
    alias: str | None = None

    @property
    def reference(self) -> str:
        """How columns of this table are qualified in the statement."""
        return self.alias or self.name


@dataclass(frozen=True)
class Keyword:
    words: tuple[str, ...] = KEYWORDS


@dataclass(frozen=True)
class Schema:
    pass


@dataclass(frozen=True)
class Table:
    schema: str | None = None


@dataclass(frozen=True)
class Column:
    tables: tuple[TableRef, ...] = ()
    qualifier: str | None = None


@dataclass(frozen=True)
class Function:
    pass


@dataclass(frozen=True)
class Alias:
    tables: tuple[TableRef, ...] = ()


@dataclass(frozen=True)
class RecordValue:
    """Record ids (or names, for a ``*_name`` column) of the dimension behind ``column``.

    ``quoted``: the cursor is inside an open string literal, whose opening quote is part of
    the word replaced. ``bare``: an argument of ``\\records``, inserted without quotes.
    """

    column: str
    qualifier: str | None = None
    tables: tuple[TableRef, ...] = ()
    quoted: bool = False
    bare: bool = False


@dataclass(frozen=True)
class Dimension:
    """A dimension, by its column name in the current project or its records table."""


@dataclass(frozen=True)
class Choice:
    options: tuple[str, ...]


@dataclass(frozen=True)
class FilePath:
    pass


@dataclass(frozen=True)
class Command:
    """A backslash command of the front end: ``(name, help)`` of every name and alias."""

    names: tuple[tuple[str, str], ...] = ()


Suggestion = (
    Keyword | Schema | Table | Column | Function | Alias | RecordValue | Dimension | Choice
    | FilePath | Command
)  # fmt: skip


@dataclass(frozen=True)
class Context:
    """The word under the cursor (the text a completion replaces) and what may replace it."""

    word: str
    suggestions: tuple[Suggestion, ...]


# -- the function -----------------------------------------------------------------------------


def suggest(
    text_before_cursor: str,
    text_after_cursor: str = "",
    commands: Mapping[str, CommandSpec] | None = None,
) -> Context:
    """What may be typed at the cursor.

    ``commands``: the front end's backslash commands by name (the REPL's); without them a
    line starting with a backslash offers nothing.

    Example:
        >>> suggest("SELECT * FROM da").suggestions
        (Table(schema=None), Schema())
        >>> ctx = suggest("SELECT * FROM data WHERE us_states = 'Cal")
        >>> ctx.word, ctx.suggestions[0].column
        ("'Cal", 'us_states')
    """
    if text_before_cursor.lstrip().startswith("\\"):
        return _suggest_command(text_before_cursor.lstrip(), commands or {})
    statement_before = _current_statement(text_before_cursor)
    statement_after = _until_statement_end(text_after_cursor)
    before = tokenize(statement_before)
    scope = tables_in_scope(tokenize(statement_before + " " + statement_after))
    return _suggest_sql(before, statement_before, scope)


def _current_statement(text: str) -> str:
    start = 0
    for token in tokenize(text):
        if token.kind is Kind.OP and token.text == ";":
            start = token.end
    return text[start:]


def _until_statement_end(text: str) -> str:
    for token in tokenize(text):
        if token.kind is Kind.OP and token.text == ";":
            return text[: token.start]
    return text


def _suggest_sql(tokens: list[Token], text: str, scope: tuple[TableRef, ...]) -> Context:
    tokens = [t for t in tokens if t.kind is not Kind.COMMENT or not t.closed]
    if tokens and tokens[-1].kind is Kind.COMMENT:
        return Context("", ())  # inside an open /* comment
    if tokens and tokens[-1].kind is Kind.STRING and not tokens[-1].closed:
        return _suggest_in_string(tokens, scope)
    if tokens and tokens[-1].kind is Kind.QUOTED and not tokens[-1].closed:
        return Context("", ())  # typing a quoted name: nothing sensible to offer
    word = ""
    touching = tokens and tokens[-1].end == len(text)
    if touching and tokens[-1].kind in (Kind.WORD, Kind.NUMBER, Kind.QUOTED):
        word = tokens[-1].text
        tokens = tokens[:-1]
    elif touching and tokens[-1].kind is Kind.STRING:
        return Context("", ())  # just after a closed literal: nothing to complete
    qualifier = None
    if tokens and tokens[-1].kind is Kind.OP and tokens[-1].text == ".":
        parts = []
        while (
            len(tokens) >= 2
            and tokens[-1].text == "."
            and tokens[-2].kind in (Kind.WORD, Kind.QUOTED)
        ):
            parts.insert(0, tokens[-2].value)
            tokens = tokens[:-2]
        qualifier = ".".join(parts) or None
    return Context(word, _kinds_at(tokens, qualifier, scope))


def _kinds_at(
    tokens: list[Token], qualifier: str | None, scope: tuple[TableRef, ...]
) -> tuple[Suggestion, ...]:
    """The kinds that fit after ``tokens`` (the statement up to the word being typed)."""
    prev = tokens[-1] if tokens else None
    prev_word = prev.upper if prev is not None and prev.kind is Kind.WORD else None
    expression = (Column(scope), Function(), Alias(scope), Keyword())
    if prev is None:
        if qualifier:
            return (Table(qualifier),)
        return (Keyword(STATEMENT_KEYWORDS),)
    clause = _clause(tokens)
    if prev_word in _TABLE_WORDS or (prev.text == "," and clause in ("FROM", "JOIN")):
        if prev_word in ("DESCRIBE", "DESC") and len(tokens) > 1:
            return (Keyword(),)  # ORDER BY x DESC: a sort order, not DESCRIBE
        return (Table(qualifier),) if qualifier else (Table(), Schema())
    if qualifier:
        # a.<cursor>: columns of the table called a, or tables of the schema called a.
        return (Column(scope, qualifier),)
    first = tokens[0].upper
    if first == "USE" and len(tokens) == 1:
        return (Schema(),)
    if first == "SHOW":
        if len(tokens) == 1:
            return (Keyword(SHOW_KEYWORDS),)
        if prev_word in ("IN", "FROM") and tokens[1].upper == "TABLES":
            return (Schema(),)
        if prev_word in ("IN", "FROM", "FOR"):
            return (Table(), Schema())
        if len(tokens) == 2 and tokens[1].upper in ("TABLES", "COLUMNS"):
            return (Keyword(("IN", "FROM")),)
        if len(tokens) == 2 and tokens[1].upper == "DIMENSIONS":
            return (Keyword(("FOR",)),)
        return ()
    if first == "SET" and len(tokens) == 1:
        return (Choice(SETTINGS),)
    lhs = _compared_column(tokens)
    if lhs is not None:
        column, column_qualifier = lhs
        return (RecordValue(column, column_qualifier, scope), *expression)
    if prev_word == "AS":
        return ()  # naming an alias
    if clause in ("FROM", "JOIN") and _is_value_end(prev):
        return (Keyword(AFTER_TABLE_KEYWORDS),)
    if _is_value_end(prev):
        return (Keyword(),)
    return expression


def _is_value_end(token: Token) -> bool:
    """Whether ``token`` ends an expression or a table name (so a keyword comes next)."""
    if token.kind in (Kind.NUMBER, Kind.STRING, Kind.QUOTED):
        return True
    if token.kind is Kind.WORD:
        return token.upper not in _RESERVED or token.upper == "END"
    # "SELECT *" ends a select item. In "a * |" a column would fit better, but telling the
    # two apart needs the token before; keywords after a star are the common case.
    return token.kind is Kind.OP and token.text in (")", "*")


def _clause(tokens: list[Token]) -> str | None:
    """The clause the cursor is in: the last clause word at the cursor's nesting level."""
    depth = 0
    for token in reversed(tokens):
        if token.kind is Kind.OP and token.text == ")":
            depth += 1
        elif token.kind is Kind.OP and token.text == "(":
            if depth == 0:
                return "("
            depth -= 1
        elif depth == 0 and token.kind is Kind.WORD and token.upper in _CLAUSE_WORDS:
            return token.upper
    return None


def _identifier_before(tokens: list[Token], end: int) -> tuple[str, str | None] | None:
    """The (column, qualifier) written just before index ``end`` of ``tokens``."""
    index = end - 1
    if index < 0 or tokens[index].kind not in (Kind.WORD, Kind.QUOTED):
        return None
    if tokens[index].kind is Kind.WORD and tokens[index].upper in _RESERVED:
        return None
    column = tokens[index].value
    parts = []
    while (
        index >= 2
        and tokens[index - 1].text == "."
        and tokens[index - 2].kind
        in (
            Kind.WORD,
            Kind.QUOTED,
        )
    ):
        parts.insert(0, tokens[index - 2].value)
        index -= 2
    return column, ".".join(parts) or None


def _compared_column(tokens: list[Token]) -> tuple[str, str | None] | None:
    """The column a value at the cursor is compared with: ``col = |``, ``col LIKE |``,
    ``col IN (|``, ``col NOT IN ('a', |``; ``None`` elsewhere."""
    prev = tokens[-1]
    if (prev.kind is Kind.OP and prev.text in _COMPARISONS) or (
        prev.kind is Kind.WORD and prev.upper in _PATTERN_WORDS
    ):
        end = len(tokens) - 1
        if prev.kind is Kind.WORD and end >= 1 and tokens[end - 1].upper == "NOT":
            end -= 1
        return _identifier_before(tokens, end)
    if prev.kind is Kind.OP and prev.text in ("(", ","):
        # Walk back over the list to its opening parenthesis: only values and commas allowed.
        index = len(tokens) - 1
        while index >= 0 and not (tokens[index].kind is Kind.OP and tokens[index].text == "("):
            if tokens[index].kind not in (Kind.STRING, Kind.NUMBER) and tokens[index].text != ",":
                return None
            index -= 1
        if index < 1 or tokens[index - 1].upper != "IN":
            return None
        end = index - 1
        if end >= 1 and tokens[end - 1].upper == "NOT":
            end -= 1
        return _identifier_before(tokens, end)
    return None


def _suggest_in_string(tokens: list[Token], scope: tuple[TableRef, ...]) -> Context:
    literal = tokens[-1]
    lhs = _compared_column(tokens[:-1]) if len(tokens) > 1 else None
    if lhs is None:
        return Context(literal.text, ())
    column, qualifier = lhs
    return Context(literal.text, (RecordValue(column, qualifier, scope, quoted=True),))


# -- tables a statement names -----------------------------------------------------------------


def tables_in_scope(tokens: list[Token]) -> tuple[TableRef, ...]:
    """Every table named after FROM or JOIN (or a comma in a FROM list), with its alias.

    Example:
        >>> [t.reference for t in tables_in_scope(tokenize("SELECT FROM s.data d JOIN x AS y"))]
        ['d', 'y']
    """
    refs: list[TableRef] = []
    i = 0
    in_from = False
    while i < len(tokens):
        token = tokens[i]
        upper = token.upper if token.kind is Kind.WORD else ""
        if upper in ("FROM", "JOIN") or (in_from and token.text == ","):
            in_from = True
            ref, i = _read_table(tokens, i + 1)
            if ref is not None:
                refs.append(ref)
            continue
        if upper in _CLAUSE_WORDS or upper in ("ON", "USING") or token.text in ("(", ")"):
            in_from = False
        i += 1
    return tuple(dict.fromkeys(refs))


def _read_table(tokens: list[Token], i: int) -> tuple[TableRef | None, int]:
    parts: list[str] = []
    while i < len(tokens) and tokens[i].kind in (Kind.WORD, Kind.QUOTED):
        if tokens[i].kind is Kind.WORD and tokens[i].upper in _RESERVED:
            break
        parts.append(tokens[i].value)
        if i + 1 < len(tokens) and tokens[i + 1].text == ".":
            i += 2
            continue
        i += 1
        break
    if not parts:
        return None, i
    alias = None
    if i < len(tokens) and tokens[i].upper == "AS":
        i += 1
    if (
        i < len(tokens)
        and tokens[i].kind in (Kind.WORD, Kind.QUOTED)
        and not (tokens[i].kind is Kind.WORD and tokens[i].upper in _RESERVED)
    ):
        alias = tokens[i].value
        i += 1
    schema = ".".join(parts[:-1]) or None
    return TableRef(schema, parts[-1], alias), i


# -- backslash commands -----------------------------------------------------------------------


def _suggest_command(text: str, commands: Mapping[str, CommandSpec]) -> Context:
    if not commands:
        return Context("", ())
    name, space, rest = text.partition(" ")
    if not space:
        names = tuple(
            (n, c.help)
            for c in {id(c): c for c in commands.values()}.values()
            for n in (c.name, *c.aliases)
        )
        return Context(name, (Command(names),))
    command = commands.get(name)
    if command is None:
        return Context("", ())
    arg_kinds = command.args
    # Which argument the cursor is in: count the words before it.
    words = rest.split()
    index = len(words) if rest.endswith((" ", "\t")) or not words else len(words) - 1
    word = "" if rest.endswith((" ", "\t")) or not words else words[-1]
    for position, kind in enumerate(arg_kinds):
        if kind is ArgKind.SQL:
            if index < position:
                break
            offset = _offset_of_word(rest, position)
            return suggest(rest[offset:], commands=commands)
        if position != index:
            continue
        if kind is ArgKind.TABLE:
            return Context(word, (Table(), Schema()))
        if kind is ArgKind.SCHEMA:
            return Context(word, (Schema(),))
        if kind is ArgKind.DIMENSION:
            return Context(word, (Dimension(),))
        if kind is ArgKind.RECORD:
            return Context(word, (RecordValue(words[position - 1], bare=True),))
        if kind is ArgKind.PATH:
            return Context(word, (FilePath(),))
        if kind is ArgKind.CHOICE:
            return Context(word, (Choice(command.choices),))
    return Context(word, ())


def _offset_of_word(text: str, position: int) -> int:
    """Offset in ``text`` where its ``position``-th whitespace-separated word starts."""
    offset = 0
    for _ in range(position):
        offset = len(text) - len(text[offset:].lstrip())
        while offset < len(text) and not text[offset].isspace():
            offset += 1
    return len(text) - len(text[offset:].lstrip())
