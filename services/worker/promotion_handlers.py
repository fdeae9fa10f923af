"""What the event bridge does with the feedback service's promotion events (see
:mod:`services.worker.handlers` for the contract: an Outcome acks, InvalidEvent terminates,
anything else is retried).

``stride.feedback.v1.promotion.applied`` → start ``promotion/<case>`` (id reuse rejected: one
review per case, so a workflow that exists already, running or finished, counts as done and a
redelivered event starts nothing).
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from services.worker.handlers import InvalidEvent, Outcome
from stride.feedback.v1 import promotions_pb2
from workflows import ids
from workflows.promotion import PromotionWorkflow
from workflows.promotion_rules import PromotionInput


async def handle_promotion_applied(
    client: Client, event: promotions_pb2.PromotionApplied, *, task_queue: str
) -> Outcome:
    """Start the case's review (quorum, panel days and publicity period: the defaults)."""
    for name, value in (
        ("case_id", event.case_id),
        ("candidate_id", event.candidate_id),
        ("applicant_id", event.applicant_id),
        ("target_grade", event.target_grade),
    ):
        if not value:
            raise InvalidEvent(f"PromotionApplied without {name}")
    try:
        await client.start_workflow(
            PromotionWorkflow.run,
            PromotionInput(
                case_id=event.case_id,
                candidate_id=event.candidate_id,
                applicant_id=event.applicant_id,
                current_grade=event.current_grade,
                target_grade=event.target_grade,
            ),
            id=ids.promotion(event.case_id),
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            memo={"title": f"promotion review {event.case_id}"},
        )
    except WorkflowAlreadyStartedError:
        return Outcome.PROMOTION_EXISTS
    return Outcome.PROMOTION_STARTED
