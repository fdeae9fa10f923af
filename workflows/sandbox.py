"""The one workflow runner: Temporal's sandbox with the restrictions Stride's workflows need.

Used by the worker (services/worker/worker.py), the replayers (tests/replay, ``stride
temporal replay``) and so the workflow tests, so a workflow sees the same sandbox everywhere.

- ``zoneinfo.ZoneInfo`` is unrestricted: the sandbox restricts it by default because it can
  read files (``from_file``) and clear its cache, and a proxied class makes zones that
  ``datetime`` refuses as a tzinfo. Loading a zone by name is deterministic for the installed
  tzdata, which :mod:`workflows.calendar` relies on for the organisation's calendar.
- :mod:`workflows.vocabulary` and :mod:`workflows.ids` are pure and passed through (imported
  once, not per workflow run).
"""

from __future__ import annotations

import dataclasses

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

_MEMBERS = SandboxRestrictions.invalid_module_members_default
RESTRICTIONS = dataclasses.replace(
    SandboxRestrictions.default.with_passthrough_modules("workflows.vocabulary", "workflows.ids"),
    invalid_module_members=_MEMBERS.with_child_unrestricted("zoneinfo", "ZoneInfo"),
)

RUNNER = SandboxedWorkflowRunner(restrictions=RESTRICTIONS)
