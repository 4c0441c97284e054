"""Long chains of number ranges on one column (rewrite/ranges.py, issue 20): held as one call
while the rewrite works, written back as the chain they were, and answering what the chain
answers on both engines, NULLs included."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from dsgrid_sql.errors import UnknownFunctionError
from dsgrid_sql.rewrite import ranges
from dsgrid_sql.rewrite.parse import parse_query
from dsgrid_sql.session import Session

from .conftest import assert_same_rows, sorted_rows

BOUNDS = ["0 AND 0.5", "-3 AND -1.5", "2.5e1 AND 30", "1. AND .75"] + [
    f"{i} AND {i}.25" for i in range(4, 20)
]


def _chain(column: str, connector: str = " OR ", negated: bool = False) -> str:
    word = "NOT BETWEEN" if negated else "BETWEEN"
    return connector.join(f"{column} {word} {b}" for b in BOUNDS)


def _calls(tree: exp.Expression) -> list[exp.Expression]:
    return [n for n in tree.find_all(exp.Anonymous) if ranges.is_ranges(n)]


@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
def test_a_chain_is_one_call_written_back_as_the_chain(dialect: str) -> None:
    text = f"SELECT 1 AS x FROM t WHERE {_chain('t.value')}"
    tree = parse_query(text, dialect)
    (call,) = _calls(tree)
    assert call.expressions[0].sql() == "t.value"
    assert tree.find(exp.Between) is None and tree.find(exp.Or) is None
    written = sqlglot.parse_one(text, read=dialect).args["where"].this.sql(dialect, identify=True)
    assert tree.args["where"].this.sql(dialect, identify=True) == f"({written})"


def test_ranges_gather_per_column_where_the_first_stood_and_the_rest_stays() -> None:
    others = [
        "value BETWEEN 'a' AND 'b'",  # not numbers: checks and pushdown read these
        "value BETWEEN 1 AND ?",
        "metric BETWEEN 1 AND 2",  # one range of its column: left as it is
        "value BETWEEN SYMMETRIC 5 AND 1",
        "(value BETWEEN 7 AND 8)",
    ]
    text = f"SELECT 1 AS x FROM t WHERE {' OR '.join(others)} OR {_chain('value')} OR a = 1"
    where = parse_query(text, "duckdb").args["where"].this
    terms = []
    stack = [where]
    while stack:
        node = stack.pop()
        if type(node) is exp.Or:
            stack += [node.expression, node.this]
        else:
            terms.append(node)
    assert [t.sql() for t in terms[:5]] == [sqlglot.parse_one(o).sql() for o in others]
    assert ranges.is_ranges(terms[5]) and terms[6].sql() == "a = 1" and len(terms) == 7
    assert terms[5].expressions[1].this.split(";")[:4] == [
        "0:0.5",
        "-3:-1.5",
        "2.5e1:30",
        "1.:0.75",
    ]


def test_an_and_chain_of_not_between_is_not_the_chain_of_ranges() -> None:
    tree = parse_query(f"SELECT 1 AS x FROM t WHERE {_chain('v', ' AND ', True)}", "duckdb")
    negation = tree.args["where"].this
    assert type(negation) is exp.Not and ranges.is_ranges(negation.this)
    ors = sqlglot.parse_one(f"SELECT 1 FROM t WHERE {_chain('v')}").args["where"].this
    assert negation.sql("duckdb") == f"NOT ({ors.sql('duckdb')})"
    # BETWEEN in an AND chain, NOT BETWEEN in an OR chain: left as written.
    for where in (_chain("v", " AND "), _chain("v", " OR ", True)):
        assert not _calls(parse_query(f"SELECT 1 AS x FROM t WHERE {where}", "duckdb"))


def test_a_call_written_by_a_user_is_an_unknown_function(efs_duckdb: Session) -> None:
    for text in (
        "SELECT __dsgrid_ranges(value, 1) AS x FROM data",
        "SELECT __dsgrid_ranges(value, day) AS x FROM data",
    ):
        with pytest.raises(UnknownFunctionError, match="__dsgrid_ranges"):
            efs_duckdb.sql(text).to_arrow()


def _unchained(text: str) -> str:
    """The same SQL with each range in parentheses: a chain the parse leaves as written."""
    for b in BOUNDS:
        for term in (f"{c} {w} {b}" for c in ("value", "v") for w in ("NOT BETWEEN", "BETWEEN")):
            text = text.replace(term, f"({term})")
    return text


@pytest.mark.parametrize(
    "text",
    [
        f"SELECT metric, SUM(value) AS s, COUNT(*) AS n FROM data WHERE {_chain('value')} "
        "GROUP BY ALL",
        f"SELECT us_states, SUM(value) AS s FROM data WHERE {_chain('value', ' AND ', True)} "
        "GROUP BY ALL",
        f"SELECT metric, SUM(CASE WHEN {_chain('value')} THEN value ELSE 0 END) AS s "
        "FROM data GROUP BY ALL",
        # Three-valued: a NULL meets a chain as it meets each of its ranges.
        f"SELECT v, {_chain('v')} AS inside, NOT ({_chain('v')}) AS outside, "
        f"{_chain('v', ' AND ', True)} AS left_out "
        "FROM (VALUES (0.25), (NULL), (-2.0), (5.5), (4.1), (100.0)) AS t(v)",
    ],
    ids=["where", "not-between", "case", "nulls"],
)
def test_a_chain_answers_what_its_ranges_answer(efs_session: Session, text: str) -> None:
    assert _calls(efs_session.translate(text).ast)
    assert not _calls(efs_session.translate(_unchained(text)).ast)
    got = sorted_rows(efs_session.sql(text).to_arrow())
    expected = sorted_rows(efs_session.sql(_unchained(text)).to_arrow())
    assert got, text
    assert_same_rows(got, expected)
