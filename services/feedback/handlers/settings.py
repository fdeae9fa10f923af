"""The organisation's feedback settings (one row; the defaults until HR changes them)."""

from __future__ import annotations

from services.common.models import rfc3339, utcnow
from services.common.outbox import new_event_meta
from services.feedback.domain.settings import valid_threshold
from services.feedback.handlers.shared import Deps
from services.feedback.models import Settings
from services.feedback.repository import SETTINGS_ID, FeedbackRepository
from stride.feedback.v1 import feedback_pb2 as pb
from workflows.vocabulary import DEFAULT_ANONYMITY_THRESHOLD


def settings_pb(row: Settings | None) -> pb.FeedbackSettings:
    if row is None:
        return pb.FeedbackSettings(anonymity_threshold=DEFAULT_ANONYMITY_THRESHOLD)
    return pb.FeedbackSettings(
        anonymity_threshold=row.anonymity_threshold, updated_at=rfc3339(row.updated_at)
    )


async def threshold(repo: FeedbackRepository) -> int:
    """The anonymity threshold in force (never below the minimum, whatever the row says)."""
    row = await repo.settings()
    return settings_pb(row).anonymity_threshold


async def get(deps: Deps, request: pb.GetSettingsRequest) -> pb.FeedbackSettings:
    async with deps.reading() as repo:
        return settings_pb(await repo.settings())


async def update(deps: Deps, request: pb.UpdateSettingsRequest) -> pb.FeedbackSettings:
    value = valid_threshold(request.anonymity_threshold)
    async with deps.units() as uow:
        row = await uow.repo.settings(lock=True)
        before = settings_pb(row)
        if row is None:
            row = Settings(id=SETTINGS_ID, anonymity_threshold=value, updated_at=utcnow())
            uow.repo.add(row)
        else:
            row.anonymity_threshold = value
            row.updated_at = utcnow()
        after = settings_pb(row)
        await uow.emit(
            pb.FeedbackSettingsChanged(meta=new_event_meta("feedback"), anonymity_threshold=value)
        )
        await uow.audit("settings.update", "feedback_settings", SETTINGS_ID, before, after)
    return after
