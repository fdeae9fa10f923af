"""Identity migration 0008 (login keys) on a database that already holds people whose logins
or e-mails differ only in case (PostgreSQL and SQLite)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from services.common import db
from services.common.settings import StrideSettings
from services.identity.repository import IdentityRepository

MIGRATIONS = Path(db.__file__).parent.parent / "identity" / "migrations"

OLD_ROWS = [
    "INSERT INTO departments (id, name, created_at, stride_enabled) "
    "VALUES ('d1', 'Plant', '2025-01-01 00:00:00', TRUE)",
    # (id, number, email, status, created): 'admin' came after 'ADMIN'; e2 and e3 share an
    # address with e1 (e3 has left, which is allowed).
    *(
        "INSERT INTO employees (id, employee_number, name, email, department_id, status, "
        f"created_at, roles) VALUES ('{i}', '{n}', 'P', {e}, 'd1', '{s}', '{t}', '')"
        for i, n, e, s, t in (
            ("e1", "ADMIN", "'Admin@Example.com'", "active", "2025-01-01 00:00:01"),
            ("e2", "admin", "'admin@example.com'", "active", "2025-01-01 00:00:02"),
            ("e3", "W-3", "'ADMIN@example.com'", "left", "2025-01-01 00:00:03"),
            ("e4", "W-4", "NULL", "active", "2025-01-01 00:00:04"),
        )
    ),
]


def _upgrade(conn: Connection, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)


async def test_existing_case_duplicates_keep_working_and_new_ones_are_refused(
    database_url: str | None, data_dir: Path
) -> None:
    settings = StrideSettings(
        database_url=database_url, data_dir=data_dir, schema_prefix=f"m{uuid.uuid4().hex[:6]}_"
    )
    engine = db.create_engine(settings, "identity")
    try:
        async with engine.connect() as conn:
            if db.is_postgres(engine):
                await conn.execute(text(f'CREATE SCHEMA "{db.schema_name(settings, "identity")}"'))
            await conn.run_sync(_upgrade, "0007")
            for sql in OLD_ROWS:
                await conn.execute(text(sql))
            await conn.commit()
            await conn.run_sync(_upgrade, "head")
            await conn.commit()
            keys = (
                await conn.execute(
                    text("SELECT id, employee_number_key, email_key FROM employees ORDER BY id")
                )
            ).all()
            assert [tuple(k) for k in keys] == [
                ("e1", "admin", "admin@example.com"),  # the oldest keeps login and e-mail
                # Both collide with e1's: logged; e2 signs in again once HR changes the e-mail.
                ("e2", "admin#e2", None),
                ("e3", "w-3", "admin@example.com"),  # left: does not count
                ("e4", "w-4", None),
            ]
            with pytest.raises(IntegrityError):
                await conn.execute(
                    text(
                        "INSERT INTO employees (id, employee_number, name, department_id, "
                        "status, created_at, roles, employee_number_key) VALUES ('e5', "
                        "'Admin', 'P', 'd1', 'active', '2025-01-02 00:00:00', '', 'admin')"
                    )
                )
            await conn.rollback()
        sessions = db.session_factory(engine)
        async with sessions() as session:
            repo = IdentityRepository(session)
            for login in ("admin", "Admin", "ADMIN@EXAMPLE.COM"):
                found = await repo.active_by_login(login)
                assert found is not None and found.id == "e1", login
    finally:
        await engine.dispose()
