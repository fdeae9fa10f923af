"""Run one Stride process (``stride serve <name>``) under asyncio with signal handling.

SIGTERM, SIGINT or SIGHUP cancels the process' ``serve()`` coroutine, which is its graceful
shutdown; a second signal exits at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import os
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from pydantic_settings import BaseSettings

from services.common.logging import configure_logging
from services.common.settings import (
    GatewaySettings,
    ServiceSettings,
    StrideSettings,
    TelemetrySettings,
    WorkerSettings,
)
from services.common.tasks import run
from services.common.telemetry import configure_metrics, configure_tracing
from services.integrations.settings import IntegrationSettings

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


# name → (module with `serve`, settings class)
PROCESSES: dict[str, tuple[str, type[StrideSettings]]] = {
    "identity": ("services.identity.server", ServiceSettings),
    "goals": ("services.goals.server", ServiceSettings),
    "feedback": ("services.feedback.server", ServiceSettings),
    "telemetry": ("services.telemetry.server", TelemetrySettings),
    "worker": ("services.worker.server", WorkerSettings),
    "integrations": ("services.integrations.worker", IntegrationSettings),
    "gateway": ("gateway.server", GatewaySettings),
}


async def run_until_signal(
    main: Callable[[], Coroutine[Any, Any, None]],
    *,
    on_second_signal: Callable[[], None] | None = None,
) -> bool:
    """Run ``main()``; the first stop signal cancels it. True when stopped by a signal."""
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(main())
    signals: list[int] = []

    def handle(sig: signal.Signals) -> None:
        signals.append(sig)
        if len(signals) == 1:
            task.cancel()
        elif on_second_signal is not None:
            on_second_signal()

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, handle, sig)
    try:
        await task
    except asyncio.CancelledError:
        if not signals:
            raise
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
    return bool(signals)


def settle_heap(young_threshold: int) -> None:
    """For a request path (``young_threshold`` > 0; 0 changes nothing): leave what importing
    the process' code built (modules, classes, schemas: most of its heap, alive until exit)
    out of every later collection — a full collection walked all of it, 75–130 ms with every
    request of the process waiting — and collect the young generation every
    ``young_threshold`` allocations. A request allocates a few thousand tracked objects,
    nearly all freed by reference counting before it ends, so at CPython's 700 a young
    collection ran about once a request to find almost nothing."""
    if not young_threshold:
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(young_threshold, *gc.get_threshold()[1:])


def _force_exit() -> None:
    os._exit(130)


def serve_process(name: str, port: int | None = None) -> None:
    """Build the settings of process ``name`` from the environment and serve until stopped."""
    module_name, settings_cls = PROCESSES[name]
    overrides: dict[str, Any] = {}
    if port is not None:
        field = "http_port" if settings_cls is GatewaySettings else "grpc_port"
        if field not in settings_cls.model_fields:
            raise ValueError(f"{name} does not listen on a port")
        overrides[field] = port
    settings = settings_cls(**overrides)
    configure_logging(name, settings.log_level, settings.log_format)
    provider = configure_tracing(name, settings.otel_exporter)
    meters = configure_metrics(name, settings.otel_exporter)
    serve: Callable[[BaseSettings], Awaitable[None]] = importlib.import_module(module_name).serve
    settle_heap(settings.gc_young_threshold)

    async def main() -> None:
        await serve(settings)

    try:
        run(run_until_signal(main, on_second_signal=_force_exit), settings.event_loop)
    finally:
        with contextlib.suppress(Exception):
            provider.shutdown()
        with contextlib.suppress(Exception):
            meters.shutdown()
