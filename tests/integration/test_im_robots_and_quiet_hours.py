"""IM group robots and quiet hours through the real engines.

``kr-escalation/<kr>`` on the time-skipping Temporal server with the worker's real activities
(identity on the test database: manager chain, inbox, robots, calendar; a real SMTP server;
fake DingTalk and WeCom robots over HTTP that verify DingTalk's signature):

- a warning for a department with a DingTalk robot posts exactly one correctly signed
  message; a robot answering 500 once is tried again, and the e-mails are not sent again;
- a WeCom robot gets the English text when set to English;
- a warning raised at 23:00 organisation time is in the inbox at once and mailed at 08:00 the
  next morning: the SMTP server receives nothing before and exactly one mail each after, with
  the worker restarted during the wait (the timer is durable).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from services.common.mail_sink import MailSink
from services.common.settings import WorkerSettings
from services.identity import server as identity_server
from services.worker.worker import activities_for, build_worker, ensure_search_attributes
from stride.identity.v1 import identity_pb2, identity_pb2_grpc, inbox_pb2, inbox_pb2_grpc
from tests.fakes.robots import FakeRobots, serve_asgi
from tests.integration.services_fixtures import running, service_settings
from tests.waiting import eventually, skip_to
from workflows import ids
from workflows.calendar import local_instant, zone
from workflows.kr_escalation import (
    SIGNAL_RISK_ASSESSED,
    KrEscalationInput,
    KrEscalationWorkflow,
    RiskSignal,
)

SH = "Asia/Shanghai"
SECRET = "SECtest0123456789abcdefghijklmnop"


@dataclass
class Org:
    addr: str
    people: identity_pb2_grpc.IdentityServiceStub
    inbox: inbox_pb2_grpc.InboxServiceStub

    async def team(self, name: str) -> tuple[str, identity_pb2.Employee, identity_pb2.Employee]:
        dep = await self.people.CreateDepartment(
            identity_pb2.CreateDepartmentRequest(name=f"{name} {uuid.uuid4().hex[:6]}")
        )
        tag = uuid.uuid4().hex[:6]
        manager = await self.people.CreateEmployee(
            identity_pb2.CreateEmployeeRequest(
                employee_number=f"M{tag}",
                name="Wang Manager",
                email=f"manager-{tag}@example.com",
                department_id=dep.id,
            )
        )
        owner = await self.people.CreateEmployee(
            identity_pb2.CreateEmployeeRequest(
                employee_number=f"O{tag}",
                name="Zhao Buyer",
                email=f"owner-{tag}@example.com",
                department_id=dep.id,
                manager_id=manager.id,
            )
        )
        return dep.id, owner, manager

    async def quiet_hours(self, start: str, end: str) -> None:
        await self.people.PutNotificationPolicy(
            identity_pb2.NotificationPolicy(time_zone=SH, quiet_start=start, quiet_end=end)
        )


@pytest.fixture(scope="module")
async def org(
    database_url: str | None, nats_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Org]:
    data_dir: Path = tmp_path_factory.mktemp("robots")
    rt = identity_server.runtime(
        service_settings(
            database_url,
            data_dir,
            nats_url,
            schema_prefix=f"im{uuid.uuid4().hex[:6]}_",
            robot_http_hosts="127.0.0.1",
        )
    )
    async with running(rt) as channel:
        yield Org(
            f"127.0.0.1:{rt.port}",
            identity_pb2_grpc.IdentityServiceStub(channel),
            inbox_pb2_grpc.InboxServiceStub(channel),
        )


@pytest.fixture
def sink() -> AsyncIterator[MailSink]:
    with MailSink() as s:
        yield s


@pytest.fixture
async def robots() -> AsyncIterator[tuple[FakeRobots, str]]:
    fake = FakeRobots()
    async with serve_asgi(fake.app, "fake-robots") as url:
        yield fake, url


@pytest.fixture
async def worker(
    org: Org, sink: MailSink, temporal_env: WorkflowEnvironment
) -> AsyncIterator[tuple[Client, str]]:
    client = temporal_env.client
    await ensure_search_attributes(client)
    queue = f"im-{uuid.uuid4()}"
    async with build_worker(client, queue, activities=activities_for(worker_settings(org, sink))):
        yield client, queue


def worker_settings(org: Org, sink: MailSink) -> WorkerSettings:
    return WorkerSettings(
        identity_addr=org.addr,
        smtp_host="127.0.0.1",
        smtp_port=sink.port,
        web_url="https://stride.example.com",
    )


def mails_to(sink: MailSink, person: identity_pb2.Employee) -> list[EmailMessage]:
    return [m for m in sink.received() if m["To"] == person.email]


async def start_warning(
    client: Client, queue: str, department_id: str, owner: identity_pb2.Employee, now: datetime
) -> WorkflowHandle[KrEscalationWorkflow, object]:
    kr = f"kr-{uuid.uuid4().hex[:8]}"
    return await client.start_workflow(
        KrEscalationWorkflow.run,
        KrEscalationInput(
            key_result_id=kr,
            cycle_id="cyc-im",
            department_id=department_id,
            cycle_end_utc=(now + timedelta(days=40)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        ),
        id=ids.kr_escalation(kr),
        task_queue=queue,
        start_signal=SIGNAL_RISK_ASSESSED,
        start_signal_args=[
            RiskSignal(
                event_id=f"evt-{kr}",
                check_in_id=f"chk-{kr}",
                week="2026-W49",
                status="at_risk",
                shortfall=0.3,
                behind_streak=2,
                owner_id=owner.id,
                value=56.0,
                expected_value=80.0,
                unit="%",
            )
        ],
    )


async def test_a_warning_posts_one_signed_dingtalk_message_and_a_500_is_retried_without_mail_again(
    org: Org,
    sink: MailSink,
    robots: tuple[FakeRobots, str],
    worker: tuple[Client, str],
    temporal_env: WorkflowEnvironment,
) -> None:
    fake, base = robots
    client, queue = worker
    await org.quiet_hours("00:00", "00:00")  # none: this test is about the robot
    dep, owner, manager = await org.team("Purchasing")
    fake.dingtalk["tok-purchasing"] = SECRET
    robot = await org.people.PutDepartmentRobot(
        identity_pb2.PutDepartmentRobotRequest(
            department_id=dep,
            kind="dingtalk",
            webhook_url=f"{base}/robot/send?access_token=tok-purchasing",
            secret=SECRET,
        )
    )
    assert robot.has_secret and SECRET not in str(robot) and "tok-purchasing" not in str(robot)
    fake.fail_next = [500]

    handle = await start_warning(client, queue, dep, owner, await temporal_env.get_current_time())

    async def posted() -> None:
        assert len(fake.messages) == 1

    await eventually(posted, timeout=60)
    (message,) = fake.messages
    assert message.signed and fake.refused == []
    assert fake.attempts == 2  # the 500, then the accepted post
    text = message.payload["markdown"]["text"]
    assert "预警" in message.payload["markdown"]["title"]
    assert "计划 80 %" in text and "实际 56 %" in text and "30%" in text
    assert "您的" not in text  # the group's text names no one's "your"
    assert "https://stride.example.com/key-results/" in text
    # One e-mail each: the robot's retry did not send the mail again.
    assert len(mails_to(sink, owner)) == 1 and len(mails_to(sink, manager)) == 1
    await asyncio.sleep(1.0)
    assert len(fake.messages) == 1 and len(sink.received()) == 2
    history = await handle.fetch_history()
    im = [
        e
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.attempt == 2
    ]
    assert len(im) == 1, "the IM post's second attempt is in the workflow's history"
    await handle.terminate("test over")


async def test_a_wecom_robot_gets_the_english_text(
    org: Org,
    sink: MailSink,
    robots: tuple[FakeRobots, str],
    worker: tuple[Client, str],
    temporal_env: WorkflowEnvironment,
) -> None:
    fake, base = robots
    client, queue = worker
    await org.quiet_hours("00:00", "00:00")
    dep, owner, _ = await org.team("Quality")
    fake.wecom.add("key-quality")
    await org.people.PutDepartmentRobot(
        identity_pb2.PutDepartmentRobotRequest(
            department_id=dep,
            kind="wecom",
            webhook_url=f"{base}/cgi-bin/webhook/send?key=key-quality",
            language="en",
        )
    )
    handle = await start_warning(client, queue, dep, owner, await temporal_env.get_current_time())

    async def posted() -> None:
        assert len(fake.messages) == 1

    await eventually(posted, timeout=60)
    content = fake.messages[0].payload["markdown"]["content"]
    assert content.startswith("**Warning: a key result has been behind plan for 2 weeks**")
    assert "plan 80 %, actual 56 %" in content
    await handle.terminate("test over")


async def test_a_warning_at_23_00_is_mailed_at_08_00_the_next_morning_across_a_restart(
    org: Org,
    sink: MailSink,
    temporal_env: WorkflowEnvironment,
) -> None:
    client = temporal_env.client
    await ensure_search_attributes(client)
    queue = f"im-quiet-{uuid.uuid4()}"
    activities = activities_for(worker_settings(org, sink))
    await org.quiet_hours("22:00", "08:00")
    dep, owner, manager = await org.team("Assembly")
    now = await temporal_env.get_current_time()
    local_now = now.astimezone(zone(SH))
    day = local_now.date() if local_now.time() < time(23) else local_now.date() + timedelta(days=1)
    eleven_pm = local_instant(day, time(23), SH)
    await skip_to(temporal_env, eleven_pm)  # the server's clock to 23:00 Shanghai

    # No workflow cache: the first worker leaves no sticky queue behind when it stops.
    async with build_worker(client, queue, activities=activities, max_cached_workflows=0):
        now = await temporal_env.get_current_time()
        handle = await start_warning(client, queue, dep, owner, now)

        async def in_the_inbox() -> None:
            for person in (owner, manager):
                items = await org.inbox.ListInbox(
                    inbox_pb2.ListInboxRequest(recipient_id=person.id)
                )
                assert [i.template for i in items.items] == ["kr.warning"]

        await eventually(in_the_inbox, timeout=60)
        await asyncio.sleep(1.0)
        assert sink.received() == [], "nothing is mailed in the quiet hours"

    # The worker is gone (a restart): a new one picks the escalation up from its history.
    async with build_worker(client, queue, activities=activities):
        await skip_to(temporal_env, eleven_pm + timedelta(hours=9, minutes=1))  # past 08:00

        async def mailed() -> None:
            assert len(mails_to(sink, owner)) == 1 and len(mails_to(sink, manager)) == 1

        await eventually(mailed, timeout=60)
    history = await handle.fetch_history()
    timers = [
        e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
    ]
    quiet = [t for t in timers if timedelta(hours=8, minutes=59) < t <= timedelta(hours=9)]
    assert len(quiet) == 1, f"a durable timer from 23:00 to 08:00, not {timers}"
    await asyncio.sleep(0.5)
    assert len(sink.received()) == 2
    await handle.terminate("test over")
