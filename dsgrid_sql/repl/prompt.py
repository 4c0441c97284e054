"""The interactive prompt: prompt-toolkit with SQL highlighting, multi-line statements ended
by ``;``, persistent history with reverse search and suggestions, completion, emacs or vi
keys, and a toolbar showing where queries go."""

from __future__ import annotations

from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.enums import EditingMode
from prompt_toolkit.filters import Condition
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.lexers import PygmentsLexer
from prompt_toolkit.styles import Style, merge_styles, style_from_pygments_cls
from pygments.lexers.sql import SqlLexer
from pygments.styles import get_style_by_name
from pygments.util import ClassNotFound

from dsgrid_sql.version import __version__

from .app import Repl
from .completer import SqlCompleter
from .config import history_path
from .history import BoundedFileHistory
from .splitting import is_complete


def _style(repl: Repl) -> Style:
    config = repl.config
    try:
        syntax = style_from_pygments_cls(get_style_by_name(config.syntax_style))
    except ClassNotFound:
        repl.printer.status(f"Unknown syntax style '{config.syntax_style}'; using native.")
        syntax = style_from_pygments_cls(get_style_by_name("native"))
    try:
        overrides = Style.from_dict(config.styles)
    except (ValueError, AssertionError) as exc:
        repl.printer.status(f"Ignoring colors.styles: {exc}.")
        overrides = Style.from_dict({})
    return merge_styles([syntax, overrides])


def _registry_label(repl: Repl) -> str:
    path = Path(repl.session.catalog.registry_path)
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def _toolbar(repl: Repl, session: PromptSession[str]) -> StyleAndTextTuples:
    s = repl.session
    parts: StyleAndTextTuples = []
    items = [
        ("registry", _registry_label(repl)),
        ("project", s.current_schema or "(none: USE one)"),
        ("engine", s.engine_name),
        ("dialect", s.dialect),
        ("format", repl.format),
    ]
    for label, value in items:
        parts += [
            ("class:bottom-toolbar.label", f" {label} "),
            ("class:bottom-toolbar.value", value),
            ("class:bottom-toolbar", " "),
        ]
    if session.editing_mode is EditingMode.VI:
        parts.append(("class:bottom-toolbar.label", " [vi] "))
    if repl.index.loading:
        parts.append(("class:bottom-toolbar.label", " loading names… "))
    elif repl.index.error is not None:
        parts.append(("class:bottom-toolbar.label", " names unavailable (\\refresh) "))
    parts.append(("class:bottom-toolbar.label", " \\? help "))
    return parts


def _key_bindings() -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add("f4")
    def _(event: KeyPressEvent) -> None:
        """Switch between emacs and vi keys."""
        app = event.app
        app.editing_mode = (
            EditingMode.EMACS if app.editing_mode is EditingMode.VI else EditingMode.VI
        )

    @bindings.add("c-space")
    def _(event: KeyPressEvent) -> None:
        """Open the completion menu (as Tab does) without inserting anything."""
        buffer = event.current_buffer
        if buffer.complete_state:
            buffer.complete_next()
        else:
            buffer.start_completion(select_first=False)

    return bindings


def make_prompt(repl: Repl) -> PromptSession[str]:
    config = repl.config
    session: PromptSession[str]

    @Condition
    def multiline() -> bool:
        # Enter inserts a newline until the statement is complete (ends with ';').
        return not is_complete(session.default_buffer.text)

    def continuation(width: int, line_number: int, wrap_count: int) -> StyleAndTextTuples:
        return [("class:continuation", "...> ".rjust(width))]

    session = PromptSession(
        history=BoundedFileHistory(history_path(), config.history_size),
        lexer=PygmentsLexer(SqlLexer),
        completer=SqlCompleter(lambda: repl.index.index, lambda: repl.session.current_schema),
        complete_while_typing=config.complete_while_typing,
        complete_in_thread=True,
        auto_suggest=AutoSuggestFromHistory() if config.auto_suggest else None,
        enable_history_search=False,
        multiline=multiline,
        prompt_continuation=continuation,
        bottom_toolbar=lambda: _toolbar(repl, session),
        style=_style(repl),
        include_default_pygments_style=False,
        vi_mode=config.key_mode == "vi",
        key_bindings=_key_bindings(),
        enable_open_in_editor=True,
        color_depth=None if config.color else _monochrome(),
        search_ignore_case=True,
    )
    return session


def _monochrome():  # type: ignore[no-untyped-def]
    from prompt_toolkit.output import ColorDepth

    return ColorDepth.MONOCHROME


def _message(repl: Repl) -> StyleAndTextTuples:
    return [("class:prompt", f"{repl.session.current_schema or 'dsgrid'}> ")]


def banner(repl: Repl) -> str:
    s = repl.session
    return (
        f"dsgrid-sql {__version__} — {_registry_label(repl)}, project "
        f"{s.current_schema or '(none: USE <project>)'}, engine {s.engine_name}. "
        "\\? for help, \\q to quit."
    )


def run_interactive(repl: Repl) -> int:
    """The read–run–print loop. Ctrl-C clears the line; Ctrl-D (or \\q) ends it."""
    prompt = make_prompt(repl)
    for warning in repl.config.warnings:
        repl.printer.status(f"Warning: {warning}")
    repl.printer.status(banner(repl))
    # What the registry holds but cannot read is left out; the analyst hears it first.
    for problem in repl.session.catalog.problems():
        repl.printer.status(f"Left out: {problem}")
    repl.index.on_ready = prompt.app.invalidate
    repl.start_background()
    while not repl.done:
        try:
            text = prompt.prompt(lambda: _message(repl), default=repl.next_text or "")
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        repl.next_text = None
        try:
            repl.execute(text)
        except KeyboardInterrupt:
            # Ctrl-C outside a running query (while printing): drop the output, keep going.
            repl.printer.status("Interrupted.")
    repl.printer.close()
    return 0
