"""Storage options: how to reach object storage, from ``--storage-option key=value`` pairs and
the standard AWS environment variables.

The environment is read the way the AWS tools read it: ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_PROFILE`` (and ``~/.aws`` files) through
the SDK's own credential chain; ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` and
``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` are read here, because pyarrow's S3 filesystem
does not read the endpoint variables itself. An explicit option wins over the environment.

Secrets (the secret key and the session token) never leave this object in text: ``repr`` and
:meth:`StorageOptions.describe` show them as ``***``, and :meth:`StorageOptions.scrub` removes
them from any message built from a library's error.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from dsgrid_sql.errors import StorageError
from dsgrid_sql.suggest import did_you_mean

# Seconds before a connection attempt / a request is given up: an endpoint that does not
# answer is an error after this long, never a hang.
CONNECT_TIMEOUT_S = 5.0
REQUEST_TIMEOUT_S = 30.0
SECRET_FIELDS = ("secret_access_key", "session_token")
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")
# Other spellings users bring from boto3, s3fs, DuckDB's httpfs and Hadoop's s3a.
ALIASES = {
    "endpoint_url": "endpoint",
    "aws_endpoint_url": "endpoint",
    "region_name": "region",
    "aws_region": "region",
    "anon": "anonymous",
    "access_key": "access_key_id",
    "key": "access_key_id",
    "aws_access_key_id": "access_key_id",
    "secret_key": "secret_access_key",
    "secret": "secret_access_key",
    "aws_secret_access_key": "secret_access_key",
    "token": "session_token",
    "aws_session_token": "session_token",
    "url_style": "path_style",  # DuckDB: url_style=path
    "use_ssl": "tls",
    "ssl": "tls",
}


@dataclass(frozen=True)
class StorageOptions:
    """Where and how to reach S3 or an S3-compatible store. ``None`` leaves a setting to the
    environment and the SDK's defaults."""

    endpoint: str | None = None  # host[:port] or a URL (http:// says TLS off)
    region: str | None = None
    anonymous: bool = False  # public buckets: no credentials looked up, none sent
    path_style: bool | None = None  # bucket in the path (most S3-compatible servers)
    tls: bool | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    profile: str | None = None
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    request_timeout_s: float = REQUEST_TIMEOUT_S

    @classmethod
    def parse(
        cls, pairs: Iterable[str] | Mapping[str, Any] | StorageOptions | None
    ) -> StorageOptions:
        """Options from ``key=value`` texts (the CLI) or a mapping (``connect()``); unknown
        keys and bad values are one-sentence errors."""
        if isinstance(pairs, StorageOptions):
            return pairs
        items: list[tuple[str, Any]] = []
        if isinstance(pairs, Mapping):
            items = list(pairs.items())
        else:
            for text in pairs or ():
                key, sep, value = str(text).partition("=")
                if not sep or not key.strip():
                    raise StorageError(
                        f"The storage option '{_shown_pair(text)}' is not key=value.",
                        hint=f"Keys: {', '.join(option_names())}.",
                    )
                items.append((key, value))
        values: dict[str, Any] = {}
        for raw_key, value in items:
            key = str(raw_key).strip().lower().replace("-", "_")
            key = ALIASES.get(key, key)
            key = {
                "connect_timeout": "connect_timeout_s",
                "request_timeout": "request_timeout_s",
            }.get(key, key)
            if key not in _FIELDS:
                raise StorageError(
                    f"Unknown storage option '{raw_key}'.",
                    suggestion=did_you_mean(str(raw_key), option_names()),
                    hint=f"Keys: {', '.join(option_names())}.",
                )
            values[key] = _convert(key, value)
        return cls(**values)

    def resolved(self) -> StorageOptions:
        """These options with the endpoint and region the environment gives where none was
        set explicitly."""
        endpoint = (
            self.endpoint
            or os.environ.get("AWS_ENDPOINT_URL_S3")
            or os.environ.get("AWS_ENDPOINT_URL")
            or None
        )
        region = (
            self.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        )
        return _replace(self, endpoint=endpoint, region=region or None)

    def endpoint_host(self) -> str | None:
        """The endpoint without its scheme: ``host[:port]``."""
        if not self.endpoint:
            return None
        return self.endpoint.split("://", 1)[-1].rstrip("/")

    def use_tls(self) -> bool:
        """TLS unless switched off, or the endpoint is an ``http://`` URL."""
        if self.tls is not None:
            return self.tls
        return not (self.endpoint or "").lower().startswith("http://")

    def secrets(self) -> list[str]:
        return [v for v in (getattr(self, f) for f in SECRET_FIELDS) if v]

    def scrub(self, text: str) -> str:
        """``text`` with every secret of these options and of the environment replaced."""
        secrets = self.secrets() + [
            os.environ.get(name, "") for name in ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
        ]
        for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def describe(self) -> dict[str, Any]:
        """The options that are set, secrets as ``***`` (for logs and EXPLAIN)."""
        shown: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is None or value == item.default:
                continue
            shown[item.name] = "***" if item.name in SECRET_FIELDS else value
        return shown

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.describe().items())
        return f"StorageOptions({inner})"


_FIELDS = {item.name: item for item in fields(StorageOptions)}


def option_names() -> list[str]:
    names = [name.removesuffix("_s") for name in _FIELDS]
    return names


def is_remote(location: object) -> bool:
    """Whether ``location`` names object storage (``s3://``, ``s3a://``)."""
    from .s3 import S3Path

    if isinstance(location, S3Path):
        return True
    return isinstance(location, str) and location.lower().startswith(("s3://", "s3a://"))


def _convert(key: str, value: Any) -> Any:
    if key in ("anonymous", "path_style", "tls"):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if key == "path_style" and text in ("path", "vhost", "virtual"):
            return text == "path"
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise StorageError(f"The storage option {key} is true or false, not '{value}'.")
    if key in ("connect_timeout_s", "request_timeout_s"):
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = -1.0
        if seconds <= 0:
            raise StorageError(
                f"The storage option {key.removesuffix('_s')} is a number of seconds above 0, "
                f"not '{value}'."
            )
        return seconds
    text = str(value).strip()
    return text or None


def _shown_pair(text: str) -> str:
    """A malformed option as it may be shown: its key only (text without '=' could be a
    pasted secret, so none of it is shown)."""
    key, sep, _ = str(text).partition("=")
    return f"{key.strip()[:40]}=…" if sep else "…"


def _replace(options: StorageOptions, **changes: Any) -> StorageOptions:
    from dataclasses import replace

    return replace(options, **changes)
