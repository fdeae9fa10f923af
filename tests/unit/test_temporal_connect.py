"""services/common/temporal.py: the settings every Temporal client is made from."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from services.common.settings import StrideSettings
from services.common.temporal import connect, connect_options


def test_dev_server_is_plain_grpc() -> None:
    options = connect_options(StrideSettings(temporal_namespace="stride"))
    assert options == {"namespace": "stride", "tls": False}


def test_api_key_implies_tls() -> None:
    options = connect_options(StrideSettings(temporal_api_key="secret"))  # type: ignore[arg-type]
    assert options["api_key"] == "secret" and options["tls"] is True


def test_certificates_make_a_tls_config(tmp_path: Path) -> None:
    for name in ("ca", "cert", "key"):
        (tmp_path / name).write_bytes(name.encode())
    settings = StrideSettings(
        temporal_tls_ca=tmp_path / "ca",
        temporal_tls_cert=tmp_path / "cert",
        temporal_tls_key=tmp_path / "key",
        temporal_tls_server_name="temporal.internal",
    )
    tls = connect_options(settings)["tls"]
    assert isinstance(tls, TLSConfig)
    assert (tls.server_root_ca_cert, tls.client_cert, tls.client_private_key) == (
        b"ca",
        b"cert",
        b"key",
    )
    assert tls.domain == "temporal.internal"
    with pytest.raises(ValueError, match="go together"):
        connect_options(StrideSettings(temporal_tls_cert=tmp_path / "cert"))


async def test_connect_retries_for_wait_seconds_then_raises() -> None:
    import time

    began = time.monotonic()
    with pytest.raises(RuntimeError):
        await connect(StrideSettings(temporal_address="127.0.0.1:1"), identity="test", wait=0.6)
    assert time.monotonic() - began >= 0.6
