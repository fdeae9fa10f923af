"""Telemetry: samples posted over HTTP, metrics, bindings metric → key result, windows and dead
letters (served by the telemetry service; docs/telemetry.md).

Senders that cannot publish to NATS post batches here with an API key holding
``telemetry:write``; the batch takes the same path as NATS ingestion (IngestSamples): a sample
already received is counted as a duplicate, a bad one is rejected with its reason and
dead-lettered, the others are kept — 202 either way, with the three counts.

A binding is read by whoever may read its key result (rule ``telemetry_binding.read``): the
route loads the binding, then decides ``key_result.read`` on its key result; a caller who may
not read it gets 404 ``binding_not_found``, exactly like a missing binding.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any

import grpc
from fastapi import Path, Query

from gateway.body_limit import BULK_BODY
from gateway.convert import enum_number, to_dict
from gateway.deps import FilterId, Paging, PathId, Rpc, RpcDep
from gateway.policy import Facts
from gateway.problems import ProblemError
from gateway.routers.common import page
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.common import Instant, Page
from gateway.schemas.telemetry import (
    METRIC_NAME,
    AggregationName,
    AnySource,
    Binding,
    BindingCreate,
    DeadLetterPage,
    IngestResult,
    Metric,
    MetricCreate,
    OptionalMetric,
    SampleBatch,
    WindowName,
    WindowValue,
)
from gateway.security import Access, Allow
from stride.goals.v1 import goals_pb2 as gpb
from stride.telemetry.v1 import telemetry_pb2 as pb
from workflows.vocabulary import DATE_PATTERN, FIRST_CYCLE_YEAR, LAST_CYCLE_YEAR, parse_day

router = ResourceRouter(prefix="/telemetry", tags=["telemetry"], route_class=StrideRoute)

MetricPath = Annotated[str, Path(max_length=64, pattern=METRIC_NAME)]
MetricQuery = Annotated[str, Query(max_length=64, pattern=METRIC_NAME)]
BINDING_NOT_FOUND = ("binding_not_found", "binding not found")


# -- samples ------------------------------------------------------------------------------------


@router.post(
    "/samples",
    status_code=202,
    response_model=IngestResult,
    name="post_samples",
    openapi_extra=BULK_BODY,
    description="A batch of up to 1,000 samples (API keys with telemetry:write). Each sample "
    "is accepted, counted as a duplicate (same source and sample_id as one received before: "
    "safe to resend a batch), or rejected with its reason and kept in the dead letters. A "
    "body of the wrong shape is 422 validation_error and nothing of it is kept.",
)
async def post_samples(
    body: SampleBatch, rpc: RpcDep, access: Access = Allow("telemetry.ingest")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.telemetry.IngestSamples,
        pb.IngestSamplesRequest(
            samples=[
                pb.Sample(
                    source=s.source,
                    metric=s.metric,
                    value=s.value,
                    unit=s.unit,
                    event_time=s.event_time,
                    sample_id=s.sample_id,
                )
                for s in body.samples
            ],
            received_via=f"http:{access.caller.id}",
        ),
    )
    return to_dict(msg)


# -- metrics ------------------------------------------------------------------------------------


@router.post(
    "/metrics",
    status_code=201,
    response_model=Metric,
    name="define_metric",
    description="What may be sent: a metric's name, unit and expected interval (HR, admin). "
    "Defining it again changes its description and interval; another unit: 409 "
    "unit_change.",
)
async def define_metric(
    body: MetricCreate, rpc: RpcDep, access: Access = Allow("telemetry_metric.define")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.telemetry.DefineMetric,
        pb.DefineMetricRequest(
            name=body.name,
            unit=body.unit,
            description=body.description,
            expected_interval_seconds=body.expected_interval_seconds,
            defined_by=access.caller.id,
        ),
    )
    return to_dict(msg)


@router.get(
    "/metrics",
    response_model=Page[Metric],
    name="list_metrics",
    dependencies=[Allow("telemetry_metric.read")],
)
async def list_metrics(rpc: RpcDep, paging: Paging) -> dict[str, Any]:
    msg = await rpc(rpc.telemetry.ListMetrics, pb.ListMetricsRequest(page=paging.proto()))
    return page(msg, "metrics")


@router.get(
    "/metrics/{name}",
    response_model=Metric,
    name="get_metric",
    dependencies=[Allow("telemetry_metric.read")],
    description="404 metric_not_found when no metric has this name.",
)
async def get_metric(name: MetricPath, rpc: RpcDep) -> dict[str, Any]:
    return to_dict(await rpc(rpc.telemetry.GetMetric, pb.GetMetricRequest(name=name)))


# -- bindings -----------------------------------------------------------------------------------


@router.post(
    "/bindings",
    status_code=201,
    response_model=Binding,
    name="create_binding",
    description="Binds a metric (aggregated over a window, then × scale + offset) to a key "
    "result whose data_source is telemetry (HR, admin). Unknown key result: 422 "
    "unknown_key_result; a manual one: 409 not_machine_fed; unknown metric: 422 "
    "unknown_metric; the key result already bound: 409 key_result_bound.",
)
async def create_binding(
    body: BindingCreate, rpc: RpcDep, access: Access = Allow("telemetry_binding.write")
) -> dict[str, Any]:
    transform = body.transform
    msg = await rpc(
        rpc.telemetry.CreateBinding,
        pb.CreateBindingRequest(
            key_result_id=body.key_result_id,
            metric=body.metric,
            source=body.source,
            aggregation=enum_number(pb.Aggregation, body.aggregation),
            window=enum_number(pb.WindowKind, body.window),
            transform=pb.Transform(
                scale=transform.scale if transform else 1.0,
                offset=transform.offset if transform else 0.0,
            ),
            denominator_metric=body.denominator_metric,
            percentile=body.percentile,
            created_by=access.caller.id,
        ),
    )
    return to_dict(msg)


async def _may_read_key_result(access: Access, rpc: Rpc, key_result_id: str) -> bool:
    """Whether the caller may read this key result (key_result.read, public objectives
    included); a missing one: no."""
    if access.sees_everything:
        return True
    try:
        kr = await rpc(rpc.goals.GetKeyResult, gpb.GetKeyResultRequest(id=key_result_id))
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return False
        raise
    try:
        await access.check(
            "key_result.read", Facts(owner_id=kr.owner_id, department_id=kr.department_id)
        )
    except ProblemError as exc:
        if exc.status not in (403, 404):
            raise
        return await _in_public_objective(rpc, kr.objective_id)
    return True


async def _in_public_objective(rpc: Rpc, objective_id: str) -> bool:
    try:
        objective = await rpc(rpc.goals.GetObjective, gpb.GetObjectiveRequest(id=objective_id))
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return False
        raise
    return bool(objective.visibility == gpb.VISIBILITY_PUBLIC)


@router.get(
    "/bindings",
    response_model=Page[Binding],
    name="list_bindings",
    description="Bindings, filtered by key result and/or metric. HR, admin, executives and "
    "goals:read keys list every binding; anyone else names a key result they may read "
    "(403 key_result_required without one; 404 key_result_not_found for one they may not "
    "read).",
)
async def list_bindings(
    rpc: RpcDep,
    paging: Paging,
    key_result_id: FilterId = "",
    metric: Annotated[OptionalMetric, Query(description="only bindings of this metric")] = "",
    access: Access = Allow("telemetry_binding.read"),
) -> dict[str, Any]:
    if not access.sees_everything:
        if not key_result_id:
            raise ProblemError(
                403,
                "key_result_required",
                "Name the key result (key_result_id): only HR, admins and executives list "
                "every binding.",
            )
        if not await _may_read_key_result(access, rpc, key_result_id):
            raise ProblemError(404, "key_result_not_found", "key result not found")
    msg = await rpc(
        rpc.telemetry.ListBindings,
        pb.ListBindingsRequest(key_result_id=key_result_id, metric=metric, page=paging.proto()),
    )
    return page(msg, "bindings")


async def _readable_binding(access: Access, rpc: Rpc, binding_id: str) -> pb.Binding:
    try:
        binding = await rpc(rpc.telemetry.GetBinding, pb.GetBindingRequest(id=binding_id))
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            raise ProblemError(404, *BINDING_NOT_FOUND) from exc
        raise
    if not await _may_read_key_result(access, rpc, binding.key_result_id):
        raise ProblemError(404, *BINDING_NOT_FOUND)
    return binding


@router.get(
    "/bindings/{binding_id}",
    response_model=Binding,
    name="get_binding",
    description="A binding with its state: stale, the newest sample's event time, the value "
    "last sent to goals and when. Readable by whoever may read its key result (others: 404 "
    "binding_not_found).",
)
async def get_binding(
    binding_id: PathId, rpc: RpcDep, access: Access = Allow("telemetry_binding.read")
) -> dict[str, Any]:
    return to_dict(await _readable_binding(access, rpc, binding_id))


@router.delete(
    "/bindings/{binding_id}",
    response_model=Binding,
    name="delete_binding",
    description="Unbinds (HR, admin): the key result keeps its last value and takes check-ins "
    "no more from telemetry. Unknown binding: 404 binding_not_found.",
)
async def delete_binding(
    binding_id: PathId, rpc: RpcDep, access: Access = Allow("telemetry_binding.write")
) -> dict[str, Any]:
    msg = await rpc(
        rpc.telemetry.DeleteBinding,
        pb.DeleteBindingRequest(id=binding_id, deleted_by=access.caller.id),
    )
    return to_dict(msg)


# -- windows and dead letters ---------------------------------------------------------------------


@router.get(
    "/windows",
    response_model=WindowValue,
    name="query_window",
    dependencies=[Allow("telemetry_window.read")],
    description="A window's aggregate as a binding would compute it, now or at `at` (HR, "
    "admin). ratio needs denominator_metric, percentile needs percentile, cycle_to_date "
    "needs cycle_start (422 validation_error otherwise).",
)
async def query_window(
    rpc: RpcDep,
    metric: MetricQuery,
    aggregation: Annotated[AggregationName, Query()],
    window: Annotated[WindowName, Query()],
    source: Annotated[AnySource, Query(description="one source; default: every source")] = "",
    denominator_metric: Annotated[OptionalMetric, Query(description="ratio only")] = "",
    percentile: Annotated[float, Query(ge=0, le=100, description="percentile only")] = 0,
    at: Annotated[Instant | None, Query(description="RFC 3339; default now")] = None,
    cycle_start: Annotated[
        str, Query(pattern=f"^$|{DATE_PATTERN}", description="cycle_to_date only (YYYY-MM-DD)")
    ] = "",
) -> dict[str, Any]:
    _window_parameters(aggregation, window, denominator_metric, percentile, cycle_start, at)
    msg = await rpc(
        rpc.telemetry.QueryWindow,
        pb.QueryWindowRequest(
            metric=metric,
            source=source,
            aggregation=enum_number(pb.Aggregation, aggregation),
            window=enum_number(pb.WindowKind, window),
            denominator_metric=denominator_metric,
            percentile=percentile,
            at=at.isoformat() if at is not None else "",
            cycle_start=cycle_start,
        ),
    )
    return to_dict(msg)


def _window_parameters(
    aggregation: str,
    window: str,
    denominator: str,
    percentile: float,
    cycle_start: str,
    at: datetime | None,
) -> None:
    """The parameters an aggregation or window needs, and only those; times in the years
    cycles may lie in (422 otherwise)."""
    problems = []
    years = range(FIRST_CYCLE_YEAR, LAST_CYCLE_YEAR + 1)
    if at is not None and at.year not in years:
        problems.append(f"at lies in the years {FIRST_CYCLE_YEAR} to {LAST_CYCLE_YEAR}")
    start = parse_day(cycle_start) if cycle_start else None
    if cycle_start and (start is None or start.year not in years):
        problems.append(
            f"cycle_start is a date in the years {FIRST_CYCLE_YEAR} to {LAST_CYCLE_YEAR}"
        )
    if (aggregation == "ratio") != bool(denominator):
        problems.append("denominator_metric is required by ratio and only by ratio")
    if (aggregation == "percentile") != (percentile > 0):
        problems.append("percentile (0 < p ≤ 100) is required by percentile and only by it")
    if (window == "cycle_to_date") != bool(cycle_start):
        problems.append("cycle_start is required by cycle_to_date and only by it")
    if problems:
        raise ProblemError(422, "validation_error", "; ".join(problems) + ".")


@router.get(
    "/dead-letters",
    response_model=DeadLetterPage,
    name="list_dead_letters",
    dependencies=[Allow("telemetry_dead_letter.read")],
    description="Samples that could not be used, newest first, with every dead letter counted "
    "by reason (HR, admin). Also on NATS: telemetry.deadletter.<source>.<metric>.",
)
async def list_dead_letters(
    rpc: RpcDep,
    paging: Paging,
    reason: Annotated[
        str, Query(max_length=64, pattern=r"^[a-z_]*$", description="only this reason")
    ] = "",
) -> dict[str, Any]:
    msg = await rpc(
        rpc.telemetry.ListDeadLetters,
        pb.ListDeadLettersRequest(reason=reason, page=paging.proto()),
    )
    items = []
    for letter in msg.dead_letters:
        item = to_dict(letter)
        item["payload_base64"] = base64.b64encode(item.pop("payload")).decode()
        items.append(item)
    return {
        "items": items,
        "next_page_token": msg.page.next_page_token,
        "counts_by_reason": dict(msg.counts_by_reason),
    }
