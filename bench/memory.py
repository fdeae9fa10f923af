"""Memory of the idle stack: ``stride up`` (what ``make up`` runs) on a fresh data directory,
embedded databases, demo data seeded; once everything is up and has been idle for a few
seconds, the resident memory of the supervisor and of each process it started (with that
process' own children, e.g. a wrapper's real binary).

RSS is what the target is stated in (and what `top` shows); PSS divides shared pages among
the processes sharing them, so its total is what the machine really spends.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.procstats import descendants, pss_mb, rss_mb
from bench.report import Target
from services.cli.stack import stride_command

START_TIMEOUT_SECONDS = 240.0
# Idle this long before measuring (start-up garbage collected, caches settled).
SETTLE_SECONDS = 10.0
LIMIT_MB = 1024.0
# The processes the target names: every one the design has is in `stride up` now (telemetry
# was the last); the benchmark fails rather than measure a stack without one of them.
SERVICES = ("identity", "goals", "feedback", "telemetry")
# Settings that would point `stride up` at engines elsewhere: the measured stack is the
# embedded one of a fresh machine.
EXTERNAL = ("STRIDE_DATABASE_URL", "STRIDE_TEMPORAL_ADDRESS", "STRIDE_NATS_URL", "STRIDE_SMTP_HOST")


@dataclass
class Footprint:
    rss: dict[str, float] = field(default_factory=dict)  # process → MB
    pss: dict[str, float] = field(default_factory=dict)

    @property
    def total_rss(self) -> float:
        return sum(self.rss.values())


def measure_idle_stack(console: Console, settle: float = SETTLE_SECONDS) -> Footprint:
    env = {k: v for k, v in os.environ.items() if k not in EXTERNAL}
    with tempfile.TemporaryDirectory(prefix="stride-bench-up-") as tmp:
        data_dir = Path(tmp) / "data"
        out_path = Path(tmp) / "up.out"
        with out_path.open("wb") as out:
            proc = subprocess.Popen(
                [*stride_command(), "up", "--free-ports", "--data-dir", str(data_dir)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
            try:
                state = _wait_up(proc, data_dir / "stack.json", out_path)
                console.print(f"  stack up; idle for {settle:.0f} s …")
                time.sleep(settle)
                footprint = Footprint()
                children: dict[str, int] = state["children"]  # type: ignore[assignment]
                missing = set(SERVICES) - set(children)
                if missing:
                    raise RuntimeError(f"stride up runs no {', '.join(sorted(missing))}")
                processes = {"supervisor (stride up)": proc.pid, **children}
                for name, pid in processes.items():
                    own = [pid] if name.startswith("supervisor") else [pid, *descendants(pid)]
                    footprint.rss[name] = sum(rss_mb(p) for p in own)
                    footprint.pss[name] = sum(pss_mb(p) for p in own)
            finally:
                _stop(proc)
    return footprint


def _wait_up(proc: subprocess.Popen[bytes], state_file: Path, out: Path) -> dict[str, object]:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not (state_file.exists() and "Press Ctrl-C" in out.read_text(errors="replace")):
        if proc.poll() is not None:
            raise RuntimeError(f"stride up exited:\n{out.read_text(errors='replace')[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"stride up not up:\n{out.read_text(errors='replace')[-3000:]}")
        time.sleep(0.5)
    state: dict[str, object] = json.loads(state_file.read_text())
    return state


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def print_memory(console: Console, footprint: Footprint) -> None:
    table = Table(title="Idle `stride up` stack: resident memory (MB)")
    for column in ("process", "RSS", "PSS"):
        table.add_column(column, justify="left" if column == "process" else "right")
    for name, rss in sorted(footprint.rss.items(), key=lambda kv: -kv[1]):
        table.add_row(name, f"{rss:,.0f}", f"{footprint.pss[name]:,.0f}")
    table.add_row(
        "[bold]total[/]",
        f"[bold]{footprint.total_rss:,.0f}[/]",
        f"[bold]{sum(footprint.pss.values()):,.0f}[/]",
    )
    console.print(table)


def memory_targets(footprint: Footprint) -> list[Target]:
    return [
        Target(
            "idle stack RSS, every process",
            footprint.total_rss,
            LIMIT_MB,
            True,
            "MB",
            note=f"{', '.join(SERVICES)}, worker, gateway, engines, supervisor",
        )
    ]
