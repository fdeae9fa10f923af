"""Page tokens: offset pages and keyset ("after this id") pages accept only what they issue."""

import base64

import pytest

from services.common.errors import InvalidArgument
from services.common.paging import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    after_page,
    after_window,
    next_after_token,
    next_page_token,
)


def test_a_keyset_token_round_trips_the_last_id() -> None:
    assert after_window(0, "") == (DEFAULT_PAGE_SIZE, "")
    assert after_window(7, next_after_token("6f1c-…-e2")) == (7, "6f1c-…-e2")
    assert next_after_token("") == ""


@pytest.mark.parametrize(
    "token",
    [
        "not a token",
        next_page_token(0, 10, 10),  # an offset token is not a keyset one
        base64.b64encode(b"a:").decode(),
        base64.b64encode(b"a:x\nDROP").decode(),
        base64.b64encode(b"a:" + b"x" * 129).decode(),
    ],
)
def test_a_token_it_did_not_issue_is_refused(token: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        after_window(10, token)
    assert refused.value.code == "invalid_page_token"


def test_the_page_size_is_bounded() -> None:
    with pytest.raises(InvalidArgument) as refused:
        after_window(MAX_PAGE_SIZE + 1, "")
    assert refused.value.code == "invalid_page_size"


def test_a_keyset_page_of_what_is_read_whole() -> None:
    items = [("a", 1), ("b", 2), ("c", 3), ("e", 4)]

    def key(item: tuple[str, int]) -> str:
        return item[0]

    assert after_page(items, key, 2, "") == (items[:2], next_after_token("b"))
    assert after_page(items, key, 2, "b") == (items[2:], "")  # the last page: no token
    assert after_page(items, key, 2, "d") == (items[3:], "")  # after a key no longer there
    assert after_page(items, key, 5, "") == (items, "")
    assert after_page(items, key, 1, "e") == ([], "")
    assert after_page([], key, 1, "") == ([], "")
