"""Exporting the audit trail (CSV, XLSX): shared by the gateway's ``GET /audit/export`` and
``stride audit export``.

Entries are read oldest first by seq (``ListAuditEntries`` with ``oldest_first`` and
``after_seq``): rows appended while an export runs only add to its end, none is skipped or
repeated. Every column is exported, the hashes too, so an export can be checked against the
chain.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from services.common import spreadsheets
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
    """A record of the CSV with every value as stored (no formula guard: an export is checked
    against the hash chain; open it in a spreadsheet as text, or use the XLSX)."""
    return spreadsheets.csv_line(values, guard_formulas=False)


def csv_header() -> str:
    return spreadsheets.csv_header(COLUMNS)


class XlsxExport(spreadsheets.XlsxSheet):
    """A write-only workbook the entries are appended to (texts stored as strings)."""

    def __init__(self) -> None:
        super().__init__("audit", COLUMNS)

    def add(self, entries: Iterable[pb.AuditEntry]) -> None:
        for entry in entries:
            self.append(row(entry))
