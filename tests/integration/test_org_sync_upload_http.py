"""HR syncs the org from a spreadsheet through the API — upload, dry run,
then the real run — and every run, dry or not, failed or not, is in the runs list.

Through HTTP (the gateway in front of the real identity and goals services, PostgreSQL or
SQLite, a private NATS) with the workflow on the Temporal dev server and the worker's real
activities. The worker has no STRIDE_ORG_SYNC_FILE: the file reaches the sync through
identity's database.
"""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.audit import AuditActivities
from activities.org_sync import OrgSyncActivities
from services.common.settings import WorkerSettings
from services.common.tables import XLSX_MEDIA_TYPE
from services.worker.worker import WORKFLOWS
from tests.integration.gateway_stack import GatewayStack, Person, gateway_stack, problem
from tests.integration.test_org_admin_http import eventually

CSV_TYPE = {"Content-Type": "text/csv"}


@pytest.fixture
async def stack(
    database_url: str | None,
    data_dir: Path,
    nats_url: str,
    temporal_dev_env: WorkflowEnvironment,
) -> AsyncIterator[tuple[GatewayStack, WorkerSettings]]:
    queue = f"org-upload-{uuid.uuid4()}"
    target = temporal_dev_env.client.service_client.config.target_host
    async with gateway_stack(
        database_url, data_dir, nats_url, temporal_address=target, task_queue=queue
    ) as s:
        # No DingTalk app, no STRIDE_ORG_SYNC_FILE: what a fresh installation has.
        yield s, WorkerSettings(identity_addr=s.settings.identity_addr, task_queue=queue)


def worker(client: Client, settings: WorkerSettings) -> Worker:
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=[*OrgSyncActivities(settings).all(), *AuditActivities(settings).all()],
    )


def spreadsheet(rows: list[tuple[str, str, str]]) -> bytes:
    """HR's file: (number, name, manager), everyone in Acme/Plant."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["employee_number", "name", "department", "manager"])
    for number, name, manager in rows:
        writer.writerow([number, name, "Acme/Plant", manager])
    return out.getvalue().encode()


async def run_of(stack: GatewayStack, hr: Person, sync_run_id: str) -> dict[str, Any]:
    r = await stack.http.get(f"/org/sync/runs/{sync_run_id}", headers=hr.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def listed(stack: GatewayStack, hr: Person) -> dict[str, dict[str, Any]]:
    r = await stack.http.get("/org/sync/runs", headers=hr.headers)
    assert r.status_code == 200, r.text
    return {x["run_id"]: x for x in r.json()["items"]}


async def test_hr_uploads_a_file_dry_runs_it_then_applies_it(
    stack: tuple[GatewayStack, WorkerSettings], temporal_dev_env: WorkflowEnvironment
) -> None:
    gw, settings = stack
    hq = await gw.department("HQ")
    hr = await gw.person(hq.id, roles=["hr"], name="HR")
    someone = await gw.person(hq.id, name="Someone")
    leaver = await gw.person(hq.id, name="Li Leaver")
    others = [await gw.person(hq.id, name=f"Other {i}") for i in range(2)]
    kept = [(p.login, p.employee.name, "") for p in (someone, *others)]
    new = [("B001", "Boss Upload", "")] + [
        (f"U{i:03d}", f"Zhang Upload {i}", "B001") for i in range(20)
    ]
    content = spreadsheet(kept + new)

    # Who may upload, and what is refused before anything is stored.
    r = await gw.http.post(
        "/org/sync/uploads", content=content, headers={**someone.headers, **CSV_TYPE}
    )
    problem(r, 403, "forbidden")
    r = await gw.http.post(
        "/org/sync/uploads",
        content=b"%PDF-1.4",
        headers={**hr.headers, "Content-Type": "application/pdf"},
    )
    problem(r, 415, "unsupported_media_type")
    r = await gw.http.post(
        "/org/sync/uploads",
        content=b"employee_number,department\nE1,Acme\n",
        headers={**hr.headers, **CSV_TYPE},
    )
    assert "missing column(s): name" in problem(r, 422, "invalid_file")["detail"]
    r = await gw.http.post(
        "/org/sync/uploads",
        content=b"x" * (10 * 1024 * 1024 + 1),
        headers={**hr.headers, **CSV_TYPE},
    )
    problem(r, 413, "file_too_large")
    # The file source without an upload is refused at once (it used to answer 202 and fail
    # in Temporal only, "STRIDE_ORG_SYNC_FILE not set").
    r = await gw.http.post("/org/sync", json={"source": "file"}, headers=hr.headers)
    problem(r, 422, "upload_required")
    r = await gw.http.post(
        "/org/sync", json={"source": "file", "upload_id": str(uuid.uuid4())}, headers=hr.headers
    )
    problem(r, 404, "org_sync_upload_not_found")

    r = await gw.http.post(
        "/org/sync/uploads",
        params={"filename": "people.csv"},
        content=content,
        headers={**hr.headers, **CSV_TYPE},
    )
    assert r.status_code == 201, r.text
    upload = r.json()
    assert (upload["filename"], upload["people"], upload["departments"]) == ("people.csv", 24, 2)
    assert upload["size"] == len(content)

    # The dry run: listed at once, before any worker ran it.
    r = await gw.http.post(
        "/org/sync",
        json={"source": "file", "upload_id": upload["upload_id"], "dry_run": True},
        headers=hr.headers,
    )
    assert r.status_code == 202, r.text
    dry = r.json()
    assert dry["workflow_id"] == "org-sync/file/dry-run"
    assert r.headers["location"] == f"/api/v1/org/sync/runs/{dry['sync_run_id']}"
    waiting = (await listed(gw, hr))[dry["sync_run_id"]]
    assert (waiting["status"], waiting["dry_run"], waiting["upload_id"]) == (
        "started",
        True,
        upload["upload_id"],
    )
    async with worker(temporal_dev_env.client, settings):
        handle = temporal_dev_env.client.get_workflow_handle(
            dry["workflow_id"], run_id=dry["run_id"]
        )
        await asyncio.wait_for(handle.result(), timeout=60)
        history = (await handle.fetch_history()).to_json()
    assert "Zhang Upload" not in history  # the file never went through the workflow history
    report = await run_of(gw, hr, dry["sync_run_id"])
    assert report["status"] == "dry_run" and report["counts"]["created"] == 21
    assert [(d["key"], d["name"]) for d in report["deactivations"]] == [(leaver.login, "Li Leaver")]
    kept_rows = [x for x in report["rows"] if x["action"] == "kept"]
    assert [(x["key"], x["reason_code"]) for x in kept_rows] == [(hr.login, "requester_kept")]
    r = await gw.http.get("/employees", params={"page_size": 200}, headers=hr.headers)
    assert len(r.json()["items"]) == 5  # the dry run changed nothing

    # The real run of the same upload.
    r = await gw.http.post(
        "/org/sync", json={"source": "file", "upload_id": upload["upload_id"]}, headers=hr.headers
    )
    assert r.status_code == 202, r.text
    real = r.json()
    assert real["workflow_id"] == "org-sync/file"
    async with worker(temporal_dev_env.client, settings):
        handle = temporal_dev_env.client.get_workflow_handle(
            real["workflow_id"], run_id=real["run_id"]
        )
        await asyncio.wait_for(handle.result(), timeout=60)
    report = await run_of(gw, hr, real["sync_run_id"])
    assert report["status"] == "applied" and report["counts"]["created"] == 21
    assert report["counts"]["deactivated"] == 1 and report["counts"]["kept"] == 1
    r = await gw.http.get("/employees", params={"page_size": 200}, headers=hr.headers)
    status = {e["employee_number"]: e["status"] for e in r.json()["items"]}
    assert len(status) == 26 and status[leaver.login] == "left" and status[hr.login] == "active"
    runs = await listed(gw, hr)
    assert runs[dry["sync_run_id"]]["status"] == "dry_run"
    assert runs[real["sync_run_id"]]["status"] == "applied"


async def test_an_xlsx_upload_as_octet_stream(stack: tuple[GatewayStack, WorkerSettings]) -> None:
    gw, _ = stack
    hq = await gw.department("HQ")
    hr = await gw.person(hq.id, roles=["hr"], name="HR")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["工号", "姓名", "部门"])
    sheet.append([1001, "王芳", "Acme"])
    out = io.BytesIO()
    book.save(out)
    r = await gw.http.post(
        "/org/sync/uploads",
        content=out.getvalue(),
        headers={**hr.headers, "Content-Type": "application/octet-stream"},
    )
    problem(r, 422, "filename_required")
    for headers, params in (
        ({"Content-Type": XLSX_MEDIA_TYPE}, {}),
        ({"Content-Type": "application/octet-stream"}, {"filename": "org.xlsx"}),
    ):
        r = await gw.http.post(
            "/org/sync/uploads",
            content=out.getvalue(),
            params=params,
            headers={**hr.headers, **headers},
        )
        assert r.status_code == 201, r.text
        assert r.json()["people"] == 1


async def test_every_failure_is_in_the_runs_list_with_its_reason(
    stack: tuple[GatewayStack, WorkerSettings], temporal_dev_env: WorkflowEnvironment
) -> None:
    gw, settings = stack
    hq = await gw.department("HQ")
    hr = await gw.person(hq.id, roles=["hr"], name="HR")
    # DingTalk is not configured on this worker: the run fails in the workflow.
    r = await gw.http.post("/org/sync", json={"source": "dingtalk"}, headers=hr.headers)
    assert r.status_code == 202, r.text
    started = r.json()
    # A second start while the first one waits: refused, and recorded as such.
    r = await gw.http.post("/org/sync", json={"source": "dingtalk"}, headers=hr.headers)
    problem(r, 409, "sync_running")
    async with worker(temporal_dev_env.client, settings):

        async def failed() -> dict[str, Any]:
            run = (await listed(gw, hr))[started["sync_run_id"]]
            assert run["status"] == "failed", run
            return run

        run = await eventually(failed, timeout=60)
    assert "DingTalk is not configured" in run["error"]
    assert run["finished_at"]
    not_started = [
        x
        for x in (await listed(gw, hr)).values()
        if x["status"] == "failed" and x["run_id"] != started["sync_run_id"]
    ]
    assert [x["error"] for x in not_started] == [
        "not started: An org sync of dingtalk is still running."
    ]
