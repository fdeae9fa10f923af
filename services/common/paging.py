"""Page tokens for list calls (opaque to clients)."""

from __future__ import annotations

import base64
import re

from services.common.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
_TOKEN = re.compile(r"o:([0-9]{1,9})", re.ASCII)


def page_window(page_size: int, page_token: str) -> tuple[int, int]:
    """(limit, offset) for a request; raises InvalidArgument on a bad size or token."""
    if page_size < 0 or page_size > MAX_PAGE_SIZE:
        raise InvalidArgument("invalid_page_size", f"page_size must be 1..{MAX_PAGE_SIZE}")
    limit = page_size or DEFAULT_PAGE_SIZE
    if not page_token:
        return limit, 0
    # Only what next_page_token makes: ASCII base64 of "o:<digits>" (int() alone would also
    # take other scripts' digits, "5_0" or a sign; a huge offset would overflow the query).
    try:
        decoded = base64.b64decode(page_token.encode("ascii"), altchars=b"-_", validate=True)
        match = _TOKEN.fullmatch(decoded.decode("ascii"))
    except (ValueError, UnicodeError) as exc:  # binascii.Error is a ValueError
        raise InvalidArgument("invalid_page_token", "page_token is not valid") from exc
    if match is None:
        raise InvalidArgument("invalid_page_token", "page_token is not valid")
    return limit, int(match[1])


def next_page_token(offset: int, limit: int, returned: int) -> str:
    """Token for the following page, or "" when this page was the last."""
    if returned < limit:
        return ""
    return base64.urlsafe_b64encode(f"o:{offset + limit}".encode()).decode()
