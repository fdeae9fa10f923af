"""Settings shared by every Stride process (pydantic-settings, env prefix ``STRIDE_``).

Each process has its own settings class deriving from :class:`StrideSettings`; nothing is
read from module globals. Construct settings once in the process entry point and pass them on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from workflows.vocabulary import DEFAULT_TIME_ZONE

MIB = 1024 * 1024

SERVICE_PORTS: dict[str, int] = {
    "identity": 50051,
    "goals": 50052,
    "feedback": 50053,
    "telemetry": 50054,
}


# The young-generation threshold of the request paths (see StrideSettings.gc_young_threshold).
GC_YOUNG_THRESHOLD = 10_000


class StrideSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STRIDE_", extra="ignore")

    # Where `stride up` keeps state (SQLite files, Temporal's database, NATS' store, logs).
    data_dir: Path = Path(".stride")
    # PostgreSQL URL (postgresql+asyncpg://...). Unset: one SQLite file per service in data_dir.
    database_url: str | None = None
    # Prepended to each service's schema (PostgreSQL) or file name (SQLite): lets several
    # stacks (or test runs) share one database without seeing each other's data.
    schema_prefix: str = ""
    # PostgreSQL connection pool of each service process (services/common/db.py).
    # - db_pool_size connections are opened as needed and then kept; requests beyond them wait
    #   for one (up to db_pool_timeout seconds) instead of opening more. Overflow connections
    #   (db_max_overflow) are closed again when returned, so any overflow in steady load is
    #   connection churn: a new PostgreSQL backend (fork + auth, ~2-5 ms of server CPU) every
    #   few requests. The default is therefore no overflow and a pool that covers what two
    #   cores of PostgreSQL can run at once several times over (64 requests in flight queue
    #   for 20 connections at no measurable cost). Budget: replicas x services x
    #   (size + overflow) within the server's max_connections (100 by default).
    # - Connections older than db_pool_recycle seconds are replaced when next checked out
    #   (a proxy or firewall that drops idle connections never hands us a dead one).
    # - db_pool_pre_ping tests every connection with a round trip before each use. Off: it
    #   adds a round trip to every transaction, and without it a connection broken by a
    #   PostgreSQL restart fails one transaction, after which SQLAlchemy discards every
    #   connection of the pool opened before the failure.
    db_pool_size: int = Field(default=20, ge=1, le=200)
    db_max_overflow: int = Field(default=0, ge=0, le=200)
    db_pool_timeout: float = Field(default=30.0, gt=0)
    db_pool_recycle: int = Field(default=1800, ge=-1)
    db_pool_pre_ping: bool = False
    # PostgreSQL ends a session left idle inside a transaction this many seconds (0: never),
    # releasing its row locks: a backstop for a connection a bug or a cancelled request left
    # checked out mid-transaction, which would otherwise block every writer of those rows (a
    # key result's check-ins answer 409 concurrent_check_in) until the garbage collector
    # finds it. No Stride transaction waits on anything for that long between statements.
    db_idle_in_transaction_timeout: float = Field(default=60.0, ge=0)
    nats_url: str = "nats://127.0.0.1:4222"
    # JetStream replicas of Stride's streams (3 on a production NATS cluster).
    nats_stream_replicas: int = 1
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    # TLS to Temporal (a real cluster): on when temporal_tls is true or a CA / client
    # certificate is given (PEM files; cert + key for mutual TLS).
    temporal_tls: bool = False
    temporal_tls_ca: Path | None = None
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_tls_server_name: str = ""
    # Temporal Cloud style API key (sent as a bearer token; implies TLS there).
    temporal_api_key: SecretStr | None = None
    task_queue: str = "stride"
    # The organisation's time zone: calendars (Monday check-ins, month end) use it.
    time_zone: str = DEFAULT_TIME_ZONE
    # Largest gRPC message a Stride process sends or accepts, on the servers
    # (services/common/grpc_server.py) and the clients (services/common/channels.py) alike.
    # An org-sync snapshot of a large organisation is a few MB; the gateway's bulk body limit
    # must fit in it.
    grpc_max_message_bytes: int = Field(default=32 * MIB, ge=64 * 1024)
    identity_addr: str = f"127.0.0.1:{SERVICE_PORTS['identity']}"
    goals_addr: str = f"127.0.0.1:{SERVICE_PORTS['goals']}"
    feedback_addr: str = f"127.0.0.1:{SERVICE_PORTS['feedback']}"
    # Empty in a deployment without the telemetry service: the feedback service's archive
    # then records no external metrics.
    telemetry_addr: str = f"127.0.0.1:{SERVICE_PORTS['telemetry']}"
    # The process' asyncio event loop: "uvloop" (libuv; cheaper I/O for grpc.aio, asyncpg and
    # uvicorn; see services.common.tasks.run) or the standard library's "asyncio". Default per
    # process class: uvloop for the gateway and the services (request paths), asyncio for the
    # worker and the commands.
    event_loop: Literal["asyncio", "uvloop"] = "asyncio"
    # Request paths (the gateway and the services): `stride serve` freezes the imported heap
    # and collects the young generation every this many allocations (CPython: 700, about
    # once a request). 0 leaves the collector as CPython sets it: the default for the worker,
    # which serves no requests (and was 5–7 MB larger idle in the runs with a frozen heap).
    gc_young_threshold: int = Field(default=0, ge=0)
    log_level: str = "INFO"
    # "console" for people, "json" for log shippers.
    log_format: str = "console"
    # OpenTelemetry exporter: "none", "console" or "otlp" (OTEL_EXPORTER_OTLP_* env applies).
    otel_exporter: str = "none"


class ServiceSettings(StrideSettings):
    """A gRPC service process (identity, goals, ...)."""

    event_loop: Literal["asyncio", "uvloop"] = "uvloop"
    gc_young_threshold: int = Field(default=GC_YOUNG_THRESHOLD, ge=0)

    grpc_host: str = "127.0.0.1"
    # 0 means: the service's default port from SERVICE_PORTS.
    grpc_port: int = 0
    # How often the outbox relay polls when it was not woken by a commit (seconds).
    outbox_poll_interval: float = 1.0
    # At most one relay pass per this many seconds while commits keep waking it: under load
    # one pass then carries the events of many commits (one SELECT and one UPDATE for all of
    # them instead of per commit); an event waits at most this long for its pass.
    outbox_min_interval: float = 0.02
    # Identity's audit-chain appender links at most one batch per this many seconds: under
    # load one transaction then links the entries of many requests (the advisory lock, the
    # chain-head read and the commit are paid once per batch, not per entry); an entry waits
    # at most this long beyond its arrival before it is in the chain.
    audit_append_min_interval: float = 0.25
    # Identity: hosts whose IM robot webhooks may use plain http (comma-separated; tests'
    # local fake robots). Empty: every webhook must be https.
    robot_http_hosts: str = ""
    # Run the outbox relay inside the service process.
    outbox_relay: bool = True
    # How often the outbox backlog / age gauges are refreshed (seconds; 0: never).
    outbox_metrics_interval: float = 15.0
    # Published outbox rows are deleted this many hours after their publish (the events are
    # in JetStream; 0: kept for ever), checked every outbox_prune_interval seconds by the
    # process that runs the relay. Unpublished rows are never deleted.
    outbox_keep_published_hours: float = Field(default=168.0, ge=0)
    outbox_prune_interval: float = Field(default=3600.0, gt=0)
    # argon2 parameter profile (argon2.profiles): RFC_9106_LOW_MEMORY in production;
    # tests use CHEAPEST so hashing does not dominate their run time.
    password_hash_profile: str = "RFC_9106_LOW_MEMORY"
    # Threads hashing passwords at once (services/identity/passwords.py); 0: half the CPU
    # cores, at least one. The other cores stay free for everything else during a spray.
    password_hash_workers: int = Field(default=0, ge=0)
    # Sign-ins waiting for such a thread; beyond this they are refused at once with 503
    # sign_in_busy and Retry-After instead of waiting ever longer.
    sign_in_queue: int = Field(default=32, ge=0)
    # identity: an org sync that would deactivate more than this share of the active people
    # is refused (`mass_deactivation`) unless explicitly allowed; dry runs only report it.
    org_sync_max_deactivation_share: float = Field(default=0.2, ge=0.0, le=1.0)


class TelemetrySettings(ServiceSettings):
    """The telemetry service (services/telemetry; docs/telemetry.md)."""

    # Durable JetStream pull consumer on TELEMETRY_INGEST (`telemetry.ingest.>`); every
    # replica shares it, so each sample is delivered to one of them.
    telemetry_consumer: str = "telemetry-ingest"
    # Run the ingest consumer in this process (off: IngestSamples only).
    telemetry_ingest: bool = True
    # Messages fetched (and committed in one transaction) per pull.
    telemetry_batch_size: int = Field(default=500, ge=1, le=5000)
    # At most one RecordMachineValue per key result per this many seconds (bursts coalesce).
    telemetry_push_interval: float = Field(default=1.0, gt=0)
    # How often bindings are checked for silent sources (seconds).
    telemetry_staleness_interval: float = Field(default=5.0, gt=0)
    # Start times of the organisation's shifts, local time, comma-separated.
    telemetry_shifts: str = Field(
        default="08:00,16:00,00:00",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9](,([01][0-9]|2[0-3]):[0-5][0-9])*$",
    )
    # A sample more than this far ahead of the clock is refused (future_time).
    telemetry_max_future_seconds: int = Field(default=300, ge=0)
    # A sample older than this is refused (ancient_time).
    telemetry_max_age_days: int = Field(default=400, ge=1)


class GatewaySettings(StrideSettings):
    event_loop: Literal["asyncio", "uvloop"] = "uvloop"
    gc_young_threshold: int = Field(default=GC_YOUNG_THRESHOLD, ge=0)
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # "production": missing secrets are a start-up error instead of being generated.
    environment: Literal["development", "production"] = "development"
    # HS256 key of the access tokens (at least 32 bytes; all gateway replicas share it).
    # Required in production. In development an unset secret is generated once into
    # data_dir/jwt.secret (mode 0600) and reused by later starts.
    jwt_secret: SecretStr | None = None
    # Lifetime of an access token, in seconds.
    access_token_ttl: int = 15 * 60
    # Lifetime of the access token of a PIN sign-in on a shared device, in seconds (it has no
    # refresh token: the session ends then at the latest).
    shared_device_token_ttl: int = 15 * 60
    # Seconds a successful API-key check is cached; a key revoked through another gateway
    # replica stops working after at most this long (at once on the replica that revoked it).
    api_key_cache_ttl: float = 5.0
    # Request bodies (gateway/body_limit.py): larger ones are refused with 413 before they
    # are read. Routes that take bulk bodies (bulk check-ins, uploads) allow the bulk limit.
    max_body_bytes: int = Field(default=MIB, ge=1024)
    max_bulk_body_bytes: int = Field(default=16 * MIB, ge=1024)
    # Failed sign-ins one client address may make (gateway/sign_in_throttle.py), in the
    # limits library's notation ("30/minute", "100/hour"); then 429 with Retry-After.
    sign_in_client_limit: str = "30/minute"
    # Seconds a workflow step (a promotion case's, a 360 round's approval) waits for a
    # workflow the worker's bridge is about to start from the record's event; then 503.
    workflow_start_patience: float = Field(default=10.0, ge=0.0, le=60.0)

    @model_validator(mode="after")
    def _body_limits_fit(self) -> GatewaySettings:
        if not self.max_body_bytes <= self.max_bulk_body_bytes <= self.grpc_max_message_bytes:
            raise ValueError(
                "body limits must satisfy STRIDE_MAX_BODY_BYTES <= STRIDE_MAX_BULK_BODY_BYTES "
                "<= STRIDE_GRPC_MAX_MESSAGE_BYTES"
            )
        return self


class HealthEndpointSettings(StrideSettings):
    """Settings of a process that only connects out but answers Kubernetes probes."""

    # HTTP /healthz and /readyz (services/worker/health.py). 0: not served.
    health_host: str = "127.0.0.1"
    health_port: int = 0


class WorkerSettings(HealthEndpointSettings):
    # Also run the integrations worker (task queue STRIDE_INTEGRATIONS_TASK_QUEUE, the
    # installed plugins) in this process: what `stride up` does, one process less on a
    # laptop. Kubernetes runs it as its own deployment (`stride worker --queue integrations`).
    integrations_in_worker: bool = False
    # How often the escalations-by-level gauge is refreshed from Temporal visibility
    # (seconds; 0: never). Five count queries per refresh.
    escalation_metrics_interval: float = 60.0
    # Durable JetStream consumer name of the event bridge.
    bridge_consumer: str = "worker-bridge"
    # Workflow tasks this worker runs at once. Workflow code runs in threads that share one
    # GIL and Temporal fails an activation that has not finished 2 s after it was handed to
    # a thread ("potential deadlock"): after a restart, replaying dozens of workflows at once
    # made every activation that slow on 2 cores (an Update then answered "workflow task in
    # failed state"). The rest wait in Temporal's task queue, not in this process.
    workflow_task_slots: int = 4
    # Org sync (docs/org-sync.md): comma-separated sources that get an hourly Temporal
    # Schedule `org-sync/<source>`: "dingtalk", "json", "file". Empty: none scheduled.
    org_sync_sources: str = ""
    org_sync_interval_minutes: int = 60
    org_sync_batch_size: int = 200
    # The weekly risk sweep (workflows/risk_sweep.py): the Temporal Schedule `risk-sweep`
    # runs it every Monday at this local time (after the morning check-in deadline) in
    # STRIDE_TIME_ZONE; "" disables it (the worker then leaves an existing schedule alone).
    risk_sweep_at: str = Field(default="12:00", pattern=r"^$|^([01][0-9]|2[0-3]):[0-5][0-9]$")
    # The month-end department brief (report/monthly/<yyyy-mm>): the Schedule report-monthly
    # fires at this local time on the 24th..31st and briefs the month on its last working day;
    # "" disables it (an existing schedule is then left alone).
    monthly_brief_at: str = Field(default="18:00", pattern=r"^$|^([01][0-9]|2[0-3]):[0-5][0-9]$")
    # Key results per SweepRisk batch.
    risk_sweep_batch_size: int = Field(default=500, ge=1, le=1000)
    # "file" source: a CSV or XLSX path the worker can read. "json" source: a URL answering
    # {"departments": [...], "people": [...]}, with an optional bearer token.
    org_sync_file: str = ""
    org_sync_json_url: str = ""
    org_sync_json_token: str = ""
    # DingTalk contacts API (an internal app with contacts read permission).
    dingtalk_app_key: str = ""
    dingtalk_app_secret: str = ""
    dingtalk_base_url: str = "https://oapi.dingtalk.com"
    dingtalk_root_dept_id: int = 1
    dingtalk_timeout_seconds: float = 10.0
    # Pause before retrying a failed DingTalk call (doubles each time; 3 attempts per call).
    dingtalk_retry_backoff_seconds: float = 0.5
    # Notifications (activities/notify.py): every one lands in the person's in-app inbox; an
    # e-mail copy goes out over SMTP when smtp_host is set (`stride up` sets it to a local
    # sink that logs the mail). STRIDE_SMTP_TLS: "none", "starttls" or "tls" (implicit).
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "Stride <stride@localhost>"
    smtp_username: str = ""
    smtp_password: SecretStr | None = None
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    smtp_timeout_seconds: float = 10.0
    # The escalation ladder (workflows/ladder.py): working days (org calendar) a key result
    # stays red without a new check-in before the skip-level manager is told, and further
    # working days before HR is told. Read once per escalation.
    escalation_skip_level_days: int = Field(default=3, ge=1, le=30)
    escalation_hr_days: int = Field(default=5, ge=1, le=30)
    # IM group robots (activities/im.py): one HTTP post's timeout (seconds).
    im_timeout_seconds: float = 10.0
    # Base URL of the web app for links in e-mails (links are relative when empty).
    web_url: str = ""
