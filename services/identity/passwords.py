"""Password hashing (argon2): slow on purpose, so it runs in a thread off the event loop."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from services.identity import credentials


class Passwords:
    def __init__(self, profile: str) -> None:
        try:
            params = getattr(profiles, profile)
        except AttributeError as exc:
            raise ValueError(f"unknown STRIDE_PASSWORD_HASH_PROFILE {profile!r}") from exc
        self.hasher = PasswordHasher.from_parameters(params)
        # Verified against when the login is unknown, so both paths take as long.
        self._dummy = self.hasher.hash(credentials.new_secret())

    async def verify(self, password_hash: str, password: str) -> bool:
        def check() -> bool:
            try:
                return self.hasher.verify(password_hash, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(check)

    async def waste_time(self, password: str) -> None:
        """As long as a real verification (an unknown login must not answer faster)."""
        await self.verify(self._dummy, password)

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self.hasher.hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self.hasher.check_needs_rehash(password_hash)
