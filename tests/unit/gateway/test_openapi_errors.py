"""Every status the API answers is in its OpenAPI document.

Walks every operation of the document: what it must list follows from what it is (signed-in
rule → 401/403; a body → 400 malformed_json and 422; parameters → 422; an object in the path
→ 404; every operation → 500; the API's → 502/503/504), every error is problem+json with the
Problem schema, and nothing FastAPI made up (the application/json 422) is left. The routes
themselves all parse JSON leniently (gateway/routes.py), and every request body is a strict
request model.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from gateway import policy
from gateway.app import PUBLIC_DOC_ROUTES, create_app
from gateway.policy import WEB_PAGE
from gateway.problems import PROBLEM_JSON
from gateway.routes import API_PREFIX, StrideRoute
from gateway.schemas.common import RequestModel
from gateway.security import RULE_EXTENSION, iter_routes, route_rules
from tests.unit.gateway.conftest import gateway_settings

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(gateway_settings())


@pytest.fixture(scope="module")
def doc(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def test_every_operation_documents_the_errors_it_can_answer(doc: dict[str, Any]) -> None:
    missing = []
    for path, method, op in operations(doc):
        documented = {int(s) for s in op["responses"] if s.isdigit()}
        params = op.get("parameters") or []
        rule = policy.rule(op[RULE_EXTENSION])
        wanted = {500}
        if not rule.public:
            wanted |= {401, 403}
        if "requestBody" in op:
            wanted |= {400, 422}
        if params:
            wanted.add(422)
        if any(p["in"] == "path" for p in params):
            wanted.add(404)
        if path.startswith(API_PREFIX):
            wanted |= {502, 503, 504}
        if not wanted <= documented:
            missing.append(f"{method.upper()} {path}: {sorted(wanted - documented)}")
    assert missing == []


def test_documented_errors_are_problem_json(doc: dict[str, Any]) -> None:
    for path, method, op in operations(doc):
        for status, response in op["responses"].items():
            if int(status) >= 400:
                assert response["content"] == {
                    PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, f"{method} {path} {status}"
                assert response["description"] != "Validation Error", f"{method} {path}"
    assert "Problem" in doc["components"]["schemas"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]


def test_only_what_applies_is_listed(doc: dict[str, Any]) -> None:
    paths = doc["paths"]
    me = paths[f"{API_PREFIX}/auth/me"]["get"]["responses"]
    assert not {"400", "404", "409", "422"} & set(me), "no body, no parameters, reads nothing"
    login = paths[f"{API_PREFIX}/auth/login"]["post"]["responses"]
    assert {"400", "401", "422", "429"} <= set(login) and "403" not in login
    assert set(paths["/healthz"]["get"]["responses"]) == {"200", "500"}
    # Writes of a signed-in caller may conflict; reads do not.
    assert "409" in paths[f"{API_PREFIX}/cycles"]["post"]["responses"]
    assert "409" not in paths[f"{API_PREFIX}/cycles"]["get"]["responses"]
    # A body naming ids may name a missing one.
    assert "404" in paths[f"{API_PREFIX}/check-ins"]["post"]["responses"]


def test_every_route_reads_json_leniently_into_a_strict_request_model(app: FastAPI) -> None:
    for info in iter_routes(app):
        if info.path in PUBLIC_DOC_ROUTES:
            continue
        route = info.route
        assert isinstance(route, APIRoute), info.path
        if route_rules(route) == [WEB_PAGE]:
            # The web app's pages read url-encoded forms themselves (gateway/web/session.py).
            assert route.body_field is None, info.path
            continue
        assert isinstance(route, StrideRoute), info.path
        if route.body_field is not None:
            model = route.body_field.field_info.annotation
            assert isinstance(model, type) and issubclass(model, RequestModel), info.path
            assert model.model_config.get("strict") is True, info.path
