"""free_port hands out ports an outgoing connection cannot grab before the server binds."""

from __future__ import annotations

import socket

import pytest

from services.common import binaries


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
