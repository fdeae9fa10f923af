"""FastAPI dependencies (``Annotated`` aliases used by the routers)."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Depends, Path, Query, Request
from pydantic import StringConstraints

from gateway.bootstrap import GatewayDeps
from gateway.schemas.common import QueryInt
from services.common.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from services.common.request_context import ACTOR_KEY, REQUEST_ID_KEY
from services.common.rpc import Req, Resp, UnaryMethod
from stride.audit.v1 import audit_pb2_grpc
from stride.common.v1 import common_pb2
from stride.feedback.v1 import (
    archive_pb2_grpc,
    feedback_pb2_grpc,
    promotions_pb2_grpc,
    rounds_pb2_grpc,
    talent_pb2_grpc,
)
from stride.identity.v1 import auth_pb2_grpc, inbox_pb2_grpc, org_sync_pb2_grpc
from stride.telemetry.v1 import telemetry_pb2_grpc

Stub = TypeVar("Stub")


# Dependencies are ``async def`` even when they do no I/O: FastAPI runs a plain ``def``
# dependency in its thread pool, a thread hop per dependency per request (measured: about a
# quarter of the gateway's CPU per check-in went to those hops).
async def get_deps(request: Request) -> GatewayDeps:
    deps: GatewayDeps | None = getattr(request.app.state, "deps", None)
    if deps is None:  # pragma: no cover - only when the app is served without its lifespan
        raise RuntimeError("gateway dependencies are not initialised")
    return deps


Deps = Annotated[GatewayDeps, Depends(get_deps)]


def request_id_of(request: Request) -> str:
    return str(getattr(request.state, "request_id", ""))


async def get_request_id(request: Request) -> str:
    return request_id_of(request)


RequestId = Annotated[str, Depends(get_request_id)]


# Actor of calls made before anyone is identified (sign-in, refresh, API-key checks).
ANONYMOUS_ACTOR = "anonymous"


class Rpc:
    """Calls a gRPC method with the gateway's deadline and, as metadata, the request id and
    the acting principal (``x-stride-actor``: employee id or ``apikey:<id>``) so services
    record who did what in the audit trail.

    The actor is read at call time from ``request.state.principal``, which the route's
    authorization dependency sets before the route runs.
    """

    def __init__(self, deps: GatewayDeps, request: Request) -> None:
        self._deps = deps
        self.identity = deps.identity
        self.goals = deps.goals
        self.timeout = deps.rpc_timeout
        self._request = request

    @property
    def auth(self) -> auth_pb2_grpc.AuthServiceStub:
        return _wired(self._deps.auth, "auth")

    @property
    def audit(self) -> audit_pb2_grpc.AuditServiceStub:
        return _wired(self._deps.audit, "audit")

    @property
    def inbox(self) -> inbox_pb2_grpc.InboxServiceStub:
        return _wired(self._deps.inbox, "inbox")

    @property
    def org_sync(self) -> org_sync_pb2_grpc.OrgSyncServiceStub:
        return _wired(self._deps.org_sync, "org_sync")

    @property
    def feedback(self) -> feedback_pb2_grpc.FeedbackServiceStub:
        return _wired(self._deps.feedback, "feedback")

    @property
    def rounds(self) -> rounds_pb2_grpc.RoundServiceStub:
        return _wired(self._deps.rounds, "rounds")

    @property
    def talent(self) -> talent_pb2_grpc.TalentServiceStub:
        return _wired(self._deps.talent, "talent")

    @property
    def promotions(self) -> promotions_pb2_grpc.PromotionServiceStub:
        return _wired(self._deps.promotions, "promotions")

    @property
    def archive(self) -> archive_pb2_grpc.ArchiveServiceStub:
        return _wired(self._deps.archive, "archive")

    @property
    def telemetry(self) -> telemetry_pb2_grpc.TelemetryServiceStub:
        return _wired(self._deps.telemetry, "telemetry")

    @property
    def request_id(self) -> str:
        return request_id_of(self._request)

    @property
    def actor(self) -> str:
        principal = getattr(self._request.state, "principal", None)
        return str(principal.actor) if principal is not None else ANONYMOUS_ACTOR

    def metadata(self) -> tuple[tuple[str, str], ...]:
        md = [(ACTOR_KEY, self.actor)]
        if self.request_id:
            md.append((REQUEST_ID_KEY, self.request_id))
        return tuple(md)

    async def __call__(
        self,
        method: UnaryMethod[Req, Resp],
        request: Req,
        *,
        timeout: float | None = None,
    ) -> Resp:
        """``await rpc(rpc.goals.GetCycle, GetCycleRequest(...))`` → the typed response."""
        return await method(request, timeout=timeout or self.timeout, metadata=self.metadata())


def _wired(stub: Stub | None, name: str) -> Stub:
    if stub is None:  # only in tests that wire identity and goals alone
        raise RuntimeError(f"the gateway has no {name} client")
    return stub


async def get_rpc(deps: Deps, request: Request) -> Rpc:
    return Rpc(deps, request)


RpcDep = Annotated[Rpc, Depends(get_rpc)]


class PageParams:
    def __init__(self, page_size: int, page_token: str) -> None:
        self.page_size = page_size
        self.page_token = page_token

    def proto(self) -> common_pb2.PageRequest:
        return common_pb2.PageRequest(page_size=self.page_size, page_token=self.page_token)


async def page_params(
    page_size: Annotated[
        QueryInt, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page")
    ] = DEFAULT_PAGE_SIZE,
    page_token: Annotated[
        str, Query(max_length=1024, description="next_page_token of the previous page")
    ] = "",
) -> PageParams:
    return PageParams(page_size, page_token)


Paging = Annotated[PageParams, Depends(page_params)]


ID_PATTERN = r"^[A-Za-z0-9_.:-]+$"
PathId = Annotated[str, Path(min_length=1, max_length=128, pattern=ID_PATTERN)]
# An optional id filter in a list's query string ("" = no filter): the characters of an id
# (a NUL or other control character reached PostgreSQL before and answered 502).
FilterId = Annotated[str, Query(max_length=128, pattern=r"^[A-Za-z0-9_.:-]*$")]
# One value of a repeatable id filter (``?owner_id=a&owner_id=b``), the same characters.
FilterIdItem = Annotated[str, StringConstraints(max_length=128, pattern=r"^[A-Za-z0-9_.:-]*$")]
