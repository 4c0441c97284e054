"""The interactive REPL (``dsgrid-sql repl``) and its script mode (``-c``, ``-f``, stdin).

Layout: :mod:`.app` executes text (statements from :mod:`.splitting`, run cancellably by
:mod:`.runner`); :mod:`.prompt` is the prompt-toolkit loop, with :mod:`.history` and
:mod:`.config`; completion is :mod:`.suggestions` (what fits at the cursor, over
:mod:`.lexer`'s tokens) plus :mod:`.completer` (what matches, by :mod:`.matching`, from the
:mod:`.index` of catalog names loaded in the background); :mod:`.special` holds the backslash
commands; :mod:`.render` and :mod:`.printer` turn results into text and put it on the screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dsgrid_sql.session import Session

    from .config import Config


def run_repl(
    session: Session,
    *,
    script: str | None = None,
    fmt: str | None = None,
    config: Config | None = None,
) -> int:
    """Run the interactive loop, or ``script`` when given; returns the exit code (0 when
    everything ran, 1 after an error)."""
    from .app import Repl
    from .config import load_config
    from .printer import Printer

    config = config or load_config()
    if script is None:
        from .prompt import run_interactive

        printer = Printer(pager=config.pager, color=config.color, interactive=True)
        return run_interactive(Repl(session, config, printer, interactive=True, format=fmt))
    for warning in config.warnings:
        Printer().status(f"Warning: {warning}")
    printer = Printer(pager="off", color=config.color, interactive=False)
    repl = Repl(session, config, printer, interactive=False, format=fmt)
    try:
        return 0 if repl.execute(script) else 1
    except KeyboardInterrupt:
        printer.status("Interrupted.")
        return 130  # the shell's code for a script ended by SIGINT
    finally:
        printer.close()


__all__ = ["run_repl"]
