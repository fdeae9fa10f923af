"""Feedback migration 0004 (talent) on a database that already holds praise and a challenge
with its messages (PostgreSQL and SQLite): the new columns get their defaults in place."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

from services.common import db
from services.common.settings import StrideSettings

MIGRATIONS = Path(db.__file__).parent.parent / "feedback" / "migrations"

OLD_ROWS = [
    "INSERT INTO feedback_items (id, subject_kind, subject_id, about_id, about_department_id, "
    "author_id, author_department_id, visibility, share_with_manager, text, week, created_at) "
    "VALUES ('f1', 'person', 'e1', 'e1', 'd1', 'e2', 'd1', 'private', false, 'Thanks', "
    "'2026-W40', '2026-10-01 00:00:00')",
    "INSERT INTO challenges (id, objective_id, owner_id, challenger_id, challenger_department_id, "
    "status, week, created_at) VALUES ('c1', 'o1', 'e1', 'e2', 'd1', 'answered', '2026-W40', "
    "'2026-10-01 00:00:00')",
    "INSERT INTO challenge_messages (id, challenge_id, seq, author_id, kind, text, created_at) "
    "VALUES ('m1', 'c1', 1, 'e2', 'challenge', 'Too easy?', '2026-10-01 00:00:00')",
]


def _upgrade(conn: Connection, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)


def _rows(conn: Connection, sql: str) -> list[tuple]:
    return [tuple(r) for r in conn.execute(text(sql)).all()]


async def test_existing_praise_and_challenges_get_the_talent_defaults(
    database_url: str | None, data_dir: Path
) -> None:
    settings = StrideSettings(
        database_url=database_url, data_dir=data_dir, schema_prefix=f"m{uuid.uuid4().hex[:6]}_"
    )
    engine = db.create_engine(settings, "feedback")
    try:
        async with engine.connect() as conn:
            if db.is_postgres(engine):
                await conn.execute(text(f'CREATE SCHEMA "{db.schema_name(settings, "feedback")}"'))
            await conn.run_sync(_upgrade, "0003")
            for sql in OLD_ROWS:
                await conn.execute(text(sql))
            await conn.commit()
            await conn.run_sync(_upgrade, "head")
            await conn.commit()
            challenges = await conn.run_sync(_rows, "SELECT id, accepted FROM challenges")
            messages = await conn.run_sync(_rows, "SELECT id FROM challenge_messages")
            tags = await conn.run_sync(_rows, "SELECT id, tags FROM feedback_items")
            suggestions = await conn.run_sync(_rows, "SELECT id FROM talent_suggestions")
    finally:
        await engine.dispose()
    assert challenges == [("c1", False)] and messages == [("m1",)]
    assert [(i, t if isinstance(t, list) else json.loads(t)) for i, t in tags] == [("f1", [])]
    assert suggestions == []
