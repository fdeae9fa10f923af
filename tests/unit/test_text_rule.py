"""The one rule for a person's text (services/common/text.py), as a pure function."""

from __future__ import annotations

import re

import pytest

from services.common.errors import InvalidArgument
from services.common.text import BIDI_CONTROLS, REFUSED_PATTERN, TextError, checked_text, clean


@pytest.mark.parametrize(
    ("raw", "line", "lines"),
    [
        ("  Wang   Wei ", "Wang Wei", "Wang   Wei"),
        ("Cafe\u0301", "Caf\u00e9", "Caf\u00e9"),  # NFC
        ("a\r\nb\tc\rd", "a b c d", "a\nb\tc\nd"),
        ("\u200b\ufeff Title \u200d", "Title", "Title"),  # invisible ends trimmed
        ("\u200b\u200c\u3164\u2800", "", ""),  # nothing visible: empty
        ("ok \U0001f44d\U0001f3fd", "ok \U0001f44d\U0001f3fd", "ok \U0001f44d\U0001f3fd"),
        (
            "\u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u200f",
            "\u0627\u0644\u0639\u0631\u0628\u064a\u0629",
            "\u0627\u0644\u0639\u0631\u0628\u064a\u0629",
        ),
    ],
)
def test_texts_are_normalised_and_trimmed(raw: str, line: str, lines: str) -> None:
    assert clean(raw) == line
    assert clean(raw, multiline=True) == lines


@pytest.mark.parametrize(
    "raw",
    ["a\x00b", "a\x1bb", "a\x7fb", "a\x85b", "a\ud800b", "a\ufffeb", "a\ufdd0b"]
    + [f"a{c}b" for c in sorted(BIDI_CONTROLS)],
)
def test_control_bidi_and_non_characters_are_refused(raw: str) -> None:
    for multiline in (False, True):
        with pytest.raises(TextError):
            clean(raw, multiline=multiline)


def test_the_pattern_in_the_openapi_document_refuses_the_same_characters() -> None:
    pattern = re.compile(REFUSED_PATTERN)
    assert pattern.match("Line 3\n\tok") and pattern.match("\u0627 \u4e2d\u6587")
    for bad in ("a\x00", "a\x1b", "a\x9f", *BIDI_CONTROLS):
        assert not pattern.match(bad)


def test_services_get_a_stable_code_per_field() -> None:
    with pytest.raises(InvalidArgument) as refused:
        checked_text("a\x00", "title", 10)
    assert refused.value.code == "invalid_title"
    with pytest.raises(InvalidArgument) as refused:
        checked_text("\u200b", "title", 10)
    assert refused.value.code == "title_required"
    with pytest.raises(InvalidArgument) as refused:
        checked_text("x" * 11, "title", 10)
    assert refused.value.code == "title_too_long"
    assert checked_text("\u200b", "note", 10, required=False) == ""
