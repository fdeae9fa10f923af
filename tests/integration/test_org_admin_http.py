"""HR's org tools through the real HTTP API: org sync on demand, the invitation of imported
people, and the audit trail's export — with identity and goals on PostgreSQL/SQLite, a private
NATS, the Temporal dev server and the fake DingTalk server.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from opentelemetry.sdk.trace import TracerProvider
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from typer.testing import CliRunner

from activities.audit import AuditActivities
from activities.invitations import InvitationActivities
from activities.org_sync import OrgSyncActivities
from services.cli.audit import audit_app
from services.cli.org import org_app
from services.common.settings import WorkerSettings
from services.worker.worker import WORKFLOWS
from stride.identity.v1 import identity_pb2
from tests.fakes.dingtalk import APP_KEY, APP_SECRET, FakeDingTalk, serve
from tests.integration.gateway_stack import GatewayStack, Person, bearer, gateway_stack
from tests.integration.test_org_sync_e2e import generate_org, to_dingtalk
from tests.waiting import eventually
from workflows import ids
from workflows.invitations import InvitationWorkflow
from workflows.org_sync import OrgSyncReport, OrgSyncWorkflow


async def audit_entries(stack: GatewayStack, who: Person, **filters: str) -> list[dict[str, Any]]:
    """Every entry matching ``filters`` through GET /audit (all pages)."""
    items: list[dict[str, Any]] = []
    token = ""
    while True:
        r = await stack.http.get(
            "/audit",
            params={**filters, "page_size": 200, "page_token": token},
            headers=who.headers,
        )
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        token = body["next_page_token"]
        if not token:
            return items


# -- org sync through HTTP, the workflow on the Temporal dev server -------------------------


@pytest.fixture
async def sync_stack(
    database_url: str | None,
    data_dir: Path,
    nats_url: str,
    temporal_dev_env: WorkflowEnvironment,
) -> AsyncIterator[tuple[GatewayStack, WorkerSettings, FakeDingTalk]]:
    queue = f"org-http-{uuid.uuid4()}"
    fake = FakeDingTalk()
    target = temporal_dev_env.client.service_client.config.target_host
    async with (
        serve(fake) as base_url,
        gateway_stack(
            database_url, data_dir, nats_url, temporal_address=target, task_queue=queue
        ) as stack,
    ):
        settings = WorkerSettings(
            identity_addr=stack.settings.identity_addr,
            task_queue=queue,
            dingtalk_app_key=APP_KEY,
            dingtalk_app_secret=APP_SECRET,
            dingtalk_base_url=base_url,
            dingtalk_retry_backoff_seconds=0.01,
        )
        yield stack, settings, fake


async def test_hr_runs_an_org_sync_and_reads_its_report(
    sync_stack: tuple[GatewayStack, WorkerSettings, FakeDingTalk],
    temporal_dev_env: WorkflowEnvironment,
) -> None:
    stack, settings, fake = sync_stack
    people = {p.number: p for p in list(generate_org().values())[:30]}
    fake.set_org(*to_dingtalk(people))
    hq = await stack.department("HQ")
    hr = await stack.person(hq.id, roles=["hr"], name="HR")
    employee = await stack.person(hq.id, name="Someone")

    r = await stack.http.post("/org/sync", json={"source": "dingtalk"}, headers=employee.headers)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    r = await stack.http.post("/org/sync", json={"source": "ldap"}, headers=hr.headers)
    assert r.status_code == 422

    # No worker yet: the run waits, so a second request finds it running. The source lacks
    # "Someone" (1 of the 2 people here leaves: more than the 20 % a sync may deactivate
    # unless allowed) and HR, who runs it and is never deactivated by it.
    start = {"source": "dingtalk", "allow_mass_deactivation": True}
    r = await stack.http.post("/org/sync", json=start, headers=hr.headers)
    assert r.status_code == 202, r.text
    started = r.json()
    assert started["workflow_id"] == "org-sync/dingtalk" and started["run_id"]
    again = await stack.http.post("/org/sync", json={"source": "dingtalk"}, headers=hr.headers)
    assert again.status_code == 409 and again.json()["code"] == "sync_running"

    # The worker's activities trace like the real worker's (the trace id lands in the audit).
    tracer = TracerProvider().get_tracer("test")
    traced = Client(
        temporal_dev_env.client.service_client,
        namespace=temporal_dev_env.client.namespace,
        interceptors=[TracingInterceptor(tracer)],
    )
    handle = traced.get_workflow_handle_for(
        OrgSyncWorkflow.run, started["workflow_id"], run_id=started["run_id"]
    )
    async with Worker(
        traced,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=[*OrgSyncActivities(settings).all(), *AuditActivities(settings).all()],
    ):
        report: OrgSyncReport = await asyncio.wait_for(handle.result(), timeout=60)
    assert report.status == "applied" and report.counts.created == 30
    assert (report.counts.kept, report.counts.deactivated) == (1, 1)
    described = await handle.describe()
    assert await described.memo_value("title") == "Org sync dingtalk"

    r = await stack.http.get("/org/sync/runs", headers=hr.headers)
    assert r.status_code == 200
    (run,) = [x for x in r.json()["items"] if x["run_id"] == report.run_id]
    assert run["status"] == "applied" and run["counts"]["created"] == 30 and run["rows"] == []
    r = await stack.http.get(f"/org/sync/runs/{report.run_id}", headers=hr.headers)
    assert r.status_code == 200
    detail = r.json()
    created = [x for x in detail["rows"] if x["kind"] == "person" and x["action"] == "created"]
    assert sorted(x["key"] for x in created) == sorted(people)
    r = await stack.http.get(f"/org/sync/runs/{uuid.uuid4()}", headers=hr.headers)
    assert r.status_code == 404 and r.json()["code"] == "org_sync_run_not_found"

    # The workflow's decisions are in the hash-chained trail, as the workflow.
    actor = "workflow:org-sync/dingtalk"

    async def decisions() -> list[dict[str, Any]]:
        entries = await audit_entries(stack, hr, actor=actor)
        assert {e["action"] for e in entries} == {
            "worker.org_sync.started",
            "worker.org_sync.finished",
        }
        return entries

    entries = await eventually(decisions)
    assert len(entries) == 2  # each decision once
    finished = next(e for e in entries if e["action"] == "worker.org_sync.finished")
    assert finished["resource_type"] == "org_sync_run"
    assert finished["resource_id"] == report.run_id
    assert finished["detail"].startswith("applied: created=30 updated=0 moved=0")
    assert re.fullmatch(r"[0-9a-f]{32}", finished["trace_id"])
    assert all(e["service"] == "identity" for e in entries)
    verify = await stack.http.get("/audit/verify", headers=hr.headers)
    assert verify.json()["ok"] is True


# -- invitations (a background job on the dev server) and the export --------------------------


@pytest.fixture
async def stack(database_url: str | None, data_dir: Path, nats_url: str) -> AsyncIterator[Any]:
    async with gateway_stack(database_url, data_dir, nats_url) as s:
        yield s


async def imported(stack: GatewayStack, department_id: str, roles: list[str] | None = None) -> Any:
    """An employee as an org sync creates them: no password."""
    tag = uuid.uuid4().hex[:8]
    return await stack.admin_grpc.identity.CreateEmployee(
        identity_pb2.CreateEmployeeRequest(
            employee_number=f"I{tag}",
            name=f"Imported {tag}",
            email=f"{tag}@example.com",
            department_id=department_id,
            roles=roles or [],
        )
    )


async def invite(
    stack: GatewayStack,
    who: Person,
    body: dict[str, Any],
    temporal: Client,
    settings: WorkerSettings,
    *,
    format: str = "json",
) -> httpx.Response:
    """POST /org/invitations, the job run by a worker to its end, then its slips."""
    r = await stack.http.post("/org/invitations", json=body, headers=who.headers)
    assert r.status_code == 202, r.text
    job = r.json()
    if job["chunk_count"]:
        async with Worker(
            temporal,
            task_queue=settings.task_queue,
            workflows=[InvitationWorkflow],
            activities=InvitationActivities(settings).all(),
        ):
            handle = temporal.get_workflow_handle(ids.invitations(job["job_id"]))
            await asyncio.wait_for(handle.result(), timeout=60)
    return await stack.http.get(
        f"/org/invitations/jobs/{job['job_id']}/slips",
        params={"format": format},
        headers=who.headers,
    )


async def test_invite_sign_in_with_the_one_time_password_then_change_it(
    sync_stack: tuple[GatewayStack, WorkerSettings, FakeDingTalk],
    temporal_dev_env: WorkflowEnvironment,
) -> None:
    stack, settings, _ = sync_stack
    temporal = temporal_dev_env.client
    plant = await stack.department("Plant")
    hr = await stack.person(plant.id, roles=["hr"], name="HR")
    admin = await stack.person(plant.id, roles=["admin"], name="Admin")
    worker = await stack.person(plant.id, name="Worker")
    a, b = await imported(stack, plant.id), await imported(stack, plant.id)
    privileged = await imported(stack, plant.id, roles=["hr"])

    r = await stack.http.post(
        "/org/invitations", json={"all_without_password": True}, headers=worker.headers
    )
    assert r.status_code == 403
    for bad in ({}, {"employee_ids": [a.id], "all_without_password": True}):
        r = await stack.http.post("/org/invitations", json=bad, headers=hr.headers)
        assert r.status_code == 422 and r.json()["code"] == "invitation_target_required", bad

    r = await invite(stack, hr, {"all_without_password": True}, temporal, settings)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    issued = {i["employee_id"]: i for i in body["issued"]}
    assert set(issued) == {a.id, b.id}  # people with a password are not touched
    assert issued[a.id]["employee_number"] == a.employee_number
    assert issued[a.id]["department_name"] == "Plant"
    assert body["skipped"] == [{"employee_id": privileged.id, "reason": "admin_required"}]
    assert body["remaining"] == 0

    # Sign in with the one-time password: only the password change is allowed.
    password = issued[a.id]["initial_password"]
    tokens = await stack.login(a.employee_number, password)
    assert tokens["must_change_password"] is True
    r = await stack.http.get("/employees", headers=bearer(tokens["access_token"]))
    assert r.status_code == 403 and r.json()["code"] == "password_change_required"
    r = await stack.http.post(
        "/auth/password",
        json={"current_password": password, "new_password": "My-own-secret-9"},
        headers=bearer(tokens["access_token"]),
    )
    assert r.status_code == 200, r.text
    fresh = r.json()
    assert (await stack.http.get("/employees", headers=bearer(fresh["access_token"]))).is_success
    bad = await stack.http.post(
        "/auth/login", json={"login": a.employee_number, "password": password}
    )
    assert bad.status_code == 401  # the one-time password is gone

    # Never twice: asking again issues nothing for them.
    r = await invite(stack, hr, {"employee_ids": [a.id, b.id, "nobody"]}, temporal, settings)
    assert r.json()["issued"] == []
    assert r.json()["skipped"] == [
        {"employee_id": a.id, "reason": "has_password"},
        {"employee_id": b.id, "reason": "has_password"},
        {"employee_id": "nobody", "reason": "not_found"},
    ]
    # An admin may invite an HR account; as slips to print.
    r = await invite(
        stack, admin, {"employee_ids": [privileged.id]}, temporal, settings, format="xlsx"
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == (
        "工号 Employee number",
        "姓名 Name",
        "部门 Department",
        "登录名 Login",
        "初始密码 Initial password",
    )
    ((number, name, dept, login, slip_password, _note),) = rows[1:]
    assert (number, name, dept, login) == (
        privileged.employee_number,
        privileged.name,
        "Plant",
        privileged.employee_number,
    )
    assert (await stack.login(str(login), str(slip_password)))["must_change_password"] is True

    # Audited per person, without the password.
    async def invitation_entries() -> list[dict[str, Any]]:
        entries = await audit_entries(stack, hr, action="identity.auth.invitation_issued")
        assert {e["resource_id"] for e in entries} == {a.id, b.id, privileged.id}
        return entries

    entries = await eventually(invitation_entries)
    assert {e["actor"] for e in entries} == {hr.id, admin.id}
    r = await stack.http.get("/audit/export", headers=hr.headers)
    assert password not in r.text and str(slip_password) not in r.text


async def test_the_export_holds_exactly_the_trail(stack: GatewayStack) -> None:
    office = await stack.department("Office")
    hr = await stack.person(office.id, roles=["hr"], name="HR")
    employee = await stack.person(office.id, name="Employee")
    for n in range(3):
        r = await stack.http.patch(
            f"/employees/{employee.id}", json={"title": f"Title {n}"}, headers=hr.headers
        )
        assert r.status_code == 200

    async def updates() -> list[dict[str, Any]]:
        entries = await audit_entries(stack, hr, resource_id=employee.id)
        assert sum(e["action"] == "identity.employee.update" for e in entries) == 3
        return entries

    await eventually(updates)
    r = await stack.http.get("/audit/export", headers=employee.headers)
    assert r.status_code == 403

    trail = sorted(await audit_entries(stack, hr), key=lambda e: e["seq"])
    r = await stack.http.get("/audit/export", params={"format": "csv"}, headers=hr.headers)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.text.startswith("\ufeffseq,occurred_at,actor,action")
    exported = list(csv.DictReader(io.StringIO(r.text.removeprefix("\ufeff"))))
    assert len(exported) >= len(trail)  # sign-ins during the export may add rows at the end
    for row, entry in zip(exported, trail, strict=False):
        assert row == {k: str(v) for k, v in entry.items() if k in row}
        assert set(row) == set(entry)

    # The same filters as the list.
    filters = {"resource_id": employee.id, "action": "identity.employee.update"}
    listed = sorted(await audit_entries(stack, hr, **filters), key=lambda e: e["seq"])
    r = await stack.http.get(
        "/audit/export", params={**filters, "format": "xlsx"}, headers=hr.headers
    )
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    header, *rows = list(sheet.iter_rows(values_only=True))
    as_dicts = [dict(zip(header, row, strict=True)) for row in rows]
    assert len(as_dicts) == 3
    assert [{k: ("" if v is None else v) for k, v in d.items()} for d in as_dicts] == [
        {k: e[k] for k in header} for e in listed
    ]

    r = await stack.http.get("/audit/export", params={"from_time": "yesterday"}, headers=hr.headers)
    assert r.status_code == 422


async def test_org_sync_answers_503_while_temporal_is_down(stack: GatewayStack) -> None:
    hq = await stack.department("HQ")
    hr = await stack.person(hq.id, roles=["hr"], name="HR")
    r = await stack.http.post("/org/sync", json={"source": "json"}, headers=hr.headers)
    assert r.status_code == 503 and r.json()["code"] == "temporal_unavailable"


async def test_cli_invites_to_a_slip_file_and_exports_the_trail(
    stack: GatewayStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    depot = await stack.department("Depot")
    hr = await stack.person(depot.id, roles=["hr"], name="HR")
    person = await imported(stack, depot.id)
    address = stack.settings.identity_addr
    runner = CliRunner()

    slips = tmp_path / "slips.xlsx"
    done = await asyncio.to_thread(
        runner.invoke,
        org_app,
        ["invite", "--employee-id", person.id, "-o", str(slips), "--identity", address],
    )
    assert done.exit_code == 0, done.output
    assert "1 invitations" in done.output
    sheet = load_workbook(slips).active
    assert sheet is not None
    (_, row) = list(sheet.iter_rows(values_only=True))
    assert row[0] == person.employee_number and row[2] == "Depot"
    assert (await stack.login(person.employee_number, str(row[4])))["must_change_password"]
    # Never twice: nothing to write the second time.
    again = await asyncio.to_thread(
        runner.invoke,
        org_app,
        [
            "invite",
            "--employee-id",
            person.id,
            "-o",
            str(tmp_path / "b.xlsx"),
            "--identity",
            address,
        ],
    )
    assert again.exit_code == 0 and "has_password × 1" in again.output
    assert not (tmp_path / "b.xlsx").exists()

    async def invited() -> list[dict[str, Any]]:
        entries = await audit_entries(stack, hr, resource_id=person.id)
        assert any(e["actor"] == "cli:invite" for e in entries)
        return entries

    trail = sorted(await eventually(invited), key=lambda e: e["seq"])
    monkeypatch.setenv("STRIDE_IDENTITY_ADDR", address)
    out = tmp_path / "audit.csv"
    exported = await asyncio.to_thread(
        runner.invoke, audit_app, ["export", "--resource-id", person.id, "-o", str(out)]
    )
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [r["hash"] for r in rows] == [e["hash"] for e in trail]
    assert rows[0]["actor"] == trail[0]["actor"] and rows[0]["seq"] == str(trail[0]["seq"])
    assert str(row[4]) not in out.read_text(encoding="utf-8-sig")
