"""Invitation slips: the one-time initial passwords as an XLSX workbook to print and cut.

Used by the gateway (``GET /org/invitations/jobs/{id}/slips``) and ``stride org invite``. One row
per person, bilingual headers (zh-CN / en); the sheet is set up to print on A4 with the header
row repeated on every page.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from stride.identity.v1 import auth_pb2

HEADERS = (
    "工号 Employee number",
    "姓名 Name",
    "部门 Department",
    "登录名 Login",
    "初始密码 Initial password",
    "说明 Note",
)
NOTE = "首次登录后须修改密码 · Change this password at your first sign-in"


def slips_xlsx(issued: Iterable[auth_pb2.InitialPassword]) -> bytes:
    # openpyxl only when slips are made (the gateway imports this module).
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Invitations"
    ws.append(list(HEADERS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for person in issued:
        ws.append(
            [
                person.employee_number,
                person.name,
                person.department_name,
                person.employee_number,
                person.password,
                NOTE,
            ]
        )
    for column, width in zip("ABCDEF", (20, 18, 24, 20, 24, 52), strict=True):
        ws.column_dimensions[column].width = width
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(vertical="center")
        row[4].font = Font(name="Consolas", size=13, bold=True)
    ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
