"""The factory simulator feeds a key result through the whole stack as `stride up` runs it:
`stride simulate factory` → NATS JetStream (`telemetry.ingest.line-a.<metric>`) → the
telemetry process → goals → the key result read through the gateway.

The key result is "line A yield": ratio(units_good / units_produced) × 100 over the cycle so
far. The expected value is computed here from what the simulator really published (read back
from the stream), so the assertion is exact, not approximate.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import pytest

from stride.telemetry.v1 import telemetry_pb2 as pb
from tests.e2e.api import post, unique
from tests.e2e.conftest import Stack
from tests.ingest_stream import arrived

ROOT = Path(__file__).resolve().parents[2]
LINE = "line-a"
# The telemetry process checks for silent sources every STRIDE_TELEMETRY_STALENESS_INTERVAL
# (1 s in the e2e stack); the metrics here expect a sample at least every 3 s.
EXPECTED_INTERVAL = 3


async def _simulate(stack: Stack, run_id: str, seconds: int) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        "simulate",
        "factory",
        "--lines",
        "1",
        "--rate",
        "35/s",
        "--duration",
        f"{seconds}s",
        "--nats",
        stack.config.nats_url,
        "--seed",
        "11",
        "--run-id",
        run_id,
        "--no-progress",
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'protos'}"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()


async def _published_yield(js: Any, extra: list[tuple[float, float]]) -> float:
    """units_good / units_produced × 100 of line A, from every sample in the stream (each
    sample id once) plus ``extra`` (good, produced) pairs."""
    seen: dict[str, pb.Sample] = {}
    for a in await arrived(js):
        s = a.sample
        usable = s.unit == "pcs"  # the wrong-unit sample is dead-lettered, not counted
        if usable and s.source == LINE and s.metric in ("units_good", "units_produced"):
            seen.setdefault(s.sample_id, s)
    good = sum(s.value for s in seen.values() if s.metric == "units_good")
    produced = sum(s.value for s in seen.values() if s.metric == "units_produced")
    good += sum(g for g, _ in extra)
    produced += sum(p for _, p in extra)
    assert produced > 0, "the simulator made no parts on line A"
    return good / produced * 100


async def _key_result(stack: Stack, kr_id: str) -> dict[str, Any]:
    resp = await stack.api.get(f"/key-results/{kr_id}")
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


async def _until(stack: Stack, kr_id: str, ok: Any, within: float, what: str) -> float:
    """Seconds until the key result satisfies ``ok``; fails after ``within``."""
    started = time.monotonic()
    while True:
        kr = await _key_result(stack, kr_id)
        if ok(kr):
            return time.monotonic() - started
        if time.monotonic() - started > within:
            pytest.fail(
                f"{what} not within {within} s: {kr}\n{stack.logs('telemetry', 'goals', lines=300)}"
            )
        await asyncio.sleep(0.05)


def _sample(metric: str, value: float, at: datetime, sample_id: str, unit: str = "pcs") -> bytes:
    return pb.Sample(
        source=LINE,
        metric=metric,
        value=value,
        unit=unit,
        event_time=at.isoformat().replace("+00:00", "Z"),
        sample_id=sample_id,
    ).SerializeToString()


async def test_simulated_line_events_feed_a_key_result_exactly(stack: Stack) -> None:
    tag = uuid.uuid4().hex[:6]
    dept = await post(stack, "/departments", {"name": unique("Stamping")})
    lead = await post(
        stack,
        "/employees",
        {
            "employee_number": f"LA-{tag}",
            "name": "Line A Lead",
            "email": f"la-{tag}@example.com",
            "department_id": dept["id"],
        },
    )
    start = date.today() - timedelta(days=20)
    cycle = await post(
        stack,
        "/cycles",
        {
            "name": unique("Telemetry cycle"),
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=89)).isoformat(),
        },
    )
    objective = await post(
        stack,
        "/objectives",
        {"cycle_id": cycle["id"], "title": "Right first time", "owner_id": lead["id"]},
    )
    kr = await post(
        stack,
        f"/objectives/{objective['id']}/key-results",
        {
            "title": "Line A yield",
            "owner_id": lead["id"],
            "baseline": 90,
            "target": 98,
            "unit": "%",
            "data_source": "telemetry",
        },
    )
    for metric in ("units_good", "units_produced"):
        await post(
            stack,
            "/telemetry/metrics",
            {"name": metric, "unit": "pcs", "expected_interval_seconds": EXPECTED_INTERVAL},
        )
    binding = await post(
        stack,
        "/telemetry/bindings",
        {
            "key_result_id": kr["id"],
            "metric": "units_good",
            "source": LINE,
            "aggregation": "ratio",
            "denominator_metric": "units_produced",
            "window": "cycle_to_date",
            "transform": {"scale": 100},
        },
    )
    # People cannot check in on a machine-fed key result.
    resp = await stack.api.post(
        f"/key-results/{kr['id']}/check-ins", json={"value": 97, "confidence": 7}
    )
    assert resp.status_code in (409, 422), resp.text
    assert resp.json()["code"] == "machine_fed"

    nc = await nats.connect(stack.config.nats_url)
    try:
        js = nc.jetstream()
        run = f"e2e{tag}"

        # 1. Simulated line events move the key result within 2 s of the last one.
        await _simulate(stack, run, seconds=2)
        expected = await _published_yield(js, [])
        took = await _until(
            stack,
            kr["id"],
            lambda k: k["current_value"] == pytest.approx(expected, abs=1e-9),
            within=2.0,
            what=f"yield {expected}",
        )
        assert took <= 2.0
        kr_now = await _key_result(stack, kr["id"])
        assert kr_now["risk"]["status"] != "stale"

        # 2. Duplicates and out-of-order samples leave the value exactly right.
        last = [a for a in await arrived(js) if a.sample.source == LINE][-10:]
        for a in last:  # the same messages again: JetStream's duplicate window
            await js.publish(
                a.subject, a.sample.SerializeToString(), headers={"Nats-Msg-Id": a.msg_id}
            )
        for a in last:  # the same sample ids under new message ids: telemetry's own check
            await js.publish(
                a.subject,
                a.sample.SerializeToString(),
                headers={"Nats-Msg-Id": f"again-{a.msg_id}"},
            )
        late = datetime.now(UTC) - timedelta(days=3)  # in the cycle, older than everything
        await js.publish(
            f"telemetry.ingest.{LINE}.units_produced",
            _sample("units_produced", 40, late, f"{run}-late-p"),
            headers={"Nats-Msg-Id": f"{run}-late-p"},
        )
        await js.publish(
            f"telemetry.ingest.{LINE}.units_good",
            _sample("units_good", 10, late, f"{run}-late-g"),
            headers={"Nats-Msg-Id": f"{run}-late-g"},
        )
        expected = await _published_yield(js, [])  # the late pair is in the stream now
        await _until(
            stack,
            kr["id"],
            lambda k: k["current_value"] == pytest.approx(expected, abs=1e-9),
            within=3.0,
            what=f"yield {expected} with the late samples",
        )
        await asyncio.sleep(1.5)  # a duplicate counted twice would show by now
        assert (await _key_result(stack, kr["id"]))["current_value"] == pytest.approx(
            expected, abs=1e-9
        )

        # 3. A bad sample goes to the dead-letter subject with its reason.
        bad_id = f"{run}-bad"
        await js.publish(
            f"telemetry.ingest.{LINE}.units_good",
            _sample("units_good", 3, datetime.now(UTC), bad_id, unit="kg"),
            headers={"Nats-Msg-Id": bad_id},
        )
        sub = await js.subscribe(f"telemetry.deadletter.{LINE}.units_good", ordered_consumer=True)
        reason = ""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not reason:
            try:
                msg = await sub.next_msg(timeout=1)
            except nats.errors.TimeoutError:
                continue
            letter = pb.DeadLetter()
            letter.ParseFromString(msg.data)
            if bad_id.encode() in letter.payload:
                reason = letter.reason
        await sub.unsubscribe()
        assert reason == "wrong_unit"
        resp = await stack.api.get("/telemetry/dead-letters", params={"reason": "wrong_unit"})
        assert resp.status_code == 200, resp.text
        assert resp.json()["counts_by_reason"]["wrong_unit"] >= 1
        assert (await _key_result(stack, kr["id"]))["current_value"] == pytest.approx(
            expected, abs=1e-9
        )

        # 4. The source stops: the key result turns stale, and recovers when it speaks again.
        await _until(
            stack,
            kr["id"],
            lambda k: k["risk"]["status"] == "stale",
            within=EXPECTED_INTERVAL + 6,
            what="stale",
        )
        resp = await stack.api.get(f"/telemetry/bindings/{binding['id']}")
        assert resp.status_code == 200 and resp.json()["stale"] is True, resp.text
        await _simulate(stack, f"{run}b", seconds=1)
        expected = await _published_yield(js, [])
        await _until(
            stack,
            kr["id"],
            lambda k: (
                k["risk"]["status"] != "stale"
                and k["current_value"] == pytest.approx(expected, abs=1e-9)
            ),
            within=4.0,
            what=f"fresh again at {expected}: "
            + (await stack.api.get(f"/telemetry/bindings/{binding['id']}")).text,
        )
    finally:
        await nc.drain()
