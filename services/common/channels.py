"""The one way a Stride process opens a gRPC channel to another Stride service.

:func:`channel` gives every client the same behaviour:

- **tracing**: the OpenTelemetry client interceptor, so a call is a child span of the
  current one and the trace continues in the service;
- **who is acting**: ``x-stride-actor`` and ``x-request-id`` metadata (services/common/audit.py)
  on every call. Metadata the caller passes wins; otherwise the request being served
  (``CURRENT_REQUEST``: a service calling another passes its caller on), otherwise the
  channel's own ``actor`` (a CLI command, the org sync, a bench);
- **keepalive**: a ping every minute on an otherwise idle connection, so a replica that
  vanished (node lost, pod killed without FIN) is noticed before the next request hangs on it.
  The services accept those pings (:func:`server_options`);
- **retries for idempotent reads only** (:data:`IDEMPOTENT_READS`, via the gRPC service
  config): a ``Get*`` / ``List*`` call that meets ``UNAVAILABLE`` (a replica restarting) is
  tried again up to 3 more times with backoff. Writes are never retried here: the caller
  decides (the worker's activities through Temporal's retry policy);
- **client-side load balancing**: ``round_robin`` over every address the target resolves to.
  A bare ``host:port`` becomes ``dns:///host:port``; with a Kubernetes *headless* Service
  that name resolves to every ready pod, and calls spread over all replicas instead of
  sticking to one connection. The services end connections after
  :data:`MAX_CONNECTION_AGE_MS` so that clients re-resolve and find new replicas;
- **quick reconnects**: after a lost connection the channel tries again after at most
  :data:`MAX_RECONNECT_BACKOFF_MS` (gRPC's default grows to 120 s), so a service restarted by
  ``stride up`` or Kubernetes is used again within a couple of seconds of serving;
- **message size**: up to ``max_message_bytes`` both ways, the setting
  ``STRIDE_GRPC_MAX_MESSAGE_BYTES`` (default :data:`MAX_MESSAGE_BYTES`, 32 MiB: an org sync
  snapshot of a large organisation is a few MB, over gRPC's 4 MB default). The servers use
  the same setting (:func:`server_options`). Processes pass their settings' value on the
  paths that carry large messages (the gateway, org sync, goals → identity); a CLI command
  and the small calls of the worker use the default.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from functools import cache
from typing import Any

import grpc
import structlog

from services.common.request_context import ACTOR_KEY, CURRENT_REQUEST, REQUEST_ID_KEY

log = structlog.get_logger(__name__)

MAX_MESSAGE_BYTES = 32 * 1024 * 1024
KEEPALIVE_TIME_MS = 60_000
KEEPALIVE_TIMEOUT_MS = 20_000
INITIAL_RECONNECT_BACKOFF_MS = 250
MAX_RECONNECT_BACKOFF_MS = 2_000
# Services: close a connection after this long (plus the grace for calls in flight) so that
# clients re-resolve their dns:/// target and spread onto replicas added since.
MAX_CONNECTION_AGE_MS = 5 * 60_000
MAX_CONNECTION_AGE_GRACE_MS = 30_000

# (service, methods) whose calls only read: safe to send again. tests/unit/test_channels.py
# checks this against the protos (every Get/List/Lookup/Verify method, nothing else).
IDEMPOTENT_READS: dict[str, tuple[str, ...]] = {
    "grpc.health.v1.Health": ("Check",),
    "stride.audit.v1.AuditService": ("ListAuditEntries", "VerifyAuditLog"),
    "stride.goals.v1.GoalsService": (
        "GetCycle",
        "ListCycles",
        "GetObjective",
        "ListObjectives",
        "GetKeyResult",
        "ListKeyResults",
        "ListCheckIns",
        "ListCheckInHistory",
        "GetChecklist",
        "ListRevisions",
        "GetApproval",
        "ListApprovals",
        "GetScores",
        "GetParticipation",
        "ListBlockers",
        "GetRiskRules",
        "ListRiskRules",
        "ListCycleCheckIns",
        "GetPeopleStats",
        "GetDashboard",
        "ListRisks",
        "GetMonthlyBrief",
        "ListMonthlyBriefs",
    ),
    "stride.identity.v1.AuthService": ("ListApiKeys", "GetInvitationJob"),
    "stride.identity.v1.IdentityService": (
        "GetDepartment",
        "ListDepartments",
        "GetEmployee",
        "ListEmployees",
        "ListReports",
        "GetManagerChain",
        "LookupEmployees",
        "ListDepartmentRobots",
        "GetRobotTargets",
        "GetOrgCalendarYear",
        "GetOrgCalendar",
        "ListTrainingCourses",
        "GetReach",
    ),
    "stride.identity.v1.InboxService": ("ListInbox",),
    "stride.identity.v1.OrgSyncService": ("GetOrgSyncReport", "ListOrgSyncRuns"),
    "stride.feedback.v1.FeedbackService": (
        "GetFeedback",
        "ListFeedback",
        "ListPraise",
        "ListFeedbackRequests",
        "ListBadges",
        "GetUpwardFeedback",
        "GetChallenge",
        "ListChallenges",
        "GetFeedbackFrequency",
        "GetSettings",
    ),
    "stride.feedback.v1.RoundService": (
        "GetTemplate",
        "ListTemplates",
        "GetRound",
        "ListMyRounds",
        "ListPendingRaters",
        "GetRoundResults",
    ),
    "stride.feedback.v1.TalentService": (
        "ListSuggestions",
        "GetSuggestion",
        "GetManagerDimensions",
    ),
    "stride.feedback.v1.PromotionService": (
        "GetCase",
        "ListCases",
        "GetCasePeople",
        "GetRules",
    ),
    # ExportArchive is not here: its first page writes the export's audit entry.
    "stride.feedback.v1.ArchiveService": ("GetHistory", "GetCalibration", "ListCalibrations"),
    "stride.telemetry.v1.TelemetryService": (
        "GetMetric",
        "ListMetrics",
        "GetBinding",
        "ListBindings",
        "ListDeadLetters",
    ),
}

RETRY_POLICY: dict[str, Any] = {
    "maxAttempts": 4,
    "initialBackoff": "0.1s",
    "maxBackoff": "1s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}


@cache
def service_config() -> str:
    """The gRPC service config (JSON) of every Stride channel: round_robin, read retries."""
    names = [
        {"service": service, "method": method}
        for service, methods in IDEMPOTENT_READS.items()
        for method in methods
    ]
    return json.dumps(
        {
            "loadBalancingConfig": [{"round_robin": {}}],
            "methodConfig": [{"name": names, "retryPolicy": RETRY_POLICY}],
        }
    )


def channel_options(max_message_bytes: int = MAX_MESSAGE_BYTES) -> list[tuple[str, Any]]:
    return [
        ("grpc.service_config", service_config()),
        ("grpc.enable_retries", 1),
        ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
        ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.initial_reconnect_backoff_ms", INITIAL_RECONNECT_BACKOFF_MS),
        ("grpc.max_reconnect_backoff_ms", MAX_RECONNECT_BACKOFF_MS),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
        # gRPC sets SO_REUSEPORT by default: two servers given the same port would both bind
        # and split the calls between them ("Method not found" on half of them). Refuse the
        # second bind instead.
        ("grpc.so_reuseport", 0),
    ]


def server_options(max_message_bytes: int = MAX_MESSAGE_BYTES) -> list[tuple[str, Any]]:
    """Options of every Stride gRPC server (services/common/grpc_server.py), matching the
    clients."""
    return [
        ("grpc.keepalive_permit_without_calls", 1),
        # Below the clients' keepalive time, so their pings are never "too many".
        ("grpc.http2.min_recv_ping_interval_without_data_ms", KEEPALIVE_TIME_MS // 2),
        ("grpc.max_connection_age_ms", MAX_CONNECTION_AGE_MS),
        ("grpc.max_connection_age_grace_ms", MAX_CONNECTION_AGE_GRACE_MS),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
    ]


# A process not serving a request (a CLI command, the worker's loops) sees this one.
_NOT_SERVING = CURRENT_REQUEST.get()
_SCHEMES = ("dns:", "ipv4:", "ipv6:", "unix:", "unix-abstract:", "vsock:")


def dns_target(address: str) -> str:
    """``host:port`` → ``dns:///host:port``; a target that names its resolver is kept.

    >>> dns_target("goals.stride.svc:50052")
    'dns:///goals.stride.svc:50052'
    >>> dns_target("unix:/run/goals.sock")
    'unix:/run/goals.sock'
    """
    return address if address.startswith(_SCHEMES) else f"dns:///{address}"


def _with_request_metadata(
    details: grpc.aio.ClientCallDetails, actor: str | None
) -> grpc.aio.ClientCallDetails:
    given = details.metadata
    if given is None:
        metadata = grpc.aio.Metadata()
    elif isinstance(given, grpc.aio.Metadata):
        metadata = grpc.aio.Metadata(*given)  # a copy: never change the caller's object
    else:
        metadata = grpc.aio.Metadata.from_tuple(tuple(given))
    current = CURRENT_REQUEST.get()
    serving = current != _NOT_SERVING
    if ACTOR_KEY not in metadata:
        who = current.actor if serving else actor
        if who:
            metadata.add(ACTOR_KEY, who)
    if REQUEST_ID_KEY not in metadata and current.request_id:
        metadata.add(REQUEST_ID_KEY, current.request_id)
    return details._replace(metadata=metadata)  # type: ignore[attr-defined,no-any-return]


class RequestMetadataInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    """Adds ``x-stride-actor`` / ``x-request-id`` to calls that do not carry them (every
    Stride RPC is unary)."""

    def __init__(self, actor: str | None = None) -> None:
        self.actor = actor

    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        return await continuation(_with_request_metadata(client_call_details, self.actor), request)


def _tracing_interceptors() -> list[grpc.aio.ClientInterceptor]:
    try:
        from opentelemetry.instrumentation.grpc import aio_client_interceptors
    except Exception:  # pragma: no cover - instrumentation is a declared dependency
        log.warning("gRPC client tracing unavailable")
        return []
    return list(aio_client_interceptors())


def channel(
    address: str,
    *,
    actor: str | None = None,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    options: Sequence[tuple[str, Any]] = (),
) -> grpc.aio.Channel:
    """A channel to the Stride service at ``address`` (``host:port`` or a gRPC target).

    ``actor``: the audit actor of calls made outside any request when the call passes none.
    Use it as an async context manager for a short-lived channel, else ``await ch.close()``.
    """
    interceptors: list[Any] = [
        *_tracing_interceptors(),
        RequestMetadataInterceptor(actor),
    ]
    return grpc.aio.insecure_channel(
        dns_target(address),
        options=[*channel_options(max_message_bytes), *options],
        interceptors=interceptors,
    )
