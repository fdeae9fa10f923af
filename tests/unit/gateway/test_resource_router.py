"""Resource routers turn away paths under /api/v1 that are not theirs without trying each
route; what is theirs (and a router whose paths start with a parameter) still matches."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from gateway.routes import API_PREFIX, ResourceRouter


def app() -> FastAPI:
    cycles = ResourceRouter(prefix="/cycles")
    anything = ResourceRouter()
    calls: list[str] = []

    @cycles.get("/{cycle_id}")
    async def cycle(cycle_id: str) -> dict[str, str]:
        return {"router": "cycles", "id": cycle_id}

    @cycles.delete("/{cycle_id}")
    async def delete_cycle(cycle_id: str) -> None:
        calls.append(cycle_id)

    @anything.get("/{kind}/{item_id}")
    async def item(kind: str, item_id: str) -> dict[str, str]:
        return {"router": "anything", "kind": kind}

    a = FastAPI()
    api = ResourceRouter()
    api.include_router(cycles)
    api.include_router(anything)
    a.include_router(api, prefix=API_PREFIX)
    return a


async def test_each_path_reaches_its_router_and_no_other() -> None:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        r = await http.get(f"{API_PREFIX}/cycles/q1")
        assert r.json() == {"router": "cycles", "id": "q1"}
        # Not a cycles path: the cycles router steps aside, the parameter-first one takes it.
        r = await http.get(f"{API_PREFIX}/objectives/o1")
        assert r.json() == {"router": "anything", "kind": "objectives"}
        # A method the path does not have is still a 405 (the path was found).
        r = await http.put(f"{API_PREFIX}/cycles/q1")
        assert r.status_code == 405
        r = await http.get("/cycles/q1")  # outside the API prefix: nobody's
        assert r.status_code == 404


def test_every_api_router_is_a_resource_router_straight_under_the_app() -> None:
    """Finding a route is cheap only when each resource router sits directly under the app
    (FastAPI walks every router a nested one includes, on each request) and turns away the
    paths that are not its own."""
    from gateway.app import create_app
    from gateway.routers import API_ROUTERS
    from tests.unit.gateway.conftest import gateway_settings

    assert all(isinstance(r, ResourceRouter) for r in API_ROUTERS)
    included = [
        getattr(r, "original_router", None) for r in create_app(gateway_settings()).router.routes
    ]
    assert all(r in included for r in API_ROUTERS)
    assert all(not isinstance(r, ResourceRouter) or r in API_ROUTERS for r in included)
