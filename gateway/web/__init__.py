"""The Stride web app: server-rendered pages served by the gateway (docs/web.md).

:func:`install` adds the pages (outside /api/v1 and the OpenAPI document) and the answers
to a page whose session is missing, whose form lacks its CSRF token, or whose API call was
refused.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from gateway.web import feedback_pages, hr, inspection, pages, static
from gateway.web.render import redirect, render
from gateway.web.session import (
    ApiError,
    CsrfFailed,
    PasswordChangeRequired,
    SignInRequired,
    password_url,
    sign_in_url,
)


async def _sign_in(request: Request, exc: Exception) -> Response:
    shared: str | None = getattr(request.state, "pin_sign_in", None)
    if shared:
        # A shared device's check-in (its session of minutes ended): its PIN sign-in.
        return redirect(request, shared)
    return redirect(request, sign_in_url(request))


async def _password(request: Request, exc: Exception) -> Response:
    return redirect(request, password_url(request))


async def _csrf(request: Request, exc: Exception) -> Response:
    return render(request, "error.html", status=403, code="csrf_failed", detail="")


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return render(request, "error.html", status=exc.status, code=exc.code, detail=exc.detail)


def install(app: FastAPI) -> None:
    app.include_router(pages.router)
    app.include_router(hr.router)
    app.include_router(inspection.router)
    app.include_router(feedback_pages.router)
    app.include_router(static.router)
    app.add_exception_handler(SignInRequired, _sign_in)
    app.add_exception_handler(PasswordChangeRequired, _password)
    app.add_exception_handler(CsrfFailed, _csrf)
    app.add_exception_handler(ApiError, _refused)
