"""Activities of the promotion review (``promotion/<case>``): the feedback service's
PromotionService (protos/stride/feedback/v1/promotions.proto).

RecordStep is idempotent per the workflow's step number, so retries are safe. An outage is
retried by the workflow's retry policy; a refusal (a conflicted panel member identity knows
of, an unknown case) is a non-retryable ``PromotionServiceRefused``. A step a person took is
recorded in their name (the actor of the service's audit entry); the rest in the workflow's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from temporalio import activity

from activities.clients import (
    CALL_TIMEOUT_SECONDS,
    channel,
    metadata,
    to_application_error,
    workflow_actor,
)
from services.common.settings import WorkerSettings
from stride.feedback.v1 import promotions_pb2 as pb
from stride.feedback.v1 import promotions_pb2_grpc
from workflows.promotion_rules import (
    ELIGIBILITY_ACTIVITY,
    ERROR_SERVICE_REFUSED,
    PEOPLE_ACTIVITY,
    RECORD_ACTIVITY,
    CaseRef,
    Eligibility,
    PromotionPeople,
    PromotionStep,
)

T = TypeVar("T")
Call = Callable[[promotions_pb2_grpc.PromotionServiceStub], Awaitable[T]]


class PromotionActivities:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings

    def all(self) -> list[Callable[..., Any]]:
        return [self.people, self.eligibility, self.record]

    async def _call(self, call: Call[T]) -> T:
        async with channel(self.settings.feedback_addr) as ch:
            try:
                return await call(promotions_pb2_grpc.PromotionServiceStub(ch))
            except grpc.aio.AioRpcError as err:
                raise to_application_error("feedback", err, ERROR_SERVICE_REFUSED) from err

    @activity.defn(name=PEOPLE_ACTIVITY)
    async def people(self, input: CaseRef) -> PromotionPeople:
        found = await self._call(
            lambda stub: stub.GetCasePeople(
                pb.GetCasePeopleRequest(case_id=input.case_id),
                timeout=CALL_TIMEOUT_SECONDS,
                metadata=metadata(workflow_actor()),
            )
        )
        return PromotionPeople(found.manager_id, list(found.reporting_line), list(found.hr_ids))

    @activity.defn(name=ELIGIBILITY_ACTIVITY)
    async def eligibility(self, input: CaseRef) -> Eligibility:
        found = await self._call(
            lambda stub: stub.CheckEligibility(
                pb.CheckEligibilityRequest(case_id=input.case_id),
                timeout=CALL_TIMEOUT_SECONDS,
                metadata=metadata(workflow_actor()),
            )
        )
        return Eligibility(found.eligible, list(found.reasons))

    @activity.defn(name=RECORD_ACTIVITY)
    async def record(self, step: PromotionStep) -> None:
        request = pb.RecordStepRequest(
            case_id=step.case_id,
            sequence=step.sequence,
            step=step.step,
            actor_id=step.actor_id,
            phase=step.phase,
            member_ids=step.member_ids,
            score=step.score,
            objection=step.objection,
            text=step.text,
            outcome=step.outcome,
            reasons=step.reasons,
        )
        await self._call(
            lambda stub: stub.RecordStep(
                request,
                timeout=CALL_TIMEOUT_SECONDS,
                # The person who took the step is the actor of the audit entry.
                metadata=metadata(step.actor_id or workflow_actor()),
            )
        )
