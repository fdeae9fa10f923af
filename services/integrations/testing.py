"""Helpers for testing a plugin against a stand-in of its external system.

- :func:`json_server`: a small real HTTP server (``http.server`` in a thread, random port)
  answering GET requests with JSON from a function of the path and query: the MES or CRM of a
  test, not a mock of httpx.
- :func:`pull_once`: run one pull of a source the way the integrations worker does (same
  checks, same watermark rule) and get its samples and new watermark back, without Temporal
  or NATS.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from services.integrations.api import MetricSource
from services.integrations.runner import PullOutcome, run_pull

# (path, query) → (status, JSON body)
Route = Callable[[str, dict[str, str]], tuple[int, Any]]


@contextmanager
def json_server(route: Route) -> Iterator[str]:
    """Serve ``route`` on 127.0.0.1 at a random port; yields the base URL. Every request is
    also appended to the server's ``requests`` list (path and query) for assertions."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            status, body = route(url.path, query)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="json-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


async def pull_once(
    source: MetricSource,
    *,
    settings: Mapping[str, str] | None = None,
    now: datetime | None = None,
    watermark: str = "",
    plugin: str = "test",
) -> PullOutcome:
    """One pull of ``source`` (``now`` defaults to the wall clock)."""
    async with httpx.AsyncClient(timeout=10) as http:
        return await run_pull(
            plugin,
            source,
            settings=dict(settings or {}),
            http=http,
            now=now or datetime.now(UTC),
            watermark=watermark,
        )


def values(samples: Sequence[Any]) -> dict[tuple[str, str], float]:
    """(source, metric) → value of the last sample: compact assertions."""
    return {(s.source, s.metric): s.value for s in samples}
