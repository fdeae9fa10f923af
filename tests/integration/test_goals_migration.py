"""Migrations on a goals database that already holds older rows (PostgreSQL and SQLite): 0002's
defaults, and 0013 filling the dashboard read model's weighted sums from the key results."""

from __future__ import annotations

import uuid
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

from services.common import db
from services.common.settings import StrideSettings

MIGRATIONS = Path(db.__file__).parent.parent / "goals" / "migrations"

OLD_ROWS = [
    "INSERT INTO cycles VALUES ('c1', '2025 Q4', '2025-10-01', '2025-12-31', 'Asia/Shanghai', "
    "'open', '2025-09-20 00:00:00')",
    "INSERT INTO cycles VALUES ('c0', '2025 Q3', '2025-07-01', '2025-09-30', 'Asia/Shanghai', "
    "'closed', '2025-06-20 00:00:00')",
    "INSERT INTO objectives VALUES ('o1', 'c1', 'Ship right', '', 'e1', 'd1', "
    "'2025-09-21 00:00:00')",
    "INSERT INTO objectives VALUES ('o0', 'c0', 'Old', '', 'e1', 'd1', '2025-06-21 00:00:00')",
    "INSERT INTO key_results VALUES ('k1', 'o1', 'c1', 'Pass rate', 'e1', 'd1', 0, 100, '%', 60, "
    "'on_track', 0.6, 0.5, 50, 0, 0, '2025-09-21 00:00:01')",
    "INSERT INTO key_results VALUES ('k2', 'o1', 'c1', 'Downtime', 'e1', 'd1', 10, 4, 'h', 10, "
    "'no_data', 0, 0, 0, 0, 0, '2025-09-21 00:00:02')",
    "INSERT INTO key_results VALUES ('k3', 'o1', 'c1', 'Scrap', 'e1', 'd1', 0, 10, '', 0, "
    "'no_data', 0, 0, 0, 0, 0, '2025-09-21 00:00:03')",
    "INSERT INTO check_ins VALUES ('ci1', 'k1', '2025-W45', 40, 6, '', 1, 'behind', 0.4, 0.5, "
    "50, 0.2, 1, '2025-11-09 00:00:00')",
    "INSERT INTO check_ins VALUES ('ci2', 'k1', '2025-W46', 60, 8, 'ok', 2, 'on_track', 0.6, "
    "0.55, 55, 0, 0, '2025-11-16 00:00:00')",
]


def _upgrade(conn: Connection, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)


def _scalar_rows(conn: Connection, sql: str) -> list[tuple]:
    return [tuple(r) for r in conn.execute(text(sql)).all()]


async def test_existing_rows_migrate_with_defaults(database_url: str | None, data_dir: Path):
    settings = StrideSettings(
        database_url=database_url, data_dir=data_dir, schema_prefix=f"m{uuid.uuid4().hex[:6]}_"
    )
    engine = db.create_engine(settings, "goals")
    try:
        async with engine.connect() as conn:
            if db.is_postgres(engine):
                await conn.execute(text(f'CREATE SCHEMA "{db.schema_name(settings, "goals")}"'))
            await conn.run_sync(_upgrade, "0001")
            for sql in OLD_ROWS:
                await conn.execute(text(sql))
            await conn.commit()
            await conn.run_sync(_upgrade, "0012")
            for department in ("d1", "d2"):  # d2: a row without key results
                await conn.execute(
                    text(
                        "INSERT INTO dashboard_departments (cycle_id, department_id, "
                        "key_results, score_sum, completed, score_bands, behind, at_risk, "
                        "stale, objectives, alignable_objectives, aligned_objectives) VALUES "
                        f"('c1', '{department}', 0, 0, 0, '[]', 0, 0, 0, 0, 0, 0)"
                    )
                )
            await conn.commit()
            await conn.run_sync(_upgrade, "head")
            await conn.commit()
            weighted = await conn.run_sync(
                _scalar_rows,
                "SELECT department_id, weighted_score_sum, weight_sum FROM dashboard_departments "
                "ORDER BY department_id",
            )
            cycles = await conn.run_sync(
                _scalar_rows,
                "SELECT id, phase, planning_deadline, approval_deadline, closing_deadline "
                "FROM cycles ORDER BY id",
            )
            objectives = await conn.run_sync(
                _scalar_rows,
                "SELECT id, status, level, visibility, start_date, end_date FROM objectives "
                "ORDER BY id",
            )
            krs = await conn.run_sync(
                _scalar_rows,
                "SELECT id, direction, weight, confidence, score, last_check_in_week, kind "
                "FROM key_results ORDER BY id",
            )
            history = await conn.run_sync(
                _scalar_rows,
                "SELECT check_in_id, revision, value FROM check_in_versions ORDER BY check_in_id",
            )
    finally:
        await engine.dispose()

    def iso(rows):
        return [tuple(str(v) if hasattr(v, "isoformat") else v for v in row) for row in rows]

    assert iso(cycles) == [
        ("c0", "archived", "2025-07-08", "2025-07-15", "2025-10-07"),
        ("c1", "execution", "2025-10-08", "2025-10-15", "2026-01-07"),
    ]
    assert iso(objectives) == [
        ("o0", "closed", "individual", "restricted", "2025-07-01", "2025-09-30"),
        ("o1", "draft", "individual", "restricted", "2025-10-01", "2025-12-31"),
    ]
    # 100 split equally (the remainder to the first); confidence of the latest check-in.
    assert krs == [
        ("k1", "increase", 34, 8, 0.6, "2025-W46", "number"),
        ("k2", "decrease", 33, 5, 0.0, "", "number"),
        ("k3", "increase", 33, 5, 0.0, "", "number"),
    ]
    assert history == [("ci1", 1, 40), ("ci2", 2, 60)]
    # The open cycle's key results all count: 34 x 0.6 over weights 34 + 33 + 33.
    assert [(d, round(w, 9), n) for d, w, n in weighted] == [("d1", 20.4, 100), ("d2", 0.0, 0)]
