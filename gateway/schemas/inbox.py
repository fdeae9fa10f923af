"""One's in-app inbox: the bodies of /me/inbox."""

from __future__ import annotations

from gateway.schemas.common import ResponseModel


class InboxItem(ResponseModel):
    id: str
    template: str
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    link: str = ""
    created_at: str
    read_at: str = ""
    emailed_at: str = ""


class InboxPage(ResponseModel):
    items: list[InboxItem]
    next_page_token: str = ""
    unread_count: int
