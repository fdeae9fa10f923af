"""Who is acting and for which request: the gRPC metadata keys and the context variable.

Set by the gateway and the worker on their calls (``x-stride-actor``, ``x-request-id``), read
by the services' gRPC bootstrap into :data:`CURRENT_REQUEST` and passed on by the channel
factory when a service calls another. Kept apart from services/common/audit.py (which writes
audit rows) so that clients import it without the database layer.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

ACTOR_KEY = "x-stride-actor"
REQUEST_ID_KEY = "x-request-id"


@dataclass(frozen=True)
class RequestInfo:
    actor: str = "system"
    request_id: str = ""


CURRENT_REQUEST: ContextVar[RequestInfo] = ContextVar("stride_request", default=RequestInfo())  # noqa: B039 (frozen)
