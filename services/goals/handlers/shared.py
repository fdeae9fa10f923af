"""What the goals handlers share: their dependencies, the "not found" reads, and the few
records several aggregates write (status changes, progress and approval events)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from google.protobuf.message import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.errors import NotFound
from services.common.group_commit import GroupCommit
from services.common.outbox import new_event_meta
from services.common.paging import next_page_token, page_window
from services.common.uow import UnitOfWork, Units
from services.goals import domain, scoring
from services.goals.identity_client import IdentityClient
from services.goals.messages import iso_date, key_result_pb, objective_pb, rule_set_of
from services.goals.models import Approval, Cycle, KeyResult, Objective
from services.goals.repository import GoalsRepository
from services.goals.risk_rules import DEFAULT_RULES, RuleSet
from stride.common.v1 import common_pb2
from stride.goals.v1 import goals_pb2 as pb
from workflows.vocabulary import ObjectiveStatus

Uow = UnitOfWork[GoalsRepository]

# How long a goals process keeps the risk rule set in force before reading it again: a new
# version set through another replica applies there within this many seconds.
RULES_TTL_SECONDS = 5.0


class RuleSets:
    """The risk rule set in force, read at most every :data:`RULES_TTL_SECONDS` (a check-in
    does not pay a read for a row that changes a few times a year)."""

    def __init__(self, ttl: float = RULES_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._rules: RuleSet | None = None
        self._read_at = 0.0

    async def current(self, repo: GoalsRepository) -> RuleSet:
        if self._rules is None or time.monotonic() - self._read_at > self.ttl:
            row = await repo.rule_set()
            self.put(rule_set_of(row) if row is not None else DEFAULT_RULES)
        assert self._rules is not None
        return self._rules

    def put(self, rules: RuleSet) -> None:
        self._rules, self._read_at = rules, time.monotonic()


@dataclass(frozen=True)
class Deps:
    """Everything a handler needs: units of work for writes, sessions for reads, identity."""

    units: Units[GoalsRepository]
    sessions: async_sessionmaker[AsyncSession]
    identity: IdentityClient
    # The organisation's time zone: the default of a new cycle's.
    time_zone: str
    # The risk rule set in force (cached).
    rules: RuleSets = field(default_factory=RuleSets)
    # Single check-ins arriving together share a transaction (handlers/check_ins.record).
    check_ins: GroupCommit[pb.RecordCheckInRequest, pb.CheckIn] = field(default_factory=GroupCommit)


# --- paging ---------------------------------------------------------------------------------
def page(request: common_pb2.PageRequest) -> tuple[int, int]:
    """(limit, offset) of a page request."""
    return page_window(request.page_size, request.page_token)


def next_page(offset: int, limit: int, returned: int) -> common_pb2.PageResponse:
    return common_pb2.PageResponse(next_page_token=next_page_token(offset, limit, returned))


def paged(page: common_pb2.PageRequest) -> bool:
    """Whether a request asks for a page (page_size 0 without a token: everything)."""
    return bool(page.page_size or page.page_token)


# --- reads that answer NOT_FOUND ------------------------------------------------------------
async def cycle_of(repo: GoalsRepository, cycle_id: str, *, lock: bool = False) -> Cycle:
    row = await repo.cycle(cycle_id, lock=lock)
    if row is None:
        raise NotFound("cycle_not_found", "cycle not found")
    return row


async def objective_of(
    repo: GoalsRepository, objective_id: str, *, lock: bool = False
) -> Objective:
    row = await repo.objective(objective_id, lock=lock)
    if row is None:
        raise NotFound("objective_not_found", "objective not found")
    return row


async def key_result_of(repo: GoalsRepository, kr_id: str, *, lock: bool = False) -> KeyResult:
    row = await repo.key_result(kr_id, lock=lock)
    if row is None:
        raise NotFound("key_result_not_found", "key result not found")
    return row


async def approval_of(repo: GoalsRepository, approval_id: str, *, lock: bool = False) -> Approval:
    row = await repo.approval(approval_id, lock=lock)
    if row is None:
        raise NotFound("approval_not_found", "approval not found")
    return row


# --- messages of several rows ---------------------------------------------------------------
def by_objective(krs: Iterable[KeyResult]) -> dict[str, list[KeyResult]]:
    """Key results grouped by objective id (each group in the given order)."""
    groups: dict[str, list[KeyResult]] = {}
    for kr in krs:
        groups.setdefault(kr.objective_id, []).append(kr)
    return groups


async def objectives_pb(repo: GoalsRepository, rows: Sequence[Objective]) -> list[pb.Objective]:
    krs = await repo.key_results(None, objective_ids=[o.id for o in rows])
    grouped = by_objective(krs)
    return [objective_pb(o, grouped.get(o.id, [])) for o in rows]


async def key_results_pb(repo: GoalsRepository, rows: Sequence[KeyResult]) -> list[pb.KeyResult]:
    statuses = await repo.objective_statuses(sorted({k.objective_id for k in rows}))
    return [key_result_pb(k, statuses.get(k.objective_id, "")) for k in rows]


# --- records shared by several aggregates ---------------------------------------------------
Change = Literal["created", "updated", "closed"]
_OBJECTIVE_EVENTS: dict[Change, type[Message]] = {
    "created": pb.ObjectiveCreated,
    "updated": pb.ObjectiveUpdated,
    "closed": pb.ObjectiveClosed,
}
_KR_EVENTS: dict[Change, type[Message]] = {
    "created": pb.KeyResultCreated,
    "updated": pb.KeyResultUpdated,
    "closed": pb.KeyResultClosed,
}


async def objective_changed(
    uow: Uow, action: str, change: Change, after: pb.Objective, before: pb.Objective | None = None
) -> None:
    """Audit an objective's change (``objective.<action>``) and emit its event."""
    await _changed(uow, action, "objective", _OBJECTIVE_EVENTS[change], after, before)


async def key_result_changed(
    uow: Uow, action: str, change: Change, after: pb.KeyResult, before: pb.KeyResult | None = None
) -> None:
    """Audit a key result's change (``key_result.<action>``) and emit its event."""
    await _changed(uow, action, "key_result", _KR_EVENTS[change], after, before)


async def _changed(
    uow: Uow,
    action: str,
    resource_type: str,
    event_type: type[Message],
    after: pb.Objective | pb.KeyResult,
    before: Message | None,
) -> None:
    """The audit entry and the event of a change; the event's ``resource_type`` field holds
    ``after`` (and its ``before`` field, where it has one, ``before``)."""
    await uow.audit(action, resource_type, after.id, before, after)
    event: Any = event_type()
    event.meta.CopyFrom(new_event_meta("goals"))
    getattr(event, resource_type).CopyFrom(after)
    if before is not None and "before" in event.DESCRIPTOR.fields_by_name:
        event.before.CopyFrom(before)
    await uow.emit(event)


async def draft_of(uow: Uow, objective_id: str) -> tuple[Objective, list[KeyResult]]:
    """A draft objective (locked) of an open cycle, and its key results: what changes to a
    draft start from."""
    row = await objective_of(uow.repo, objective_id, lock=True)
    cycle = await cycle_of(uow.repo, row.cycle_id)
    domain.ensure_open(cycle.status)
    domain.ensure_draft(row.status)
    return row, await uow.repo.key_results(None, objective_id=row.id)


async def set_status(
    uow: Uow,
    objectives: Sequence[Objective],
    status: ObjectiveStatus,
    now: datetime,
    krs: Sequence[KeyResult] | None = None,
) -> None:
    """Move objectives to ``status``, each change audited with before and after
    (``krs``: their key results when the caller has read them already)."""
    if not objectives:
        return
    if krs is None:
        krs = await uow.repo.key_results(None, objective_ids=[o.id for o in objectives])
    grouped = by_objective(krs)
    closing = status == ObjectiveStatus.CLOSED
    for o in objectives:
        before = objective_pb(o, grouped.get(o.id, []))
        o.status, o.updated_at = status.value, now
        after = objective_pb(o, grouped.get(o.id, []))
        change: Change = "closed" if closing else "updated"
        await objective_changed(uow, f"objective.{status.value}", change, after, before)
        if closing:  # closing is not audited per key result: the objective's entry covers it
            for kr in grouped.get(o.id, []):
                kr_message = key_result_pb(kr, o.status)
                await uow.emit(
                    pb.KeyResultClosed(meta=new_event_meta("goals"), key_result=kr_message)
                )


async def progress_changed(
    uow: Uow,
    kr: KeyResult,
    kr_message: pb.KeyResult,
    previous_value: float,
    previous_score: float,
    siblings: dict[str, dict[str, tuple[int, float]]] | None = None,
) -> None:
    """Emit KeyResultProgressChanged with the objective's new weighted score.

    ``siblings`` caches each objective's (weight, score) per key result for the rest of a
    request (a bulk check-in reads each objective once); ``kr``'s own entry is its new one."""
    weights = siblings.get(kr.objective_id) if siblings is not None else None
    if weights is None:
        weights = await uow.repo.weights_and_scores(kr.objective_id)
        if siblings is not None:
            siblings[kr.objective_id] = weights
    weights[kr.id] = (kr.weight, kr.score)
    await uow.emit(
        pb.KeyResultProgressChanged(
            meta=new_event_meta("goals"),
            key_result=kr_message,
            previous_value=previous_value,
            previous_score=previous_score,
            objective_id=kr.objective_id,
            objective_score=scoring.objective_score(weights.values()),
        )
    )


async def approval_requested(uow: Uow, approval: pb.Approval, cycle: Cycle, title: str) -> None:
    await uow.emit(
        pb.ApprovalRequested(
            meta=new_event_meta("goals"),
            approval=approval,
            time_zone=cycle.time_zone,
            approval_deadline=iso_date(cycle.approval_deadline),
            title=title,
        )
    )
