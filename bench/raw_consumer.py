"""The raw JetStream consume ceiling as its own process (``python -m bench.raw_consumer``), as
the telemetry service's consumer is: a durable pull consumer on a stream, batches of the
service's size, each message acknowledged. It prints ``ready`` once subscribed, then, after
``count`` messages, the wall-clock time of the last acknowledgement (``time.time()``).

Arguments: NATS URL, stream, subject filter, count, batch size.
"""

from __future__ import annotations

import asyncio
import sys
import time

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from services.common.nats import connect


async def consume(url: str, stream: str, subject: str, count: int, batch: int) -> None:
    nc = await connect(url)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(
            subject,
            durable="bench-raw",
            stream=stream,
            config=ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                max_ack_pending=batch * 4,
            ),
        )
        print("ready", flush=True)
        got = 0
        while got < count:
            try:
                msgs = await sub.fetch(min(batch, count - got), timeout=30)
            except TimeoutError:
                break
            for m in msgs:
                await m.ack()
            got += len(msgs)
        await nc.flush()
        print(f"done {got} {time.time():.6f}", flush=True)
    finally:
        await nc.close()


def main() -> None:
    url, stream, subject, count, batch = sys.argv[1:6]
    asyncio.run(consume(url, stream, subject, int(count), int(batch)))


if __name__ == "__main__":
    main()
