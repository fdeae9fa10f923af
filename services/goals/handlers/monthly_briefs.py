"""The month-end department brief's storage (PutMonthlyBrief, GetMonthlyBrief,
ListMonthlyBriefs): figures and rendered documents the ``report/monthly/<yyyy-mm>`` workflow
stores and the gateway serves. Put replaces (a month run again renders again); no events:
nothing reacts to a stored brief (the workflow mails it itself)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.errors import InvalidArgument, NotFound
from services.common.models import rfc3339, utcnow
from services.goals.brief_models import MonthlyBrief, MonthlyBriefDocument
from services.goals.handlers.shared import Deps
from stride.goals.v1 import goals_pb2 as pb
from workflows.vocabulary import LANGUAGES, MAX_NAME, month_bounds

# A rendered PDF larger than this is refused (a brief is tens of kilobytes).
MAX_PDF_BYTES = 8 * 1024 * 1024
MAX_HTML_CHARS = 4 * 1024 * 1024
MAX_FIGURES_CHARS = 1024 * 1024


def _month(text: str) -> str:
    month = text.strip()
    if month_bounds(month) is None:
        raise InvalidArgument("invalid_month", "month must be yyyy-mm")
    return month


def _department(text: str) -> str:
    department_id = text.strip()
    if not department_id or len(department_id) > 36:
        raise InvalidArgument("invalid_department", "department_id is required (at most 36)")
    return department_id


def _language(text: str) -> str:
    if text not in LANGUAGES:
        raise InvalidArgument("invalid_language", f"language must be one of {list(LANGUAGES)}")
    return text


def _brief_pb(
    row: MonthlyBrief, languages: list[str], documents: Sequence[MonthlyBriefDocument] = ()
) -> pb.MonthlyBrief:
    return pb.MonthlyBrief(
        month=row.month,
        department_id=row.department_id,
        department_name=row.department_name,
        figures_json=row.figures_json,
        languages=sorted(languages),
        documents=[
            pb.MonthlyBriefDocument(language=d.language, html=d.html, pdf=d.pdf) for d in documents
        ],
        updated_at=rfc3339(row.updated_at),
    )


async def put(deps: Deps, request: pb.PutMonthlyBriefRequest) -> pb.MonthlyBrief:
    month, department_id = _month(request.month), _department(request.department_id)
    if len(request.department_name) > MAX_NAME or len(request.figures_json) > MAX_FIGURES_CHARS:
        raise InvalidArgument("invalid_brief", "department name or figures too long")
    for document in request.documents:
        _language(document.language)
        if len(document.pdf) > MAX_PDF_BYTES or len(document.html) > MAX_HTML_CHARS:
            raise InvalidArgument("brief_too_large", "a rendered brief is too large")
    now = utcnow()
    async with deps.units() as uow:
        session = uow.session
        row = await session.get(MonthlyBrief, (month, department_id), with_for_update=True)
        if row is None:
            row = MonthlyBrief(month=month, department_id=department_id)
            session.add(row)
        if request.department_name:
            row.department_name = request.department_name
        if request.figures_json:
            row.figures_json = request.figures_json
        row.updated_at = now
        for document in request.documents:
            stored = await session.get(
                MonthlyBriefDocument, (month, department_id, document.language)
            )
            if stored is None:
                stored = MonthlyBriefDocument(
                    month=month, department_id=department_id, language=document.language
                )
                session.add(stored)
            stored.html, stored.pdf, stored.updated_at = document.html, document.pdf, now
        await session.flush()
        languages = await _languages(session, month, department_id)
        message = _brief_pb(row, languages)
    return message


async def _languages(session: AsyncSession, month: str, department_id: str) -> list[str]:
    stmt = select(MonthlyBriefDocument.language).where(
        MonthlyBriefDocument.month == month, MonthlyBriefDocument.department_id == department_id
    )
    return list((await session.execute(stmt)).scalars().all())


async def get(deps: Deps, request: pb.GetMonthlyBriefRequest) -> pb.MonthlyBrief:
    month, department_id = _month(request.month), _department(request.department_id)
    language = _language(request.language) if request.language else ""
    async with deps.sessions() as session:
        row = await session.get(MonthlyBrief, (month, department_id))
        if row is None:
            raise NotFound("monthly_brief_not_found", "no brief for this month and department")
        languages = await _languages(session, month, department_id)
        documents = []
        if language:
            document = await session.get(MonthlyBriefDocument, (month, department_id, language))
            if document is None:
                raise NotFound(
                    "monthly_brief_not_found", "the brief was not rendered in this language"
                )
            documents.append(document)
        return _brief_pb(row, languages, documents)


async def list_(deps: Deps, request: pb.ListMonthlyBriefsRequest) -> pb.ListMonthlyBriefsResponse:
    month = _month(request.month)
    async with deps.sessions() as session:
        rows = (
            (
                await session.execute(
                    select(MonthlyBrief)
                    .where(MonthlyBrief.month == month)
                    .order_by(MonthlyBrief.department_name, MonthlyBrief.department_id)
                )
            )
            .scalars()
            .all()
        )
        documents = (
            await session.execute(
                select(MonthlyBriefDocument.department_id, MonthlyBriefDocument.language).where(
                    MonthlyBriefDocument.month == month
                )
            )
        ).all()
    by_department: dict[str, list[str]] = {}
    for department_id, language in documents:
        by_department.setdefault(department_id, []).append(language)
    return pb.ListMonthlyBriefsResponse(
        briefs=[_brief_pb(r, by_department.get(r.department_id, [])) for r in rows]
    )
