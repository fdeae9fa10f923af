"""Helpers for the goals integration tests: an org through the identity service, and events
read back from JetStream."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeVar

from google.protobuf.message import DecodeError, Message

from services.common.nats import GOALS_STREAM, connect
from stride.identity.v1 import identity_pb2 as ipb

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
