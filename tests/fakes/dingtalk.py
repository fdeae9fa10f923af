"""A fake DingTalk contacts API for tests (a Starlette app; run it under uvicorn on a free
port with :func:`serve`, or call it in-process through ``httpx.ASGITransport(fake.app)``).

It implements what the connector uses, with DingTalk's shapes: ``GET /gettoken``,
``POST /topapi/v2/department/get``, ``/topapi/v2/department/listsub``,
``/topapi/v2/user/list`` (cursor paging; like the real one it does not return
``manager_userid``) and ``/topapi/v2/user/get``. Tokens expire (``expires_in``) and can be
revoked to exercise the refresh path; an outage (HTTP 5xx, a hang, DingTalk's "busy" errcode)
can be switched on and off.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.robots import serve_asgi

APP_KEY = "ding-test-key"
APP_SECRET = "ding-test-secret"


@dataclass
class FakeUser:
    userid: str
    name: str
    job_number: str
    dept_ids: list[int]
    manager_userid: str = ""
    email: str = ""
    org_email: str = ""
    mobile: str = ""
    title: str = ""
    # milliseconds since the epoch, 0 for none
    hired_date: int = 0

    def listed(self) -> dict[str, Any]:
        """As user/list returns it (no manager_userid)."""
        return {
            "userid": self.userid,
            "unionid": f"union-{self.userid}",
            "name": self.name,
            "job_number": self.job_number,
            "title": self.title,
            "email": self.email,
            "org_email": self.org_email,
            "mobile": self.mobile,
            "dept_id_list": list(self.dept_ids),
            "hired_date": self.hired_date,
            "active": True,
            "admin": False,
            "boss": False,
            "leader": False,
        }

    def detail(self) -> dict[str, Any]:
        return {**self.listed(), "manager_userid": self.manager_userid}


@dataclass
class FakeDingTalk:
    departments: dict[int, tuple[str, int | None]] = field(default_factory=dict)
    users: dict[str, FakeUser] = field(default_factory=dict)
    expires_in: int = 7200
    # Outage: every request answers this HTTP status (e.g. 500), or hangs when hang is set.
    outage_status: int | None = None
    hang: bool = False
    # Answer this many topapi calls with errcode 90018 (rate limited) first.
    busy_calls: int = 0
    calls: Counter[str] = field(default_factory=Counter)
    _tokens: dict[str, float] = field(default_factory=dict)
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self._hung = asyncio.Event()
        self.app = Starlette(
            routes=[
                Route("/gettoken", self._gettoken, methods=["GET"]),
                Route("/topapi/v2/department/get", self._department_get, methods=["POST"]),
                Route("/topapi/v2/department/listsub", self._listsub, methods=["POST"]),
                Route("/topapi/v2/user/list", self._user_list, methods=["POST"]),
                Route("/topapi/v2/user/get", self._user_get, methods=["POST"]),
            ]
        )

    # --- control ------------------------------------------------------------------------
    def set_org(
        self, departments: dict[int, tuple[str, int | None]], users: list[FakeUser]
    ) -> None:
        self.departments = dict(departments)
        self.users = {u.userid: u for u in users}

    def end_hang(self) -> None:
        """Stop hanging and let the requests that hang answer."""
        self.hang = False
        self._hung.set()

    def revoke_tokens(self) -> None:
        """Every issued token becomes invalid (DingTalk answers errcode 40014)."""
        self._tokens.clear()

    # --- handlers -----------------------------------------------------------------------
    async def _failure(self, request: Request) -> Response | None:
        self.calls[request.url.path] += 1
        if self.hang:
            self._hung.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hung.wait(), 60)
        if self.outage_status is not None:
            return Response("upstream unavailable", status_code=self.outage_status)
        return None

    async def _gettoken(self, request: Request) -> Response:
        if (failed := await self._failure(request)) is not None:
            return failed
        if (
            request.query_params.get("appkey") != APP_KEY
            or request.query_params.get("appsecret") != APP_SECRET
        ):
            return JSONResponse({"errcode": 40089, "errmsg": "不合法的corpid或corpsecret"})
        token = f"token-{next(self._serial)}"
        self._tokens[token] = time.monotonic() + self.expires_in
        return JSONResponse(
            {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.expires_in}
        )

    async def _topapi(self, request: Request) -> tuple[dict[str, Any] | None, Response | None]:
        if (failed := await self._failure(request)) is not None:
            return None, failed
        if self.busy_calls > 0:
            self.busy_calls -= 1
            return None, JSONResponse({"errcode": 90018, "errmsg": "rate limited"})
        token = request.query_params.get("access_token", "")
        expires = self._tokens.get(token)
        if expires is None:
            return None, JSONResponse({"errcode": 40014, "errmsg": "不合法的access_token"})
        if time.monotonic() > expires:
            return None, JSONResponse({"errcode": 42001, "errmsg": "access_token超时"})
        return await request.json(), None

    @staticmethod
    def _ok(result: Any) -> Response:
        return JSONResponse({"errcode": 0, "errmsg": "ok", "result": result, "request_id": "r"})

    async def _department_get(self, request: Request) -> Response:
        body, failed = await self._topapi(request)
        if failed is not None or body is None:
            return failed or Response(status_code=500)
        dept_id = int(body["dept_id"])
        if dept_id not in self.departments:
            return JSONResponse({"errcode": 60003, "errmsg": "部门不存在"})
        name, parent = self.departments[dept_id]
        return self._ok({"dept_id": dept_id, "name": name, "parent_id": parent or 0})

    async def _listsub(self, request: Request) -> Response:
        body, failed = await self._topapi(request)
        if failed is not None or body is None:
            return failed or Response(status_code=500)
        parent_id = int(body.get("dept_id", 1))
        return self._ok(
            [
                {"dept_id": d, "name": name, "parent_id": parent}
                for d, (name, parent) in sorted(self.departments.items())
                if parent == parent_id
            ]
        )

    async def _user_list(self, request: Request) -> Response:
        body, failed = await self._topapi(request)
        if failed is not None or body is None:
            return failed or Response(status_code=500)
        dept_id = int(body["dept_id"])
        cursor = int(body.get("cursor", 0))
        size = int(body.get("size", 100))
        if size > 100:
            return JSONResponse({"errcode": 40035, "errmsg": "size不能超过100"})
        members = sorted(
            (u for u in self.users.values() if dept_id in u.dept_ids), key=lambda u: u.userid
        )
        page = members[cursor : cursor + size]
        more = cursor + size < len(members)
        result: dict[str, Any] = {"has_more": more, "list": [u.listed() for u in page]}
        if more:
            result["next_cursor"] = cursor + size
        return self._ok(result)

    async def _user_get(self, request: Request) -> Response:
        body, failed = await self._topapi(request)
        if failed is not None or body is None:
            return failed or Response(status_code=500)
        user = self.users.get(str(body["userid"]))
        if user is None:
            return JSONResponse({"errcode": 60121, "errmsg": "找不到该用户"})
        return self._ok(user.detail())


@contextlib.asynccontextmanager
async def serve(fake: FakeDingTalk) -> AsyncIterator[str]:
    """Run ``fake`` under uvicorn on a free port in the current event loop; its base URL."""
    async with serve_asgi(fake.app, "fake-dingtalk", on_exit=fake.end_hang) as url:
        yield url
