"""The ceiling of the check-in benchmark: a bare FastAPI app, one endpoint, one INSERT.

``POST /key-results/{key_result_id}/check-ins`` validates the same JSON body as the gateway
(pydantic), inserts one row through an asyncpg pool and answers 201 with the row — no
authentication, no gRPC hop, no risk rule, no outbox, no audit. It is served by uvicorn
with the gateway's own settings (:func:`gateway.server.uvicorn_config`, one worker) and the
same logging, so the two differ only in what happens inside the request.

Run as a process: ``python -m bench.bare_app`` with ``BENCH_BARE_DSN`` (asyncpg DSN),
``BENCH_BARE_PORT``, ``BENCH_BARE_POOL`` (connections; default the services' pool size)
and ``STRIDE_LOG_LEVEL``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated

import asyncpg
from fastapi import FastAPI, Path
from pydantic import BaseModel, Field

from gateway.server import uvicorn_config
from services.cli.process import run_until_signal
from services.common.http_server import EmbeddedServer
from services.common.logging import configure_logging
from services.common.settings import GatewaySettings, StrideSettings
from services.common.tasks import run

# The services' SQLAlchemy pool size (StrideSettings.db_pool_size).
DEFAULT_POOL = StrideSettings.model_fields["db_pool_size"].default

SCHEMA = """
CREATE TABLE IF NOT EXISTS bench_bare_check_ins (
    id text PRIMARY KEY,
    key_result_id text NOT NULL,
    week text NOT NULL,
    value double precision NOT NULL,
    confidence integer NOT NULL,
    note text NOT NULL,
    recorded_at timestamptz NOT NULL
)
"""
INSERT = (
    "INSERT INTO bench_bare_check_ins"
    " (id, key_result_id, week, value, confidence, note, recorded_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7)"
)


class CheckInBody(BaseModel):
    value: float
    confidence: int = Field(5, ge=0, le=10)
    note: str = Field("", max_length=4000)
    week: str | None = Field(None, max_length=10)


class CheckInRow(BaseModel):
    id: str
    key_result_id: str
    week: str
    value: float
    confidence: int
    note: str
    recorded_at: datetime


def create_app(dsn: str, pool_size: int = DEFAULT_POOL) -> FastAPI:
    state: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
        async with pool.acquire() as conn:
            await conn.execute(SCHEMA)
        state["pool"] = pool
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/key-results/{key_result_id}/check-ins", status_code=201)
    async def record(
        key_result_id: Annotated[str, Path(min_length=1, max_length=128)], body: CheckInBody
    ) -> CheckInRow:
        row = CheckInRow(
            id=uuid.uuid4().hex,
            key_result_id=key_result_id,
            week=body.week or "",
            value=body.value,
            confidence=body.confidence,
            note=body.note,
            recorded_at=datetime.now(UTC),
        )
        await state["pool"].execute(INSERT, *row.model_dump().values())
        return row

    @app.get("/count")
    async def count() -> dict[str, int]:
        return {
            "check_ins": await state["pool"].fetchval("SELECT count(*) FROM bench_bare_check_ins")
        }

    return app


async def serve(dsn: str, port: int, pool_size: int) -> None:
    server = EmbeddedServer(uvicorn_config(create_app(dsn, pool_size), "127.0.0.1", port))
    task = asyncio.create_task(server.serve())
    try:
        await asyncio.shield(task)
    finally:
        server.should_exit = True
        await task


def main() -> None:
    configure_logging("bench-bare", os.environ.get("STRIDE_LOG_LEVEL", "INFO"))
    dsn = os.environ["BENCH_BARE_DSN"]
    port = int(os.environ["BENCH_BARE_PORT"])
    pool_size = int(os.environ.get("BENCH_BARE_POOL", DEFAULT_POOL))
    # The gateway's event loop, so that the ceiling runs on the same footing.
    event_loop = GatewaySettings.model_fields["event_loop"].default
    run(run_until_signal(lambda: serve(dsn, port, pool_size)), event_loop)


if __name__ == "__main__":
    main()
