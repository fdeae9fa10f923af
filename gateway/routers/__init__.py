"""One router per resource; :data:`API_ROUTERS` are those served under /api/v1.

Each is included in the app on its own (``app.include_router(router, prefix=API_PREFIX)``),
not through one router that gathers them: FastAPI resolves an included router's routes on
each request by walking every router it includes, so with that one level of nesting finding
the check-in route took ~78 µs, straight under the app ~32 µs (each resource router turns
away a path that is not its own at once: ``gateway.routes.ResourceRouter``)."""

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

API_ROUTERS: tuple[APIRouter, ...] = tuple(
    module.router
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
    )
)
for _router in (*API_ROUTERS, health.router):
    annotate_routes(_router)
