"""JSON logs keep tracebacks but never the frames' local variables (a plugin's token, a
password, a request body would otherwise be written out on every failure)."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from services.common.logging import configure_logging


def test_a_json_traceback_carries_no_local_variables(capsys: pytest.CaptureFixture[str]) -> None:
    old = structlog.get_config()
    configure_logging("test", "INFO", "json")
    try:

        def pull(token: str) -> None:
            raise RuntimeError("MES answered 500")

        try:
            pull(token="s3cr3t-plugin-token")
        except RuntimeError:
            structlog.get_logger("test").exception("pull failed")
        line = capsys.readouterr().err.strip().splitlines()[-1]
    finally:
        logging.getLogger().handlers.clear()
        structlog.configure(**old)
    entry = json.loads(line)
    assert entry["event"] == "pull failed"
    (error,) = entry["exception"]
    assert error["exc_type"] == "RuntimeError" and error["exc_value"] == "MES answered 500"
    assert [f["name"] for f in error["frames"]][-1] == "pull"  # the traceback is kept
    assert "s3cr3t-plugin-token" not in line
