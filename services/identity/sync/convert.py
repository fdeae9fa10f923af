"""Org-sync values ⇄ protobuf messages (used by the service and by its callers)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields

from services.common.errors import InvalidArgument
from services.identity.sync.data import (
    OPTIONAL_FIELDS,
    ReportRow,
    Snapshot,
    SourceDepartment,
    SourcePerson,
    counts_to_json,
)
from stride.identity.v1 import org_sync_pb2 as pb
from workflows.sync_counts import SyncCounts

MAX_PEOPLE = 100_000
MAX_DEPARTMENTS = 20_000


def snapshot_to_pb(snapshot: Snapshot) -> pb.OrgSnapshot:
    return pb.OrgSnapshot(
        departments=[
            pb.SourceDepartment(key=d.key, name=d.name, parent_key=d.parent_key, row=d.row)
            for d in snapshot.departments
        ],
        people=[
            pb.SourcePerson(
                row=p.row,
                employee_number=p.employee_number,
                name=p.name,
                email=p.email,
                mobile=p.mobile,
                title=p.title,
                grade=p.grade,
                hire_date=p.hire_date,
                department_key=p.department_key,
                manager_employee_number=p.manager_employee_number,
                active=p.active,
                external_id=p.external_id,
                problem=p.problem,
            )
            for p in snapshot.people
        ],
        provided_fields=sorted(snapshot.provided_fields),
    )


def snapshot_from_pb(message: pb.OrgSnapshot) -> Snapshot:
    unknown = sorted(set(message.provided_fields) - set(OPTIONAL_FIELDS))
    if unknown:
        raise InvalidArgument(
            "unknown_field",
            f"unknown provided field(s) {', '.join(unknown)}; use {', '.join(OPTIONAL_FIELDS)}",
        )
    if len(message.people) > MAX_PEOPLE or len(message.departments) > MAX_DEPARTMENTS:
        raise InvalidArgument(
            "snapshot_too_large",
            f"at most {MAX_PEOPLE} people and {MAX_DEPARTMENTS} departments per sync",
        )
    return Snapshot(
        departments=tuple(
            SourceDepartment(key=d.key, name=d.name, parent_key=d.parent_key, row=d.row)
            for d in message.departments
        ),
        people=tuple(
            SourcePerson(
                row=p.row,
                employee_number=p.employee_number,
                name=p.name,
                department_key=p.department_key,
                manager_employee_number=p.manager_employee_number,
                email=p.email,
                mobile=p.mobile,
                title=p.title,
                grade=p.grade,
                hire_date=p.hire_date,
                active=p.active,
                external_id=p.external_id,
                problem=p.problem,
            )
            for p in message.people
        ),
        provided_fields=frozenset(message.provided_fields),
    )


def counts_pb(counts: SyncCounts) -> pb.OrgSyncCounts:
    return pb.OrgSyncCounts(**counts_to_json(counts))


def counts_from_pb(message: pb.OrgSyncCounts) -> SyncCounts:
    return SyncCounts(**{f.name: getattr(message, f.name) for f in fields(SyncCounts)})


def rows_pb(rows: Iterable[ReportRow]) -> list[pb.OrgSyncRow]:
    return [
        pb.OrgSyncRow(
            row=r.row,
            kind=r.kind,
            key=r.key,
            action=r.action,
            reason_code=r.reason_code,
            reason=r.reason,
            changed_fields=list(r.changed_fields),
            name=r.name,
        )
        for r in rows
    ]
