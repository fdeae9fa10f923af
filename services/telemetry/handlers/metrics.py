"""Metrics: what may be sent (name, unit, expected interval)."""

from __future__ import annotations

import grpc
from sqlalchemy.exc import IntegrityError

from services.common.errors import DomainError, FailedPrecondition, InvalidArgument, NotFound
from services.common.models import utcnow
from services.common.text import checked_text
from services.telemetry.domain.samples import (
    MAX_DESCRIPTION,
    MAX_EXPECTED_INTERVAL_SECONDS,
    METRIC_PATTERN,
    UNIT_MAX,
)
from services.telemetry.handlers.shared import Deps, next_page, page
from services.telemetry.messages import metric_pb
from services.telemetry.models import Metric
from stride.telemetry.v1 import telemetry_pb2 as pb


async def define(deps: Deps, request: pb.DefineMetricRequest) -> pb.Metric:
    """Defines a metric, or changes its description and expected interval. Its unit never
    changes (stored samples are in it): a different unit is ``unit_change``."""
    name = request.name.strip()
    if not METRIC_PATTERN.fullmatch(name):
        raise InvalidArgument("invalid_metric_name", "a metric name is 1-64 of a-z 0-9 _ . -")
    if len(request.unit) > UNIT_MAX or request.unit != request.unit.strip():
        raise InvalidArgument("invalid_unit", f"a unit is at most {UNIT_MAX} characters")
    if not 0 <= request.expected_interval_seconds <= MAX_EXPECTED_INTERVAL_SECONDS:
        raise InvalidArgument(
            "invalid_expected_interval",
            f"expected_interval_seconds is 0 (never stale) to {MAX_EXPECTED_INTERVAL_SECONDS}",
        )
    description = checked_text(
        request.description, "description", MAX_DESCRIPTION, required=False, multiline=True
    )
    try:
        async with deps.units() as uow:
            row = await uow.repo.metric(name)
            before = metric_pb(row) if row is not None else None
            if row is None:
                row = Metric(
                    name=name,
                    unit=request.unit,
                    created_by=request.defined_by[:80],
                    created_at=utcnow(),
                )
                uow.repo.add(row)
            elif row.unit != request.unit:
                raise FailedPrecondition(
                    "unit_change", f"{name} is measured in {row.unit!r}; define a new metric"
                )
            row.description = description
            row.expected_interval_seconds = request.expected_interval_seconds
            await uow.repo.flush()
            after = metric_pb(row)
            await uow.audit("metric.define", "metric", name, before, after)
    except IntegrityError as exc:
        raise DomainError(
            "concurrent_metric_change",
            "the metric was defined at the same time; retry",
            status=grpc.StatusCode.ABORTED,
        ) from exc
    return after


async def get(deps: Deps, request: pb.GetMetricRequest) -> pb.Metric:
    async with deps.reading() as repo:
        row = await repo.metric(request.name)
    if row is None:
        raise NotFound("metric_not_found", "metric not found")
    return metric_pb(row)


async def list_(deps: Deps, request: pb.ListMetricsRequest) -> pb.ListMetricsResponse:
    limit, offset = page(request.page)
    async with deps.reading() as repo:
        rows = await repo.metrics(limit, offset)
    return pb.ListMetricsResponse(
        metrics=[metric_pb(r) for r in rows], page=next_page(offset, limit, len(rows))
    )
