"""The 360 benchmark (bench/feedback.py) at a tiny size: it seeds rounds, every answer it
sends through the gateway is accepted, every round closes and every subject reads results;
the ceilings run. Nothing here looks at timing.

Real engines, like the check-in smoke test: a fresh PostgreSQL database (the ceilings are
asyncpg), a private nats-server, identity / feedback / gateway as processes.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from bench import feedback

PEOPLE = 12


async def test_every_answer_and_results_read_succeeds(tmp_path: Path) -> None:
    opts = feedback.Options(employees=PEOPLE, concurrency=4, duration=None, seed_concurrency=4)
    quiet = Console(quiet=True)
    async with feedback.benchmark_stack(tmp_path, opts.log_level, services=("feedback",)) as stack:
        rounds = await feedback.seed(stack, opts, tmp_path, quiet)
        assert len(rounds) == PEOPLE - 1  # the head has no manager to approve their list
        raters = sum(len(r.raters) for r in rounds)
        phases = await feedback.run_phases(stack, rounds, opts, quiet)
    assert (phases["answers"].ok, phases["answers"].errors) == (raters, {})
    assert (phases["close"].ok, phases["results"].ok) == (len(rounds), len(rounds))
    assert phases["results"].errors == {}
    assert phases["insert"].ok == raters and phases["select"].ok > 0
