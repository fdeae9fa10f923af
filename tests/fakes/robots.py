"""Fake DingTalk and WeCom group robots for tests (one Starlette app; serve it with
:func:`serve_asgi`).

- ``POST /robot/send?access_token=<token>[&timestamp=<ms>&sign=<sign>]`` — DingTalk. For a
  token registered with a secret the fake checks the signature as DingTalk does:
  ``sign == base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}"))`` and the timestamp within
  an hour of now; a bad one answers ``errcode 310000`` and is recorded as refused.
- ``POST /cgi-bin/webhook/send?key=<key>`` — WeCom (no signature; an unknown key: 93000).

Accepted messages are recorded in :attr:`FakeRobots.messages`; ``fail_next`` holds HTTP
statuses to answer the next posts with (e.g. ``[500]``: one outage), each used once.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.common.binaries import free_port

SIGN_WINDOW_MS = 3_600_000


@dataclass
class Posted:
    kind: str
    # The DingTalk access token or WeCom key.
    token: str
    payload: dict[str, Any]
    signed: bool = False


@dataclass
class FakeRobots:
    # DingTalk access token -> signing secret ("" : unsigned robot).
    dingtalk: dict[str, str] = field(default_factory=dict)
    wecom: set[str] = field(default_factory=set)
    messages: list[Posted] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    attempts: int = 0

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/robot/send", self._dingtalk, methods=["POST"]),
                Route("/cgi-bin/webhook/send", self._wecom, methods=["POST"]),
            ]
        )

    def _outage(self) -> JSONResponse | None:
        self.attempts += 1
        if self.fail_next:
            return JSONResponse({"error": "down"}, status_code=self.fail_next.pop(0))
        return None

    async def _dingtalk(self, request: Request) -> JSONResponse:
        down = self._outage()
        if down is not None:
            return down
        token = request.query_params.get("access_token", "")
        if token not in self.dingtalk:
            self.refused.append("unknown token")
            return JSONResponse({"errcode": 300001, "errmsg": "token is not exist"})
        secret = self.dingtalk[token]
        if secret:
            problem = sign_problem(
                secret,
                request.query_params.get("timestamp", ""),
                request.query_params.get("sign", ""),
            )
            if problem:
                self.refused.append(problem)
                return JSONResponse({"errcode": 310000, "errmsg": f"sign not match: {problem}"})
        self.messages.append(Posted("dingtalk", token, await request.json(), bool(secret)))
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    async def _wecom(self, request: Request) -> JSONResponse:
        down = self._outage()
        if down is not None:
            return down
        key = request.query_params.get("key", "")
        if key not in self.wecom:
            self.refused.append("unknown key")
            return JSONResponse({"errcode": 93000, "errmsg": "invalid webhook url"})
        self.messages.append(Posted("wecom", key, await request.json()))
        return JSONResponse({"errcode": 0, "errmsg": "ok"})


def sign_problem(secret: str, timestamp: str, sign: str) -> str:
    """Why DingTalk would refuse this signature ("" when it is right). ``sign`` as the query
    string decoded it (Starlette undoes the URL encoding)."""
    if not timestamp.isdigit():
        return "no timestamp"
    if abs(int(time.time() * 1000) - int(timestamp)) > SIGN_WINDOW_MS:
        return "timestamp outside the hour"
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    return "" if hmac.compare_digest(expected, sign) else "wrong signature"


@asynccontextmanager
async def serve_asgi(
    app: Any, name: str, on_exit: Callable[[], None] | None = None
) -> AsyncIterator[str]:
    """Run an ASGI ``app`` under uvicorn on a free port in the current event loop; yields its
    base URL (``http://127.0.0.1:<port>``)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
    )
    task = asyncio.create_task(server.serve(), name=name)
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        if on_exit is not None:
            on_exit()
        try:
            await asyncio.wait_for(asyncio.shield(task), 5)
        except TimeoutError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
