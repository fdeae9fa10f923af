"""The customer's rules through the real stack (gateway, goals, identity, NATS, Temporal, the
worker, an SMTP server, each its own process): one lagging week sends nothing; the second
sends exactly one e-mail to the owner and one to the owner's manager — also when the worker
is killed (SIGKILL) while the escalation is under way and again after it has sent them. A
blocker naming another department turns the key result red at once: the owner, the manager
and that department's head get a coordination invitation with an ``.ics``, and the head an
inbox item for the blocker."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from datetime import date, timedelta
from email.message import EmailMessage

from icalendar import Calendar

from services.common import channels
from stride.identity.v1 import inbox_pb2, inbox_pb2_grpc
from tests.e2e.api import post, unique, week
from tests.e2e.conftest import Stack

# After the mails: how long a duplicate gets to show up before the count is trusted.
SETTLE_SECONDS = 5.0


def _to(messages: list[EmailMessage], *addresses: str) -> Counter[str]:
    wanted = set(addresses)
    return Counter(str(m["To"]) for m in messages if str(m["To"]) in wanted)


async def _until_mailed(stack: Stack, expected: Counter[str], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        got = _to(stack.mail.received(), *expected)
        if got == expected:
            return
        assert sum(got.values()) <= sum(expected.values()), f"too many mails: {got}"
        if time.monotonic() > deadline:
            raise AssertionError(f"mails {got}, wanted {expected}\n{stack.logs('worker')}")
        await asyncio.sleep(0.3)


async def _kill_and_restart_worker(stack: Stack) -> None:
    await stack.sup.kill("worker")
    await stack.sup.restart("worker")


async def test_two_lagging_weeks_mail_owner_and_manager_exactly_once_across_worker_kills(
    stack: Stack,
) -> None:
    dept = await post(stack, "/departments", {"name": unique("Purchasing")})
    n = uuid.uuid4().hex[:6]
    manager_mail, owner_mail = f"head-{n}@example.com", f"buyer-{n}@example.com"
    manager = await post(
        stack,
        "/employees",
        {
            "employee_number": f"PM-{n}",
            "name": "Purchasing Head",
            "email": manager_mail,
            "department_id": dept["id"],
        },
    )
    owner = await post(
        stack,
        "/employees",
        {
            "employee_number": f"PB-{n}",
            "name": "Buyer",
            "email": owner_mail,
            "department_id": dept["id"],
            "manager_id": manager["id"],
        },
    )
    start = date.today() - timedelta(weeks=8, days=date.today().weekday())
    cycle = await post(
        stack,
        "/cycles",
        {
            "name": unique("Mail cycle"),
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(weeks=13, days=-1)).isoformat(),
        },
    )
    objective = await post(
        stack,
        "/objectives",
        {"cycle_id": cycle["id"], "title": "Bearings in stock", "owner_id": owner["id"]},
    )
    kr = await post(
        stack,
        f"/objectives/{objective['id']}/key-results",
        {"title": "Suppliers qualified", "owner_id": owner["id"], "baseline": 0, "target": 100},
    )
    path = f"/key-results/{kr['id']}/check-ins"

    # One lagging week: behind, and nobody is told.
    first = await post(
        stack, path, {"value": 1.0, "confidence": 3, "week": week(start + timedelta(weeks=2))}
    )
    assert first["risk"]["status"] == "behind"
    await asyncio.sleep(SETTLE_SECONDS)
    assert _to(stack.mail.received(), owner_mail, manager_mail) == Counter()

    # The second lagging week: at risk. The worker is killed while the escalation starts.
    second = await post(
        stack, path, {"value": 2.0, "confidence": 3, "week": week(start + timedelta(weeks=3))}
    )
    assert second["risk"]["status"] == "at_risk"
    await _kill_and_restart_worker(stack)
    expected = Counter({owner_mail: 1, manager_mail: 1})
    await _until_mailed(stack, expected)

    # Killed again once the mails are out: replaying the escalation sends nothing more.
    await _kill_and_restart_worker(stack)
    await asyncio.sleep(SETTLE_SECONDS)
    assert _to(stack.mail.received(), owner_mail, manager_mail) == expected
    owner_mails = [m for m in stack.mail.received() if str(m["To"]) == owner_mail]
    body = owner_mails[0].get_body(preferencelist=("plain",))
    assert body is not None and f"/key-results/{kr['id']}" in body.get_content()


async def _person(stack: Stack, dept: str, role: str, manager: str = "") -> dict[str, str]:
    n = uuid.uuid4().hex[:6]
    body = {
        "employee_number": f"{role[:2].upper()}-{n}",
        "name": role.title(),
        "email": f"{role.replace(' ', '-')}-{n}@example.com",
        "department_id": dept,
    }
    if manager:
        body["manager_id"] = manager
    return dict(await post(stack, "/employees", body))


def _calendar(mail: EmailMessage) -> Calendar:
    (part,) = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return Calendar.from_ical(payload)


async def test_a_blocker_naming_purchasing_invites_three_people_with_an_ics(
    stack: Stack,
) -> None:
    engineering = await post(stack, "/departments", {"name": unique("Engineering")})
    purchasing = await post(stack, "/departments", {"name": unique("Purchasing")})
    head = await _person(stack, purchasing["id"], "purchasing head")
    resp = await stack.api.patch(f"/departments/{purchasing['id']}", json={"head_id": head["id"]})
    assert resp.status_code == 200, resp.text
    manager = await _person(stack, engineering["id"], "engineering manager")
    owner = await _person(stack, engineering["id"], "line b lead", manager["id"])
    start = date.today() - timedelta(weeks=8, days=date.today().weekday())
    cycle = await post(
        stack,
        "/cycles",
        {
            "name": unique("Blocker cycle"),
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(weeks=13, days=-1)).isoformat(),
        },
    )
    objective = await post(
        stack,
        "/objectives",
        {"cycle_id": cycle["id"], "title": "Line B runs", "owner_id": owner["id"]},
    )
    kr = await post(
        stack,
        f"/objectives/{objective['id']}/key-results",
        {"title": "Line B uptime", "owner_id": owner["id"], "baseline": 0, "target": 100},
    )
    # On plan, but imported bearings are out of stock: purchasing must act.
    checked = await post(
        stack,
        f"/key-results/{kr['id']}/check-ins",
        {
            "value": 100 * 7 / 13,
            "confidence": 4,
            "week": week(start + timedelta(weeks=6)),
            "blockers": [
                {"text": "进口轴承缺货导致B线停机预警", "department_id": purchasing["id"]}
            ],
        },
    )
    assert checked["risk"]["status"] != "at_risk"
    three = [owner["email"], manager["email"], head["email"]]

    def invitations() -> list[EmailMessage]:
        return [
            m
            for m in stack.mail.received()
            if str(m["To"]) in three and "coordination" in str(m["Message-ID"])
        ]

    deadline = time.monotonic() + 90
    while len(invitations()) < 3:
        assert time.monotonic() < deadline, (
            f"{len(invitations())} invitations\n{stack.logs('worker')}"
        )
        await asyncio.sleep(0.3)
    await asyncio.sleep(SETTLE_SECONDS)
    mails = invitations()
    assert sorted(str(m["To"]) for m in mails) == sorted(three)
    for mail in mails:
        (event,) = _calendar(mail).walk("VEVENT")
        attendees = sorted(str(a).removeprefix("mailto:") for a in event.get("attendee"))
        assert attendees == sorted(three)

    async with channels.channel(stack.config.service_addr("identity")) as ch:
        inbox = await inbox_pb2_grpc.InboxServiceStub(ch).ListInbox(
            inbox_pb2.ListInboxRequest(recipient_id=head["id"])
        )
    templates = sorted(i.template for i in inbox.items)
    assert templates == ["blocker.raised", "coordination.invited"]
    escalation = await stack.api.get(f"/key-results/{kr['id']}/escalation")
    assert escalation.status_code == 200 and escalation.json()["level_name"] == "red"
