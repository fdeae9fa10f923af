"""Bindings: metric + aggregation + window + transform → key result.

A key result has at most one binding (two would fight over its value). It must exist in
goals and have data_source TELEMETRY; its cycle's first day and time zone are kept on the
binding (cycle-to-date windows, the oldest sample that can count, windows in org time).
"""

from __future__ import annotations

import math
from datetime import date

import grpc
import structlog

from services.common.errors import AlreadyExists, InvalidArgument, NotFound
from services.common.models import new_id, utcnow
from services.common.outbox import new_event_meta
from services.telemetry.domain.aggregation import Aggregation
from services.telemetry.domain.samples import SOURCE_PATTERN
from services.telemetry.handlers.shared import Deps, next_page, page
from services.telemetry.messages import AGGREGATIONS, WINDOWS, binding_pb
from services.telemetry.models import Binding
from stride.goals.v1 import goals_pb2
from stride.telemetry.v1 import telemetry_pb2 as pb

log = structlog.get_logger(__name__)


def checked_shape(
    aggregation: int, window: int, denominator: str, percentile: float
) -> tuple[Aggregation, str]:
    """The aggregation and window words of a request, or InvalidArgument."""
    word = AGGREGATIONS.get(aggregation)
    if word is None:
        raise InvalidArgument("invalid_aggregation", "aggregation must be given")
    if window not in WINDOWS:
        raise InvalidArgument("invalid_window", "window must be given")
    if (word is Aggregation.RATIO) != bool(denominator):
        raise InvalidArgument(
            "invalid_denominator", "a ratio, and only a ratio, names a denominator_metric"
        )
    if word is Aggregation.PERCENTILE and not 0 < percentile <= 100:
        raise InvalidArgument("invalid_percentile", "percentile must be in (0, 100]")
    if word is not Aggregation.PERCENTILE and percentile:
        raise InvalidArgument("invalid_percentile", "only a percentile aggregation takes one")
    return word, WINDOWS[window].value


async def create(deps: Deps, request: pb.CreateBindingRequest) -> pb.Binding:
    aggregation, window = checked_shape(
        request.aggregation, request.window, request.denominator_metric, request.percentile
    )
    if request.source and not SOURCE_PATTERN.fullmatch(request.source):
        raise InvalidArgument("invalid_source", "a source is 1-64 of a-z 0-9 _ -")
    scale, offset = request.transform.scale, request.transform.offset
    if not (math.isfinite(scale) and math.isfinite(offset)):
        raise InvalidArgument("invalid_transform", "scale and offset must be finite numbers")
    _kr, cycle = await deps.goals.machine_fed(request.key_result_id)
    async with deps.units() as uow:
        for name in filter(None, (request.metric, request.denominator_metric)):
            if await uow.repo.metric(name) is None:
                raise InvalidArgument("unknown_metric", f"metric {name} is not defined")
        if not request.metric:
            raise InvalidArgument("metric_required", "metric must be given")
        if await uow.repo.binding_of(request.key_result_id) is not None:
            raise AlreadyExists(
                "key_result_bound", "the key result is bound already; delete that binding first"
            )
        now = utcnow()
        row = Binding(
            id=new_id(),
            key_result_id=request.key_result_id,
            metric=request.metric,
            source=request.source,
            aggregation=aggregation.value,
            window=window,
            scale=scale or 1.0,
            offset=offset,
            denominator_metric=request.denominator_metric,
            percentile=request.percentile,
            cycle_start=date.fromisoformat(cycle.start_date),
            time_zone=cycle.time_zone or deps.time_zone,
            created_by=request.created_by[:80],
            created_at=now,
            # Pushed once at once: the window may hold samples already.
            dirty=True,
            sequence=0,
            stale=False,
            stale_told=False,
        )
        uow.repo.add(row)
        await uow.repo.flush()
        message = binding_pb(row)
        await uow.emit(pb.BindingCreated(meta=new_event_meta("telemetry"), binding=message))
        await uow.audit("binding.create", "binding", row.id, None, message)
    deps.wake_pusher()
    return message


async def get(deps: Deps, request: pb.GetBindingRequest) -> pb.Binding:
    async with deps.reading() as repo:
        row = await repo.binding(request.id)
    if row is None:
        raise NotFound("binding_not_found", "binding not found")
    return binding_pb(row)


async def list_(deps: Deps, request: pb.ListBindingsRequest) -> pb.ListBindingsResponse:
    limit, offset = page(request.page)
    async with deps.reading() as repo:
        rows = await repo.bindings(request.key_result_id, request.metric, limit, offset)
    return pb.ListBindingsResponse(
        bindings=[binding_pb(r) for r in rows], page=next_page(offset, limit, len(rows))
    )


async def delete(deps: Deps, request: pb.DeleteBindingRequest) -> pb.Binding:
    """Deletes the binding; the key result keeps its last value. If goals was told its source
    is stale, it is told it no longer is (best effort: nothing feeds it any more)."""
    async with deps.units() as uow:
        row = await uow.repo.binding(request.id, lock=True)
        if row is None:
            raise NotFound("binding_not_found", "binding not found")
        message = binding_pb(row)
        await uow.session.delete(row)
        await uow.emit(
            pb.BindingDeleted(
                meta=new_event_meta("telemetry"),
                binding_id=row.id,
                key_result_id=row.key_result_id,
            )
        )
        await uow.audit("binding.delete", "binding", row.id, message, None, request.deleted_by)
        was_stale = row.stale_told
    if was_stale:
        try:
            await deps.goals.set_stale(
                goals_pb2.SetKeyResultStaleRequest(
                    key_result_id=message.key_result_id, stale=False, binding_id=message.id
                )
            )
        except grpc.aio.AioRpcError as exc:
            log.warning("staleness not cleared", binding=message.id, code=exc.code().name)
    return message
