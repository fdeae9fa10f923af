"""The telemetry service's events: the one place their subjects are spelled.

Samples themselves are not events: they arrive on `telemetry.ingest.<source>.<metric>` and
unusable ones leave on `telemetry.deadletter.<source>.<metric>` (services/telemetry/ingest.py).
"""

from __future__ import annotations

from services.common.events import Event, EventRegistry
from services.telemetry.models import OUTBOX
from stride.telemetry.v1 import telemetry_pb2 as pb

BINDING_CREATED = Event(
    "stride.telemetry.v1.binding.created",
    pb.BindingCreated,
    "HR or an admin bound a metric (aggregation, window, transform) to a key result",
)
BINDING_DELETED = Event(
    "stride.telemetry.v1.binding.deleted",
    pb.BindingDeleted,
    "a binding was deleted: its key result is no longer fed by telemetry",
)
STALENESS_CHANGED = Event(
    "stride.telemetry.v1.source.staleness_changed",
    pb.SourceStalenessChanged,
    "a bound source went silent for longer than its metric's expected interval (stale) or "
    "spoke again",
)

EVENTS = EventRegistry("telemetry", OUTBOX, BINDING_CREATED, BINDING_DELETED, STALENESS_CHANGED)
