"""free_port hands out ports an outgoing connection cannot grab before the server binds."""

from __future__ import annotations

import socket
from collections import deque
from pathlib import Path

import pytest

from services.common import binaries


@pytest.fixture(autouse=True)
def _fresh_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no port handed out lately."""
    monkeypatch.setattr(binaries, "_RECENT", deque(maxlen=256))


def test_ports_come_from_below_the_ephemeral_range_and_are_bindable() -> None:
    low, high = binaries._unassigned_range()
    ports = {binaries.free_port() for _ in range(20)}
    for port in ports:
        if high:
            assert low <= port <= high
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", port))
    assert len(ports) > 1  # random, so parallel callers rarely collide


def test_a_taken_port_is_never_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        monkeypatch.setattr(binaries, "_unassigned_range", lambda: (taken, taken))
        assert binaries.free_port() != taken


def test_excluded_ports_are_never_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ports already promised to a process that has not bound them yet are skipped, so a stack
    never gets the same port twice (two listeners on one port: one of them cannot start)."""
    monkeypatch.setattr(binaries, "_unassigned_range", lambda: (40000, 40001))
    assert binaries.free_port(exclude={40000}) == 40001
    binaries._RECENT.clear()
    assert sorted(binaries.free_ports(2)) == [40000, 40001]


def test_a_port_handed_out_lately_is_not_handed_out_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings for three servers are often made before any of them binds: three calls, three
    ports, though nothing is bound in between."""
    monkeypatch.setattr(binaries, "_unassigned_range", lambda: (40000, 40002))
    assert sorted(binaries.free_port() for _ in range(3)) == [40000, 40001, 40002]


def test_a_free_ports_stack_listens_on_distinct_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.cli.stack import StackConfig

    # A range just large enough: without exclusion, collisions would be near certain.
    monkeypatch.setattr(binaries, "_unassigned_range", lambda: (41000, 41011))
    config = StackConfig.on_free_ports(Path("/tmp/unused"))
    listeners = [
        config.temporal_port,
        config.temporal_ui_port,
        config.nats_port,
        config.gateway_port,
        config.worker_health_port,
        config.smtp_port,
        *config.service_ports.values(),
    ]
    assert len(set(listeners)) == len(listeners) == len(config.ports())
