"""Activities of the 360 feedback round (and of the cycle starting rounds): the feedback
service's RoundService (protos/stride/feedback/v1/rounds.proto).

Every call is idempotent in the service (approving, marking invited, closing or cancelling a
round twice returns the round; StartRounds counts existing rounds in ``already``), so retries
are safe. An outage is retried by the workflow's retry policy; a refusal (the service said no:
a rater who was not nominated, an unknown round) is a non-retryable
``RoundServiceRefused``. The approval is made in the name of the person who approved (the
actor of the service's audit entry); the rest in the workflow's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.clients import (
    CALL_TIMEOUT_SECONDS,
    channel,
    metadata,
    to_application_error,
    workflow_actor,
)
from services.common.settings import WorkerSettings
from stride.feedback.v1 import rounds_pb2, rounds_pb2_grpc
from workflows.round_rules import (
    APPROVE_ACTIVITY,
    CANCEL_ACTIVITY,
    CLOSE_ACTIVITY,
    ERROR_SERVICE_REFUSED,
    MARK_INVITED_ACTIVITY,
    PENDING_RATERS_ACTIVITY,
    START_ROUNDS_ACTIVITY,
    ApproveActivityInput,
    MarkInvitedInput,
    PendingRaters,
    RoundRef,
    RoundView,
    StartRoundsInput,
    StartRoundsResult,
)
from workflows.vocabulary import RATER_NOMINATED

# The feedback service's refusal of rounds for a department out of the pilot.
NOT_IN_PILOT = "department_not_in_pilot"
T = TypeVar("T")
Call = Callable[[rounds_pb2_grpc.RoundServiceStub], Awaitable[T]]
# StartRounds creates a round (and its raters) per person in scope: a whole organisation.
START_ROUNDS_TIMEOUT_SECONDS = 120.0


def round_view(found: rounds_pb2.Round) -> RoundView:
    """What the workflow keeps of a Round: the raters on the approved list (every rater past
    nomination), its phase and when it closed."""
    return RoundView(
        round_id=found.id,
        phase=found.phase,
        rater_ids=[r.employee_id for r in found.raters if r.status != RATER_NOMINATED],
        closed_at=found.closed_at,
    )


class FeedbackRoundActivities:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.approve,
            self.mark_invited,
            self.pending_raters,
            self.close,
            self.cancel,
            self.start_rounds,
        ]

    async def _call(self, call: Call[T]) -> T:
        async with channel(self.settings.feedback_addr) as ch:
            try:
                return await call(rounds_pb2_grpc.RoundServiceStub(ch))
            except grpc.aio.AioRpcError as err:
                raise to_application_error("feedback", err, ERROR_SERVICE_REFUSED) from err

    @staticmethod
    def _md(actor: str = "") -> tuple[tuple[str, str], ...]:
        return metadata(actor or workflow_actor())

    @activity.defn(name=APPROVE_ACTIVITY)
    async def approve(self, input: ApproveActivityInput) -> RoundView:
        request = rounds_pb2.ApproveNominationsRequest(
            round_id=input.round_id, approver_id=input.approver_id, rater_ids=input.rater_ids
        )
        found = await self._call(
            lambda stub: stub.ApproveNominations(
                request,
                timeout=CALL_TIMEOUT_SECONDS,
                # The person approving is the actor of the service's audit entry.
                metadata=self._md(input.approver_id),
            )
        )
        return round_view(found)

    @activity.defn(name=MARK_INVITED_ACTIVITY)
    async def mark_invited(self, input: MarkInvitedInput) -> RoundView:
        request = rounds_pb2.MarkInvitedRequest(round_id=input.round_id, rater_ids=input.rater_ids)
        found = await self._call(
            lambda stub: stub.MarkInvited(
                request, timeout=CALL_TIMEOUT_SECONDS, metadata=self._md()
            )
        )
        return round_view(found)

    @activity.defn(name=PENDING_RATERS_ACTIVITY)
    async def pending_raters(self, input: RoundRef) -> PendingRaters:
        request = rounds_pb2.ListPendingRatersRequest(round_id=input.round_id)
        found = await self._call(
            lambda stub: stub.ListPendingRaters(
                request, timeout=CALL_TIMEOUT_SECONDS, metadata=self._md()
            )
        )
        return PendingRaters(list(found.employee_ids))

    @activity.defn(name=CLOSE_ACTIVITY)
    async def close(self, input: RoundRef) -> RoundView:
        request = rounds_pb2.CloseRoundRequest(round_id=input.round_id)
        found = await self._call(
            lambda stub: stub.CloseRound(request, timeout=CALL_TIMEOUT_SECONDS, metadata=self._md())
        )
        return round_view(found)

    @activity.defn(name=CANCEL_ACTIVITY)
    async def cancel(self, input: RoundRef) -> RoundView:
        request = rounds_pb2.CancelRoundRequest(round_id=input.round_id)
        found = await self._call(
            lambda stub: stub.CancelRound(
                request, timeout=CALL_TIMEOUT_SECONDS, metadata=self._md()
            )
        )
        return round_view(found)

    @activity.defn(name=START_ROUNDS_ACTIVITY)
    async def start_rounds(self, input: StartRoundsInput) -> StartRoundsResult:
        request = rounds_pb2.StartRoundsRequest(
            cycle_id=input.cycle_id,
            template_id=input.template_id,
            department_id=input.department_id,
            deadline=input.deadline,
            nominations_due=input.nominations_due,
        )
        try:
            found = await self._call(
                lambda stub: stub.StartRounds(
                    request, timeout=START_ROUNDS_TIMEOUT_SECONDS, metadata=self._md()
                )
            )
        except ApplicationError as err:
            # The cycle's department was switched out of the pilot meanwhile: its people get
            # no rounds, and the cycle goes on (a refusal would fail the cycle workflow).
            if err.details and err.details[0] == NOT_IN_PILOT:
                activity.logger.info("no 360 rounds: the department is out of the pilot")
                return StartRoundsResult()
            raise
        return StartRoundsResult(started=len(found.rounds), already=found.already)
