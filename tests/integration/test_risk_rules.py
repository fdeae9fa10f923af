"""Risk rules HR changes through the API, the version each assessment names, and
``stride risk backtest`` on a generated cycle (real gateway, goals and identity)."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from services.cli.commands import add_groups
from services.cli.risk import replay_cycle
from services.goals.risk_rules import rule_set_from_json
from tests.integration.gateway_stack import GatewayStack, Person, module_stack, problem
from workflows.vocabulary import week_of

stack = module_stack("gw-risk-rules")
START = date.today() - timedelta(weeks=8, days=date.today().weekday())


def week(i: int) -> str:
    return week_of(START + timedelta(weeks=i))


def on_plan(i: int, share: float) -> float:
    """``share`` of what a 0 → 100 plan over 13 weeks expects by the end of week ``i``."""
    return 100.0 * (i + 1) / 13 * share


async def _cycle(stack: GatewayStack, admin: Person) -> str:
    resp = await stack.http.post(
        "/cycles",
        json={
            "name": f"Risk {uuid.uuid4().hex[:6]}",
            "start_date": START.isoformat(),
            "end_date": (START + timedelta(weeks=13, days=-1)).isoformat(),
        },
        headers=admin.headers,
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


async def _key_result(stack: GatewayStack, admin: Person, cycle: str, owner: Person) -> str:
    h = admin.headers
    resp = await stack.http.post(
        "/objectives", json={"cycle_id": cycle, "title": "Line B", "owner_id": owner.id}, headers=h
    )
    assert resp.status_code == 201, resp.text
    resp = await stack.http.post(
        f"/objectives/{resp.json()['id']}/key-results",
        json={"title": "Yield", "owner_id": owner.id, "baseline": 0, "target": 100},
        headers=h,
    )
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


async def _check_in(stack: GatewayStack, who: Person, kr: str, i: int, share: float) -> Any:
    resp = await stack.http.post(
        f"/key-results/{kr}/check-ins",
        json={"value": on_plan(i, share), "confidence": 5, "week": week(i)},
        headers=who.headers,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


async def test_hr_puts_new_rules_in_force_and_each_assessment_names_its_version(
    stack: GatewayStack,
) -> None:
    dept = await stack.department()
    other = await stack.department()
    hr = await stack.person(dept.id, roles=["hr"], name="HR")
    admin = await stack.person(dept.id, roles=["admin"], name="Admin")
    owner = await stack.person(dept.id, name="Owner")
    cycle = await _cycle(stack, admin)
    kr = await _key_result(stack, admin, cycle, owner)

    first = (await stack.http.get("/risk-rules", headers=owner.headers)).json()
    assert (first["version"], first["rule"]) == (1, {"threshold": 0.2, "weeks": 2})

    # 30 % behind twice: at risk under the customer's rule, and the check-in says which rule.
    await _check_in(stack, owner, kr, 0, 0.7)
    second = await _check_in(stack, owner, kr, 1, 0.7)
    assert second["risk"]["status"] == "at_risk" and second["risk"]["rule_version"] == 1

    # HR: 40 % behind three weeks running, and Operations (``other``) keeps 20 % × 2.
    body = {
        "rule": {"threshold": 0.4, "weeks": 3},
        "overrides": [{"department_id": other.id, "rule": {"threshold": 0.2, "weeks": 2}}],
        "note": "less noise while line B is rebuilt",
    }
    resp = await stack.http.put("/risk-rules", json=body, headers=hr.headers)
    assert resp.status_code == 200, resp.text
    assert resp.json()["version"] == 2 and resp.json()["created_by"] == hr.id

    # The same 30 % shortfall is no longer behind for this department.
    third = await _check_in(stack, owner, kr, 2, 0.7)
    assert third["risk"]["status"] == "on_track" and third["risk"]["rule_version"] == 2
    kr_now = (await stack.http.get(f"/key-results/{kr}", headers=owner.headers)).json()
    assert kr_now["risk"]["rule_version"] == 2
    # Earlier check-ins keep the version they were assessed with.
    history = (await stack.http.get(f"/key-results/{kr}/check-ins", headers=owner.headers)).json()
    assert [c["risk"]["rule_version"] for c in history["items"]] == [1, 1, 2]

    versions = (await stack.http.get("/risk-rules/versions", headers=hr.headers)).json()
    assert [v["version"] for v in versions["items"]] == [2, 1]
    old = (await stack.http.get("/risk-rules/versions/1", headers=hr.headers)).json()
    assert old["rule"] == {"threshold": 0.2, "weeks": 2} and old["overrides"] == []
    now = (await stack.http.get("/risk-rules", headers=owner.headers)).json()
    assert now["overrides"] == [{"department_id": other.id, "rule": {"threshold": 0.2, "weeks": 2}}]
    missing = await stack.http.get("/risk-rules/versions/99", headers=hr.headers)
    problem(missing, 404, "risk_rules_not_found")


async def test_bad_rules_are_refused_and_change_nothing(stack: GatewayStack) -> None:
    dept = await stack.department()
    hr = await stack.person(dept.id, roles=["hr"], name="HR")
    employee = await stack.person(dept.id, name="Employee")
    before = (await stack.http.get("/risk-rules", headers=hr.headers)).json()

    async def put(body: Any, who: Person = hr) -> Any:
        return await stack.http.put("/risk-rules", json=body, headers=who.headers)

    rule = {"threshold": 0.2, "weeks": 2}
    problem(await put({"rule": rule}, employee), 403, "forbidden")
    problem(await put({"rule": {"threshold": 0.01, "weeks": 2}}), 422, "validation_error")
    problem(await put({"rule": {"threshold": 0.2, "weeks": 9}}), 422, "validation_error")
    problem(await put({"rule": {"threshold": "0.2", "weeks": 2}}), 422, "validation_error")
    twice = [{"department_id": dept.id, "rule": rule}] * 2
    problem(await put({"rule": rule, "overrides": twice}), 422, "validation_error")
    unknown = [{"department_id": str(uuid.uuid4()), "rule": rule}]
    problem(await put({"rule": rule, "overrides": unknown}), 422, "unknown_department")
    after = (await stack.http.get("/risk-rules", headers=hr.headers)).json()
    assert after == before


async def test_backtest_gives_the_known_answer_on_a_generated_cycle(
    stack: GatewayStack, tmp_path: Path
) -> None:
    dept = await stack.department()
    strict = await stack.department()
    admin = await stack.person(dept.id, roles=["admin"], name="Admin")
    people = {
        "steady": await stack.person(strict.id, name="Steady"),
        "recovers": await stack.person(dept.id, name="Recovers"),
        "on-plan": await stack.person(dept.id, name="On plan"),
    }
    shares = {
        "steady": [0.7] * 6,  # 30 % behind every week
        "recovers": [0.5, 0.5, 1.0, 0.5, 0.5, 0.5],
        "on-plan": [1.0] * 6,
    }
    cycle = await _cycle(stack, admin)
    krs = {name: await _key_result(stack, admin, cycle, p) for name, p in people.items()}
    for name, kr in krs.items():
        for i, share in enumerate(shares[name]):
            await _check_in(stack, admin, kr, i, share)

    # 40 % × 2 for everyone, 20 % × 3 in ``strict`` (the steady key result's department).
    rules = {
        "threshold": 0.4,
        "weeks": 2,
        "overrides": [{"department_id": strict.id, "threshold": 0.2, "weeks": 3}],
    }
    _used, found = await replay_cycle(
        stack.settings.goals_addr, cycle, rule_set_from_json(json.dumps(rules))
    )
    answer = {
        next(n for n, k in krs.items() if k == kr.id): [
            (e.warning_week, e.red_week, e.resolved_week) for e in outcome.escalations
        ]
        for kr, outcome in found
    }
    assert answer == {
        "steady": [(week(2), week(3), "")],
        "recovers": [(week(1), "", week(2)), (week(4), week(5), "")],
        "on-plan": [],
    }

    # The command prints the same, and its summary.
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules))
    args = ["risk", "backtest", "--cycle", cycle, "--rules", str(path)]
    args += ["--goals", stack.settings.goals_addr]
    result = await asyncio.to_thread(
        CliRunner().invoke, add_groups(["risk"]), args, env={"COLUMNS": "250"}
    )
    assert result.exit_code == 0, result.output
    assert "2 of 3 key results would have escalated (2 to red)." in result.output
    steady_row = next(line for line in result.output.splitlines() if krs["steady"] in line)
    assert re.search(rf"20% × 3 wk.*{week(2)}.*{week(3)}", steady_row), steady_row

    bad = tmp_path / "bad.json"
    bad.write_text('{"threshold": 2}')
    refused = await asyncio.to_thread(
        CliRunner().invoke,
        add_groups(["risk"]),
        ["risk", "backtest", "--cycle", cycle, "--rules", str(bad)],
    )
    # The message wraps at the terminal's width (a long temporary path pushes it over a line).
    assert refused.exit_code == 2
    assert "threshold must lie within" in " ".join(refused.output.split())
