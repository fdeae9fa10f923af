"""``stride``: run the whole stack (``stride up``) or one process (``stride serve <name>``).

Every subcommand lives in this package; the command groups (``admin``, ``audit``, ``org``,
``temporal``) are typer apps in their own modules. They are imported only when the command line
names them (or asks for the list of commands): a long-running ``stride serve <name>`` or
``stride mail-sink`` then loads only what it runs, not openpyxl, the Temporal client and the
database layer of every other command (measured: ~70 MB per process).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from importlib import import_module
from pathlib import Path
from typing import Annotated

import typer

from services.cli.exiting import exit_code, leave

app = typer.Typer(
    name="stride",
    help="Stride: OKRs, weekly check-ins and escalations on Temporal.",
    no_args_is_help=True,
    add_completion=False,
    # Plain tracebacks: they end up in .stride/logs/<process>.log and in CI output.
    pretty_exceptions_enable=False,
)
# Command group → (module, typer app in it).
GROUPS: dict[str, tuple[str, str]] = {
    "audit": ("services.cli.audit", "audit_app"),
    "admin": ("services.cli.admin", "admin_app"),
    "dashboards": ("services.cli.dashboards", "dashboards_app"),
    "org": ("services.cli.org", "org_app"),
    "risk": ("services.cli.risk", "risk_app"),
    "simulate": ("services.cli.simulate", "simulate_app"),
    "temporal": ("services.cli.temporal", "temporal_app"),
}
_added: set[str] = set()


def add_groups(names: list[str] | None = None) -> typer.Typer:
    """Add the named command groups (default: all) to :data:`app` and return it."""
    for name in GROUPS if names is None else names:
        if name not in _added:
            module, attribute = GROUPS[name]
            app.add_typer(getattr(import_module(module), attribute), name=name)
            _added.add(name)
    return app


def groups_for(argv: list[str]) -> list[str] | None:
    """The groups a command line needs: none for a top-level command, the one it names, or
    all (None) for help, a typo or no command at all."""
    first = next((a for a in argv if not a.startswith("-")), None)
    if first in GROUPS:
        return [first]
    if first is not None and first in TOP_LEVEL:
        return []
    return None


class ProcessName(StrEnum):
    identity = "identity"
    goals = "goals"
    feedback = "feedback"
    telemetry = "telemetry"
    worker = "worker"
    integrations = "integrations"
    gateway = "gateway"


PortOption = Annotated[
    int | None,
    typer.Option(help="Listen on this port instead of STRIDE_GRPC_PORT / STRIDE_HTTP_PORT."),
]


@app.command()
def up(
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Where state and logs go (default: STRIDE_DATA_DIR or .stride)."),
    ] = None,
    seed: Annotated[bool, typer.Option(help="Create the demo organisation if empty.")] = True,
    free_ports: Annotated[
        bool,
        typer.Option(help="Listen on random free ports (a second stack next to the first)."),
    ] = False,
) -> None:
    """Start Temporal, NATS, every service, the worker and the gateway; Ctrl-C stops all."""
    from services.cli.up import up as run

    raise typer.Exit(run(data_dir, seed=seed, free_ports=free_ports))


@app.command()
def serve(
    name: Annotated[ProcessName, typer.Argument(help="The process to run.")],
    port: PortOption = None,
) -> None:
    """Run one process (settings from STRIDE_* variables) until SIGTERM / Ctrl-C."""
    from services.cli.process import serve_process

    if port is not None and name in (ProcessName.worker, ProcessName.integrations):
        raise typer.BadParameter("a worker does not listen on a port", param_hint="--port")
    serve_process(name.value, port)


class ServiceName(StrEnum):
    identity = "identity"
    goals = "goals"
    feedback = "feedback"
    telemetry = "telemetry"


@app.command()
def migrate(
    service: Annotated[
        list[ServiceName] | None,
        typer.Argument(help="Services to migrate (default: all)."),
    ] = None,
) -> None:
    """Create each service's schema (PostgreSQL) or file (SQLite), apply its migrations, exit."""
    import asyncio

    from rich.console import Console

    from services.cli.migrate import migrate as run
    from services.common.logging import configure_logging
    from services.common.settings import StrideSettings

    settings = StrideSettings()
    configure_logging("migrate", settings.log_level, settings.log_format)
    schemas = asyncio.run(run(settings, [s.value for s in service or []]))
    Console().print(f"[green]migrated[/green]: {', '.join(schemas)}")


class WorkerQueue(StrEnum):
    stride = "stride"
    integrations = "integrations"


@app.command()
def worker(
    queue: Annotated[
        WorkerQueue,
        typer.Option(
            help="stride: the workflows and the event bridge (stride serve worker); "
            "integrations: the integration plugins' scheduled pulls (stride serve integrations)."
        ),
    ] = WorkerQueue.stride,
) -> None:
    """Run a Temporal worker: Stride's workflows and the event bridge, or the integrations."""
    from services.cli.process import serve_process

    serve_process("worker" if queue is WorkerQueue.stride else "integrations")


@app.command()
def gateway(port: PortOption = None) -> None:
    """Run the REST gateway (same as: stride serve gateway)."""
    from services.cli.process import serve_process

    serve_process("gateway", port)


@app.command("mail-sink")
def mail_sink(
    port: Annotated[int, typer.Option(help="SMTP port to listen on")] = 2525,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
) -> None:
    """A local SMTP server that accepts every mail and logs it (started by stride up)."""
    from services.common.logging import configure_logging
    from services.common.mail_sink import serve as serve_sink
    from services.common.settings import StrideSettings

    settings = StrideSettings()
    configure_logging("mail-sink", settings.log_level, settings.log_format)
    serve_sink(host, port)


TOP_LEVEL = frozenset({"up", "serve", "migrate", "worker", "gateway", "mail-sink"})


def main() -> None:
    add_groups(groups_for(sys.argv[1:]))
    try:
        app()
        code = 0
    except SystemExit as exc:
        code = exit_code(exc)
    leave(code)
