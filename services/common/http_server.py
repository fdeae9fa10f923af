"""uvicorn embedded in a larger asyncio program (the gateway, the worker's health endpoint).

- The caller owns signals (it cancels its ``serve``), so uvicorn installs no handlers.
- A failed start (port taken, app startup failed) raises instead of ``sys.exit``, which
  would otherwise escape the event loop and take down every other component in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import uvicorn


class EmbeddedServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        except SystemExit as exc:
            raise RuntimeError(
                f"failed to start HTTP on {self.config.host}:{self.config.port}"
            ) from exc

    @property
    def port(self) -> int:
        """The port listened on (the real one when the config said 0); 0 before start."""
        for server in getattr(self, "servers", ()):
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return 0


class BackgroundServer:
    """An :class:`EmbeddedServer` run as a task: ``await start()`` returns once it listens."""

    def __init__(self, config: uvicorn.Config) -> None:
        self.server = EmbeddedServer(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        return self.server.port

    async def start(self) -> None:
        self._task = asyncio.create_task(self.server.serve(), name="http-server")
        while not self.server.started:
            if self._task.done():
                self._task.result()  # the start-up error
                raise RuntimeError("HTTP server stopped before it started")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._task is None:
            return
        self.server.should_exit = True
        with contextlib.suppress(Exception):
            await self._task
        self._task = None
