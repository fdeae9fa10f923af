"""Identity rows -> protobuf messages (pure translation, no I/O)."""

from __future__ import annotations

from services.common.models import rfc3339
from services.identity.auth_models import ApiKeyRow
from services.identity.inbox.models import InboxItem
from services.identity.models import Department, Employee
from stride.identity.v1 import auth_pb2, inbox_pb2
from stride.identity.v1 import identity_pb2 as pb

EMPLOYEE_STATUS = {"active": pb.EMPLOYEE_STATUS_ACTIVE, "left": pb.EMPLOYEE_STATUS_LEFT}
EMPLOYEE_STATUS_NAME = {v: k for k, v in EMPLOYEE_STATUS.items()}


def department_pb(row: Department) -> pb.Department:
    return pb.Department(
        id=row.id,
        name=row.name,
        parent_id=row.parent_id or "",
        created_at=rfc3339(row.created_at),
        head_id=row.head_id or "",
        stride_enabled=row.stride_enabled,
        external_id=row.external_id or "",
    )


def employee_pb(row: Employee, *, is_manager: bool = False) -> pb.Employee:
    return pb.Employee(
        id=row.id,
        employee_number=row.employee_number,
        name=row.name,
        email=row.email or "",
        department_id=row.department_id,
        manager_id=row.manager_id or "",
        status=EMPLOYEE_STATUS.get(row.status, pb.EMPLOYEE_STATUS_UNSPECIFIED),
        created_at=rfc3339(row.created_at),
        mobile=row.mobile or "",
        title=row.title or "",
        grade=row.grade or "",
        hire_date=row.hire_date.isoformat() if row.hire_date else "",
        roles=row.roles.split(),
        is_manager=is_manager,
        external_id=row.external_id or "",
        locale=row.locale or "",
    )


def api_key_pb(row: ApiKeyRow) -> auth_pb2.ApiKey:
    return auth_pb2.ApiKey(
        id=row.id,
        name=row.name,
        scopes=row.scopes.split(),
        created_by=row.created_by,
        created_at=rfc3339(row.created_at),
        revoked_at=rfc3339(row.revoked_at),
        last_used_at=rfc3339(row.last_used_at),
        prefix=row.prefix,
    )


def inbox_item_pb(row: InboxItem) -> inbox_pb2.InboxItem:
    return inbox_pb2.InboxItem(
        id=row.id,
        recipient_id=row.recipient_id,
        key=row.key,
        template=row.template,
        title_zh=row.title_zh,
        title_en=row.title_en,
        body_zh=row.body_zh,
        body_en=row.body_en,
        link=row.link,
        created_at=rfc3339(row.created_at),
        read_at=rfc3339(row.read_at),
        emailed_at=rfc3339(row.emailed_at),
    )
