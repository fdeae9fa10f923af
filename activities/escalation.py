"""Activities of ``kr-escalation/<kr>`` and ``coordination/<kr>/<n>``: who is told about a key
result at risk, and who heads the department a blocker names.

The owner and the owner's direct manager (the first *active* manager of identity's manager
chain, as approvals pick theirs); the skip-level manager (the second active one); HR (active
employees with the ``hr`` role) with the training courses that fit the owner's history
(goals' key results of the owner in other cycles and their check-ins, HR's course catalogue in
identity; the rule is :func:`workflows.ladder.recommend_courses`).

An owner out of the pilot (:mod:`services.common.pilot`) has nobody told about them: no
manager, skip-level manager or HR is returned (and identity delivers nothing to the owner).

Read-only, so retries are safe; identity or goals being down fails the attempt and the retry
asks again.
"""

from __future__ import annotations

from typing import Any

import grpc
from temporalio import activity

from activities.clients import (
    CALL_TIMEOUT_SECONDS,
    channel,
    metadata,
    to_application_error,
    workflow_actor,
)
from activities.pilot import in_pilot
from services.common.settings import WorkerSettings
from stride.common.v1 import common_pb2
from stride.goals.v1 import goals_pb2, goals_pb2_grpc
from stride.identity.v1 import identity_pb2, identity_pb2_grpc
from workflows.escalation_notices import (
    DEPARTMENT_HEAD_ACTIVITY,
    RECIPIENTS_ACTIVITY,
    DepartmentHead,
    DepartmentHeadInput,
    Recipients,
    RecipientsInput,
)
from workflows.ladder import (
    HR_NOTICE_ACTIVITY,
    LADDER_POLICY_ACTIVITY,
    ROLE_HR,
    SKIP_LEVEL_ACTIVITY,
    Course,
    HrNotice,
    HrNoticeInput,
    KeyResultProfile,
    LadderPolicy,
    SkipLevel,
    SkipLevelInput,
    behind_before,
    recommend_courses,
)

ERROR_REFUSED = "EscalationRecipientsRefused"


class EscalationActivities:
    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings

    def all(self) -> list[Any]:
        return [
            self.recipients,
            self.department_head,
            self.ladder_policy,
            self.skip_level_manager,
            self.hr_notice_recipients,
        ]

    async def _active_managers(self, owner_id: str) -> list[str]:
        async with channel(self.settings.identity_addr) as ch:
            identity = identity_pb2_grpc.IdentityServiceStub(ch)
            try:
                chain = await identity.GetManagerChain(
                    identity_pb2.GetManagerChainRequest(employee_id=owner_id),
                    timeout=CALL_TIMEOUT_SECONDS,
                    metadata=metadata(workflow_actor()),
                )
            except grpc.aio.AioRpcError as err:
                raise to_application_error("identity", err, ERROR_REFUSED) from err
        return [m.id for m in chain.managers if m.status == identity_pb2.EMPLOYEE_STATUS_ACTIVE]

    async def _owner_in_pilot(self, owner_id: str) -> bool:
        """Whether the key result's owner is in the pilot: out of it, nobody is told."""
        async with channel(self.settings.identity_addr) as ch:
            identity = identity_pb2_grpc.IdentityServiceStub(ch)
            try:
                return await in_pilot(identity, metadata(workflow_actor()), owner_id)
            except grpc.aio.AioRpcError as err:
                raise to_application_error("identity", err, ERROR_REFUSED) from err

    @activity.defn(name=RECIPIENTS_ACTIVITY)
    async def recipients(self, input: RecipientsInput) -> Recipients:
        """The owner and their direct manager; no manager when the owner is out of the pilot
        (and identity delivers nothing to the owner then)."""
        if not await self._owner_in_pilot(input.owner_id):
            return Recipients(owner_id=input.owner_id)
        active = await self._active_managers(input.owner_id)
        return Recipients(owner_id=input.owner_id, manager_id=active[0] if active else "")

    @activity.defn(name=LADDER_POLICY_ACTIVITY)
    async def ladder_policy(self) -> LadderPolicy:
        """The working days of the ladder's rungs (worker settings)."""
        return LadderPolicy(
            skip_level_days=self.settings.escalation_skip_level_days,
            hr_days=self.settings.escalation_hr_days,
        )

    @activity.defn(name=SKIP_LEVEL_ACTIVITY)
    async def skip_level_manager(self, input: SkipLevelInput) -> SkipLevel:
        """The owner's manager's manager ("" when the chain has fewer than two active, or the
        owner is out of the pilot)."""
        if not await self._owner_in_pilot(input.owner_id):
            return SkipLevel(owner_id=input.owner_id)
        active = await self._active_managers(input.owner_id)
        return SkipLevel(
            owner_id=input.owner_id, skip_level_id=active[1] if len(active) > 1 else ""
        )

    @activity.defn(name=HR_NOTICE_ACTIVITY)
    async def hr_notice_recipients(self, input: HrNoticeInput) -> HrNotice:
        """HR, the owner's comparable earlier key results that were at risk, and the courses
        (nobody when the owner is out of the pilot)."""
        if not await self._owner_in_pilot(input.owner_id):
            return HrNotice(hr_ids=[])
        async with channel(self.settings.identity_addr) as ch:
            identity = identity_pb2_grpc.IdentityServiceStub(ch)
            try:
                hr_ids = await _hr_people(identity)
                catalogue = await identity.ListTrainingCourses(
                    identity_pb2.ListTrainingCoursesRequest(),
                    timeout=CALL_TIMEOUT_SECONDS,
                    metadata=metadata(workflow_actor()),
                )
            except grpc.aio.AioRpcError as err:
                raise to_application_error("identity", err, ERROR_REFUSED) from err
        async with channel(self.settings.goals_addr) as ch:
            goals = goals_pb2_grpc.GoalsServiceStub(ch)
            try:
                current, history = await _history(goals, input)
            except grpc.aio.AioRpcError as err:
                raise to_application_error("goals", err, ERROR_REFUSED) from err
        courses = [
            Course(c.id, c.title_zh, c.title_en, c.url, list(c.topics)) for c in catalogue.courses
        ]
        return HrNotice(
            hr_ids=hr_ids,
            behind_before=behind_before(current, history),
            courses=recommend_courses(current, history, courses),
        )

    @activity.defn(name=DEPARTMENT_HEAD_ACTIVITY)
    async def department_head(self, input: DepartmentHeadInput) -> DepartmentHead:
        """The head of a department ("" when it has none or identity does not know it)."""
        async with channel(self.settings.identity_addr) as ch:
            identity = identity_pb2_grpc.IdentityServiceStub(ch)
            try:
                department = await identity.GetDepartment(
                    identity_pb2.GetDepartmentRequest(id=input.department_id),
                    timeout=CALL_TIMEOUT_SECONDS,
                    metadata=metadata(workflow_actor()),
                )
            except grpc.aio.AioRpcError as err:
                if err.code() == grpc.StatusCode.NOT_FOUND:
                    return DepartmentHead(department_id=input.department_id)
                raise to_application_error("identity", err, ERROR_REFUSED) from err
        return DepartmentHead(department_id=input.department_id, head_id=department.head_id)


PAGE_SIZE = 200
# An owner's key results over all cycles read for one HR notice (newest pages first are not
# guaranteed: the cap bounds one activity's work).
MAX_HISTORY_KEY_RESULTS = 1000


async def _hr_people(identity: identity_pb2_grpc.IdentityServiceStub) -> list[str]:
    """Active employees with the hr role, in identity's order."""
    found: list[str] = []
    token = ""
    while True:
        page = await identity.ListEmployees(
            identity_pb2.ListEmployeesRequest(
                page=common_pb2.PageRequest(page_size=PAGE_SIZE, page_token=token)
            ),
            timeout=CALL_TIMEOUT_SECONDS,
            metadata=metadata(workflow_actor()),
        )
        found.extend(
            e.id
            for e in page.employees
            if ROLE_HR in e.roles and e.status == identity_pb2.EMPLOYEE_STATUS_ACTIVE
        )
        token = page.page.next_page_token
        if not token:
            return found


def _kind(kr: goals_pb2.KeyResult) -> str:
    name: str = goals_pb2.KeyResultKind.Name(kr.kind)
    return name.removeprefix("KEY_RESULT_KIND_").lower()


async def _history(
    goals: goals_pb2_grpc.GoalsServiceStub, input: HrNoticeInput
) -> tuple[KeyResultProfile, list[KeyResultProfile]]:
    """This key result's profile and the owner's key results of other cycles (with whether
    any of their check-ins was at risk)."""
    rows: list[goals_pb2.KeyResult] = []
    token = ""
    while len(rows) < MAX_HISTORY_KEY_RESULTS:
        page = await goals.ListKeyResults(
            goals_pb2.ListKeyResultsRequest(
                owner_id=input.owner_id,
                page=common_pb2.PageRequest(page_size=PAGE_SIZE, page_token=token),
            ),
            timeout=CALL_TIMEOUT_SECONDS,
            metadata=metadata(workflow_actor()),
        )
        rows.extend(page.key_results)
        token = page.page.next_page_token
        if not token:
            break
    current = KeyResultProfile(
        id=input.key_result_id,
        cycle_id=input.cycle_id,
        department_id=input.department_id,
        unit=input.unit,
    )
    for kr in rows:
        if kr.id == input.key_result_id:
            current = KeyResultProfile(
                kr.id, kr.cycle_id, kr.department_id, kr.unit or input.unit, _kind(kr)
            )
    history: list[KeyResultProfile] = []
    for kr in rows:
        profile = KeyResultProfile(kr.id, kr.cycle_id, kr.department_id, kr.unit, _kind(kr))
        # Only comparable ones are worth reading the check-ins of.
        if not behind_before(current, [_at_risk(profile)]):
            continue
        profile.was_at_risk = await _was_at_risk(goals, kr.id)
        history.append(profile)
    return current, history


def _at_risk(profile: KeyResultProfile) -> KeyResultProfile:
    return KeyResultProfile(
        profile.id, profile.cycle_id, profile.department_id, profile.unit, profile.kind, True
    )


async def _was_at_risk(goals: goals_pb2_grpc.GoalsServiceStub, key_result_id: str) -> bool:
    token = ""
    while True:
        page = await goals.ListCheckIns(
            goals_pb2.ListCheckInsRequest(
                key_result_id=key_result_id,
                page=common_pb2.PageRequest(page_size=PAGE_SIZE, page_token=token),
            ),
            timeout=CALL_TIMEOUT_SECONDS,
            metadata=metadata(workflow_actor()),
        )
        if any(c.risk.status == goals_pb2.RISK_STATUS_AT_RISK for c in page.check_ins):
            return True
        token = page.page.next_page_token
        if not token:
            return False
