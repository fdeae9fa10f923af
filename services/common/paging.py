"""Page tokens for list calls (opaque to clients)."""

from __future__ import annotations

import base64
import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import TypeVar

from services.common.errors import InvalidArgument

T = TypeVar("T")

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


# Keyset pages ("after this key"): a page costs what it returns however deep it lies, where
# an offset makes the database skip every row before it. The key is an id (no control chars).
_AFTER = re.compile(r"a:([^\x00-\x1f\x7f]{1,128})")


def after_window(page_size: int, page_token: str) -> tuple[int, str]:
    """(limit, the key the page starts after: "" for the first) for a keyset page; raises
    InvalidArgument (``invalid_page_size`` / ``invalid_page_token``) as :func:`page_window`."""
    if page_size < 0 or page_size > MAX_PAGE_SIZE:
        raise InvalidArgument("invalid_page_size", f"page_size must be 1..{MAX_PAGE_SIZE}")
    limit = page_size or DEFAULT_PAGE_SIZE
    if not page_token:
        return limit, ""
    try:
        decoded = base64.b64decode(page_token.encode("ascii"), altchars=b"-_", validate=True)
        match = _AFTER.fullmatch(decoded.decode("utf-8"))
    except (ValueError, UnicodeError) as exc:
        raise InvalidArgument("invalid_page_token", "page_token is not valid") from exc
    if match is None:
        raise InvalidArgument("invalid_page_token", "page_token is not valid")
    return limit, match[1]


def next_after_token(last_key: str) -> str:
    """Token of the keyset page after ``last_key`` ("" when there is none)."""
    return base64.urlsafe_b64encode(f"a:{last_key}".encode()).decode() if last_key else ""


def after_page(
    items: Sequence[T], key: Callable[[T], str], limit: int, after: str
) -> tuple[list[T], str]:
    """The keyset page of ``items`` (in ``key`` order, keys unique) that starts after the key
    ``after`` ("": the first), ``limit`` of them; and the next page's token ("" at the last).
    For what is read whole anyway (to be summed): only the page's items go on."""
    start = bisect_right(items, after, key=key) if after else 0
    found = list(items[start : start + limit])
    more = start + limit < len(items)
    return found, next_after_token(key(found[-1])) if more and found else ""
