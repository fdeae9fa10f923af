"""gateway/tokens.py: access tokens (PyJWT, HS256) and where their secret comes from."""

from __future__ import annotations

import base64
import json
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from gateway.policy import Principal
from gateway.tokens import AccessTokens, ConfigurationError, TokenError, access_tokens, jwt_secret
from services.common.settings import GatewaySettings

SECRET = b"s" * 32
ANNA = Principal(
    id="emp-1",
    roles=frozenset({"hr", "manager"}),
    department_id="dep-1",
    name="Anna",
    employee_number="E001",
)


def tokens(now: datetime | None = None) -> AccessTokens:
    if now is None:
        return AccessTokens(SECRET, timedelta(minutes=15))
    return AccessTokens(SECRET, timedelta(minutes=15), now=lambda: now)


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_round_trip() -> None:
    issued = tokens().issue(ANNA)
    assert issued.expires_in == 900
    assert tokens().verify(issued.token) == ANNA
    claims = _claims(issued.token)
    assert claims["iss"] == "stride" and claims["aud"] == "stride-api"
    assert claims["sub"] == "emp-1" and claims["roles"] == ["hr", "manager"]
    assert claims["exp"] - claims["iat"] == 900  # type: ignore[operator]
    assert "pwd_change" not in claims
    assert jwt.get_unverified_header(issued.token)["alg"] == "HS256"


def test_password_change_claim() -> None:
    limited = Principal(id="emp-2", must_change_password=True)
    issued = tokens().issue(limited)
    assert _claims(issued.token)["pwd_change"] is True
    assert tokens().verify(issued.token).must_change_password


def test_expired_and_leeway() -> None:
    old = tokens(datetime.now(UTC) - timedelta(minutes=16)).issue(ANNA)
    with pytest.raises(TokenError) as err:
        tokens().verify(old.token)
    assert err.value.code == "token_expired"
    # Within the 5 s leeway for clocks of different replicas.
    almost = tokens(datetime.now(UTC) - timedelta(minutes=15, seconds=-2)).issue(ANNA)
    assert tokens().verify(almost.token) == ANNA


def test_a_token_checked_before_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    """Verified tokens are remembered, but only until they expire."""
    checker = tokens()
    issued = checker.issue(ANNA)
    assert checker.verify(issued.token) == ANNA
    assert checker.verify(issued.token) == ANNA  # from the cache
    later = issued.expires_at.timestamp() + 60
    monkeypatch.setattr("gateway.tokens.time.time", lambda: later)
    monkeypatch.setattr("jwt.api_jwt.datetime", _FrozenDatetime(later))
    with pytest.raises(TokenError) as err:
        checker.verify(issued.token)
    assert err.value.code == "token_expired"


class _FrozenDatetime:
    """PyJWT's clock (``datetime.now(tz=timezone.utc)``) frozen at ``epoch`` seconds."""

    def __init__(self, epoch: float) -> None:
        self._now = datetime.fromtimestamp(epoch, UTC)

    def now(self, tz: object = None) -> datetime:
        return self._now

    def __getattr__(self, name: str) -> object:
        return getattr(datetime, name)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature
        lambda t: "x" + t,
        lambda t: "",
        lambda t: "a.b.c",
    ],
)
def test_tampered_tokens_are_invalid(mangle) -> None:  # type: ignore[no-untyped-def]
    token = tokens().issue(ANNA).token
    with pytest.raises(TokenError) as err:
        tokens().verify(mangle(token))
    assert err.value.code == "invalid_token"


def _forge(claims: dict[str, object], key: bytes = SECRET, alg: str = "HS256") -> str:
    now = datetime.now(UTC)
    base: dict[str, object] = {
        "iss": "stride",
        "aud": "stride-api",
        "sub": "emp-1",
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "typ": "access",
    }
    return jwt.encode({**base, **claims}, key, algorithm=alg)


@pytest.mark.parametrize(
    "forge",
    # Made when the test runs, not when it is collected: a token forged at collection would
    # have expired by then on a slow run (token_expired, not invalid_token).
    [
        lambda: _forge({}, key=b"another-secret-that-is-long-enough!"),
        lambda: _forge({"aud": "someone-else"}),
        lambda: _forge({"iss": "evil"}),
        lambda: _forge({"typ": "refresh"}),
        lambda: _forge({"roles": "admin"}),  # not a list
        lambda: _forge({"sub": ""}),
        lambda: _forge({}, key=SECRET * 2, alg="HS512"),  # not the algorithm the gateway uses
        lambda: jwt.encode({"sub": "emp-1", "roles": ["admin"]}, key=None, algorithm="none"),
    ],
)
def test_foreign_or_malformed_claims_are_invalid(forge: Callable[[], str]) -> None:
    with pytest.raises(TokenError) as err:
        tokens().verify(forge())
    assert err.value.code == "invalid_token"


def test_missing_claims_are_invalid() -> None:
    now = datetime.now(UTC)
    token = jwt.encode({"sub": "emp-1", "exp": now + timedelta(minutes=1)}, SECRET, "HS256")
    with pytest.raises(TokenError):
        tokens().verify(token)


def test_api_keys_get_no_tokens() -> None:
    with pytest.raises(ValueError, match="API keys"):
        tokens().issue(Principal(id="k", kind="api_key"))


def test_short_secret_or_ttl_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="32 bytes"):
        AccessTokens(b"short", timedelta(minutes=1))
    with pytest.raises(ConfigurationError, match="positive"):
        AccessTokens(SECRET, timedelta(0))


def test_secret_from_settings(tmp_path: Path) -> None:
    given = GatewaySettings(jwt_secret="z" * 40, data_dir=tmp_path)  # type: ignore[arg-type]
    assert jwt_secret(given) == b"z" * 40
    assert not (tmp_path / "jwt.secret").exists()


def test_development_secret_is_generated_once(tmp_path: Path) -> None:
    settings = GatewaySettings(data_dir=tmp_path / "state")
    first = jwt_secret(settings)
    path = tmp_path / "state" / "jwt.secret"
    assert len(first) >= 32 and path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert jwt_secret(settings) == first  # reused by the next start
    assert [p.name for p in path.parent.iterdir()] == ["jwt.secret"]  # no temp files left
    # Tokens survive a restart of the gateway.
    token = access_tokens(settings).issue(ANNA).token
    assert access_tokens(settings).verify(token) == ANNA


def test_production_requires_a_secret(tmp_path: Path) -> None:
    settings = GatewaySettings(environment="production", data_dir=tmp_path)
    with pytest.raises(ConfigurationError, match="STRIDE_JWT_SECRET is required"):
        jwt_secret(settings)
    assert not (tmp_path / "jwt.secret").exists()


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIDE_JWT_SECRET", "e" * 32)
    monkeypatch.setenv("STRIDE_ACCESS_TOKEN_TTL", "600")
    monkeypatch.setenv("STRIDE_ENVIRONMENT", "production")
    settings = GatewaySettings()
    assert settings.access_token_ttl == 600
    assert access_tokens(settings).issue(ANNA).expires_in == 600
    assert "eeee" not in repr(settings)  # a SecretStr


def test_shared_device_claim_and_shorter_lifetime() -> None:
    made = AccessTokens(SECRET, timedelta(minutes=15), shared_ttl=timedelta(minutes=5))
    shared = Principal(id="emp-3", shared_device=True)
    issued = made.issue(shared)
    assert issued.expires_in == 300
    claims = _claims(issued.token)
    assert claims["shared"] is True
    assert claims["exp"] - claims["iat"] == 300  # type: ignore[operator]
    assert made.verify(issued.token).shared_device
    assert "shared" not in _claims(made.issue(ANNA).token)
    assert made.issue(ANNA).expires_in == 900
    with pytest.raises(ConfigurationError):
        AccessTokens(SECRET, timedelta(minutes=15), shared_ttl=timedelta(seconds=-1))
