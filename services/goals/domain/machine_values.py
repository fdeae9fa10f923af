"""Machine-fed key results (pure): which telemetry values apply and when they are history.

Telemetry pushes a key result's value many times a day, at most once a second. Each push
carries (binding_id, sequence): the sequence grows with every value telemetry computes for
the binding, so a retried or reordered call is recognised and changes nothing. A new binding
(its id differs) starts its own sequence. The week's check-in is updated in place; a history
version is kept only when the value changed and the last one is at least
``MACHINE_VERSION_SECONDS`` old, so the history stays readable (and bounded) however often
the machine speaks.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.common.errors import FailedPrecondition
from workflows.vocabulary import DATA_SOURCE_TELEMETRY, MACHINE_VERSION_SECONDS


def is_newer(last_binding: str, last_sequence: int, binding: str, sequence: int) -> bool:
    """Whether a value (``binding``, ``sequence``) comes after the last one applied."""
    return binding != last_binding or sequence > last_sequence


def keeps_version(
    changed: bool, last_versioned_at: datetime | None, now: datetime, first_of_week: bool
) -> bool:
    """Whether this machine value adds a history version: the week's first value always, later
    ones when the value changed and the last version is old enough."""
    if first_of_week:
        return True
    if not changed:
        return False
    return last_versioned_at is None or now - last_versioned_at >= timedelta(
        seconds=MACHINE_VERSION_SECONDS
    )


def ensure_machine_fed(data_source: str) -> None:
    if data_source != DATA_SOURCE_TELEMETRY:
        raise FailedPrecondition("not_machine_fed", "the key result's data source is not telemetry")


def ensure_person_fed(data_source: str) -> None:
    """People do not check in on a machine-fed key result: telemetry owns its value."""
    if data_source == DATA_SOURCE_TELEMETRY:
        raise FailedPrecondition(
            "machine_fed",
            "this key result is fed by telemetry; its value cannot be checked in by hand",
        )
