"""What `stride up` hands its worker: the integrations queue in the same process, and the web
app's address for the links in e-mails."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.cli.stack import StackConfig


def test_the_worker_runs_the_integrations_and_links_mail_to_this_stacks_web_app(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("STRIDE_WEB_URL", raising=False)
    config = StackConfig.on_free_ports(Path("/tmp/unused"))
    env = config.worker_spec().env
    assert env["STRIDE_INTEGRATIONS_IN_WORKER"] == "true"
    assert env["STRIDE_WEB_URL"] == config.gateway_url
    monkeypatch.setenv("STRIDE_WEB_URL", "https://stride.example.com")
    assert config.worker_spec().env["STRIDE_WEB_URL"] == "https://stride.example.com"
