"""The telemetry benchmark (bench/telemetry.py) at a tiny size: every published sample is
committed by the telemetry service, the raw consumer reads the same messages back, and every
value sent to a bound key result shows in goals. Nothing here looks at timing.

Real engines, like the other benchmark smoke tests: a fresh PostgreSQL database, a private
nats-server, identity / goals / telemetry / gateway as processes.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from bench import telemetry


async def test_every_sample_is_committed_and_every_value_shows(tmp_path: Path) -> None:
    opts = telemetry.Options(samples=300, bound=2, rounds=2, timeout=60)
    quiet = Console(quiet=True)
    async with telemetry.benchmark_stack(
        tmp_path, opts.log_level, services=("goals", "telemetry")
    ) as stack:
        result = await telemetry.run_phases(stack, opts, quiet)
    assert result.committed == opts.samples
    assert result.service_per_s > 0 and result.raw_per_s > 0 and result.publish_per_s > 0
    assert result.missed == 0 and len(result.latencies) == opts.bound * opts.rounds
    targets = telemetry.telemetry_targets(result)
    assert [t.name.split(" ")[0] for t in targets] == ["telemetry", "sample"]
