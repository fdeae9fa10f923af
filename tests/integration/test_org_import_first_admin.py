"""Importing the org, as a new customer follows the README: make the first admin with
`stride admin create`, then import HR's spreadsheet (which does not list the admin) with
`stride org import`. The admin must still be able to sign in; the dry run names who would be
deactivated; the mass-deactivation guard is a share of the active people; `stride admin
create` on a deactivated employee brings them back and says so.

Real engines: identity and goals behind the gateway (HTTP through httpx), PostgreSQL or
SQLite, a private NATS; the CLI commands run as typer apps against identity's gRPC port.
"""

from __future__ import annotations

import asyncio
import csv
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from services.cli.admin import admin_app
from services.cli.org import org_app
from tests.integration.gateway_stack import GatewayStack, gateway_stack

ADMIN_PASSWORD = "First-admin-pw-1"


@pytest.fixture
async def stack(database_url: str | None, data_dir: Path, nats_url: str) -> AsyncIterator[Any]:
    async with gateway_stack(database_url, data_dir, nats_url) as s:
        yield s


def write_people(path: Path, people: list[tuple[str, str, str]]) -> Path:
    """HR's spreadsheet: (number, name, manager) in one department."""
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["工号", "姓名", "部门", "上级工号"])
        for number, name, manager in people:
            out.writerow([number, name, "Acme/Plant", manager])
    return path


async def cli(app: Any, *args: str, env: dict[str, str] | None = None) -> Any:
    """Run a `stride` sub-app the way a shell would (in a thread: it runs its own loop)."""
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)


async def make_first_admin(stack: GatewayStack) -> Any:
    return await cli(
        admin_app,
        "create",
        "--employee-number",
        "ADM-1",
        "--name",
        "Wang Admin",
        "--email",
        "admin@example.com",
        env={
            "STRIDE_IDENTITY_ADDR": stack.settings.identity_addr,
            "STRIDE_ADMIN_PASSWORD": ADMIN_PASSWORD,
        },
    )


def staff(n: int) -> list[tuple[str, str, str]]:
    return [("E001", "Boss", "")] + [(f"E1{i:02d}", f"Worker {i}", "E001") for i in range(n)]


async def test_importing_the_spreadsheet_keeps_the_first_admin(
    stack: GatewayStack, tmp_path: Path
) -> None:
    made = await make_first_admin(stack)
    assert made.exit_code == 0, made.output
    await stack.login("ADM-1", ADMIN_PASSWORD)
    address = stack.settings.identity_addr

    sheet = write_people(tmp_path / "people.csv", staff(12))
    dry = await cli(org_app, "import", str(sheet), "--dry-run", "--identity", address)
    assert dry.exit_code == 0, dry.output
    assert "ADM-1" in dry.output and "kept" in dry.output  # named, and not deactivated

    done = await cli(org_app, "import", str(sheet), "--identity", address)
    assert done.exit_code == 0, done.output
    # The admin still signs in, and is still an active admin.
    tokens = await stack.login("ADM-1", ADMIN_PASSWORD)
    r = await stack.http.get(
        "/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert r.status_code == 200 and "admin" in r.json()["roles"]


async def test_the_guard_is_a_share_the_dry_run_names_people_and_admin_create_reactivates(
    stack: GatewayStack, tmp_path: Path
) -> None:
    made = await make_first_admin(stack)
    assert made.exit_code == 0, made.output
    address = stack.settings.identity_addr
    first = write_people(tmp_path / "people.csv", staff(12))  # 13 people + the admin
    done = await cli(org_app, "import", str(first), "--identity", address)
    assert done.exit_code == 0, done.output

    # Four of 14 active people (29 %) are missing from the next file: more than 20 %.
    # (The old guard, "more than 10 people", let this through.)
    leavers = {f"E1{i:02d}": f"Worker {i}" for i in range(8, 12)}
    second = write_people(tmp_path / "people2.csv", staff(8))
    dry = await cli(org_app, "import", str(second), "--dry-run", "--identity", address)
    assert dry.exit_code == 0, dry.output
    assert "would be deactivated (4)" in dry.output and "mass deactivation" in dry.output
    for number, name in leavers.items():
        assert number in dry.output and name in dry.output

    refused = await cli(org_app, "import", str(second), "--identity", address)
    assert refused.exit_code == 2, refused.output
    assert "would deactivate 4 of 14" in refused.output
    assert all(name in refused.output for name in leavers.values())
    admin = await stack.login("ADM-1", ADMIN_PASSWORD)
    headers = {"Authorization": f"Bearer {admin['access_token']}"}
    r = await stack.http.get("/employees", params={"page_size": 200}, headers=headers)
    assert {e["employee_number"] for e in r.json()["items"] if e["status"] == "left"} == set()

    # The runs list (HTTP) has the dry run with the names and the refused run with the reason.
    r = await stack.http.get("/org/sync/runs", headers=headers)
    assert r.status_code == 200, r.text
    latest_refused, latest_dry = r.json()["items"][:2]
    assert latest_dry["status"] == "dry_run" and latest_dry["mass_deactivation"] is True
    assert {(d["key"], d["name"]) for d in latest_dry["deactivations"]} == set(leavers.items())
    assert latest_refused["status"] == "failed"
    assert "would deactivate 4 of 14 active people" in latest_refused["error"]
    assert len(latest_refused["deactivations"]) == 4

    allowed = await cli(
        org_app, "import", str(second), "--allow-mass-deactivation", "--identity", address
    )
    assert allowed.exit_code == 0, allowed.output
    assert "deactivated (4)" in allowed.output

    # One of them was to be an admin: `stride admin create` brings them back and says so.
    back = await cli(
        admin_app,
        "create",
        "--employee-number",
        "E108",
        "--name",
        "Worker 8",
        "--email",
        "w8@example.com",
        env={
            "STRIDE_IDENTITY_ADDR": address,
            "STRIDE_ADMIN_PASSWORD": "Second-admin-pw-2",
        },
    )
    assert back.exit_code == 0, back.output
    assert "reactivated" in back.output
    tokens = await stack.login("E108", "Second-admin-pw-2")
    me = await stack.http.get(
        "/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200 and "admin" in me.json()["roles"]
