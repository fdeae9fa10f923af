"""Request size limits: bodies over the limit get 413 before they are read (also before sign
in), nothing is written; gRPC message limits on both sides come from one setting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from gateway.server import uvicorn_config
from services.common.channels import channel
from services.common.http_server import BackgroundServer
from services.identity import server as identity_server
from stride.common.v1 import common_pb2
from stride.identity.v1 import identity_pb2, identity_pb2_grpc
from tests.integration.gateway_stack import API, GatewayStack, module_stack, problem
from tests.integration.services_fixtures import running, service_settings

stack = module_stack("gw-limits")
MIB = 1024 * 1024


@pytest.fixture(scope="module")
async def hr(stack: GatewayStack) -> dict[str, str]:
    dept = await stack.department()
    return (await stack.person(dept.id, roles=["hr"])).headers


def padded(body: str, size: int) -> bytes:
    """``body`` (a JSON object) followed by whitespace up to ``size`` bytes: still valid JSON,
    so only its size can refuse it."""
    return body.encode() + b" " * (size - len(body))


async def department_names(stack: GatewayStack, headers: dict[str, str]) -> set[str]:
    r = await stack.http.get("/departments", params={"page_size": 200}, headers=headers)
    assert r.status_code == 200, r.text
    return {d["name"] for d in r.json()["items"]}


async def test_a_body_over_the_limit_is_413_before_sign_in(stack: GatewayStack) -> None:
    assert stack.settings.max_body_bytes == MIB  # the default
    body = padded('{"login": "someone", "password": "Wrong-pass-99"}', 2 * MIB)
    r = await stack.http.post(
        "/auth/login", content=body, headers={"Content-Type": "application/json"}
    )
    found = problem(r, 413, "payload_too_large")
    assert found["detail"] == f"The request body is larger than {MIB} bytes."
    assert found["request_id"] == r.headers["x-request-id"]
    assert r.headers["connection"] == "close"
    # Just under the limit the same body is read and answered as usual.
    r = await stack.http.post(
        "/auth/login", content=body[: MIB - 1], headers={"Content-Type": "application/json"}
    )
    problem(r, 401, "invalid_credentials")


async def test_an_oversized_write_is_refused_and_writes_nothing(
    stack: GatewayStack, hr: dict[str, str]
) -> None:
    json_headers = {**hr, "Content-Type": "application/json"}
    r = await stack.http.post(
        "/departments", content=padded('{"name": "Too big"}', MIB + 1), headers=json_headers
    )
    problem(r, 413, "payload_too_large")
    assert "Too big" not in await department_names(stack, hr)
    r = await stack.http.post(
        "/departments", content=padded('{"name": "Just fits"}', MIB), headers=json_headers
    )
    assert r.status_code == 201, r.text


async def test_a_chunked_body_without_content_length_is_cut_off(
    stack: GatewayStack, hr: dict[str, str]
) -> None:
    chunk = 64 * 1024
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        pulled += 1
        yield b'{"name": "Streamed"'
        for _ in range(1000):  # 64 MB if read to the end
            pulled += 1
            yield b" " * chunk
        yield b"}"

    r = await stack.http.post(
        "/departments", content=endless(), headers={**hr, "Content-Type": "application/json"}
    )
    assert "content-length" not in r.request.headers
    assert r.request.headers["transfer-encoding"] == "chunked"
    problem(r, 413, "payload_too_large")
    assert r.headers["connection"] == "close"
    # Reading stopped right after the limit: about 1 MiB of the 64 MB was pulled.
    assert pulled <= MIB // chunk + 2
    assert "Streamed" not in await department_names(stack, hr)


async def test_bulk_routes_allow_the_bulk_limit(stack: GatewayStack, hr: dict[str, str]) -> None:
    bulk = stack.settings.max_bulk_body_bytes
    assert bulk == 16 * MIB  # the default
    headers = {**hr, "Content-Type": "application/json"}
    body = '{"check_ins": [{"key_result_id": "missing", "value": 1, "confidence": 7}]}'
    # Over the default limit, within the bulk one: read and answered on its merits.
    r = await stack.http.post("/check-ins", content=padded(body, 2 * MIB), headers=headers)
    assert r.status_code == 404, r.text
    r = await stack.http.post("/check-ins", content=padded(body, bulk + 1), headers=headers)
    problem(r, 413, "payload_too_large")
    spec = (await stack.http.get("/openapi.json")).json()
    assert spec["paths"]["/api/v1/check-ins"]["post"]["x-stride-bulk-body"] is True


async def test_over_a_socket_the_413_comes_before_the_body_is_sent(stack: GatewayStack) -> None:
    """Four 200 MB bodies to /auth/login once took the gateway to 1.5 GB: the answer now
    comes from the headers alone, while the client has sent none of the body."""
    server = BackgroundServer(uvicorn_config(stack.app, "127.0.0.1", 0))
    await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            f"POST {API}/auth/login HTTP/1.1\r\nHost: gateway.test\r\n"
            f"Content-Type: application/json\r\nContent-Length: {200 * MIB}\r\n\r\n".encode()
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
        writer.close()
        assert head.startswith(b"HTTP/1.1 413 "), head
        assert b"application/problem+json" in head
    finally:
        await server.stop()


async def test_grpc_message_limits_on_both_sides_come_from_one_setting(
    database_url: str | None, data_dir: Path, nats_url: str
) -> None:
    limit = 64 * 1024
    settings = service_settings(
        database_url, data_dir, nats_url, schema_prefix="grpclimit_", grpc_max_message_bytes=limit
    )
    big = identity_pb2.CreateDepartmentRequest(name="x" * (limit + 1))
    rt = identity_server.runtime(settings)
    async with running(rt):
        address = f"127.0.0.1:{rt.port}"
        # The server refuses to receive it (from a client that would send it)...
        async with channel(address, max_message_bytes=4 * limit) as ch:
            stub = identity_pb2_grpc.IdentityServiceStub(ch)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.CreateDepartment(big, timeout=10)
            assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        # ... and a client with the same setting does not send it.
        async with channel(address, max_message_bytes=settings.grpc_max_message_bytes) as ch:
            stub = identity_pb2_grpc.IdentityServiceStub(ch)
            with pytest.raises(grpc.aio.AioRpcError) as unsent:
                await stub.CreateDepartment(big, timeout=10)
            assert unsent.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            listed = await stub.ListDepartments(
                identity_pb2.ListDepartmentsRequest(page=common_pb2.PageRequest(page_size=10)),
                timeout=10,
            )
            assert list(listed.departments) == []


def test_body_limits_must_fit_in_grpc_messages() -> None:
    from services.common.settings import GatewaySettings

    with pytest.raises(ValueError, match="STRIDE_MAX_BULK_BODY_BYTES"):
        GatewaySettings(max_bulk_body_bytes=64 * MIB, grpc_max_message_bytes=32 * MIB)
    with pytest.raises(ValueError, match="STRIDE_MAX_BODY_BYTES"):
        GatewaySettings(max_body_bytes=2 * MIB, max_bulk_body_bytes=MIB)
