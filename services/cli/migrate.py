"""``stride migrate``: create each service's schema and apply its migrations, then exit.

The services also migrate when they start (serialised by a PostgreSQL advisory lock); this
command lets a deployment do it once, before the rollout (k8s/base/migrate-job.yaml).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path

from services.common import db
from services.common.settings import SERVICE_PORTS, StrideSettings


def migrations_dir(service: str) -> Path:
    package = importlib.import_module(f"services.{service}")
    assert package.__file__ is not None
    return Path(package.__file__).parent / "migrations"


async def migrate(settings: StrideSettings, services: Sequence[str] = ()) -> list[str]:
    """Migrate ``services`` (default: every service with tables); their schemas in order."""
    done = []
    for service in services or sorted(SERVICE_PORTS):
        engine = db.create_engine(settings, service)
        try:
            schema = db.schema_name(settings, service)
            await db.migrate(engine, schema, migrations_dir(service))
        finally:
            await engine.dispose()
        done.append(schema)
    return done
