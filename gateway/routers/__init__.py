"""One router per resource; :data:`api_router` gathers those served under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.routers import (
    api_keys,
    approval_decisions,
    approvals,
    audit,
    auth,
    blockers,
    challenges,
    check_in_imports,
    check_ins,
    checklists,
    coordinations,
    cycles,
    dashboards,
    departments,
    employees,
    feedback,
    feedback_rounds,
    health,
    inbox,
    inspections,
    key_results,
    me,
    objectives,
    org_channels,
    org_invitations,
    org_sync,
    promotions,
    reports,
    risk_rules,
    round_approvals,
    talent,
    telemetry,
    training,
    upward_feedback,
)
from gateway.routers import archive as archive_routes
from gateway.security import annotate_routes

api_router = APIRouter()
for module in (
    auth,
    departments,
    employees,
    cycles,
    dashboards,
    objectives,
    key_results,
    check_ins,
    check_in_imports,
    checklists,
    inspections,
    risk_rules,
    blockers,
    coordinations,
    approvals,
    api_keys,
    audit,
    org_sync,
    org_invitations,
    org_channels,
    training,
    inbox,
    me,
    approval_decisions,
    feedback,
    upward_feedback,
    challenges,
    round_approvals,
    feedback_rounds,
    talent,
    promotions,
    archive_routes,
    telemetry,
    reports,
):
    annotate_routes(module.router)
    api_router.include_router(module.router)
annotate_routes(health.router)
