"""The month-end department brief end to end through the real services (identity, goals,
feedback, the gateway, a Temporal dev server, the worker's real activities, an SMTP sink).

A generated organisation (a general manager, three departments with a head each and
``STRIDE_BRIEF_PEOPLE`` people in all, the customer's 680 by default, seeded concurrently;
one objective with three key results per person, the members' aligned to their head's,
check-ins this month) is briefed for the current month on HR's request
(``POST /reports/monthly/{month}/run``). Then:

- the general manager (no manager: an executive) receives one e-mail with every department's
  PDF attached, each department head one with their department's;
- each PDF's text (pypdf) carries its department's figures, checked against the key results
  goals lists through the API (completion, mean score) and the list route's summary;
- the head downloads their department's PDF and HTML, not another department's; an unknown
  month answers 404 problem+json;
- the month run again sends nothing twice;
- a page of a PDF is kept as build/test-artefacts/monthly-brief-e2e.png.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import shutil
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TypeVar

from pypdf import PdfReader
from temporalio.testing import WorkflowEnvironment

from services.common.mail_sink import MailSink
from services.common.settings import WorkerSettings
from services.worker.worker import activities_for, build_worker
from stride.common.v1 import common_pb2
from stride.goals.v1 import goals_pb2 as gpb
from stride.identity.v1 import identity_pb2
from tests.integration.gateway_stack import GatewayStack, Person
from tests.integration.test_approval_flow import (  # noqa: F401 (module fixtures)
    mails_to,
    own_nats,
    sink,
    stack,
)
from tests.integration.worker_stack import NO_QUIET_HOURS
from workflows import ids
from workflows.monthly_brief import STATUS_DONE, MonthlyBriefWorkflow
from workflows.vocabulary import week_of

PEOPLE = int(os.environ.get("STRIDE_BRIEF_PEOPLE", "680"))
# Seeding calls in flight at once.
SEEDING = 16
ARTEFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artefacts"
TARGET = 100.0
T = TypeVar("T")


def pdf_text(pdf: bytes) -> str:
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"\s+", "", text)


def pdfs_of(mail: EmailMessage) -> dict[str, bytes]:
    found = {}
    for part in mail.walk():
        if part.get_content_type() == "application/pdf":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found[str(part.get_filename())] = payload
    return found


async def _org(
    stack: GatewayStack,  # noqa: F811
) -> tuple[Person, Person, dict[str, Person], dict[str, list[str]]]:
    """The general manager, HR, the heads by department id, the members by department id."""
    tag = uuid.uuid4().hex[:6]
    top = await stack.department(f"总经办 {tag}")
    gm = await stack.person(top.id, name="General Manager")
    hr = await stack.person(top.id, manager_id=gm.id, roles=["hr"], name="HR")
    heads: dict[str, Person] = {}
    members: dict[str, list[str]] = {}
    names = [f"Engineering {tag}", f"质量部 {tag}", f"Sales {tag}"]
    per_department = max(2, (PEOPLE - 2) // len(names))
    for name in names:
        department = await stack.department(name, parent_id=top.id)
        head = await stack.person(department.id, manager_id=gm.id, name=f"Head {name}")
        await stack.admin_grpc.identity.UpdateDepartment(
            identity_pb2.UpdateDepartmentRequest(id=department.id, head_id=head.id)
        )
        heads[department.id] = head
        n = len(members)

        async def member(
            i: int, department_id: str = department.id, head_id: str = head.id, n: int = n
        ) -> str:
            employee = await stack.admin_grpc.identity.CreateEmployee(
                identity_pb2.CreateEmployeeRequest(
                    employee_number=f"B{tag}{n}{i:04d}",
                    name=f"Member {i}",
                    email=f"b{tag}{n}{i}@example.com",
                    department_id=department_id,
                    manager_id=head_id,
                )
            )
            return str(employee.id)

        members[department.id] = [head.id, *await gathered(member, range(per_department - 1))]
    return gm, hr, heads, members


async def gathered(make: Callable[[int], Awaitable[T]], indexes: Iterable[int]) -> list[T]:
    """``make(i)`` for each index, SEEDING at a time, results in order."""
    limit = asyncio.Semaphore(SEEDING)

    async def one(i: int) -> T:
        async with limit:
            return await make(i)

    return list(await asyncio.gather(*(one(i) for i in indexes)))


async def department_key_results(
    stack: GatewayStack,  # noqa: F811
    cycle_id: str,
    department_id: str,
) -> list[gpb.KeyResult]:
    """Every key result of the department in the cycle, through goals' paged list."""
    krs: list[gpb.KeyResult] = []
    token = ""
    while True:
        page = await stack.goals.ListKeyResults(
            gpb.ListKeyResultsRequest(
                cycle_id=cycle_id,
                department_id=department_id,
                page=common_pb2.PageRequest(page_size=200, page_token=token),
            )
        )
        krs.extend(page.key_results)
        token = page.page.next_page_token
        if not token:
            return krs


async def test_the_month_end_brief_is_rendered_mailed_and_downloadable(
    stack: GatewayStack,  # noqa: F811
    sink: MailSink,  # noqa: F811
    temporal_dev_env: WorkflowEnvironment,
) -> None:
    # The worker's real activities on the queue the gateway starts workflows on.
    settings = WorkerSettings(
        identity_addr=stack.settings.identity_addr,
        goals_addr=stack.settings.goals_addr,
        feedback_addr=stack.settings.feedback_addr,
        smtp_host="127.0.0.1",
        smtp_port=sink.port,
    )
    await stack.admin_grpc.identity.PutNotificationPolicy(NO_QUIET_HOURS)
    async with build_worker(
        temporal_dev_env.client, stack.settings.task_queue, activities=activities_for(settings)
    ):
        await _briefed(stack, sink, temporal_dev_env)


async def _briefed(
    stack: GatewayStack,  # noqa: F811
    sink: MailSink,  # noqa: F811
    temporal_dev_env: WorkflowEnvironment,
) -> None:
    gm, hr, heads, members = await _org(stack)
    today = date.today()
    month = f"{today.year:04d}-{today.month:02d}"
    cycle = await stack.goals.CreateCycle(
        gpb.CreateCycleRequest(
            name=f"Brief {uuid.uuid4().hex[:6]}",
            start_date=(today - timedelta(days=40)).isoformat(),
            end_date=(today + timedelta(days=50)).isoformat(),
        )
    )
    week = week_of(today)
    # Per person: one objective, three key results; the members' aligned to their head's. The
    # i-th person's first key result is done (value = target) when i is even, the others
    # checked in at 30 % and 60 % (the person's three check-ins of the week in one request,
    # like POST /check-ins).
    approved: dict[str, int] = {}
    for department_id, people in members.items():

        async def plan(i: int, people: list[str] = people, parent: str = "") -> str:
            """The i-th person's objective (aligned to ``parent``) and plan approval."""
            owner = people[i]
            objective = await stack.goals.CreateObjective(
                gpb.CreateObjectiveRequest(
                    cycle_id=cycle.id,
                    title=f"Objective {i}",
                    owner_id=owner,
                    parent_id=parent,
                    key_results=[
                        gpb.NewKeyResult(title=f"KR {i}.{k}", baseline=0, target=TARGET, weight=w)
                        for k, w in enumerate((40, 30, 30))
                    ],
                )
            )
            # Two people in three get their plan approved (participation counts approved
            # plans' key results): the head by the general manager, members by the head.
            if i % 3 != 2:
                approval = await stack.goals.SubmitPlan(
                    gpb.SubmitPlanRequest(cycle_id=cycle.id, employee_id=owner)
                )
                await stack.goals.DecideApproval(
                    gpb.DecideApprovalRequest(
                        approval_id=approval.id,
                        decision=gpb.DECISION_APPROVE,
                        decided_by=gm.id if i == 0 else people[0],
                    )
                )
            return str(objective.id)

        # The head's objective first: the members' are aligned to it.
        head_objective = await plan(0)
        objectives = [
            head_objective,
            *await gathered(
                lambda i, o=head_objective: plan(i, parent=o),  # type: ignore[misc]
                range(1, len(people)),
            ),
        ]
        # The department's key results (a few pages rather than a call per objective).
        by_title = {
            (kr.objective_id, kr.title): kr.id
            for kr in await department_key_results(stack, cycle.id, department_id)
        }

        async def check_in(
            i: int,
            people: list[str] = people,
            objectives: list[str] = objectives,
            by_title: dict[tuple[str, str], str] = by_title,
        ) -> None:
            values = (TARGET if i % 2 == 0 else 50.0, 30.0, 60.0)
            await stack.goals.RecordCheckIns(
                gpb.RecordCheckInsRequest(
                    owner_id=people[i],
                    week=week,
                    check_ins=[
                        gpb.RecordCheckInRequest(
                            key_result_id=by_title[(objectives[i], f"KR {i}.{k}")],
                            value=value,
                            confidence=5,
                            week=week,
                        )
                        for k, value in enumerate(values)
                    ],
                )
            )

        await gathered(check_in, range(len(people)))
        approved[department_id] = sum(1 for i in range(len(people)) if i % 3 != 2)

    client = temporal_dev_env.client
    run = await stack.http.post(f"/reports/monthly/{month}/run", headers=hr.headers)
    assert run.status_code == 202, run.text
    assert run.json()["workflow_id"] == ids.monthly_brief(month)
    handle = client.get_workflow_handle_for(MonthlyBriefWorkflow.run, ids.monthly_brief(month))
    report = await asyncio.wait_for(handle.result(), 180)
    assert report.status == STATUS_DONE

    # The figures the API gives, per department: completion and mean score of its key results.
    expected: dict[str, tuple[float, float]] = {}
    for department_id in members:
        krs = await department_key_results(stack, cycle.id, department_id)
        assert len(krs) == 3 * len(members[department_id])
        done = sum(1 for kr in krs if kr.score >= 1.0)
        expected[department_id] = (done / len(krs), sum(kr.score for kr in krs) / len(krs))

    listed = await stack.http.get(f"/reports/monthly/{month}", headers=hr.headers)
    assert listed.status_code == 200, listed.text
    summaries = {i["department_id"]: i for i in listed.json()["items"]}
    for department_id, (completion, mean) in expected.items():
        assert summaries[department_id]["completion"] == completion
        assert abs(summaries[department_id]["mean_score"] - mean) < 1e-9

    # The general manager: one e-mail with every department's brief (at least ours).
    (to_gm,) = [m for m in mails_to(sink, gm.employee.email) if month in str(m["Subject"])]
    attached = pdfs_of(to_gm)
    for department_id, (completion, mean) in expected.items():
        (pdf,) = [p for name, p in attached.items() if department_id in name]
        text = pdf_text(pdf)
        share = approved[department_id] / len(members[department_id])
        assert f"{week}{share * 100:.1f}%" in text
        assert (
            f"Completion{completion * 100:.1f}%" in text or f"完成率{completion * 100:.1f}%" in text
        )
        assert f"{mean:.2f}" in text
    # Each head: their department's brief only.
    for department_id, head in heads.items():
        (mail,) = [m for m in mails_to(sink, head.employee.email) if month in str(m["Subject"])]
        assert [department_id in name for name in pdfs_of(mail)] == [True]

    # Downloads: the head's own department, not another; an unknown month.
    (first, second, *_) = list(heads)
    head = heads[first]
    pdf = await stack.http.get(
        f"/reports/monthly/{month}/{first}.pdf", params={"language": "zh-CN"}, headers=head.headers
    )
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert "完成率" in pdf_text(pdf.content)
    page = await stack.http.get(f"/reports/monthly/{month}/{first}.html", headers=head.headers)
    assert page.status_code == 200 and "<svg" in page.text
    other = await stack.http.get(f"/reports/monthly/{month}/{second}.pdf", headers=head.headers)
    assert other.status_code == 403, other.text
    # The brief's e-mail links the head to the month's list: theirs only.
    own_list = await stack.http.get(f"/reports/monthly/{month}", headers=head.headers)
    assert own_list.status_code == 200, own_list.text
    own_ids = {b["department_id"] for b in own_list.json()["items"]}
    assert first in own_ids and second not in own_ids
    missing = await stack.http.get("/reports/monthly/2019-01", headers=hr.headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["code"] == "monthly_brief_not_found"

    # Run again: everything found delivered, nothing sent twice.
    before = len(sink.received())
    again = await stack.http.post(f"/reports/monthly/{month}/run", headers=hr.headers)
    assert again.status_code == 202, again.text
    rerun = await asyncio.wait_for(
        client.get_workflow_handle_for(MonthlyBriefWorkflow.run, ids.monthly_brief(month)).result(),
        180,
    )
    assert rerun.status == STATUS_DONE and rerun.emailed == 0
    assert len(sink.received()) == before

    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    (ARTEFACTS / "monthly-brief-e2e.pdf").write_bytes(pdf.content)
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "poppler-utils (pdftoppm) is installed by .ci/run"
    rasterised = await asyncio.create_subprocess_exec(
        pdftoppm,
        "-png",
        "-r",
        "60",
        "-singlefile",
        str(ARTEFACTS / "monthly-brief-e2e.pdf"),
        str(ARTEFACTS / "monthly-brief-e2e"),
    )
    assert await rasterised.wait() == 0
