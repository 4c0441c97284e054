"""DuckDB cursors kept between queries, each with the statements it has planned.

DuckDB binds and plans a query on every run, and its relation API (which streams Arrow without
an extra copy) binds it twice. For a translated query over three datasets that is ~6–8 ms of a
20–40 ms answer at 1 M rows (profiled: bind 3.7 ms, then parse, bind, optimize again before
the run), while a dashboard or BI tool sends the same few query texts again and again. A
statement prepared once per cursor is parsed once; DuckDB 2.0 binds and plans it again at
each ``EXECUTE`` when its plan reads a table (so a table dropped and made again is seen, and
inputs released when idle are registered again under the same name, which carries their
content), but only once. Measured on the bench's 21 small answers at 1 M rows
(bench/results/2026-12-05-soak-stable-registry.md): ``EXECUTE`` 3–5 ms faster than the
relation API on every one, and 0.5–1.5 ms faster than running the text directly.

DuckDB does not stream a prepared statement's rows: ``EXECUTE`` runs to the end and holds the
result whole before the first batch (100 M rows: the first batch after 1.4 s, against 0.1 s
streamed). So only a query text whose last run, read to its end, returned at most
SMALL_RESULT_ROWS rows runs prepared: the second run of a dashboard's aggregate, never a new
text nor one whose rows are many (data under an input name does not change: the name carries
its content). Those run as before, streamed on a cursor of their own.

A cursor runs one query at a time, so each query takes an idle cursor (or a new one) and gives
it back when its reader is done. Only clean ends give it back: a cancelled or failed query's
cursor is closed as before (an interrupt may still be on its way to it), and a query that asks
for progress (a setting of its cursor) or reads object storage (a dataset registered on its
cursor) takes a cursor of its own. Statements whose inputs are
no longer registered are dropped when the engine releases those inputs, so a long-running
server's cursors keep no plans of old registry versions beyond that.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Callable, Iterable

import duckdb

from dsgrid_sql.rewrite.cache import text_weight

# Statements kept per cursor (least recently used first out; a text counts by its size,
# rewrite/cache.text_weight, as a plan grows with it) and idle cursors kept.
STATEMENTS_PER_CURSOR = 64
IDLE_CURSORS = 4
# A result this small is held whole at no cost worth streaming for; query texts remembered.
SMALL_RESULT_ROWS = 100_000
SMALL_TEXTS = 1024


class PreparedCursor:
    """A cursor and the statements prepared on it: SQL text → (name, input names)."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, serial: Callable[[], int]) -> None:
        self.cursor = cursor
        self._serial = serial
        self._statements: OrderedDict[str, tuple[str, frozenset[str]]] = OrderedDict()
        self._weight = 0  # of the texts kept (text_weight)

    def statement(self, sql: str, inputs: Iterable[str]) -> str:
        """``EXECUTE <name>`` for ``sql``, prepared on this cursor first when it is new here.
        Raises DuckDB's error when ``sql`` does not bind (the caller runs it as written, for
        the error a query reports)."""
        known = self._statements.get(sql)
        if known is not None:
            self._statements.move_to_end(sql)
            return f"EXECUTE {known[0]}"
        name = f"__dsgrid_statement_{self._serial()}"
        self.cursor.execute(f"PREPARE {name} AS {sql}")
        self._statements[sql] = (name, frozenset(inputs))
        self._weight += text_weight(sql)
        while self._weight > STATEMENTS_PER_CURSOR and len(self._statements) > 1:
            old_sql, (old, _) = self._statements.popitem(last=False)
            self._weight -= text_weight(old_sql)
            self._deallocate(old)
        return f"EXECUTE {name}"

    def forget(self, sql: str) -> None:
        known = self._statements.pop(sql, None)
        if known is not None:
            self._weight -= text_weight(sql)
            self._deallocate(known[0])

    def keep_only(self, registered: Callable[[str], bool]) -> None:
        """Drop the statements that read an input no longer registered."""
        for sql, (name, inputs) in list(self._statements.items()):
            if not all(registered(i) for i in inputs):
                del self._statements[sql]
                self._weight -= text_weight(sql)
                self._deallocate(name)

    def __len__(self) -> int:
        return len(self._statements)

    def _deallocate(self, name: str) -> None:
        with contextlib.suppress(duckdb.Error):  # closing: its statements go with it
            self.cursor.execute(f"DEALLOCATE {name}")

    def close(self) -> None:
        self._statements.clear()
        self._weight = 0
        with contextlib.suppress(duckdb.Error):
            self.cursor.close()
