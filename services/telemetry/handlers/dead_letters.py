"""Dead letters: what could not be used, newest first, with counts by reason (for ops)."""

from __future__ import annotations

from services.common.errors import InvalidArgument
from services.telemetry.domain.samples import REASONS
from services.telemetry.handlers.shared import Deps, next_page, page
from services.telemetry.messages import dead_letter_pb
from stride.telemetry.v1 import telemetry_pb2 as pb


async def list_(deps: Deps, request: pb.ListDeadLettersRequest) -> pb.ListDeadLettersResponse:
    if request.reason and request.reason not in REASONS:
        raise InvalidArgument("invalid_reason", f"reason is one of {', '.join(REASONS)}")
    limit, offset = page(request.page)
    async with deps.reading() as repo:
        rows = await repo.dead_letters(request.reason, limit, offset)
        counts = await repo.dead_letter_counts()
    return pb.ListDeadLettersResponse(
        dead_letters=[dead_letter_pb(r) for r in rows],
        counts_by_reason=counts,
        page=next_page(offset, limit, len(rows)),
    )
