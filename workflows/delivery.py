"""How workflows hand over a notification: the one helper every notifying workflow awaits
(:func:`deliver`), and the organisation's calendar for working-day timers
(:func:`work_calendar`). Deterministic workflow code (activities do the I/O).

Runs with patch :data:`PATCH_CHANNELS` (``notify-channels``; older histories replay the
single ``notify`` activity they recorded):

1. the notification policy is read (activity ``org_calendar``: the organisation's time zone
   and quiet hours, default 22:00–08:00 Asia/Shanghai);
2. inside the quiet hours the inbox items are created at once (``notify`` with the ``inbox``
   channel only) and the workflow sleeps on a durable timer until the quiet hours end
   (:func:`workflows.calendar.next_send_instant`): queued, not dropped, restart-proof;
3. ``notify`` (inbox + e-mail; the items already there are found, the e-mails not yet sent
   go out), with the caller's retry policy;
4. for :data:`~workflows.notifications.IM_TEMPLATES`: ``im_targets`` (the robots of the
   recipients' departments), then one ``notify_im`` per robot with :data:`IM_RETRY`
   (backoff visible in the workflow's history and the Temporal UI). A robot that still fails
   after its attempts is logged and given up: IM never fails or blocks the workflow, and the
   e-mail (a finished activity) is never resent. Recipients told as skip-level manager or
   HR (:data:`PERSONAL_ROLES`) are left out of the robot posts.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from workflows.calendar import (
    QuietHours,
    WorkCalendar,
    next_send_instant,
    parse_clock,
    rfc3339,
)
from workflows.ladder import ROLE_HR, ROLE_SKIP_LEVEL
from workflows.notifications import (
    CHANNEL_INBOX,
    IM_ACTIVITY,
    IM_TARGETS_ACTIVITY,
    IM_TEMPLATES,
    NOTIFY_ACTIVITY,
    ORG_CALENDAR_ACTIVITY,
    ImMessage,
    ImResult,
    ImTarget,
    ImTargetsInput,
    NotifyRequest,
    NotifyResult,
    OrgCalendarInfo,
    OrgCalendarInput,
    Outgoing,
    im_key,
    step_key,
)

PATCH_CHANNELS = "notify-channels"
# workflow.patched id: the notices that went straight to the notify activity (the blocker
# notice, the coordination's invitation and reminders) wait for the quiet hours to end too.
PATCH_QUIET_FOR_ALL = "notify-quiet-for-all"
PERSONAL_ROLES = frozenset({ROLE_SKIP_LEVEL, ROLE_HR})

# A robot down (5xx, timeout, errcode != 0) is tried again with backoff for about a quarter of
# an hour, then given up (logged); a robot refusing the post (4xx) is not retried.
IM_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=8,
    non_retryable_error_types=["RobotRefused"],
)
CALENDAR_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=["OrgCalendarRefused"],
)

IM_TARGETS_RETRY = replace(CALENDAR_RETRY, non_retryable_error_types=["RobotRefused"])


async def org_calendar(first: date | None = None, last: date | None = None) -> OrgCalendarInfo:
    """The notification policy, and the calendar's exceptions of ``first``..``last``."""
    info: OrgCalendarInfo = await workflow.execute_activity(
        ORG_CALENDAR_ACTIVITY,
        OrgCalendarInput(
            from_date=first.isoformat() if first else "",
            to_date=last.isoformat() if last else "",
        ),
        result_type=OrgCalendarInfo,
        start_to_close_timeout=timedelta(seconds=30),
        retry_policy=CALENDAR_RETRY,
        summary="organisation calendar",
    )
    return info


async def work_calendar(first: date, last: date) -> WorkCalendar:
    """The holidays and adjusted working days of ``first``..``last`` (for working-day
    arithmetic, :func:`workflows.calendar.add_working_days`)."""
    info = await org_calendar(first, last)
    return WorkCalendar.of(info.holidays, info.working_days)


def quiet_hours_of(info: OrgCalendarInfo) -> QuietHours:
    try:
        return QuietHours(parse_clock(info.quiet_start), parse_clock(info.quiet_end))
    except ValueError:
        return QuietHours()


async def deliver(
    request: NotifyRequest,
    *,
    retry_policy: RetryPolicy,
    start_to_close_timeout: timedelta,
    summary: str,
    heartbeat_timeout: timedelta | None = None,
) -> NotifyResult:
    """Deliver ``request`` on every channel (module doc); raises the ``notify`` activity's
    ActivityError like a direct call did."""

    async def notify(req: NotifyRequest, what: str) -> NotifyResult:
        result: NotifyResult = await workflow.execute_activity(
            NOTIFY_ACTIVITY,
            req,
            result_type=NotifyResult,
            start_to_close_timeout=start_to_close_timeout,
            heartbeat_timeout=heartbeat_timeout,
            retry_policy=retry_policy,
            summary=what,
        )
        return result

    if not workflow.patched(PATCH_CHANNELS):
        return await notify(request, summary)
    policy = await org_calendar()
    now = workflow.now()
    try:
        send_at = next_send_instant(now, policy.time_zone, quiet_hours_of(policy))
    except ValueError:  # an unknown zone (identity validates it): do not hold anything back
        send_at = now
    if send_at > now:
        await notify(replace(request, channels=[CHANNEL_INBOX]), f"{summary} (inbox)")
        await workflow.sleep(send_at - now, summary=f"quiet hours until {rfc3339(send_at)}")
    result = await notify(request, summary)
    if request.template in IM_TEMPLATES:
        await _post_to_robots(request)
    return result


def service_retry(*refused: str) -> RetryPolicy:
    """The retry policy of a workflow's activities that call a service: backing off to a
    minute, never retrying the service's refusals (the ApplicationError types ``refused``)."""
    return RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=1),
        non_retryable_error_types=list(refused),
    )


async def tell(
    workflow_id: str,
    step: str,
    template: str,
    recipients: list[str],
    params: dict[str, str],
    *,
    retry_policy: RetryPolicy,
) -> None:
    """One notification step of a workflow: ``template`` with ``params`` to each of
    ``recipients`` (none: nothing), keyed by the workflow and the step, through
    :func:`deliver`."""
    if not recipients:
        return
    await deliver(
        NotifyRequest(
            key=step_key(workflow_id, step),
            template=template,
            messages=[Outgoing(r, dict(params)) for r in recipients],
        ),
        start_to_close_timeout=timedelta(minutes=2),
        retry_policy=retry_policy,
        summary=template,
    )


async def deliver_later_if_quiet(
    request: NotifyRequest,
    *,
    retry_policy: RetryPolicy,
    start_to_close_timeout: timedelta,
    summary: str,
) -> NotifyResult:
    """:func:`deliver` in runs with :data:`PATCH_QUIET_FOR_ALL`; before it, the ``notify``
    activity alone (what those runs recorded)."""
    if workflow.patched(PATCH_QUIET_FOR_ALL):
        return await deliver(
            request,
            retry_policy=retry_policy,
            start_to_close_timeout=start_to_close_timeout,
            summary=summary,
        )
    result: NotifyResult = await workflow.execute_activity(
        NOTIFY_ACTIVITY,
        request,
        result_type=NotifyResult,
        start_to_close_timeout=start_to_close_timeout,
        retry_policy=retry_policy,
        summary=summary,
    )
    return result


async def _post_to_robots(request: NotifyRequest) -> None:
    # The skip-level manager's and HR's copies (a recovery tells them too) stay personal: no
    # robot of their departments hears of another team's key result.
    params = {
        m.recipient_id: m.params
        for m in request.messages
        if m.params.get("role") not in PERSONAL_ROLES
    }
    if not params:
        return
    try:
        targets: list[ImTarget] = await workflow.execute_activity(
            IM_TARGETS_ACTIVITY,
            ImTargetsInput(recipient_ids=list(params)),
            result_type=list[ImTarget],
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=IM_TARGETS_RETRY,
            summary="IM robots",
        )
    except ActivityError as err:
        workflow.logger.warning("IM robots not found (%s)", err.cause)
        return
    for target in targets:
        try:
            await workflow.execute_activity(
                IM_ACTIVITY,
                ImMessage(
                    key=im_key(request.key, target.department_id, target.kind),
                    template=request.template,
                    department_id=target.department_id,
                    kind=target.kind,
                    recipient_id=target.recipient_id,
                    params=dict(params.get(target.recipient_id, {})),
                ),
                result_type=ImResult,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=IM_RETRY,
                summary=f"{target.kind} robot",
            )
        except ActivityError as err:
            workflow.logger.warning("%s robot gave up (%s)", target.kind, err.cause)
