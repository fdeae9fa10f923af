"""Exporting the audit trail (CSV, XLSX): shared by the gateway's ``GET /audit/export`` and
``stride audit export``.

Entries are read oldest first by seq (``ListAuditEntries`` with ``oldest_first`` and
``after_seq``): rows appended while an export runs only add to its end, none is skipped or
repeated. Every column is exported, the hashes too, so an export can be checked against the
chain.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from stride.audit.v1 import audit_pb2 as pb

COLUMNS = (
    "seq",
    "occurred_at",
    "actor",
    "action",
    "resource_type",
    "resource_id",
    "request_id",
    "trace_id",
    "before_digest",
    "after_digest",
    "service",
    "detail",
    "prev_hash",
    "hash",
)
PAGE_SIZE = 200
# Excel opens UTF-8 CSV correctly only with a byte order mark.
BOM = "\ufeff"

ListCall = Callable[[pb.ListAuditEntriesRequest], Awaitable[pb.ListAuditEntriesResponse]]


def row(entry: pb.AuditEntry) -> list[Any]:
    return [getattr(entry, column) for column in COLUMNS]


async def pages(call: ListCall, request: pb.ListAuditEntriesRequest) -> AsyncIterator[list[Any]]:
    """Pages of the entries matching ``request``'s filters, oldest first."""
    query = pb.ListAuditEntriesRequest()
    query.CopyFrom(request)
    query.oldest_first = True
    query.page.page_size = PAGE_SIZE
    after = 0
    while True:
        query.after_seq = after
        msg = await call(query)
        if not msg.entries:
            return
        yield list(msg.entries)
        if len(msg.entries) < PAGE_SIZE:
            return
        after = msg.entries[-1].seq


def csv_line(values: Iterable[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(list(values))
    return out.getvalue()


def csv_header() -> str:
    return BOM + csv_line(COLUMNS)


class XlsxExport:
    """A write-only workbook the rows are appended to."""

    def __init__(self) -> None:
        from openpyxl import Workbook  # only for an XLSX export (the gateway imports this)

        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet("audit")
        self.sheet.append(list(COLUMNS))
        self.rows = 0

    def add(self, entries: Iterable[pb.AuditEntry]) -> None:
        for entry in entries:
            self.sheet.append(row(entry))
            self.rows += 1

    def bytes(self) -> bytes:
        out = io.BytesIO()
        self.workbook.save(out)
        return out.getvalue()
