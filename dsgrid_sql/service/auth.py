"""Authentication shared by every network front end (Flight SQL, HTTP): Basic credentials →
a signed, expiring Bearer token; Bearer on every call.

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
import math
import os
import secrets
import time
import tomllib
from pathlib import Path

from dsgrid_sql.errors import DsgridSqlError

ANONYMOUS = "anonymous"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class AuthConfigError(DsgridSqlError):
    code = "auth_config"


class AuthenticationError(DsgridSqlError):
    """The caller is not signed in: no, malformed, wrong or expired credentials."""

    code = "unauthenticated"


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
        # Whole seconds, rounded up: a token lives at least ttl_s (truncated, a 1 s token
        # issued at x.95 s was expired 0.05 s later).
        expires = math.ceil((now or time.time()) + self.ttl_s)
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


def sign_in(auth: Authenticator, authorization: str | None) -> tuple[str, str | None]:
    """The caller's user name from an ``Authorization`` header value, and a new token when
    the caller signed in with Basic credentials (None for a Bearer token). With auth off,
    everyone is ``anonymous``."""
    if not auth.enabled:
        return ANONYMOUS, None
    scheme, _, credential = (authorization or "").partition(" ")
    scheme = scheme.lower()
    if scheme == "basic":
        try:
            # The Go ADBC driver sends base64 without its "=" padding.
            raw = credential.strip()
            decoded = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
            user, _, password = decoded.decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise AuthenticationError("Malformed Basic credentials") from None
        if not auth.check_password(user, password):
            raise AuthenticationError("Invalid user name or password")
        return user, auth.issue(user)
    if scheme == "bearer":
        user = auth.verify(credential.strip())
        if user is None:
            raise AuthenticationError("The token is invalid or expired; sign in again")
        return user, None
    raise AuthenticationError(
        "Authentication is required: send Basic credentials or a Bearer token"
    )
