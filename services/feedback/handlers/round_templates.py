"""HR's 360 question templates: create, change, read, list, archive."""

from __future__ import annotations

from services.common.errors import NotFound
from services.common.models import new_id, utcnow
from services.common.paging import next_page_token, page_window
from services.feedback.domain.rounds import checked_template
from services.feedback.handlers.round_shared import RoundDeps
from services.feedback.round_messages import question_data, question_specs, template_pb
from services.feedback.round_models import RoundTemplate
from services.feedback.round_repository import RoundRepository
from stride.common.v1 import common_pb2
from stride.feedback.v1 import rounds_pb2 as pb

RESOURCE = "feedback_template"


def _not_found() -> NotFound:
    return NotFound("template_not_found", "question template not found")


async def template_of(
    repo: RoundRepository, template_id: str, *, lock: bool = False
) -> RoundTemplate:
    row = await repo.template(template_id, lock=lock) if template_id else None
    if row is None:
        raise _not_found()
    return row


async def create(deps: RoundDeps, request: pb.CreateTemplateRequest) -> pb.Template:
    name, questions = checked_template(request.name, question_specs(request.questions))
    async with deps.units() as uow:
        now = utcnow()
        row = RoundTemplate(
            id=new_id(),
            name=name,
            questions=[question_data(q) for q in questions],
            archived=False,
            created_at=now,
            updated_at=now,
        )
        uow.repo.add(row)
        after = template_pb(row)
        await uow.audit("template.create", RESOURCE, row.id, None, after)
    return after


async def update(deps: RoundDeps, request: pb.UpdateTemplateRequest) -> pb.Template:
    name, questions = checked_template(request.name, question_specs(request.questions))
    async with deps.units() as uow:
        row = await template_of(uow.repo, request.id, lock=True)
        before = template_pb(row)
        row.name = name
        row.questions = [question_data(q) for q in questions]
        row.updated_at = utcnow()
        after = template_pb(row)
        await uow.audit("template.update", RESOURCE, row.id, before, after)
    return after


async def get(deps: RoundDeps, request: pb.GetTemplateRequest) -> pb.Template:
    async with deps.reading() as repo:
        return template_pb(await template_of(repo, request.id))


async def list_(deps: RoundDeps, request: pb.ListTemplatesRequest) -> pb.ListTemplatesResponse:
    limit, offset = page_window(request.page.page_size, request.page.page_token)
    async with deps.reading() as repo:
        rows = await repo.templates(limit, offset, include_archived=request.include_archived)
        return pb.ListTemplatesResponse(
            templates=[template_pb(r) for r in rows],
            page=common_pb2.PageResponse(next_page_token=next_page_token(offset, limit, len(rows))),
        )


async def delete(deps: RoundDeps, request: pb.DeleteTemplateRequest) -> pb.Template:
    """Archive (idempotent): running rounds keep the questions they copied."""
    async with deps.units() as uow:
        row = await template_of(uow.repo, request.id, lock=True)
        if row.archived:
            return template_pb(row)
        before = template_pb(row)
        row.archived = True
        row.updated_at = utcnow()
        after = template_pb(row)
        await uow.audit("template.archive", RESOURCE, row.id, before, after)
    return after
