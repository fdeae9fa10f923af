"""One Stride stack for the whole e2e package: real processes, started by ``stride up``'s
supervisor on free ports, with a private Temporal dev server, a private nats-server, a
temporary data directory and PostgreSQL (``database_url``) or SQLite.

Only processes this fixture starts are ever signalled.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from services.cli.stack import StackConfig, start_stack
from services.cli.supervisor import ProcessFailed, Supervisor, tail
from services.common.mail_sink import MailSink
from services.identity.bootstrap import create_admin

# The API needs a signed-in caller: an admin made like `stride admin create` does.
ADMIN_LOGIN = "e2e-admin"
ADMIN_PASSWORD = "Checkin-flow-pass-1"


@dataclass
class Stack:
    config: StackConfig
    sup: Supervisor
    # Base URL {gateway}/api/v1.
    api: httpx.AsyncClient
    # The SMTP server the stack sends e-mail to (in this process, so tests read what came).
    mail: MailSink

    def logs(self, *names: str, lines: int = 30) -> str:
        """Tails of the named processes' logs, for assertion messages."""
        parts = []
        for name in names or tuple(self.sup.names):
            parts.append(f"--- {name} ---\n{tail(self.sup.log_path(name), lines)}")
        return "\n".join(parts)


def _failure_message(err: ProcessFailed) -> str:
    return f"{err}\n--- last lines of {err.log_path} ---\n{err.log_tail}"


@pytest.fixture(scope="package")
async def stack(
    tmp_path_factory: pytest.TempPathFactory, database_url: str | None
) -> AsyncIterator[Stack]:
    data_dir: Path = tmp_path_factory.mktemp("stride-e2e")
    mail = MailSink().start()
    config = StackConfig.on_free_ports(
        data_dir,
        database_url=database_url,
        # A real SMTP server the tests read (instead of the stack's own mail-sink process).
        smtp_external=f"{mail.host}:{mail.port}",
        temporal_ui_port=None,
        start_timeout=120.0,
        env={
            # Own schemas in a shared PostgreSQL database (other suites use the same one).
            "STRIDE_SCHEMA_PREFIX": f"e2e{uuid.uuid4().hex[:8]}_",
            "STRIDE_OUTBOX_POLL_INTERVAL": "0.2",
            # Silent telemetry sources are noticed within a second (test_telemetry_factory).
            "STRIDE_TELEMETRY_STALENESS_INTERVAL": "1",
            "STRIDE_PASSWORD_HASH_PROFILE": "CHEAPEST",
            "STRIDE_LOG_LEVEL": "INFO",
            # One sign-in lasts the whole package.
            "STRIDE_ACCESS_TOKEN_TTL": "3600",
        },
    )
    async with contextlib.AsyncExitStack() as cleanup:
        cleanup.callback(mail.stop)
        sup = await cleanup.enter_async_context(Supervisor(config.log_dir))
        try:
            await start_stack(sup, config)
        except ProcessFailed as err:
            pytest.fail(_failure_message(err), pytrace=False)
        await create_admin(
            config.service_addr("identity"),
            employee_number=ADMIN_LOGIN,
            name="E2E Admin",
            email="e2e-admin@example.com",
            department="E2E",
            password=ADMIN_PASSWORD,
        )
        async with httpx.AsyncClient(base_url=f"{config.gateway_url}/api/v1", timeout=30) as api:
            resp = await api.post(
                "/auth/login", json={"login": ADMIN_LOGIN, "password": ADMIN_PASSWORD}
            )
            assert resp.status_code == 200, resp.text
            api.headers["Authorization"] = f"Bearer {resp.json()['access_token']}"
            # No quiet hours: the tests wait for mail in real time, at any hour of the day.
            quiet = {"time_zone": "Asia/Shanghai", "quiet_start": "00:00", "quiet_end": "00:00"}
            resp = await api.put("/org/notification-policy", json=quiet)
            assert resp.status_code == 200, resp.text
            yield Stack(config, sup, api, mail)
        # Leaving the Supervisor block stops everything in reverse order; anything that
        # does not stop on SIGTERM in time is killed (and reaped) there.
