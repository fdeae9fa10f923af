"""What the telemetry service asks goals, over gRPC (services/common/channels.py): the key
result a binding feeds (it must exist and be data_source TELEMETRY) and its cycle, and the
two writes that feed it (RecordMachineValue, SetKeyResultStale)."""

from __future__ import annotations

import grpc

from services.common.channels import MAX_MESSAGE_BYTES, channel
from services.common.errors import DomainError, FailedPrecondition, InvalidArgument
from stride.goals.v1 import goals_pb2, goals_pb2_grpc

DEADLINE_SECONDS = 5.0


def unavailable() -> DomainError:
    return DomainError(
        "goals_unavailable",
        "the goals service did not answer; try again",
        status=grpc.StatusCode.UNAVAILABLE,
    )


class Goals:
    def __init__(self, address: str, *, max_message_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.channel = channel(address, actor="telemetry", max_message_bytes=max_message_bytes)
        self.stub = goals_pb2_grpc.GoalsServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close(None)

    async def machine_fed(self, kr_id: str) -> tuple[goals_pb2.KeyResult, goals_pb2.Cycle]:
        """The key result and its cycle; ``unknown_key_result`` (INVALID_ARGUMENT) or
        ``not_machine_fed`` (FAILED_PRECONDITION: its data source is not telemetry)."""
        if not kr_id:
            raise InvalidArgument("key_result_required", "key_result_id must be given")
        try:
            kr = await self.stub.GetKeyResult(
                goals_pb2.GetKeyResultRequest(id=kr_id), timeout=DEADLINE_SECONDS
            )
            if kr.data_source != goals_pb2.DATA_SOURCE_TELEMETRY:
                raise FailedPrecondition(
                    "not_machine_fed",
                    "only a key result whose data source is telemetry can be bound",
                )
            cycle = await self.stub.GetCycle(
                goals_pb2.GetCycleRequest(id=kr.cycle_id), timeout=DEADLINE_SECONDS
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise InvalidArgument("unknown_key_result", "key result not found") from exc
            raise unavailable() from exc
        return kr, cycle

    async def record(self, request: goals_pb2.RecordMachineValueRequest) -> goals_pb2.KeyResult:
        return await self.stub.RecordMachineValue(request, timeout=DEADLINE_SECONDS)

    async def set_stale(self, request: goals_pb2.SetKeyResultStaleRequest) -> goals_pb2.KeyResult:
        return await self.stub.SetKeyResultStale(request, timeout=DEADLINE_SECONDS)
