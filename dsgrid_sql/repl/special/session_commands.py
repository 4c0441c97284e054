"""Backslash commands about the session: output, timing, engine and dialect, plans and engine
SQL, export, scripts, the editor, refreshing the catalog, help and quitting."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dsgrid_sql.engine import ENGINES
from dsgrid_sql.errors import DsgridSqlError, ExportError
from dsgrid_sql.repl.render import FORMATS
from dsgrid_sql.rewrite.parse import DIALECTS

from .registry import ArgKind, Output, ScriptFailed, command, help_rows

if TYPE_CHECKING:
    from dsgrid_sql.repl.app import Repl

_ON = ("on", "true", "1", "yes")
_OFF = ("off", "false", "0", "no")


@command("\\?", "Show this help.", aliases=("\\help",))
def show_help(repl: Repl, arg: str) -> list[Output]:
    width = min(repl.printer.width or 100, 100)
    rows = help_rows()
    column = min(max(len(usage) for usage, _ in rows), 34)
    lines = ["Backslash commands:"]
    for usage, text in rows:
        wrapped = textwrap.wrap(text, max(30, width - column - 4))
        if len(usage) > column:
            lines.append(f"  {usage}")
            lines += [f"  {'':{column}}  {line}" for line in wrapped]
        else:
            lines.append(f"  {usage:{column}}  {wrapped[0]}")
            lines += [f"  {'':{column}}  {line}" for line in wrapped[1:]]
    note = (
        "SQL statements end with ';' (Alt-Enter runs one without). Tab completes names and "
        "dimension records; Ctrl-R searches history; Ctrl-C cancels a running query; Ctrl-D or "
        "\\q quits."
    )
    lines += ["", *textwrap.wrap(note, width)]
    return [Output(text="\n".join(lines))]


def _needs(arg: str, what: str, example: str) -> None:
    if not arg.strip():
        raise DsgridSqlError(f"This command needs {what}.", hint=f"For example: {example}")


@command("\\explain <query>", "Show the mapping plan per dataset and the engine SQL of a query.",
         args=(ArgKind.SQL,))  # fmt: skip
def explain(repl: Repl, arg: str) -> list[Output]:
    _needs(arg, "a query", "\\explain SELECT us_states, SUM(value) FROM data GROUP BY ALL")
    return [Output(text=repl.session.explain(arg.rstrip().rstrip(";")))]


@command("\\sql <query>", "Show the engine SQL a query becomes.", args=(ArgKind.SQL,))
def engine_sql(repl: Repl, arg: str) -> list[Output]:
    _needs(arg, "a query", "\\sql SELECT * FROM data LIMIT 5")
    translation = repl.session.translate(arg.rstrip().rstrip(";"))
    try:
        text = translation.ast.sql(dialect=translation.target, identify=True, pretty=True)
    except Exception:  # pretty printing is a nicety; the engine's own text is always there
        text = translation.sql
    return [Output(text=text)]


@command("\\timing [on|off]", "Toggle showing how long each statement takes.",
         args=(ArgKind.CHOICE,), choices=("on", "off"))  # fmt: skip
def timing(repl: Repl, arg: str) -> list[Output]:
    value = arg.strip().lower()
    if value in _ON:
        repl.timing = True
    elif value in _OFF:
        repl.timing = False
    elif not value:
        repl.timing = not repl.timing
    else:
        raise DsgridSqlError(f"\\timing takes on or off, not '{arg}'.")
    return [Output(status=f"Timing is {'on' if repl.timing else 'off'}.")]


@command("\\format [" + "|".join(FORMATS) + "]", "Set (or show) how results print.",
         args=(ArgKind.CHOICE,), choices=FORMATS)  # fmt: skip
def output_format(repl: Repl, arg: str) -> list[Output]:
    value = arg.strip().lower()
    if value:
        if value not in FORMATS:
            from dsgrid_sql.suggest import did_you_mean

            raise DsgridSqlError(
                f"Unknown format '{arg.strip()}'.",
                suggestion=did_you_mean(value, FORMATS),
                hint=f"Formats: {', '.join(FORMATS)}.",
            )
        repl.format = value
    return [Output(status=f"Output format is {repl.format}.")]


@command("\\o [file]", "Send results to a file (appending); \\o alone sends them back to the "
         "screen.", args=(ArgKind.PATH,))  # fmt: skip
def output_file(repl: Repl, arg: str) -> list[Output]:
    path = arg.strip()
    target = repl.printer.redirect(Path(path).expanduser() if path else None)
    return [Output(status=f"Results go to {target}." if path else "Results go to the screen.")]


@command("\\export [--overwrite] <file.parquet|file.csv> <query>", "Write a query's whole "
         "result to Parquet (or CSV), atomically, with lineage metadata.",
         args=(ArgKind.PATH, ArgKind.SQL))  # fmt: skip
def export(repl: Repl, arg: str) -> list[Output]:
    words = arg.split(None, 1)
    overwrite = bool(words) and words[0] == "--overwrite"
    if overwrite:
        arg = words[1] if len(words) > 1 else ""
    path, _, query = arg.strip().partition(" ")
    query = query.strip().rstrip(";").strip()
    if not path or not query:
        raise DsgridSqlError(
            "\\export needs a file and a query.",
            hint="For example: \\export states.parquet SELECT us_states, SUM(value) FROM data "
            "GROUP BY ALL",
        )
    session = repl.session

    def work(stop: object) -> tuple[Path, int]:
        result = session.sql(query)
        if result.translation is None:
            raise ExportError("\\export takes a query (SELECT, WITH or VALUES).")
        # Parquet or CSV by the suffix, as `query --output` writes it.
        return result.write(path, overwrite=overwrite)

    start = time.perf_counter()
    target, rows = repl.run_cancellable(work)
    elapsed = time.perf_counter() - start
    return [Output(status=f"Wrote {rows:,} rows to {target} ({elapsed:.2f} s).")]


@command("\\engine [" + "|".join(ENGINES) + "]", "Switch (or show) the query engine.",
         args=(ArgKind.CHOICE,), choices=ENGINES)  # fmt: skip
def engine(repl: Repl, arg: str) -> list[Output]:
    if arg.strip():
        repl.session.set("engine", arg.strip())
        repl.warm_engine()
    return [Output(status=f"Engine is {repl.session.engine_name}.")]


@command("\\dialect [name]", "Switch (or show) the SQL dialect of what you type.",
         args=(ArgKind.CHOICE,), choices=DIALECTS)  # fmt: skip
def dialect(repl: Repl, arg: str) -> list[Output]:
    if arg.strip():
        repl.session.set("dialect", arg.strip())
    return [Output(status=f"Dialect is {repl.session.dialect}.")]


def _read_file(path: str) -> str:
    try:
        return Path(path).expanduser().read_text()
    except OSError as exc:
        raise DsgridSqlError(f"Cannot read '{path}': {exc.strerror or exc}.") from None


@command("\\i <file.sql>", "Run the statements of a file.", args=(ArgKind.PATH,))
def include(repl: Repl, arg: str) -> list[Output]:
    _needs(arg, "a file", "\\i queries.sql")
    if not repl.execute(_read_file(arg.strip())):
        raise ScriptFailed
    return []


@command("\\e [file]", "Edit the last query (or a file) in $EDITOR; the result comes back to "
         "the prompt to run.", args=(ArgKind.PATH,))  # fmt: skip
def edit(repl: Repl, arg: str) -> list[Output]:
    path = arg.strip()
    if path:
        click.edit(filename=str(Path(path).expanduser()))
        text = _read_file(path)
    else:
        edited = click.edit(repl.last_query or "", extension=".sql", require_save=False)
        text = edited or ""
    repl.next_text = text.strip()
    return []


@command("\\refresh", "Reopen the registry: see what was registered since the REPL started.")
def refresh(repl: Repl, arg: str) -> list[Output]:
    repl.refresh()
    return [Output(status="Catalog reopened; completions reload in the background.")]


@command("\\q", "Quit; Ctrl-D, quit and exit do too.", aliases=("\\quit",))
def quit_repl(repl: Repl, arg: str) -> list[Output]:
    repl.done = True
    return []
