"""Helpers for the goals integration tests: an org through the identity service, and events
read back from JetStream."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from google.protobuf.message import DecodeError, Message

from gateway.convert import to_dict
from services.common.nats import GOALS_STREAM, connect
from stride.goals.v1 import goals_pb2 as gpb
from stride.identity.v1 import identity_pb2 as ipb
from tests.waiting import eventually

M = TypeVar("M", bound=Message)


async def department(identity, name: str) -> ipb.Department:
    return await identity.CreateDepartment(
        ipb.CreateDepartmentRequest(name=f"{name} {uuid.uuid4().hex[:6]}")
    )


async def employee(identity, dept: ipb.Department, manager: str = "") -> ipb.Employee:
    tag = uuid.uuid4().hex[:8]
    return await identity.CreateEmployee(
        ipb.CreateEmployeeRequest(
            employee_number=f"E{tag}", name="Wang Fang", department_id=dept.id, manager_id=manager
        )
    )


async def events(
    nats_url: str,
    subject: str,
    kind: type[M],
    match: Callable[[M], bool],
    expected: int,
    stream: str = GOALS_STREAM,
) -> list[M]:
    """Events of ``kind`` on ``subject`` that ``match``: waits (bounded) for ``expected`` of
    them, then one more fetch to catch extras."""
    nc = await connect(nats_url)
    try:
        sub = await nc.jetstream().pull_subscribe(subject, durable=None, stream=stream)
        found: list[M] = []
        empty_fetches = 0
        while empty_fetches < (1 if len(found) >= expected else 10):
            try:
                msgs = await sub.fetch(200, timeout=1)
            except TimeoutError:
                empty_fetches += 1
                continue
            for m in msgs:
                await m.ack()
                try:
                    event = kind.FromString(m.data)
                except DecodeError:  # another test's deliberately broken message
                    continue
                if match(event):
                    found.append(event)
        return found
    finally:
        await nc.close()


async def grpc_score_pages(
    goals: Any, request: gpb.GetScoresRequest, page_size: int
) -> list[dict[str, Any]]:
    """Every page of GetScores ``request``, ``page_size`` people a page, as dicts."""
    pages: list[dict[str, Any]] = []
    token = ""
    while True:
        ask = gpb.GetScoresRequest()
        ask.CopyFrom(request)
        ask.page.page_size, ask.page.page_token = page_size, token
        page = await goals.GetScores(ask)
        pages.append({**to_dict(page), "next_page_token": page.page.next_page_token})
        token = page.page.next_page_token
        if not token:
            return pages


async def settled_score_pages(
    fetch: Callable[[], Awaitable[list[dict[str, Any]]]], whole: dict[str, Any], size: int
) -> list[dict[str, Any]]:
    """Every page (``fetch()``) once they hold what ``whole`` holds (assert_score_pages): the
    first page's per-department figures come from the dashboard read model, which follows the
    goals event stream within moments of a write, so they are read again until it has caught
    up (the last mismatch fails the test after 15 s)."""

    async def caught_up() -> list[dict[str, Any]]:
        pages = await fetch()
        assert_score_pages(pages, whole, size)
        return pages

    return await eventually(caught_up, timeout=15)


def assert_score_pages(pages: list[dict[str, Any]], whole: dict[str, Any], size: int) -> None:
    """Pages of scores (API bodies or GetScores as dicts) hold what the unpaged answer
    ``whole`` holds: every person and objective exactly once with the same numbers, people in
    employee id order, at most ``size`` a page, each page's people and objective owners in an
    id range of their own; the cycle's figures on the first page only."""

    def person(p: dict[str, Any]) -> tuple[Any, ...]:
        return p["employee_id"], p["score"], p["key_result_count"], p.get("self_score")

    def objective(o: dict[str, Any]) -> tuple[Any, ...]:
        return o["objective_id"], o["owner_id"], o["department_id"], o["score"], o["aligned"]

    people = [person(p) for page in pages for p in page["people"]]
    assert people == sorted(person(p) for p in whole["people"])
    objectives = [objective(o) for page in pages for o in page["objectives"]]
    assert sorted(objectives) == sorted(objective(o) for o in whole["objectives"])
    assert len({o[0] for o in objectives}) == len(objectives)
    spans = []
    for page in pages:
        owners = {p["employee_id"] for p in page["people"]} | {
            o["owner_id"] for o in page["objectives"]
        }
        assert len(owners) <= size
        spans.append(sorted(owners))
    pairs = itertools.pairwise(s for s in spans if s)
    assert all(before[-1] < after[0] for before, after in pairs)
    assert all(page["next_page_token"] for page in pages[:-1]) and not pages[-1]["next_page_token"]
    first = pages[0]
    assert (first["alignment"], first["aligned_count"], first["objective_count"]) == (
        whole["alignment"],
        whole["aligned_count"],
        whole["objective_count"],
    )
    assert [d["department_id"] for d in first["departments"]] == [
        d["department_id"] for d in whole["departments"]
    ]
    for got, want in zip(first["departments"], whole["departments"], strict=True):
        assert (got["key_result_count"], got["objective_count"], got["alignment"]) == (
            want["key_result_count"],
            want["objective_count"],
            want["alignment"],
        )
        # Summed by the database: the same up to the last binary digit.
        assert got["score"] == pytest.approx(want["score"], rel=1e-12, abs=1e-12)
    for page in pages[1:]:
        assert (page["departments"], page["objective_count"], page["aligned_count"]) == ([], 0, 0)
