"""The check-in benchmark (bench/checkin.py) at a tiny size: it seeds the organisation,
every check-in it sends through the gateway is stored, and the ceiling app stores its rows.
Nothing here looks at timing.

Real engines: a fresh PostgreSQL database (the benchmark's ceiling is asyncpg, so it always
runs on PostgreSQL: STRIDE_BENCH_POSTGRES_URL, else STRIDE_TEST_DATABASE_URL's server, else
127.0.0.1:5432), a private nats-server, identity / goals / gateway / bare app as processes.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
from rich.console import Console

from bench import checkin

EMPLOYEES = 20
KRS = 3
# People whose key results the bulk phase checks in on again, one request each.
BULK = 5


async def test_every_check_in_sent_through_the_gateway_is_stored(tmp_path: Path) -> None:
    opts = checkin.Options(
        employees=EMPLOYEES, krs=KRS, concurrency=8, goals_sample=KRS, bulk_sample=BULK
    )
    quiet = Console(quiet=True)
    async with checkin.benchmark_stack(tmp_path, opts.log_level) as stack:
        seeded = await checkin.seed(stack, opts, tmp_path, quiet)
        assert len(seeded.people) == EMPLOYEES
        assert Counter(kr.owner.id for kr in seeded.krs) == {p.id: KRS for p in seeded.people}

        result = await checkin.run_phases(stack, seeded, opts, quiet)
        gateway = result.phases["gateway"].load
        assert (gateway.ok, gateway.errors) == (EMPLOYEES * KRS, {})
        bare = result.phases["bare"].load
        assert (bare.ok, bare.errors) == (EMPLOYEES * KRS, {})
        assert result.phases["goals"].load.ok == KRS
        bulk = result.phases["bulk"]
        assert (bulk.load.ok, bulk.load.errors, bulk.check_ins) == (BULK, {}, BULK * KRS)

        # Counted back through the API, each key result read by its owner.
        stored: Counter[tuple[str, float]] = Counter()
        async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as api:
            for kr in seeded.krs:
                resp = await api.get(
                    f"/key-results/{kr.id}/check-ins",
                    headers={"Authorization": f"Bearer {checkin.token_for(stack, kr.owner)}"},
                )
                assert resp.status_code == 200, resp.text
                stored.update((c["week"], c["value"]) for c in resp.json()["items"])
            async with httpx.AsyncClient(base_url=stack.bare_url, timeout=30) as bare_api:
                bare_rows = (await bare_api.get("/count")).json()["check_ins"]
        # The bulk phase replaced this week's check-ins of BULK people with its own value.
        assert stored[(result.week, checkin.GATEWAY_VALUE)] == (EMPLOYEES - BULK) * KRS
        assert stored[(result.week, checkin.BULK_VALUE)] == BULK * KRS
        # The goals phase checked in for the previous week on a sample of key results.
        assert stored.total() == EMPLOYEES * KRS + KRS
        assert bare_rows == EMPLOYEES * KRS
