"""``stride up``: the whole stack on one machine, as child processes of this command.

A child that crashes is started again (with back-off, logged); only a crash loop stops the
stack (services/cli/restarts.py). While it runs, ``<data dir>/stack.json`` names every address
and child pid, rewritten after each restart (for scripts and tests); it is removed on the way
out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from services.cli.restarts import Restarted, SupervisorEvent
from services.cli.seed import SeedError, seed_demo
from services.cli.stack import StackConfig, start_stack
from services.cli.supervisor import PortInUse, ProcessFailed, ProcessSpec, Supervisor
from services.common.binaries import free_port, port_open
from services.common.logging import configure_logging
from services.common.settings import StrideSettings, WorkerSettings

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def stack_config(
    settings: StrideSettings, console: Console, *, free_ports: bool = False
) -> StackConfig:
    """The stack for this machine: default ports (or random ones); NATS moves off 4222 when
    that port is taken; Temporal / NATS are not started when their address is configured."""
    data_dir = settings.data_dir.resolve()
    if free_ports:
        config = StackConfig.on_free_ports(data_dir, database_url=settings.database_url)
    else:
        config = StackConfig(data_dir=data_dir, database_url=settings.database_url)
    config.namespace = settings.temporal_namespace
    config.task_queue = settings.task_queue
    explicit = settings.model_fields_set
    if "temporal_address" in explicit:
        config.temporal_external = settings.temporal_address
        console.print(
            f"Using the Temporal server at [bold]{settings.temporal_address}[/] "
            "(STRIDE_TEMPORAL_ADDRESS)"
        )
    if "nats_url" in explicit:
        config.nats_external = settings.nats_url
        console.print(f"Using the NATS server at [bold]{settings.nats_url}[/] (STRIDE_NATS_URL)")
    elif port_open(config.host, config.nats_port):
        taken = config.nats_port
        config.nats_port = free_port(config.host, exclude=config.ports())
        console.print(
            f"[yellow]Port {taken} is already in use (another NATS server?); "
            f"Stride's own nats-server will listen on {config.host}:{config.nats_port}.[/]"
        )
    if port_open(config.host, config.worker_health_port):
        config.worker_health_port = free_port(config.host, exclude=config.ports())
    smtp = WorkerSettings()
    if smtp.smtp_host:
        config.smtp_external = f"{smtp.smtp_host}:{smtp.smtp_port}"
        console.print(f"Sending e-mail through [bold]{config.smtp_external}[/] (STRIDE_SMTP_HOST)")
    elif port_open(config.host, config.smtp_port):
        config.smtp_port = free_port(config.host, exclude=config.ports())
    return config


def _database_label(config: StackConfig) -> str:
    if config.database_url:
        # Imported here: the supervisor stays alive for the whole stack and needs no
        # database layer otherwise.
        from sqlalchemy.engine import make_url

        return make_url(config.database_url).render_as_string(hide_password=True)
    return f"SQLite files in {_shown(config.data_dir)}"


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def urls_table(config: StackConfig) -> Table:
    table = Table(title="Stride is up", header_style="bold", title_justify="left")
    table.add_column("what")
    table.add_column("where")
    table.add_row("Gateway (REST API)", f"{config.gateway_url}/api/v1")
    table.add_row("API docs", f"{config.gateway_url}/api/v1/docs")
    if config.temporal_ui_url:
        table.add_row("Temporal UI", config.temporal_ui_url)
    table.add_row("Temporal gRPC", config.temporal_address)
    table.add_row("NATS", config.nats_url)
    if config.smtp_external is None:
        table.add_row("Mail (local sink)", f"{_shown(config.log_dir)}/mail-sink.log")
    for name, port in config.service_ports.items():
        table.add_row(f"{name} gRPC", f"{config.host}:{port}")
    table.add_row("Worker health", f"{config.worker_health_url}/readyz")
    table.add_row("Database", _database_label(config))
    table.add_row("Logs", f"{_shown(config.log_dir)}/<process>.log")
    return table


def failure_panel(err: ProcessFailed) -> Panel:
    body = Text()
    body.append(f"{err.reason}\n", style="bold red")
    body.append(f"log: {err.log_path}\n\n", style="dim")
    body.append(err.log_tail or "(the log is empty)")
    return Panel(body, title=f"{err.name} failed", border_style="red")


def state_path(config: StackConfig) -> Path:
    return config.data_dir / "stack.json"


def write_state(config: StackConfig, sup: Supervisor) -> None:
    state = {
        "pid": os.getpid(),
        "gateway_url": config.gateway_url,
        "temporal_address": config.temporal_address,
        "temporal_ui_url": config.temporal_ui_url,
        "nats_url": config.nats_url,
        "services": {name: config.service_addr(name) for name in config.service_ports},
        "worker_health_url": config.worker_health_url,
        "children": sup.pids(),
    }
    path = state_path(config)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(path)


async def _start(sup: Supervisor, config: StackConfig, console: Console) -> None:
    """Start the stack, with one spinner naming what is still on its way."""
    pending: dict[str, None] = {}  # names in the order they started
    spinner = console.status("")

    def progress(event: str, specs: Sequence[ProcessSpec]) -> None:
        if event == "starting":
            pending.update(dict.fromkeys(spec.name for spec in specs))
        else:
            for spec in specs:
                pending.pop(spec.name, None)
                log = _shown(sup.log_path(spec.name))
                state = (
                    f"pid {sup.child(spec.name).pid:<8}" if spec.name in sup else "done" + " " * 8
                )
                console.print(f"  [green]✓[/] {spec.name:<9} {state} [dim]{log}[/]")
        if pending:
            spinner.update(f"Starting {', '.join(pending)} …")
            spinner.start()
        else:
            spinner.stop()

    try:
        await start_stack(sup, config, progress)
    finally:
        spinner.stop()


async def _seed(config: StackConfig, console: Console) -> None:
    with console.status("Seeding demo data …"):
        try:
            result = await seed_demo(
                config.gateway_url,
                identity_addr=config.service_addr("identity"),
                admin_password=os.environ.get("STRIDE_DEMO_ADMIN_PASSWORD"),
            )
        except SeedError as exc:
            console.print(f"[red]Could not seed demo data:[/] {exc}")
            return
    if result.admin_login:
        console.print(
            f"Demo admin: sign in as [bold]{escape(result.admin_login)}[/] with password "
            f"[bold]{escape(result.admin_password)}[/] (set STRIDE_DEMO_ADMIN_PASSWORD to "
            "choose it). The demo people sign in with their employee number and the same "
            "password: D-1001 (general manager), D-1007 (PMC, owns the cross-department "
            "objective), D-1002 (line 3), D-1004 (quality) ..."
        )
    if result.skipped:
        console.print(f"Demo data: skipped ({result.skipped}).")
    elif result.total:
        console.print(f"Demo data: created {result.summary()}.")
    else:
        console.print("Demo data: already there, reusing it.")


def restart_reporter(
    config: StackConfig, sup: Supervisor, console: Console
) -> Callable[[SupervisorEvent], None]:
    """Tell the console about restarts and keep stack.json's pids current."""

    def report(event: SupervisorEvent) -> None:
        if isinstance(event, Restarted):
            write_state(config, sup)
            console.print(
                f"  [green]✓[/] {event.name} restarted, pid {event.pid} "
                f"[dim](down {event.downtime:.1f} s)[/]"
            )
        else:
            console.print(
                f"[yellow]{event.name} exited (code {event.exit_code}); restarting in "
                f"{event.delay:g} s[/] [dim](crash {event.crashes} of "
                f"{config.restart_policy.max_crashes} allowed in "
                f"{config.restart_policy.window:.0f} s)[/]"
            )

    return report


async def run_up(config: StackConfig, console: Console, *, seed: bool = True) -> int:
    """Start everything, seed, print the URLs, run until a signal or a crash loop. Exit code."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    sup = Supervisor(config.log_dir)
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    interrupted: list[bool] = []

    def on_signal() -> None:
        if not interrupted:
            interrupted.append(True)
            console.print("\n[yellow]Stopping Stride (Ctrl-C again to kill everything now) …[/]")
            task.cancel()
        else:
            console.print("[red]Killing every process now.[/]")
            sup.kill_all_now()

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, on_signal)
    code = 0
    try:
        await _start(sup, config, console)
        if seed:
            await _seed(config, console)
        write_state(config, sup)
        console.print(urls_table(config))
        console.print("Press [bold]Ctrl-C[/] to stop everything.")
        failure = await sup.supervise(config.restart_policy, restart_reporter(config, sup, console))
        if failure is not None:
            console.print(failure_panel(failure))
            code = 1
    except asyncio.CancelledError:
        if not interrupted:
            raise
    except PortInUse as exc:
        console.print(f"[red]{exc}[/]")
        code = 1
    except ProcessFailed as exc:
        console.print(failure_panel(exc))
        code = 1
    finally:

        def stopped(name: str, rc: int | None) -> None:
            if sup.child(name).killed:
                console.print(f"  [yellow]killed {name}[/] (SIGKILL: it did not stop in time)")
            else:
                console.print(f"  [dim]stopped {name} (exit {rc})[/]")

        await sup.stop_all(on_stop=stopped)
        with contextlib.suppress(FileNotFoundError):
            state_path(config).unlink()
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
    console.print("Stride stopped." if code == 0 else "[red]Stride stopped after a failure.[/]")
    return code


def up(data_dir: Path | None, *, seed: bool, free_ports: bool) -> int:
    console = Console()
    settings = StrideSettings()
    if data_dir is not None:
        settings.data_dir = data_dir
    # Structured lines (restarts, crash loops) on stderr; the console output on stdout.
    configure_logging("up", settings.log_level, settings.log_format)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not every health probe
    config = stack_config(settings, console, free_ports=free_ports)
    return asyncio.run(run_up(config, console, seed=seed))
