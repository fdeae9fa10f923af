"""The Temporal Schedules of the plugins: one per source, ``integration-pull/<plugin>/<source>``,
every source's ``interval``, kept idempotently like the worker's own (services/common/schedules.py:
an operator's pause survives a restart)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)

from services.common.schedules import ensure_schedule
from services.integrations.api import MetricSource, Plugin, missing_settings
from workflows import ids
from workflows.audit import memo
from workflows.integration_pull import IntegrationPullWorkflow, PullInput, memo_title


def pull_input(plugin: Plugin, source: MetricSource) -> PullInput:
    return PullInput(
        plugin=plugin.name,
        source=source.name,
        interval_seconds=int(source.interval.total_seconds()),
        timeout_seconds=max(1, int(source.timeout.total_seconds())),
    )


def pull_schedule(plugin: Plugin, source: MetricSource, task_queue: str) -> Schedule:
    every = source.interval
    return Schedule(
        action=ScheduleActionStartWorkflow(
            IntegrationPullWorkflow.run,
            pull_input(plugin, source),
            # Temporal appends the start time: integration-pull/mes-oee/lines-2026-...Z
            id=ids.integration_pull(plugin.name, source.name),
            task_queue=task_queue,
            execution_timeout=max(every * 2, timedelta(minutes=5)),
            memo=memo(memo_title(plugin.name, source.name)),
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        # A pull still going when the next is due: skip that one (the watermark catches up).
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=every),
    )


log = structlog.get_logger(__name__)


@dataclass
class PullSchedules:
    """What :func:`ensure_pull_schedules` did: the schedules kept, and the sources left
    unscheduled because a required setting is missing (schedule id → variables to set)."""

    made: list[str] = field(default_factory=list)
    unconfigured: dict[str, list[str]] = field(default_factory=dict)


async def ensure_pull_schedules(
    client: Client,
    plugins: Mapping[str, Plugin],
    task_queue: str,
    environ: Mapping[str, str],
) -> PullSchedules:
    """Create or update the schedule of every configured source of ``plugins``. A source
    missing a required setting gets none (an existing one is left as it is: its pulls fail
    and say which variable is missing). Sources no longer installed keep their schedule
    (pause or delete it with the Temporal CLI; its pulls fail with
    IntegrationUnknownSource)."""
    done = PullSchedules()
    for plugin in plugins.values():
        for source in plugin.sources:
            sid = ids.integration_pull(plugin.name, source.name)
            missing = missing_settings(plugin, source, environ)
            if missing:
                log.info("integration source not configured", schedule=sid, set=missing)
                done.unconfigured[sid] = missing
                continue
            await ensure_schedule(client, sid, pull_schedule(plugin, source, task_queue))
            done.made.append(sid)
    return done
