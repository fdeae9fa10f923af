"""The manager's approval of a 360 round's rater list: the bodies of
/feedback-rounds/{round_id}/nominations/approve."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from gateway.schemas.common import Id, RequestModel, ResponseModel
from workflows.vocabulary import MAX_ROUND_RATERS


class ApproveNominationsBody(RequestModel):
    # Checked by the round workflow's rule (a non-empty list, each rater once): refusals have
    # stable codes (no_raters, duplicate_rater), not a generic validation error.
    rater_ids: Annotated[
        list[Id],
        Field(
            max_length=MAX_ROUND_RATERS,
            description="The nominated raters to invite (self and the manager always stay)",
        ),
    ]


class ApprovedRound(ResponseModel):
    """The round's workflow state once the list is approved (the raters are invited next)."""

    round_id: str
    cycle_id: str
    subject_id: str
    manager_id: str
    phase: str = Field(description='"approved" (invitations follow) or later')
    rater_ids: list[str]
    approved_by: str
    close_at: str = Field(description="RFC 3339: when the round closes (end of its deadline)")
