"""The gRPC channel factory (services/common/channels.py): retries only idempotent reads,
carries who is acting, balances over dns:/// targets."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from services.common.channels import (
    IDEMPOTENT_READS,
    channel,
    dns_target,
    server_options,
    service_config,
)
from services.common.request_context import ACTOR_KEY, CURRENT_REQUEST, REQUEST_ID_KEY, RequestInfo
from stride.audit.v1 import audit_pb2
from stride.feedback.v1 import archive_pb2, feedback_pb2, promotions_pb2, rounds_pb2, talent_pb2
from stride.goals.v1 import goals_pb2
from stride.identity.v1 import auth_pb2, identity_pb2, inbox_pb2, org_sync_pb2
from stride.telemetry.v1 import telemetry_pb2

READ_PREFIXES = ("Get", "List", "Lookup", "Verify")
GOALS = "stride.goals.v1.GoalsService"


def test_idempotent_reads_are_every_read_method_of_the_protos_and_nothing_else() -> None:
    found: dict[str, set[str]] = {}
    modules = (
        audit_pb2,
        goals_pb2,
        auth_pb2,
        identity_pb2,
        inbox_pb2,
        org_sync_pb2,
        feedback_pb2,
        rounds_pb2,
        talent_pb2,
        promotions_pb2,
        archive_pb2,
        telemetry_pb2,
    )
    for module in modules:
        for service in module.DESCRIPTOR.services_by_name.values():
            reads = {m.name for m in service.methods if m.name.startswith(READ_PREFIXES)}
            if reads:
                found[service.full_name] = reads
    listed = {s: set(m) for s, m in IDEMPOTENT_READS.items() if s.startswith("stride.")}
    assert listed == found


def test_service_config_balances_round_robin_and_retries_reads_on_unavailable() -> None:
    config = json.loads(service_config())
    assert config["loadBalancingConfig"] == [{"round_robin": {}}]
    (method_config,) = config["methodConfig"]
    assert method_config["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE"]
    names = {(n["service"], n["method"]) for n in method_config["name"]}
    assert (GOALS, "GetKeyResult") in names
    assert (GOALS, "RecordCheckIn") not in names
    assert all(n.get("method") for n in method_config["name"])  # never a whole service


def test_bare_addresses_use_the_dns_resolver() -> None:
    assert dns_target("127.0.0.1:50052") == "dns:///127.0.0.1:50052"
    assert dns_target("goals:50052") == "dns:///goals:50052"
    assert dns_target("dns:///goals:50052") == "dns:///goals:50052"
    assert dns_target("ipv4:10.0.0.1:1,10.0.0.2:1") == "ipv4:10.0.0.1:1,10.0.0.2:1"


class Calls:
    """A fake GoalsService: GetCycle and CreateCycle fail UNAVAILABLE ``failures`` times,
    then echo the metadata they received."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.count: dict[str, int] = {}

    def handler(self, name: str) -> grpc.RpcMethodHandler:
        async def call(_request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            self.count[name] = self.count.get(name, 0) + 1
            if self.count[name] <= self.failures:
                await context.abort(grpc.StatusCode.UNAVAILABLE, "restarting")
            md = dict(context.invocation_metadata() or ())
            keys = (ACTOR_KEY, REQUEST_ID_KEY)
            return json.dumps({k: md.get(k, "") for k in keys}).encode()

        return grpc.unary_unary_rpc_method_handler(call)


@pytest.fixture
async def fake() -> AsyncIterator[tuple[Calls, str]]:
    calls = Calls(failures=1)
    server = grpc.aio.server(options=server_options())
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                GOALS, {n: calls.handler(n) for n in ("GetCycle", "CreateCycle")}
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield calls, f"127.0.0.1:{port}"
    finally:
        await server.stop(None)


async def _call(ch: grpc.aio.Channel, method: str, **kwargs: Any) -> dict[str, str]:
    call = ch.unary_unary(
        f"/{GOALS}/{method}", request_serializer=bytes, response_deserializer=bytes
    )
    answer = await call(b"", timeout=5, **kwargs)
    return dict(json.loads(answer))


async def test_a_read_is_retried_on_unavailable_a_write_is_not(
    fake: tuple[Calls, str],
) -> None:
    calls, address = fake
    async with channel(address) as ch:
        await _call(ch, "GetCycle")
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            await _call(ch, "CreateCycle")
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    assert calls.count == {"GetCycle": 2, "CreateCycle": 1}


async def test_actor_metadata_given_wins_then_the_request_served_then_the_channel_default(
    fake: tuple[Calls, str],
) -> None:
    calls, address = fake
    calls.failures = 0
    async with channel(address, actor="cli:test") as ch:
        assert await _call(ch, "GetCycle") == {ACTOR_KEY: "cli:test", REQUEST_ID_KEY: ""}
        token = CURRENT_REQUEST.set(RequestInfo(actor="emp-7", request_id="req-1"))
        try:
            assert await _call(ch, "GetCycle") == {ACTOR_KEY: "emp-7", REQUEST_ID_KEY: "req-1"}
            given = await _call(ch, "GetCycle", metadata=((ACTOR_KEY, "apikey:k1"),))
            assert given == {ACTOR_KEY: "apikey:k1", REQUEST_ID_KEY: "req-1"}
        finally:
            CURRENT_REQUEST.reset(token)
    async with channel(address) as ch:
        assert await _call(ch, "GetCycle") == {ACTOR_KEY: "", REQUEST_ID_KEY: ""}
