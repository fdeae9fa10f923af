"""``stride simulate factory`` against real NATS: what arrives on telemetry.ingest.>, at what
rate, with which subjects, units and ids; the same seed gives the same values."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import defaultdict
from itertools import islice
from pathlib import Path

import nats

from services.common.binaries import private_nats_server
from services.integrations.factory import (
    FACTORY_METRICS,
    FactorySimulator,
    parse_duration,
    parse_rate,
)
from tests.ingest_stream import arrived, fresh_ingest_stream

ROOT = Path(__file__).resolve().parents[2]


async def test_one_second_at_200_per_second(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await fresh_ingest_stream(js)
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "services.cli",
            "simulate",
            "factory",
            "--lines",
            "5",
            "--rate",
            "200/s",
            "--duration",
            "1s",
            "--nats",
            nats_url,
            "--seed",
            "7",
            "--run-id",
            "t1",
            "--no-progress",
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'protos'}"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        assert "published 200 samples (200 new)" in err.decode()
        got = await arrived(js)
        # The run took about a second of publishing (plus the interpreter's start).
        assert time.monotonic() - started >= 0.9
    finally:
        await nc.drain()

    assert len(got) == 200  # rate × duration
    units = {m.name: m.unit for m in FACTORY_METRICS}
    lines = {"line-a", "line-b", "line-c", "line-d", "line-e"}
    per_line: dict[str, list[str]] = defaultdict(list)
    for a in got:
        s = a.sample
        assert a.subject == f"telemetry.ingest.{s.source}.{s.metric}"
        assert s.source in lines and s.unit == units[s.metric]
        assert a.msg_id == s.sample_id and s.sample_id.startswith(f"t1-{s.source}-")
        assert s.event_time.endswith("Z")
        per_line[s.source].append(s.sample_id)
    assert set(per_line) == lines
    for ids in per_line.values():
        assert ids == sorted(ids) and len(set(ids)) == len(ids)  # increasing, unique
    values = {(a.sample.source, a.sample.metric) for a in got}
    assert ("line-a", "units_produced") in values and ("line-a", "yield_pct") in values


async def _run_cli(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        "simulate",
        "factory",
        *args,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'protos'}"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    return proc.returncode or 0, err.decode()


async def test_without_the_ingest_stream_it_says_so(tmp_path: Path) -> None:
    """A NATS where the telemetry service has not created its stream: exit 1 with the reason,
    not a traceback; a bad rate is a usage error."""
    with private_nats_server(tmp_path) as url:
        code, err = await _run_cli("--nats", url, "--duration", "1s", "--no-progress")
    assert code == 1 and "no JetStream stream stores telemetry.ingest.>" in err
    assert "Traceback" not in err
    code, err = await _run_cli("--rate", "fast", "--no-progress")
    assert code == 2 and "expected a rate such as 200/s" in err


def test_the_seed_decides_the_values() -> None:
    def first(seed: int) -> list[tuple[str, str, float]]:
        sim = FactorySimulator(5, seed=seed)
        return [(r.line, r.metric, r.value) for r in islice(sim.readings(), 2_000)]

    assert first(3) == first(3) != first(4)
    readings = first(3)
    produced = sum(v for _, m, v in readings if m == "units_produced")
    good = sum(v for _, m, v in readings if m == "units_good")
    assert 0.95 < good / produced < 0.996  # 0.5–4 % scrap per line
    assert any(m == "downtime_min" and v == 1 for _, m, v in readings)  # lines break down


def test_rate_and_duration_syntax() -> None:
    assert parse_rate("200/s") == parse_rate("12000/min") == parse_rate("200") == 200
    assert parse_duration("60s") == parse_duration("1m") == 60
    for bad in ("fast", "0/s", "-3"):
        try:
            parse_rate(bad)
        except ValueError:
            continue
        raise AssertionError(bad)
