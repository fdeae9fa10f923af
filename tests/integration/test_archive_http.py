"""The performance archive and calibration through the real gateway (HTTP), with the real
identity, goals and feedback services behind it: the 680-record XLSX export that opens with
openpyxl and matches the database, the CSV export, the audit of exports and of calibration
changes (who, why, the old value), and who reads whose archive."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.feedback.archive_models import ArchiveRecord
from stride.feedback.v1 import archive_pb2 as apb
from stride.goals.v1 import goals_pb2 as gpb
from stride.identity.v1 import identity_pb2
from tests.integration.gateway_stack import GatewayStack, gateway_stack
from tests.waiting import eventually

SEEDED = 680


@pytest.fixture(scope="module")
async def stack(
    database_url: str | None, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[GatewayStack]:
    async with gateway_stack(database_url, tmp_path_factory.mktemp("gw-archive"), nats_url) as s:
        yield s


def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.headers.get("content-type", "").endswith("json") else r


async def test_xlsx_export_of_680_records_opens_and_matches_the_database(
    stack: GatewayStack,
) -> None:
    plant = await stack.department(f"Plant {uuid.uuid4().hex[:6]}")
    hr_dept = await stack.department("HR")
    hr = await stack.person(hr_dept.id, roles=["hr"], name="HR")
    lead = await stack.person(plant.id, name="Lead")
    identity = stack.admin_grpc.identity

    async def worker(n: int) -> str:
        e = await identity.CreateEmployee(
            identity_pb2.CreateEmployeeRequest(
                employee_number=f"W{uuid.uuid4().hex[:8]}",
                name=f"Worker {n}",
                department_id=plant.id,
                manager_id=lead.id,
            )
        )
        return str(e.id)

    workers: list[str] = []
    for start in range(0, SEEDED - 1, 40):
        workers += await asyncio.gather(
            *(worker(n) for n in range(start, min(start + 40, SEEDED - 1)))
        )
    assert len(workers) + 1 == SEEDED  # with the lead
    cycle = await stack.goals.CreateCycle(
        gpb.CreateCycleRequest(name="Q3 archive", start_date="2026-07-01", end_date="2026-09-30")
    )
    # Through the service: some self-assessments (one comment looks like a formula) and
    # manager ratings; then HR archives the cycle over HTTP.
    await stack.archive.SubmitSelfAssessment(
        apb.SubmitSelfAssessmentRequest(
            employee_id=workers[0], cycle_id=cycle.id, rating="A", comment="=SUM(A1:A9) 良好"
        )
    )
    for i, w in enumerate(workers[1:40]):
        await stack.archive.SubmitManagerRating(
            apb.SubmitManagerRatingRequest(
                manager_id=lead.id, employee_id=w, cycle_id=cycle.id, rating="SABCD"[i % 5]
            )
        )
    archived = ok(await stack.http.post(f"/cycles/{cycle.id}/archive", headers=hr.headers))
    assert archived["created"] >= SEEDED - 40 and archived["scored"] is False
    refused = await stack.http.post(f"/cycles/{cycle.id}/archive", headers=lead.headers)
    assert refused.status_code == 403

    r = await stack.http.get(
        "/archive/export",
        params={"format": "xlsx", "cycle_id": cycle.id, "department_id": plant.id},
        headers=hr.headers,
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    book = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)
    rows = list(book["archive"].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert len(body) == SEEDED
    by_employee = {
        row[header.index("employee_id")]: dict(zip(header, row, strict=True)) for row in body
    }

    async with AsyncSession(stack.feedback_engine) as session:
        stored = (
            (
                await session.execute(
                    select(ArchiveRecord).where(
                        ArchiveRecord.cycle_id == cycle.id, ArchiveRecord.department_id == plant.id
                    )
                )
            )
            .scalars()
            .all()
        )
    assert len(stored) == SEEDED and set(by_employee) == {s.employee_id for s in stored}
    for s in stored:
        row = by_employee[s.employee_id]
        # An empty text is an empty cell (None when read back).
        for column in (
            "cycle_id",
            "department_id",
            "manager_id",
            "self_rating",
            "self_comment",
            "manager_rating",
            "manager_comment",
            "final_rating",
            "potential",
        ):
            assert (row[column] or "") == getattr(s, column), column
        assert row["cycle_start"] == s.cycle_start.isoformat()
        assert row["cycle_end"] == s.cycle_end.isoformat()
        assert row["okr_score"] == s.okr_score
    assert by_employee[workers[0]]["self_comment"] == "=SUM(A1:A9) 良好"  # text, not a formula
    assert {by_employee[w]["manager_rating"] for w in workers[1:40]} == set("SABCD")

    # CSV, filtered by rating; the same records.
    r = await stack.http.get(
        "/archive/export",
        params={"format": "csv", "cycle_id": cycle.id, "department_id": plant.id, "rating": ""},
        headers=hr.headers,
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert len(lines) == SEEDED
    first = next(line for line in lines if line["employee_id"] == workers[0])
    assert first["self_comment"] == "'=SUM(A1:A9) 良好"  # guarded against formula injection
    # Only HR (and admin) export; a bad filter is a 4xx, never a broken file.
    assert (await stack.http.get("/archive/export", headers=lead.headers)).status_code == 403
    bad = await stack.http.get("/archive/export", params={"rating": "E"}, headers=hr.headers)
    assert bad.status_code == 422

    # Each export is audited: who, which filter, how many rows.
    async def exports() -> list[dict[str, Any]]:
        page = ok(
            await stack.http.get(
                "/audit", params={"action": "feedback.archive.export"}, headers=hr.headers
            )
        )
        found = [e for e in page["items"] if cycle.id in e["detail"]]
        assert len(found) == 2
        return found

    entries = await eventually(exports)
    assert all(hr.id in e["actor"] for e in entries)
    details = sorted(e["detail"] for e in entries)
    assert all(f"department={plant.id}" in d and f"rows={SEEDED}" in d for d in details)
    assert any("format=xlsx" in d for d in details) and any("format=csv" in d for d in details)


async def test_calibration_change_is_in_the_audit_trail(stack: GatewayStack) -> None:
    line = await stack.department(f"Line {uuid.uuid4().hex[:6]}")
    hq = await stack.department("HQ")
    hr = await stack.person(hq.id, roles=["hr"], name="HR")
    director = await stack.person(line.id, name="Director")
    lead = await stack.person(line.id, manager_id=director.id, name="Lead")
    ann = await stack.person(line.id, manager_id=lead.id, name="Ann")
    ben = await stack.person(line.id, manager_id=lead.id, name="Ben")
    cycle = await stack.goals.CreateCycle(
        gpb.CreateCycleRequest(name="Q3 cal", start_date="2026-07-01", end_date="2026-09-30")
    )
    mine = ok(
        await stack.http.put(
            f"/me/archive/{cycle.id}/self-assessment",
            json={"rating": "A", "comment": "Halved scrap"},
            headers=ann.headers,
        )
    )
    assert (mine["self_rating"], mine["manager_id"]) == ("A", lead.id)
    rated = ok(
        await stack.http.put(
            f"/archive/{ann.id}/{cycle.id}/manager-rating",
            json={"rating": "B", "comment": "Solid year"},
            headers=lead.headers,
        )
    )
    assert rated["manager_rating"] == "B"
    not_hers = await stack.http.put(
        f"/archive/{ann.id}/{cycle.id}/manager-rating",
        json={"rating": "S"},
        headers=ben.headers,
    )
    assert not_hers.status_code == 404 and not_hers.json()["code"] == "archive_not_found"
    bad = await stack.http.put(
        f"/me/archive/{cycle.id}/self-assessment", json={"rating": "Z"}, headers=ann.headers
    )
    assert bad.status_code == 422
    ok(await stack.http.post(f"/cycles/{cycle.id}/archive", headers=hr.headers))

    # Reads: herself, her manager and his manager, HR; a peer gets 404.
    for viewer in (ann, lead, director, hr):
        history = ok(await stack.http.get(f"/archive/{ann.id}", headers=viewer.headers))
        assert [e["record"]["cycle_id"] for e in history["entries"]] == [cycle.id]
    peek = await stack.http.get(f"/archive/{ann.id}", headers=ben.headers)
    assert peek.status_code == 404 and peek.json()["code"] == "archive_not_found"
    me = ok(await stack.http.get("/me/archive", headers=ann.headers))
    assert me["entries"][0]["record"]["self_comment"] == "Halved scrap"

    # HR calibrates: the session, guidance shown next to the distribution, a change with why.
    opened = await stack.http.post(
        "/calibrations",
        json={"department_id": line.id, "cycle_id": cycle.id},
        headers=hr.headers,
    )
    session = ok(opened, 201)
    assert opened.headers["location"].endswith(f"/calibrations/{session['id']}")
    assert (
        await stack.http.post(
            "/calibrations",
            json={"department_id": line.id, "cycle_id": cycle.id},
            headers=lead.headers,
        )
    ).status_code == 403
    ok(
        await stack.http.put(
            f"/calibrations/{session['id']}/guidance",
            json={"shares": {"A": 0.2, "B": 0.5}},
            headers=hr.headers,
        )
    )
    no_reason = await stack.http.post(
        f"/calibrations/{session['id']}/changes",
        json={"employee_id": ann.id, "field": "final_rating", "value": "A", "reason": " "},
        headers=hr.headers,
    )
    assert no_reason.status_code == 422
    ok(
        await stack.http.post(
            f"/calibrations/{session['id']}/changes",
            json={"employee_id": ann.id, "field": "final_rating", "value": "B", "reason": "Start"},
            headers=hr.headers,
        )
    )
    changed = ok(
        await stack.http.post(
            f"/calibrations/{session['id']}/changes",
            json={
                "employee_id": ann.id,
                "field": "final_rating",
                "value": "A",
                "reason": "Led the scrap project across two lines",
            },
            headers=hr.headers,
        )
    )
    assert changed["changes"][-1]["old_value"] == "B"
    assert changed["changes"][-1]["actor_id"] == hr.id
    dist = {d["rating"]: d for d in changed["distribution"]}
    assert dist["A"]["count"] == 1 and dist["A"]["target"] == 0.2
    got = ok(await stack.http.get(f"/calibrations/{session['id']}", headers=hr.headers))
    assert got["id"] == session["id"] and len(got["nine_box"]) == 9
    listed = ok(
        await stack.http.get("/calibrations", params={"cycle_id": cycle.id}, headers=hr.headers)
    )
    assert [c["id"] for c in listed["items"]] == [session["id"]]
    history = ok(await stack.http.get(f"/archive/{ann.id}", headers=ann.headers))
    assert history["entries"][0]["record"]["final_rating"] == "A"

    # The audit trail: who (HR), why (the reason) and the old value (B).
    async def calibration_entries() -> list[dict[str, Any]]:
        page = ok(
            await stack.http.get(
                "/audit",
                params={"action": "feedback.calibration.change"},
                headers=hr.headers,
            )
        )
        found = [e for e in page["items"] if "Led the scrap project" in e["detail"]]
        assert found
        return found

    (entry,) = await eventually(calibration_entries)
    assert hr.id in entry["actor"]
    assert entry["resource_type"] == "archive_record"
    assert entry["detail"] == "final_rating B -> A; reason: Led the scrap project across two lines"
    assert entry["before_digest"] and entry["after_digest"] != entry["before_digest"]
    assert json.dumps(entry)  # plain JSON
