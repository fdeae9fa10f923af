"""A web page's session and its way to the API.

**Session.** Signing in stores the API's access token (and its refresh token) in HttpOnly,
SameSite=Lax cookies, ``Secure`` when the request came over https. When the access token
has expired (minutes), the first API call that answers 401 swaps the refresh token for new
tokens once (``POST /auth/refresh``) and the response carries the new cookies. A PIN sign-in
on a shared device (``POST /auth/pin``) has an access token only: its session ends with it.

**CSRF.** Every form carries the value of the ``stride_csrf`` cookie (double submit): a
cross-site form cannot read the cookie, so it cannot send the matching field.

**The API, in process.** A page asks the gateway's own REST API (``httpx.ASGITransport``
on the same app) with the person's token, so it shows exactly what the API answers and every
rule is decided in one place. The inner request carries the browser's address (sign-in
throttling and audit see the real client) and its request id.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote

import httpx
from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from gateway.problems import REQUEST_ID_HEADER
from services.common.paging import MAX_PAGE_SIZE

ACCESS_COOKIE = "stride_session"
REFRESH_COOKIE = "stride_refresh"
CSRF_COOKIE = "stride_csrf"
CSRF_FIELD = "csrf"
API_BASE = "http://stride.internal/api/v1"
# Every page: only our own scripts, styles and forms; never inside another site's frame.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
# The headers of an API download a page passes on to the browser.
_DOWNLOAD_HEADERS = frozenset({"content-type", "content-disposition", "x-total-count"})
# The refresh cookie lives as long as a refresh token may (the API rotates it on each use).
REFRESH_COOKIE_AGE = 30 * 24 * 3600


class SignInRequired(Exception):
    """No usable session: the page answers with the sign-in page (returning here after)."""


class PasswordChangeRequired(Exception):
    """Signed in with a password that must be changed first."""


class CsrfFailed(Exception):
    """A form without the session's CSRF token."""


class ApiError(Exception):
    """The API refused a page's call: its status and problem+json body."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(problem.get("detail") or f"HTTP {status}")
        self.status = status
        self.problem = problem

    @property
    def code(self) -> str:
        return str(self.problem.get("code", ""))

    @property
    def detail(self) -> str:
        return str(self.problem.get("detail", ""))

    def field_errors(self) -> list[tuple[str, str]]:
        """(field, message) of each field a 422 names (``check_ins.0.value``)."""
        return [
            (str(e.get("field", "")), str(e.get("message", "")))
            for e in self.problem.get("errors") or []
        ]


def safe_next(value: str | None, default: str = "/okrs") -> str:
    """A path on this site to return to (never another site: no scheme, no ``//host``)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(c in value for c in "\r\n\\"):
        return default
    return value


def _here(request: Request) -> str:
    return quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="")


def sign_in_url(request: Request) -> str:
    """The sign-in page, returning to the requested page afterwards."""
    return f"/sign-in?next={_here(request)}"


def password_url(request: Request) -> str:
    """The password change a person must make first, returning to the requested page."""
    return f"/password?next={_here(request)}"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(
    request: Request, response: Response, name: str, value: str, *, max_age: int | None = None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=name != CSRF_COOKIE,
        samesite="lax",
        secure=_secure(request),
    )


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use; :func:`finish` sets its cookie)."""
    token: str | None = getattr(request.state, "csrf", None) or request.cookies.get(CSRF_COOKIE)
    if not token:
        token = secrets.token_urlsafe(24)
    request.state.csrf = token
    return token


def check_csrf(request: Request, form: dict[str, str]) -> None:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = form.get(CSRF_FIELD, "")
    if not cookie or not secrets.compare_digest(cookie.encode(), sent.encode()):
        raise CsrfFailed


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (the only kind the pages post), CSRF
    checked. A name given twice keeps its last value."""
    body = (await request.body()).decode("utf-8", errors="replace")
    form = dict(parse_qsl(body, keep_blank_values=True))
    check_csrf(request, form)
    return form


def store_tokens(request: Request, tokens: dict[str, Any]) -> None:
    """Remember new tokens for :func:`finish` (the response being built sets them)."""
    request.state.web_tokens = tokens


def forget_session(request: Request) -> None:
    request.state.web_tokens = {}


def finish(request: Request, response: Response) -> Response:
    """Set the cookies this request changed (new tokens, a new CSRF token, or a sign-out),
    and the headers of every page (not cached, :data:`SECURITY_HEADERS`)."""
    tokens: dict[str, Any] | None = getattr(request.state, "web_tokens", None)
    if tokens is not None:
        if tokens:
            set_cookie(
                request,
                response,
                ACCESS_COOKIE,
                tokens["access_token"],
                max_age=int(tokens["expires_in"]) + 3600,
            )
            if tokens.get("refresh_token"):
                set_cookie(
                    request,
                    response,
                    REFRESH_COOKIE,
                    tokens["refresh_token"],
                    max_age=REFRESH_COOKIE_AGE,
                )
            else:  # a PIN sign-in on a shared device: an access token only
                response.delete_cookie(
                    REFRESH_COOKIE, path="/", secure=_secure(request), httponly=True
                )
        else:
            for name in (ACCESS_COOKIE, REFRESH_COOKIE):
                response.delete_cookie(name, path="/", secure=_secure(request), httponly=True)
    csrf: str | None = getattr(request.state, "csrf", None)
    if csrf and csrf != request.cookies.get(CSRF_COOKIE):
        set_cookie(request, response, CSRF_COOKIE, csrf)
    response.headers["Cache-Control"] = "no-store"
    response.headers.update(SECURITY_HEADERS)
    return response


@dataclass
class Api:
    """The API as the signed-in person (or anonymously, for signing in)."""

    request: Request
    token: str = ""
    # Calls without a session (signing in): answers are returned as they come.
    anonymous: bool = False
    refreshed: bool = field(default=False, init=False)

    @classmethod
    def of(cls, request: Request) -> Api:
        """The API as the person whose session cookie came with ``request`` (sign-in
        required when there is neither an access nor a refresh token)."""
        token = request.cookies.get(ACCESS_COOKIE, "")
        if not token and not request.cookies.get(REFRESH_COOKIE):
            raise SignInRequired
        return cls(request, token)

    def _client(self) -> httpx.AsyncClient:
        client = self.request.client
        transport = httpx.ASGITransport(
            app=self.request.app,
            raise_app_exceptions=False,
            client=(client.host, client.port) if client else ("127.0.0.1", 0),
        )
        headers = {"Accept": "application/json"}
        request_id = getattr(self.request.state, "request_id", None)
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        return httpx.AsyncClient(transport=transport, base_url=API_BASE, headers=headers)

    async def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(kwargs.pop("headers", None) or {})
        async with self._client() as http:
            return await http.request(method, path, headers=headers, **kwargs)

    async def _refresh(self) -> bool:
        refresh_token = self.request.cookies.get(REFRESH_COOKIE)
        if self.refreshed or not refresh_token:
            return False
        self.refreshed = True
        async with self._client() as http:
            r = await http.post("/auth/refresh", json={"refresh_token": refresh_token})
        if r.status_code != 200:
            return False
        tokens = r.json()
        store_tokens(self.request, tokens)
        self.token = tokens["access_token"]
        return True

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The API's answer. With a session, 401 (after one refresh) and a pending password
        change raise; without one (signing in) every answer is returned."""
        if self.anonymous:
            return await self.send(method, path, **kwargs)
        r = await self.send(method, path, **kwargs) if self.token else None
        if (r is None or r.status_code == 401) and await self._refresh():
            r = await self.send(method, path, **kwargs)
        if r is None or r.status_code == 401:
            forget_session(self.request)
            raise SignInRequired
        if r.status_code == 403 and _problem(r).get("code") == "password_change_required":
            raise PasswordChangeRequired
        return r

    async def get(self, path: str, **params: Any) -> Any:
        """GET ``path`` (2xx: its JSON body; else :class:`ApiError`)."""
        return _body(await self.call("GET", path, params=params))

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        return _body(await self.call("POST", path, json=body))

    async def put(self, path: str, body: dict[str, Any]) -> Any:
        return _body(await self.call("PUT", path, json=body))

    async def patch(self, path: str, body: dict[str, Any]) -> Any:
        return _body(await self.call("PATCH", path, json=body))

    async def upload(self, path: str, content: bytes, *, content_type: str, **params: Any) -> Any:
        """POST a file as the request body (``content_type``) to ``path`` (2xx: its JSON
        body; else :class:`ApiError`)."""
        return _body(
            await self.call(
                "POST",
                path,
                content=content,
                params={k: v for k, v in params.items() if v},
                headers={"Content-Type": content_type},
            )
        )

    async def download(self, path: str, **params: Any) -> Response:
        """The API's file answer at ``path`` passed on to the browser as it streams (its
        type, name and size headers kept); a refusal raises :class:`ApiError`. The caller
        has made an API call before (an expired token is refreshed there)."""
        http = self._client()
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        r = await http.send(
            http.build_request("GET", path, params=params, headers=headers), stream=True
        )
        if r.status_code >= 300:
            await r.aread()
            await r.aclose()
            await http.aclose()
            if r.status_code == 401:
                raise SignInRequired
            raise ApiError(r.status_code, _problem(r))

        async def close() -> None:
            await r.aclose()
            await http.aclose()

        kept = {k: v for k, v in r.headers.items() if k.lower() in _DOWNLOAD_HEADERS}
        return StreamingResponse(
            r.aiter_bytes(),
            status_code=r.status_code,
            headers=kept,
            background=BackgroundTask(close),
        )

    async def all_pages(self, path: str, **params: Any) -> list[Any]:
        """Every item of a paged list (``next_page_token`` followed)."""
        items: list[Any] = []
        token = ""
        while True:
            page = await self.get(path, page_size=MAX_PAGE_SIZE, page_token=token, **params)
            items.extend(page["items"])
            token = page.get("next_page_token", "")
            if not token:
                return items


async def end_session(request: Request) -> None:
    """Revoke the session's refresh token in the API (refreshing an expired access token
    first, so the revoked token is the latest) and forget the cookies (:func:`finish`)."""
    try:
        api = Api.of(request)
        await api.call("GET", "/auth/me")
        tokens = getattr(request.state, "web_tokens", None)
        refresh_token = tokens["refresh_token"] if tokens else request.cookies.get(REFRESH_COOKIE)
        if refresh_token:
            await api.call("POST", "/auth/logout", json={"refresh_token": refresh_token})
    except SignInRequired:
        pass  # nothing left to revoke
    forget_session(request)


def _problem(r: httpx.Response) -> dict[str, Any]:
    try:
        body = r.json()
    except ValueError:
        return {"status": r.status_code, "detail": r.text[:200]}
    return body if isinstance(body, dict) else {"status": r.status_code}


def _body(r: httpx.Response) -> Any:
    if r.status_code >= 300:
        raise ApiError(r.status_code, _problem(r))
    return r.json() if r.content else None
