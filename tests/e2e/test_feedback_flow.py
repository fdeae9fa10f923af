"""End to end: a goal challenge and anonymous upward feedback through the real stack.

The gateway, the feedback process (which asks goals for the objective and identity for
people, managers and the inbox) and the others run as processes under ``stride up``'s
supervisor (conftest.py); everything goes through the REST API.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from services.common.channels import channel
from services.identity.bootstrap import Bootstrap
from stride.identity.v1 import identity_pb2
from tests.e2e.api import post
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

PASSWORD = "Feedback-e2e-pass-1"


async def signed_in(stack: Stack, person: dict[str, Any]) -> dict[str, str]:
    async with channel(stack.config.service_addr("identity"), actor="e2e-setup") as ch:
        await Bootstrap(ch).set_password(
            identity_pb2.Employee(id=person["id"]), PASSWORD, must_change=False
        )
    r = await stack.api.post(
        "/auth/login", json={"login": person["employee_number"], "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


async def test_a_challenge_is_answered_and_anonymous_upward_feedback_is_aggregated(
    stack: Stack,
) -> None:
    tag = uuid.uuid4().hex[:6]
    line = await post(stack, "/departments", {"name": f"Line {tag}"})

    async def employee(name: str, manager: str = "") -> dict[str, Any]:
        number = f"FB{uuid.uuid4().hex[:6]}"
        return dict(
            await post(
                stack,
                "/employees",
                {
                    "employee_number": number,
                    "name": name,
                    "email": f"{number.lower()}@example.com",
                    "department_id": line["id"],
                    "manager_id": manager,
                },
            )
        )

    lead = await employee("Line lead")
    team = [await employee(f"Operator {i}", lead["id"]) for i in range(3)]
    headers = {p["id"]: await signed_in(stack, p) for p in (lead, *team)}
    owner, peer = team[0], team[1]
    today = date.today()
    cycle = await post(
        stack,
        "/cycles",
        {
            "name": f"Feedback e2e {tag}",
            "start_date": (today - timedelta(days=7)).isoformat(),
            "end_date": (today + timedelta(days=80)).isoformat(),
        },
    )
    objective = await post(
        stack,
        "/objectives",
        {
            "cycle_id": cycle["id"],
            "title": "Changeover under 10 minutes",
            "owner_id": owner["id"],
            "visibility": "public",
        },
    )
    api = stack.api
    challenge = ok(
        await api.post(
            f"/objectives/{objective['id']}/challenges",
            json={"text": "Without a second crane?"},
            headers=headers[peer["id"]],
        ),
        201,
    )
    seen = ok(
        await api.get(
            "/challenges", params={"reports": "true", "status": "open"}, headers=headers[lead["id"]]
        )
    )
    assert challenge["id"] in {c["id"] for c in seen["items"]}
    answered = ok(
        await api.post(
            f"/challenges/{challenge['id']}/answer",
            json={"text": "Yes: SMED on the die carts"},
            headers=headers[owner["id"]],
        )
    )
    assert answered["status"] == "answered"

    for i, person in enumerate(team):
        ok(
            await api.post(
                "/me/upward-feedback",
                json={"text": f"Note {i}", "anonymous": True},
                headers=headers[person["id"]],
            ),
            201,
        )
    r = await api.get("/me/upward-feedback", headers=headers[lead["id"]])
    summary = ok(r)
    assert summary["anonymous"]["released"] and summary["anonymous"]["authors"] == 3
    assert sorted(summary["anonymous"]["texts"]) == ["Note 0", "Note 1", "Note 2"]
    assert all(p["id"] not in r.text for p in team)
