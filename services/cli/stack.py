"""The Stride stack as a list of processes: what ``stride up`` and the e2e tests start.

Engines first (Temporal dev server, nats-server; both in parallel) while ``stride migrate``
brings every service's database to head, then the services, the worker and the gateway (in
parallel; each waits for what it needs). Stopping goes the other way round: gateway, worker,
services, engines. The migration runs once, on its own, so that the services find their
databases at head and never import Alembic (~10 MB each, kept until exit).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from services.cli.probes import GrpcHealthCheck, HttpCheck, TcpCheck
from services.cli.restarts import RestartPolicy
from services.cli.supervisor import ProcessSpec, Supervisor
from services.common.binaries import find_binary, free_ports
from services.common.settings import SERVICE_PORTS

SEARCH_ATTRIBUTES: tuple[str, ...] = (
    "StrideCycle",
    "StrideDepartment",
    "StridePhase",
    "StrideRiskLevel",
)
# `temporal server start-dev --sqlite-pragma`: measured ~2.5x faster starts, ~5x signals.
TEMPORAL_SQLITE_PRAGMAS: tuple[str, ...] = ("journal_mode=wal", "synchronous=off")
TEMPORAL_HEALTH_SERVICE = "temporal.api.workflowservice.v1.WorkflowService"
# The development server's Go runtime collects garbage sooner (GOGC 50 instead of 100): the
# idle stack's largest process, a development stack on a laptop, no measurable cost in speed.
TEMPORAL_DEV_ENV: dict[str, str | None] = {"GOGC": "50"}

SERVICES: tuple[str, ...] = ("identity", "goals", "feedback", "telemetry")

# Environment variables the stack sets for its Python processes; anything else the user
# exported (STRIDE_LOG_LEVEL, STRIDE_TIME_ZONE, ...) passes through unchanged.
_MANAGED_ENV = (
    "STRIDE_DATA_DIR",
    "STRIDE_DATABASE_URL",
    "STRIDE_NATS_URL",
    "STRIDE_TEMPORAL_ADDRESS",
    "STRIDE_TEMPORAL_NAMESPACE",
    "STRIDE_TASK_QUEUE",
    "STRIDE_IDENTITY_ADDR",
    "STRIDE_GOALS_ADDR",
    "STRIDE_FEEDBACK_ADDR",
    "STRIDE_TELEMETRY_ADDR",
    "STRIDE_GRPC_HOST",
    "STRIDE_GRPC_PORT",
    "STRIDE_HTTP_HOST",
    "STRIDE_HTTP_PORT",
    "STRIDE_HEALTH_HOST",
    "STRIDE_HEALTH_PORT",
    "STRIDE_SMTP_HOST",
    "STRIDE_SMTP_PORT",
)


@dataclass
class StackConfig:
    data_dir: Path
    # PostgreSQL URL; None: one SQLite file per service under data_dir.
    database_url: str | None = None
    host: str = "127.0.0.1"
    # Temporal: started here unless temporal_external is set (then that address is used).
    temporal_port: int = 7233
    # None: run the dev server without its web UI.
    temporal_ui_port: int | None = 8233
    temporal_external: str | None = None
    namespace: str = "default"
    task_queue: str = "stride"
    # NATS: started here unless nats_external is set.
    nats_port: int = 4222
    nats_external: str | None = None
    service_ports: dict[str, int] = field(default_factory=lambda: dict(SERVICE_PORTS))
    gateway_port: int = 8080
    # The worker's /healthz and /readyz (the stack waits for /readyz).
    worker_health_port: int = 8081
    # E-mail: a local sink that logs mail (stride mail-sink) unless smtp_external is set
    # ("host:port" of the SMTP server the worker uses, from STRIDE_SMTP_HOST/PORT).
    smtp_port: int = 2525
    smtp_external: str | None = None
    # Extra environment for the Python processes (e.g. STRIDE_LOG_LEVEL).
    env: dict[str, str] = field(default_factory=dict)
    start_timeout: float = 90.0
    # When a crashed child is started again, and when the stack gives up (a crash loop).
    restart_policy: RestartPolicy = field(default_factory=RestartPolicy)

    @classmethod
    def on_free_ports(cls, data_dir: Path, **kwargs: object) -> StackConfig:
        """Every port picked at random (tests, several stacks on one machine)."""
        host = str(kwargs.get("host", "127.0.0.1"))
        picked = iter(free_ports(6 + len(SERVICES), host))  # distinct: one per listener
        ports = {
            "temporal_port": next(picked),
            "temporal_ui_port": next(picked),
            "nats_port": next(picked),
            "gateway_port": next(picked),
            "worker_health_port": next(picked),
            "smtp_port": next(picked),
            "service_ports": {name: next(picked) for name in SERVICES},
        }
        ports.update(kwargs)
        return cls(data_dir=data_dir, **ports)  # type: ignore[arg-type]

    def ports(self) -> set[int]:
        """Every port this stack's processes will listen on."""
        return {
            self.temporal_port,
            *([self.temporal_ui_port] if self.temporal_ui_port is not None else []),
            self.nats_port,
            self.gateway_port,
            self.worker_health_port,
            self.smtp_port,
            *self.service_ports.values(),
        }

    # -- addresses -----------------------------------------------------------------------

    @property
    def temporal_address(self) -> str:
        return self.temporal_external or f"{self.host}:{self.temporal_port}"

    @property
    def nats_url(self) -> str:
        return self.nats_external or f"nats://{self.host}:{self.nats_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://{self.host}:{self.gateway_port}"

    @property
    def temporal_ui_url(self) -> str | None:
        if self.temporal_external or self.temporal_ui_port is None:
            return None
        return f"http://{self.host}:{self.temporal_ui_port}"

    def service_addr(self, name: str) -> str:
        return f"{self.host}:{self.service_ports[name]}"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    # -- processes -----------------------------------------------------------------------

    def temporal_spec(self) -> ProcessSpec:
        argv = [
            find_binary("temporal"),
            "server",
            "start-dev",
            "--db-filename",
            str(self.data_dir / "temporal.db"),
            "--ip",
            self.host,
            "--port",
            str(self.temporal_port),
            "--namespace",
            self.namespace,
        ]
        if self.temporal_ui_port is None:
            argv.append("--headless")
        else:
            argv += ["--ui-port", str(self.temporal_ui_port)]
        for name in SEARCH_ATTRIBUTES:
            argv += ["--search-attribute", f"{name}=Keyword"]
        for pragma in TEMPORAL_SQLITE_PRAGMAS:
            argv += ["--sqlite-pragma", pragma]
        ports = [(self.host, self.temporal_port)]
        if self.temporal_ui_port is not None:
            ports.append((self.host, self.temporal_ui_port))
        return ProcessSpec(
            name="temporal",
            argv=argv,
            env=TEMPORAL_DEV_ENV,
            health=GrpcHealthCheck(self.temporal_address, TEMPORAL_HEALTH_SERVICE),
            ports=ports,
            start_timeout=self.start_timeout,
        )

    def nats_spec(self) -> ProcessSpec:
        argv = [
            find_binary("nats-server"),
            "-a",
            self.host,
            "-p",
            str(self.nats_port),
            "-js",
            "-sd",
            str(self.data_dir / "nats"),
        ]
        return ProcessSpec(
            name="nats",
            argv=argv,
            health=TcpCheck(self.host, self.nats_port),
            ports=[(self.host, self.nats_port)],
            start_timeout=self.start_timeout,
        )

    def python_env(self, **extra: str) -> dict[str, str | None]:
        env: dict[str, str | None] = dict.fromkeys(_MANAGED_ENV)
        env.update(
            STRIDE_DATA_DIR=str(self.data_dir),
            STRIDE_NATS_URL=self.nats_url,
            STRIDE_TEMPORAL_ADDRESS=self.temporal_address,
            STRIDE_TEMPORAL_NAMESPACE=self.namespace,
            STRIDE_TASK_QUEUE=self.task_queue,
            STRIDE_IDENTITY_ADDR=self.service_addr("identity"),
            STRIDE_GOALS_ADDR=self.service_addr("goals"),
            STRIDE_FEEDBACK_ADDR=self.service_addr("feedback"),
            STRIDE_TELEMETRY_ADDR=self.service_addr("telemetry"),
            PYTHONUNBUFFERED="1",
        )
        if self.database_url:
            env["STRIDE_DATABASE_URL"] = self.database_url
        env.update(self.env)
        env.update(extra)
        return env

    def service_spec(self, name: str) -> ProcessSpec:
        port = self.service_ports[name]
        return ProcessSpec(
            name=name,
            argv=[*stride_command(), "serve", name],
            env=self.python_env(STRIDE_GRPC_HOST=self.host, STRIDE_GRPC_PORT=str(port)),
            health=GrpcHealthCheck(self.service_addr(name)),
            ports=[(self.host, port)],
            start_timeout=self.start_timeout,
        )

    @property
    def worker_health_url(self) -> str:
        return f"http://{self.host}:{self.worker_health_port}"

    def mail_sink_spec(self) -> ProcessSpec:
        return ProcessSpec(
            name="mail-sink",
            # `stride mail-sink` without the CLI around it (services/common/mail_sink.main).
            argv=[
                sys.executable,
                "-m",
                "services.common.mail_sink",
                "--host",
                self.host,
                "--port",
                str(self.smtp_port),
            ],
            env=self.python_env(),
            health=TcpCheck(self.host, self.smtp_port),
            ports=[(self.host, self.smtp_port)],
            start_timeout=self.start_timeout,
        )

    def smtp_env(self) -> dict[str, str]:
        if self.smtp_external is not None:
            host, _, port = self.smtp_external.rpartition(":")
            return {"STRIDE_SMTP_HOST": host, "STRIDE_SMTP_PORT": port}
        return {"STRIDE_SMTP_HOST": self.host, "STRIDE_SMTP_PORT": str(self.smtp_port)}

    def worker_spec(self) -> ProcessSpec:
        # The worker only connects out, but serves /healthz and /readyz: ready once it is
        # connected to Temporal and NATS and its worker, event bridge and integrations worker
        # are polling.
        return ProcessSpec(
            name="worker",
            argv=[*stride_command(), "serve", "worker"],
            env=self.python_env(
                STRIDE_HEALTH_HOST=self.host,
                STRIDE_HEALTH_PORT=str(self.worker_health_port),
                # The integrations worker (the installed plugins) in the same process: one
                # Python process less on a laptop; Kubernetes runs it on its own.
                STRIDE_INTEGRATIONS_IN_WORKER="true",
                # Links in e-mails open the web app this stack serves (unless set otherwise).
                STRIDE_WEB_URL=os.environ.get("STRIDE_WEB_URL") or self.gateway_url,
                **self.smtp_env(),
            ),
            health=HttpCheck(f"{self.worker_health_url}/readyz"),
            ports=[(self.host, self.worker_health_port)],
            start_timeout=self.start_timeout,
        )

    def gateway_spec(self) -> ProcessSpec:
        return ProcessSpec(
            name="gateway",
            argv=[*stride_command(), "serve", "gateway"],
            env=self.python_env(
                STRIDE_HTTP_HOST=self.host, STRIDE_HTTP_PORT=str(self.gateway_port)
            ),
            health=HttpCheck(f"{self.gateway_url}/readyz"),
            ports=[(self.host, self.gateway_port)],
            start_timeout=self.start_timeout,
        )

    def migrate_spec(self) -> ProcessSpec:
        """``stride migrate`` (every service), a one-shot process run before the services."""
        return ProcessSpec(
            name="migrate",
            argv=[*stride_command(), "migrate"],
            env=self.python_env(),
            start_timeout=self.start_timeout,
        )

    def engine_specs(self) -> list[ProcessSpec]:
        specs = []
        if self.temporal_external is None:
            specs.append(self.temporal_spec())
        if self.nats_external is None:
            specs.append(self.nats_spec())
        if self.smtp_external is None:
            specs.append(self.mail_sink_spec())
        return specs

    def app_specs(self) -> list[ProcessSpec]:
        return [
            *(self.service_spec(name) for name in SERVICES),
            self.worker_spec(),
            self.gateway_spec(),
        ]


# Told "starting" before and "started" after each step of start_stack, with its processes.
StartProgress = Callable[[str, Sequence[ProcessSpec]], None]


def _quiet(_event: str, _specs: Sequence[ProcessSpec]) -> None:
    pass


async def start_stack(
    sup: Supervisor, config: StackConfig, progress: StartProgress = _quiet
) -> None:
    """Start ``config``'s processes under ``sup``: the engines while ``stride migrate`` runs,
    then (once both are done) the services, the worker and the gateway.

    Raises what :meth:`Supervisor.start` and :meth:`Supervisor.run_once` raise."""
    migrate = config.migrate_spec()
    progress("starting", [migrate])
    migration = asyncio.create_task(sup.run_once(migrate))
    try:
        if engines := config.engine_specs():
            progress("starting", engines)
            await sup.start(*engines)
            progress("started", engines)
        await migration
        progress("started", [migrate])
    finally:
        if not migration.done():
            migration.cancel()
        await asyncio.gather(migration, return_exceptions=True)
    apps = config.app_specs()
    progress("starting", apps)
    await sup.start(*apps)
    progress("started", apps)


def stride_command() -> Sequence[str]:
    """How to run this installation's ``stride``: the console script beside the interpreter."""
    script = Path(sys.executable).parent / "stride"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "services.cli"]
