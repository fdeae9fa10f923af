"""``stride temporal setup`` (against the session's Temporal dev server) and ``stride temporal
replay``, as real processes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import uuid
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from services.cli.stack import stride_command
from workflows.search_attributes import SEARCH_ATTRIBUTES

NAMES = [k.name for k in SEARCH_ATTRIBUTES]
HISTORIES = Path(__file__).resolve().parents[1] / "replay" / "histories"


async def _stride(*args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """Run ``stride`` with only the given STRIDE_* settings (and 200 columns: one message
    per line)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRIDE_")}
    env |= {"COLUMNS": "200", **settings}
    return await asyncio.to_thread(
        subprocess.run,
        [*stride_command(), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


async def _custom_attributes(target: str, namespace: str) -> dict[str, int]:
    client = await Client.connect(target, namespace=namespace)
    resp = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    return dict(resp.custom_attributes)


async def test_setup_creates_the_namespace_and_registers_the_attributes_once(
    temporal_dev_env: WorkflowEnvironment,
) -> None:
    target = temporal_dev_env.client.service_client.config.target_host
    namespace = f"stride-setup-{uuid.uuid4().hex[:8]}"
    common = ["temporal", "setup", "--address", target, "--namespace", namespace]

    # Without --create-namespace a missing namespace is an error that says what to do.
    missing = await _stride(*common)
    assert missing.returncode == 1, missing.stdout + missing.stderr
    assert "does not exist" in missing.stdout and "--create-namespace" in missing.stdout

    first = await _stride(*common, "--create-namespace", "--retention-days", "7")
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"namespace {namespace}: created" in first.stdout
    assert f"search attributes registered: {', '.join(NAMES)}" in first.stdout
    attributes = await _custom_attributes(target, namespace)
    for name in NAMES:
        assert attributes.get(name) == IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, attributes

    # Idempotent: the second run finds everything in place and changes nothing.
    again = await _stride(*common, "--create-namespace")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"namespace {namespace}: exists" in again.stdout
    assert "registered" not in again.stdout
    assert f"search attributes already there: {', '.join(NAMES)}" in again.stdout
    assert await _custom_attributes(target, namespace) == attributes


async def test_setup_reads_the_address_and_namespace_from_the_settings(
    temporal_dev_env: WorkflowEnvironment,
) -> None:
    # The dev server's default namespace already has the attributes (the fixture registers them).
    target = temporal_dev_env.client.service_client.config.target_host
    proc = await _stride(
        "temporal", "setup", STRIDE_TEMPORAL_ADDRESS=target, STRIDE_TEMPORAL_NAMESPACE="default"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "namespace default: exists" in proc.stdout
    assert f"search attributes already there: {', '.join(NAMES)}" in proc.stdout


async def test_replay_checks_histories_against_the_workflow_code(tmp_path: Path) -> None:
    good = sorted(HISTORIES.glob("*.json"))
    assert good
    ok = await _stride("temporal", "replay", *map(str, good))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.count("ok ") == len(good)

    # A history the current code cannot reproduce (here: the escalation's history claimed by
    # the org sync workflow, whose commands differ) must fail the replay.
    history = json.loads((HISTORIES / "kr_escalation_resolved.json").read_text())
    started = history["events"][0]["workflowExecutionStartedEventAttributes"]
    started["workflowType"]["name"] = "OrgSyncWorkflow"
    broken = tmp_path / "tampered.json"
    broken.write_text(json.dumps(history))
    bad = await _stride("temporal", "replay", str(broken))
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "FAILED" in bad.stdout
