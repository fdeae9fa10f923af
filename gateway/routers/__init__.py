"""One router per resource; :data:`api_router` gathers those served under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.problems import PROBLEM_RESPONSES
from gateway.routers import cycles, departments, employees, key_results, objectives

api_router = APIRouter(responses=PROBLEM_RESPONSES)
for module in (departments, employees, cycles, objectives, key_results):
    api_router.include_router(module.router)
