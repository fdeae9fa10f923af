"""What the goals service published: every ``checkin.recorded`` message in JetStream."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from services.common.nats import GOALS_STREAM
from services.goals.events import CHECKIN_RECORDED
from stride.goals.v1 import goals_pb2


@dataclass(frozen=True)
class Recorded:
    msg_id: str
    check_in_id: str
    key_result_id: str
    week: str
    value: float
    revision: int
    risk: str  # e.g. "RISK_STATUS_AT_RISK"


async def check_ins_recorded(nats_url: str, key_result_ids: Collection[str]) -> list[Recorded]:
    """Every ``checkin.recorded`` message of the given key results, in stream order."""
    wanted = set(key_result_ids)
    nc = await nats.connect(nats_url, max_reconnect_attempts=5)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe(
            CHECKIN_RECORDED.subject,
            stream=GOALS_STREAM,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.NONE,
                inactive_threshold=60,
            ),
        )
        found: list[Recorded] = []
        try:
            while (await sub.consumer_info()).num_pending > 0:
                for msg in await sub.fetch(1000, timeout=5):
                    event = goals_pb2.CheckInRecorded.FromString(msg.data)
                    c = event.check_in
                    if c.key_result_id not in wanted:
                        continue
                    found.append(
                        Recorded(
                            msg_id=(msg.headers or {}).get("Nats-Msg-Id", ""),
                            check_in_id=c.id,
                            key_result_id=c.key_result_id,
                            week=c.week,
                            value=c.value,
                            revision=c.revision,
                            risk=goals_pb2.RiskStatus.Name(c.risk.status),
                        )
                    )
        finally:
            await sub.unsubscribe()
        return found
    finally:
        await nc.close()
