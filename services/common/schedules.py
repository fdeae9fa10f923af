"""Temporal Schedules the worker keeps: create one, or update it keeping what operators set."""

from __future__ import annotations

from temporalio.client import (
    Client,
    Schedule,
    ScheduleAlreadyRunningError,
    ScheduleUpdate,
    ScheduleUpdateInput,
)


async def ensure_schedule(client: Client, schedule_id: str, schedule: Schedule) -> None:
    """Create ``schedule_id``, or give the existing one ``schedule``'s spec, action and policy.

    Idempotent: an existing schedule keeps its state (paused or not, with the operator's
    note), so a schedule paused with the CLI stays paused across worker restarts
    (docs/runbook.md).
    """
    try:
        await client.create_schedule(schedule_id, schedule)
    except ScheduleAlreadyRunningError:

        def replace_schedule(current: ScheduleUpdateInput) -> ScheduleUpdate:
            schedule.state = current.description.schedule.state
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(schedule_id).update(replace_schedule)
