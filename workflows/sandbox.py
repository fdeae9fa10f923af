"""The one workflow runner: Temporal's sandbox with the restrictions Stride's workflows need.

Used by the worker (services/worker/worker.py), the replayers (tests/replay, ``stride
temporal replay``) and so the workflow tests, so a workflow sees the same sandbox everywhere.

- ``zoneinfo.ZoneInfo`` is unrestricted: the sandbox restricts it by default because it can
  read files (``from_file``) and clear its cache, and a proxied class makes zones that
  ``datetime`` refuses as a tzinfo. Loading a zone by name is deterministic for the installed
  tzdata, which :mod:`workflows.calendar` relies on for the organisation's calendar.
- The pure modules (no state, no I/O: words, ids, the calendar arithmetic, the notification
  and escalation data types and rules, the search attribute keys) are passed through:
  imported once, not again for every workflow run the worker starts or replays. After a
  worker restart every cached workflow is instantiated anew, and re-importing them cost each
  escalation ~30 ms of CPU on a 2-core machine before any of its history replayed.
"""

from __future__ import annotations

import dataclasses

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

# Deterministic and stateless (nothing in them changes after import).
PURE_MODULES = (
    "workflows.vocabulary",
    "workflows.ids",
    "workflows.calendar",
    "workflows.notifications",
    "workflows.escalation_notices",
    "workflows.ladder",
    "workflows.search_attributes",
    "workflows.round_rules",
    "workflows.promotion_rules",
)
_MEMBERS = SandboxRestrictions.invalid_module_members_default
RESTRICTIONS = dataclasses.replace(
    SandboxRestrictions.default.with_passthrough_modules(*PURE_MODULES),
    invalid_module_members=_MEMBERS.with_child_unrestricted("zoneinfo", "ZoneInfo"),
)

RUNNER = SandboxedWorkflowRunner(restrictions=RESTRICTIONS)
