"""The recognition badges HR maintains (e.g. 数字先锋奖 / Digital pioneer)."""

from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError

from services.common.errors import InvalidArgument
from services.common.models import new_id, utcnow
from services.common.text import checked_text
from services.feedback.handlers.shared import Deps, concurrent
from services.feedback.messages import badge_pb
from services.feedback.models import Badge
from stride.feedback.v1 import feedback_pb2 as pb
from workflows.vocabulary import BADGE_CODE_PATTERN, MAX_FEEDBACK_TEXT, MAX_NAME

_CODE = re.compile(BADGE_CODE_PATTERN, re.ASCII)


async def list_(deps: Deps, request: pb.ListBadgesRequest) -> pb.ListBadgesResponse:
    async with deps.reading() as repo:
        rows = await repo.badges(include_retired=request.include_retired)
    return pb.ListBadgesResponse(badges=[badge_pb(r) for r in rows])


async def put(deps: Deps, request: pb.PutBadgeRequest) -> pb.Badge:
    """Creates the badge with this code, or changes its names, description and whether it
    is still awarded (praise already given keeps it)."""
    if not _CODE.fullmatch(request.code):
        raise InvalidArgument("invalid_badge_code", "a badge code is like digital-pioneer")
    name_zh = checked_text(request.name_zh, "name_zh", MAX_NAME)
    name_en = checked_text(request.name_en, "name_en", MAX_NAME)
    description = checked_text(
        request.description, "description", MAX_FEEDBACK_TEXT, required=False, multiline=True
    )
    try:
        return await _put(deps, request, name_zh, name_en, description)
    except IntegrityError as exc:  # the same new code created twice at once
        raise concurrent("badge") from exc


async def _put(
    deps: Deps, request: pb.PutBadgeRequest, name_zh: str, name_en: str, description: str
) -> pb.Badge:
    async with deps.units() as uow:
        row = await uow.repo.badge_by_code(request.code)
        before = badge_pb(row) if row is not None else None
        if row is None:
            row = Badge(id=new_id(), code=request.code, created_at=utcnow())
            uow.repo.add(row)
        row.name_zh, row.name_en = name_zh, name_en
        row.description, row.active = description, request.active
        await uow.repo.flush()
        after = badge_pb(row)
        await uow.audit("badge.put", "badge", row.id, before, after)
    return after
