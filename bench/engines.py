"""Private engines for benchmarks."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.common.binaries import private_nats_server


@contextmanager
def private_nats() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as store, private_nats_server(Path(store)) as url:
        yield url
