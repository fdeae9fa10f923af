"""The web app in a real browser: Playwright driving Debian's Chromium (headless, never a
downloaded browser) against the whole stack started as processes (tests/e2e/conftest.py),
on a phone viewport and a desktop one.

Sign-in, the language switch, a full weekly check-in of three key results in one submit
(then three check-ins through the API), a manager's approval through the real approval
workflow, the dashboard showing the numbers the API returns, the cross-department objective
board, and the HR console (a cycle created, then found in the audit search). Screenshots
are saved under build/test-artifacts/web/.
"""

from __future__ import annotations

import importlib.resources
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect
from temporalio.client import Client

from activities.brief_render import FONT_FILE, FONT_PACKAGE
from services.common.channels import channel
from services.identity.bootstrap import Bootstrap
from stride.identity.v1 import identity_pb2
from tests.e2e.api import post, week
from tests.e2e.conftest import Stack
from tests.waiting import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts" / "web"
PASSWORD = "Web-browser-pass-1"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


def _with_cjk_font(tmp: Path) -> dict[str, str]:
    """The environment for Chromium with a fontconfig that adds the CJK font Stride already
    ships for its PDFs (WenQuanYi Micro Hei, activities/brief_render.py) to the system's, so
    the Chinese pages' screenshots are readable on a machine without CJK fonts."""
    fonts = importlib.resources.files(FONT_PACKAGE).joinpath(FONT_FILE)
    conf = tmp / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
        f"<dir>{Path(str(fonts)).parent}</dir><cachedir>{tmp / 'cache'}</cachedir>"
        "</fontconfig>"
    )
    return {**os.environ, "FONTCONFIG_FILE": str(conf)}


@pytest.fixture(scope="module")
async def browser(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(
            "Debian's Chromium is not installed (`apt-get install -y chromium`, as .ci/run "
            "does); the browser tests never download a browser (no `playwright install`).",
            pytrace=False,
        )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        launched = await p.chromium.launch(
            executable_path=executable,
            headless=True,
            env=_with_cjk_font(tmp_path_factory.mktemp("fonts")),
        )
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Org:
    stack: Stack
    cycle: str
    departments: dict[str, str]
    manager: dict[str, Any] = field(default_factory=dict)
    hr: dict[str, Any] = field(default_factory=dict)


async def _person(
    stack: Stack, department: str, name: str, manager: str = "", roles: list[str] | None = None
) -> dict[str, Any]:
    number = f"WB{uuid.uuid4().hex[:6]}"
    person: dict[str, Any] = await post(
        stack,
        "/employees",
        {
            "employee_number": number,
            "name": name,
            "email": f"{number.lower()}@example.com",
            "department_id": department,
            "manager_id": manager,
            "roles": roles or [],
        },
    )
    async with channel(stack.config.service_addr("identity"), actor="e2e-setup") as ch:
        await Bootstrap(ch).set_password(
            identity_pb2.Employee(id=person["id"]), PASSWORD, must_change=False
        )
    return person


@pytest.fixture(scope="module")
async def org(stack: Stack) -> Org:
    tag = uuid.uuid4().hex[:6]
    plant = await post(stack, "/departments", {"name": f"Plant {tag}"})
    quality = await post(stack, "/departments", {"name": f"Quality {tag}"})
    today = date.today()
    cycle = await post(
        stack,
        "/cycles",
        {
            "name": f"Web {tag}",
            "start_date": (today - timedelta(days=20)).isoformat(),
            "end_date": (today + timedelta(days=70)).isoformat(),
        },
    )
    o = Org(stack, cycle["id"], {"plant": plant["id"], "quality": quality["id"]})
    o.manager = await _person(stack, plant["id"], f"Li Manager {tag}")
    o.hr = await _person(stack, quality["id"], f"HR Person {tag}", roles=["hr"])
    return o


async def _context(browser: Browser, stack: Stack, viewport: str) -> BrowserContext:
    return await browser.new_context(
        base_url=stack.config.gateway_url,
        viewport=VIEWPORTS[viewport],  # type: ignore[arg-type]
        locale="en-US",
        is_mobile=viewport == "phone",
        has_touch=viewport == "phone",
    )


async def _sign_in(page: Page, person: dict[str, Any], path: str) -> None:
    """Open ``path``; the sign-in page comes first and returns to it."""
    await page.goto(path)
    await expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    await page.get_by_label("Employee number or e-mail").fill(person["employee_number"])
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(re.escape(path.split("?")[0])))


async def _shot(page: Page, name: str, viewport: str) -> None:
    await page.screenshot(path=str(ARTIFACTS / f"{name}-{viewport}.png"), full_page=True)


async def _employee_with_goals(org: Org) -> tuple[dict[str, Any], dict[str, str]]:
    """A report of the manager with three manual key results and one machine-fed."""
    e = await _person(org.stack, org.departments["plant"], "Wang Worker", org.manager["id"])
    objective = await post(
        org.stack,
        "/objectives",
        {
            "cycle_id": org.cycle,
            "title": "Cut scrap on line 3",
            "owner_id": e["id"],
            "key_results": [
                {"title": "Scrap rate down", "baseline": 8, "target": 2, "weight": 25},
                {"title": "Kaizen ideas", "baseline": 0, "target": 12, "weight": 25},
                {"title": "Poka-yoke installed", "kind": "boolean", "weight": 25},
                {
                    "title": "OEE from the line",
                    "baseline": 60,
                    "target": 85,
                    "weight": 25,
                    "data_source": "telemetry",
                },
            ],
        },
    )
    r = await org.stack.api.get(
        f"/objectives/{objective['id']}/key-results", params={"page_size": 50}
    )
    assert r.status_code == 200, r.text
    return e, {kr["title"]: kr["id"] for kr in r.json()["items"]}


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
async def test_sign_in_and_switch_the_language(browser: Browser, org: Org, viewport: str) -> None:
    context = await _context(browser, org.stack, viewport)
    try:
        page = await context.new_page()
        await _sign_in(page, org.manager, "/okrs")
        await expect(page.get_by_role("heading", level=1)).to_have_text("My OKRs")
        await _shot(page, "okrs-en", viewport)
        await page.get_by_role("link", name="中文").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("我的 OKR")
        await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        await _shot(page, "okrs-zh", viewport)
        # The choice sticks across pages.
        await page.goto("/check-in")
        await expect(page.get_by_role("heading", level=1)).to_have_text("周进展")
        await page.get_by_role("link", name="English").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Weekly check-in")
    finally:
        await context.close()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
async def test_a_full_weekly_check_in_in_one_submit(
    browser: Browser, org: Org, viewport: str
) -> None:
    e, krs = await _employee_with_goals(org)
    context = await _context(browser, org.stack, viewport)
    try:
        page = await context.new_page()
        await _sign_in(page, e, "/check-in")

        def card(title: str) -> Any:
            return page.locator(f'fieldset[data-key-result="{krs[title]}"]')

        await expect(card("OEE from the line")).to_contain_text("Fed by machines")
        await expect(card("OEE from the line").locator("input")).to_have_count(0)
        await card("Scrap rate down").get_by_label("Value").fill("5.5")
        await card("Scrap rate down").get_by_label("Confidence").fill("6")
        await card("Scrap rate down").get_by_text("Blocker or note").click()
        await card("Scrap rate down").get_by_label("Blocker", exact=True).fill("A new die")
        await (
            card("Scrap rate down")
            .get_by_label("Department whose help you need")
            .select_option(org.departments["quality"])
        )
        await card("Kaizen ideas").get_by_label("Value").fill("4")
        await card("Kaizen ideas").get_by_label("Confidence").fill("8")
        await card("Poka-yoke installed").get_by_label("Value").select_option("1")
        await _shot(page, "check-in-filled", viewport)
        await page.get_by_role("button", name="Record all check-ins").click()
        await expect(page.locator("#check-in-done")).to_have_text(
            "Recorded 3 check-ins. Thank you!"
        )
        await _shot(page, "check-in-done", viewport)
    finally:
        await context.close()
    expected = {"Scrap rate down": 5.5, "Kaizen ideas": 4, "Poka-yoke installed": 1}
    for title, value in expected.items():
        r = await org.stack.api.get(f"/key-results/{krs[title]}/check-ins")
        assert r.status_code == 200, r.text
        (check_in,) = r.json()["items"]
        assert check_in["value"] == value, title
    r = await org.stack.api.get(f"/key-results/{krs['Scrap rate down']}/check-ins")
    (blocker,) = r.json()["items"][0]["blockers"]
    assert blocker == {**blocker, "text": "A new die", "department_id": org.departments["quality"]}
    r = await org.stack.api.get(f"/key-results/{krs['OEE from the line']}/check-ins")
    assert r.json()["items"] == []


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
async def test_the_manager_approves_a_plan(browser: Browser, org: Org, viewport: str) -> None:
    e, _ = await _employee_with_goals(org)
    r = await org.stack.api.post(
        "/auth/login", json={"login": e["employee_number"], "password": PASSWORD}
    )
    token = r.json()["access_token"]
    draft = await post(
        org.stack,
        "/objectives",
        {
            "cycle_id": org.cycle,
            "title": f"Night shift plan {viewport}",
            "owner_id": e["id"],
            "key_results": [{"title": "Rota agreed", "kind": "boolean", "weight": 100}],
        },
    )
    r = await org.stack.api.post(
        f"/cycles/{org.cycle}/plan/submit",
        json={"objective_ids": [draft["id"]]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.text
    approval = r.json()
    # The approval's workflow is started by the event bridge: wait until it runs.
    client = await Client.connect(org.stack.config.temporal_address)
    await eventually(lambda: client.get_workflow_handle(approval["workflow_id"]).describe(), 60)
    context = await _context(browser, org.stack, viewport)
    try:
        page = await context.new_page()
        await _sign_in(page, org.manager, "/approvals")
        await page.get_by_role("link", name=re.compile("Wang Worker")).first.click()
        await expect(page).to_have_url(re.compile(r"/approvals/"))
        if not page.url.endswith(approval["id"]):
            await page.goto(f"/approvals/{approval['id']}")
        await expect(page.get_by_text(f"Night shift plan {viewport}")).to_be_visible()
        await page.get_by_label("Comment").fill("Good plan, go ahead")
        await _shot(page, "approval-open", viewport)
        await page.get_by_role("button", name="Approve").click()
        await expect(page.locator("#approval-status")).to_have_attribute("data-status", "approved")
        await _shot(page, "approval-decided", viewport)
    finally:
        await context.close()
    r = await org.stack.api.get(f"/approvals/{approval['id']}")
    assert r.json()["status"] == "approved" and r.json()["comment"] == "Good plan, go ahead"


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
async def test_the_dashboard_shows_the_apis_numbers(
    browser: Browser, org: Org, viewport: str
) -> None:
    context = await _context(browser, org.stack, viewport)
    try:
        page = await context.new_page()
        await _sign_in(page, org.hr, f"/dashboards?cycle={org.cycle}")

        async def same_numbers() -> None:
            # The read models follow the event stream: the page and the API are compared
            # on one state (reloaded until they agree).
            await page.reload()
            r = await org.stack.api.get(f"/dashboards/{org.cycle}/organisation")
            assert r.status_code == 200, r.text
            total = r.json()["total"]
            for figure in ("key_results", "completed", "behind", "at_risk", "stale"):
                shown = page.locator(f'[data-figure="{figure}"]')
                assert await shown.inner_text() == str(total[figure]), figure
            shown = page.locator('[data-figure="average_score"]')
            assert await shown.inner_text() == f"{round(total['average_score'] * 100)}%"

        await eventually(same_numbers, 30, interval=1.0)
        await expect(page.locator("svg.chart").first).to_be_visible()
        await _shot(page, "dashboard", viewport)
    finally:
        await context.close()


@pytest.mark.parametrize("viewport", ["phone"])
async def test_the_qr_code_opens_the_check_in_on_a_shared_device(
    browser: Browser, org: Org, viewport: str
) -> None:
    e, krs = await _employee_with_goals(org)
    context = await _context(browser, org.stack, "desktop")
    try:
        page = await context.new_page()
        await _sign_in(page, org.hr, f"/qr?department={org.departments['plant']}")
        # The line's two codes: the weekly check-in and the daily inspection.
        await expect(page.locator("figure.qr svg")).to_have_count(2)
        await _shot(page, "qr-sheet", "desktop")
        link = await page.locator('figure.qr[data-qr="check-in"] svg title').text_content() or ""
    finally:
        await context.close()
    assert link == (
        f"{org.stack.config.gateway_url}/pin-sign-in?department={org.departments['plant']}"
    )
    # The person sets a PIN once, on their own phone, with their password.
    own = await _context(browser, org.stack, viewport)
    try:
        page = await own.new_page()
        await _sign_in(page, e, "/pin")
        await page.get_by_label("Current password").fill(PASSWORD)
        await page.get_by_label("New PIN").fill("2580")
        await page.get_by_role("button", name="Save PIN").click()
        await expect(page.locator("#pin-saved")).to_be_visible()
        await _shot(page, "pin-set", viewport)
    finally:
        await own.close()
    device = await _context(browser, org.stack, viewport)
    try:
        page = await device.new_page()
        await page.goto(link)  # what the shared phone's camera opens
        await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in with your PIN")
        pin = page.get_by_label("PIN", exact=True)
        assert await pin.get_attribute("inputmode") == "numeric"
        await page.get_by_label("Employee number", exact=True).fill(e["employee_number"])
        await pin.fill("9513")  # a wrong PIN first
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("#sign-in-error")).to_contain_text("Wrong employee number or PIN")
        await _shot(page, "qr-pin-sign-in", viewport)
        # Keyboard only: the number is kept, the PIN field has the focus; Enter submits.
        await expect(page.get_by_label("PIN", exact=True)).to_be_focused()
        await page.keyboard.type("2580")
        await page.keyboard.press("Enter")
        await expect(page.locator("#shared-device")).to_be_visible()
        for title in ("Scrap rate down", "Kaizen ideas"):
            card = page.locator(f'fieldset[data-key-result="{krs[title]}"]')
            await card.get_by_label("Value").fill("3")
        await page.get_by_role("button", name="Record all check-ins").click()
        # Signed out: the device is ready for the next person.
        await expect(page.locator("#check-in-done")).to_contain_text("Recorded 3 check-ins")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in with your PIN")
        await expect(page).to_have_url(re.compile(r"/pin-sign-in\?department="))
        await _shot(page, "qr-shared-device-done", viewport)
    finally:
        await device.close()
    r = await org.stack.api.get(f"/key-results/{krs['Kaizen ideas']}/check-ins")
    assert [c["value"] for c in r.json()["items"]] == [3]


async def test_the_cross_department_board(browser: Browser, org: Org) -> None:
    """The customer's objective owned in two departments: the board from the dashboard,
    one row per key result with its department, risk, trend and latest blocker."""
    planner = await _person(org.stack, org.departments["plant"], "Zhou Planner", org.manager["id"])
    engineer = await _person(org.stack, org.departments["quality"], "Chen Engineer")
    objective = await post(
        org.stack,
        "/objectives",
        {
            "cycle_id": org.cycle,
            "title": f"On-time delivery ≥ 99 % {uuid.uuid4().hex[:4]}",
            "owner_id": org.manager["id"],
            "key_results": [
                {
                    "title": "Plan changes per month",
                    "baseline": 6,
                    "target": 2,
                    "weight": 50,
                    "owner_id": planner["id"],
                },
                {
                    "title": "First-pass yield",
                    "baseline": 90,
                    "target": 98,
                    "weight": 50,
                    "owner_id": engineer["id"],
                },
            ],
        },
    )
    r = await org.stack.api.get(f"/objectives/{objective['id']}/key-results")
    krs = {kr["title"]: kr["id"] for kr in r.json()["items"]}
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    for title, values in (("Plan changes per month", (5, 3)), ("First-pass yield", (95, 93))):
        for weeks_ago, value in zip((1, 0), values, strict=True):
            body: dict[str, Any] = {
                "value": value,
                "confidence": 6,
                "week": week(today - timedelta(weeks=weeks_ago)),
            }
            if title == "First-pass yield" and weeks_ago == 0:
                body["blockers"] = [
                    {"text": "Die wear on press 4", "department_id": org.departments["plant"]}
                ]
            await post(org.stack, f"/key-results/{krs[title]}/check-ins", body)
    context = await _context(browser, org.stack, "desktop")
    try:
        page = await context.new_page()
        await _sign_in(page, org.hr, f"/dashboards?cycle={org.cycle}")
        await page.get_by_role("link", name="The cross-department objective board").click()
        await page.get_by_role("link", name=objective["title"]).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(objective["title"])
        plan = page.locator(f'tr[data-key-result="{krs["Plan changes per month"]}"]')
        fpy = page.locator(f'tr[data-key-result="{krs["First-pass yield"]}"]')
        await expect(plan.locator('[data-cell="department"]')).to_contain_text("Plant")
        await expect(plan.locator('[data-cell="owner"]')).to_have_text("Zhou Planner")
        await expect(plan.locator('[data-cell="trend"]')).to_have_attribute("data-trend", "up")
        await expect(fpy.locator('[data-cell="department"]')).to_contain_text("Quality")
        await expect(fpy.locator('[data-cell="trend"]')).to_have_attribute("data-trend", "down")
        await expect(fpy.locator('[data-cell="blocker"]')).to_contain_text("Die wear on press 4")
        for key_result_id in krs.values():
            api = (await org.stack.api.get(f"/key-results/{key_result_id}")).json()
            row = page.locator(f'tr[data-key-result="{key_result_id}"]')
            await expect(row.locator('[data-cell="value"]')).to_contain_text(
                f"{api['current_value']:g} / {api['target']:g}"
            )
        await _shot(page, "board", "desktop")
    finally:
        await context.close()


async def test_hr_creates_a_cycle_and_finds_it_in_the_audit(browser: Browser, org: Org) -> None:
    """The HR console: a new cycle through the form, then the audit search finds its entry."""
    name = f"Q-browser {uuid.uuid4().hex[:6]}"
    start = date.today() + timedelta(days=300)
    context = await _context(browser, org.stack, "desktop")
    try:
        page = await context.new_page()
        await _sign_in(page, org.hr, "/hr")
        await expect(page.get_by_role("heading", level=1)).to_have_text("HR console")
        await page.get_by_role("link", name="OKR cycles").click()
        await page.get_by_label("Name", exact=True).fill(name)
        await page.get_by_label("First day").fill(start.isoformat())
        await page.get_by_label("Last day").fill((start + timedelta(days=90)).isoformat())
        await page.get_by_role("button", name="Create the cycle").click()
        await expect(page.get_by_role("status")).to_have_text("The cycle was created.")
        await expect(page).to_have_url(re.compile(r"created="))
        cycle_id = page.url.split("created=")[1]
        await expect(page.locator(f'tr[data-cycle="{cycle_id}"]')).to_contain_text(name)
        await _shot(page, "hr-cycles", "desktop")
        r = await org.stack.api.get(f"/cycles/{cycle_id}")
        assert r.json()["name"] == name and r.json()["start_date"] == start.isoformat()
        await page.goto("/hr")
        await page.get_by_role("link", name="Audit search").click()
        await page.get_by_label("Record id").fill(cycle_id)
        await page.get_by_role("button", name="Search").click()
        await expect(page.locator("tr[data-seq]").first).to_contain_text("goals.cycle.create")
        await _shot(page, "hr-audit", "desktop")
    finally:
        await context.close()
