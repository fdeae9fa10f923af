"""gateway/security.py against fake services: every route declares a rule, anonymous calls
are 401 before any service is asked, hidden objects read like missing ones, the API-key
cache."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.routing import APIRoute

from gateway import policy
from gateway.app import PUBLIC_DOC_ROUTES, create_app
from gateway.bootstrap import GatewayDeps
from gateway.policy import Principal
from gateway.security import RULE_EXTENSION, ApiKeyCache, iter_routes, route_rules
from services.common.settings import GatewaySettings
from stride.goals.v1 import goals_pb2 as gpb
from stride.identity.v1 import identity_pb2 as ipb
from tests.unit.gateway.conftest import bearer, make_client
from tests.unit.gateway.fakes import FakeServices

API = "/api/v1"
PUBLIC = {"health", "auth.login", "auth.pin_login", "auth.refresh"}


def _operations(settings: GatewaySettings, *, pages: bool = False) -> list[tuple[str, str, str]]:
    """(method, path, rule) of every API operation (``pages``: of every web page)."""
    out = []
    for info in iter_routes(create_app(settings)):
        if isinstance(info.route, APIRoute):
            (rule,) = route_rules(info.route)
            if (rule == policy.WEB_PAGE) == pages:
                out += [(m, info.path, rule) for m in sorted(info.methods)]
        else:
            assert info.path in PUBLIC_DOC_ROUTES
    return out


def test_every_route_has_exactly_one_rule_and_every_rule_a_route(
    settings: GatewaySettings,
) -> None:
    operations = _operations(settings)
    assert len(operations) > 30
    used = {rule for _, _, rule in operations}
    assert not used & policy.NESTED_RULES
    assert used | policy.NESTED_RULES | {policy.WEB_PAGE} == set(policy.RULES), (
        "a rule no route uses, or a route with an unknown rule"
    )
    public = {(m, p) for m, p, rule in operations if policy.rule(rule).public}
    assert public == {
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("POST", f"{API}/auth/login"),
        ("POST", f"{API}/auth/pin"),
        ("POST", f"{API}/auth/refresh"),
    }


def test_web_pages_are_outside_the_api_and_its_document(settings: GatewaySettings) -> None:
    pages = _operations(settings, pages=True)
    assert len(pages) > 10
    app = create_app(settings)
    documented = app.openapi()["paths"]
    for _, path, _ in pages:
        assert not path.startswith(API) and path not in documented, path


async def test_openapi_names_each_rule(client: httpx.AsyncClient) -> None:
    spec = (await client.get(f"{API}/openapi.json")).json()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            rule = op[RULE_EXTENSION]
            assert rule in policy.RULES, (method, path)
            assert bool(op.get("security")) == (rule not in PUBLIC), (method, path)


async def test_anonymous_calls_are_401_before_any_service_call(
    settings: GatewaySettings, deps: GatewayDeps, services: FakeServices
) -> None:
    async with make_client(settings, deps, principal=None) as client:
        for method, path, rule in _operations(settings):
            if rule in PUBLIC:
                continue
            url = re.sub(r"\{[a-z_]+\}", "x1", path)
            r = await client.request(method, url, json={})
            assert r.status_code == 401, (method, path, r.text)
            assert r.json()["code"] == "unauthenticated"
            assert r.headers["www-authenticate"] == 'Bearer realm="stride"'
    assert services.log.calls == []


async def _objective(services: FakeServices, owner: str) -> str:
    obj = gpb.Objective(id=f"obj-of-{owner}", owner_id=owner, department_id="dep-x")
    services.goals.objectives[obj.id] = obj
    return obj.id


def _employee(services: FakeServices, emp_id: str, manager: str = "") -> None:
    services.identity.employees[emp_id] = ipb.Employee(
        id=emp_id, department_id="dep-x", manager_id=manager
    )


async def test_hidden_objects_read_like_missing_ones(
    settings: GatewaySettings, deps: GatewayDeps, services: FakeServices
) -> None:
    _employee(services, "boss")
    _employee(services, "worker", manager="boss")
    _employee(services, "stranger")
    services.identity.departments["dep-x"] = ipb.Department(id="dep-x", name="X")
    theirs = await _objective(services, "stranger")
    mine = await _objective(services, "worker")
    async with make_client(settings, deps, principal=Principal(id="worker")) as worker:
        hidden = await worker.get(f"{API}/objectives/{theirs}")
        missing = await worker.get(f"{API}/objectives/no-such-objective")
        assert hidden.status_code == missing.status_code == 404
        for key in ("type", "title", "status", "detail", "code"):
            assert hidden.json()[key] == missing.json()[key], key
        assert (await worker.get(f"{API}/objectives/{mine}")).status_code == 200
    async with make_client(settings, deps, principal=Principal(id="boss")) as boss:
        assert (await boss.get(f"{API}/objectives/{mine}")).status_code == 200
        assert (await boss.get(f"{API}/objectives/{theirs}")).status_code == 404
        listed = (await boss.get(f"{API}/objectives")).json()["items"]
        assert {o["id"] for o in listed} == {mine}
    # The service was asked for the boss' reports and filtered by them.
    request = [c for c in services.log.calls if c.method == "ListObjectives"][-1].request
    assert set(request.visible_owner_ids) == {"boss", "worker"}


def test_api_key_cache_expires_and_evicts() -> None:
    now = [100.0]
    cache = ApiKeyCache(ttl=5, max_entries=2, clock=lambda: now[0])
    key = Principal(id="k1", kind="api_key")
    cache.put("sk_one", key)
    assert cache.get("sk_one") == key and cache.get("sk_other") is None
    now[0] += 5.1
    assert cache.get("sk_one") is None
    cache.put("sk_one", key)
    cache.evict("k1")
    assert cache.get("sk_one") is None
    for n in range(3):  # bounded
        cache.put(f"sk_{n}", Principal(id=f"k{n}", kind="api_key"))
    assert cache.get("sk_0") is None and cache.get("sk_2") is not None
    off = ApiKeyCache(ttl=0)
    off.put("sk_one", key)
    assert off.get("sk_one") is None


@pytest.mark.parametrize("header", ["Bearer", "bearer"])
async def test_scheme_is_case_insensitive(
    settings: GatewaySettings, deps: GatewayDeps, header: str
) -> None:
    token = bearer()["Authorization"].split()[1]
    async with make_client(settings, deps, principal=None) as client:
        r = await client.get(f"{API}/cycles", headers={"Authorization": f"{header} {token}"})
    assert r.status_code == 200
