"""The error statuses each operation of the OpenAPI document lists: the ones it can answer.

Derived from what the operation is, so a new route documents its errors without a word:

| status | documented when |
|---|---|
| 400 ``malformed_json`` | the operation takes a JSON body |
| 413 ``payload_too_large`` | it takes a body (gateway/body_limit.py refuses one over the limit) |
| 401, 403 | its rule (``x-stride-rule``) is not public (signed in; rule, scope, password change) |
| 404 | it has a path parameter, or names ids (``*_id``, ``*_ids``) in its query or body |
| 409 | it writes (POST, PUT, PATCH, DELETE) and needs a signed-in caller |
| 422 | it takes parameters or a body |
| 500 | always |
| 502, 503, 504 | it is under /api/v1 (it calls identity, goals, feedback or Temporal) |

Anything else a route answers (429 from sign-in, 401 from the public sign-in routes) it
declares itself with ``responses=problems.problem_responses(...)``. Every documented error
(FastAPI's default 422 included) is ``application/problem+json`` with the ``Problem`` schema.
tests/unit/gateway/test_openapi_errors.py walks the document and holds every operation to
this table.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic.json_schema import models_json_schema

from gateway import policy
from gateway.problems import PROBLEM_JSON, PROBLEM_STATUSES
from gateway.schemas.problems import Problem
from gateway.security import RULE_EXTENSION

WRITES = frozenset({"post", "put", "patch", "delete"})
METHODS = WRITES | {"get", "head", "options"}
BACKING_STATUSES = (502, 503, 504)
PROBLEM_REF = "#/components/schemas/Problem"


def _names_ids(schema: Any, components: dict[str, Any], seen: set[str]) -> bool:
    """Whether a JSON schema has a property named ``*_id`` / ``*_ids`` anywhere inside."""
    if isinstance(schema, list):
        return any(_names_ids(s, components, seen) for s in schema)
    if not isinstance(schema, dict):
        return False
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in seen:
            return False
        seen.add(name)
        return _names_ids(components.get(name, {}), components, seen)
    properties = schema.get("properties") or {}
    if any(p.endswith(("_id", "_ids")) for p in properties):
        return True
    nested = [*properties.values(), schema.get("items"), schema.get("additionalProperties")]
    for key in ("anyOf", "oneOf", "allOf"):
        nested += schema.get(key) or []
    return any(_names_ids(s, components, seen) for s in nested if s is not None)


def error_statuses(
    path: str, method: str, operation: dict[str, Any], components: dict[str, Any]
) -> set[int]:
    """The error statuses the table in the module doc gives ``operation``."""
    parameters = operation.get("parameters") or []
    body = operation.get("requestBody")
    rule = operation.get(RULE_EXTENSION)
    statuses = {500}
    if body is not None:
        statuses |= {400, 413, 422}
    if parameters:
        statuses.add(422)
    if rule is not None and not policy.rule(rule).public:
        statuses |= {401, 403}
    body_schema = ((body or {}).get("content") or {}).get("application/json", {}).get("schema")
    if (
        any(p.get("in") == "path" for p in parameters)
        or any(str(p.get("name", "")).endswith(("_id", "_ids")) for p in parameters)
        or _names_ids(body_schema, components, set())
    ):
        statuses.add(404)
    if method in WRITES and 401 in statuses:
        statuses.add(409)
    if path.startswith("/api/"):
        statuses |= set(BACKING_STATUSES)
    return statuses


def _problem_schemas() -> dict[str, Any]:
    _, schema = models_json_schema(
        [(Problem, "serialization")], ref_template="#/components/schemas/{model}"
    )
    return dict(schema.get("$defs", {}))


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` (an OpenAPI document) with each operation's error responses listed."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, definition in _problem_schemas().items():
        components.setdefault(name, definition)
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status in error_statuses(path, method, operation, components):
                responses.setdefault(str(status), {})
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:
                    # FastAPI's own 422 (HTTPValidationError, application/json) is not what
                    # the gateway sends; neither is application/json for a declared model.
                    if response.get("description") in (None, "", "Validation Error"):
                        response["description"] = PROBLEM_STATUSES[int(status)]
                    response["content"] = {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}
            operation["responses"] = dict(sorted(responses.items()))
    text = json.dumps(schema)
    for unused in ("HTTPValidationError", "ValidationError"):
        if f'"#/components/schemas/{unused}"' not in text:
            components.pop(unused, None)
    return schema


def install(app: FastAPI) -> None:
    """Serve ``app``'s OpenAPI document with :func:`document_errors` applied (built once)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
