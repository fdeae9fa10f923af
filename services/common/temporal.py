"""The one way a Stride process connects to Temporal: :func:`connect`.

Address, namespace, TLS (CA, client certificate, server name) and API key come from the
settings, the same for the gateway, the worker and every ``stride`` command; the tracing
interceptor carries the caller's trace into the workflows it starts, signals or updates.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import structlog
from temporalio.client import Client, Interceptor
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from services.common.settings import StrideSettings
from services.common.telemetry import temporal_interceptors

log = structlog.get_logger(__name__)


def tls_config(settings: StrideSettings) -> TLSConfig | bool:
    """False (plain gRPC, the dev server), True (TLS with the system roots) or a TLSConfig."""
    files = (settings.temporal_tls_ca, settings.temporal_tls_cert, settings.temporal_tls_key)
    if not any(files) and not settings.temporal_tls_server_name:
        return settings.temporal_tls
    if bool(settings.temporal_tls_cert) != bool(settings.temporal_tls_key):
        raise ValueError("STRIDE_TEMPORAL_TLS_CERT and STRIDE_TEMPORAL_TLS_KEY go together")
    return TLSConfig(
        server_root_ca_cert=settings.temporal_tls_ca.read_bytes()
        if settings.temporal_tls_ca
        else None,
        client_cert=settings.temporal_tls_cert.read_bytes() if settings.temporal_tls_cert else None,
        client_private_key=settings.temporal_tls_key.read_bytes()
        if settings.temporal_tls_key
        else None,
        domain=settings.temporal_tls_server_name or None,
    )


def connect_options(settings: StrideSettings) -> dict[str, Any]:
    """Keyword arguments of ``Client.connect`` besides the address, from the settings."""
    options: dict[str, Any] = {
        "namespace": settings.temporal_namespace,
        "tls": tls_config(settings),
    }
    if settings.temporal_api_key is not None:
        options["api_key"] = settings.temporal_api_key.get_secret_value()
        options["tls"] = options["tls"] or True
    return options


async def connect(
    settings: StrideSettings,
    *,
    identity: str,
    wait: float = 0.0,
    interceptors: Sequence[Interceptor] | None = None,
    runtime: Runtime | None = None,
    **overrides: Any,
) -> Client:
    """A client of ``settings``' Temporal. ``wait``: keep retrying a failed connection for that
    many seconds (the worker, started beside Temporal by ``stride up``), then raise the last
    error. ``interceptors``: None is the tracing interceptor. ``overrides``: more keyword
    arguments of ``Client.connect`` (e.g. ``connect_timeout``)."""
    options = {**connect_options(settings), **overrides}
    deadline = time.monotonic() + wait
    while True:
        try:
            return await Client.connect(
                settings.temporal_address,
                identity=identity,
                interceptors=temporal_interceptors() if interceptors is None else interceptors,
                runtime=runtime,
                **options,
            )
        except Exception as err:
            if time.monotonic() >= deadline:
                raise
            log.info("waiting for Temporal", address=settings.temporal_address, error=str(err))
            await asyncio.sleep(0.5)
