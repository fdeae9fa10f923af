"""``make bench`` / ``python -m bench [relay|checkin] [options]``: run the benchmarks and print
their figures and ratios against engine ceilings measured in the same run."""

from __future__ import annotations

import argparse
import asyncio

from rich.console import Console
from rich.table import Table

from bench import checkin, outbox_relay
from bench.engines import private_nats


def relay(console: Console) -> None:
    with private_nats() as nats_url:
        results = asyncio.run(outbox_relay.run(nats_url))
    table = Table(title=f"Outbox relay ({outbox_relay.EVENTS} events)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in results.items():
        is_ratio = name.startswith("relay / ")
        table.add_row(name, f"{value:.2f}" if is_ratio else f"{value:,.0f}")
    console.print(table)


def checkins(console: Console, opts: checkin.Options) -> None:
    result = asyncio.run(checkin.run(opts, console))
    checkin.print_result(console, result)


def parser() -> argparse.ArgumentParser:
    defaults = checkin.Options()
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument(
        "benchmarks",
        nargs="*",
        choices=["relay", "checkin"],
        help="which to run (default: all)",
    )
    p.add_argument("--employees", type=int, default=defaults.employees)
    p.add_argument("--krs", type=int, default=defaults.krs, help="key results per person")
    p.add_argument(
        "--concurrency", type=int, default=defaults.concurrency, help="requests in flight"
    )
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        help="seconds per load phase (default: one check-in per key result, however long)",
    )
    p.add_argument("--seed-concurrency", type=int, default=defaults.seed_concurrency)
    p.add_argument(
        "--goals-sample",
        type=int,
        default=defaults.goals_sample,
        help="check-ins sent straight to goals gRPC (0: skip that phase)",
    )
    p.add_argument("--log-level", default=defaults.log_level)
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    wanted = args.benchmarks or ["relay", "checkin"]
    console = Console()
    if "relay" in wanted:
        relay(console)
    if "checkin" in wanted:
        opts = checkin.Options(
            employees=args.employees,
            krs=args.krs,
            concurrency=args.concurrency,
            duration=args.duration,
            seed_concurrency=args.seed_concurrency,
            goals_sample=args.goals_sample,
            log_level=args.log_level,
        )
        checkins(console, opts)


if __name__ == "__main__":
    main()
