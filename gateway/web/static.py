"""The web app's own CSS and JavaScript (gateway/web/static), served by name from a fixed
list: no path from the request ever reaches the file system."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

from gateway.policy import WEB_PAGE
from gateway.problems import ProblemError
from gateway.security import Allow

STATIC = Path(__file__).parent / "static"
MEDIA_TYPES = {"stride.css": "text/css", "stride.js": "text/javascript"}

router = APIRouter(include_in_schema=False, dependencies=[Allow(WEB_PAGE)])


@cache
def _read(name: str) -> bytes:
    return (STATIC / name).read_bytes()


@router.get("/static/{name}", name="web_static")
async def static(name: str) -> Response:
    if name not in MEDIA_TYPES:
        raise ProblemError(404, "not_found", "No such file.")
    return Response(
        _read(name),
        media_type=MEDIA_TYPES[name],
        headers={"Cache-Control": "public, max-age=300"},
    )
