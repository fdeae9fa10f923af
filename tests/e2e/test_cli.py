"""``stride`` commands other than ``up``, run as the real console script."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import asyncpg

from services.cli.stack import stride_command


def _stride(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*stride_command(), *args], env=env, capture_output=True, text=True, timeout=120
    )


async def test_migrate_is_idempotent(tmp_path: Path, database_url: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRIDE_")}
    prefix = f"cli{uuid.uuid4().hex[:8]}_"
    env.update(STRIDE_DATA_DIR=str(tmp_path), STRIDE_SCHEMA_PREFIX=prefix)
    if database_url:
        env["STRIDE_DATABASE_URL"] = database_url
    for _ in range(2):
        done = _stride("migrate", env=env)
        assert done.returncode == 0, done.stderr
        schemas = f"{prefix}feedback, {prefix}goals, {prefix}identity, {prefix}telemetry"
        assert f"migrated: {schemas}" in " ".join(done.stdout.split())  # however rich wraps
    if database_url:
        conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            tables = await conn.fetch(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema LIKE $1",
                f"{prefix}%",
            )
        finally:
            await conn.close()
        found = {(r["table_schema"].removeprefix(prefix), r["table_name"]) for r in tables}
    else:
        import sqlite3

        found = set()
        for service in ("identity", "goals", "feedback", "telemetry"):
            with sqlite3.connect(tmp_path / f"{prefix}{service}.db") as db:
                names = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                found |= {(service, name) for (name,) in names}
    assert ("identity", "employees") in found
    assert ("goals", "check_ins") in found
    assert ("goals", "alembic_version") in found
    assert ("feedback", "feedback_items") in found
    assert ("telemetry", "samples") in found


def test_unknown_process_is_refused() -> None:
    done = _stride("serve", "billing", env=dict(os.environ))
    assert done.returncode == 2
    assert "billing" in done.stderr
