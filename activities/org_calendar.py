"""The organisation's calendar for workflows: holidays and adjusted working days (调休) of a
date range and the notification policy (time zone, quiet hours), read from identity.

Read-only, so retries are safe; identity being down fails the attempt and the retry asks
again.
"""

from __future__ import annotations

import grpc
from temporalio import activity

from activities.clients import (
    CALL_TIMEOUT_SECONDS,
    channel,
    metadata,
    to_application_error,
    workflow_actor,
)
from services.common.settings import WorkerSettings
from stride.identity.v1 import identity_pb2, identity_pb2_grpc
from workflows.notifications import ORG_CALENDAR_ACTIVITY, OrgCalendarInfo, OrgCalendarInput

ERROR_REFUSED = "OrgCalendarRefused"


class OrgCalendarActivities:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings

    @activity.defn(name=ORG_CALENDAR_ACTIVITY)
    async def org_calendar(self, input: OrgCalendarInput) -> OrgCalendarInfo:
        async with channel(self.settings.identity_addr) as ch:
            identity = identity_pb2_grpc.IdentityServiceStub(ch)
            try:
                found = await identity.GetOrgCalendar(
                    identity_pb2.GetOrgCalendarRequest(
                        from_date=input.from_date, to_date=input.to_date
                    ),
                    timeout=CALL_TIMEOUT_SECONDS,
                    metadata=metadata(workflow_actor()),
                )
            except grpc.aio.AioRpcError as err:
                raise to_application_error("identity", err, ERROR_REFUSED) from err
        return OrgCalendarInfo(
            time_zone=found.policy.time_zone,
            quiet_start=found.policy.quiet_start,
            quiet_end=found.policy.quiet_end,
            holidays=list(found.holidays),
            working_days=list(found.working_days),
        )
