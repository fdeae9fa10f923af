"""The worker's event bridge ensures the streams with the configured replica count (it updates
an existing stream's config, so a default of one would undo the services' R3 streams)."""

from __future__ import annotations

from typing import Any

from nats.js.errors import NotFoundError

from services.common.nats import STREAMS
from services.worker.bridge import EventBridge


class FakeJetStream:
    def __init__(self) -> None:
        self.streams: dict[str, Any] = {}

    async def stream_info(self, name: str) -> Any:
        if name not in self.streams:
            raise NotFoundError
        return self.streams[name]

    async def add_stream(self, config: Any) -> None:
        self.streams[config.name] = config

    async def update_stream(self, config: Any) -> None:
        self.streams[config.name] = config

    async def add_consumer(self, stream: str, config: Any) -> None:
        pass

    async def pull_subscribe_bind(self, durable: str, stream: str) -> object:
        return object()


async def test_bridge_setup_keeps_the_configured_stream_replicas() -> None:
    js = FakeJetStream()
    js.streams = {name: None for name in list(STREAMS)[:1]}  # one exists, the others do not
    bridge = EventBridge(
        js,  # type: ignore[arg-type]
        client=None,  # type: ignore[arg-type]
        task_queue="q",
        consumer="c",
        stream_replicas=3,
    )
    await bridge.setup()
    assert set(js.streams) == set(STREAMS)
    assert {name: c.num_replicas for name, c in js.streams.items()} == dict.fromkeys(STREAMS, 3)
