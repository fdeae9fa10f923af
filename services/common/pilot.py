"""Pilot scope: which people Stride talks to while it is rolled out department by department
(pure: no I/O).

A department has a ``stride_enabled`` flag (``PATCH /departments/{id}``, the HR console). The
rule, used by identity's inbox and robot targets, the worker's activities and the web app:

- a department is *in the pilot* when it **and every department above it** are enabled:
  switching off a plant switches off its workshops too, whatever their own flags say, and a
  workshop is switched on only once its plant is (the rollout goes down the tree);
- a person is in the pilot when their department is; a person without a department is in
  the pilot (the flag is per department: nobody switched them off);
- a parent that identity does not know counts as the top of the tree; a loop in the tree
  (which identity refuses to store) counts as disabled rather than as an endless walk.

People out of the pilot can sign in and read, but Stride sends them nothing (no inbox item,
e-mail or IM post: reminders, approvals, escalations, feedback round prompts), nobody is
chased or escalated to about their key results, and the web app shows them no prompts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class PilotDepartment:
    id: str
    parent_id: str = ""
    stride_enabled: bool = True


def enabled_departments(departments: Iterable[PilotDepartment]) -> frozenset[str]:
    """The ids of the departments in the pilot (each enabled with all its ancestors)."""
    by_id = {d.id: d for d in departments}
    decided: dict[str, bool] = {}
    for start in by_id:
        path: list[str] = []
        seen: set[str] = set()
        current: str = start
        verdict = True
        while current in by_id:
            if current in decided:
                verdict = decided[current]
                break
            if current in seen:  # a loop: never walk it twice
                verdict = False
                break
            seen.add(current)
            path.append(current)
            department = by_id[current]
            if not department.stride_enabled:
                verdict = False
                break
            current = department.parent_id
        # Everything on the path shares the verdict: below a disabled one (or in a loop) is
        # disabled, a path of enabled ones up to the top (or to an enabled decided one) is on.
        for walked in path:
            decided[walked] = verdict
    return frozenset(d for d, on in decided.items() if on)


def person_in_pilot(department_id: str, enabled: frozenset[str]) -> bool:
    """Whether a person of ``department_id`` ("": none) is in the pilot."""
    return not department_id or department_id in enabled
