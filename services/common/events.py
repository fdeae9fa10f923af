"""Event registries: one per area, the only place a subject is spelled.

Each area (``services/<area>/events.py``) lists its events once: the NATS subject, the
protobuf message carried on it, and one line saying when it is emitted. Producers emit by
message type (:meth:`services.common.uow.UnitOfWork.emit` asks :meth:`EventRegistry.subject_of`),
consumers decode by subject (:meth:`EventRegistry.decode`), the bridge routes by subject, and
docs/integrations.md is checked against the registries by a test.

Subjects follow ``stride.<area>.v1.<entity>.<event>``; every subject has exactly one message
type and every message type at most one subject within an area (both checked when the
registry is built).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from google.protobuf.message import Message
from sqlalchemy import Table

from services.common.audit import audit_subject
from stride.audit.v1 import audit_pb2


@dataclass(frozen=True)
class Event:
    subject: str
    message: type[Message]
    description: str


class EventRegistry:
    """The events of one service: ``subject ↔ message type``, plus its audit subject."""

    def __init__(self, service: str, outbox: Table, *events: Event) -> None:
        self.service = service
        self.outbox = outbox
        audit_event = Event(
            audit_subject(service),
            audit_pb2.AuditRecorded,
            f"an audit entry of the {service} service (appended to the hash chain by identity)",
        )
        self._events: dict[str, Event] = {}
        self._by_type: dict[type[Message], str] = {}
        for event in (*events, audit_event):
            if event.subject in self._events:
                raise ValueError(f"subject {event.subject} registered twice")
            if event.message in self._by_type and event.message is not audit_pb2.AuditRecorded:
                raise ValueError(f"{event.message.__name__} registered on two subjects")
            prefix = f"stride.{service}.v1." if event is not audit_event else "stride.audit.v1."
            if not event.subject.startswith(prefix):
                raise ValueError(f"{event.subject} is outside {prefix}>")
            self._events[event.subject] = event
            self._by_type.setdefault(event.message, event.subject)

    def __iter__(self) -> Iterator[Event]:
        return iter(self._events.values())

    def __contains__(self, subject: object) -> bool:
        return subject in self._events

    @property
    def subjects(self) -> tuple[str, ...]:
        return tuple(self._events)

    def subject_of(self, message: type[Message]) -> str:
        try:
            return self._by_type[message]
        except KeyError:
            raise KeyError(f"{message.__name__} is not an event of {self.service}") from None

    def message_of(self, subject: str) -> type[Message]:
        try:
            return self._events[subject].message
        except KeyError:
            raise KeyError(f"{subject} is not an event of {self.service}") from None

    def decode(self, subject: str, payload: bytes) -> Message:
        """The message on ``subject`` (raises DecodeError for bytes that are not one)."""
        message = self.message_of(subject)()
        message.ParseFromString(payload)
        return message


def markdown_table(registries: Iterable[EventRegistry]) -> str:
    """The events of ``registries`` as docs/integrations.md lists them (a test keeps it equal)."""
    lines = ["| subject | payload | emitted when |", "|---|---|---|"]
    for registry in registries:
        for event in registry:
            payload = event.message.DESCRIPTOR.full_name
            lines.append(f"| `{event.subject}` | `{payload}` | {event.description} |")
    return "\n".join(lines)
