"""What completion needs to know of a front end's backslash commands (the REPL's ``\\d``,
``\\records``...): their names, help and the kind of each argument. The commands themselves
live with their front end, which passes them to :func:`~.suggestions.suggest`."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class ArgKind(StrEnum):
    """What an argument of a command is, so completion can offer the right names."""

    TABLE = "table"
    SCHEMA = "schema"
    DIMENSION = "dimension"
    RECORD = "record"  # a record of the dimension given as the previous argument
    PATH = "path"
    CHOICE = "choice"
    SQL = "sql"  # the rest of the line is SQL
    PATTERN = "pattern"


class CommandSpec(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def help(self) -> str: ...
    @property
    def args(self) -> tuple[ArgKind, ...]: ...
    @property
    def choices(self) -> tuple[str, ...]: ...
    @property
    def aliases(self) -> tuple[str, ...]: ...
