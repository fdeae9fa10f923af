"""Org-sync data: a source snapshot, the current organisation, and the plan (no I/O).

A *snapshot* is what a connector read from a source (a file, DingTalk, a JSON endpoint).
The *current org* is what identity holds. :func:`services.identity.sync.plan.plan_sync`
turns both into a :class:`Plan`: counts, report rows and the operations to apply.

The counts are :class:`workflows.org_sync.SyncCounts` (defined once, where the workflow
reports them; the gateway's response model is derived from it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

# The one definition of the counts: the workflow reports them (plain dataclass, no I/O).
from workflows.sync_counts import SyncCounts

# Optional profile fields a source may provide. Name and department are always required.
OPTIONAL_FIELDS: tuple[str, ...] = ("email", "mobile", "title", "grade", "hire_date")


@dataclass(frozen=True)
class SourceDepartment:
    key: str
    name: str
    parent_key: str = ""
    row: int = 0


@dataclass(frozen=True)
class SourcePerson:
    row: int
    employee_number: str
    name: str
    department_key: str
    manager_employee_number: str = ""
    email: str = ""
    mobile: str = ""
    title: str = ""
    grade: str = ""
    hire_date: str = ""
    active: bool = True
    external_id: str = ""
    # What the connector could not read in this row; such a row is rejected (invalid_row).
    problem: str = ""


@dataclass(frozen=True)
class Snapshot:
    departments: tuple[SourceDepartment, ...] = ()
    people: tuple[SourcePerson, ...] = ()
    # Optional fields the source provides; the others are left as they are in Stride.
    provided_fields: frozenset[str] = frozenset(OPTIONAL_FIELDS)


@dataclass(frozen=True)
class OrgDepartment:
    id: str
    name: str
    parent_id: str | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class OrgEmployee:
    id: str
    employee_number: str
    name: str
    department_id: str
    manager_id: str | None = None
    active: bool = True
    email: str | None = None
    mobile: str | None = None
    title: str | None = None
    grade: str | None = None
    # ISO date
    hire_date: str | None = None
    external_id: str | None = None
    # Granted roles (Stride's own: a sync never changes them; an admin is never deactivated).
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class CurrentOrg:
    departments: tuple[OrgDepartment, ...] = ()
    employees: tuple[OrgEmployee, ...] = ()


# --- the plan -----------------------------------------------------------------------------
DEPARTMENT_CREATE = "department.create"
DEPARTMENT_UPDATE = "department.update"
EMPLOYEE_CREATE = "employee.create"
EMPLOYEE_UPDATE = "employee.update"
EMPLOYEE_DEACTIVATE = "employee.deactivate"
OPERATION_KINDS = frozenset(
    {DEPARTMENT_CREATE, DEPARTMENT_UPDATE, EMPLOYEE_CREATE, EMPLOYEE_UPDATE, EMPLOYEE_DEACTIVATE}
)


@dataclass(frozen=True)
class Operation:
    """One write. ``values`` are the desired column values (all of them for a create, the
    changed ones for an update); ids are final (new rows get their id at planning time)."""

    kind: str
    id: str
    # Employee number or department key (for reports and errors).
    key: str
    values: dict[str, str | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "key": self.key, "values": dict(self.values)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Operation:
        kind = str(data["kind"])
        if kind not in OPERATION_KINDS:
            raise ValueError(f"unknown operation {kind!r}")
        values = {str(k): (None if v is None else str(v)) for k, v in data["values"].items()}
        return cls(kind=kind, id=str(data["id"]), key=str(data["key"]), values=values)


@dataclass(frozen=True)
class ReportRow:
    row: int
    # "person" | "department"
    kind: str
    key: str
    # created, updated, moved, deactivated, kept, rejected, linked
    action: str
    reason_code: str = ""
    reason: str = ""
    changed_fields: tuple[str, ...] = ()
    # The person's name (people only; empty for rejected rows): who is deactivated or kept.
    name: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "kind": self.kind,
            "key": self.key,
            "action": self.action,
            "reason_code": self.reason_code,
            "reason": self.reason,
            "changed_fields": list(self.changed_fields),
            "name": self.name,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReportRow:
        return cls(
            row=int(data["row"]),
            kind=str(data["kind"]),
            key=str(data["key"]),
            action=str(data["action"]),
            reason_code=str(data.get("reason_code", "")),
            reason=str(data.get("reason", "")),
            changed_fields=tuple(data.get("changed_fields", ())),
            name=str(data.get("name", "")),
        )


def counts_to_json(counts: SyncCounts) -> dict[str, int]:
    """The counts as stored with a run (a JSON object, one key per count)."""
    return {f.name: int(getattr(counts, f.name)) for f in fields(counts)}


def counts_from_json(data: dict[str, Any]) -> SyncCounts:
    """Counts stored by :func:`counts_to_json` (keys it does not know are ignored)."""
    names = {f.name for f in fields(SyncCounts)}
    return SyncCounts(**{k: int(v) for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Plan:
    counts: SyncCounts
    rows: tuple[ReportRow, ...]
    # Departments (parents first), deactivations, then people managers-first.
    operations: tuple[Operation, ...]

    def batches(self, size: int) -> list[list[Operation]]:
        if size < 1:
            raise ValueError("batch size must be at least 1")
        ops = list(self.operations)
        return [ops[i : i + size] for i in range(0, len(ops), size)]
