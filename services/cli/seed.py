"""A small demo organisation, created through the gateway's REST API (``stride up``).

Idempotent: every item is looked up by a natural key (department name, employee number,
cycle name, objective title, key result title) and only created when missing, so a second
``stride up`` — or one after an interrupted seed — creates nothing twice. An organisation
that already has data of its own (departments that are not the demo's) is left alone.

The API needs a signed-in caller: first a demo admin (login ``admin``) is made straight
through identity's gRPC API, as ``stride admin create`` does, with the password given or a
fresh random one (set again on every start); the seed then signs in as that admin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import grpc
import httpx

from services.common.channels import channel
from services.common.errors import DomainError
from services.identity.bootstrap import Bootstrap, generate_password

API = "/api/v1"
# The demo admin: login (employee number), name, department.
DEMO_ADMIN = ("admin", "Demo Admin", "Production")

DEPARTMENTS = ("Production", "Quality", "Sales", "PMC", "Purchasing", "Engineering")
# (employee number, name, department, manager's employee number)
EMPLOYEES = (
    ("D-1001", "Chen Wei", "Production", ""),
    ("D-1002", "Li Na", "Production", "D-1001"),
    ("D-1003", "Wang Fang", "Production", "D-1002"),
    ("D-1004", "Zhang Jun", "Quality", "D-1001"),
    ("D-1005", "Liu Yang", "Quality", "D-1004"),
    ("D-1006", "Zhao Min", "Sales", "D-1001"),
    ("D-1007", "Sun Hao", "PMC", "D-1001"),
    ("D-1008", "Zhou Lei", "Purchasing", "D-1001"),
    ("D-1009", "Wu Jing", "Engineering", "D-1001"),
)
OBJECTIVE = "Make line 3 the plant's most reliable line"
OBJECTIVE_OWNER = "D-1002"
# (title, baseline, target, unit)
KEY_RESULTS = (
    ("First-pass yield on line 3", 92.0, 97.0, "%"),
    ("Unplanned downtime per month", 40.0, 12.0, "h"),
    ("Operators certified on the new press", 0.0, 24.0, "people"),
)


# The company objective the cross-department one aligns to: (title, owner).
COMPANY_OBJECTIVE = ("Deliver every customer order on time", "D-1001")
# One objective whose key results are owned by four departments (PMC, purchasing, quality,
# engineering): (title, owner).
CROSS_DEPARTMENT_OBJECTIVE = ("On-time delivery ≥ 99 %", "D-1007")
# (owner's employee number, key result as the REST API takes it).
CROSS_DEPARTMENT_KEY_RESULTS: tuple[tuple[str, dict[str, Any]], ...] = (
    (
        "D-1007",
        {
            "title": "Production plan changes ≤ 2 per month",
            "direction": "stay_within",
            "lower_bound": 0,
            "upper_bound": 2,
            "unit": "changes/month",
            "weight": 20,
        },
    ),
    (
        "D-1008",
        {
            "title": "Material arriving on time ≥ 98 %",
            "kind": "percentage",
            "baseline": 92,
            "target": 98,
            "unit": "%",
            "weight": 30,
        },
    ),
    (
        "D-1004",
        {
            "title": "First-article pass rate ≥ 97 %",
            "kind": "percentage",
            "baseline": 90,
            "target": 97,
            "unit": "%",
            "weight": 30,
        },
    ),
    (
        "D-1009",
        {
            "title": "Unplanned downtime ≤ 4 h per week",
            "direction": "stay_within",
            "lower_bound": 0,
            "upper_bound": 4,
            "unit": "h/week",
            "weight": 20,
        },
    ),
)


def company_objective_body(cycle_id: str, owner_id: str) -> dict[str, Any]:
    return {
        "cycle_id": cycle_id,
        "title": COMPANY_OBJECTIVE[0],
        "owner_id": owner_id,
        "level": "company",
        "visibility": "public",
    }


def cross_department_body(
    cycle_id: str, people: Mapping[str, str], parent_id: str
) -> dict[str, Any]:
    """POST /objectives body of the cross-department objective; ``people``: employee number
    → employee id of the owners named above."""
    title, owner = CROSS_DEPARTMENT_OBJECTIVE
    return {
        "cycle_id": cycle_id,
        "title": title,
        "description": "PMC, purchasing, quality and engineering each own one key result.",
        "owner_id": people[owner],
        "level": "department",
        "visibility": "public",
        "parent_id": parent_id,
        "key_results": [
            {**kr, "owner_id": people[number]} for number, kr in CROSS_DEPARTMENT_KEY_RESULTS
        ],
    }


@dataclass
class SeedResult:
    created: dict[str, int] = field(default_factory=dict)
    skipped: str = ""
    # How to sign in as the demo admin (empty when the seed was skipped).
    admin_login: str = ""
    admin_password: str = ""

    def count(self, kind: str) -> None:
        self.created[kind] = self.created.get(kind, 0) + 1

    def summary(self) -> str:
        return ", ".join(f"{n} {kind}{'' if n == 1 else 's'}" for kind, n in self.created.items())

    @property
    def total(self) -> int:
        return sum(self.created.values())


def quarter_of(day: date) -> tuple[str, date, date]:
    """(name, first day, last day) of the calendar quarter containing ``day``."""
    q = (day.month - 1) // 3
    start = date(day.year, 3 * q + 1, 1)
    end = date(day.year + 1, 1, 1) if q == 3 else date(day.year, 3 * q + 4, 1)
    return f"{day.year}-Q{q + 1}", start, date.fromordinal(end.toordinal() - 1)


class SeedError(RuntimeError):
    pass


async def _items(client: httpx.AsyncClient, path: str, **params: str) -> AsyncIterator[Any]:
    token = ""
    while True:
        resp = await client.get(path, params={**params, "page_size": "100", "page_token": token})
        _check(resp)
        body = resp.json()
        for item in body["items"]:
            yield item
        token = body.get("next_page_token", "")
        if not token:
            return


async def _all(client: httpx.AsyncClient, path: str, **params: str) -> list[Any]:
    return [item async for item in _items(client, path, **params)]


def _check(resp: httpx.Response) -> None:
    if resp.is_success:
        return
    try:
        problem = resp.json()
        detail = f"{problem.get('code')}: {problem.get('detail')}"
    except ValueError:
        detail = resp.text[:200]
    raise SeedError(f"{resp.request.method} {resp.request.url.path} → {resp.status_code} {detail}")


async def _create(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> Any:
    resp = await client.post(path, json=body)
    _check(resp)
    return resp.json()


async def _demo_admin(identity_addr: str, password: str, result: SeedResult) -> bool:
    """Make (or refresh) the demo admin; False when the organisation is not the demo's."""
    login, name, department = DEMO_ADMIN
    try:
        async with channel(identity_addr) as ch:
            boot = Bootstrap(ch)
            names = {d.name for d in await boot.departments()}
            if names - set(DEPARTMENTS):
                return False
            account = await boot.ensure_admin(
                employee_number=login,
                name=name,
                email=f"{login}@demo.stride.example",
                department=department,
                password=password,
            )
    except DomainError as exc:
        raise SeedError(f"demo admin: {exc.code}: {exc.message}") from exc
    except grpc.aio.AioRpcError as exc:
        raise SeedError(f"demo admin: identity at {identity_addr}: {exc.details()}") from exc
    if department not in names:
        result.count("department")
    result.admin_login, result.admin_password = account.login, password
    return account.created


async def _demo_passwords(identity_addr: str, employee_ids: list[str], password: str) -> None:
    if not employee_ids:
        return
    try:
        async with channel(identity_addr) as ch:
            boot = Bootstrap(ch)
            for employee_id in employee_ids:
                await boot.set_password(await boot.employee(employee_id), password)
    except DomainError as exc:
        raise SeedError(f"demo people: {exc.code}: {exc.message}") from exc
    except grpc.aio.AioRpcError as exc:
        raise SeedError(f"demo people: identity at {identity_addr}: {exc.details()}") from exc


async def seed_demo(
    gateway_url: str,
    *,
    identity_addr: str,
    admin_password: str | None = None,
    today: date | None = None,
) -> SeedResult:
    result = SeedResult()
    password = admin_password or generate_password()
    admin_created = await _demo_admin(identity_addr, password, result)
    if not result.admin_login:
        result.skipped = "the organisation already has its own data"
        return result
    async with httpx.AsyncClient(base_url=gateway_url + API, timeout=30.0) as client:
        resp = await client.post("/auth/login", json={"login": DEMO_ADMIN[0], "password": password})
        _check(resp)
        client.headers["Authorization"] = f"Bearer {resp.json()['access_token']}"
        departments = {d["name"]: d for d in await _all(client, "/departments")}
        foreign = set(departments) - set(DEPARTMENTS)
        if foreign:
            result.skipped = "the organisation already has its own data"
            return result

        for name in DEPARTMENTS:
            if name not in departments:
                departments[name] = await _create(client, "/departments", {"name": name})
                result.count("department")

        employees = {e["employee_number"]: e for e in await _all(client, "/employees")}
        for number, name, dept, manager in EMPLOYEES:
            if number in employees:
                continue
            employees[number] = await _create(
                client,
                "/employees",
                {
                    "employee_number": number,
                    "name": name,
                    "email": f"{number.lower()}@demo.stride.example",
                    "department_id": departments[dept]["id"],
                    "manager_id": employees[manager]["id"] if manager else "",
                },
            )
            result.count("employee")
        # The demo people sign in with their employee number and the demo admin's password
        # (refreshed at every start, as the admin's is).
        await _demo_passwords(identity_addr, [employees[n[0]]["id"] for n in EMPLOYEES], password)

        name, start, end = quarter_of(today or date.today())
        cycles = {c["name"]: c for c in await _all(client, "/cycles")}
        cycle = cycles.get(name)
        if cycle is None:
            cycle = await _create(
                client,
                "/cycles",
                {"name": name, "start_date": start.isoformat(), "end_date": end.isoformat()},
            )
            result.count("cycle")

        objectives = {
            o["title"]: o for o in await _all(client, "/objectives", cycle_id=cycle["id"])
        }
        objective = objectives.get(OBJECTIVE)
        if objective is None:
            objective = await _create(
                client,
                "/objectives",
                {
                    "cycle_id": cycle["id"],
                    "title": OBJECTIVE,
                    "description": "Fewer stops, fewer rejects, more certified operators.",
                    "owner_id": employees[OBJECTIVE_OWNER]["id"],
                },
            )
            result.count("objective")

        company = objectives.get(COMPANY_OBJECTIVE[0])
        if company is None:
            owner_id = employees[COMPANY_OBJECTIVE[1]]["id"]
            company = await _create(
                client, "/objectives", company_objective_body(cycle["id"], owner_id)
            )
            result.count("objective")
        if CROSS_DEPARTMENT_OBJECTIVE[0] not in objectives:
            # Created with its key results in one call (all or nothing).
            people = {number: e["id"] for number, e in employees.items()}
            await _create(
                client, "/objectives", cross_department_body(cycle["id"], people, company["id"])
            )
            result.count("objective")
            for _ in CROSS_DEPARTMENT_KEY_RESULTS:
                result.count("key result")

        krs_path = f"/objectives/{objective['id']}/key-results"
        existing = {k["title"] for k in await _all(client, krs_path)}
        for title, baseline, target, unit in KEY_RESULTS:
            if title in existing:
                continue
            await _create(
                client,
                krs_path,
                {"title": title, "baseline": baseline, "target": target, "unit": unit},
            )
            result.count("key result")
    if admin_created:
        result.count("admin account")
    return result
