"""FastAPI dependencies (``Annotated`` aliases used by the routers)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Query, Request

from gateway.bootstrap import GatewayDeps
from services.common.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from stride.common.v1 import common_pb2

R = TypeVar("R")


def get_deps(request: Request) -> GatewayDeps:
    deps: GatewayDeps | None = getattr(request.app.state, "deps", None)
    if deps is None:  # pragma: no cover - only when the app is served without its lifespan
        raise RuntimeError("gateway dependencies are not initialised")
    return deps


Deps = Annotated[GatewayDeps, Depends(get_deps)]


def get_request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", ""))


RequestId = Annotated[str, Depends(get_request_id)]


class Rpc:
    """Calls a gRPC method with the gateway's deadline and the request id as metadata."""

    def __init__(self, deps: GatewayDeps, request_id: str) -> None:
        self.identity = deps.identity
        self.goals = deps.goals
        self._timeout = deps.rpc_timeout
        self._metadata = (("x-request-id", request_id),) if request_id else ()

    async def __call__(self, method: Callable[..., Awaitable[R]], request: Any) -> R:
        return await method(request, timeout=self._timeout, metadata=self._metadata)


def get_rpc(deps: Deps, request_id: RequestId) -> Rpc:
    return Rpc(deps, request_id)


RpcDep = Annotated[Rpc, Depends(get_rpc)]


class PageParams:
    def __init__(
        self,
        page_size: Annotated[
            int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page")
        ] = DEFAULT_PAGE_SIZE,
        page_token: Annotated[
            str, Query(max_length=1024, description="next_page_token of the previous page")
        ] = "",
    ) -> None:
        self.page_size = page_size
        self.page_token = page_token

    def proto(self) -> common_pb2.PageRequest:
        return common_pb2.PageRequest(page_size=self.page_size, page_token=self.page_token)


Paging = Annotated[PageParams, Depends()]


PathId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
