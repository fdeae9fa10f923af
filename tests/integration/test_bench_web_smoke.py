"""The web pages benchmark (bench/web.py) at a tiny size: it seeds the organisation and what
the pages show, and every page it fetches (every GET page of the web app but the ones it names
as not measured) answers 200 for the people it is fetched by. Nothing here looks at timing.

Real engines, like the other benchmark smoke tests: a fresh PostgreSQL database, a private
nats-server, identity / goals / feedback / gateway as processes.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from bench import web
from bench.checkin import Options as CheckinOptions
from bench.checkin import seed

PEOPLE = 12


async def test_every_page_renders_for_its_viewers(tmp_path: Path) -> None:
    opts = web.Options(employees=PEOPLE, requests=6, seed_concurrency=4)
    quiet = Console(quiet=True)
    seed_opts = CheckinOptions(employees=PEOPLE, seed_concurrency=4)
    async with web.benchmark_stack(tmp_path, opts.log_level, ("goals", "feedback")) as stack:
        seeded = await seed(stack, seed_opts, tmp_path, quiet)
        content = await web.seed_pages(stack, seeded)
        pages = await web.measure_pages(stack, seeded, content, opts)
    assert list(pages) == [web.API_ME, *web.PAGES]
    # The seeded content is there to open (not a page of empty states only).
    assert content.approvals and content.requests and content.challenges
    assert content.promotions and content.rounds and content.closed_rounds
    for name, page in pages.items():
        assert (page.ok, page.errors) == (opts.requests, {}), name
    result = web.Result(opts, len(seeded.people), 0.0, pages)
    targets = web.web_targets(result)
    assert len(targets) == len(pages) - 1  # every page but the API's own read
