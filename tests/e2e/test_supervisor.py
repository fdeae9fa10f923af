"""The process supervisor behind ``stride up`` and the e2e stack, with small real processes.

Not marked ``e2e``: these start a few Python / nats-server processes for a second or two,
not the stack.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from services.cli.probes import TcpCheck
from services.cli.restarts import Restarted, Restarting, RestartPolicy, SupervisorEvent
from services.cli.supervisor import PortInUse, ProcessFailed, ProcessSpec, Supervisor
from services.common.binaries import find_binary, free_port
from tests.waiting import until

# Listens on the port given as argv[1] after an optional delay; exits 0 on SIGTERM.
LISTENER = textwrap.dedent(
    """
    import signal, socket, sys, time
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 0)
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
    print("listening", flush=True)
    while True:
        time.sleep(1)
    """
)


def listener(name: str, port: int, delay: float = 0.0, **kw: object) -> ProcessSpec:
    return ProcessSpec(
        name=name,
        argv=[sys.executable, "-c", LISTENER, str(port), str(delay)],
        health=TcpCheck("127.0.0.1", port),
        ports=[("127.0.0.1", port)],
        **kw,  # type: ignore[arg-type]
    )


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_starts_in_order_and_stops_in_reverse(tmp_path: Path) -> None:
    a, b = free_port(), free_port()
    stopped: list[str] = []
    async with Supervisor(tmp_path / "logs") as sup:
        await sup.start(listener("first", a))
        await sup.start(listener("second", b, delay=0.5))
        pids = sup.pids()
        assert set(pids) == {"first", "second"}
        codes = await sup.stop_all(on_stop=lambda name, rc: stopped.append(name))
    assert stopped == ["second", "first"]
    assert codes == {"second": 0, "first": 0}
    assert not any(alive(pid) for pid in pids.values())
    assert "listening" in (tmp_path / "logs" / "first.log").read_text()


async def test_a_child_that_ignores_sigterm_is_killed(tmp_path: Path) -> None:
    stubborn = ProcessSpec(
        name="stubborn",
        argv=[
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('handler' + '-installed', flush=True); time.sleep(60)",
        ],
        stop_timeout=0.5,
    )
    async with Supervisor(tmp_path) as sup:
        await sup.start(stubborn)
        pid = sup.child("stubborn").pid
        # Wait until it has installed its handler (it prints the marker afterwards; the
        # marker is split in the command line so the logged command does not match).
        deadline = time.monotonic() + 20
        while "handler-installed" not in sup.log_path("stubborn").read_text(errors="replace"):
            assert time.monotonic() < deadline, "the stubborn child never started"
            await asyncio.sleep(0.05)
        started = time.monotonic()
        assert await sup.stop("stubborn") == -signal.SIGKILL
        assert time.monotonic() - started < 5
        assert sup.child("stubborn").killed
    assert not alive(pid)


async def test_a_child_that_dies_is_reported_with_its_log(tmp_path: Path) -> None:
    dying = ProcessSpec(
        name="dying",
        argv=[sys.executable, "-c", "import sys; print('cannot open the database'); sys.exit(3)"],
        health=TcpCheck("127.0.0.1", free_port()),
    )
    async with Supervisor(tmp_path) as sup:
        with pytest.raises(ProcessFailed) as info:
            await sup.start(dying)
    assert info.value.name == "dying"
    assert "exited with code 3" in info.value.reason
    assert "cannot open the database" in info.value.log_tail


async def test_a_child_that_never_gets_healthy_times_out(tmp_path: Path) -> None:
    port = free_port()
    slow = listener("slow", port, delay=30, start_timeout=1.0)
    async with Supervisor(tmp_path) as sup:
        with pytest.raises(ProcessFailed, match="not healthy after 1s"):
            await sup.start(slow)
        pid = sup.child("slow").pid
    assert not alive(pid)


async def test_a_taken_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        async with Supervisor(tmp_path) as sup:
            with pytest.raises(PortInUse, match=str(port)):
                await sup.start(listener("late", port))
            assert "late" not in sup
    assert not (tmp_path / "late.log").exists()


async def test_kill_and_restart(tmp_path: Path) -> None:
    port = free_port()
    async with Supervisor(tmp_path) as sup:
        await sup.start(listener("svc", port))
        first = sup.child("svc").pid
        assert await sup.kill("svc") == -signal.SIGKILL
        await sup.restart("svc")
        second = sup.child("svc").pid
        assert second != first
        assert not alive(first)
        assert (tmp_path / "svc.log").read_text().count("=== ") == 2


async def test_a_crashed_child_is_restarted_and_logged(tmp_path: Path) -> None:
    """SIGKILLed by someone else: started again (after the first back-off) and healthy on
    the same port, with a structured log line for the crash and for the restart."""
    port = free_port()
    events: list[SupervisorEvent] = []
    async with Supervisor(tmp_path) as sup:
        await sup.start(listener("svc", port), listener("other", free_port()))
        other = sup.child("other").pid
        with capture_logs() as logs:
            watch = asyncio.create_task(sup.supervise(RestartPolicy(), events.append))
            first = sup.child("svc").pid
            os.kill(first, signal.SIGKILL)
            await until(lambda: any(isinstance(e, Restarted) for e in events), 30)
            assert not watch.done()
            second = sup.child("svc").pid
            assert second != first and alive(second) and not alive(first)
            assert await TcpCheck("127.0.0.1", port)()
            assert sup.child("other").pid == other  # the others are left alone
            # Killed again: restarted again, after twice the back-off.
            os.kill(second, signal.SIGKILL)
            await until(lambda: sum(isinstance(e, Restarted) for e in events) == 2, 30)
            await sup.stop_all()
            assert await asyncio.wait_for(watch, 10) is None  # everything stopped on purpose
    restarting = [e for e in events if isinstance(e, Restarting)]
    assert [(e.name, e.exit_code, e.crashes, e.delay) for e in restarting] == [
        ("svc", -signal.SIGKILL, 1, 0.5),
        ("svc", -signal.SIGKILL, 2, 1.0),
    ]
    crashed = [e for e in logs if e["event"] == "process exited, restarting"]
    assert [(e["process"], e["exit_code"], e["log_level"]) for e in crashed] == [
        ("svc", -9, "warning"),
        ("svc", -9, "warning"),
    ]
    assert crashed[0]["pid"] == first and crashed[0]["restart_in_s"] == 0.5
    restarted = [e for e in logs if e["event"] == "process restarted"]
    assert [e["pid"] for e in restarted] == [second, sup.child("svc").pid]
    assert not alive(sup.child("svc").pid)


# Serves on argv[1] for a moment, then dies: a process that always crashes.
CRASHER = textwrap.dedent(
    """
    import socket, sys, time
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
    time.sleep(0.3)
    print("giving up", flush=True)
    sys.exit(3)
    """
)


async def test_a_child_that_always_crashes_is_a_crash_loop(tmp_path: Path) -> None:
    port = free_port()
    crasher = ProcessSpec(
        name="crasher",
        argv=[sys.executable, "-c", CRASHER, str(port)],
        health=TcpCheck("127.0.0.1", port),
    )
    events: list[SupervisorEvent] = []
    policy = RestartPolicy(initial_backoff=0.05, max_crashes=3, window=60)
    async with Supervisor(tmp_path) as sup:
        await sup.start(crasher, listener("steady", free_port()))
        with capture_logs() as logs:
            failure = await asyncio.wait_for(sup.supervise(policy, events.append), 60)
        assert failure is not None
        assert sup.child("steady").running  # the caller decides to stop the rest
        assert not sup.child("crasher").running
    assert failure.name == "crasher"
    assert failure.reason == (
        "crash loop: exited 3 times within 60s (last exit code 3); not restarted"
    )
    assert "giving up" in failure.log_tail
    assert [(e.crashes, e.delay) for e in events if isinstance(e, Restarting)] == [
        (1, 0.05),
        (2, 0.1),
    ]
    gave_up = [e for e in logs if e["event"] == "process crash loop, giving up"]
    assert [(e["process"], e["crashes"], e["log_level"]) for e in gave_up] == [
        ("crasher", 3, "error")
    ]
    assert (tmp_path / "crasher.log").read_text().count("=== ") == 3


SUPERVISING_PARENT = textwrap.dedent(
    """
    import asyncio, sys
    from services.cli.probes import TcpCheck
    from services.cli.supervisor import ProcessSpec, Supervisor

    async def main():
        sup = Supervisor(__import__("pathlib").Path(sys.argv[1]))
        spec = ProcessSpec(
            name="nats",
            argv=[sys.argv[2], "-a", "127.0.0.1", "-p", sys.argv[3]],
            health=TcpCheck("127.0.0.1", int(sys.argv[3])),
        )
        await sup.start(spec)
        print(sup.child("nats").pid, flush=True)
        await asyncio.sleep(60)

    asyncio.run(main())
    """
)


def test_children_die_with_a_killed_supervisor(tmp_path: Path) -> None:
    """PR_SET_PDEATHSIG: SIGKILL the supervising process, its nats-server goes too."""
    port = free_port()
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SUPERVISING_PARENT,
            str(tmp_path),
            find_binary("nats-server"),
            str(port),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        child_pid = int(parent.stdout.readline())
        assert alive(child_pid)
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 5
    while alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    survived = alive(child_pid)
    if survived:  # ours (started through the parent above): do not leave it behind
        os.kill(child_pid, signal.SIGKILL)
    assert not survived, "the nats-server outlived its supervisor"
