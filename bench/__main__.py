"""``make bench`` / ``python -m bench [relay] [checkin] [memory] [escalation] [feedback]
[telemetry] [web] [reports] [options]``: run the benchmarks (all of them when none is named), print
their
figures and ratios against the engine ceilings measured in the same run, then every figure
beside its target.

``make bench`` runs everything in about ten minutes on two cores: the check-in benchmark at
2,000 and at 10,000 employees × 3 key results, each load phase stopped after 30 s; the 360
benchmark (bench/feedback.py) at 680 people; the telemetry benchmark (bench/telemetry.py) with
60,000 samples; the web pages' render time (bench/web.py) at 680 people; the reports and
dashboards reads (bench/reports.py) at 680 and 10,000 people (``--reports-sizes
680,10000,100000`` adds the 100,000-person organisation: about ten minutes more on two cores).
"""

from __future__ import annotations

import argparse
import asyncio

from rich.console import Console

from bench import checkin, outbox_relay
from bench.engines import private_nats
from bench.report import Target, checkin_targets, print_checkin, print_relay, print_targets

BENCHMARKS = (
    "relay",
    "checkin",
    "memory",
    "escalation",
    "feedback",
    "telemetry",
    "web",
    "reports",
)
DEFAULT_SIZES = (2_000, 10_000)
REPORTS_SIZES = (680, 10_000)


def relay(console: Console) -> list[Target]:
    from bench.report import relay_targets

    console.print("[bold]Outbox relay[/bold] …")
    with private_nats() as nats_url:
        results = asyncio.run(outbox_relay.run(nats_url))
    print_relay(console, results, outbox_relay.EVENTS)
    return relay_targets(results)


def checkins(console: Console, opts: checkin.Options) -> list[Target]:
    console.print(f"[bold]Check-ins[/bold] at {opts.employees:,} employees × {opts.krs} KRs …")
    result = asyncio.run(checkin.run(opts, console))
    print_checkin(console, result)
    return checkin_targets(result)


def memory(console: Console) -> list[Target]:
    from bench.memory import measure_idle_stack, memory_targets, print_memory

    console.print("[bold]Memory[/bold] of the idle `stride up` stack …")
    footprint = measure_idle_stack(console)
    print_memory(console, footprint)
    return memory_targets(footprint)


def escalation(console: Console) -> list[Target]:
    from bench.escalation import escalation_targets, print_escalation
    from bench.escalation import run as run_escalations

    console.print("[bold]Escalation[/bold]: at-risk check-in → warning e-mail …")
    result = asyncio.run(run_escalations(console=console))
    print_escalation(console, result)
    return escalation_targets(result)


def feedback(console: Console, args: argparse.Namespace) -> list[Target]:
    from bench import feedback_report as fb

    opts = fb.Options(
        employees=args.feedback_employees,
        concurrency=args.concurrency,
        duration=args.duration or None,
        log_level=args.log_level,
    )
    return fb.main_run(console, opts)


def telemetry(console: Console, args: argparse.Namespace) -> list[Target]:
    from bench import telemetry as tel

    opts = tel.Options(samples=args.samples, log_level=args.log_level)
    return tel.main_run(console, opts)


def web(console: Console, args: argparse.Namespace) -> list[Target]:
    from bench import web as pages

    opts = pages.Options(employees=args.web_employees, log_level=args.log_level)
    return pages.main_run(console, opts)


def reports(console: Console, args: argparse.Namespace) -> list[Target]:
    from bench import reports as rep

    return rep.main_run(console, args.reports_sizes, rep.Options(log_level=args.log_level))


def sizes(text: str) -> list[int]:
    """``2000,10000`` → [2000, 10000] (employees; one check-in run per size)."""
    try:
        values = [int(v.replace("_", "")) for v in text.split(",") if v.strip()]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text!r}") from err
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"sizes must be positive: {text!r}")
    return values


def parser() -> argparse.ArgumentParser:
    defaults = checkin.Options()
    p = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    # No `choices` here: with nargs="*" argparse checks the empty default list against
    # them and refuses it ("invalid choice: []"); the names are checked in main().
    p.add_argument(
        "benchmarks",
        nargs="*",
        metavar="benchmark",
        help=f"any of {', '.join(BENCHMARKS)} (default: all)",
    )
    p.add_argument(
        "--employees",
        type=sizes,
        default=list(DEFAULT_SIZES),
        help="check-in benchmark sizes, comma-separated (default: 2000,10000)",
    )
    p.add_argument("--krs", type=int, default=defaults.krs, help="key results per person")
    p.add_argument(
        "--concurrency", type=int, default=defaults.concurrency, help="requests in flight"
    )
    p.add_argument(
        "--duration",
        type=float,
        default=defaults.duration,
        help="seconds per load phase; 0: one check-in per key result, however long "
        f"(default {defaults.duration:.0f})",
    )
    p.add_argument("--seed-concurrency", type=int, default=defaults.seed_concurrency)
    p.add_argument(
        "--goals-sample",
        type=int,
        default=defaults.goals_sample,
        help="check-ins sent straight to goals gRPC (0: skip that phase)",
    )
    p.add_argument(
        "--bulk-sample",
        type=int,
        default=defaults.bulk_sample,
        help="people checking in on all their key results with one POST /check-ins (0: skip)",
    )
    p.add_argument(
        "--feedback-employees",
        type=int,
        default=680,
        help="people (one 360 round each) of the feedback benchmark (default 680)",
    )
    p.add_argument(
        "--samples",
        type=int,
        default=60_000,
        help="samples published in the telemetry benchmark (default 60000)",
    )
    p.add_argument(
        "--web-employees",
        type=int,
        default=680,
        help="people of the organisation the web pages are rendered for (default 680)",
    )
    p.add_argument(
        "--reports-sizes",
        type=sizes,
        default=list(REPORTS_SIZES),
        help="organisation sizes of the reports benchmark, comma-separated "
        "(default: 680,10000; 100000 is heavy)",
    )
    p.add_argument("--log-level", default=defaults.log_level)
    return p


def main(argv: list[str] | None = None) -> None:
    p = parser()
    args = p.parse_args(argv)
    unknown = sorted(set(args.benchmarks) - set(BENCHMARKS))
    if unknown:
        p.error(f"unknown benchmark {', '.join(unknown)} (choose from {', '.join(BENCHMARKS)})")
    wanted = args.benchmarks or list(BENCHMARKS)
    console = Console()
    if not console.is_terminal:  # a log or a pipe: wide enough that the tables do not wrap
        console = Console(width=140)
    targets: list[Target] = []
    if "relay" in wanted:
        targets += relay(console)
    if "checkin" in wanted:
        for employees in args.employees:
            opts = checkin.Options(
                employees=employees,
                krs=args.krs,
                concurrency=args.concurrency,
                duration=args.duration or None,
                seed_concurrency=args.seed_concurrency,
                goals_sample=args.goals_sample,
                bulk_sample=args.bulk_sample,
                log_level=args.log_level,
            )
            targets += checkins(console, opts)
    if "memory" in wanted:
        targets += memory(console)
    if "escalation" in wanted:
        targets += escalation(console)
    if "feedback" in wanted:
        targets += feedback(console, args)
    if "telemetry" in wanted:
        targets += telemetry(console, args)
    if "web" in wanted:
        targets += web(console, args)
    if "reports" in wanted:
        targets += reports(console, args)
    print_targets(console, targets)


if __name__ == "__main__":
    main()
