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
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.binaries import port_open
from services.common.channels import channel

PR_SET_PDEATHSIG = 1
LOG_TAIL_LINES = 40
# A log larger than this when its process (re)starts is moved to <name>.log.1.
MAX_LOG_BYTES = 20 * 1024 * 1024


class HealthCheck(Protocol):
    """An async probe: True when the process serves. Must not raise for "not yet"."""

    async def __call__(self) -> bool: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class TcpCheck:
    host: str
    port: int

    async def __call__(self) -> bool:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), 1.0)
        except (OSError, TimeoutError):
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    def describe(self) -> str:
        return f"tcp://{self.host}:{self.port}"


@dataclass(frozen=True)
class GrpcHealthCheck:
    """grpc.health.v1 ``Check``; ``service`` empty means the whole server."""

    target: str
    service: str = ""

    async def __call__(self) -> bool:
        try:
            async with channel(self.target) as ch:
                stub = health_pb2_grpc.HealthStub(ch)
                resp = await stub.Check(
                    health_pb2.HealthCheckRequest(service=self.service), timeout=1.0
                )
        except (grpc.aio.AioRpcError, OSError):
            return False
        return bool(resp.status == health_pb2.HealthCheckResponse.SERVING)

    def describe(self) -> str:
        return f"grpc health {self.target}"


@dataclass(frozen=True)
class HttpCheck:
    url: str
    status: int = 200

    async def __call__(self) -> bool:
        try:
            async with httpx.AsyncClient(timeout=2.0) as client:
                resp = await client.get(self.url)
        except httpx.HTTPError:
            return False
        return resp.status_code == self.status

    def describe(self) -> str:
        return f"GET {self.url} → {self.status}"


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


def _libc_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6", use_errno=True)
    except OSError:
        return None
    prctl: Callable[..., int] = libc.prctl
    return prctl


def _die_with_parent(parent_pid: int, prctl: Callable[..., int] | None) -> Callable[[], None]:
    """preexec_fn: ask the kernel to SIGKILL the child when its parent dies."""

    def preexec() -> None:
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        # The parent may have died between fork and prctl: then nobody would stop us.
        if os.getppid() != parent_pid:
            os._exit(1)

    return preexec


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
        self._prctl = _libc_prctl()

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
                preexec_fn=_die_with_parent(os.getpid(), self._prctl),
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

    async def wait_for_failure(self) -> ProcessFailed:
        """Return (not raise) the first child that exits without being asked to."""
        while True:
            for name in self._order:
                child = self._children[name]
                if not child.running and not child.stopping:
                    child.stopping = True  # report it once
                    return self._failure(child, f"exited with code {child.process.returncode}")
            await asyncio.sleep(0.5)

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
        codes: dict[str, int | None] = {}
        for name in reversed(self._order):
            child = self._children[name]
            was_running = child.running
            codes[name] = await self.stop(name)
            if on_stop is not None and was_running:
                on_stop(name, codes[name])
        return codes
