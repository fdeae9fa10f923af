"""Identity service process: ``stride serve identity``."""

from __future__ import annotations

from pathlib import Path

from services.common.runtime import ServiceRuntime
from services.common.settings import ServiceSettings
from services.identity import servicers
from services.identity.models import OUTBOX


def runtime(settings: ServiceSettings) -> ServiceRuntime:
    return ServiceRuntime(
        "identity",
        settings,
        migrations=Path(__file__).parent / "migrations",
        outbox=OUTBOX,
        service_names=servicers.SERVICE_NAMES,
        setup=servicers.setup,
    )


async def serve(settings: ServiceSettings) -> None:
    await runtime(settings).serve()
