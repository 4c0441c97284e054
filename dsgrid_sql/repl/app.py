"""The REPL: read a statement, run it (cancellably), print what it returns; repeat.

:class:`Repl` holds the session state (output format, timing, the ``\\o`` target, the
completion index) and executes text — SQL statements and backslash commands — for both the
interactive prompt (:mod:`.prompt`) and scripts (``-c``, ``-f``, stdin).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import pyarrow as pa

from dsgrid_sql.catalog import Catalog
from dsgrid_sql.completion.index import IndexLoader, build_index
from dsgrid_sql.errors import DsgridSqlError
from dsgrid_sql.session import Session

from .config import Config
from .printer import Printer
from .render import render_table
from .runner import Progress, run_cancellable
from .special import Output, ScriptFailed, find_command, split_command
from .splitting import QUIT_WORDS, split_statements

T = TypeVar("T")


class Repl:
    def __init__(
        self,
        session: Session,
        config: Config,
        printer: Printer,
        *,
        interactive: bool,
        format: str | None = None,
    ) -> None:
        self.session = session
        self.config = config
        self.printer = printer
        self.interactive = interactive
        self.format = format or config.format
        # Scripts print the same text on every run unless they ask for \timing.
        self.timing = config.timing and interactive
        self.done = False
        self.last_query: str | None = None
        self.next_text: str | None = None  # pre-filled at the next prompt (\e)
        self.index = IndexLoader(self._build_index)

    # -- background work ----------------------------------------------------------------------

    def _build_index(self):  # type: ignore[no-untyped-def]
        return build_index(self.session.catalog)

    def start_background(self) -> None:
        """Load the completion index, and start the engine when configured to."""
        self.index.start()
        self.warm_engine()

    def warm_engine(self) -> None:
        if not self.config.warm_engine:
            return

        def warm() -> None:
            # A failure here is reported by the first query, where the user sees it.
            with contextlib.suppress(Exception):
                _ = self.session.engine

        threading.Thread(target=warm, name="engine-start", daemon=True).start()

    def refresh(self) -> None:
        """Reopen the registry so new registrations show; completions reload behind."""
        old = self.session.catalog
        self.session.catalog = Catalog.open(
            old.source.location, data_path=old.data_root, storage_options=old.storage_options
        )
        old.close()
        self.index.reload(self._build_index)

    def run_cancellable(self, work: Callable[[threading.Event], T]) -> T:
        progress = Progress(self.printer.stderr, self.config.progress_after_s)
        return run_cancellable(work, self.session.cancel, progress)

    # -- executing text -----------------------------------------------------------------------

    def execute(self, text: str) -> bool:
        """Run every statement and command of ``text`` in order, printing results and
        errors; stop at the first failure. Returns whether everything succeeded."""
        for piece in split_statements(text):
            if self.done:
                break
            if not piece.is_command and piece.text.lower() in QUIT_WORDS:
                self.done = True
                break
            try:
                outputs = self.command(piece.text) if piece.is_command else self.query(piece.text)
                self.show(outputs)
            except ScriptFailed:
                return False
            except DsgridSqlError as exc:
                self.printer.error(exc, None if piece.is_command else piece.text)
                return False
            except Exception as exc:  # a bug must not end the session; say what it was
                self.printer.error(exc)
                return False
        return True

    def command(self, line: str) -> list[Output]:
        name, arg = split_command(line)
        return find_command(name).handler(self, arg)

    def query(self, text: str) -> list[Output]:
        """Run one SQL statement; a query's rows are read up to the row limit."""
        self.last_query = text
        session = self.session
        limit = self.config.row_limit if self.interactive else 0

        notes: list[str] = []

        def work(stop: threading.Event) -> tuple[pa.Table, str | None, bool]:
            result = session.sql(text)
            notes.extend(result.notes)
            if result.translation is None:  # SHOW, DESCRIBE, EXPLAIN, USE, SET, COPY
                return result.to_arrow(), result.message, False
            reader = result.to_reader()
            batches, rows = [], 0
            for batch in reader:
                if stop.is_set():
                    break  # a streaming result: stop reading, the cancel is under way
                batches.append(batch)
                rows += batch.num_rows
                if limit and rows > limit:
                    break
            # Stop the engine producing rows nobody will read (row limit, cancel).
            with contextlib.suppress(Exception):
                reader.close()
            table = pa.Table.from_batches(batches, schema=reader.schema)
            truncated = bool(limit) and table.num_rows > limit
            return (table.slice(0, limit) if truncated else table), None, truncated

        start = time.perf_counter()
        table, message, truncated = self.run_cancellable(work)
        elapsed = time.perf_counter() - start
        # Rows a table leaves out (a dataset the registry cannot read) are said, never
        # silently missing.
        status = "\n".join(f"Note: {n}" for n in notes) or None
        if message is not None and self.format in ("table", "vertical"):
            return [Output(text=message, status=status)]
        return [Output(table=table, elapsed_s=elapsed, truncated=truncated, status=status)]

    def show(self, outputs: list[Output]) -> None:
        for output in outputs:
            if output.table is not None:
                self.printer.result(
                    render_table(
                        output.table,
                        self.format,
                        width=self.printer.width,
                        null=self.config.null,
                        auto_vertical=self.config.auto_vertical,
                        elapsed_s=output.elapsed_s if self.timing else None,
                        truncated=output.truncated,
                        title=output.title,
                    )
                )
            elif output.text is not None:
                self.printer.result(output.text)
            if output.status is not None:
                self.printer.status(output.status)
