"""REPL settings: the commented defaults shipped in the package, merged with the user's file.

The user's file (``$XDG_CONFIG_HOME/dsgrid-sql/config.toml`` or ``DSGRID_SQL_REPL_CONFIG``)
needs only the keys it changes. A broken or unknown setting never stops the REPL: it is
reported as a warning and the default applies (litecli's shipped rc, TOML instead of INI).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from platformdirs import user_config_dir, user_data_dir

from dsgrid_sql.suggest import did_you_mean

from .render import FORMATS

APP_NAME = "dsgrid-sql"
CONFIG_ENV = "DSGRID_SQL_REPL_CONFIG"
HISTORY_ENV = "DSGRID_SQL_HISTORY"
_CHOICES = {
    ("main", "format"): FORMATS,
    ("keys", "mode"): ("emacs", "vi"),
}


def default_text() -> str:
    return resources.files(__package__).joinpath("default_config.toml").read_text()


def user_config_path() -> Path:
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    return Path(user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


def history_path() -> Path:
    override = os.environ.get(HISTORY_ENV)
    if override:
        return Path(override).expanduser()
    return Path(user_data_dir(APP_NAME, appauthor=False)) / "history"


@dataclass
class Config:
    format: str
    pager: str
    timing: bool
    auto_vertical: bool
    row_limit: int
    null: str
    progress_after_s: float
    warm_engine: bool
    history_size: int
    auto_suggest: bool
    key_mode: str
    complete_while_typing: bool
    color: bool
    syntax_style: str
    styles: dict[str, str]
    source: Path | None = None
    warnings: list[str] = field(default_factory=list)


def load_config(path: Path | None = None) -> Config:
    """The defaults merged with ``path`` (default: :func:`user_config_path`) when it exists."""
    merged = tomllib.loads(default_text())
    path = path if path is not None else user_config_path()
    warnings: list[str] = []
    source = None
    if path.is_file():
        try:
            user = tomllib.loads(path.read_text())
            source = path
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            warnings.append(f"Ignoring {path}: {exc}.")
            user = {}
        _merge(merged, user, (), warnings, path)
    main, history, keys, colors = (
        merged["main"],
        merged["history"],
        merged["keys"],
        merged["colors"],
    )
    return Config(
        format=main["format"],
        pager=main["pager"],
        timing=main["timing"],
        auto_vertical=main["auto_vertical"],
        row_limit=main["row_limit"],
        null=main["null"],
        progress_after_s=float(main["progress_after_s"]),
        warm_engine=main["warm_engine"],
        history_size=history["size"],
        auto_suggest=history["auto_suggest"],
        key_mode=keys["mode"],
        complete_while_typing=keys["complete_while_typing"],
        color=colors["enabled"] and "NO_COLOR" not in os.environ,
        syntax_style=colors["syntax_style"],
        styles=dict(colors["styles"]),
        source=source,
        warnings=warnings,
    )


def _merge(
    base: dict[str, Any],
    user: dict[str, Any],
    where: tuple[str, ...],
    warnings: list[str],
    path: Path,
) -> None:
    """Copy ``user`` into ``base`` key by key, keeping a default whenever the user's value
    is unknown or of the wrong type. Style tables take any rule names."""
    free_form = where == ("colors", "styles")
    for key, value in user.items():
        name = ".".join((*where, key))
        if key not in base and not free_form:
            guess = did_you_mean(key, list(base))
            warnings.append(
                f"{path}: unknown setting '{name}'"
                + (f"; did you mean '{guess}'?" if guess else ".")
            )
            continue
        default = base.get(key)
        if isinstance(default, dict):
            if isinstance(value, dict):
                _merge(default, value, (*where, key), warnings, path)
            else:
                warnings.append(f"{path}: '{name}' must be a table of settings.")
            continue
        expected = type(default) if default is not None else str
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            ok, value = True, float(value)
        if not ok:
            warnings.append(
                f"{path}: '{name}' must be a {expected.__name__}; keeping the default."
            )
            continue
        choices = _CHOICES.get((*where, key))
        if choices and value not in choices:
            warnings.append(f"{path}: '{name}' must be one of {', '.join(choices)}.")
            continue
        base[key] = value
