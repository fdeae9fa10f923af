"""The notification activity through the real engines: identity's InboxService on the test
database and a real SMTP server (aiosmtpd) that the assertions read from.

Delivery is idempotent per workflow step: the same request twice gives one inbox item and one
mail per recipient; an SMTP outage fails the attempt without losing or doubling anything.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.messages import message_id
from activities.notify import NotifyActivities
from services.common.binaries import free_port
from services.common.mail_sink import MailSink
from services.common.settings import WorkerSettings
from services.identity import server as identity_server
from stride.identity.v1 import identity_pb2, identity_pb2_grpc, inbox_pb2, inbox_pb2_grpc
from tests.integration.services_fixtures import running, service_settings
from workflows.notifications import NotifyRequest, Outgoing, delivery_key


@dataclass
class Identity:
    addr: str
    people: identity_pb2_grpc.IdentityServiceStub
    inbox: inbox_pb2_grpc.InboxServiceStub
    department_id: str

    async def person(self, email: str = "") -> identity_pb2.Employee:
        tag = uuid.uuid4().hex[:8]
        return await self.people.CreateEmployee(
            identity_pb2.CreateEmployeeRequest(
                employee_number=f"N{tag}",
                name="Wang Fang",
                email=email,
                department_id=self.department_id,
            )
        )


@pytest.fixture(scope="module")
async def identity(
    database_url: str | None, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Identity]:
    data_dir: Path = tmp_path_factory.mktemp("notify")
    rt = identity_server.runtime(
        service_settings(
            database_url, data_dir, nats_url, schema_prefix=f"nt{uuid.uuid4().hex[:6]}_"
        )
    )
    async with running(rt) as channel:
        people = identity_pb2_grpc.IdentityServiceStub(channel)
        dep = await people.CreateDepartment(identity_pb2.CreateDepartmentRequest(name="Quality"))
        yield Identity(
            f"127.0.0.1:{rt.port}", people, inbox_pb2_grpc.InboxServiceStub(channel), dep.id
        )


@pytest.fixture
def sink() -> AsyncIterator[MailSink]:
    with MailSink() as s:
        yield s


def settings(identity: Identity, smtp_port: int) -> WorkerSettings:
    return WorkerSettings(
        identity_addr=identity.addr,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_from="Stride <stride@example.com>",
        web_url="https://stride.example.com",
    )


async def test_twice_the_same_step_delivers_one_inbox_item_and_one_mail(
    identity: Identity, sink: MailSink
) -> None:
    manager = await identity.person(email="manager@example.com")
    no_email = await identity.person()
    step = f"cycle/cyc-1/plan/emp-{uuid.uuid4().hex[:6]}/reminder/apr-1"
    request = NotifyRequest(
        key=step,
        template="approval.reminder",
        messages=[
            Outgoing(manager.id, {"approval_id": "apr-1", "kind": "plan", "cycle_id": "cyc-1"}),
            Outgoing(no_email.id, {"approval_id": "apr-1", "kind": "plan", "cycle_id": "cyc-1"}),
        ],
    )
    acts = NotifyActivities(settings(identity, sink.port))
    first = await ActivityEnvironment().run(acts.notify, request)
    assert (first.delivered, first.already_delivered, first.emailed, first.inbox_only) == (
        2,
        0,
        1,
        1,
    )
    # A retried activity (or the same step after continue-as-new): nothing new.
    again = await ActivityEnvironment().run(acts.notify, request)
    assert (again.delivered, again.already_delivered, again.emailed) == (0, 2, 0)

    (mail,) = sink.received()
    assert mail["To"] == "manager@example.com"
    assert mail["From"] == "Stride <stride@example.com>"
    assert mail["Message-ID"] == message_id(delivery_key(step, manager.id))
    assert "提醒" in mail["Subject"] and "Reminder" in mail["Subject"]
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "仍在等待您的审批" in text and "still waiting for your approval" in text
    assert "https://stride.example.com/approvals/apr-1" in text

    inbox = await identity.inbox.ListInbox(inbox_pb2.ListInboxRequest(recipient_id=manager.id))
    assert len(inbox.items) == 1 and inbox.unread_count == 1
    item = inbox.items[0]
    assert item.key == delivery_key(step, manager.id)
    assert item.emailed_at and not item.read_at
    assert item.title_en.startswith("Reminder") and item.link == "/approvals/apr-1"
    other = await identity.inbox.ListInbox(inbox_pb2.ListInboxRequest(recipient_id=no_email.id))
    assert len(other.items) == 1 and not other.items[0].emailed_at


async def test_an_smtp_outage_fails_the_attempt_and_the_retry_sends_once(
    identity: Identity,
) -> None:
    person = await identity.person(email="qa@example.com")
    port = free_port()
    request = NotifyRequest(
        key=f"cycle/cyc-2/checkin/2026-W49-{uuid.uuid4().hex[:6]}",
        template="cycle.checkin_reminder",
        messages=[Outgoing(person.id, {"week": "2026-W49", "pending": "2"})],
    )
    acts = NotifyActivities(settings(identity, port))
    with pytest.raises(ApplicationError) as info:
        await ActivityEnvironment().run(acts.notify, request)
    assert info.value.type == "SmtpUnavailable" and not info.value.non_retryable
    inbox = await identity.inbox.ListInbox(inbox_pb2.ListInboxRequest(recipient_id=person.id))
    assert len(inbox.items) == 1 and not inbox.items[0].emailed_at  # in the inbox already

    with MailSink(port=port) as sink:
        retry = await ActivityEnvironment().run(acts.notify, request)
        assert (retry.delivered, retry.already_delivered, retry.emailed) == (0, 1, 1)
        third = await ActivityEnvironment().run(acts.notify, request)
        assert third.emailed == 0
        (mail,) = sink.received()
    assert "2026-W49" in mail["Subject"]
    inbox = await identity.inbox.ListInbox(inbox_pb2.ListInboxRequest(recipient_id=person.id))
    assert len(inbox.items) == 1 and inbox.items[0].emailed_at


async def test_inbox_read_unread_paging_and_ownership(identity: Identity) -> None:
    me = await identity.person()
    someone = await identity.person()
    acts = NotifyActivities(WorkerSettings(identity_addr=identity.addr))  # no SMTP: inbox only
    for n in range(3):
        result = await ActivityEnvironment().run(
            acts.notify,
            NotifyRequest(
                key=f"cycle/cyc-3/midpoint/{uuid.uuid4().hex[:6]}-{n}",
                template="cycle.midpoint",
                messages=[Outgoing(me.id, {"cycle_id": "cyc-3"})],
            ),
        )
        assert (result.delivered, result.inbox_only) == (1, 1)
    page = await identity.inbox.ListInbox(
        inbox_pb2.ListInboxRequest(recipient_id=me.id, page={"page_size": 2})
    )
    assert len(page.items) == 2 and page.page.next_page_token and page.unread_count == 3
    rest = await identity.inbox.ListInbox(
        inbox_pb2.ListInboxRequest(
            recipient_id=me.id, page={"page_size": 2, "page_token": page.page.next_page_token}
        )
    )
    assert len(rest.items) == 1
    target = page.items[0].id
    # Someone else cannot mark my item read: it does not exist for them.
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await identity.inbox.MarkRead(inbox_pb2.MarkReadRequest(recipient_id=someone.id, id=target))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    read = await identity.inbox.MarkRead(inbox_pb2.MarkReadRequest(recipient_id=me.id, id=target))
    assert read.read_at
    again = await identity.inbox.MarkRead(inbox_pb2.MarkReadRequest(recipient_id=me.id, id=target))
    assert again.read_at == read.read_at  # idempotent
    unread = await identity.inbox.ListInbox(
        inbox_pb2.ListInboxRequest(recipient_id=me.id, unread_only=True)
    )
    assert [i.id for i in unread.items] == [
        i for i in [*(x.id for x in page.items), *(x.id for x in rest.items)] if i != target
    ]
    assert unread.unread_count == 2
    # A recipient identity does not know is skipped, not retried forever.
    skipped = await ActivityEnvironment().run(
        acts.notify,
        NotifyRequest(
            key="cycle/cyc-3/x", template="cycle.midpoint", messages=[Outgoing("no-such-person")]
        ),
    )
    assert skipped.delivered == 0


async def test_reading_unread_items_page_by_page_skips_none(identity: Identity) -> None:
    """Someone opens the unread view, reads the first page's items, then asks for the next
    page: the items after those come, none skipped (an offset would skip as many as were
    read), and one delivered meanwhile is not repeated either."""
    me = await identity.person()
    acts = NotifyActivities(WorkerSettings(identity_addr=identity.addr))

    async def deliver(n: int) -> None:
        await ActivityEnvironment().run(
            acts.notify,
            NotifyRequest(
                key=f"cycle/cyc-4/midpoint/{uuid.uuid4().hex[:6]}-{n}",
                template="cycle.midpoint",
                messages=[Outgoing(me.id, {"cycle_id": "cyc-4"})],
            ),
        )

    for n in range(5):
        await deliver(n)
    everything = await identity.inbox.ListInbox(inbox_pb2.ListInboxRequest(recipient_id=me.id))
    first = await identity.inbox.ListInbox(
        inbox_pb2.ListInboxRequest(recipient_id=me.id, unread_only=True, page={"page_size": 2})
    )
    for item in first.items:
        await identity.inbox.MarkRead(inbox_pb2.MarkReadRequest(recipient_id=me.id, id=item.id))
    await deliver(5)
    token = first.page.next_page_token
    rest = await identity.inbox.ListInbox(
        inbox_pb2.ListInboxRequest(
            recipient_id=me.id, unread_only=True, page={"page_size": 10, "page_token": token}
        )
    )
    assert [i.id for i in [*first.items, *rest.items]] == [i.id for i in everything.items]
    assert rest.unread_count == 4 and rest.page.next_page_token == ""
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await identity.inbox.ListInbox(
            inbox_pb2.ListInboxRequest(recipient_id=me.id, page={"page_token": "bm9wZQ=="})
        )
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_an_invitation_goes_out_once_per_person_as_the_same_ics_event(
    identity: Identity, sink: MailSink
) -> None:
    from icalendar import Calendar

    from workflows.notifications import COORDINATION_INVITED, Invitation

    owner = await identity.person(email="owner@example.com")
    head = await identity.person(email="head@example.com")
    step = f"coordination/kr-{uuid.uuid4().hex[:6]}/1/invitation/2026-W48"
    params = {"key_result_id": "kr-1", "meeting": "2026-12-03 10:00", "reason": "blocker"}
    request = NotifyRequest(
        key=step,
        template=COORDINATION_INVITED,
        messages=[Outgoing(owner.id, params), Outgoing(head.id, params)],
        invitation=Invitation(
            uid=f"{step}/run-1@stride",
            start_utc="2026-12-03T02:00:00Z",
            minutes=30,
            summary="Stride coordination: key result kr-1",
            attendee_ids=[owner.id, head.id, "emp-unknown"],
        ),
    )
    acts = NotifyActivities(settings(identity, sink.port))
    first = await ActivityEnvironment().run(acts.notify, request)
    assert (first.delivered, first.emailed) == (2, 2)
    again = await ActivityEnvironment().run(acts.notify, request)
    assert (again.delivered, again.already_delivered, again.emailed) == (0, 2, 0)
    mails = sink.received()
    assert sorted(m["To"] for m in mails) == ["head@example.com", "owner@example.com"]
    events = []
    for mail in mails:
        (part,) = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        cal = Calendar.from_ical(payload)
        assert str(cal["method"]) == "REQUEST"
        (event,) = cal.walk("VEVENT")
        events.append(event)
        # The unknown attendee is left out; the organizer is the mail sender.
        assert sorted(str(a) for a in event.get("attendee")) == [
            "mailto:head@example.com",
            "mailto:owner@example.com",
        ]
        assert str(event["organizer"]) == "mailto:stride@example.com"
    assert {str(e["uid"]) for e in events} == {request.invitation.uid}


async def test_each_person_gets_the_mail_in_their_language(
    identity: Identity, sink: MailSink
) -> None:
    english = await identity.person(email=f"en-{uuid.uuid4().hex[:6]}@example.com")
    chinese = await identity.person(email=f"zh-{uuid.uuid4().hex[:6]}@example.com")
    both = await identity.person(email=f"both-{uuid.uuid4().hex[:6]}@example.com")
    for person, locale in ((english, "en"), (chinese, "zh-CN")):
        await identity.people.UpdateEmployee(
            identity_pb2.UpdateEmployeeRequest(id=person.id, locale=locale)
        )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await identity.people.UpdateEmployee(
            identity_pb2.UpdateEmployeeRequest(id=both.id, locale="fr")
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    params = {"approval_id": "apr-9", "kind": "plan", "cycle_id": "cyc-9"}
    request = NotifyRequest(
        key=f"cycle/cyc-9/plan/reminder/{uuid.uuid4().hex[:6]}",
        template="approval.reminder",
        messages=[Outgoing(p.id, params) for p in (english, chinese, both)],
    )
    await ActivityEnvironment().run(NotifyActivities(settings(identity, sink.port)).notify, request)

    def text(address: str) -> tuple[str, str]:
        (mail,) = [m for m in sink.received() if m["To"] == address]
        body = mail.get_body(preferencelist=("plain",))
        assert body is not None
        return str(mail["Subject"]), body.get_content()

    subject, body = text(english.email)
    assert subject.startswith("Reminder") and "提醒" not in subject
    assert "still waiting for your approval" in body and "仍在等待您的审批" not in body
    subject, body = text(chinese.email)
    assert "提醒" in subject and "Reminder" not in subject
    assert "仍在等待您的审批" in body and "still waiting" not in body
    subject, body = text(both.email)
    assert "提醒" in subject and "Reminder" in subject
