"""Feedback service process: ``stride serve feedback``."""

from __future__ import annotations

from pathlib import Path

from services.common.runtime import ServiceRuntime
from services.common.settings import ServiceSettings
from services.feedback import servicers
from services.feedback.models import OUTBOX


def runtime(settings: ServiceSettings) -> ServiceRuntime:
    return ServiceRuntime(
        "feedback",
        settings,
        migrations=Path(__file__).parent / "migrations",
        outbox=OUTBOX,
        service_names=servicers.SERVICE_NAMES,
        setup=servicers.setup,
    )


async def serve(settings: ServiceSettings) -> None:
    await runtime(settings).serve()
