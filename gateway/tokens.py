"""Access tokens: short-lived HS256 JWTs issued and checked by the gateway (PyJWT).

The identity service is the authority on who may sign in (passwords, refresh tokens, API
keys); the gateway turns a successful sign-in into an access token that every gateway
replica can check without a call, using the shared ``STRIDE_JWT_SECRET``.

Claims: ``iss`` "stride", ``aud`` "stride-api", ``sub`` the employee id, ``iat``/``nbf``/``exp``,
``jti``, ``typ`` "access", ``roles``, ``dept``, ``name``, ``num`` (employee number) and, while
the person must change their password, ``pwd_change`` true: such a token is good only for
changing the password, ``GET /auth/me`` and logging out (see gateway/policy.py). A sign-in
by employee number + PIN on a shared device gets ``shared`` true and the shorter lifetime
``STRIDE_SHARED_DEVICE_TOKEN_TTL`` (no refresh token): such a token may not change
credentials or create API keys (rules with ``personal_device_only``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import structlog

from gateway.policy import Principal
from services.common.settings import GatewaySettings

log = structlog.get_logger(__name__)

ALGORITHM = "HS256"
ISSUER = "stride"
AUDIENCE = "stride-api"
TOKEN_TYPE = "access"
# RFC 7518 §3.2: an HS256 key is at least as long as the hash (32 bytes).
MIN_SECRET_BYTES = 32
# Clock difference tolerated between gateway replicas (seconds).
LEEWAY = 5
SECRET_FILE = "jwt.secret"
# Tokens whose signature and claims were checked, kept (until they expire) so that a client's
# next requests skip the HMAC and the claim checks: a token is the same bytes every time.
VERIFIED_CACHE_SIZE = 4096


class TokenError(Exception):
    """The token is unusable; ``code`` is "token_expired" or "invalid_token"."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class ConfigurationError(RuntimeError):
    """The gateway's settings cannot work (e.g. no JWT secret in production)."""


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    expires_in: int  # seconds


def _now() -> datetime:
    return datetime.now(UTC)


class AccessTokens:
    def __init__(
        self,
        secret: bytes,
        ttl: timedelta,
        *,
        shared_ttl: timedelta | None = None,
        now: Callable[[], datetime] = _now,
    ) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ConfigurationError(
                f"STRIDE_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long"
            )
        if ttl <= timedelta(0):
            raise ConfigurationError("STRIDE_ACCESS_TOKEN_TTL must be positive")
        self._secret = secret
        self.ttl = ttl
        self.shared_ttl = shared_ttl or ttl
        if self.shared_ttl <= timedelta(0):
            raise ConfigurationError("STRIDE_SHARED_DEVICE_TOKEN_TTL must be positive")
        self._now = now
        self._verified: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def issue(self, principal: Principal) -> IssuedToken:
        if principal.is_api_key:
            raise ValueError("API keys are not exchanged for access tokens")
        now = self._now()
        ttl = self.shared_ttl if principal.shared_device else self.ttl
        expires = now + ttl
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": principal.id,
            "iat": now,
            "nbf": now,
            "exp": expires,
            "jti": uuid.uuid4().hex,
            "typ": TOKEN_TYPE,
            "roles": sorted(principal.roles),
            "dept": principal.department_id,
            "name": principal.name,
            "num": principal.employee_number,
        }
        if principal.must_change_password:
            claims["pwd_change"] = True
        if principal.shared_device:
            claims["shared"] = True
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM)
        return IssuedToken(token, expires, int(ttl.total_seconds()))

    def verify(self, token: str) -> Principal:
        cached = self._verified.get(token)
        if cached is not None:
            # The same clock and leeway as PyJWT's own expiry check.
            if time.time() <= cached[0] + LEEWAY:
                self._verified.move_to_end(token)
                return cached[1]
            del self._verified[token]
        principal, expires = self._check(token)
        self._verified[token] = (expires, principal)
        while len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return principal

    def _check(self, token: str) -> tuple[Principal, float]:
        """The principal a token names and its expiry (epoch seconds), or TokenError."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=LEEWAY,
                options={"require": ["exp", "iat", "sub", "iss", "aud", "typ"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("token_expired", "The access token has expired; refresh it.") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenError("invalid_token", "The access token is not valid.") from exc
        roles = claims.get("roles", [])
        if (
            claims.get("typ") != TOKEN_TYPE
            or not isinstance(claims["sub"], str)
            or not claims["sub"]
            or not isinstance(roles, list)
            or not all(isinstance(r, str) for r in roles)
        ):
            raise TokenError("invalid_token", "The access token is not valid.")
        principal = Principal(
            id=claims["sub"],
            roles=frozenset(roles),
            department_id=str(claims.get("dept", "")),
            name=str(claims.get("name", "")),
            employee_number=str(claims.get("num", "")),
            must_change_password=claims.get("pwd_change") is True,
            shared_device=claims.get("shared") is True,
        )
        return principal, float(claims["exp"])


def _read_or_create_secret(path: Path) -> bytes:
    """The development secret in ``path``, created (0600, atomically) on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48) + "\n")
            # link() fails when another process got there first; theirs wins.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
                log.warning(
                    "generated a development JWT secret; set STRIDE_JWT_SECRET in production",
                    path=str(path),
                )
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text().strip().encode()


def jwt_secret(settings: GatewaySettings) -> bytes:
    """``STRIDE_JWT_SECRET``; in development, when unset, ``data_dir/jwt.secret``."""
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value().encode()
    if settings.environment == "production":
        raise ConfigurationError(
            "STRIDE_JWT_SECRET is required when STRIDE_ENVIRONMENT=production "
            f"(at least {MIN_SECRET_BYTES} random bytes, the same on every gateway replica)"
        )
    return _read_or_create_secret(settings.data_dir / SECRET_FILE)


def access_tokens(settings: GatewaySettings) -> AccessTokens:
    return AccessTokens(
        jwt_secret(settings),
        timedelta(seconds=settings.access_token_ttl),
        shared_ttl=timedelta(seconds=settings.shared_device_token_ttl),
    )
