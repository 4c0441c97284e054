"""Flight's side of authentication (service/auth.py holds users, passwords and tokens):
Basic → Bearer on Handshake (or on any call), Bearer verified on every call."""

from __future__ import annotations

import pyarrow.flight as flight

from dsgrid_sql.service.auth import (  # noqa: F401 - re-exported for the CLI and tests
    ANONYMOUS,
    AuthConfigError,
    AuthenticationError,
    Authenticator,
    add_user,
    hash_password,
    load_users,
    sign_in,
    verify_password,
)


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
        value = _header(headers, "authorization")
        try:
            user, token = sign_in(self.auth, value)
        except AuthenticationError as exc:
            raise flight.FlightUnauthenticatedError(exc.message) from None
        if token is None and self.auth.enabled and info.method == flight.FlightMethod.HANDSHAKE:
            # Echo the token on Handshake: JDBC's token= connections read it back.
            token = (value or "").partition(" ")[2].strip()
        return CallIdentity(user, token=token, cookie=cookie)
