"""The bound on password hashing (services/identity/passwords.py): at most ``workers`` argon2
runs at once, at most ``queue`` sign-ins wait, the next is refused at once."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import grpc
import pytest
from argon2 import PasswordHasher, profiles

from services.common.errors import DomainError
from services.identity.passwords import Passwords


class Watched(PasswordHasher):
    """The real argon2 hasher; verify waits for ``go`` and records how many run at once."""

    def __init__(self, go: threading.Event) -> None:
        super().__init__(**_params())
        self.go = go
        self.running = 0
        self.most = 0
        self.started = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self._lock:
            self.running += 1
            self.started += 1
            self.most = max(self.most, self.running)
        try:
            assert self.go.wait(10)
            return super().verify(hash, password)
        finally:
            with self._lock:
                self.running -= 1


def _params() -> dict[str, Any]:
    p = profiles.CHEAPEST
    return {
        "time_cost": p.time_cost,
        "memory_cost": p.memory_cost,
        "parallelism": p.parallelism,
        "hash_len": p.hash_len,
        "salt_len": p.salt_len,
    }


async def test_at_most_workers_hash_at_once_and_a_full_queue_is_refused_at_once() -> None:
    passwords = Passwords("CHEAPEST", workers=2, queue=3)
    stored = passwords.hasher.hash("Right-pass-1")
    go = threading.Event()
    watched = passwords.hasher = Watched(go)
    try:
        waiting = [
            asyncio.create_task(passwords.verify(stored, "Right-pass-1" if i % 2 else "wrong"))
            for i in range(5)  # 2 running + 3 queued
        ]
        await asyncio.sleep(0)  # let the five start (and take their places)
        # Known and unknown logins alike: a sixth sign-in is refused without waiting.
        for check in (passwords.verify(stored, "x"), passwords.waste_time("x")):
            with pytest.raises(DomainError) as busy:
                await check
            assert busy.value.code == "sign_in_busy"
            assert busy.value.status == grpc.StatusCode.UNAVAILABLE
            assert busy.value.retry_after == 1
        go.set()
        assert await asyncio.gather(*waiting) == [False, True, False, True, False]
        assert watched.most == 2 and watched.started == 5
        # The queue drained: sign-ins are accepted again; setting a password never is refused.
        assert await passwords.verify(stored, "Right-pass-1")
        assert await passwords.verify(await passwords.hash("Other-pass-2"), "Other-pass-2")
    finally:
        go.set()
        await passwords.close()


def test_by_default_half_the_cores_hash() -> None:
    import os

    passwords = Passwords("CHEAPEST")
    assert passwords.workers == max(1, (os.cpu_count() or 2) // 2)
    assert passwords.queue == 32
