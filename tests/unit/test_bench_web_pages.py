"""The web benchmark (bench/web.py) fetches every GET page of the web app: a page added to the
app without being measured, or without a reason in ``NOT_MEASURED``, fails here."""

from __future__ import annotations

from fastapi.routing import APIRoute

from bench import web
from gateway.app import create_app
from gateway.policy import WEB_PAGE
from gateway.security import iter_routes, route_rules
from tests.unit.gateway.conftest import gateway_settings


def _web_get_pages() -> set[str]:
    app = create_app(gateway_settings())
    return {
        info.path
        for info in iter_routes(app)
        if isinstance(info.route, APIRoute)
        and route_rules(info.route) == [WEB_PAGE]
        and "GET" in info.methods
    }


def test_every_get_page_is_measured_or_excluded_with_a_reason() -> None:
    pages = _web_get_pages()
    measured = set(web.PAGES)
    excluded = set(web.NOT_MEASURED)
    assert not measured & excluded
    assert sorted(pages - measured - excluded) == [], "add the page to bench/web.py PAGES"
    assert sorted((measured | excluded) - pages) == [], "no such page in the web app"
    assert all(reason.strip() for reason in web.NOT_MEASURED.values())
    assert len(web.PAGES) == len(measured)  # each page once
