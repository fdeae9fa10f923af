"""The JetStream consumer acks a batch only after it is stored, and naks it otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from services.telemetry import ingest as ingest_module
from services.telemetry.ingest import IngestConsumer


class FakeMsg:
    def __init__(self, subject: str, data: bytes) -> None:
        self.subject, self.data, self.headers = subject, data, None
        self.settled: list[str] = []

    @property
    def metadata(self) -> Any:
        raise AttributeError("not a JetStream message")

    async def ack(self) -> None:
        self.settled.append("ack")

    async def nak(self, delay: float | None = None) -> None:
        self.settled.append("nak")


@pytest.mark.parametrize(("fails", "expected"), [(False, "ack"), (True, "nak")])
async def test_ack_after_commit_nak_on_failure(
    monkeypatch: pytest.MonkeyPatch, fails: bool, expected: str
) -> None:
    stored: list[int] = []

    async def fake_ingest(deps: object, items: list[object]) -> None:
        if fails:
            raise RuntimeError("database down")
        stored.append(len(items))

    monkeypatch.setattr(ingest_module, "ingest", fake_ingest)
    consumer = IngestConsumer(object(), object(), durable="t", batch=10)  # type: ignore[arg-type]
    msgs = [FakeMsg("telemetry.ingest.a.b", b"{}"), FakeMsg("telemetry.ingest.a.b", b"{}")]
    await consumer.handle(msgs)  # type: ignore[arg-type]
    assert [m.settled for m in msgs] == [[expected], [expected]]
    assert stored == ([] if fails else [2])
