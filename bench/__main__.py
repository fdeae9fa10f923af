"""``make bench``: run every benchmark and print its figures and ratios."""

from __future__ import annotations

import asyncio

from rich.console import Console
from rich.table import Table

from bench import outbox_relay
from bench.engines import private_nats


def main() -> None:
    console = Console()
    with private_nats() as nats_url:
        results = asyncio.run(outbox_relay.run(nats_url))
    table = Table(title=f"Outbox relay ({outbox_relay.EVENTS} events)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in results.items():
        is_ratio = name.startswith("relay / ")
        table.add_row(name, f"{value:.2f}" if is_ratio else f"{value:,.0f}")
    console.print(table)


if __name__ == "__main__":
    main()
