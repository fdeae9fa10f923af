"""Ops find KR escalations by search attribute: StrideCycle, StrideDepartment, StrideRiskLevel.

Two departments and two cycles, three key results that go at risk (cycle A in both
departments, cycle B in one), one of them pushed on to "red". Every filter, through the
``temporal`` CLI and through the Temporal client, must find exactly the escalations it names:
a filter that ignored the cycle, the department or the level would find too many.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from temporalio.client import Client

from tests.e2e.api import post, temporal_cli_list, unique, week
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ESCALATIONS = "WorkflowType = 'KrEscalationWorkflow'"


@dataclass
class World:
    cycles: dict[str, str]  # "A" / "B" → cycle id
    departments: dict[str, str]  # "X" / "Y" → department id
    escalations: dict[str, str]  # "AX", "AY", "BX" → workflow id


async def _person(stack: Stack, department_id: str) -> dict[str, Any]:
    n = uuid.uuid4().hex[:6]
    return dict(
        await post(
            stack,
            "/employees",
            {
                "employee_number": f"S-{n}",
                "name": "Search Owner",
                "email": f"s-{n}@example.com",
                "department_id": department_id,
            },
        )
    )


@pytest.fixture(scope="module")
async def world(stack: Stack) -> World:
    departments = {
        d: (await post(stack, "/departments", {"name": unique(f"Dept {d}")}))["id"]
        for d in ("X", "Y")
    }
    owners = {d: await _person(stack, departments[d]) for d in departments}
    start = date.today() - timedelta(weeks=8, days=date.today().weekday())
    cycles = {
        c: (
            await post(
                stack,
                "/cycles",
                {
                    "name": unique(f"Search cycle {c}"),
                    "start_date": start.isoformat(),
                    "end_date": (start + timedelta(weeks=13, days=-1)).isoformat(),
                },
            )
        )["id"]
        for c in ("A", "B")
    }
    escalations: dict[str, str] = {}
    for key in ("AX", "AY", "BX"):
        owner = owners[key[1]]
        objective = await post(
            stack,
            "/objectives",
            {"cycle_id": cycles[key[0]], "title": f"Objective {key}", "owner_id": owner["id"]},
        )
        kr = await post(
            stack,
            f"/objectives/{objective['id']}/key-results",
            {"title": f"KR {key}", "owner_id": owner["id"], "baseline": 0, "target": 100},
        )
        # Two lagging weeks: at risk (level 1, "warning"); AX lags a third week: "red".
        weeks = 3 if key == "AX" else 2
        for n in range(weeks):
            await post(
                stack,
                f"/key-results/{kr['id']}/check-ins",
                {"value": n + 1.0, "confidence": 3, "week": week(start + timedelta(weeks=2 + n))},
            )
        escalations[key] = f"kr-escalation/{kr['id']}"
    return World(cycles, departments, escalations)


def _cases(w: World) -> list[tuple[str, set[str]]]:
    """(query, the escalations it must find exactly)."""
    e = w.escalations
    a, b = w.cycles["A"], w.cycles["B"]
    x, y = w.departments["X"], w.departments["Y"]
    return [
        (f"StrideCycle = '{a}'", {e["AX"], e["AY"]}),
        (f"StrideCycle = '{b}'", {e["BX"]}),
        (f"StrideDepartment = '{x}'", {e["AX"], e["BX"]}),
        (f"StrideDepartment = '{y}'", {e["AY"]}),
        (f"StrideCycle = '{a}' AND StrideDepartment = '{y}'", {e["AY"]}),
        (f"StrideCycle = '{b}' AND StrideDepartment = '{y}'", set()),
        (f"StrideCycle = '{a}' AND StrideRiskLevel = 'red'", {e["AX"]}),
        (f"StrideCycle = '{a}' AND StrideRiskLevel = 'warning'", {e["AY"]}),
        (
            f"StrideDepartment = '{x}' AND StrideRiskLevel = 'warning'",
            {e["BX"]},
        ),
    ]


async def _until_found(list_ids: Any, query: str, expected: set[str], timeout: float = 60) -> None:
    """Visibility is eventually consistent: retry until the listing settles on ``expected``."""
    deadline = time.monotonic() + timeout
    while True:
        found = set(await list_ids(f"{ESCALATIONS} AND {query}"))
        if found == expected:
            return
        assert time.monotonic() < deadline, f"{query}: found {found}, want {expected}"
        await asyncio.sleep(0.5)


async def test_temporal_client_filters_find_exactly_the_escalations(
    stack: Stack, world: World
) -> None:
    client = await Client.connect(stack.config.temporal_address, namespace="default")

    async def list_ids(query: str) -> list[str]:
        return [w.id async for w in client.list_workflows(query)]

    for query, expected in _cases(world):
        await _until_found(list_ids, query, expected)


async def test_temporal_cli_filters_find_exactly_the_escalations(
    stack: Stack, world: World
) -> None:
    async def list_ids(query: str) -> list[str]:
        return await temporal_cli_list(stack.config.temporal_address, query)

    for query, expected in _cases(world):
        await _until_found(list_ids, query, expected)
