"""The type of a unary ``grpc.aio`` stub method, for helpers that call one on a caller's behalf.

The gateway's ``Rpc`` and the CLI's identity ``Bootstrap`` add a deadline and metadata to every
call: ``await rpc(stub.GetCycle, GetCycleRequest(...))``. Typed with :class:`UnaryMethod`, the
request must match the method and the result has the method's response type (the generated
``*_pb2_grpc.pyi`` declare each method as ``grpc.aio.UnaryUnaryMultiCallable[Req, Resp]``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import Protocol, TypeVar

from google.protobuf.message import Message

Req = TypeVar("Req", bound=Message)
Resp = TypeVar("Resp", bound=Message)
_Req_contra = TypeVar("_Req_contra", bound=Message, contravariant=True)
_Resp_co = TypeVar("_Resp_co", bound=Message, covariant=True)


class UnaryMethod(Protocol[_Req_contra, _Resp_co]):
    """A unary method of a ``grpc.aio`` stub, e.g. ``GoalsServiceStub.GetCycle``.

    A protocol rather than ``grpc.aio.UnaryUnaryMultiCallable``, which is invariant in the
    response: ``to_dict(await rpc(stub.GetCycle, ...))`` would then infer ``Message`` from
    ``to_dict``'s parameter and reject the stub's ``Cycle``.
    """

    def __call__(
        self,
        request: _Req_contra,
        /,
        *,
        timeout: float | None = ...,
        metadata: Sequence[tuple[str, str]] | None = ...,
    ) -> Awaitable[_Resp_co]: ...
