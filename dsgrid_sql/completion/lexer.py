"""A forgiving SQL tokenizer for completion (REPL and web console) and statement splitting.

sqlglot's tokenizer raises on the half-typed text a completer sees (``WHERE geography = 'San``),
so completion uses this one: it never fails, marks an unterminated string or quoted name as open,
and keeps character offsets so callers can map tokens back to the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    WORD = "word"  # keyword or bare identifier
    QUOTED = "quoted"  # "identifier" or `identifier`
    STRING = "string"  # 'literal'
    NUMBER = "number"
    OP = "op"  # punctuation and operators, one token per operator
    COMMENT = "comment"
    BACKSLASH = "backslash"  # a backslash command: \dt, \records, ...


@dataclass(frozen=True)
class Token:
    kind: Kind
    text: str
    start: int
    end: int
    closed: bool = True  # False for a string, quoted name or block comment still open

    @property
    def upper(self) -> str:
        return self.text.upper()

    @property
    def value(self) -> str:
        """An identifier's name or a string's content, without quotes."""
        if self.kind is Kind.STRING:
            inner = self.text[1:-1] if self.closed else self.text[1:]
            return inner.replace("''", "'")
        if self.kind is Kind.QUOTED:
            quote = self.text[0]
            inner = self.text[1:-1] if self.closed else self.text[1:]
            return inner.replace(quote * 2, quote)
        return self.text


_TWO_CHAR_OPS = ("<>", "!=", "<=", ">=", "||", "::", "==")


def tokenize(text: str) -> list[Token]:
    """Tokens of ``text``; whitespace is dropped, nothing ever raises.

    Example:
        >>> [t.text for t in tokenize("SELECT a.b FROM t WHERE x = 'it''s")]
        ['SELECT', 'a', '.', 'b', 'FROM', 't', 'WHERE', 'x', '=', "'it''s"]
        >>> tokenize("x = 'San Di")[-1].closed
        False
    """
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
            continue
        start = i
        if char == "-" and text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            tokens.append(Token(Kind.COMMENT, text[start:i], start, i))
        elif char == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            closed = end >= 0
            i = end + 2 if closed else n
            tokens.append(Token(Kind.COMMENT, text[start:i], start, i, closed))
        elif char in "'\"`":
            i, closed = _quoted_end(text, i, char)
            kind = Kind.STRING if char == "'" else Kind.QUOTED
            tokens.append(Token(kind, text[start:i], start, i, closed))
        elif char.isdigit() or (char == "." and i + 1 < n and text[i + 1].isdigit()):
            i += 1
            while i < n and (text[i].isalnum() or text[i] in "._"):
                i += 1
            tokens.append(Token(Kind.NUMBER, text[start:i], start, i))
        elif char.isalpha() or char == "_" or char == "$":
            i += 1
            while i < n and (text[i].isalnum() or text[i] in "_$"):
                i += 1
            tokens.append(Token(Kind.WORD, text[start:i], start, i))
        elif char == "\\":
            i += 1
            while i < n and not text[i].isspace() and text[i] != ";":
                i += 1
            tokens.append(Token(Kind.BACKSLASH, text[start:i], start, i))
        else:
            two = text[i : i + 2]
            i += 2 if two in _TWO_CHAR_OPS else 1
            tokens.append(Token(Kind.OP, text[start:i], start, i))
    return tokens


def _quoted_end(text: str, start: int, quote: str) -> tuple[int, bool]:
    """End offset of the quoted token at ``start`` and whether its closing quote is there.
    A doubled quote is an escaped quote, not the end."""
    i = start + 1
    while i < len(text):
        if text[i] == quote:
            if i + 1 < len(text) and text[i + 1] == quote:
                i += 2
                continue
            return i + 1, True
        i += 1
    return len(text), False
