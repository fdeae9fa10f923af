"""Run a set of child processes: start in order, wait for health, stop in reverse order.

Used by ``stride up`` and by the end-to-end tests. Guarantees:

- Every child runs in its own process group (so a Ctrl-C at the terminal reaches only
  ``stride up``, which then stops the children in reverse order) and gets
  ``PR_SET_PDEATHSIG`` = SIGKILL on Linux, so it dies with the supervising process even
  when that one is killed with SIGKILL and has no chance to clean up.
- ``stop`` sends SIGTERM, waits ``stop_timeout`` seconds, then SIGKILL, and always reaps
  the child. The supervisor only ever signals processes it started and has not yet reaped.
- A child's stdout and stderr go to ``<log_dir>/<name>.log`` (appended across restarts); when
  a child dies or does not become healthy, :class:`ProcessFailed` names it and carries the
  tail of its log.
- :meth:`Supervisor.supervise` keeps every child running: one that exits without being asked
  to is started again with back-off and logged (structlog), until one crashes in a loop
  (:mod:`services.cli.restarts` has the rules), which ends ``supervise`` with that failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import structlog

from services.cli.orphans import die_with_parent, libc_prctl
from services.cli.probes import HealthCheck
from services.cli.restarts import Restarted, Restarting, RestartPolicy, SupervisorEvent
from services.common.binaries import port_open

log = structlog.get_logger(__name__)

LOG_TAIL_LINES = 40
# A log larger than this when its process (re)starts is moved to <name>.log.1.
MAX_LOG_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: Sequence[str]
    # Variables set (str) or removed (None) on top of the supervisor's own environment.
    env: Mapping[str, str | None] = field(default_factory=dict)
    health: HealthCheck | None = None
    # Ports the process will listen on: checked to be free before it starts, so a health
    # check can never be answered by some other program that already holds the port.
    ports: Sequence[tuple[str, int]] = ()
    cwd: Path | None = None
    start_timeout: float = 90.0
    stop_timeout: float = 15.0


class ProcessFailed(RuntimeError):
    """A child exited, or did not become healthy in time."""

    def __init__(self, name: str, reason: str, log_path: Path, log_tail: str) -> None:
        super().__init__(f"{name}: {reason} (log: {log_path})")
        self.name = name
        self.reason = reason
        self.log_path = log_path
        self.log_tail = log_tail


class PortInUse(RuntimeError):
    def __init__(self, name: str, host: str, port: int) -> None:
        super().__init__(
            f"{name} cannot start: {host}:{port} is already in use by another program "
            "(is another `stride up` running?)"
        )
        self.name = name
        self.host = host
        self.port = port


@dataclass
class Child:
    spec: ProcessSpec
    process: asyncio.subprocess.Process
    log_path: Path
    started_at: float
    stopping: bool = False
    # Set when stop() had to fall back to SIGKILL.
    killed: bool = False

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.returncode is None


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


class Supervisor:
    """Starts, health-checks, restarts and stops named child processes.

    Use as ``async with Supervisor(log_dir) as sup: await sup.start(spec, ...)``; leaving the
    block stops every child in reverse start order.
    """

    def __init__(self, log_dir: Path, *, poll_interval: float = 0.2) -> None:
        self.log_dir = log_dir
        self.poll_interval = poll_interval
        self._children: dict[str, Child] = {}
        # Names in start order (a restarted child keeps its place).
        self._order: list[str] = []
        self._prctl = libc_prctl()
        # Set once everything is being stopped: nothing is (re)started after that.
        self._closing = False

    async def __aenter__(self) -> Supervisor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.shield(self.stop_all())

    # -- queries -------------------------------------------------------------------------

    def __contains__(self, name: str) -> bool:
        return name in self._children

    def child(self, name: str) -> Child:
        return self._children[name]

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    @property
    def names(self) -> list[str]:
        return list(self._order)

    def pids(self) -> dict[str, int]:
        return {n: c.pid for n, c in self._children.items() if c.running}

    # -- start ---------------------------------------------------------------------------

    async def start(self, *specs: ProcessSpec) -> None:
        """Spawn ``specs`` (in the order given) and wait until all are healthy.

        Raises :class:`PortInUse` before spawning anything when a declared port is taken,
        and :class:`ProcessFailed` when one of them dies or is not healthy in time (the
        others keep running: call :meth:`stop_all`).
        """
        for spec in specs:
            if spec.name in self._children and self._children[spec.name].running:
                raise ValueError(f"{spec.name} is already running")
            for host, port in spec.ports:
                if port_open(host, port):
                    raise PortInUse(spec.name, host, port)
        for spec in specs:
            await self._spawn(spec)
        waits = [asyncio.create_task(self.wait_healthy(spec.name)) for spec in specs]
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for task in waits:
                task.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
        for task in waits:
            if task in done and (error := task.exception()) is not None:
                raise error

    async def run_once(self, spec: ProcessSpec) -> None:
        """Run a one-shot child (e.g. ``stride migrate``) to its exit, its output in its log.

        Raises :class:`ProcessFailed` when it exits with a code other than 0 or is still
        running after ``spec.start_timeout`` (then killed). Once it has exited it is no child
        of this supervisor any more: not supervised, not restarted, not stopped again.
        """
        child = await self._spawn(spec)
        try:
            await asyncio.wait_for(asyncio.shield(child.process.wait()), spec.start_timeout)
        except TimeoutError:
            await self.kill(spec.name)
            raise self._failure(child, f"still running after {spec.start_timeout:.0f}s") from None
        finally:
            if not child.running and self._children.get(spec.name) is child:
                del self._children[spec.name]
                self._order.remove(spec.name)
        if child.process.returncode != 0:
            raise self._failure(child, f"exited with code {child.process.returncode}")

    async def _spawn(self, spec: ProcessSpec) -> Child:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_path(spec.name)
        with contextlib.suppress(FileNotFoundError):
            if log_path.stat().st_size > MAX_LOG_BYTES:  # keep one previous generation
                log_path.replace(log_path.with_suffix(".log.1"))
        env = dict(os.environ)
        for key, value in spec.env.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        with log_path.open("ab") as log:
            log.write(f"\n=== {stamp} starting: {' '.join(spec.argv)}\n".encode())
            log.flush()
            process = await asyncio.create_subprocess_exec(
                *spec.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                env=env,
                cwd=spec.cwd,
                process_group=0,
                preexec_fn=die_with_parent(os.getpid(), self._prctl),
            )
        child = Child(spec, process, log_path, time.monotonic())
        self._children[spec.name] = child
        if spec.name not in self._order:
            self._order.append(spec.name)
        return child

    async def wait_healthy(self, name: str) -> None:
        child = self._children[name]
        spec = child.spec
        deadline = child.started_at + spec.start_timeout
        while True:
            if not child.running:
                raise self._failure(child, f"exited with code {child.process.returncode}")
            if spec.health is None or await spec.health():
                # A process may answer once and then die from a late startup error.
                if child.running:
                    return
                continue
            if time.monotonic() > deadline:
                what = spec.health.describe()
                raise self._failure(child, f"not healthy after {spec.start_timeout:.0f}s ({what})")
            await asyncio.sleep(self.poll_interval)

    def _failure(self, child: Child, reason: str) -> ProcessFailed:
        return ProcessFailed(child.spec.name, reason, child.log_path, tail(child.log_path))

    # -- watch ---------------------------------------------------------------------------

    async def supervise(
        self,
        policy: RestartPolicy | None = None,
        on_event: Callable[[SupervisorEvent], None] | None = None,
    ) -> ProcessFailed | None:
        """Keep every child running: restart one that exits without being asked to.

        Returns the failure of the first child caught in a crash loop (not restarted again;
        the others keep running: call :meth:`stop_all`), or None once every child was stopped
        on purpose. ``on_event`` hears of each restart and of each restarted child that is
        healthy again.
        """
        policy = policy or RestartPolicy()
        keepers = [
            asyncio.create_task(self._keep(name, policy, on_event), name=f"keep-{name}")
            for name in self._order
        ]
        try:
            pending = set(keepers)
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if (failure := task.result()) is not None:
                        return failure
            return None
        finally:
            for task in keepers:
                task.cancel()
            await asyncio.gather(*keepers, return_exceptions=True)

    async def _keep(
        self,
        name: str,
        policy: RestartPolicy,
        on_event: Callable[[SupervisorEvent], None] | None,
    ) -> ProcessFailed | None:
        crashes: list[float] = []
        while True:
            child = self._children[name]
            code = await child.process.wait()
            if child.stopping or self._closing:
                return None
            exited = time.monotonic()
            crashes = policy.recent([*crashes, exited], exited)
            if policy.is_crash_loop(crashes):
                child.stopping = True
                reason = f"{policy.describe_loop(crashes)} (last exit code {code}); not restarted"
                log.error(
                    "process crash loop, giving up",
                    process=name,
                    exit_code=code,
                    crashes=len(crashes),
                    window_s=policy.window,
                )
                return self._failure(child, reason)
            delay = policy.backoff(crashes)
            log.warning(
                "process exited, restarting",
                process=name,
                pid=child.pid,
                exit_code=code,
                crashes=len(crashes),
                restart_in_s=delay,
            )
            if on_event is not None:
                on_event(Restarting(name, code, len(crashes), delay))
            await asyncio.sleep(delay)
            if child.stopping or self._closing:
                return None
            spawn = asyncio.ensure_future(self._spawn(child.spec))
            try:  # once spawned the child is ours: see it registered even when cancelled
                new = await asyncio.shield(spawn)
            except asyncio.CancelledError:
                await asyncio.wait([spawn])
                raise
            if self._closing:
                await self.stop(name)
                return None
            try:
                await self.wait_healthy(name)
            except ProcessFailed as err:
                # Exited while starting, or not healthy in time (then killed): either way a
                # crash, counted at the top of the loop.
                log.warning("restarted process failed to start", process=name, reason=err.reason)
                self._signal(new, signal.SIGKILL)
                continue
            downtime = time.monotonic() - exited
            log.info("process restarted", process=name, pid=new.pid, downtime_s=round(downtime, 2))
            if on_event is not None:
                on_event(Restarted(name, new.pid, downtime))

    # -- stop ----------------------------------------------------------------------------

    def _signal(self, child: Child, sig: signal.Signals) -> None:
        # Only while the child is unreaped is its pid (and group id) guaranteed to be ours.
        if not child.running:
            return
        try:
            os.killpg(child.pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            with contextlib.suppress(ProcessLookupError):
                child.process.send_signal(sig)

    async def stop(self, name: str, *, timeout: float | None = None) -> int | None:
        """SIGTERM, wait, then SIGKILL; returns the exit code (None if never started)."""
        child = self._children.get(name)
        if child is None:
            return None
        child.stopping = True
        wait = child.spec.stop_timeout if timeout is None else timeout
        self._signal(child, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(child.process.wait()), wait)
        except TimeoutError:
            child.killed = True
            self._signal(child, signal.SIGKILL)
        return await child.process.wait()

    async def kill(self, name: str) -> int:
        """SIGKILL right away (a crash, as far as the child can tell) and reap it."""
        child = self._children[name]
        child.stopping = True
        child.killed = True
        self._signal(child, signal.SIGKILL)
        return await child.process.wait()

    def kill_all_now(self) -> None:
        """SIGKILL every child without waiting (second Ctrl-C); reaping happens in stop."""
        self._closing = True
        for child in self._children.values():
            child.stopping = True
            child.killed = child.killed or child.running
            self._signal(child, signal.SIGKILL)

    async def restart(self, name: str, spec: ProcessSpec | None = None) -> None:
        """Stop (if running) and start the child again, with the same spec unless another
        one (same name) is given, then wait until it is healthy."""
        child = self._children[name]
        if spec is not None and spec.name != name:
            raise ValueError(f"spec {spec.name!r} cannot replace {name!r}")
        if child.running:
            await self.stop(name)
        await self._spawn(spec or child.spec)
        await self.wait_healthy(name)

    async def stop_all(
        self, on_stop: Callable[[str, int | None], None] | None = None
    ) -> dict[str, int | None]:
        """Stop every child in reverse start order; each one is reaped before the next."""
        self._closing = True
        codes: dict[str, int | None] = {}
        for name in reversed(self._order):
            child = self._children[name]
            was_running = child.running
            codes[name] = await self.stop(name)
            if on_stop is not None and was_running:
                on_stop(name, codes[name])
        return codes
