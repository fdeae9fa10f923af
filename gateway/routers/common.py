"""Small helpers shared by the resource routers."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from gateway.convert import to_dict


def created(request: Request, response: Response, route: str, **params: str) -> None:
    """Mark ``response`` as 201 Created with a Location header naming ``route``."""
    response.status_code = 201
    response.headers["Location"] = str(request.app.url_path_for(route, **params))


def page(message: Any, items_field: str) -> dict[str, Any]:
    """A list response's items and next page token as ``{items, next_page_token}``."""
    return {
        "items": [to_dict(m) for m in getattr(message, items_field)],
        "next_page_token": message.page.next_page_token,
    }
