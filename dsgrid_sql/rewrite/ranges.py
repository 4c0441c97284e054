"""Long chains of number ranges on one column, held as one node (issue 20: translation time).

``value BETWEEN 0.1 AND 0.15 OR value BETWEEN 1.1 AND 1.15 OR …`` has no list form in SQL, so
each term stayed six tree nodes (OR, BETWEEN, column, identifier, two literals) that every
pass of the rewrite and sqlglot's qualify walked again: 10,000 ranges took ~140 µs a term
to translate, where the same chain of equalities, read as one ``IN`` list, takes ~35.

Here the ranges of such a chain on one column, with number literals for bounds, become one
call ``__dsgrid_ranges(column, <bounds>)``: the column a real child (bound, qualified and
renamed like any column), the bounds one ``Var`` of text, which no pass walks. Every
generator writes it back as the chain it came from, ``(c BETWEEN lo AND hi OR …)``.

A call, not a node type of our own: sqlglot's compiled build (sqlglotc) lets no Python class
derive from its expressions. So the call is recognised by its shape (our name, a column and
a ``Var`` of bounds, which no parse produces) wherever it matters: the generators, and the
function allowlist, which refuses the name as any unknown function when a user writes it.

Number bounds only: a number range meets no check or pushdown of the rewrite (those read
string literals: record ids, timestamps), so no pass loses anything it would have seen.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import exp
from sqlglot import generator as sqlglot_generator
from sqlglot.dialects.dialect import Dialect

# Fewer ranges on one column stay as written: nothing to gain.
MIN_RANGES = 2


NAME = "__dsgrid_ranges"
# A number as both engines read it; another spelling (1_000, hexadecimal) stays a term.
_NUMBER = r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_ONE_NUMBER = re.compile(_NUMBER)
_BOUNDS = re.compile(rf"{_NUMBER}:{_NUMBER}(?:;{_NUMBER}:{_NUMBER})*")


def is_ranges(node: exp.Expression) -> bool:
    """Whether ``node`` is a chain of ranges ``as_ranges`` made (not a user's call)."""
    if type(node) is not exp.Anonymous or node.name != NAME:
        return False
    parts = node.expressions
    return (
        len(parts) == 2
        and type(parts[1]) is exp.Var
        and _BOUNDS.fullmatch(parts[1].this) is not None
    )


def as_ranges(terms: list[exp.Expression], negated: bool) -> list[exp.Expression]:
    """The terms of an OR chain (``negated``: of an AND chain of ``NOT … BETWEEN``) with the
    number ranges of each column gathered into one call (``NOT`` it), standing
    where the column's first range stood; other terms as they were.

    Exact in SQL's three-valued logic: the chain is regrouped, not changed (OR is
    associative), and ``NOT a AND NOT b`` is ``NOT (a OR b)`` there too."""
    gathered: dict[tuple[object, ...], list[tuple[exp.Expression, str]]] = {}
    slots: list[exp.Expression | tuple[object, ...]] = []
    for term in terms:
        inner = term.this if negated and type(term) is exp.Not else term
        found = None if negated and inner is term else _number_range(inner)
        if found is None:
            slots.append(term)
            continue
        key, bounds = found
        if key not in gathered:
            gathered[key] = []
            slots.append(key)
        gathered[key].append((term, bounds))
    out: list[exp.Expression] = []
    for slot in slots:
        if isinstance(slot, exp.Expression):
            out.append(slot)
            continue
        same = gathered[slot]
        if len(same) < MIN_RANGES:
            out.extend(term for term, _ in same)
            continue
        first = same[0][0].this if negated else same[0][0]
        text = ";".join(bounds for _, bounds in same)
        node = exp.Anonymous(this=NAME, expressions=[first.this, exp.Var(this=text)])
        out.append(exp.Not(this=node) if negated else node)
    return out


def _number_range(term: exp.Expression) -> tuple[tuple[object, ...], str] | None:
    """For a plain ``column BETWEEN number AND number``: the column (its parts as written,
    quoted or not) and the bounds as ``lo:hi``; else None."""
    if type(term) is not exp.Between or term.args.get("symmetric") is not None:
        return None
    column = term.this
    if type(column) is not exp.Column:
        return None
    low, high = _number_text(term.args.get("low")), _number_text(term.args.get("high"))
    if low is None or high is None:
        return None
    return written_name(column), f"{low}:{high}"


def written_name(column: exp.Column) -> tuple[tuple[str, bool], ...]:
    """A column as written (its parts, quoted or not), without generating SQL per term: the
    key long chains are gathered by, here and in parse.py's lists."""
    return tuple((part.this, bool(part.args.get("quoted"))) for part in column.parts)


def _number_text(node: exp.Expression | None) -> str | None:
    """A number literal's SQL text (as sqlglot writes it: verbatim), negated ones included."""
    text = None
    if type(node) is exp.Literal and not node.is_string:
        text = node.this
    elif type(node) is exp.Neg and type(node.this) is exp.Literal and not node.this.is_string:
        text = f"-{node.this.this}"
    return text if text is not None and _ONE_NUMBER.fullmatch(text) else None


def _writer(before: Callable[..., str] | None) -> Callable[..., str]:
    """A generator's writer of calls that writes a chain of ranges back as its BETWEENs and
    every other call as ``before`` (or the generator's own method) did."""

    def write(generator: sqlglot_generator.Generator, node: exp.Anonymous) -> str:
        if not is_ranges(node):
            return before(generator, node) if before else generator.anonymous_sql(node)
        column = generator.sql(node.expressions[0])
        chain = " OR ".join(
            f"{column} BETWEEN {lo} AND {hi}"
            for lo, hi in (pair.split(":") for pair in node.expressions[1].this.split(";"))
        )
        return f"({chain})"

    write.writes_ranges = True  # type: ignore[attr-defined]
    return write


def register(dialects: tuple[str, ...]) -> None:
    """Teach the generators of ``dialects`` to write a chain of ranges. sqlglot has no hook
    for a call of ours: its generators look a node's class up in ``TRANSFORMS`` (then in
    their ``*_sql`` methods) and cache that table per generator class, so our writer of
    ``Anonymous`` is added and the cache dropped."""
    for name in dialects:
        generator_class = Dialect.get_or_raise(name).generator_class
        before = generator_class.TRANSFORMS.get(exp.Anonymous)
        if getattr(before, "writes_ranges", False):
            continue
        generator_class.TRANSFORMS = {**generator_class.TRANSFORMS, exp.Anonymous: _writer(before)}
        sqlglot_generator._DISPATCH_CACHE.pop(generator_class, None)
