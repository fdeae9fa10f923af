"""Probes: /healthz (the process is alive) and /readyz (every dependency answers)."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gateway.bootstrap import NotReadyError, ReadinessCheck
from gateway.deps import Deps
from gateway.problems import PROBLEM_JSON, request_problem
from gateway.routes import StrideRoute
from gateway.schemas.health import Readiness
from gateway.schemas.problems import Problem
from gateway.security import Allow

router = APIRouter(tags=["health"], route_class=StrideRoute)


@router.get("/healthz", name="healthz", dependencies=[Allow("health")])
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _probe(check: ReadinessCheck, timeout: float) -> str:
    """ "ok", or a short reason (no internals) why the dependency is not usable."""
    try:
        await asyncio.wait_for(check(), timeout)
    except TimeoutError:
        return "timeout"
    except NotReadyError as exc:
        return str(exc) or "not ready"
    except grpc.aio.AioRpcError as exc:
        return exc.code().name.lower()
    except Exception as exc:
        return type(exc).__name__
    return "ok"


@router.get(
    "/readyz",
    name="readyz",
    response_model=Readiness,
    dependencies=[Allow("health")],
    responses={503: {"model": Problem, "content": {PROBLEM_JSON: {}}}},
)
async def readyz(request: Request, deps: Deps) -> Any:
    names = list(deps.readiness)
    results = await asyncio.gather(
        *(_probe(deps.readiness[name], deps.ready_timeout) for name in names)
    )
    checks = dict(zip(names, results, strict=True))
    failed = [name for name, result in checks.items() if result != "ok"]
    if failed:
        response: JSONResponse = request_problem(
            request,
            503,
            "not_ready",
            f"Not ready: {', '.join(failed)}.",
            failed=failed,
            checks=checks,
        )
        response.headers["Cache-Control"] = "no-store"
        return response
    return {"status": "ready", "checks": checks}
