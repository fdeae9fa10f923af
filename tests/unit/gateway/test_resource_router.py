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
