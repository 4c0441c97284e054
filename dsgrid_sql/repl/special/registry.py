"""The one table of backslash commands: name → handler, arguments and help.

Handlers register with :func:`command`; ``\\?`` renders its help from this table and
completion reads the argument kinds from it, so neither can drift from the handlers
(litecli's ``special_command`` registry).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dsgrid_sql.completion.commands import ArgKind
from dsgrid_sql.errors import DsgridSqlError
from dsgrid_sql.suggest import did_you_mean

if TYPE_CHECKING:
    import pyarrow as pa

    from dsgrid_sql.repl.app import Repl


@dataclass(frozen=True)
class Output:
    """One piece of what a command or statement shows.

    ``table`` prints in the current output format, ``text`` as is (a plan, SQL), and
    ``status`` as one line on stderr, so ``\\o file`` and scripts' stdout carry only results.
    """

    title: str | None = None
    table: pa.Table | None = None
    text: str | None = None
    status: str | None = None
    elapsed_s: float | None = None
    truncated: bool = False


Handler = Callable[["Repl", str], list[Output]]


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    help: str
    handler: Handler
    args: tuple[ArgKind, ...] = ()
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


# Every name and alias → its command, in registration order (which is the help order).
COMMANDS: dict[str, Command] = {}


def command(
    usage: str,
    help: str,
    *,
    args: tuple[ArgKind, ...] = (),
    choices: tuple[str, ...] = (),
    aliases: tuple[str, ...] = (),
) -> Callable[[Handler], Handler]:
    """Register the decorated function as the command named by the first word of ``usage``."""

    def register(handler: Handler) -> Handler:
        name = usage.split()[0]
        entry = Command(name, usage, help, handler, args, choices, aliases)
        for key in (name, *aliases):
            if key in COMMANDS:
                raise ValueError(f"Backslash command {key} is registered twice.")
            COMMANDS[key] = entry
        return handler

    return register


def find_command(name: str) -> Command:
    """The command called ``name``; an unknown one is a one-sentence error with a guess."""
    found = COMMANDS.get(name)
    if found is None:
        raise DsgridSqlError(
            f"Unknown command '{name}'.",
            suggestion=did_you_mean(name, list(COMMANDS)),
            hint="\\? lists the commands.",
        )
    return found


def split_command(line: str) -> tuple[str, str]:
    """``\\records us_states  cal`` → (``\\records``, ``us_states  cal``)."""
    name, _, rest = line.strip().partition(" ")
    return name, rest.strip()


def help_rows() -> list[list[Any]]:
    unique = dict.fromkeys(COMMANDS.values())
    return [
        [c.usage, c.help + (f" Also {', '.join(c.aliases)}." if c.aliases else "")] for c in unique
    ]


class ScriptFailed(Exception):
    """A nested script (``\\i``) failed; its error is already printed."""
