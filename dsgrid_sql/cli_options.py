"""The options of every command that opens a registry, defined once for cli.py and
cli_serve.py.

``--registry`` and ``--data-path`` are accepted before the command name and after it, at every
level: ``dsgrid-sql --registry R query ...``, ``dsgrid-sql query --registry R ...``,
``dsgrid-sql catalog --registry R tables`` and ``dsgrid-sql catalog tables --registry R`` are
the same. Every level writes into the one ``ctx.obj`` dict the whole command line shares, in
the order click parses the levels (outer first), so a value given after the command wins over
one given before it. An environment variable fills only a value that no level was given on the
command line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
from click.core import ParameterSource

F = TypeVar("F", bound=Callable[..., Any])

# Keys of ctx.obj given on the command line (so an environment variable does not replace them).
_EXPLICIT = "_from_command_line"


def _store(key: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        obj = ctx.ensure_object(dict)
        explicit: set[str] = obj.setdefault(_EXPLICIT, set())
        obj.setdefault(key, None)
        if value is None or value == ():  # not given (a repeatable option gives ())
            return
        assert param.name is not None
        if ctx.get_parameter_source(param.name) is ParameterSource.COMMANDLINE:
            obj[key] = value
            explicit.add(key)
        elif key not in explicit:
            obj[key] = value

    return callback


def store_option(key: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    """The callback that makes an option work before or after a subcommand (after wins),
    its value read from ``ctx.obj[key]`` (cli_jobs.py's server options use it)."""
    return _store(key)


def registry_options(function: F) -> F:
    """Add ``--registry``, ``--data-path`` and ``--storage-option`` to a command or group;
    their values are read from ``ctx.obj["registry"]``, ``ctx.obj["data_path"]`` and
    ``ctx.obj["storage_options"]`` (a tuple of KEY=VALUE texts), never as parameters."""
    options = [
        click.option(
            "--registry",
            envvar="DSGRID_SQL_REGISTRY",
            metavar="PATH",
            expose_value=False,
            callback=_store("registry"),
            help="dsgrid registry: registry.db, its folder, sqlite:///path, or an s3:// URL "
            "of either (env DSGRID_SQL_REGISTRY).",
        ),
        click.option(
            "--data-path",
            envvar="DSGRID_SQL_DATA_PATH",
            metavar="DIR",
            type=click.Path(file_okay=False),
            expose_value=False,
            callback=_store("data_path"),
            help="Override the registry's data_path, the folder (or s3:// prefix) holding "
            "data/ (env DSGRID_SQL_DATA_PATH).",
        ),
        click.option(
            "--storage-option",
            "storage_option",
            envvar="DSGRID_SQL_STORAGE_OPTIONS",
            metavar="KEY=VALUE",
            multiple=True,
            expose_value=False,
            callback=_store("storage_options"),
            help="How to reach s3:// registries and data, repeatable: endpoint=URL, region=R, "
            "anonymous=true, path_style=true, tls=false, connect_timeout=S, profile=P "
            "(beside the AWS_* environment variables; env DSGRID_SQL_STORAGE_OPTIONS, "
            "space-separated).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function
