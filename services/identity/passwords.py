"""Password hashing (argon2): slow on purpose, so it runs off the event loop, in a pool of its
own with a bounded number of threads.

Each verification costs ~110-150 ms of CPU in production; unbounded, a password spray from a
few clients took every core and made a real user's sign-in 15 times slower. So:

- at most ``workers`` hashes run at once (default: half the cores, at least one), leaving the
  other cores to everything else the process does;
- at most ``queue`` verifications wait for a thread; one more is refused at once with
  ``sign_in_busy`` (gRPC UNAVAILABLE, ``Retry-After: 1``) instead of waiting ever longer.
  Known and unknown logins queue alike (an unknown one verifies against a dummy hash).
  Setting a password (a change, a reset, invitations) waits instead of being refused.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import grpc
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from services.common.errors import DomainError
from services.identity import credentials

T = TypeVar("T")


def default_workers() -> int:
    return max(1, (os.cpu_count() or 2) // 2)


class Passwords:
    def __init__(self, profile: str, *, workers: int = 0, queue: int = 32) -> None:
        try:
            params = getattr(profiles, profile)
        except AttributeError as exc:
            raise ValueError(f"unknown STRIDE_PASSWORD_HASH_PROFILE {profile!r}") from exc
        self.hasher = PasswordHasher.from_parameters(params)
        self.workers = workers or default_workers()
        self.queue = queue
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="argon2")
        self._verifying = 0
        # Verified against when the login is unknown, so both paths take as long.
        self._dummy = self.hasher.hash(credentials.new_secret())

    async def _run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, work)

    async def verify(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` matches; ``sign_in_busy`` when too many are waiting."""

        def check() -> bool:
            try:
                return self.hasher.verify(password_hash, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

        if self._verifying >= self.workers + self.queue:
            raise DomainError(
                "sign_in_busy",
                "too many sign-ins at once: try again in a moment",
                status=grpc.StatusCode.UNAVAILABLE,
                retry_after=1,
            )
        self._verifying += 1
        try:
            return await self._run(check)
        finally:
            self._verifying -= 1

    async def waste_time(self, password: str) -> None:
        """As long as a real verification (an unknown login must not answer faster)."""
        await self.verify(self._dummy, password)

    async def hash(self, password: str) -> str:
        return await self._run(lambda: self.hasher.hash(password))

    def needs_rehash(self, password_hash: str) -> bool:
        return self.hasher.check_needs_rehash(password_hash)

    async def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
