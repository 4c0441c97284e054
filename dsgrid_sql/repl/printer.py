"""Where the REPL's text goes: results to stdout, a pager or a ``\\o`` file; statuses and
errors to stderr. The only REPL module that writes to the terminal."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import IO

from dsgrid_sql.errors import DsgridSqlError

from .render import format_error, format_unexpected

DEFAULT_PAGER = "less -SRXF"


class Printer:
    def __init__(
        self,
        *,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        pager: str = "",
        color: bool = True,
        interactive: bool = True,
    ) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self._pager_setting = pager
        self._interactive = interactive
        self._color = color and _isatty(self.stderr)
        self._file: IO[str] | None = None
        self._file_path: Path | None = None

    # -- where results go ---------------------------------------------------------------------

    def redirect(self, path: Path | None) -> Path | None:
        """Send results to ``path`` (appending), or back to stdout for None."""
        if self._file is not None:
            self._file.close()
            self._file, self._file_path = None, None
        if path is not None:
            try:
                self._file = path.open("a", encoding="utf-8")
            except OSError as exc:
                raise DsgridSqlError(f"Cannot write to '{path}': {exc.strerror or exc}.") from None
            self._file_path = path.resolve()
        return self._file_path

    @property
    def to_terminal(self) -> bool:
        return self._file is None and _isatty(self.stdout)

    @property
    def width(self) -> int | None:
        """The terminal's width, when results go to one (tables wider than it go vertical)."""
        if not self.to_terminal:
            return None
        return shutil.get_terminal_size().columns

    def result(self, text: str) -> None:
        """Print a result, through the pager when it is taller than the screen."""
        if self._file is not None:
            self._file.write(text + "\n")
            self._file.flush()
            return
        pager = self._pager_command()
        taller = text.count("\n") + 1 > shutil.get_terminal_size().lines - 2
        if pager and taller and self._page(pager, text):
            return
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def _pager_command(self) -> str | None:
        if not self._interactive or not self.to_terminal:
            return None
        setting = self._pager_setting.strip()
        if setting.lower() == "off":
            return None
        return setting or os.environ.get("PAGER") or DEFAULT_PAGER

    def _page(self, command: str, text: str) -> bool:
        env = dict(os.environ)
        env.setdefault("LESS", "-SRXF")
        try:
            process = subprocess.Popen(shlex.split(command), stdin=subprocess.PIPE, env=env)
        except (OSError, ValueError):
            return False  # no such pager: print instead
        try:
            assert process.stdin is not None
            process.stdin.write(text.encode() + b"\n")
            process.stdin.close()
        except BrokenPipeError:
            pass  # the user quit the pager early
        try:
            process.wait()
        except KeyboardInterrupt:
            process.kill()
            process.wait()
        return True

    # -- messages -----------------------------------------------------------------------------

    def status(self, text: str) -> None:
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def error(self, error: BaseException, sql: str | None = None) -> None:
        if isinstance(error, DsgridSqlError):
            text = format_error(error, sql, color=self._color)
        else:
            text = format_unexpected(error)
            if os.environ.get("DSGRID_SQL_DEBUG"):
                import traceback

                text += "\n" + "".join(traceback.format_exception(error))
        self.stderr.write(text + "\n")
        self.stderr.flush()

    def close(self) -> None:
        self.redirect(None)


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
