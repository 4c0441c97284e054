"""The prompt's completer: the shared completion (dsgrid_sql/completion) with the REPL's
backslash commands, adapted to prompt-toolkit, plus file names for ``\\i``, ``\\o`` and
``\\export``."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prompt_toolkit.completion import CompleteEvent, Completer, Completion, PathCompleter
from prompt_toolkit.document import Document

from dsgrid_sql.completion import CatalogIndex, Match, matches_for
from dsgrid_sql.completion import complete as _complete
from dsgrid_sql.completion import suggestions as s

from .special import COMMANDS


def complete(
    text_before_cursor: str,
    index: CatalogIndex | None,
    current_schema: str | None,
    text_after_cursor: str = "",
) -> list[Match]:
    """Completions at the cursor as the REPL offers them (with its backslash commands)."""
    return _complete(text_before_cursor, index, current_schema, text_after_cursor, COMMANDS)


class SqlCompleter(Completer):
    def __init__(
        self,
        index: Callable[[], CatalogIndex | None],
        current_schema: Callable[[], str | None],
    ) -> None:
        self._index = index
        self._schema = current_schema
        self._paths = PathCompleter(expanduser=True)

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        context = s.suggest(document.text_before_cursor, document.text_after_cursor, COMMANDS)
        if any(isinstance(k, s.FilePath) for k in context.suggestions):
            word_document = Document(context.word, len(context.word))
            yield from self._paths.get_completions(word_document, complete_event)
            return
        for match in matches_for(context, self._index(), self._schema()):
            yield Completion(
                match.text,
                start_position=-match.replace,
                display=match.display,
                display_meta=match.meta,
            )
