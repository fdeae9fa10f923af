"""Importing past weeks' check-ins of a cycle from a CSV or XLSX file (HR, admin).

The file is the request body; goals reads and records it (``ImportCheckIns``: the single
check-in's rules, events and audit, in one transaction). A dry run (the default) checks every
row and writes nothing; ``dry_run=false`` records all rows or, when any is refused, none.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request

from gateway.body_limit import BULK_BODY
from gateway.convert import to_dict
from gateway.deps import PathId, RpcDep
from gateway.problems import PROBLEM_JSON, ProblemError
from gateway.routers.common import read_upload, upload_body
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.check_ins import CheckInImport
from gateway.schemas.problems import Problem
from gateway.security import Access, Allow
from services.common.tables import is_xlsx
from stride.goals.v1 import goals_pb2 as pb
from workflows.vocabulary import MAX_IMPORT_BYTES, MAX_IMPORT_ROWS

router = ResourceRouter(prefix="/cycles", tags=["check-ins"], route_class=StrideRoute)

# Thousands of rows, each through the single check-in's path.
IMPORT_TIMEOUT = 300.0
_UPLOAD_PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": description, "content": {PROBLEM_JSON: {}}}
    for status, description in (
        (413, "The file is too large (code file_too_large)"),
        (415, "The body is not a CSV or XLSX file (code unsupported_media_type)"),
        (
            422,
            "Rows that cannot be imported (code import_rows_invalid, `rows`), or a file "
            "that cannot be read (import_missing_columns, import_empty, import_too_many_rows, "
            "import_unreadable)",
        ),
    )
}


@router.post(
    "/{cycle_id}/check-ins/import",
    response_model=CheckInImport,
    name="import_check_ins",
    # An upload: the bulk body limit at the door, then the import's own file limit (413
    # file_too_large, read as it streams in).
    openapi_extra={
        **upload_body("CSV (UTF-8 or GB18030) or XLSX (first sheet)"),
        **BULK_BODY,
    },
    responses=_UPLOAD_PROBLEMS,
    description="Imports check-ins of the cycle's key results from a CSV or XLSX file sent as "
    "the body: columns `key_result_id` (or `employee_number` and `key_result`, the title), "
    "`week` (ISO week or a date in it), `value`, optional `confidence` and `note` (Chinese "
    f"headers too; docs/goals.md). At most {MAX_IMPORT_BYTES} bytes and {MAX_IMPORT_ROWS} "
    "rows. `dry_run` (default true) checks every row and writes nothing; `dry_run=false` "
    "records all rows in one transaction. Rows that cannot be recorded: **422** "
    "`import_rows_invalid` listing each (`rows`: row number, code, message), nothing written.",
)
async def import_check_ins(
    cycle_id: PathId,
    request: Request,
    rpc: RpcDep,
    dry_run: Annotated[bool, Query(description="check only, write nothing")] = True,
    access: Access = Allow("checkin.import"),
) -> dict[str, Any]:
    content = await read_upload(request, MAX_IMPORT_BYTES)
    msg = await rpc(
        rpc.goals.ImportCheckIns,
        pb.ImportCheckInsRequest(
            cycle_id=cycle_id,
            content=content,
            format=pb.IMPORT_FORMAT_XLSX if is_xlsx(content) else pb.IMPORT_FORMAT_CSV,
            dry_run=dry_run,
            recorded_by=access.caller.actor,
        ),
        timeout=IMPORT_TIMEOUT,
    )
    if msg.errors:
        raise ProblemError(
            422,
            "import_rows_invalid",
            f"{len(msg.errors)} row(s) cannot be imported; nothing was written.",
            rows=[to_dict(e) for e in msg.errors],
        )
    report = to_dict(msg)
    report.pop("errors")
    return report
