"""DingTalk contacts API (``oapi.dingtalk.com``) as an org-sync source.

An internal DingTalk app with contacts read permission gives an app key and secret.

- ``GET /gettoken?appkey=&appsecret=`` → ``access_token`` valid for ``expires_in`` seconds
  (7200). The token is refreshed shortly before it expires and at once when DingTalk says it
  is invalid or expired (errcode 40014 / 42001), then the call is repeated.
- Departments: ``POST /topapi/v2/department/get`` for the root (dept_id 1: the company) and
  ``POST /topapi/v2/department/listsub`` breadth-first for every level below it.
- People: ``POST /topapi/v2/user/list`` per department with cursor paging (``cursor``,
  ``size`` ≤ 100 → ``has_more``, ``next_cursor``). A person in several departments is read
  once; their first department in ``dept_id_list`` is theirs in Stride.
- Managers: ``manager_userid`` (taken from the list entry when present, else from
  ``POST /topapi/v2/user/get``), mapped to the manager's job number.

Mapping: ``job_number`` → employee number (required; a person without one is rejected),
``name``, ``org_email`` (else ``email``), ``mobile``, ``title``, ``hired_date`` (ms since the
epoch → date in the organisation's time zone), ``userid`` → external id. Departments are keyed
``dingtalk:<dept_id>``. Everyone listed is active: DingTalk removes people who left, so they
are missing from the snapshot and get deactivated. Grades are not read (left as in Stride).

Failures: HTTP errors, timeouts and DingTalk's "busy / rate limited" codes are retried a few
times, then raise :class:`SourceUnavailable`; refused credentials raise :class:`SourceInvalid`.
The snapshot is all or nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from services.identity.sync.connectors.base import (
    Progress,
    SourceInvalid,
    SourceUnavailable,
)
from services.identity.sync.data import Snapshot, SourceDepartment, SourcePerson

DEFAULT_BASE_URL = "https://oapi.dingtalk.com"
TOKEN_ERRORS = frozenset({40014, 42001, 40001})
# System busy, rate limits (per second / per minute / per app).
BUSY_ERRORS = frozenset({-1, 90002, 90005, 90006, 90018, 90019})
REFRESH_MARGIN_SECONDS = 300.0
DEPARTMENT_PREFIX = "dingtalk:"
PROVIDED_FIELDS = frozenset({"email", "mobile", "title", "hire_date"})


class DingTalkConnector:
    def __init__(
        self,
        *,
        app_key: str,
        app_secret: str,
        base_url: str = DEFAULT_BASE_URL,
        root_dept_id: int = 1,
        timeout: float = 10.0,
        time_zone: str = "Asia/Shanghai",
        page_size: int = 100,
        concurrency: int = 8,
        attempts: int = 3,
        backoff: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        name: str = "dingtalk",
    ) -> None:
        if not app_key or not app_secret:
            raise SourceInvalid("DingTalk is not configured: set the app key and secret")
        self.name = name
        self._app_key = app_key
        self._app_secret = app_secret
        self._base_url = base_url.rstrip("/")
        self._root = root_dept_id
        self._timeout = timeout
        self._zone = ZoneInfo(time_zone)
        self._page_size = max(1, min(page_size, 100))
        self._concurrency = concurrency
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._transport = transport
        self._clock = clock
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()
        self.requests = 0  # for tests and logs

    # --- HTTP and the access token ----------------------------------------------------------
    async def _send(
        self, client: httpx.AsyncClient, method: str, path: str, **kwargs: Any
    ) -> dict[str, Any]:
        """One request with retries of transient failures; the decoded JSON body."""
        last = "no attempt"
        for attempt in range(self._attempts):
            if attempt:
                await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
            self.requests += 1
            try:
                response = await client.request(method, path, **kwargs)
            except httpx.TimeoutException:
                last = "timed out"
                continue
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}"
                continue
            if response.status_code >= 500 or response.status_code == 429:
                last = f"HTTP {response.status_code}"
                continue
            if response.status_code >= 400:
                raise SourceInvalid(f"DingTalk answered HTTP {response.status_code} for {path}")
            try:
                body = response.json()
            except ValueError:
                last = "an answer that is not JSON"
                continue
            if not isinstance(body, dict):
                last = "an unexpected answer"
                continue
            if body.get("errcode", 0) in BUSY_ERRORS:
                last = f"busy (errcode {body.get('errcode')})"
                continue
            return body
        raise SourceUnavailable(f"DingTalk {path}: {last} after {self._attempts} attempts")

    async def _token_value(self, client: httpx.AsyncClient, *, force: bool = False) -> str:
        async with self._token_lock:
            now = self._clock()
            if not force and self._token is not None and now < self._token_expires:
                return self._token
            body = await self._send(
                client,
                "GET",
                "/gettoken",
                params={"appkey": self._app_key, "appsecret": self._app_secret},
            )
            if body.get("errcode", 0) != 0 or not body.get("access_token"):
                raise SourceInvalid(
                    f"DingTalk refused the app credentials (errcode {body.get('errcode')}: "
                    f"{body.get('errmsg', '')})"
                )
            expires_in = float(body.get("expires_in") or 7200)
            self._token = str(body["access_token"])
            self._token_expires = now + max(expires_in - REFRESH_MARGIN_SECONDS, expires_in / 2)
            return self._token

    async def _call(self, client: httpx.AsyncClient, path: str, payload: dict[str, Any]) -> Any:
        """POST a topapi method with the access token; its ``result``."""
        token = await self._token_value(client)
        for refreshed in (False, True):
            body = await self._send(
                client, "POST", path, params={"access_token": token}, json=payload
            )
            code = body.get("errcode", 0)
            if code == 0:
                return body.get("result")
            if code in TOKEN_ERRORS and not refreshed:
                token = await self._token_value(client, force=True)
                continue
            raise SourceUnavailable(f"DingTalk {path}: errcode {code}: {body.get('errmsg', '')}")
        raise SourceUnavailable(f"DingTalk {path}: the access token keeps being refused")

    # --- reading the organisation -----------------------------------------------------------
    async def fetch(self, progress: Progress | None = None) -> Snapshot:
        report = progress or (lambda _message: None)
        async with httpx.AsyncClient(
            base_url=self._base_url, timeout=self._timeout, transport=self._transport
        ) as client:
            departments = await self._departments(client)
            report(f"{len(departments)} departments")
            users = await self._users(client, departments, report)
            report(f"{len(users)} people")
            await self._managers(client, users, report)
        return self._snapshot(departments, users)

    async def _departments(self, client: httpx.AsyncClient) -> dict[int, dict[str, Any]]:
        root = await self._call(client, "/topapi/v2/department/get", {"dept_id": self._root})
        if not isinstance(root, dict) or "name" not in root:
            raise SourceUnavailable("DingTalk did not describe the root department")
        found: dict[int, dict[str, Any]] = {
            self._root: {"dept_id": self._root, "name": root["name"], "parent_id": None}
        }
        level = [self._root]
        while level:
            children = await asyncio.gather(
                *(
                    self._call(client, "/topapi/v2/department/listsub", {"dept_id": d})
                    for d in level
                )
            )
            level = []
            for subs in children:
                for sub in subs or []:
                    dept_id = int(sub["dept_id"])
                    if dept_id in found:
                        continue
                    found[dept_id] = {
                        "dept_id": dept_id,
                        "name": str(sub.get("name", "")),
                        "parent_id": int(sub["parent_id"]) if sub.get("parent_id") else None,
                    }
                    level.append(dept_id)
        return found

    async def _users(
        self,
        client: httpx.AsyncClient,
        departments: dict[int, dict[str, Any]],
        report: Progress,
    ) -> dict[str, dict[str, Any]]:
        users: dict[str, dict[str, Any]] = {}
        limit = asyncio.Semaphore(self._concurrency)

        async def department_users(dept_id: int) -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = []
            cursor = 0
            async with limit:
                while True:
                    page = await self._call(
                        client,
                        "/topapi/v2/user/list",
                        {
                            "dept_id": dept_id,
                            "cursor": cursor,
                            "size": self._page_size,
                            "contain_access_limit": False,
                        },
                    )
                    if not isinstance(page, dict):
                        raise SourceUnavailable("DingTalk user/list gave an unexpected answer")
                    for user in page.get("list") or []:
                        user.setdefault("_found_in", dept_id)
                        found.append(user)
                    if not page.get("has_more"):
                        return found
                    cursor = int(page["next_cursor"])

        pages = await asyncio.gather(*(department_users(d) for d in departments))
        for entries in pages:
            for user in entries:
                users.setdefault(str(user["userid"]), user)
            report(f"{len(users)} people so far")
        return users

    async def _managers(
        self, client: httpx.AsyncClient, users: dict[str, dict[str, Any]], report: Progress
    ) -> None:
        """Fill ``manager_userid`` where user/list did not give it (user/get does)."""
        missing = [u for u in users.values() if "manager_userid" not in u]
        limit = asyncio.Semaphore(self._concurrency)

        async def detail(user: dict[str, Any]) -> None:
            async with limit:
                result = await self._call(client, "/topapi/v2/user/get", {"userid": user["userid"]})
            user["manager_userid"] = (
                str(result.get("manager_userid") or "") if isinstance(result, dict) else ""
            )

        for start in range(0, len(missing), 100):
            await asyncio.gather(*(detail(u) for u in missing[start : start + 100]))
            report(f"managers of {min(start + 100, len(missing))} of {len(missing)} people")

    def _hire_date(self, millis: object) -> str:
        if not millis:
            return ""
        try:
            moment = datetime.fromtimestamp(int(str(millis)) / 1000, tz=UTC)
        except (ValueError, OverflowError, OSError):
            return "invalid"
        return moment.astimezone(self._zone).date().isoformat()

    def _snapshot(
        self, departments: dict[int, dict[str, Any]], users: dict[str, dict[str, Any]]
    ) -> Snapshot:
        def key(dept_id: int) -> str:
            return f"{DEPARTMENT_PREFIX}{dept_id}"

        source_departments = tuple(
            SourceDepartment(
                key=key(d["dept_id"]),
                name=d["name"],
                parent_key=key(d["parent_id"]) if d["parent_id"] in departments else "",
                row=row,
            )
            for row, d in enumerate(departments.values(), start=1)
        )
        numbers = {uid: str(u.get("job_number") or "").strip() for uid, u in users.items()}
        people: list[SourcePerson] = []
        for row, (uid, user) in enumerate(users.items(), start=1):
            dept_ids = [int(d) for d in user.get("dept_id_list") or [] if int(d) in departments]
            dept_id = dept_ids[0] if dept_ids else int(user["_found_in"])
            manager_uid = str(user.get("manager_userid") or "")
            manager = ""
            if manager_uid:
                # Someone outside the synchronised tree (or without a job number) cannot be
                # the manager: the reference stays unresolvable and the row is rejected.
                manager = numbers.get(manager_uid) or f"dingtalk-user:{manager_uid}"
            people.append(
                SourcePerson(
                    row=row,
                    employee_number=numbers[uid],
                    name=str(user.get("name") or ""),
                    department_key=key(dept_id),
                    manager_employee_number=manager,
                    email=str(user.get("org_email") or user.get("email") or ""),
                    mobile=str(user.get("mobile") or ""),
                    title=str(user.get("title") or ""),
                    hire_date=self._hire_date(user.get("hired_date")),
                    active=True,
                    external_id=uid,
                    problem="" if numbers[uid] else "no job number (工号) in DingTalk",
                )
            )
        return Snapshot(
            departments=source_departments,
            people=tuple(people),
            provided_fields=PROVIDED_FIELDS,
        )
