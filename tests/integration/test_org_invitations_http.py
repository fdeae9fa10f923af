"""Invitations for hundreds of people are a background job, not one long
HTTP request. 202 at once, progress to `done`, the XLSX of slips once, nothing issued twice
when an activity is retried after identity committed its chunk.

Through HTTP (the gateway in front of the real identity and goals services, PostgreSQL or
SQLite, a private NATS) with the workflow on the Temporal dev server and the worker's real
invitation activities.
"""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from temporalio import activity
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.invitations import InvitationActivities
from services.common.settings import WorkerSettings
from stride.identity.v1 import identity_pb2
from tests.integration.gateway_stack import GatewayStack, Person, gateway_stack, problem
from tests.integration.test_org_admin_http import audit_entries, eventually
from workflows import ids
from workflows.invitations import (
    ISSUE_CHUNK_ACTIVITY,
    ChunkInput,
    ChunkResult,
    InvitationProgress,
    InvitationWorkflow,
)


@pytest.fixture
async def stack(
    database_url: str | None,
    data_dir: Path,
    nats_url: str,
    temporal_dev_env: WorkflowEnvironment,
) -> AsyncIterator[tuple[GatewayStack, WorkerSettings]]:
    queue = f"invite-{uuid.uuid4()}"
    target = temporal_dev_env.client.service_client.config.target_host
    async with gateway_stack(
        database_url, data_dir, nats_url, temporal_address=target, task_queue=queue
    ) as s:
        yield s, WorkerSettings(identity_addr=s.settings.identity_addr, task_queue=queue)


class CrashAfterCommit:
    """The chunk activity, except that its first call for ``chunk`` fails *after* identity
    committed the chunk: as if the worker died before reporting the result."""

    def __init__(self, real: InvitationActivities, chunk: int) -> None:
        self.real = real
        self.chunk = chunk
        self.crashed = 0

    @activity.defn(name=ISSUE_CHUNK_ACTIVITY)
    async def issue_chunk(self, input: ChunkInput) -> ChunkResult:
        result = await self.real.issue_chunk(input)
        if input.chunk_no == self.chunk and not self.crashed:
            self.crashed += 1
            raise RuntimeError("worker lost after the chunk committed")
        return result


def worker(
    client: Client, settings: WorkerSettings, crash: CrashAfterCommit | None = None
) -> Worker:
    real = InvitationActivities(settings)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[InvitationWorkflow],
        activities=[crash.issue_chunk if crash else real.issue_chunk, real.finish],
    )


async def import_people(gw: GatewayStack, n: int) -> dict[str, str]:
    """``n`` people as an org import makes them (no password): number → name."""
    plant = await gw.department("Plant")
    people = {f"P{i:04d}": f"Imported {i:04d}" for i in range(n)}
    for number, name in people.items():
        await gw.admin_grpc.identity.CreateEmployee(
            identity_pb2.CreateEmployeeRequest(
                employee_number=number, name=name, department_id=plant.id
            )
        )
    return people


async def job_of(gw: GatewayStack, who: Person, job_id: str) -> dict[str, Any]:
    r = await gw.http.get(f"/org/invitations/jobs/{job_id}", headers=who.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_a_few_hundred_invitations_run_in_the_background(
    stack: tuple[GatewayStack, WorkerSettings], temporal_dev_env: WorkflowEnvironment
) -> None:
    gw, settings = stack
    hq = await gw.department("HQ")
    hr = await gw.person(hq.id, roles=["hr"], name="HR")
    other_hr = await gw.person(hq.id, roles=["hr"], name="Other HR")
    people = await import_people(gw, 300)

    # No worker runs yet: the answer cannot have waited for the work.
    r = await gw.http.post(
        "/org/invitations", json={"all_without_password": True}, headers=hr.headers
    )
    assert r.status_code == 202, r.text
    job = r.json()
    assert (job["status"], job["total"], job["issued"], job["chunk_count"]) == (
        "queued",
        300,
        0,
        6,
    )
    assert r.headers["location"] == f"/api/v1/org/invitations/jobs/{job['job_id']}"
    assert (await job_of(gw, hr, job["job_id"]))["issued"] == 0
    # Only the person who asked follows it; no slips before it is done.
    r = await gw.http.get(f"/org/invitations/jobs/{job['job_id']}", headers=other_hr.headers)
    problem(r, 404, "invitation_job_not_found")
    r = await gw.http.get(f"/org/invitations/jobs/{job['job_id']}/slips", headers=hr.headers)
    problem(r, 409, "invitation_job_not_ready")

    crash = CrashAfterCommit(InvitationActivities(settings), chunk=2)
    handle = temporal_dev_env.client.get_workflow_handle_for(
        InvitationWorkflow.run, ids.invitations(job["job_id"])
    )
    async with worker(temporal_dev_env.client, settings, crash):

        async def done() -> dict[str, Any]:
            progress = await job_of(gw, hr, job["job_id"])
            assert progress["status"] == "done", progress
            return progress

        progress = await eventually(done, timeout=120)
        result: InvitationProgress = await asyncio.wait_for(handle.result(), timeout=60)
    assert crash.crashed == 1 and result.replayed_chunks == 1  # retried, nothing twice
    assert (progress["issued"], progress["skipped"], progress["chunks_done"]) == (300, 0, 6)
    described = await handle.describe()
    assert await described.memo_value("title") == "Invitations for 300 people"

    r = await gw.http.get(f"/org/invitations/jobs/{job['job_id']}/slips", headers=hr.headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert r.headers["cache-control"] == "no-store"
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert header[0] == "工号 Employee number"
    assert len(rows) == 300 and {row[0] for row in rows} == set(people)
    assert all(people[str(row[0])] == row[1] for row in rows)
    _, _, _, login, password, _ = rows[123]
    assert (await gw.login(str(login), str(password)))["must_change_password"] is True
    # Once: the passwords are gone from Stride now.
    r = await gw.http.get(f"/org/invitations/jobs/{job['job_id']}/slips", headers=hr.headers)
    problem(r, 410, "slips_gone")
    assert (await job_of(gw, hr, job["job_id"]))["slips_taken"] is True

    # One invitation per person in the audit trail (the retried chunk issued nothing again).
    async def issued() -> list[dict[str, Any]]:
        entries = await audit_entries(gw, hr, action="identity.auth.invitation_issued")
        assert len(entries) >= 300
        return entries

    entries = await eventually(issued)
    assert len(entries) == 300 and len({e["resource_id"] for e in entries}) == 300
    assert {e["actor"] for e in entries} == {hr.id}

    # Nobody left without a password: the next job has nothing to do and is done at once.
    r = await gw.http.post(
        "/org/invitations", json={"all_without_password": True}, headers=hr.headers
    )
    assert r.status_code == 202 and r.json()["status"] == "done" and r.json()["total"] == 0


async def test_named_people_privileged_ones_and_json_slips(
    stack: tuple[GatewayStack, WorkerSettings], temporal_dev_env: WorkflowEnvironment
) -> None:
    gw, settings = stack
    hq = await gw.department("HQ")
    hr = await gw.person(hq.id, roles=["hr"], name="HR")
    worker_person = await gw.person(hq.id, name="Worker")
    people = await import_people(gw, 3)
    found = await gw.admin_grpc.identity.LookupEmployees(
        identity_pb2.LookupEmployeesRequest(employee_numbers=list(people))
    )
    first, second, _ = sorted(found.employees, key=lambda e: e.employee_number)

    r = await gw.http.post(
        "/org/invitations", json={"all_without_password": True}, headers=worker_person.headers
    )
    problem(r, 403, "forbidden")
    for bad in ({}, {"employee_ids": [first.id], "all_without_password": True}):
        r = await gw.http.post("/org/invitations", json=bad, headers=hr.headers)
        problem(r, 422, "invitation_target_required")

    r = await gw.http.post(
        "/org/invitations",
        json={"employee_ids": [first.id, second.id, hr.id, "nobody"]},
        headers=hr.headers,
    )
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["total"] == 2 and job["skipped_reasons"] == {"has_password": 1, "not_found": 1}
    async with worker(temporal_dev_env.client, settings):
        await asyncio.wait_for(
            temporal_dev_env.client.get_workflow_handle(ids.invitations(job["job_id"])).result(),
            timeout=60,
        )
    r = await gw.http.get(
        f"/org/invitations/jobs/{job['job_id']}/slips",
        params={"format": "json"},
        headers=hr.headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert sorted(i["employee_id"] for i in body["issued"]) == sorted([first.id, second.id])
    assert {(s["employee_id"], s["reason"]) for s in body["skipped"]} == {
        (hr.id, "has_password"),
        ("nobody", "not_found"),
    }
    slip = next(i for i in body["issued"] if i["employee_id"] == first.id)
    assert slip["department_name"] == "Plant" and slip["employee_number"] == first.employee_number
    assert (await gw.login(first.employee_number, slip["initial_password"]))["must_change_password"]


async def test_without_temporal_the_job_is_not_started(
    database_url: str | None, data_dir: Path, nats_url: str
) -> None:
    async with gateway_stack(database_url, data_dir, nats_url) as gw:
        hq = await gw.department("HQ")
        hr = await gw.person(hq.id, roles=["hr"], name="HR")
        await import_people(gw, 2)
        r = await gw.http.post(
            "/org/invitations", json={"all_without_password": True}, headers=hr.headers
        )
        problem(r, 503, "temporal_unavailable")
        # Nothing was issued: the same people can be invited once Temporal is back.
        r = await gw.http.post(
            "/org/invitations", json={"all_without_password": True}, headers=hr.headers
        )
        problem(r, 503, "temporal_unavailable")
