"""The HR console's org sync through the pages — a spreadsheet uploaded in a browser form,
the dry run's preview, then applied — and the month-end brief's PDF / HTML documents linked
from the briefs page.

On the real stack: the gateway in front of the real identity and goals services (PostgreSQL
with ``STRIDE_TEST_DATABASE_URL``, else SQLite), a private NATS, the org sync workflow on the
Temporal dev server with the worker's real activities. A browser-like client posts the
pages' forms (multipart for the file) with their CSRF token.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.brief_render import render_html, render_pdf
from gateway.web.session import CSRF_COOKIE
from services.common.settings import WorkerSettings
from stride.goals.v1 import goals_pb2 as gpb
from stride.identity.v1 import identity_pb2
from tests.integration.gateway_stack import GatewayStack, Person, gateway_stack
from tests.integration.test_org_admin_http import eventually
from tests.integration.test_org_sync_upload_http import spreadsheet, worker
from tests.integration.test_web_pages import Browser, text
from workflows.brief_figures import BANDS, DepartmentFigures, brief_json


@pytest.fixture
async def stack(
    database_url: str | None,
    data_dir: Path,
    nats_url: str,
    temporal_dev_env: WorkflowEnvironment,
) -> AsyncIterator[tuple[GatewayStack, WorkerSettings]]:
    queue = f"web-org-sync-{uuid.uuid4()}"
    target = temporal_dev_env.client.service_client.config.target_host
    async with gateway_stack(
        database_url, data_dir, nats_url, temporal_address=target, task_queue=queue
    ) as s:
        yield s, WorkerSettings(identity_addr=s.settings.identity_addr, task_queue=queue)


async def upload(b: Browser, filename: str, content: bytes, *, csrf: bool = True) -> httpx.Response:
    """The org sync page's upload form, as a browser posts it."""
    if CSRF_COOKIE not in b.http.cookies:
        await b.get("/hr/org-sync")
    data = {"csrf": b.http.cookies[CSRF_COOKIE]} if csrf else {}
    return await b.http.post(
        "/hr/org-sync", data=data, files={"file": (filename, content, "application/octet-stream")}
    )


def run_path(r: httpx.Response) -> str:
    assert r.status_code == 303, f"{r.status_code} {text(r)[:400]}"
    location = r.headers["location"]
    assert re.fullmatch(r"/hr/org-sync/runs/[A-Za-z0-9-]+", location), location
    return str(location)


def counts(page: httpx.Response) -> dict[str, int]:
    """The report page's counts table (count name → number)."""
    return {
        name: int(n)
        for name, n in re.findall(
            r'<tr data-count="(\w+)"><th scope="row">[^<]*</th><td>(\d+)</td>', page.text
        )
    }


async def employees(gw: GatewayStack, hr: Person) -> dict[str, dict[str, Any]]:
    r = await gw.http.get("/employees", params={"page_size": 200}, headers=hr.headers)
    assert r.status_code == 200, r.text
    return {e["employee_number"]: e for e in r.json()["items"]}


async def test_hr_uploads_previews_and_applies_a_file_in_the_browser(
    stack: tuple[GatewayStack, WorkerSettings], temporal_dev_env: WorkflowEnvironment
) -> None:
    gw, settings = stack
    hq = await gw.department("HQ")
    hr = await gw.person(hq.id, roles=["hr"], name="HR")
    stay = [await gw.person(hq.id, name=f"Stays {i}") for i in range(3)]
    leaver = await gw.person(hq.id, name="Li Leaver")
    new = [("B001", "Boss Web", "")] + [(f"W{i:03d}", f"Zhang Web {i}", "B001") for i in range(3)]
    content = spreadsheet([(p.login, p.employee.name, "") for p in stay] + new)

    async with Browser(gw) as b:
        await b.sign_in(hr)
        page = await b.get("/hr/org-sync")
        assert page.status_code == 200
        assert 'enctype="multipart/form-data"' in page.text
        assert re.search(r'<label for="sync-file">', page.text)
        dry_path = run_path(await upload(b, "people.csv", content))
        # No worker yet: the dry run waits, and its page says so (and reloads itself).
        waiting = await b.get(dry_path)
        assert 'data-status="started"' in waiting.text
        assert '<meta http-equiv="refresh"' in waiting.text
        assert "/apply" not in waiting.text
        async with worker(temporal_dev_env.client, settings):

            async def finished(path: str, status: str) -> httpx.Response:
                r = await b.get(path)
                assert r.status_code == 200, text(r)[:400]
                assert f'data-status="{status}"' in r.text, text(r)[:600]
                return r

            preview = await eventually(lambda: finished(dry_path, "dry_run"), timeout=60)
            shown = counts(preview)
            assert shown["created"] == 4 and shown["deactivated"] == 1, shown
            assert shown["kept"] == 1  # HR, who started it, is never deactivated by it
            body = text(preview)
            assert "Org sync preview (dry run)" in body
            for name in ("Boss Web", "Zhang Web 2", "Li Leaver"):
                assert name in body
            deactivated = re.findall(r'<tr data-row="deactivated">(.*?)</tr>', preview.text, re.S)
            assert len(deactivated) == 1 and leaver.login in deactivated[0]
            assert 'action="' + dry_path + '/apply"' in preview.text
            # The dry run changed nothing.
            assert len(await employees(gw, hr)) == 5

            r = await b.post(dry_path + "/apply", {})
            real_path = run_path(r)
            assert real_path != dry_path
            applied = await eventually(lambda: finished(real_path, "applied"), timeout=60)
        assert counts(applied)["created"] == 4
        assert "/apply" not in applied.text and "http-equiv" not in applied.text
        people = await employees(gw, hr)
        assert {"B001", "W000", "W001", "W002"} <= set(people)
        assert people["W001"]["name"] == "Zhang Web 1" and people["W001"]["status"] == "active"
        assert people[leaver.login]["status"] == "left"

        # Both runs are listed, each linking its report; the report is paged by change.
        runs = await b.get("/hr/org-sync")
        for path in (dry_path, real_path):
            assert f'href="{path}"' in runs.text
        created = await b.get(dry_path + "?action=created")
        assert set(re.findall(r'<tr data-row="(\w+)">', created.text)) == {"created"}
        # Applying a run that is not a dry run is refused.
        r = await b.post(real_path + "/apply", {})
        assert r.status_code == 409, text(r)[:300]
        assert "Only a finished dry run" in text(r)


async def test_a_bad_file_or_someone_else_gets_a_4xx_page_and_nothing_runs(
    stack: tuple[GatewayStack, WorkerSettings],
) -> None:
    gw, _ = stack
    hq = await gw.department("HQ")
    hr = await gw.person(hq.id, roles=["hr"], name="HR")
    worker_person = await gw.person(hq.id, name="Wang Worker")
    async with Browser(gw) as b:
        await b.sign_in(hr)
        r = await upload(b, "people.csv", b"employee_number,department\nE1,Acme\n")
        assert r.status_code == 422
        assert "The file cannot be read." in text(r)
        assert "missing column(s): name" in text(r)
        assert 'enctype="multipart/form-data"' in r.text  # the form again, to try another file
        # Over the gateway's 1 MiB default body limit: the page takes bulk bodies as the API.
        big = b"employee_number,department\n" + b"E1,Acme\n" * 300_000
        r = await upload(b, "people.csv", big)
        assert r.status_code == 422 and "missing column(s): name" in text(r)
        r = await upload(b, "org.pdf", b"%PDF-1.4 not a spreadsheet")
        assert 400 <= r.status_code < 500 and r.status_code != 404, r.status_code
        r = await upload(b, "", b"")  # no file chosen
        assert 400 <= r.status_code < 500, r.status_code
        r = await upload(b, "people.csv", b"employee_number,name,department\n", csrf=False)
        assert r.status_code == 403
        r = await b.http.post(
            "/hr/org-sync", content=b"csrf=x", headers={"Content-Type": "text/plain"}
        )
        assert r.status_code == 400 and "The form could not be read" in text(r)
        missing = await b.get(f"/hr/org-sync/runs/{uuid.uuid4()}")
        assert missing.status_code == 404
        # Nothing was recorded as a run.
        assert "No org sync has run yet." in text(await b.get("/hr/org-sync"))
    async with Browser(gw) as b:
        await b.sign_in(worker_person)
        r = await upload(b, "people.csv", spreadsheet([("X1", "Someone", "")]))
        assert r.status_code == 403, text(r)[:300]
        assert (await b.get("/hr/org-sync")).status_code == 403
    r = await gw.http.get("/org/sync/runs", headers=hr.headers)
    assert r.json()["items"] == []


async def test_a_briefs_documents_open_for_management_only(
    stack: tuple[GatewayStack, WorkerSettings],
) -> None:
    gw, _ = stack
    plant = await gw.department("Plant")
    head = await gw.person(plant.id, name="Li Head")
    await gw.admin_grpc.identity.UpdateDepartment(
        identity_pb2.UpdateDepartmentRequest(id=plant.id, head_id=head.id)
    )
    executive = await gw.person(plant.id, roles=["executive"], name="Chen Executive")
    employee = await gw.person(plant.id, manager_id=head.id, name="Wang Worker")
    month = date.today().strftime("%Y-%m")
    figures = DepartmentFigures(
        department_id=plant.id,
        department_name="Plant",
        month=month,
        key_results=4,
        completion=0.25,
        mean_score=0.5,
        distribution={band: 1 for band in BANDS},
        at_risk=1,
        red=0,
        risks=[],
        participation={},
        alignment=0.0,
        feedback_per_person=0.0,
        trend="new",
        completion_change=0.0,
        mean_score_change=0.0,
    )
    await gw.goals.PutMonthlyBrief(
        gpb.PutMonthlyBriefRequest(
            month=month,
            department_id=plant.id,
            department_name="Plant",
            figures_json=brief_json(figures, []),
            documents=[
                gpb.MonthlyBriefDocument(
                    language=lang,
                    html=render_html(figures, [], lang),
                    pdf=render_pdf(figures, [], lang),
                )
                for lang in ("zh-CN", "en")
            ],
        )
    )
    base = f"/reports/monthly/{month}/{plant.id}"
    async with Browser(gw) as b:
        await b.sign_in(executive)
        page = await b.get(f"/reports/monthly/{month}")
        assert page.status_code == 200
        assert f'href="{base}.pdf?language=en"' in page.text
        assert f'href="{base}.html?language=en"' in page.text
        pdf = await b.get(f"{base}.pdf?language=en")
        assert pdf.status_code == 200, text(pdf)[:300]
        assert pdf.content.startswith(b"%PDF")
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.headers["content-disposition"].startswith("inline; filename=")
        assert pdf.headers["cache-control"] == "no-store"
        html = await b.get(f"{base}.html")  # the page's language (en here)
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        assert "Plant" in html.text and "<svg" in html.text
        assert html.headers["content-security-policy"].startswith("default-src 'none'")
        missing = await b.get(f"/reports/monthly/{month}/{uuid.uuid4()}.pdf")
        assert missing.status_code == 404
    async with Browser(gw, lang="zh-CN") as b:
        await b.sign_in(head)  # the department's head reads its brief (not the list)
        pdf = await b.get(f"{base}.pdf?language=zh-CN")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    async with Browser(gw) as b:
        await b.sign_in(employee)
        for suffix in ("pdf", "html"):
            r = await b.get(f"{base}.{suffix}")
            assert r.status_code in (403, 404), r.status_code
            assert not r.content.startswith(b"%PDF")
            assert r.headers["content-type"].startswith("text/html")  # the error page
    async with Browser(gw) as b:
        r = await b.get(f"{base}.pdf")  # no session: sign in first, then back here
        assert r.status_code == 303 and r.headers["location"].startswith("/sign-in?next=")
