"""The web app's languages: zh-CN and en, one key set (gateway/web/messages.py).

The language is the ``stride_lang`` cookie (set by the switch on every page), else the
first language of ``Accept-Language`` that Stride speaks, else Chinese (the customer's).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from gateway.web.messages import MESSAGES
from workflows.vocabulary import LANGUAGES

LANGUAGE_COOKIE = "stride_lang"
DEFAULT_LANGUAGE = LANGUAGES[0]  # Chinese: the customer's language


def from_accept_language(header: str) -> str | None:
    """The best of Stride's languages in an ``Accept-Language`` header (q-values honoured)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        match = {"zh": "zh-CN", "en": "en"}.get(primary)
        if match and quality > 0:
            ranked.append((-quality, position, match))
    return min(ranked)[2] if ranked else None


def language(request: Request) -> str:
    chosen = request.cookies.get(LANGUAGE_COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    return from_accept_language(request.headers.get("accept-language", "")) or DEFAULT_LANGUAGE


class Translator:
    """``t("key", name=...)``: the text of ``key`` in one language (KeyError for a key the
    catalogue lacks, so a typo fails the page's test rather than showing a blank)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.messages = MESSAGES[lang]

    def __call__(self, key: str, **params: Any) -> str:
        text = self.messages[key]
        return text.format(**params) if params else text

    def has(self, key: str) -> bool:
        return key in self.messages
