"""Gateway process: ``async def serve(settings)`` runs uvicorn until cancelled."""

from __future__ import annotations

import asyncio
import contextlib

import structlog
import uvicorn
from fastapi import FastAPI

from gateway.app import create_app
from services.common.http_server import EmbeddedServer
from services.common.settings import GatewaySettings

log = structlog.get_logger(__name__)

# Seconds in-flight requests get to finish once shutdown starts.
GRACEFUL_SHUTDOWN = 10


def uvicorn_config(app: FastAPI, host: str, port: int) -> uvicorn.Config:
    """The gateway's uvicorn settings (one worker; also used by bench/ for its ceilings)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="on",
        log_config=None,  # keep the process' logging (services.common.logging)
        access_log=True,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
        # uvicorn does not choose the event loop here: the process runs on the one of
        # GatewaySettings.event_loop (uvloop), made by services.common.tasks.run.
    )


def build_server(settings: GatewaySettings) -> EmbeddedServer:
    return EmbeddedServer(
        uvicorn_config(create_app(settings), settings.http_host, settings.http_port)
    )


async def serve(settings: GatewaySettings) -> None:
    """Serve HTTP until cancelled. Cancellation stops accepting connections, lets in-flight
    requests finish (up to ``GRACEFUL_SHUTDOWN`` s), then closes the app's dependencies."""
    server = build_server(settings)
    task = asyncio.create_task(server.serve(), name="gateway-uvicorn")
    try:
        await asyncio.shield(task)
    finally:
        if not task.done():
            server.should_exit = True
            # Shielded so a second cancellation cannot cut the graceful shutdown short.
            with contextlib.suppress(Exception):
                await asyncio.shield(task)
    if not server.started:  # pragma: no cover - startup failures raise above
        raise RuntimeError("gateway stopped before it started")
    log.info("gateway stopped")
