"""What every org-sync connector provides, and how it fails."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from services.identity.sync.data import Snapshot

# Called now and then while a long fetch runs (the activity heartbeats with it).
Progress = Callable[[str], None]


class SourceError(Exception):
    """The source could not give a snapshot. ``retryable``: try again later (an outage);
    otherwise the configuration or the data must be fixed first."""

    retryable = False


class SourceUnavailable(SourceError):
    """Network error, timeout, HTTP 5xx, rate limit: the next run catches up."""

    retryable = True


class SourceInvalid(SourceError):
    """Bad configuration, credentials or file: retrying does not help."""


class Connector(Protocol):
    """A source of the organisation: departments and people, read in one go.

    ``fetch`` returns the whole snapshot or raises :class:`SourceError`; it never returns a
    partial snapshot (people missing from a snapshot are deactivated).
    """

    name: str

    async def fetch(self, progress: Progress | None = None) -> Snapshot: ...
