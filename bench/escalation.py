"""From the check-in that makes a key result at risk to the warning e-mail in the SMTP server.

The whole stack as ``stride up`` runs it (embedded SQLite, its own NATS and Temporal dev
server, identity, goals, the worker, the gateway: real processes under the supervisor), idle
apart from this benchmark, and an SMTP server in this process that notes when each message
arrives. Per sample: a key result of its own owner (with a manager), one lagging check-in,
then the second one through the gateway; the figure is the time from the second check-in's
response to the owner's warning e-mail arriving (outbox → NATS → bridge → escalation
workflow → notify activity → identity inbox → SMTP). Sequential: one escalation at a time.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from bench.load import percentile
from bench.report import Target
from services.cli.stack import StackConfig, start_stack
from services.cli.supervisor import Supervisor
from services.common.mail_sink import MailSink
from services.identity.bootstrap import create_admin
from workflows.vocabulary import week_of

SAMPLES = 20
TARGET_P95_SECONDS = 3.0
MAIL_TIMEOUT_SECONDS = 60.0
ADMIN, PASSWORD = "bench-admin", "Bench-escalation-1"


class TimedSink(MailSink):
    """A MailSink that notes when each message arrived (monotonic seconds)."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: dict[str, float] = {}

    def _received(self, message: EmailMessage, recipients: list[str]) -> None:
        for to in recipients:
            self.arrived.setdefault(to, time.monotonic())
        super()._received(message, recipients)


@dataclass(frozen=True)
class Result:
    latencies: list[float]  # seconds, one per sample
    missing: int  # samples whose mail never came

    @property
    def p50(self) -> float:
        return percentile(sorted(self.latencies), 50)

    @property
    def p95(self) -> float:
        return percentile(sorted(self.latencies), 95)


async def _post(api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> Any:
    resp = await api.post(path, json=body)
    if resp.status_code != 201:
        raise RuntimeError(f"POST {path}: {resp.status_code} {resp.text}")
    return resp.json()


async def _sample(api: httpx.AsyncClient, sink: TimedSink, cycle: str, start: date) -> float:
    """One key result escalated; seconds from the at-risk check-in to its warning mail."""
    n = uuid.uuid4().hex[:8]
    dept = await _post(api, "/departments", {"name": f"Bench {n}"})
    manager = await _post(
        api,
        "/employees",
        {
            "employee_number": f"BM{n}",
            "name": "Manager",
            "email": f"m{n}@example.com",
            "department_id": dept["id"],
        },
    )
    owner_mail = f"o{n}@example.com"
    owner = await _post(
        api,
        "/employees",
        {
            "employee_number": f"BO{n}",
            "name": "Owner",
            "email": owner_mail,
            "department_id": dept["id"],
            "manager_id": manager["id"],
        },
    )
    objective = await _post(
        api, "/objectives", {"cycle_id": cycle, "title": "Bench", "owner_id": owner["id"]}
    )
    kr = await _post(
        api,
        f"/objectives/{objective['id']}/key-results",
        {"title": "Lagging", "owner_id": owner["id"], "baseline": 0, "target": 100},
    )
    path = f"/key-results/{kr['id']}/check-ins"
    await _post(
        api, path, {"value": 1, "confidence": 3, "week": week_of(start + timedelta(weeks=2))}
    )
    second = await _post(
        api, path, {"value": 2, "confidence": 3, "week": week_of(start + timedelta(weeks=3))}
    )
    sent = time.monotonic()
    if second["risk"]["status"] != "at_risk":
        raise RuntimeError(f"the second lagging check-in is {second['risk']['status']}")
    while owner_mail not in sink.arrived:
        if time.monotonic() - sent > MAIL_TIMEOUT_SECONDS:
            raise TimeoutError(owner_mail)
        await asyncio.sleep(0.01)
    return sink.arrived[owner_mail] - sent


async def run(samples: int = SAMPLES, console: Console | None = None) -> Result:
    console = console or Console()
    sink = TimedSink()
    with tempfile.TemporaryDirectory(prefix="stride-bench-esc-") as tmp, sink:
        config = StackConfig.on_free_ports(
            Path(tmp),
            smtp_external=f"{sink.host}:{sink.port}",
            temporal_ui_port=None,
            start_timeout=240.0,
            env={"STRIDE_LOG_LEVEL": "WARNING"},
        )
        async with Supervisor(config.log_dir) as sup:
            console.print("  starting the stack …")
            await start_stack(sup, config)
            await create_admin(
                config.service_addr("identity"),
                employee_number=ADMIN,
                name="Bench Admin",
                email="bench-admin@example.com",
                department="Bench",
                password=PASSWORD,
            )
            base = f"{config.gateway_url}/api/v1"
            async with httpx.AsyncClient(base_url=base, timeout=60) as api:
                resp = await api.post("/auth/login", json={"login": ADMIN, "password": PASSWORD})
                resp.raise_for_status()
                api.headers["Authorization"] = f"Bearer {resp.json()['access_token']}"
                # No quiet hours: measured at any hour of the day (22:00-08:00 org time would
                # hold the mail until the morning).
                quiet = {"time_zone": "Asia/Shanghai", "quiet_start": "00:00", "quiet_end": "00:00"}
                (await api.put("/org/notification-policy", json=quiet)).raise_for_status()
                start = date.today() - timedelta(weeks=8, days=date.today().weekday())
                cycle = await _post(
                    api,
                    "/cycles",
                    {
                        "name": f"Bench {uuid.uuid4().hex[:6]}",
                        "start_date": start.isoformat(),
                        "end_date": (start + timedelta(weeks=13, days=-1)).isoformat(),
                    },
                )
                console.print(f"  {samples} escalations, one at a time …")
                latencies: list[float] = []
                missing = 0
                for _ in range(samples):
                    try:
                        latencies.append(await _sample(api, sink, cycle["id"], start))
                    except TimeoutError:
                        missing += 1
    return Result(latencies, missing)


def print_escalation(console: Console, result: Result) -> None:
    table = Table(title="At-risk check-in → warning e-mail in the SMTP server (idle stack)")
    for column in ("samples", "mail missing", "p50 s", "p95 s", "max s"):
        table.add_column(column, justify="right")
    table.add_row(
        str(len(result.latencies)),
        str(result.missing),
        f"{result.p50:.2f}",
        f"{result.p95:.2f}",
        f"{max(result.latencies, default=0.0):.2f}",
    )
    console.print(table)


def escalation_targets(result: Result) -> list[Target]:
    note = f"{len(result.latencies)} samples" + (
        f", {result.missing} mails never came" if result.missing else ""
    )
    p95 = result.p95 if not result.missing else float("inf")
    return [
        Target(
            "warning e-mail after the at-risk check-in, p95",
            p95,
            TARGET_P95_SECONDS,
            at_most=True,
            unit="s",
            note=note,
        )
    ]
