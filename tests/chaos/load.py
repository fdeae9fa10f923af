"""Check-ins through the gateway from many concurrent clients, each retrying what failed.

Every key result's check-ins are sent one after the other in week order (its risk, and so
its escalation, depends on that order); different key results go concurrently. A check-in
answered 5xx, or not answered at all (connection refused or reset, timeout), is sent again
(a check-in replaces that week's: retrying is safe), and so is 409 ``concurrent_check_in``
(a retry that met the original still being written); any other 4xx is recorded and not
retried. The
orchestrating test lets the load run up to a number of check-ins (:meth:`CheckInLoad.allow`)
so that each kill falls in the middle of it.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

RETRY_PAUSE = 0.2
REQUEST_TIMEOUT = 15.0


@dataclass(frozen=True)
class Planned:
    key_result_id: str
    week: str
    value: float


@dataclass(frozen=True)
class Ack:
    key_result_id: str
    check_in_id: str
    week: str
    value: float
    revision: int


@dataclass
class CheckInLoad:
    http: httpx.AsyncClient
    headers: dict[str, str]
    # One list per key result, in week order.
    plans: Sequence[Sequence[Planned]]
    concurrency: int
    acks: list[Ack] = field(default_factory=list)
    # Retried answers by status code (or exception name for no answer).
    retried: Counter[str] = field(default_factory=Counter)
    # 5xx answers that were not problem+json.
    malformed: list[str] = field(default_factory=list)
    # 4xx answers (not retried): there should be none.
    refused: list[str] = field(default_factory=list)
    _allowed: int = 0
    _started: int = 0
    _gate: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def total(self) -> int:
        return sum(len(p) for p in self.plans)

    @property
    def acked(self) -> int:
        return len(self.acks)

    async def allow(self, count: int) -> None:
        """Let the load start up to ``count`` check-ins in all (retries do not count)."""
        async with self._gate:
            self._allowed = min(max(count, self._allowed), self.total)
            self._gate.notify_all()

    async def run(self) -> None:
        queue = deque(self.plans)

        async def client() -> None:
            while queue:
                for planned in queue.popleft():
                    async with self._gate:
                        await self._gate.wait_for(lambda: self._started < self._allowed)
                        self._started += 1
                    await self._check_in(planned)

        await asyncio.gather(*(client() for _ in range(self.concurrency)))

    async def _check_in(self, planned: Planned) -> None:
        while True:
            try:
                r = await self.http.post(
                    f"/key-results/{planned.key_result_id}/check-ins",
                    json={"value": planned.value, "confidence": 5, "week": planned.week},
                    headers=self.headers,
                    timeout=REQUEST_TIMEOUT,
                )
            except httpx.TransportError as err:
                self.retried[type(err).__name__] += 1
                await asyncio.sleep(RETRY_PAUSE)
                continue
            if r.status_code == 201:
                body = r.json()
                self.acks.append(
                    Ack(
                        planned.key_result_id,
                        body["id"],
                        body["week"],
                        body["value"],
                        body["revision"],
                    )
                )
                return
            if r.status_code >= 500 or _concurrent(r):
                self.retried[str(r.status_code)] += 1
                if not r.headers.get("content-type", "").startswith("application/problem+json"):
                    self.malformed.append(f"{r.status_code} {r.text[:200]}")
                await asyncio.sleep(RETRY_PAUSE)
                continue
            self.refused.append(f"{r.status_code} {r.text[:300]}")
            return


def _concurrent(r: httpx.Response) -> bool:
    if r.status_code != 409:
        return False
    try:
        return bool(r.json().get("code") == "concurrent_check_in")
    except ValueError:
        return False
