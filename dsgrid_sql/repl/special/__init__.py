"""Backslash commands: the registry and the modules whose handlers fill it."""

from __future__ import annotations

from . import catalog_commands, session_commands
from .registry import COMMANDS, ArgKind, Command, Output, ScriptFailed, find_command, split_command

__all__ = [
    "COMMANDS",
    "ArgKind",
    "Command",
    "Output",
    "ScriptFailed",
    "catalog_commands",
    "find_command",
    "session_commands",
    "split_command",
]
