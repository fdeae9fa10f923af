"""Page tokens: offset pages and keyset ("after this id") pages accept only what they issue."""

import base64

import pytest

from services.common.errors import InvalidArgument
from services.common.paging import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
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
