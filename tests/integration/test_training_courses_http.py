"""HR keeps the training course catalogue through the HTTP API (real gateway and identity,
SQLite and PostgreSQL): everyone reads it, HR/admin replace it, bad input is a 4xx problem
with a stable code and writes nothing, every write is audited."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.gateway_stack import GatewayStack, module_stack, problem
from tests.integration.test_org_admin_http import audit_entries
from tests.waiting import eventually

stack = module_stack("gw-training")

FORECASTING = {
    "id": "sales-forecasting",
    "title_zh": "销售预测与管道管理",
    "title_en": "Sales forecasting and pipeline management",
    "topics": ["number", "pcs"],
    "url": "https://learn.example.com/forecasting",
}
GOALS = {"id": "okr-basics", "title_zh": "目标管理入门", "title_en": "OKR basics"}


@pytest.fixture(scope="module")
async def org(stack: GatewayStack) -> dict[str, Any]:
    dept = str((await stack.department()).id)
    hr = await stack.person(dept, roles=["hr"])
    employee = await stack.person(dept)
    return {"hr": hr.headers, "hr_person": hr, "employee": employee.headers}


async def test_hr_replaces_the_catalogue_and_everyone_reads_it(
    stack: GatewayStack, org: dict[str, Any]
) -> None:
    r = await stack.http.get("/training/courses", headers=org["employee"])
    assert r.status_code == 200 and r.json()["courses"] == []
    r = await stack.http.put(
        "/training/courses", json={"courses": [FORECASTING, GOALS]}, headers=org["hr"]
    )
    assert r.status_code == 200, r.text
    r = await stack.http.get("/training/courses", headers=org["employee"])
    got = r.json()
    assert [c["id"] for c in got["courses"]] == ["sales-forecasting", "okr-basics"]
    assert got["courses"][0] == FORECASTING
    assert got["courses"][1] == {**GOALS, "topics": [], "url": ""}
    assert got["updated_at"].endswith("Z")
    # Employees read, only HR/admin write.
    r = await stack.http.put("/training/courses", json={"courses": []}, headers=org["employee"])
    assert r.status_code == 403

    async def audited() -> None:
        entries = await audit_entries(stack, org["hr_person"], resource_type="training_courses")
        assert [e["action"] for e in entries] == ["identity.training_courses.put"]

    await eventually(audited)


@pytest.mark.parametrize(
    ("courses", "code"),
    [
        ([FORECASTING, {**GOALS, "id": "sales-forecasting"}], "duplicate_course"),
        ([{**FORECASTING, "url": "http://learn.example.com/x"}], "invalid_course_url"),
        ([{**FORECASTING, "url": "https://"}], "invalid_course_url"),
        ([{**FORECASTING, "title_en": "   "}], "validation_error"),
        ([{**FORECASTING, "topics": [" "]}], "validation_error"),
        ([{**FORECASTING, "id": "no spaces"}], "validation_error"),
        ([{**FORECASTING, "title_zh": "x" * 201}], "validation_error"),
        ([{"id": "x"}], "validation_error"),
        ([{**FORECASTING, "topics": ["a\x00b"]}], "validation_error"),
        ([{**FORECASTING, "title_en": "bad\u202etext"}], "validation_error"),
    ],
)
async def test_bad_catalogues_are_refused_and_change_nothing(
    stack: GatewayStack, org: dict[str, Any], courses: list[dict[str, Any]], code: str
) -> None:
    before = (await stack.http.get("/training/courses", headers=org["hr"])).json()
    r = await stack.http.put("/training/courses", json={"courses": courses}, headers=org["hr"])
    problem(r, 422, code)
    assert (await stack.http.get("/training/courses", headers=org["hr"])).json() == before
