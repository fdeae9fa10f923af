"""Rendering a page: the Jinja2 templates under gateway/web/templates, in the visitor's
language, with the session's CSRF token and cookies (:func:`gateway.web.session.finish`)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.web.i18n import LANGUAGES, Translator, language
from gateway.web.session import CSRF_FIELD, csrf_token, finish
from workflows.vocabulary import Risk

TEMPLATES = Path(__file__).parent / "templates"

# Risk status → the CSS class of its colour (and the catalogue key of its name).
RISK_CLASSES = {
    Risk.ON_TRACK.value: "risk-ok",
    Risk.BEHIND.value: "risk-behind",
    Risk.AT_RISK.value: "risk-red",
    Risk.STALE.value: "risk-stale",
    Risk.NO_DATA.value: "risk-none",
    "unspecified": "risk-none",  # the API's name of a missing status
}


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda x: f"{round(float(x or 0) * 100)}%"
    env.filters["num"] = _number
    env.filters["urlquote"] = lambda s: quote(str(s), safe="")
    env.globals["RISK_CLASSES"] = RISK_CLASSES
    return env


def _number(value: Any) -> str:
    """A value as people write it: no trailing ``.0``."""
    number = float(value or 0)
    return str(int(number)) if number.is_integer() else f"{number:.4g}"


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    me: dict[str, Any] | None = None,
    **context: Any,
) -> Response:
    lang = language(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    html = (
        environment()
        .get_template(template)
        .render(
            t=Translator(lang),
            lang=lang,
            languages=LANGUAGES,
            here=here,
            csrf_field=CSRF_FIELD,
            csrf=csrf_token(request),
            me=me,
            **context,
        )
    )
    return finish(request, HTMLResponse(html, status_code=status))


def redirect(request: Request, url: str) -> Response:
    """303 See Other (after a form: the browser GETs the next page)."""
    return finish(request, RedirectResponse(url, status_code=303))
