"""Failed sign-ins per client address, counted in this gateway (the ``limits`` library's
moving window, in memory).

A client (IP address as uvicorn sees it: behind a proxy set ``FORWARDED_ALLOW_IPS`` so that
``X-Forwarded-For`` names the real client) that failed ``STRIDE_SIGN_IN_CLIENT_LIMIT`` times
(default 30 per minute) is refused with 429 ``too_many_sign_in_attempts`` and ``Retry-After``
until the oldest failure leaves the window, before any password is checked. Only failures
count (wrong credentials, a locked login), so a busy shared address of people who type their
passwords right is not held up. The per-login lockout and the bound on concurrent password
checks live in identity (services/identity/handlers/auth.py, passwords.py).

Each gateway replica counts for itself.
"""

from __future__ import annotations

import math
import time

from fastapi import Request
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from gateway.problems import ProblemError


def parse_limit(limit: str) -> RateLimitItem:
    """``"30/minute"`` and the like (the limits library's notation); ValueError otherwise."""
    return parse(limit)


class SignInThrottle:
    def __init__(self, limit: str) -> None:
        self.item = parse_limit(limit)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def check(self, client: str) -> None:
        """Raise 429 when ``client`` has no failed sign-ins left in the window."""
        if await self.limiter.test(self.item, client):
            return
        stats = await self.limiter.get_window_stats(self.item, client)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        raise ProblemError(
            429,
            "too_many_sign_in_attempts",
            "Too many failed sign-ins from this address; try again later.",
            headers={"Retry-After": str(wait)},
        )

    async def failed(self, client: str) -> None:
        await self.limiter.hit(self.item, client)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
