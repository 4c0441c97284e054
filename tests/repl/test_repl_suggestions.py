"""The pure half of completion (dsgrid_sql/completion): what kind of thing fits at the cursor
(no catalog), with the REPL's backslash commands."""

from __future__ import annotations

import pytest

from dsgrid_sql.completion import suggestions as s
from dsgrid_sql.completion.lexer import Kind, tokenize
from dsgrid_sql.completion.suggestions import suggest, tables_in_scope
from dsgrid_sql.repl.special import COMMANDS

CURSOR = "<|>"


def at(text: str) -> s.Context:
    before, _, after = text.partition(CURSOR)
    return suggest(before, after, COMMANDS)


def kinds(text: str) -> list[type]:
    return [type(k) for k in at(text).suggestions]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<|>", [s.Keyword]),
        ("SEL<|>", [s.Keyword]),
        ("SELECT * FROM <|>", [s.Table, s.Schema]),
        ("SELECT * FROM a, <|>", [s.Table, s.Schema]),
        ("SELECT * FROM data d LEFT JOIN <|>", [s.Table, s.Schema]),
        ("SELECT * FROM data <|>", [s.Keyword]),
        ("SELECT <|> FROM data", [s.Column, s.Function, s.Alias, s.Keyword]),
        ("SELECT a, <|>", [s.Column, s.Function, s.Alias, s.Keyword]),
        ("SELECT geography <|>", [s.Keyword]),
        ("SELECT SUM(<|>", [s.Column, s.Function, s.Alias, s.Keyword]),
        ("SELECT x AS <|>", []),
        (
            "SELECT * FROM data WHERE geography = <|>",
            [s.RecordValue, s.Column, s.Function, s.Alias, s.Keyword],
        ),
        ("SELECT * FROM data WHERE geography = 'x<|>", [s.RecordValue]),
        ("SELECT * FROM data WHERE geography = 'x' <|>", [s.Keyword]),
        ("SELECT 'abc<|>", []),
        ("USE <|>", [s.Schema]),
        ("SHOW <|>", [s.Keyword]),
        ("SHOW TABLES IN <|>", [s.Schema]),
        ("DESCRIBE <|>", [s.Table, s.Schema]),
        ("SELECT * FROM t ORDER BY x DESC <|>", [s.Keyword]),
        ("SET <|>", [s.Choice]),
        ("\\rec<|>", [s.Command]),
        ("\\records <|>", [s.Dimension]),
        ("\\records us_states C<|>", [s.RecordValue]),
        ("\\format <|>", [s.Choice]),
        ("\\i que<|>", [s.FilePath]),
        ("/* open comment <|>", []),
    ],
)
def test_kinds(text: str, expected: list[type]) -> None:
    assert kinds(text) == expected


def test_string_context_names_the_column_and_replaces_from_the_quote() -> None:
    context = at("SELECT * FROM data d WHERE d.us_states = 'Cal<|>")
    assert context.word == "'Cal"
    (value,) = context.suggestions
    assert isinstance(value, s.RecordValue)
    assert (value.column, value.qualifier, value.quoted) == ("us_states", "d", True)


def test_in_list_after_earlier_values() -> None:
    context = at("SELECT * FROM data WHERE us_states NOT IN ('CA', 'TX', '<|>')")
    value = context.suggestions[0]
    assert isinstance(value, s.RecordValue) and value.column == "us_states"


def test_quoted_column_name_is_unquoted() -> None:
    value = at('SELECT * FROM data WHERE "US States" = \'C<|>').suggestions[0]
    assert isinstance(value, s.RecordValue) and value.column == "US States"


def test_qualifier_before_dot() -> None:
    context = at("SELECT d.geo<|> FROM data d")
    assert context.word == "geo"
    (column,) = context.suggestions
    assert isinstance(column, s.Column) and column.qualifier == "d"
    assert [t.reference for t in column.tables] == ["d"]


def test_schema_qualifier_in_from() -> None:
    assert at("SELECT * FROM test_efs_dimensions.us<|>").suggestions == (
        s.Table("test_efs_dimensions"),
    )


def test_only_the_statement_at_the_cursor_counts() -> None:
    context = at("SELECT * FROM a x; SELECT <|> FROM b y")
    column = context.suggestions[0]
    assert isinstance(column, s.Column)
    assert [t.name for t in column.tables] == ["b"]


def test_command_argument_sql_is_completed_as_sql() -> None:
    context = at("\\export out.parquet SELECT * FROM data WHERE us_states = 'C<|>")
    assert context.word == "'C"
    assert isinstance(context.suggestions[0], s.RecordValue)


def test_tables_in_scope_reads_aliases_and_schemas() -> None:
    tokens = tokenize("SELECT * FROM p.data AS d, t JOIN p_dimensions.us_states s ON d.x = s.id")
    refs = tables_in_scope(tokens)
    assert [(r.schema, r.name, r.alias) for r in refs] == [
        ("p", "data", "d"),
        (None, "t", None),
        ("p_dimensions", "us_states", "s"),
    ]


def test_lexer_never_fails_on_half_typed_text() -> None:
    tokens = tokenize('SELECT "US St')
    assert tokens[-1].kind is Kind.QUOTED and not tokens[-1].closed
    assert tokens[-1].value == "US St"
    assert tokenize("x = 'it''s'")[-1].value == "it's"
