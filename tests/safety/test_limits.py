"""The parser's guards: max SQL length and max nesting depth (DESIGN.md §8, issue 7).

Both are settings of ``connect()``/``Session`` and of ``serve`` with safe defaults; over either
is one clear ``DsgridSqlError`` raised before any parser or engine sees the text, and nesting
too deep for the parser is the same clear error even with the limit turned off.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlglot import exp

import dsgrid_sql
from dsgrid_sql.cli import main
from dsgrid_sql.errors import SqlLimitError, SqlTooDeepError, SqlTooLongError
from dsgrid_sql.flight_server import ServerConfig
from dsgrid_sql.rewrite.parse import DEFAULT_LIMITS, nesting_depth, parse_query
from dsgrid_sql.session import Session

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def session(efs_dir: Path) -> Iterator[Session]:
    with dsgrid_sql.connect(efs_dir, engine="duckdb") as session:
        yield session


def nested_parens(depth: int) -> str:
    return "SELECT " + "(" * depth + "1" + ")" * depth + " AS x"


def nested_subqueries(depth: int, table: str = "data") -> str:
    return "SELECT COUNT(*) AS n FROM " + "(SELECT * FROM " * depth + table + ")" * depth


def test_defaults_are_one_mebibyte_and_64_levels() -> None:
    assert (DEFAULT_LIMITS.max_length, DEFAULT_LIMITS.max_depth) == (1_048_576, 64)
    config = ServerConfig(registry="x")
    assert (config.max_sql_length, config.max_nesting_depth) == (1_048_576, 64)


def test_depth_counts_nesting_outside_strings_and_comments() -> None:
    assert nesting_depth("SELECT 1") == 0
    assert nesting_depth("SELECT ((1)) + (2)") == 2
    assert nesting_depth("SELECT CASE WHEN a THEN CASE WHEN b THEN 1 END END") == 2
    assert nesting_depth("SELECT NOT NOT NOT TRUE") == 3
    assert nesting_depth("SELECT '((((' AS \"((\" -- ((((\n /* (((( */ FROM t") == 0
    assert nesting_depth("SELECT '\\'((((' AS a", "spark") == 0
    assert nesting_depth("SELECT [[1]], {'a': (1)}") == 2


def test_the_default_depth_is_enough_for_real_queries(session: Session) -> None:
    assert session.sql(nested_parens(64)).to_arrow().column("x").to_pylist() == [1]
    rows = session.sql(nested_subqueries(30)).to_arrow()
    assert (
        rows.column("n").to_pylist()
        == session.sql(nested_subqueries(0)).to_arrow()["n"].to_pylist()
    )


@pytest.mark.parametrize(
    "text",
    [
        nested_parens(5_000),
        nested_subqueries(2_000),
        "SELECT " + "NOT " * 3_000 + "TRUE",
        "SELECT " + "CASE WHEN TRUE THEN " * 500 + "1" + " END" * 500,
        "SELECT " + "[" * 1_000 + "1" + "]" * 1_000,
        "EXPLAIN " + nested_parens(100),
        "COPY (" + nested_parens(100) + ") TO 'x.parquet'",
    ],
    ids=["parens", "subqueries", "not", "case", "brackets", "explain", "copy"],
)
def test_too_deep_is_a_clear_error(session: Session, text: str) -> None:
    with pytest.raises(SqlTooDeepError) as caught:
        session.sql(text).to_arrow()
    assert caught.value.code == "sql_too_deep"
    assert caught.value.message.startswith("The SQL nests")
    assert "limit is 64 levels" in caught.value.message


def test_too_long_is_a_clear_error(session: Session) -> None:
    text = "SELECT 1 AS x" + " " * DEFAULT_LIMITS.max_length
    with pytest.raises(SqlTooLongError, match="over the limit of 1,048,576") as caught:
        session.sql(text)
    assert caught.value.code == "sql_too_long"
    assert isinstance(caught.value, SqlLimitError)


def test_limits_are_settings_of_connect(efs_dir: Path) -> None:
    with dsgrid_sql.connect(efs_dir, max_sql_length=40, max_nesting_depth=3) as session:
        assert session.sql("SELECT (((1))) AS x").to_arrow().num_rows == 1
        with pytest.raises(SqlTooDeepError, match="limit is 3 levels"):
            session.sql("SELECT ((((1)))) AS x")
        with pytest.raises(SqlTooLongError):
            session.sql("SELECT 1 AS x, 2 AS y, 3 AS z, 4 AS w, 5 AS v")
        with pytest.raises(SqlTooDeepError):
            session.parameter_count("SELECT ((((?))))")
        with pytest.raises(SqlTooDeepError):
            session.result_schema("SELECT ((((1))))")
    # 0 turns a limit off; nesting the parser cannot follow is still the clear error.
    with dsgrid_sql.connect(efs_dir, max_sql_length=0, max_nesting_depth=0) as session:
        assert session.sql("SELECT 1 AS x" + " " * 1_100_000).to_arrow().num_rows == 1
        assert session.sql(nested_parens(100)).to_arrow().num_rows == 1
        with pytest.raises(SqlTooDeepError, match="the parser cannot follow it"):
            session.sql(nested_parens(5_000))


def test_serve_has_the_options() -> None:
    result = CliRunner().invoke(main, ["serve", "--help"])
    assert result.exit_code == 0, result.output
    assert "--max-sql-length" in result.output and "--max-nesting-depth" in result.output
    assert "1048576" in result.output


def test_readme_documents_the_limits() -> None:
    readme = (REPO / "README.md").read_text()
    for text in ("--max-sql-length", "--max-nesting-depth", "max_sql_length", "1,048,576"):
        assert text in readme


def _depth(tree: exp.Expression) -> int:
    deepest, stack = 0, [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in node.iter_expressions())
    return deepest


def test_long_and_or_chains_are_balanced_keeping_their_terms_in_order() -> None:
    """A left-deep chain of 3,000 ORs made binding take 10 s (every column walks up its
    ancestors); regrouped, the tree is log-deep and reads as the same text."""
    ors = " OR ".join(f"value > {i}" for i in range(3000))
    ands = " AND ".join(f"metric >= 'm{i}'" for i in range(100))
    text = f"SELECT 1 AS x FROM t WHERE ({ors}) AND {ands} AND value + 1 + 2 + 3 > 0"
    tree = parse_query(text, "duckdb")
    assert tree.sql() == text
    assert _depth(tree) < 40
    # Arithmetic is not regrouped: a floating-point sum's grouping can change its result.
    assert tree.find(exp.GT).this.sql() == "value + 1 + 2 + 3"
    assert isinstance(tree.find(exp.GT).this.this, exp.Add)


def test_long_chains_of_equalities_become_lists_per_column_and_kind() -> None:
    """How BI tools write a filter on many values: one list per column (as written) and kind
    of literal, where its first comparison stood; other terms keep their order."""
    terms = ["geography = 'g0'", "value = 1", "'g1' = geography", "value > 2", "value = 2.5"]
    terms += [f"geography = 'g{i}'" for i in range(2, 16)] + ["value = 'x'", "t.value = 3"]
    tree = parse_query(f"SELECT 1 AS x FROM t WHERE {' OR '.join(terms)}", "duckdb")
    ids = ", ".join(f"'g{i}'" for i in range(16))
    assert tree.args["where"].this.sql() == (
        f"geography IN ({ids}) OR value IN (1, 2.5) OR value > 2 OR value = 'x' OR t.value = 3"
    )
    # Short chains are left as written.
    assert parse_query("SELECT 1 FROM t WHERE a = 1 OR a = 2", "duckdb").find(exp.In) is None


def test_long_chains_of_inequalities_become_lists_left_out() -> None:
    """``c <> 1 AND c <> 2 AND …`` (a filter leaving many values out) as ``NOT c IN (…)``,
    per column and kind of literal; a NULL and other terms stay where they were."""
    terms = ["metric <> 'm0'", "value <> 1", "value <> NULL", "'m1' <> metric", "value > 2"]
    terms += [f"metric <> 'm{i}'" for i in range(2, 16)] + ["value <> 2.5", "value = 3"]
    tree = parse_query(f"SELECT 1 AS x FROM t WHERE {' AND '.join(terms)}", "duckdb")
    ids = ", ".join(f"'m{i}'" for i in range(16))
    assert tree.args["where"].this.sql() == (
        f"NOT metric IN ({ids}) AND NOT value IN (1, 2.5) AND value <> NULL AND value > 2 "
        "AND value = 3"
    )
    # <> in an OR chain, = in an AND chain, and short chains are left as written.
    for where in (
        " OR ".join(f"a <> {i}" for i in range(20)),
        " AND ".join(f"a = {i}" for i in range(20)),
        "a <> 1 AND a <> 2",
    ):
        assert parse_query(f"SELECT 1 FROM t WHERE {where}", "duckdb").find(exp.In) is None


def test_a_long_or_chain_means_what_it_says(session: Session) -> None:
    ids = session.sql("SELECT id FROM test_efs_dimensions.geography").to_arrow()["id"].to_pylist()
    chosen = ids[::3]
    # Repeated terms make a long chain out of a few counties.
    chain = " OR ".join(f"geography = '{chosen[i % len(chosen)]}'" for i in range(2000))
    listed = ", ".join(f"'{g}'" for g in chosen)
    query = "SELECT metric, SUM(value) AS v FROM data WHERE {} GROUP BY 1 ORDER BY 1"
    got = session.sql(query.format(chain)).to_arrow()
    expected = session.sql(query.format(f"geography IN ({listed})")).to_arrow()
    assert got.num_rows > 0
    assert got["metric"].to_pylist() == expected["metric"].to_pylist()
    assert got["v"].to_pylist() == pytest.approx(expected["v"].to_pylist(), rel=1e-12)
