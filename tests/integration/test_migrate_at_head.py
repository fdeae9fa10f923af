"""A service whose database is at head starts without importing Alembic (PostgreSQL and
SQLite): the first migration imports it and applies every script, the next start only reads
the recorded revision."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import text

from services.cli.migrate import migrations_dir
from services.common import db
from services.common.settings import StrideSettings

MIGRATE_GOALS = """
import asyncio, sys
from services.cli.migrate import migrate
from services.common.settings import StrideSettings
asyncio.run(migrate(StrideSettings(), ["goals"]))
print("alembic imported" if "alembic" in sys.modules else "alembic not imported")
"""


def _migrate_in_a_new_process(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", MIGRATE_GOALS],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


async def test_a_start_at_head_does_not_import_alembic(
    database_url: str | None, data_dir: Path
) -> None:
    prefix = f"h{uuid.uuid4().hex[:6]}_"
    env = {"STRIDE_DATA_DIR": str(data_dir), "STRIDE_SCHEMA_PREFIX": prefix}
    if database_url:
        env["STRIDE_DATABASE_URL"] = database_url
    settings = StrideSettings(database_url=database_url, data_dir=data_dir, schema_prefix=prefix)
    engine = db.create_engine(settings, "goals")
    try:
        assert await db.applied_revisions(engine) == frozenset()

        assert _migrate_in_a_new_process(env) == "alembic imported"
        heads = db.script_heads(migrations_dir("goals"))
        assert heads and await db.applied_revisions(engine) == heads
        async with engine.connect() as conn:
            count = await conn.execute(text("SELECT count(*) FROM key_results"))
            assert count.scalar_one() == 0  # the tables are there

        assert _migrate_in_a_new_process(env) == "alembic not imported"
        assert await db.applied_revisions(engine) == heads
    finally:
        await engine.dispose()
