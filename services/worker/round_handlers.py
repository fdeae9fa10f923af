"""What the event bridge does with the feedback service's round events (see
:mod:`services.worker.handlers` for the contract: an Outcome acks, InvalidEvent terminates,
anything else is retried).

``stride.feedback.v1.round.started`` → start ``feedback-round/<cycle>/<subject>`` (id reuse
rejected: one round per cycle and person, so a workflow that exists already, running or
finished, counts as done and a redelivered event starts nothing).
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from services.worker.handlers import InvalidEvent, Outcome
from stride.feedback.v1 import rounds_pb2
from workflows import ids
from workflows.feedback_round import FeedbackRoundWorkflow
from workflows.round_rules import RoundInput
from workflows.vocabulary import parse_day


async def handle_round_started(
    client: Client, event: rounds_pb2.RoundStarted, *, task_queue: str
) -> Outcome:
    """Start the round's workflow (the organisation's time zone is read by the workflow)."""
    for name, value in (
        ("round_id", event.round_id),
        ("cycle_id", event.cycle_id),
        ("subject_id", event.subject_id),
    ):
        if not value:
            raise InvalidEvent(f"RoundStarted without {name}")
    for name, value in (("nominations_due", event.nominations_due), ("deadline", event.deadline)):
        if parse_day(value) is None:
            raise InvalidEvent(f"RoundStarted {name} is not an ISO date: {value!r}")
    try:
        await client.start_workflow(
            FeedbackRoundWorkflow.run,
            RoundInput(
                round_id=event.round_id,
                cycle_id=event.cycle_id,
                subject_id=event.subject_id,
                manager_id=event.manager_id,
                nominations_due=event.nominations_due,
                deadline=event.deadline,
            ),
            id=ids.feedback_round(event.cycle_id, event.subject_id),
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            memo={"title": f"360 feedback round {event.round_id}"},
        )
    except WorkflowAlreadyStartedError:
        return Outcome.ROUND_EXISTS
    return Outcome.ROUND_STARTED
