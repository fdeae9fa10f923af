"""Cross-department objectives without an admin, through HTTP on the real stack (gateway,
identity, goals, database, NATS).

The customer's objective "On-time delivery ≥ 99 %" has four key results owned in PMC,
purchasing, quality and engineering. The general manager, who manages the four department
heads, builds it: every owner reports to him, directly or through their head (the
key_result.assign rule, docs/security.md). Giving a key result outside one's reporting line
is a 403 naming the rule, and nothing is written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import httpx
import pytest

from services.cli.seed import CROSS_DEPARTMENT_KEY_RESULTS, cross_department_body
from stride.goals.v1 import goals_pb2 as gpb
from stride.identity.v1 import identity_pb2
from tests.integration.gateway_stack import GatewayStack, Person, module_stack, problem

DEPARTMENTS = ("PMC", "Purchasing", "Quality", "Engineering")
# The seed's owner of each key result (employee number) → the department they work in.
HOME = {"D-1007": "PMC", "D-1008": "Purchasing", "D-1004": "Quality", "D-1009": "Engineering"}


@dataclass
class Plant:
    stack: GatewayStack
    cycle: str
    gm: Person  # manages the four heads; no admin, no HR
    heads: dict[str, Person]  # department name → head, reporting to the general manager
    owners: dict[str, Person]  # seed employee number → person, reporting to their head
    departments: dict[str, str]  # name → id
    outsider: Person  # sales, not in the general manager's line

    @property
    def http(self) -> httpx.AsyncClient:  # the anonymous client; headers per request
        return self.stack.http


stack = module_stack("gw-xdept")


@pytest.fixture(scope="module")
async def plant(stack: GatewayStack) -> Plant:
    tag = uuid.uuid4().hex[:6]
    management = await stack.department(f"Management {tag}")
    gm = await stack.person(management.id, name="General Manager")
    departments: dict[str, str] = {"Management": management.id}
    heads: dict[str, Person] = {}
    for name in DEPARTMENTS:
        dept = await stack.department(f"{name} {tag}")
        departments[name] = dept.id
        heads[name] = await stack.person(dept.id, manager_id=gm.id, name=f"{name} head")
        await stack.admin_grpc.identity.UpdateDepartment(
            identity_pb2.UpdateDepartmentRequest(id=dept.id, head_id=heads[name].id)
        )
    owners = {
        number: await stack.person(
            departments[name], manager_id=heads[name].id, name=f"Owner {number}"
        )
        for number, name in HOME.items()
    }
    sales = await stack.department(f"Sales {tag}")
    outsider = await stack.person(sales.id, name="Sales rep")
    start = date.today() - timedelta(weeks=5)
    cycle = await stack.goals.CreateCycle(
        gpb.CreateCycleRequest(
            name=f"Q {tag}",
            start_date=start.isoformat(),
            end_date=(start + timedelta(days=90)).isoformat(),
        )
    )
    return Plant(stack, cycle.id, gm, heads, owners, departments, outsider)


def refused_by_the_reporting_line(r: httpx.Response) -> None:
    body = problem(r, 403, "outside_reporting_line")
    assert body["detail"].startswith("Rule key_result.assign:"), body


async def objectives_of(plant: Plant, who: Person) -> list[str]:
    r = await plant.http.get(
        "/objectives", params={"cycle_id": plant.cycle, "owner_id": who.id}, headers=who.headers
    )
    assert r.status_code == 200, r.text
    return sorted(o["id"] for o in r.json()["items"])


async def test_the_general_manager_builds_the_cross_department_objective(plant: Plant) -> None:
    people = {number: p.id for number, p in plant.owners.items()}
    body = {**cross_department_body(plant.cycle, people, ""), "owner_id": plant.gm.id}
    r = await plant.http.post("/objectives", json=body, headers=plant.gm.headers)
    assert r.status_code == 201, r.text
    objective = r.json()
    assert objective["owner_id"] == plant.gm.id
    assert objective["department_id"] == plant.departments["Management"]
    assert objective["key_result_count"] == 4 and objective["weight_total"] == 100

    r = await plant.http.get(f"/objectives/{objective['id']}/key-results", headers=plant.gm.headers)
    assert r.status_code == 200, r.text
    krs = {k["owner_id"]: k for k in r.json()["items"]}
    # One objective, four key results, four departments: each in its owner's.
    assert set(krs) == set(people.values())
    for number, name in HOME.items():
        assert krs[people[number]]["department_id"] == plant.departments[name]
    assert len({k["department_id"] for k in krs.values()}) == len(DEPARTMENTS)
    assert {k["title"] for k in krs.values()} == {
        kr["title"] for _, kr in CROSS_DEPARTMENT_KEY_RESULTS
    }

    # Each key result is its owner's: the quality engineer finds it among their own and
    # checks in on it.
    engineer = plant.owners["D-1004"]
    r = await plant.http.get(
        "/key-results", params={"cycle_id": plant.cycle}, headers=engineer.headers
    )
    assert r.status_code == 200, r.text
    (mine,) = r.json()["items"]
    assert mine["id"] == krs[engineer.id]["id"]
    r = await plant.http.post(
        f"/key-results/{mine['id']}/check-ins",
        json={"value": 93.5, "confidence": 7},
        headers=engineer.headers,
    )
    assert r.status_code == 201, r.text


async def test_outside_the_reporting_line_is_refused_by_name_and_nothing_is_written(
    plant: Plant,
) -> None:
    pmc_head, engineer = plant.heads["PMC"], plant.owners["D-1004"]
    before = await objectives_of(plant, pmc_head)
    # The PMC head's line is PMC's planner, not the quality engineer: the objective with
    # its key results is refused as a whole.
    r = await plant.http.post(
        "/objectives",
        json={
            "cycle_id": plant.cycle,
            "title": "Material readiness",
            "owner_id": pmc_head.id,
            "key_results": [
                {"title": "Plan adherence", "baseline": 80, "target": 95},
                {
                    "title": "First-article pass",
                    "baseline": 90,
                    "target": 97,
                    "owner_id": engineer.id,
                },
            ],
        },
        headers=pmc_head.headers,
    )
    refused_by_the_reporting_line(r)
    assert await objectives_of(plant, pmc_head) == before

    # Down his own line it works: the planner gets a key result on the head's objective.
    r = await plant.http.post(
        "/objectives",
        json={"cycle_id": plant.cycle, "title": "PMC plan", "owner_id": pmc_head.id},
        headers=pmc_head.headers,
    )
    assert r.status_code == 201, r.text
    pmc_objective = r.json()["id"]
    planner = plant.owners["D-1007"]
    r = await plant.http.post(
        f"/objectives/{pmc_objective}/key-results",
        json={"title": "Plan changes", "baseline": 6, "target": 2, "owner_id": planner.id},
        headers=pmc_head.headers,
    )
    assert r.status_code == 201, r.text
    given = r.json()
    assert given["owner_id"] == planner.id

    # Not sideways to another department's person, not upwards to one's manager.
    for stranger in (engineer, plant.gm):
        r = await plant.http.post(
            f"/objectives/{pmc_objective}/key-results",
            json={"title": "Not yours", "baseline": 0, "target": 1, "owner_id": stranger.id},
            headers=pmc_head.headers,
        )
        refused_by_the_reporting_line(r)
    # Handing one's key result over follows the same rule (the planner has no reports).
    r = await plant.http.patch(
        f"/key-results/{given['id']}", json={"owner_id": engineer.id}, headers=planner.headers
    )
    refused_by_the_reporting_line(r)
    # The general manager's line does not reach another part of the company either.
    r = await plant.http.post(
        "/objectives",
        json={
            "cycle_id": plant.cycle,
            "title": "Key accounts",
            "owner_id": plant.gm.id,
            "key_results": [
                {"title": "Orders", "baseline": 10, "target": 12, "owner_id": plant.outsider.id}
            ],
        },
        headers=plant.gm.headers,
    )
    refused_by_the_reporting_line(r)
    r = await plant.http.get(f"/objectives/{pmc_objective}/key-results", headers=pmc_head.headers)
    assert [k["owner_id"] for k in r.json()["items"]] == [planner.id]
