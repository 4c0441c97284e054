"""A history file that stays bounded: prompt-toolkit's FileHistory appends forever."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from prompt_toolkit.history import FileHistory


class BoundedFileHistory(FileHistory):
    """FileHistory keeping the newest ``size`` entries; the file is rewritten at start when
    it has grown past twice that, so a long-lived history costs one rewrite now and then."""

    def __init__(self, path: Path, size: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.size = max(1, size)
        super().__init__(str(path))
        self._trim(path)

    def load_history_strings(self) -> Iterable[str]:
        for count, entry in enumerate(super().load_history_strings()):
            if count >= self.size:
                return
            yield entry

    def _trim(self, path: Path) -> None:
        if not path.exists():
            return
        text = path.read_text(encoding="utf-8", errors="replace")
        # Entries start with a "# <timestamp>" line after a blank line (FileHistory's format).
        blocks = text.split("\n\n# ")
        if len(blocks) <= 2 * self.size:
            return
        kept = blocks[-self.size :]
        path.write_text("\n\n# " + "\n\n# ".join(kept), encoding="utf-8")
