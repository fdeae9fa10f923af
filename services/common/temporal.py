"""Connecting to Temporal with the settings' address, namespace, TLS and API key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from temporalio.client import Client, Interceptor
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from services.common.settings import StrideSettings


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
    interceptors: Sequence[Interceptor] = (),
    runtime: Runtime | None = None,
    **overrides: Any,
) -> Client:
    options = {**connect_options(settings), **overrides}
    return await Client.connect(
        settings.temporal_address,
        identity=identity,
        interceptors=interceptors,
        runtime=runtime,
        **options,
    )
