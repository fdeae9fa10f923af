"""One rule for every text a person types: titles, names, notes, blockers, comments, labels.

The gateway's schemas apply it to every human-entered string of a request
(``gateway.schemas.common.human_text``) and the services' domains apply it again to what
arrives over gRPC (:func:`checked_text`), so a text is stored the same way whichever door it
came through. What it does:

- normalises to NFC (a name typed on a Mac and on Windows compares equal);
- refuses control characters: NUL and the rest of C0/C1 and DEL (PostgreSQL cannot even
  store NUL in text), lone surrogates and Unicode non-characters. Tab and line breaks are
  kept in multi-line texts (notes, descriptions, comments, blockers; CR LF becomes LF) and
  collapse with other whitespace to one space in single-line ones (titles, names, labels);
- refuses the bidirectional embedding, override and isolate controls U+202A–U+202E and
  U+2066–U+2069: they reorder what is displayed, so a name could pass for another;
- trims whitespace and invisible characters (zero-width spaces and joiners, BOM, word
  joiner, soft hyphen, Hangul fillers...) at both ends, so a text of nothing but those is
  empty — refused where a text is required.
"""

from __future__ import annotations

import re
import unicodedata

from services.common.errors import InvalidArgument

# Bidirectional embeddings (LRE, RLE), pop (PDF), overrides (LRO, RLO) and isolates (LRI, RLI,
# FSI, PDI). The marks LRM/RLM/ALM, which do not reorder, are allowed (but count as invisible).
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Characters that show nothing on their own.
INVISIBLE = frozenset(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e"
    "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064"
    "\u2800\u3164\ufeff\uffa0"
)
# Control characters a multi-line text may hold (single-line texts turn them into spaces).
_LINE_CONTROLS = frozenset("\t\n\r")
# A regular expression (JSON Schema / ECMA-262 and Python syntax) of the characters refused,
# for the OpenAPI document.
REFUSED_PATTERN = (
    r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]*$"
)


# What no string may hold, human text or not: NUL (PostgreSQL text cannot store it) and
# unpaired surrogates (not encodable as UTF-8, so not in a gRPC message or a database).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(value: str) -> bool:
    """Whether ``value`` holds NUL or an unpaired surrogate (see ``_UNSTORABLE``)."""
    return _UNSTORABLE.search(value) is not None


class TextError(ValueError):
    """A text holding characters no person means to type."""


def _refused(ch: str) -> str | None:
    if ch in BIDI_CONTROLS:
        return f"must not contain bidirectional control characters (U+{ord(ch):04X})"
    category = unicodedata.category(ch)
    if (category == "Cc" and ch not in _LINE_CONTROLS) or category == "Cs":
        return f"must not contain control characters (U+{ord(ch):04X})"
    code = ord(ch)
    if 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE:
        return f"must not contain non-characters (U+{code:04X})"
    return None


def _blank(ch: str) -> bool:
    return ch.isspace() or ch in INVISIBLE


def clean(value: str, *, multiline: bool = False) -> str:
    """``value`` normalised and trimmed (see the module doc); "" when nothing visible is left.

    Raises :class:`TextError` for refused characters.
    """
    text = unicodedata.normalize("NFC", value)
    for ch in text:
        if (reason := _refused(ch)) is not None:
            raise TextError(reason)
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    else:
        text = " ".join(text.split())
    start, end = 0, len(text)
    while start < end and _blank(text[start]):
        start += 1
    while end > start and _blank(text[end - 1]):
        end -= 1
    return text[start:end]


def checked_text(
    value: str, field: str, limit: int, *, required: bool = True, multiline: bool = False
) -> str:
    """``value`` cleaned, or InvalidArgument ``invalid_<field>`` (refused characters),
    ``<field>_required`` (nothing visible in a required text), ``<field>_too_long``."""
    try:
        text = clean(value, multiline=multiline)
    except TextError as err:
        raise InvalidArgument(f"invalid_{field}", f"{field} {err}") from err
    if required and not text:
        raise InvalidArgument(f"{field}_required", f"{field} must not be empty")
    if len(text) > limit:
        raise InvalidArgument(f"{field}_too_long", f"{field} must be at most {limit} characters")
    return text
