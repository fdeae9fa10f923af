"""Where each source's pull got to: a JetStream key-value bucket (key ``<plugin>.<source>``),
so the integrations worker keeps no database and any replica continues where another left."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError, KeyNotFoundError
from nats.js.kv import KeyValue


def key(plugin: str, source: str) -> str:
    return f"{plugin}.{source}"


class Watermarks:
    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    @classmethod
    async def open(cls, js: JetStreamContext, bucket: str, replicas: int = 1) -> Watermarks:
        """The bucket, created the first time."""
        try:
            kv = await js.key_value(bucket)
        except BucketNotFoundError:
            kv = await js.create_key_value(
                KeyValueConfig(
                    bucket=bucket,
                    history=5,
                    storage=StorageType.FILE,
                    replicas=replicas,
                    description="Stride integrations: watermark of each plugin source",
                )
            )
        return cls(kv)

    async def get(self, plugin: str, source: str) -> str:
        try:
            entry = await self._kv.get(key(plugin, source))
        except KeyNotFoundError:
            return ""
        return (entry.value or b"").decode()

    async def put(self, plugin: str, source: str, watermark: str) -> None:
        await self._kv.put(key(plugin, source), watermark.encode())
