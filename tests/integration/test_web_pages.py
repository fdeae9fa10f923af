"""The web app's pages (gateway/web) on the real in-process stack: a browser-like client
(cookies kept, forms posted url-encoded) against the gateway, whose pages call its own API.

Covers the session (sign-in, return to the link, first-login password change, CSRF,
sign-out), the language switch, my OKRs, the weekly check-in of several key results in one
submit (checked through the API), approvals, the team view, the dashboard's numbers, the
cross-department objective board, the HR console (cycles, risk rules, org sync runs,
invitations, audit search, exports) and every link of Stride's e-mails
(activities/messages.py).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import pytest

from activities.messages import TEMPLATES
from gateway.web.render import RISK_CLASSES
from gateway.web.session import ACCESS_COOKIE, CSRF_COOKIE, REFRESH_COOKIE
from services.common.channels import channel
from stride.feedback.v1 import promotions_pb2 as ppb
from stride.feedback.v1 import rounds_pb2 as rpb
from stride.goals.v1 import goals_pb2 as gpb
from stride.identity.v1 import identity_pb2, inbox_pb2, inbox_pb2_grpc
from tests.integration.gateway_stack import BASE, PASSWORD, GatewayStack, Person, module_stack
from tests.waiting import eventually
from workflows.brief_figures import DepartmentFigures, brief_json

stack = module_stack("gw-web")


class Browser:
    """A cookie-keeping client of the pages (no redirects followed unless asked)."""

    def __init__(self, stack: GatewayStack, lang: str = "en") -> None:
        transport = httpx.ASGITransport(app=stack.app, raise_app_exceptions=False)
        self.http = httpx.AsyncClient(
            transport=transport, base_url=BASE, headers={"Accept-Language": lang}
        )

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def get(self, path: str, *, follow: bool = False) -> httpx.Response:
        return await self.http.get(path, follow_redirects=follow)

    async def post(self, path: str, data: dict[str, str], *, csrf: bool = True) -> httpx.Response:
        if csrf:
            if CSRF_COOKIE not in self.http.cookies:
                await self.get("/sign-in")
            data = {"csrf": self.http.cookies[CSRF_COOKIE], **data}
        return await self.http.post(path, data=data)

    async def sign_in(self, person: Person, next: str = "/okrs") -> httpx.Response:
        await self.get(f"/sign-in?next={quote(next, safe='')}")
        return await self.post(
            "/sign-in", {"login": person.login, "password": person.password, "next": next}
        )


def text(r: httpx.Response) -> str:
    """The page's text, tags removed and entities decoded (for readable assertions)."""
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r.text)))


@dataclass
class Org:
    stack: GatewayStack
    cycle: str
    departments: dict[str, str]
    people: dict[str, Person]
    key_results: dict[str, str] = field(default_factory=dict)
    approval: str = ""


@pytest.fixture(scope="module")
async def org(stack: GatewayStack) -> AsyncIterator[Org]:
    tag = uuid.uuid4().hex[:6]
    plant = await stack.department(f"Plant {tag}")
    quality = await stack.department(f"Quality {tag}", parent_id=plant.id)
    m = await stack.person(plant.id, name="Li Manager", sign_in=False)
    people = {
        "m": m,
        "e": await stack.person(plant.id, manager_id=m.id, name="Wang Worker", sign_in=False),
        "e2": await stack.person(plant.id, manager_id=m.id, name="Zhao Planner", sign_in=False),
        "hr": await stack.person(quality.id, roles=["hr"], name="HR Person", sign_in=False),
        "new": await stack.person(plant.id, name="New Hire", must_change=True, sign_in=False),
    }
    await stack.admin_grpc.identity.UpdateDepartment(
        identity_pb2.UpdateDepartmentRequest(id=plant.id, head_id=m.id)
    )
    today = date.today()
    cycle = await stack.goals.CreateCycle(
        gpb.CreateCycleRequest(
            name=f"Web {tag}",
            start_date=(today - timedelta(days=30)).isoformat(),
            end_date=(today + timedelta(days=60)).isoformat(),
        )
    )
    e = people["e"]
    objective = await stack.goals.CreateObjective(
        gpb.CreateObjectiveRequest(
            cycle_id=cycle.id,
            title="Cut scrap on line 3",
            owner_id=e.id,
            key_results=[
                gpb.NewKeyResult(
                    title="Scrap rate down", owner_id=e.id, baseline=8, target=2, weight=25
                ),
                gpb.NewKeyResult(
                    title="Kaizen ideas", owner_id=e.id, baseline=0, target=12, weight=25
                ),
                gpb.NewKeyResult(
                    title="Poka-yoke installed",
                    owner_id=e.id,
                    kind=gpb.KEY_RESULT_KIND_BOOLEAN,
                    target=1,
                    weight=25,
                ),
                gpb.NewKeyResult(
                    title="OEE from the line",
                    owner_id=e.id,
                    baseline=60,
                    target=85,
                    data_source=gpb.DATA_SOURCE_TELEMETRY,
                    weight=25,
                ),
            ],
        )
    )
    krs = await stack.goals.ListKeyResults(gpb.ListKeyResultsRequest(objective_id=objective.id))
    await stack.goals.SetChecklist(
        gpb.SetChecklistRequest(
            department_id=plant.id,
            items=[
                gpb.ChecklistItem(id="5s", label_zh="5S 检查", label_en="5S audit done"),
                gpb.ChecklistItem(id="records", label_zh="点检记录", label_en="Records complete"),
            ],
        )
    )
    o = Org(stack, cycle.id, {"plant": plant.id, "quality": quality.id}, people)
    o.key_results = {kr.title: kr.id for kr in krs.key_results}
    draft = await stack.goals.CreateObjective(
        gpb.CreateObjectiveRequest(
            cycle_id=cycle.id,
            title="Plan the night shift",
            owner_id=people["e2"].id,
            key_results=[
                gpb.NewKeyResult(
                    title="Rota agreed", owner_id=people["e2"].id, target=1, weight=100
                )
            ],
        )
    )
    o.approval = (
        await stack.goals.SubmitPlan(
            gpb.SubmitPlanRequest(
                cycle_id=cycle.id, employee_id=people["e2"].id, objective_ids=[draft.id]
            )
        )
    ).id
    yield o


# -- session --------------------------------------------------------------------------------


async def test_a_page_without_a_session_signs_in_and_returns_to_it(org: Org) -> None:
    async with Browser(org.stack) as b:
        r = await b.get("/key-results/abc?x=1")
        assert r.status_code == 303
        assert r.headers["location"] == "/sign-in?next=%2Fkey-results%2Fabc%3Fx%3D1"
        r = await b.sign_in(org.people["e"], next="/check-in")
        assert r.status_code == 303 and r.headers["location"] == "/check-in"
        cookies = r.headers.get_list("set-cookie")
        session = next(c for c in cookies if c.startswith(f"{ACCESS_COOKIE}="))
        assert "HttpOnly" in session and "SameSite=lax" in session, session
        assert "Secure" not in session  # plain http here; https sets Secure
        refresh = next(c for c in cookies if c.startswith(f"{REFRESH_COOKIE}="))
        assert "HttpOnly" in refresh
        page = await b.get("/check-in")
        assert page.status_code == 200
        assert page.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"


async def test_next_never_leaves_the_site(org: Org) -> None:
    async with Browser(org.stack) as b:
        for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
            r = await b.sign_in(org.people["e"], next=target)
            assert r.headers["location"] == "/okrs", target
        r = await b.get("/language?lang=en&next=//evil.example")
        assert r.headers["location"] == "/okrs"


async def test_wrong_password_shows_the_reason_and_sets_no_session(org: Org) -> None:
    async with Browser(org.stack) as b:
        await b.get("/sign-in")
        r = await b.post("/sign-in", {"login": org.people["e"].login, "password": "nope-nope-1"})
        assert r.status_code == 401
        assert "Wrong employee number, e-mail or password." in text(r)
        assert ACCESS_COOKIE not in b.http.cookies


async def test_a_form_without_the_csrf_token_is_refused(org: Org) -> None:
    async with Browser(org.stack) as b:
        await b.sign_in(org.people["e"])
        r = await b.post("/check-in", {"cycle": org.cycle}, csrf=False)
        assert r.status_code == 403
        r = await b.post("/sign-in", {"csrf": "forged", "login": "x", "password": "y"}, csrf=False)
        assert r.status_code == 403
        assert "This form has expired" in text(r)


async def test_first_sign_in_changes_the_password_first(org: Org) -> None:
    new = org.people["new"]
    async with Browser(org.stack) as b:
        r = await b.sign_in(new, next="/okrs")
        assert r.status_code == 303 and r.headers["location"] == "/password?next=/okrs"
        # Any other page sends them back to the password form.
        r = await b.get("/team")
        assert r.status_code == 303 and r.headers["location"] == "/password?next=%2Fteam"
        r = await b.post(
            "/password", {"current_password": PASSWORD, "new_password": "short", "next": "/okrs"}
        )
        assert r.status_code == 422
        new_password = "Brand-new-pass-77"
        r = await b.post(
            "/password",
            {"current_password": PASSWORD, "new_password": new_password, "next": "/okrs"},
        )
        assert r.status_code == 303 and r.headers["location"] == "/okrs"
        assert (await b.get("/okrs")).status_code == 200
    new.password = new_password


async def test_sign_out_ends_the_session(org: Org) -> None:
    async with Browser(org.stack) as b:
        await b.sign_in(org.people["e"])
        refresh_token = b.http.cookies[REFRESH_COOKIE]
        r = await b.post("/sign-out", {})
        assert r.status_code == 303 and r.headers["location"] == "/sign-in"
        assert ACCESS_COOKIE not in b.http.cookies
        assert (await b.get("/okrs")).status_code == 303
        # The refresh token was revoked in the API, not only forgotten by the browser.
        r = await org.stack.http.post("/auth/refresh", json={"refresh_token": refresh_token})
        assert r.status_code == 401


async def test_an_expired_access_token_is_refreshed_once(org: Org) -> None:
    async with Browser(org.stack) as b:
        await b.sign_in(org.people["e"])
        b.http.cookies.set(ACCESS_COOKIE, "expired-or-garbage", domain="gateway.test")
        r = await b.get("/okrs")
        assert r.status_code == 200
        assert any(c.startswith(f"{ACCESS_COOKIE}=") for c in r.headers.get_list("set-cookie"))


# -- language -------------------------------------------------------------------------------


async def test_language_follows_accept_language_then_the_switch(org: Org) -> None:
    async with Browser(org.stack, lang="zh-CN,zh;q=0.9,en;q=0.5") as b:
        await b.sign_in(org.people["e"])
        r = await b.get("/okrs")
        assert '<html lang="zh-CN">' in r.text and "我的 OKR" in text(r)
        r = await b.get("/language?lang=en&next=/okrs")
        assert r.status_code == 303 and r.headers["location"] == "/okrs"
        r = await b.get("/okrs")
        assert '<html lang="en">' in r.text and "My OKRs" in text(r)
        # Every page links both languages, returning to itself.
        assert 'href="/language?lang=zh-CN&amp;next=%2Fokrs"' in r.text


# -- my OKRs and the weekly check-in --------------------------------------------------------


async def test_my_okrs_show_the_current_cycle(org: Org) -> None:
    async with Browser(org.stack) as b:
        await b.sign_in(org.people["e"])
        page = text(await b.get("/okrs"))
        assert "Cut scrap on line 3" in page
        for title in org.key_results:
            assert title in page


async def test_one_submit_records_every_manual_key_result(org: Org) -> None:
    e = org.people["e"]
    kr = org.key_results
    async with Browser(org.stack) as b:
        await b.sign_in(e)
        page = await b.get("/check-in")
        assert page.status_code == 200
        # The machine-fed key result is shown, without inputs.
        assert "OEE from the line" in page.text
        assert f'name="kr-{kr["OEE from the line"]}-value"' not in page.text
        assert "Fed by machines" in text(page)
        for title in ("Scrap rate down", "Kaizen ideas", "Poka-yoke installed"):
            assert f'<label for="kr-{kr[title]}-value">' in page.text
        form = {
            "cycle": org.cycle,
            f"kr-{kr['Scrap rate down']}-value": "5.5",
            f"kr-{kr['Scrap rate down']}-confidence": "6",
            f"kr-{kr['Scrap rate down']}-blocker": "Need a new die from Quality",
            f"kr-{kr['Scrap rate down']}-blocker_department": org.departments["quality"],
            f"kr-{kr['Kaizen ideas']}-value": "4",
            f"kr-{kr['Kaizen ideas']}-confidence": "8",
            f"kr-{kr['Poka-yoke installed']}-value": "1",
            f"kr-{kr['Poka-yoke installed']}-confidence": "9",
            # The department's checklist, answered once for all three.
            f"checklist-{org.departments['plant']}-records": "1",
        }
        assert "Records complete" in text(page) and "5S audit done" in text(page)
        r = await b.post("/check-in", form)
        assert r.status_code == 303, text(r)
        assert r.headers["location"] == f"/check-in?cycle={org.cycle}&done=3"
        done = await b.get(r.headers["location"])
        assert "Recorded 3 check-ins" in text(done)
    expected = {"Scrap rate down": 5.5, "Kaizen ideas": 4, "Poka-yoke installed": 1}
    for title, value in expected.items():
        r = await org.stack.http.get(
            f"/key-results/{kr[title]}/check-ins",
            headers=(await _token(org, e)),
        )
        (check_in,) = r.json()["items"]
        assert check_in["value"] == value, title
        answers = {a["item_id"]: a["checked"] for a in check_in["answers"]}
        assert answers == {"5s": False, "records": True}, title
    r = await org.stack.http.get(
        f"/key-results/{kr['Scrap rate down']}/check-ins", headers=await _token(org, e)
    )
    (blocker,) = r.json()["items"][0]["blockers"]
    assert blocker["department_id"] == org.departments["quality"]
    r = await org.stack.http.get(
        f"/key-results/{kr['OEE from the line']}/check-ins", headers=await _token(org, e)
    )
    assert r.json()["items"] == []
    # The blocker waits on Quality's page (HR may resolve it), and leaves it once resolved.
    quality = f"/departments/{org.departments['quality']}/blockers"
    async with Browser(org.stack) as b:
        await b.sign_in(org.people["hr"])
        page = await b.get(quality)
        assert "Need a new die from Quality" in text(page) and "Wang Worker" in text(page)
        r = await b.post(f"{quality}/{blocker['id']}", {})
        assert r.status_code == 303 and r.headers["location"] == quality
        assert "No open blockers." in text(await b.get(quality))


async def test_a_refused_check_in_records_nothing_and_keeps_the_form(org: Org) -> None:
    e = org.people["e"]
    kr = org.key_results
    before = await _check_in_count(org, kr["Kaizen ideas"])
    async with Browser(org.stack) as b:
        await b.sign_in(e)
        form = {
            "cycle": org.cycle,
            f"kr-{kr['Scrap rate down']}-value": "5",
            f"kr-{kr['Scrap rate down']}-confidence": "11",
            f"kr-{kr['Kaizen ideas']}-value": "7",
            f"kr-{kr['Kaizen ideas']}-confidence": "5",
            f"kr-{kr['Poka-yoke installed']}-value": "1",
            f"kr-{kr['Poka-yoke installed']}-confidence": "5",
        }
        r = await b.post("/check-in", form)
        assert r.status_code == 422
        page = text(r)
        assert "Nothing was recorded." in page
        assert "Scrap rate down.confidence" in page
        # What was typed is still there.
        assert f'id="kr-{kr["Kaizen ideas"]}-value" name="kr-{kr["Kaizen ideas"]}-value"' in r.text
        assert 'value="7"' in r.text
    assert await _check_in_count(org, kr["Kaizen ideas"]) == before


async def _token(org: Org, person: Person) -> dict[str, str]:
    if not person.token:
        person.token = (await org.stack.login(person.login, person.password))["access_token"]
    return person.headers


async def _check_in_count(org: Org, key_result_id: str) -> int:
    e = org.people["e"]
    r = await org.stack.http.get(
        f"/key-results/{key_result_id}/check-ins", headers=await _token(org, e)
    )
    return len(r.json()["items"])


# -- approvals, team, dashboard -------------------------------------------------------------


async def test_the_manager_sees_the_approval_and_the_employee_cannot(org: Org) -> None:
    async with Browser(org.stack) as b:
        await b.sign_in(org.people["m"])
        listed = await b.get("/approvals")
        assert f'href="/approvals/{org.approval}"' in listed.text
        assert "Zhao Planner" in text(listed)
        page = await b.get(f"/approvals/{org.approval}")
        assert page.status_code == 200
        assert "Plan the night shift" in text(page) and "Rota agreed" in text(page)
        assert 'value="approve"' in page.text and 'value="reject"' in page.text
        # No worker runs the approval workflow here: the API's refusal is shown, the
        # comment kept (the decision itself: tests/e2e/test_web_browser.py).
        r = await b.post(
            f"/approvals/{org.approval}", {"decision": "approve", "comment": "Looks right"}
        )
        assert r.status_code >= 400
        assert r.text.count("Looks right") == 1 and 'role="alert"' in r.text
    async with Browser(org.stack) as b:
        await b.sign_in(org.people["e"])
        r = await b.get(f"/approvals/{org.approval}")
        assert r.status_code == 404
        assert "does not exist, or you may not see it" in text(r)


async def test_the_team_view_colours_each_key_result_by_risk(org: Org) -> None:
    async with Browser(org.stack) as b:
        await b.sign_in(org.people["m"])
        page = await b.get("/team")
        assert page.status_code == 200
        assert "Wang Worker" in text(page) and "Scrap rate down" in text(page)
        assert re.search(r'class="risk risk-[a-z]+"', page.text)
    async with Browser(org.stack) as b:
        await b.sign_in(org.people["e"])
        assert "Nobody reports to you." in text(await b.get("/team"))


async def test_a_manager_gives_feedback_from_the_team_view(org: Org) -> None:
    e = org.people["e"]
    async with Browser(org.stack) as b:
        await b.sign_in(org.people["m"])
        team = await b.get("/team")
        assert f'href="/feedback?to={e.id}"' in team.text
        page = await b.get(f"/feedback?to={e.id}")
        assert "Feedback for Wang Worker" in text(page)
        r = await b.post("/feedback", {"to": e.id, "text": "   "})
        assert r.status_code == 422 and 'role="alert"' in r.text
        r = await b.post("/feedback", {"to": e.id, "text": "Great 5S work on line 3"})
        assert r.status_code == 303 and r.headers["location"] == "/feedback?box=given&sent=1"
        given = text(await b.get(r.headers["location"]))
        assert "Your feedback was sent." in given and "Great 5S work on line 3" in given
    async with Browser(org.stack) as b:
        await b.sign_in(e)
        received = text(await b.get("/feedback"))
        assert "Great 5S work on line 3" in received and "Li Manager" in received


async def test_the_dashboard_shows_the_apis_numbers(org: Org) -> None:
    hr = org.people["hr"]
    headers = await _token(org, hr)

    async def api_total() -> dict[str, Any]:
        api = await org.stack.http.get(f"/dashboards/{org.cycle}/organisation", headers=headers)
        assert api.status_code == 200
        return dict(api.json()["total"])

    async with Browser(org.stack) as b:
        await b.sign_in(hr)
        # The read model follows earlier tests' events (refreshed within a couple of seconds):
        # compare the page with the API read on both sides of it once they agree.
        for _ in range(20):
            total = await api_total()
            page = await b.get(f"/dashboards?cycle={org.cycle}")
            assert page.status_code == 200
            if await api_total() == total:
                break
            await asyncio.sleep(0.5)
        for figure in ("key_results", "behind", "at_risk", "completed", "stale"):
            shown = re.search(rf'data-figure="{figure}">([^<]+)<', page.text)
            assert shown and shown[1] == str(total[figure]), figure
        shown = re.search(r'data-figure="average_score">([^<]+)<', page.text)
        assert shown and shown[1] == f"{round(total['average_score'] * 100)}%"
        assert "<svg" in page.text and "<title>Completion by department</title>" in page.text
        # One department (and those below it): the API's department dashboard.
        plant = org.departments["plant"]
        page = await b.get(f"/dashboards?cycle={org.cycle}&department={plant}")
        assert page.status_code == 200 and f'data-department="{plant}"' in page.text
        # A query value stays one path segment of the API call.
        page = await b.get(f"/dashboards?cycle={org.cycle}&department=..%2F..%2Fcycles")
        assert page.status_code == 404


async def test_the_qr_code_opens_the_check_in_of_a_shared_device(org: Org) -> None:
    plant = org.departments["plant"]
    e = org.people["e"]
    async with Browser(org.stack) as b:
        await b.sign_in(org.people["hr"])
        r = await b.get(f"/qr?department={plant}")
        assert r.status_code == 200
        # The check-in's code, and the line's daily inspection's (test_web_inspection.py).
        assert r.text.count("<svg") == 2
        link, _ = re.findall(r"<svg[^>]*><title>([^<]+)</title>", r.text)
        link = unescape(link)
        assert link == f"{BASE}/pin-sign-in?department={plant}"
    # e sets a PIN on their own phone first (their password proves it is them).
    async with Browser(org.stack) as phone:
        await phone.sign_in(e)
        page = await phone.get("/pin")
        assert page.status_code == 200 and 'inputmode="numeric"' in page.text
        r = await phone.post("/pin", {"current_password": e.password, "pin": "1234"})
        assert r.status_code == 422 and "too easy to guess" in text(r)
        r = await phone.post("/pin", {"current_password": "Wrong-pass-99", "pin": "2580"})
        assert r.status_code == 403 and "The current password is wrong" in text(r)
        r = await phone.post("/pin", {"current_password": e.password, "pin": "2580"})
        assert r.status_code == 303 and r.headers["location"] == "/pin?saved=1"
        assert "Your PIN is saved" in text(await phone.get("/pin?saved=1"))
    # The shared device: scan, employee number + PIN, check in, and the next person finds the
    # PIN sign-in again.
    async with Browser(org.stack) as device:
        page = await device.get(link.removeprefix(BASE))
        assert page.status_code == 200
        assert 'inputmode="numeric"' in page.text and 'for="pin"' in page.text
        r = await device.post(
            "/pin-sign-in", {"employee_number": e.login, "pin": "9513", "department": plant}
        )
        assert r.status_code == 401 and "Wrong employee number or PIN" in text(r)
        assert ACCESS_COOKIE not in device.http.cookies
        r = await device.post(
            "/pin-sign-in", {"employee_number": e.login, "pin": "2580", "department": plant}
        )
        assert r.status_code == 303, r.text
        assert r.headers["location"] == f"/check-in?shared=1&department={plant}"
        # A shared-device session has no refresh token: it ends with its access token.
        assert ACCESS_COOKIE in device.http.cookies and REFRESH_COOKIE not in device.http.cookies
        page = await device.get(r.headers["location"])
        assert 'name="shared" value="1"' in page.text
        assert "you are signed out once your check-in is recorded" in text(page)
        # No credential changes from the shared device.
        r = await device.post("/pin", {"current_password": e.password, "pin": "1357"})
        assert r.status_code == 403 and "on your own device" in text(r)
        kr = org.key_results
        form = {"cycle": org.cycle, "shared": "1", "department": plant}
        for title in ("Scrap rate down", "Kaizen ideas", "Poka-yoke installed"):
            form[f"kr-{kr[title]}-value"] = "1"
            form[f"kr-{kr[title]}-confidence"] = "7"
        r = await device.post("/check-in", form)
        assert r.status_code == 303
        assert r.headers["location"] == f"/pin-sign-in?department={plant}&done=3"
        assert ACCESS_COOKIE not in device.http.cookies
        page = await device.get(r.headers["location"])
        assert "Recorded 3 check-ins" in text(page) and "the next person can sign in" in text(page)
        r = await device.get(f"/check-in?shared=1&department={plant}")
        assert r.status_code == 303 and r.headers["location"] == f"/pin-sign-in?department={plant}"
        # "Not you?" on the shared check-in signs out back to the PIN sign-in.
        await device.post(
            "/pin-sign-in", {"employee_number": e.login, "pin": "2580", "department": plant}
        )
        r = await device.post("/sign-out", {"shared": "1", "department": plant})
        assert r.headers["location"] == f"/pin-sign-in?department={plant}"
        assert ACCESS_COOKIE not in device.http.cookies


async def test_the_inbox_opens_what_an_item_links_to(org: Org) -> None:
    e = org.people["e"]
    async with channel(org.stack.settings.identity_addr) as ch:
        delivered = await inbox_pb2_grpc.InboxServiceStub(ch).Deliver(
            inbox_pb2.DeliverRequest(
                key=f"web-test-{uuid.uuid4().hex}",
                recipient_id=e.id,
                template="cycle.checkin_reminder",
                title_zh="请填写周进展",
                title_en="Time for your weekly check-in",
                body_zh="本周进展。",
                body_en="This week's check-in.",
                link="/check-ins",
            )
        )
    async with Browser(org.stack) as b:
        await b.sign_in(e)
        page = await b.get("/inbox")
        assert "Time for your weekly check-in" in text(page) and "1 unread" in text(page)
        r = await b.post(f"/inbox/{delivered.item.id}", {})
        assert r.status_code == 303 and r.headers["location"] == "/check-ins"
        assert "0 unread" in text(await b.get("/inbox"))


# -- every link of Stride's e-mails -----------------------------------------------------------


async def _link_values(org: Org) -> dict[str, str]:
    s = org.stack
    template = await s.rounds.CreateTemplate(
        rpb.CreateTemplateRequest(
            name=f"360 {uuid.uuid4().hex[:6]}",
            questions=[rpb.Question(kind="rating", text_zh="合作", text_en="Teamwork")],
        )
    )
    today = date.today()
    started = await s.rounds.StartRounds(
        rpb.StartRoundsRequest(
            cycle_id=f"web-360-{uuid.uuid4().hex[:6]}",
            template_id=template.id,
            department_id=org.departments["plant"],
            deadline=(today + timedelta(days=30)).isoformat(),
            nominations_due=(today + timedelta(days=7)).isoformat(),
        )
    )
    case = await s.promotions.Apply(
        ppb.ApplyRequest(
            applicant_id=org.people["m"].id,
            candidate_id=org.people["e"].id,
            current_grade="P3",
            target_grade="P4",
        )
    )
    month = today.strftime("%Y-%m")
    figures = DepartmentFigures(
        department_id=org.departments["plant"],
        department_name="Plant",
        month=month,
        key_results=4,
        completion=0.25,
        mean_score=0.5,
        distribution={},
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
    await s.goals.PutMonthlyBrief(
        gpb.PutMonthlyBriefRequest(
            month=month,
            department_id=figures.department_id,
            department_name=figures.department_name,
            figures_json=brief_json(figures, []),
        )
    )
    return {
        "approval_id": org.approval,
        "key_result_id": org.key_results["Scrap rate down"],
        "department_id": org.departments["quality"],
        "round_id": started.rounds[0].id,
        "case_id": case.id,
        "month": month,
    }


async def test_every_link_in_strides_emails_opens_a_page(org: Org) -> None:
    values = await _link_values(org)
    links = sorted({t.link for t in TEMPLATES.values() if t.link})
    assert len(links) >= 12
    async with Browser(org.stack) as b:
        for link in links:
            path = link.format_map(values)
            r = await b.get(path)
            assert r.status_code == 303, path
            assert r.headers["location"] == f"/sign-in?next={quote(path, safe='')}"
        # HR may read every object the e-mails link to.
        await b.sign_in(org.people["hr"], next=links[0].format_map(values))
        for link in links:
            path = link.format_map(values)
            r = await b.get(path)
            assert r.status_code == 200, f"{path}: {r.status_code} {text(r)[:300]}"
            assert '<html lang="en">' in r.text and "<h1>" in r.text, path


def test_the_email_link_values_cover_every_placeholder() -> None:
    """The ids the test above fills in are every placeholder the e-mails' links use."""
    placeholders = {name for t in TEMPLATES.values() for name in re.findall(r"{(\w+)}", t.link)}
    assert placeholders == {
        "approval_id",
        "key_result_id",
        "department_id",
        "round_id",
        "case_id",
        "month",
    }


async def test_goals_are_copied_from_the_previous_cycle(org: Org) -> None:
    e = org.people["e"]
    today = date.today()
    later = await org.stack.goals.CreateCycle(
        gpb.CreateCycleRequest(
            name=f"Next {uuid.uuid4().hex[:6]}",
            start_date=(today + timedelta(days=61)).isoformat(),
            end_date=(today + timedelta(days=150)).isoformat(),
        )
    )
    async with Browser(org.stack) as b:
        await b.sign_in(e)
        page = await b.get(f"/okrs?cycle={later.id}")
        assert 'id="copy-goals"' in page.text and f'value="{org.cycle}"' in page.text
        r = await b.post("/okrs/copy", {"source": org.cycle, "target": later.id})
        assert r.status_code == 303
        assert r.headers["location"] == f"/okrs?cycle={later.id}&copied=1"
        page = await b.get(r.headers["location"])
        assert "1 objectives copied as drafts." in text(page)
        assert "Cut scrap on line 3" in text(page) and 'id="copy-goals"' not in page.text


# -- the cross-department objective board ---------------------------------------------------


def _iso_week(day: date) -> str:
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


async def test_the_cross_department_board_shows_each_departments_key_result(org: Org) -> None:
    s, e, hr, m = org.stack, org.people["e"], org.people["hr"], org.people["m"]
    plant, quality = org.departments["plant"], org.departments["quality"]
    objective = await s.goals.CreateObjective(
        gpb.CreateObjectiveRequest(
            cycle_id=org.cycle,
            title="On-time delivery ≥ 99 %",
            owner_id=m.id,
            key_results=[
                gpb.NewKeyResult(
                    title="Plan changes per month", owner_id=e.id, baseline=6, target=2, weight=50
                ),
                gpb.NewKeyResult(
                    title="First-pass yield", owner_id=hr.id, baseline=90, target=98, weight=50
                ),
            ],
        )
    )
    krs = await s.goals.ListKeyResults(gpb.ListKeyResultsRequest(objective_id=objective.id))
    kr = {k.title: k.id for k in krs.key_results}
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    last_week, this_week = _iso_week(today - timedelta(weeks=1)), _iso_week(today)
    for key_result, week, value, blockers in (
        ("Plan changes per month", last_week, 5, []),
        ("Plan changes per month", this_week, 3, []),
        ("First-pass yield", last_week, 95, []),
        (
            "First-pass yield",
            this_week,
            93,
            [gpb.Blocker(text="Die wear on press 4", department_id=plant)],
        ),
    ):
        await s.goals.RecordCheckIn(
            gpb.RecordCheckInRequest(
                key_result_id=kr[key_result],
                value=value,
                confidence=6,
                week=week,
                blockers=blockers,
            )
        )
    # The API's numbers the board must show.
    api = {}
    for title, key_result_id in kr.items():
        got = await s.http.get(f"/key-results/{key_result_id}", headers=await _token(org, m))
        history = await s.http.get(
            f"/key-results/{key_result_id}/check-ins", headers=await _token(org, m)
        )
        scores = {c["week"]: c["score"] for c in history.json()["items"]}
        api[title] = (got.json(), round((scores[this_week] - scores[last_week]) * 100, 1))
    assert api["Plan changes per month"][1] > 0 > api["First-pass yield"][1]

    async with Browser(org.stack) as b:
        await b.sign_in(m)
        dashboard = await b.get(f"/dashboards?cycle={org.cycle}")
        assert f'href="/board?cycle={org.cycle}"' in dashboard.text
        assert 'href="/board">Cross-department board</a>' in dashboard.text
        listed = await b.get(f"/board?cycle={org.cycle}")
        assert listed.status_code == 200
        assert f'href="/board/{objective.id}"' in listed.text
        assert "2 departments" in text(listed)
        # "Cut scrap on line 3" has four key results, all in the plant: not cross-department.
        assert "Cut scrap on line 3" not in text(listed)
        page = await b.get(f"/board/{objective.id}")
        assert page.status_code == 200, text(page)
        rows = dict(
            re.findall(r'<tr data-key-result="([^"]+)"[^>]*>(.*?)</tr>', page.text, flags=re.S)
        )
        assert set(rows) == set(kr.values())
        for title, (key_result, change) in api.items():
            row = rows[kr[title]]
            cells = dict(re.findall(r'data-cell="(\w+)"[^>]*>(.*?)</td>', row, flags=re.S))
            home = "Plant" if title == "Plan changes per month" else "Quality"
            assert cells["department"].startswith(home)
            owner = "Wang Worker" if home == "Plant" else "HR Person"
            assert cells["owner"] == owner
            assert f"{key_result['current_value']:g} / {key_result['target']:g}" in cells["value"]
            status = key_result["risk"]["status"]
            assert f'class="risk {RISK_CLASSES[status]}"' in cells["risk"]
            direction = "up" if change > 0 else "down"
            assert f'data-trend="{direction}"' in row
            assert f"{direction} {abs(change)} points since {last_week}" in unescape(row)
        blocker = rows[kr["First-pass yield"]]
        assert "Die wear on press 4" in blocker and f"/departments/{plant}/blockers" in blocker
        assert "—" in rows[kr["Plan changes per month"]].split('data-cell="blocker"')[1]
    # HR (the organisation's reader) finds it through the cycle's key results.
    async with Browser(org.stack, lang="zh-CN") as b:
        await b.sign_in(hr)
        listed = await b.get(f"/board?cycle={org.cycle}")
        assert f'href="/board/{objective.id}"' in listed.text and "跨部门目标" in text(listed)
        assert quality in listed.text or "Quality" in text(listed)


# -- the HR console -------------------------------------------------------------------------


async def test_hr_runs_a_cycle_from_the_console_and_finds_it_in_the_audit(org: Org) -> None:
    hr, e = org.people["hr"], org.people["e"]
    name = f"Q-web {uuid.uuid4().hex[:6]}"
    start = date.today() + timedelta(days=200)
    body = {"name": name, "start_date": start.isoformat(), "time_zone": "Asia/Shanghai"}
    async with Browser(org.stack) as b:
        await b.sign_in(hr)
        hub = await b.get("/hr")
        assert hub.status_code == 200 and 'href="/hr">HR console</a>' in hub.text
        for link in ("/hr/cycles", "/hr/audit", "/hr/exports"):
            assert f'href="{link}"' in hub.text
        # The API's validation, shown with what was typed kept.
        wrong = {**body, "end_date": (start - timedelta(days=1)).isoformat()}
        r = await b.post("/hr/cycles", wrong)
        assert r.status_code == 422 and 'role="alert"' in r.text and f'value="{name}"' in r.text
        r = await b.post(
            "/hr/cycles", {**body, "end_date": (start + timedelta(days=90)).isoformat()}
        )
        assert r.status_code == 303, text(r)
        cycle_id = r.headers["location"].split("created=")[1]
        page = await b.get(r.headers["location"])
        assert "The cycle was created." in text(page) and name in text(page)
        assert f'action="/hr/cycles/{cycle_id}/close"' in page.text
    cycle = (await org.stack.http.get(f"/cycles/{cycle_id}", headers=await _token(org, hr))).json()
    assert (cycle["name"], cycle["start_date"], cycle["status"]) == (
        name,
        start.isoformat(),
        "open",
    )
    # An employee gets the API's refusal, and nothing changes.
    async with Browser(org.stack) as b:
        await b.sign_in(e)
        assert 'href="/hr"' not in (await b.get("/okrs")).text
        r = await b.post(f"/hr/cycles/{cycle_id}/close", {})
        assert r.status_code == 403 and 'role="alert"' in r.text
        r = await b.get(f"/hr/audit?resource_id={cycle_id}")
        assert r.status_code == 403
        r = await b.get(f"/hr/exports/{org.cycle}/objectives?format=csv")
        assert r.status_code == 403
    cycle = (await org.stack.http.get(f"/cycles/{cycle_id}", headers=await _token(org, hr))).json()
    assert cycle["status"] == "open"
    async with Browser(org.stack) as b:
        await b.sign_in(hr)
        r = await b.post(f"/hr/cycles/{cycle_id}/close", {})
        assert r.status_code == 303 and r.headers["location"] == f"/hr/cycles?closed={cycle_id}"
        assert "The cycle was closed." in text(await b.get(r.headers["location"]))
        api = await org.stack.http.get(f"/cycles/{cycle_id}", headers=await _token(org, hr))
        assert api.json()["status"] == "closed"
        # The audit search finds both changes, as the API lists them.
        wanted = {"goals.cycle.create", "goals.cycle.close"}
        for _ in range(50):
            listed = await org.stack.http.get(
                "/audit", params={"resource_id": cycle_id}, headers=await _token(org, hr)
            )
            if wanted <= {x["action"] for x in listed.json()["items"]}:
                break
            await asyncio.sleep(0.1)
        entries = listed.json()["items"]
        assert wanted <= {x["action"] for x in entries}
        # Days are the organisation's (Asia/Shanghai), as people there read them.
        today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
        page = await b.get(f"/hr/audit?resource_id={cycle_id}&from={today}&to={today}")
        assert page.status_code == 200
        shown = re.findall(r'<tr data-seq="(\d+)">', page.text)
        assert shown == [str(x["seq"]) for x in entries]
        assert "goals.cycle.create" in text(page) and "goals.cycle.close" in text(page)
        assert f'id="audit-resource_id" name="resource_id" maxlength="200" value="{cycle_id}"' in (
            page.text
        )
        # A day before anything happened finds nothing.
        page = await b.get(f"/hr/audit?resource_id={cycle_id}&to=2000-01-01")
        assert "No entries match." in text(page)
        # Exports: the API's file, through the session.
        exports = await b.get(f"/hr/exports?cycle={org.cycle}")
        link = f"/hr/exports/{org.cycle}/key_results?format=csv"
        assert f'href="{link}"' in unescape(exports.text)
        r = await b.get(link)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert "attachment" in r.headers["content-disposition"]
        api = await org.stack.http.get(
            f"/cycles/{org.cycle}/exports/key_results",
            params={"format": "csv"},
            headers=await _token(org, hr),
        )
        assert r.content.splitlines()[0] == api.content.splitlines()[0]
        assert len(r.content.splitlines()) == len(api.content.splitlines()) > 4
        assert "Scrap rate down" in r.content.decode("utf-8-sig")


async def test_hr_changes_the_risk_rules(org: Org) -> None:
    hr, e = org.people["hr"], org.people["e"]
    headers = await _token(org, hr)
    before = (await org.stack.http.get("/risk-rules", headers=headers)).json()
    quality = org.departments["quality"]
    async with Browser(org.stack) as b:
        await b.sign_in(hr)
        page = await b.get("/hr/risk-rules")
        assert page.status_code == 200
        assert f'data-version="{before["version"]}"' in page.text
        shown = round(before["rule"]["threshold"] * 100)
        typed = re.search(r'id="threshold"[^>]*value="([^"]+)"', page.text)
        assert typed and typed[1] == str(shown)
        # Out of the range HR may choose: the API's 422, nothing in force changes.
        r = await b.post("/hr/risk-rules", {"threshold": "95", "weeks": "2"})
        assert r.status_code == 422 and 'role="alert"' in r.text
        r = await b.post(
            "/hr/risk-rules",
            {
                "threshold": "25",
                "weeks": "3",
                "note": "Quality gets a looser rule",
                "new_department": quality,
                "new_threshold": "30",
                "new_weeks": "2",
            },
        )
        assert r.status_code == 303, text(r)
        version = int(r.headers["location"].split("saved=")[1])
        assert version == before["version"] + 1
        page = await b.get(r.headers["location"])
        assert f"Version {version} of the risk rules is in force." in text(page)
        assert f'data-override="{quality}"' in page.text
        assert f'<tr data-risk-version="{version}">' in page.text
    now = (await org.stack.http.get("/risk-rules", headers=headers)).json()
    assert now["version"] == version and now["note"] == "Quality gets a looser rule"
    assert now["rule"] == {"threshold": 0.25, "weeks": 3}
    assert now["overrides"] == [{"department_id": quality, "rule": {"threshold": 0.3, "weeks": 2}}]
    # An employee is refused by the API; the rules stay as they are.
    async with Browser(org.stack) as b:
        await b.sign_in(e)
        r = await b.post("/hr/risk-rules", {"threshold": "50", "weeks": "1"})
        assert r.status_code == 403
    assert (await org.stack.http.get("/risk-rules", headers=headers)).json()["version"] == version
    # Removing the department's own rule keeps the organisation's as typed.
    async with Browser(org.stack) as b:
        await b.sign_in(hr)
        r = await b.post(
            "/hr/risk-rules",
            {
                "threshold": "25",
                "weeks": "3",
                f"override-{quality}-threshold": "30",
                f"override-{quality}-weeks": "2",
                f"override-{quality}-remove": "1",
            },
        )
        assert r.status_code == 303
    now = (await org.stack.http.get("/risk-rules", headers=headers)).json()
    assert now["overrides"] == [] and now["rule"] == {"threshold": 0.25, "weeks": 3}
    # The rules of the other tests of this module, back in force.
    r = await org.stack.http.put(
        "/risk-rules",
        json={"rule": before["rule"], "overrides": before["overrides"], "note": "test done"},
        headers=headers,
    )
    assert r.status_code == 200, r.text


async def test_hr_sees_the_org_sync_runs_as_the_api_lists_them(org: Org) -> None:
    hr, e = org.people["hr"], org.people["e"]
    headers = await _token(org, hr)
    # A run of a source this stack has not configured: recorded (started, or failed with
    # the reason when it cannot start) either way.
    r = await org.stack.http.post("/org/sync", json={"source": "dingtalk"}, headers=headers)
    assert r.status_code in (202, 409, 503), r.text
    runs = (await org.stack.http.get("/org/sync/runs", headers=headers)).json()["items"]
    assert runs
    async with Browser(org.stack) as b:
        await b.sign_in(hr)
        assert 'href="/hr/org-sync"' in (await b.get("/hr")).text
        page = await b.get("/hr/org-sync")
        assert page.status_code == 200
        shown = re.findall(r'<tr data-run="([^"]+)">', page.text)
        assert shown == [run["run_id"] for run in runs]
        for run in runs:
            row = page.text.split(f'<tr data-run="{run["run_id"]}">')[1].split("</tr>")[0]
            assert re.search(rf'data-cell="status">{run["status"]}\b', row), row
            assert unescape(run["error"]) in unescape(row)
    async with Browser(org.stack) as b:
        await b.sign_in(e)
        assert (await b.get("/hr/org-sync")).status_code == 403


async def test_hr_invites_everyone_without_a_password(org: Org) -> None:
    """Everyone here has a password: the job is done at once (no workflow needed), and its
    (empty) slips are handed out once through the page."""
    hr, e = org.people["hr"], org.people["e"]
    async with Browser(org.stack) as b:
        await b.sign_in(hr)
        assert 'href="/hr/invitations"' in (await b.get("/hr")).text
        r = await b.post("/hr/invitations", {})
        assert r.status_code == 303, text(r)
        job_id = r.headers["location"].split("job=")[1]
        page = await b.get(r.headers["location"])
        api = await org.stack.http.get(
            f"/org/invitations/jobs/{job_id}", headers=await _token(org, hr)
        )
        job = api.json()
        assert job["status"] == "done" and job["total"] == 0
        assert f'data-status="{job["status"]}"' in page.text
        for figure in ("total", "issued", "skipped", "remaining"):
            assert f'data-cell="{figure}">{job[figure]}<' in page.text, figure
        assert f'href="/hr/invitations/{job_id}/slips"' in page.text
        slips = await b.get(f"/hr/invitations/{job_id}/slips")
        assert slips.status_code == 200
        assert slips.headers["content-type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        assert slips.content.startswith(b"PK")  # an XLSX (a zip)
        # Handed out once: the API's 410, shown as such; the job says so.
        again = await b.get(f"/hr/invitations/{job_id}/slips")
        assert again.status_code == 410
        page = await b.get(f"/hr/invitations?job={job_id}")
        assert "The slips were downloaded already." in text(page)
    async with Browser(org.stack) as b:
        await b.sign_in(e)
        assert (await b.post("/hr/invitations", {})).status_code == 403


async def test_with_two_running_cycles_the_current_one_is_where_my_goals_are(org: Org) -> None:
    """A department's own cycle opened beside the company's: people with goals only in the
    company's still land on it; someone with goals in the newer one lands there."""
    today = date.today()
    newer = await org.stack.goals.CreateCycle(
        gpb.CreateCycleRequest(
            name=f"Quality sprint {uuid.uuid4().hex[:6]}",
            start_date=(today - timedelta(days=3)).isoformat(),
            end_date=(today + timedelta(days=20)).isoformat(),
        )
    )
    hr = org.people["hr"]
    await org.stack.goals.CreateObjective(
        gpb.CreateObjectiveRequest(
            cycle_id=newer.id,
            title="Audit the suppliers",
            owner_id=hr.id,
            key_results=[gpb.NewKeyResult(title="Suppliers audited", target=5, weight=100)],
        )
    )
    async with Browser(org.stack) as b:
        await b.sign_in(org.people["e"])
        page = await b.get("/check-in")
        assert "Scrap rate down" in text(page) and "Suppliers audited" not in text(page)
    async with Browser(org.stack) as b:
        await b.sign_in(hr)
        page = await b.get("/check-in")
        assert "Suppliers audited" in text(page)


# -- pilot mode -------------------------------------------------------------------------------


async def test_people_out_of_the_pilot_see_no_prompts_and_hr_switches_departments(
    org: Org,
) -> None:
    stack, hr, e = org.stack, org.people["hr"], org.people["e"]
    tag = uuid.uuid4().hex[:6]
    site = await stack.department(f"Site {tag}")
    line = await stack.department(f"Line {tag}", parent_id=site.id)
    worker = await stack.person(line.id, name="Sun Operator", sign_in=False)
    # An item from before the rollout reached the line: still readable afterwards.
    async with channel(stack.settings.identity_addr) as ch:
        await inbox_pb2_grpc.InboxServiceStub(ch).Deliver(
            inbox_pb2.DeliverRequest(
                key=f"web-pilot-{tag}",
                recipient_id=worker.id,
                template="cycle.checkin_reminder",
                title_zh="请填写周进展",
                title_en="Time for your weekly check-in",
                link="/check-ins",
            )
        )
    async with Browser(stack) as b:
        await b.sign_in(worker)
        okrs = await b.get("/okrs")
        assert 'id="check-in-prompt"' in okrs.text and 'id="pilot-off"' not in okrs.text
        assert "1 unread" in text(await b.get("/inbox"))

    # HR switches the site off from the console; the line under it is out with it.
    async with Browser(stack) as b:
        await b.sign_in(hr)
        assert 'href="/hr/pilot"' in (await b.get("/hr")).text
        page = await b.get("/hr/pilot")
        assert page.status_code == 200 and f'data-department="{line.id}"' in page.text
        r = await b.post(f"/hr/pilot/{site.id}", {"stride_enabled": "false"})
        assert r.status_code == 303 and r.headers["location"] == f"/hr/pilot?saved={site.id}"
        page = await b.get(r.headers["location"])
        assert "The department was switched." in text(page)
        rows = {
            m.group(1): text(httpx.Response(200, text=m.group(2)))
            for m in re.finditer(r'data-department="([^"]+)">(.*?)</tr>', page.text, re.S)
        }
        assert "Off" in rows[site.id] and "Turn on" in rows[site.id]
        assert "On" in rows[line.id] and "a department above is off" in rows[line.id]
        # A value the form never sends: the API's refusal, nothing changed.
        r = await b.post(f"/hr/pilot/{line.id}", {"stride_enabled": "maybe"})
        assert r.status_code == 422 and 'role="alert"' in r.text
    api = await stack.http.get(f"/departments/{site.id}", headers=await _token(org, hr))
    assert api.json()["stride_enabled"] is False
    line_now = await stack.http.get(f"/departments/{line.id}", headers=await _token(org, hr))
    assert line_now.json()["stride_enabled"] is True

    # Out of the pilot: signs in and reads, without the prompts.
    async with Browser(stack) as b:
        await b.sign_in(worker)
        okrs = await b.get("/okrs")
        assert okrs.status_code == 200 and 'id="pilot-off"' in okrs.text
        assert 'id="check-in-prompt"' not in okrs.text
        box = await b.get("/inbox")
        assert "Time for your weekly check-in" in text(box)
        assert "unread" not in text(box) and 'id="pilot-off"' in box.text
    async with Browser(stack, lang="zh-CN") as b:
        await b.sign_in(worker)
        assert "尚未启用 Stride" in text(await b.get("/okrs"))

    # Not HR: the API refuses the switch.
    async with Browser(stack) as b:
        await b.sign_in(e)
        r = await b.post(f"/hr/pilot/{site.id}", {"stride_enabled": "true"})
        assert r.status_code == 403 and 'role="alert"' in r.text
    # HR switches it back on: the prompts are back.
    async with Browser(stack) as b:
        await b.sign_in(hr)
        r = await b.post(f"/hr/pilot/{site.id}", {"stride_enabled": "true"})
        assert r.status_code == 303
    async with Browser(stack) as b:
        await b.sign_in(worker)
        assert 'id="check-in-prompt"' in (await b.get("/okrs")).text


async def test_the_scores_page_shows_a_page_of_people_and_refuses_a_forged_token(
    org: Org,
) -> None:
    whole = await org.stack.goals.GetScores(gpb.GetScoresRequest(cycle_id=org.cycle))
    assert len({p.employee_id for p in whole.people}) < 50  # a small plant: one page
    async with Browser(org.stack) as b:
        await b.sign_in(org.people["hr"])
        page = text(await b.get(f"/scores?cycle={org.cycle}"))
        for o in whole.objectives:
            assert o.title in page
        assert "Next people" not in page and "First page" not in page
        forged = await b.get(f"/scores?cycle={org.cycle}&page_token=forged")
        assert forged.status_code == 422
        assert "page_token is not valid" in text(forged)


async def test_the_dashboard_page_shows_a_page_of_departments_with_next_and_first_links(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page of departments in id order, a link to the next page and back to the first; the
    totals are the whole organisation's on every page."""
    hr, g = org.people["hr"], org.stack.goals
    # A past cycle of its own (not the current one other tests read) with goals in two
    # departments: Plant (e) and Quality (hr).
    cycle = (
        await g.CreateCycle(
            gpb.CreateCycleRequest(
                name=f"Paged {uuid.uuid4().hex[:6]}", start_date="2025-10-01", end_date="2025-12-31"
            )
        )
    ).id
    for owner in (org.people["e"], hr):
        await g.CreateObjective(
            gpb.CreateObjectiveRequest(
                cycle_id=cycle,
                title=f"Objective of {owner.id[:6]}",
                owner_id=owner.id,
                key_results=[
                    gpb.NewKeyResult(
                        title="KR", owner_id=owner.id, baseline=0, target=10, weight=100
                    )
                ],
            )
        )
    headers = await _token(org, hr)

    async def organisation() -> dict[str, Any]:  # once the read model has both departments
        r = await org.stack.http.get(f"/dashboards/{cycle}/organisation", headers=headers)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        assert len(body["departments"]) == 2 and body["total"]["key_results"] == 2
        return body

    whole = await eventually(organisation)
    want = [d["department_id"] for d in whole["departments"]]
    assert want == sorted(want)
    monkeypatch.setattr("gateway.web.pages.DASHBOARD_PAGE_SIZE", 1)
    async with Browser(org.stack) as b:
        await b.sign_in(hr)
        shown: list[str] = []
        url = f"/dashboards?cycle={cycle}"
        totals = set()
        while True:
            page = await b.get(url)
            assert page.status_code == 200
            rows = re.findall(r'<tr data-department="([^"]+)"', page.text)
            assert len(rows) == 1
            shown += rows
            totals.add(re.search(r'data-figure="key_results">([^<]+)<', page.text)[1])
            assert ('rel="first"' in page.text) == (len(shown) > 1)
            after = re.search(r'<a href="([^"]+)" rel="next">Next departments</a>', page.text)
            if after is None:
                break
            url = unescape(after[1])
        assert shown == want
        assert totals == {"2"}  # the whole organisation's key results on every page
        first = re.search(r'<a href="([^"]+)" rel="first">First page</a>', page.text)
        assert first and unescape(first[1]) == f"/dashboards?cycle={cycle}"
        forged = await b.get(f"/dashboards?cycle={cycle}&page_token=forged")
        assert forged.status_code == 422 and "page_token is not valid" in text(forged)
