"""Backfilling last quarter, as a customer starting with Stride does, through HTTP with the
real engines: gateway → goals and identity, outbox → NATS → the event bridge → the cycle
workflow on a Temporal dev server with the real activities.

- A cycle for last quarter, created today, is a backfill cycle: its workflow moves it to the
  closing phase and then waits; it stays open (it used to close itself within seconds,
  scoring never-approved drafts) until HR closes it, and only approved objectives are scored.
- Past weeks' check-ins are imported from CSV or XLSX: a dry run, then all rows in one go;
  one bad row refuses the whole file, naming its row.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from openpyxl import Workbook
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from services.common.binaries import private_nats_server
from tests.integration.gateway_stack import GatewayStack, Person, gateway_stack, problem
from tests.integration.test_bridge import eventually
from tests.integration.worker_stack import running_worker
from workflows import ids
from workflows.cycle import CycleWorkflow
from workflows.vocabulary import MAX_IMPORT_BYTES, week_of

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def last_quarter(today: date) -> tuple[date, date]:
    """The calendar quarter before the one of ``today - 8 days``: over, and so is its default
    closing deadline (end + 7 days), whatever today is."""
    day = today - timedelta(days=8)
    this_quarter = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    end = this_quarter - timedelta(days=1)
    return date(end.year, 3 * ((end.month - 1) // 3) + 1, 1), end


@pytest.fixture(scope="module")
def own_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with private_nats_server(tmp_path_factory.mktemp("backfill-nats")) as url:
        yield url


@pytest.fixture(scope="module")
async def stack(
    database_url: str | None,
    own_nats: str,
    tmp_path_factory: pytest.TempPathFactory,
    temporal_dev_env: WorkflowEnvironment,
) -> AsyncIterator[GatewayStack]:
    async with gateway_stack(
        database_url,
        tmp_path_factory.mktemp("backfill"),
        own_nats,
        temporal_address=temporal_dev_env.client.service_client.config.target_host,
    ) as s:
        yield s


@pytest.fixture(scope="module")
async def worker(
    stack: GatewayStack, own_nats: str, temporal_dev_env: WorkflowEnvironment
) -> AsyncIterator[str]:
    async with running_worker(
        stack, own_nats, temporal_dev_env.client, consumer="backfill"
    ) as task_queue:
        yield task_queue


@dataclass
class Org:
    stack: GatewayStack
    hr: Person
    manager: Person
    people: list[Person]

    @property
    def http(self) -> httpx.AsyncClient:
        return self.stack.http


@pytest.fixture(scope="module")
async def org(stack: GatewayStack, worker: str) -> Org:
    dep = await stack.department("Stamping")
    manager = await stack.person(dep.id, name="Line Lead")
    people = [await stack.person(dep.id, manager_id=manager.id) for _ in range(3)]
    hr = await stack.person(dep.id, roles=["hr"], name="HR Partner")
    return Org(stack, hr, manager, people)


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


async def new_cycle(org: Org, name: str) -> dict[str, Any]:
    start, end = last_quarter(date.today())
    body = {
        "name": f"{name} {uuid.uuid4().hex[:6]}",
        "start_date": str(start),
        "end_date": str(end),
    }
    return dict(ok(await org.http.post("/cycles", json=body, headers=org.hr.headers), 201))


async def objective(org: Org, who: Person, cycle: str, title: str) -> tuple[str, str]:
    """A draft objective of ``who`` with one key result (0 → 100 %); (objective, key result)."""
    body = {
        "cycle_id": cycle,
        "title": title,
        "owner_id": who.id,
        "key_results": [{"title": f"{title} KR", "baseline": 0, "target": 100, "weight": 100}],
    }
    obj = ok(await org.http.post("/objectives", json=body, headers=who.headers), 201)
    krs = ok(await org.http.get(f"/objectives/{obj['id']}/key-results", headers=who.headers))
    return obj["id"], krs["items"][0]["id"]


async def test_last_quarter_stays_open_until_hr_closes_it(
    org: Org, temporal_dev_env: WorkflowEnvironment
) -> None:
    cycle = await new_cycle(org, "Last quarter")
    cid = cycle["id"]
    handle = temporal_dev_env.client.get_workflow_handle_for(CycleWorkflow.run, ids.cycle(cid))

    # The workflow has done all it does by itself: it has finished, or it is at its close
    # step with nothing in flight (waiting, not closing).
    async def settled() -> None:
        state = await handle.query(CycleWorkflow.state)
        pending = (await handle.describe()).raw_description.pending_activities
        assert state.done or (state.next_step == "close" and not pending), state

    await eventually(settled, timeout=60)
    got = ok(await org.http.get(f"/cycles/{cid}", headers=org.hr.headers))
    assert (got["status"], got["phase"]) == ("open", "closing")
    assert cycle["backfill"] and got["backfill"]
    state = await handle.query(CycleWorkflow.state)
    assert state.awaiting_close and not state.done

    # HR and the team enter last quarter: an approved plan and a draft, with check-ins.
    owner = org.people[0]
    agreed, agreed_kr = await objective(org, owner, cid, "Scrap under 2 %")
    draft, draft_kr = await objective(org, owner, cid, "Maybe someday")
    submitted = ok(
        await org.http.post(
            f"/cycles/{cid}/plan/submit", json={"objective_ids": [agreed]}, headers=owner.headers
        ),
        201,
    )

    async def approved() -> None:
        r = await org.http.post(
            f"/approvals/{submitted['id']}/decision",
            json={"decision": "approve"},
            headers=org.manager.headers,
        )
        assert r.status_code == 200, r.text  # 503 until the bridge has started its workflow

    await eventually(approved, timeout=60)
    week = week_of(date.fromisoformat(cycle["end_date"]) - timedelta(days=10))
    for kr, value in ((agreed_kr, 80), (draft_kr, 100)):
        ok(
            await org.http.post(
                f"/key-results/{kr}/check-ins",
                json={"value": value, "confidence": 7, "week": week},
                headers=owner.headers,
            ),
            201,
        )
    live = ok(await org.http.get(f"/cycles/{cid}/scores", headers=org.hr.headers))
    assert {o["objective_id"]: o["score"] for o in live["objectives"]} == {
        agreed: pytest.approx(0.8),
        draft: pytest.approx(1.0),
    }
    state = await handle.query(CycleWorkflow.state)
    assert state.awaiting_close and not state.done
    assert ok(await org.http.get(f"/cycles/{cid}", headers=org.hr.headers))["status"] == "open"

    # HR closes it: the approved objective is scored; the draft stays a draft, unscored.
    closed = ok(await org.http.post(f"/cycles/{cid}/close", headers=org.hr.headers))
    assert (closed["status"], closed["phase"]) == ("closed", "archived")
    final = ok(await org.http.get(f"/cycles/{cid}/scores", headers=org.hr.headers))
    assert [(o["objective_id"], o["score"]) for o in final["objectives"]] == [
        (agreed, pytest.approx(0.8))
    ]
    assert [(p["employee_id"], p["score"]) for p in final["people"]] == [
        (owner.id, pytest.approx(0.8))
    ]
    statuses = {
        o: ok(await org.http.get(f"/objectives/{o}", headers=org.hr.headers))["status"]
        for o in (agreed, draft)
    }
    assert statuses == {agreed: "closed", draft: "draft"}

    # cycle.closed → the bridge → the workflow archives and ends.
    async def finished() -> None:
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED

    await eventually(finished, timeout=60)
    assert (await handle.result()).phase == "archived"


def csv_file(rows: list[tuple[Any, ...]]) -> bytes:
    lines = ["employee_number,key_result,key_result_id,week,value,confidence,note"]
    lines += [",".join(str(c) for c in row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


async def post_file(
    org: Org, cycle: str, content: bytes, *, media: str = "text/csv", dry_run: bool = True
) -> httpx.Response:
    return await org.http.post(
        f"/cycles/{cycle}/check-ins/import",
        params={"dry_run": str(dry_run).lower()},
        content=content,
        headers={**org.hr.headers, "Content-Type": media},
    )


async def check_ins(org: Org, kr: str) -> list[tuple[str, float]]:
    r = await org.http.get(f"/key-results/{kr}/check-ins", headers=org.hr.headers)
    return sorted((c["week"], c["value"]) for c in ok(r)["items"])


async def test_importing_two_weeks_of_check_ins(org: Org) -> None:
    cycle = await new_cycle(org, "Backfill import")
    cid = cycle["id"]
    start = date.fromisoformat(cycle["start_date"])
    weeks = [week_of(start + timedelta(days=14)), week_of(start + timedelta(days=21))]
    krs = {}
    for n, person in enumerate(org.people):
        _obj, krs[person.id] = await objective(org, person, cid, f"Output line {n}")
    # By employee number and title for the first week, by key result id for the second.
    rows: list[tuple[Any, ...]] = []
    for n, person in enumerate(org.people):
        rows.append((person.login, f"Output line {n} KR", "", weeks[0], 10 + n, 6, "imported"))
        rows.append(("", "", krs[person.id], weeks[1], 20 + n, "", ""))

    # A dry run says what would land and writes nothing.
    dry = ok(await post_file(org, cid, csv_file(rows)))
    assert dry == {
        "dry_run": True,
        "rows": 6,
        "check_ins": 6,
        "key_results": 3,
        "weeks": sorted(weeks),
    }
    assert [await check_ins(org, kr) for kr in krs.values()] == [[], [], []]

    # One bad row (a week that has not begun) refuses the whole file, naming its row (6).
    future = week_of(date.today() + timedelta(days=14))
    bad = [*rows[:4], (rows[4][0], rows[4][1], "", future, 1, 5, ""), *rows[5:]]
    for dry_run in (True, False):
        body = problem(
            await post_file(org, cid, csv_file(bad), dry_run=dry_run), 422, "import_rows_invalid"
        )
        assert body["rows"] == [
            {"row": 6, "code": "week_in_future", "message": f"{future} has not started yet"}
        ]
    assert [await check_ins(org, kr) for kr in krs.values()] == [[], [], []]

    # Applied: every row lands, recorded by HR, through the single check-in's rules.
    applied = ok(await post_file(org, cid, csv_file(rows), dry_run=False))
    assert (applied["dry_run"], applied["check_ins"]) == (False, 6)
    for n, person in enumerate(org.people):
        assert await check_ins(org, krs[person.id]) == [(weeks[0], 10 + n), (weeks[1], 20 + n)]
    listed = ok(
        await org.http.get(
            f"/key-results/{krs[org.people[0].id]}/check-ins", headers=org.hr.headers
        )
    )["items"]
    assert {(c["recorded_by"], c["confidence"]) for c in listed} == {(org.hr.id, 6)}
    kr = ok(await org.http.get(f"/key-results/{krs[org.people[2].id]}", headers=org.hr.headers))
    assert kr["current_value"] == 22

    # The same weeks again from an XLSX whose value cell is text: refused, nothing changes.
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["工号", "关键结果", "周", "数值"])
    sheet.append([org.people[1].login, "Output line 1 KR", weeks[0], 99])
    sheet.append([org.people[1].login, "Output line 1 KR", weeks[1], "lots"])
    out = io.BytesIO()
    book.save(out)
    body = problem(
        await post_file(org, cid, out.getvalue(), media=XLSX, dry_run=False),
        422,
        "import_rows_invalid",
    )
    assert [(r["row"], r["code"]) for r in body["rows"]] == [(3, "invalid_value")]
    assert await check_ins(org, krs[org.people[1].id]) == [(weeks[0], 11), (weeks[1], 21)]


async def test_what_an_import_refuses_as_a_whole(org: Org) -> None:
    cycle = await new_cycle(org, "Refusals")
    cid = cycle["id"]
    # Not a file: a JSON body or a form.
    r = await org.http.post(
        f"/cycles/{cid}/check-ins/import", json={"rows": []}, headers=org.hr.headers
    )
    problem(r, 415, "unsupported_media_type")
    # Too large: refused before it is read.
    problem(await post_file(org, cid, b"x" * (MAX_IMPORT_BYTES + 1)), 413, "file_too_large")
    # No usable header, or nothing below it.
    problem(await post_file(org, cid, b"value\n1\n"), 422, "import_missing_columns")
    problem(await post_file(org, cid, b"key_result_id,week,value\n"), 422, "import_empty")
    # A cycle that does not exist, or is closed.
    file = csv_file([("", "", "kr-x", "2026-W01", 1, 5, "")])
    problem(await post_file(org, "no-such-cycle", file), 404, "cycle_not_found")
    ok(await org.http.post(f"/cycles/{cid}/close", headers=org.hr.headers))
    problem(await post_file(org, cid, file), 409, "cycle_closed")
