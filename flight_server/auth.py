"""Authentication: Basic credentials → a signed, expiring Bearer token; Bearer on every call.

Users live in a TOML file with scrypt password hashes (never plain text)::

    [users.alice]
    password = "scrypt$16384$8$1$<salt>$<hash>"

``dsgrid-sql users add FILE NAME`` writes entries. Tokens are
``base64(payload).base64(hmac_sha256(payload))`` with the user and an expiry; the secret is
random per server start unless configured. Nothing secret is ever logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
import tomllib
from pathlib import Path

import pyarrow.flight as flight

from dsgrid_sql.errors import DsgridSqlError

ANONYMOUS = "anonymous"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class AuthConfigError(DsgridSqlError):
    code = "auth_config"


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    n, r, p = _SCRYPT["n"], _SCRYPT["r"], _SCRYPT["p"]
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        actual = hashlib.scrypt(
            password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, _unb64(digest))


def load_users(path: str | Path) -> dict[str, str]:
    """user → password hash, from a users file."""
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text())
    except FileNotFoundError:
        raise AuthConfigError(f"The users file '{file}' does not exist.") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AuthConfigError(f"The users file '{file}' is not valid TOML: {exc}.") from None
    users = data.get("users", {})
    result = {}
    for name, entry in users.items():
        stored = entry.get("password") if isinstance(entry, dict) else None
        if not isinstance(stored, str) or not stored.startswith("scrypt$"):
            raise AuthConfigError(
                f"User '{name}' in '{file}' has no scrypt password hash.",
                hint="Write entries with `dsgrid-sql users add FILE NAME`.",
            )
        result[name] = stored
    return result


def add_user(path: str | Path, name: str, password: str) -> None:
    """Add or replace one user in a users file, written atomically."""
    file = Path(path)
    users = load_users(file) if file.exists() else {}
    users[name] = hash_password(password)
    lines = ["# dsgrid-sql users: scrypt password hashes (dsgrid-sql users add FILE NAME)."]
    for user, stored in sorted(users.items()):
        lines += ["", f"[users.{json.dumps(user)}]", f"password = {json.dumps(stored)}"]
    temporary = file.with_name(f".{file.name}.tmp")
    temporary.write_text("\n".join(lines) + "\n")
    os.chmod(temporary, 0o600)
    temporary.replace(file)


class Authenticator:
    """Checks credentials and issues/verifies tokens. ``users=None`` turns auth off."""

    def __init__(
        self, users: dict[str, str] | None, *, ttl_s: int = 8 * 3600, secret: bytes | None = None
    ) -> None:
        self.users = users
        self.ttl_s = ttl_s
        self._secret = secret or secrets.token_bytes(32)

    @property
    def enabled(self) -> bool:
        return self.users is not None

    def check_password(self, user: str, password: str) -> bool:
        stored = (self.users or {}).get(user)
        if stored is None:
            verify_password(password, hash_password("timing"))  # same cost either way
            return False
        return verify_password(password, stored)

    def issue(self, user: str, now: float | None = None) -> str:
        expires = int((now or time.time()) + self.ttl_s)
        payload = _b64(json.dumps({"u": user, "e": expires}).encode())
        return f"{payload}.{self._sign(payload)}"

    def verify(self, token: str, now: float | None = None) -> str | None:
        """The user a token names, or None when it is forged, malformed or expired."""
        payload, _, signature = token.partition(".")
        if not payload or not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            claims = json.loads(_unb64(payload))
            user, expires = claims["u"], claims["e"]
        except (ValueError, KeyError, TypeError):
            return None
        if (now or time.time()) >= expires or user not in (self.users or {}):
            return None
        return str(user)

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _header(headers: dict[str, list[str]], name: str) -> str | None:
    for key, values in headers.items():
        if key.lower() == name and values:
            value = values[0]
            return value.decode() if isinstance(value, bytes) else value
    return None


class CallIdentity(flight.ServerMiddleware):
    """Who is calling (read by handlers via ``context.get_middleware("auth")``)."""

    def __init__(self, user: str, token: str | None = None, cookie: str | None = None) -> None:
        self.user = user
        self._token = token
        self.cookie = cookie

    def sending_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self._token}"} if self._token else {}


class AuthMiddlewareFactory(flight.ServerMiddlewareFactory):
    """Basic → Bearer on Handshake (or on any call); Bearer verified on every call."""

    def __init__(self, authenticator: Authenticator) -> None:
        self.auth = authenticator

    def start_call(self, info: flight.CallInfo, headers: dict[str, list[str]]) -> CallIdentity:
        cookie = _header(headers, "cookie")
        value = _header(headers, "authorization") or ""
        scheme, _, credential = value.partition(" ")
        scheme = scheme.lower()
        if not self.auth.enabled:
            return CallIdentity(ANONYMOUS, cookie=cookie)
        if scheme == "basic":
            try:
                # The Go ADBC driver sends base64 without its "=" padding.
                raw = credential.strip()
                decoded = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
                user, _, password = decoded.decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise flight.FlightUnauthenticatedError("Malformed Basic credentials") from None
            if not self.auth.check_password(user, password):
                raise flight.FlightUnauthenticatedError("Invalid user name or password")
            return CallIdentity(user, token=self.auth.issue(user), cookie=cookie)
        if scheme == "bearer":
            user = self.auth.verify(credential.strip())
            if user is None:
                raise flight.FlightUnauthenticatedError(
                    "The token is invalid or expired; sign in again"
                )
            is_handshake = info.method == flight.FlightMethod.HANDSHAKE
            # Echo the token on Handshake: JDBC's token= connections read it back.
            return CallIdentity(user, token=credential.strip() if is_handshake else None,
                                cookie=cookie)  # fmt: skip
        raise flight.FlightUnauthenticatedError(
            "Authentication is required: send Basic credentials or a Bearer token"
        )
