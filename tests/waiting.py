"""Waiting on a condition (never on time alone) in tests."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio.service import RPCError


async def until(
    condition: Callable[[], bool | Awaitable[bool]],
    timeout: float = 30.0,
    *,
    what: str = "the condition",
    interval: float = 0.05,
) -> None:
    """Return once ``condition()`` (sync or async) is true; AssertionError after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:.0f}s")
        await asyncio.sleep(interval)


async def eventually(
    check: Callable[[], Any],
    timeout: float = 30.0,
    *,
    interval: float = 0.2,
    retry_on: tuple[type[BaseException], ...] = (AssertionError, RPCError),
) -> Any:
    """``check()``'s result (sync or async) once it stops raising ``retry_on`` (an assertion
    not yet true; Temporal not answering yet); its last error after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            result = check()
            if inspect.isawaitable(result):
                result = await result
            return result
        except retry_on:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(interval)


async def skip_to(env: Any, instant: Any, *, attempts: int = 3) -> None:
    """Move the time-skipping server's clock to ``instant`` (``env.sleep`` by what is left).

    A sleep call can lose its connection on a loaded machine ("h2 protocol error") after time
    has partly moved; asking again for what is left then lands on the same instant.
    """
    for attempt in range(attempts):
        left = instant - await env.get_current_time()
        if left.total_seconds() <= 0:
            return
        try:
            await env.sleep(left)
            return
        except RPCError:
            if attempt == attempts - 1:
                raise


def midday_zone() -> str:
    """An IANA zone (``Etc/GMT±N``) where it is about noon now: tests of calendar windows
    (shift, day, week) whose samples are "now" then never straddle a boundary, whatever the
    hour the suite runs at (Shanghai's midnight is 16:00 UTC)."""
    from datetime import UTC, datetime

    offset = max(-12, min(14, 12 - datetime.now(UTC).hour))
    # POSIX sign convention: Etc/GMT-8 is UTC+8.
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"
