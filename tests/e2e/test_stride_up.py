"""``stride up`` itself (what ``make up`` runs), as a real command on random free ports.

First run: starts everything, seeds the demo organisation, Ctrl-C stops every child.
Second run on the same data directory: reuses the data (nothing seeded twice); then the
command is SIGKILLed and its children must still go (PR_SET_PDEATHSIG).
Restarts: children SIGKILLed under a running ``stride up`` are started again and the gateway
serves check-ins within 10 s; a child that keeps dying stops the stack (a crash loop).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.up_process import Up, alive

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture
def up_env(database_url: str | None) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRIDE_")}
    env["STRIDE_PASSWORD_HASH_PROFILE"] = "CHEAPEST"
    env["COLUMNS"] = "200"  # rich: no line wrapping in the captured output
    env["STRIDE_DEMO_ADMIN_PASSWORD"] = DEMO_ADMIN_PASSWORD
    if database_url:
        env["STRIDE_DATABASE_URL"] = database_url
        env["STRIDE_SCHEMA_PREFIX"] = f"up{os.getpid()}_"
    yield env


DEMO_ADMIN_PASSWORD = "Stride-demo-pass-1"


def _count(gateway: str, path: str) -> int:
    login = httpx.post(
        f"{gateway}/api/v1/auth/login",
        json={"login": "admin", "password": DEMO_ADMIN_PASSWORD},
        timeout=10,
    )
    assert login.status_code == 200, login.text
    resp = httpx.get(
        f"{gateway}/api/v1{path}",
        params={"page_size": 200},
        headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    return len(resp.json()["items"])


def test_stride_up_seeds_once_and_leaves_no_process_behind(
    tmp_path: Path, up_env: dict[str, str]
) -> None:
    data_dir = tmp_path / "stride"
    first = Up(data_dir, up_env)
    try:
        state = first.wait_up()
        gateway = state["gateway_url"]
        assert httpx.get(f"{gateway}/readyz", timeout=10).status_code == 200
        assert "Demo data: created 6 departments, 9 employees" in first.text()
        # Every service's database was brought to head once, before the services started
        # (they then never import Alembic): a one-shot step, not a child left running.
        assert re.search(r"✓ migrate\s+done", first.text()), first.text()
        migrated = re.findall(r"migrated: (.*)", (data_dir / "logs" / "migrate.log").read_text())
        # Schemas (PostgreSQL: <prefix>_<service>) or SQLite files, one per service.
        assert migrated and {s.rsplit("_", 1)[-1] for s in migrated[-1].split(", ")} == {
            "identity",
            "goals",
            "feedback",
            "telemetry",
        }
        paths = ("/departments", "/employees", "/cycles", "/objectives")
        counts = {p: _count(gateway, p) for p in paths}
        # The 9 demo employees and the demo admin; line 3's objective, the company objective
        # and the cross-department one aligned to it.
        assert counts == {"/departments": 6, "/employees": 10, "/cycles": 1, "/objectives": 3}
        assert "Demo admin: sign in as admin with password Stride-demo-pass-1" in first.text()
        # A demo person (PMC, owner of the cross-department objective) signs in with their
        # employee number and the same password; the web app's sign-in page is served.
        person = httpx.post(
            f"{gateway}/api/v1/auth/login",
            json={"login": "D-1007", "password": DEMO_ADMIN_PASSWORD},
            timeout=30,
        )
        assert person.status_code == 200, person.text
        assert httpx.get(f"{gateway}/sign-in", timeout=10).status_code == 200
        temporal = subprocess.run(
            [
                str(Path(sys.executable).parent / "temporal"),
                "workflow",
                "list",
                "--address",
                state["temporal_address"],
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert temporal.returncode == 0, temporal.stderr
        # temporal, nats, mail-sink, identity, goals, feedback, telemetry, worker, gateway
        assert set(state["children"]) == {
            "temporal",
            "nats",
            "mail-sink",
            "identity",
            "goals",
            "feedback",
            "telemetry",
            "worker",
            "gateway",
        }

        first.proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert first.proc.wait(90) == 0, first.text()
        out = first.text()
        stop_order = (
            "gateway",
            "worker",
            "telemetry",
            "feedback",
            "goals",
            "identity",
            "nats",
            "temporal",
        )
        order = [out.index(f"{name} (") for name in stop_order]
        assert order == sorted(order), f"not stopped in reverse order:\n{out}"
        # Graceful: every process should end on SIGTERM (checked last, so that the rest of
        # the test still runs when one does not).
        killed = [line.strip() for line in out.splitlines() if line.strip().startswith("killed")]
        assert not [pid for pid in first.children() if alive(pid)]
        assert not (data_dir / "stack.json").exists()
    finally:
        first.close()

    second = Up(data_dir, up_env)
    try:
        state = second.wait_up()
        assert "Demo data: already there, reusing it." in second.text()
        assert _count(state["gateway_url"], "/departments") == 6
        second.proc.kill()  # no chance to clean up: the kernel must take the children along
        second.proc.wait()
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in second.children()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in second.children() if alive(pid)]
    finally:
        second.close()
    assert not killed, f"did not stop on SIGTERM within its timeout: {killed}"


def _sign_in(gateway: str) -> dict[str, str]:
    login = httpx.post(
        f"{gateway}/api/v1/auth/login",
        json={"login": "admin", "password": DEMO_ADMIN_PASSWORD},
        timeout=10,
    )
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def _check_in(gateway: str, headers: dict[str, str], kr_id: str) -> int:
    """POST a check-in for this week; its status, 0 when the gateway did not answer."""
    try:
        resp = httpx.post(
            f"{gateway}/api/v1/key-results/{kr_id}/check-ins",
            json={"value": 1, "confidence": 7},
            headers=headers,
            timeout=5,
        )
    except httpx.TransportError:
        return 0
    return resp.status_code


def test_stride_up_restarts_crashed_children_and_gives_up_on_a_crash_loop(
    tmp_path: Path, up_env: dict[str, str]
) -> None:
    up = Up(tmp_path / "stride", up_env)
    try:
        state = up.wait_up()
        gateway = state["gateway_url"]
        headers = _sign_in(gateway)
        krs = httpx.get(f"{gateway}/api/v1/key-results", headers=headers, timeout=10)
        assert krs.status_code == 200, krs.text
        kr_id = next(k["id"] for k in krs.json()["items"] if k["kind"] == "number")
        assert _check_in(gateway, headers, kr_id) == 201
        before = up.children_now()

        for name in ("worker", "goals"):
            os.kill(before[name], signal.SIGKILL)
        killed = time.monotonic()
        statuses = []
        while (status := _check_in(gateway, headers, kr_id)) != 201:
            statuses.append(status)
            assert time.monotonic() - killed < 10, f"no check-in within 10 s: {statuses}"
            time.sleep(0.2)
        # Every answer in between was a clear "come back later", never a 500.
        assert set(statuses) <= {503}, statuses
        # Both are back (healthy) soon after; the check-in above did not need the worker.
        while not all(up.restarts(n) == 1 for n in ("worker", "goals")):
            assert time.monotonic() - killed < 30, f"not restarted:\n{up.text()}"
            time.sleep(0.1)
        after = up.children_now()
        ready = httpx.get(f"{state['worker_health_url']}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        assert after["gateway"] == before["gateway"]  # nothing else was restarted
        assert up.proc.poll() is None
        out = up.text()
        assert "worker exited (code -9); restarting in 0.5 s" in out
        assert "goals exited (code -9); restarting in 0.5 s" in out
        # The structured log line (stderr) names the process and how it ended.
        assert re.search(r"process exited, restarting .*exit_code=-9.*process=worker", out), out

        # A worker that dies each time it comes back: a crash loop stops the whole stack.
        pid = after["worker"]
        while True:
            restarts = up.restarts("worker")
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while up.proc.poll() is None and up.restarts("worker") == restarts:
                assert time.monotonic() < deadline, up.text()
                time.sleep(0.05)
            if up.proc.poll() is not None:
                break
            pid = up.children_now()["worker"]
        assert up.proc.wait(60) == 1
        out = up.text()
        assert "worker failed" in out
        assert "crash loop: exited 5 times within 60s (last exit code -9); not restarted" in out
        assert "Stride stopped after a failure." in out
        assert not [pid for pid in up.children() if alive(pid)]
        assert not [pid for pid in after.values() if alive(pid)]
    finally:
        up.close()
