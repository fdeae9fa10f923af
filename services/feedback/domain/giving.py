"""What may be given: feedback, praise, requests, challenges (pure checks, no I/O)."""

from __future__ import annotations

import grpc

from services.common.errors import DomainError, InvalidArgument
from services.common.text import checked_text
from workflows.vocabulary import (
    MAX_FEEDBACK_TEXT,
    MAX_PRAISE_TAGS,
    PRAISE_TAGS,
    SUBJECT_KEY_RESULT,
    SUBJECT_OBJECTIVE,
    SUBJECT_PERSON,
    VISIBILITY_PRAISE,
    VISIBILITY_PRIVATE,
)

SUBJECT_KINDS = (SUBJECT_PERSON, SUBJECT_OBJECTIVE, SUBJECT_KEY_RESULT)
FEEDBACK_VISIBILITIES = (VISIBILITY_PRIVATE, VISIBILITY_PRAISE)


def text(value: str, field: str = "text", *, required: bool = True) -> str:
    return checked_text(value, field, MAX_FEEDBACK_TEXT, required=required, multiline=True)


def subject_kind(value: str) -> str:
    """The kind of subject (default: a person)."""
    value = value or SUBJECT_PERSON
    if value not in SUBJECT_KINDS:
        raise InvalidArgument(
            "invalid_subject_kind", f"subject_kind is one of {', '.join(SUBJECT_KINDS)}"
        )
    return value


def visibility(value: str, badge_id: str) -> str:
    """Private feedback has no badge; praise needs one (default: private)."""
    value = value or VISIBILITY_PRIVATE
    if value not in FEEDBACK_VISIBILITIES:
        raise InvalidArgument("invalid_visibility", "visibility is private or praise")
    if value == VISIBILITY_PRAISE and not badge_id:
        raise InvalidArgument("badge_required", "praise carries a recognition badge")
    if value == VISIBILITY_PRIVATE and badge_id:
        raise InvalidArgument("badge_on_private", "a badge is for public praise only")
    return value


def praise_tags(tags: list[str], visibility: str) -> list[str]:
    """The tags of praise (PRAISE_TAGS, each once, in the order given); private feedback
    has none (tags count towards talent tags, which read only public praise)."""
    if not tags:
        return []
    if visibility != VISIBILITY_PRAISE:
        raise InvalidArgument("tags_on_private", "tags are for public praise only")
    unknown = [t for t in tags if t not in PRAISE_TAGS]
    if unknown or len(tags) > MAX_PRAISE_TAGS:
        raise InvalidArgument(
            "invalid_praise_tag", f"a praise tag is one of {', '.join(PRAISE_TAGS)}"
        )
    return list(dict.fromkeys(tags))


def not_about_oneself(author_id: str, about_id: str) -> None:
    if author_id == about_id:
        raise InvalidArgument("feedback_to_self", "feedback is about someone else")


def challenger_not_owner(challenger_id: str, owner_id: str) -> None:
    if challenger_id == owner_id:
        raise InvalidArgument("challenge_own_objective", "one does not challenge one's own goal")


def answerer_is_owner(actor_id: str, owner_id: str) -> None:
    """Only the objective's owner answers or resolves a challenge (the gateway answers 403)."""
    if actor_id != owner_id:
        raise DomainError(
            "not_objective_owner",
            "only the objective's owner answers or resolves a challenge",
            status=grpc.StatusCode.PERMISSION_DENIED,
        )
