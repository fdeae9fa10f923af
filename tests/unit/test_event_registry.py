"""Every event subject is registered once, routed or ignored by the bridge, and documented.

The registries (``services/<area>/events.py``) are found on disk, so a new area's registry is
checked without being listed here. Regenerate docs/integrations.md's table with
``python -m tests.unit.test_event_registry``.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from services.common.events import EventRegistry, markdown_table
from services.common.nats import GOALS_STREAM, STREAMS
from services.worker import bridge

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "integrations.md"
BEGIN = "<!-- events table: generated from the registries -->"
END = "<!-- end of events table -->"
SUBJECT = re.compile(r"^stride\.(?P<area>[a-z]+)\.v1\.(?P<entity>[a-z_]+)\.(?P<event>[a-z_]+)$")


def area_registries() -> list[EventRegistry]:
    """``EVENTS`` of every ``services/<area>/events.py``, by area name."""
    registries = []
    for path in sorted((ROOT / "services").glob("*/events.py")):
        if path.parent.name == "common":
            continue
        module = importlib.import_module(f"services.{path.parent.name}.events")
        registries.append(module.EVENTS)
    return registries


REGISTRIES = area_registries()
SUBJECTS = [event.subject for registry in REGISTRIES for event in registry]


def test_the_registries_are_found() -> None:
    assert {r.service for r in REGISTRIES} >= {"goals", "identity"}


def test_a_subject_is_registered_once_with_one_message_type() -> None:
    assert len(SUBJECTS) == len(set(SUBJECTS)), "a subject is registered by two areas"
    for registry in REGISTRIES:
        for event in registry:
            assert registry.message_of(event.subject) is event.message
            assert event.message.DESCRIPTOR.full_name.startswith("stride.")
            assert event.description.strip(), f"{event.subject} says nothing about when"


@pytest.mark.parametrize("subject", SUBJECTS)
def test_subjects_follow_the_naming_rule(subject: str) -> None:
    match = SUBJECT.match(subject)
    assert match, f"{subject} is not stride.<area>.v1.<entity>.<event>"
    area = match["area"]
    assert area in {r.service for r in REGISTRIES} | {"audit"}
    # Every subject lies on its area's stream (the outbox relays publish there).
    assert any(subject.startswith(f.rstrip(">")) for f in STREAMS[f"STRIDE_{area.upper()}"])


def test_the_bridge_knows_every_registry() -> None:
    assert {r.service for r in bridge.REGISTRIES} == {r.service for r in REGISTRIES}


@pytest.mark.parametrize("subject", SUBJECTS)
def test_the_bridge_routes_or_explicitly_ignores_each_subject(subject: str) -> None:
    routed, ignored = subject in bridge.ROUTES, subject in bridge.IGNORED
    assert routed != ignored, f"{subject}: routed {routed}, ignored {ignored}; it must be one"
    if ignored:
        assert bridge.IGNORED[subject].strip(), f"{subject} is ignored without a reason"


def test_the_bridge_names_only_registered_subjects() -> None:
    assert set(bridge.ROUTES) | set(bridge.IGNORED) <= set(SUBJECTS)
    for subject, route in bridge.ROUTES.items():
        assert route.event.subject == subject
        # The bridge has a consumer on the stream that stores it, filtered to its subjects.
        stream = bridge.stream_of(subject)
        assert any(subject.startswith(f.rstrip(">")) for f in STREAMS[stream])
        assert subject in bridge.routed_streams()[stream]
    # STRIDE_GOALS' consumer keeps the configured name (older deployments have it).
    assert next(iter(bridge.routed_streams())) == GOALS_STREAM
    assert bridge.consumer_name("worker-bridge", GOALS_STREAM) == "worker-bridge"
    assert bridge.consumer_name("worker-bridge", "STRIDE_FEEDBACK") == "worker-bridge-feedback"


def test_a_routed_subject_decodes_to_its_registered_message() -> None:
    for subject, route in bridge.ROUTES.items():
        message = route.event.message()
        assert type(bridge.decode(subject, message.SerializeToString())) is route.event.message


def documented_table(text: str) -> str:
    assert BEGIN in text and END in text, f"{DOC.name} lacks the generated events table"
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def test_integrations_doc_lists_exactly_the_registered_subjects() -> None:
    documented = documented_table(DOC.read_text(encoding="utf-8"))
    assert documented == markdown_table(REGISTRIES), (
        "docs/integrations.md's events table is stale: python -m tests.unit.test_event_registry"
    )
    listed = re.findall(r"^\| `([^`]+)` \|", documented, flags=re.MULTILINE)
    assert sorted(listed) == sorted(SUBJECTS)


def write_doc() -> None:
    text = DOC.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    table = markdown_table(REGISTRIES)
    DOC.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    write_doc()
