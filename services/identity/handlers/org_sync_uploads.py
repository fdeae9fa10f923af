"""Org files uploaded through the API (CSV/XLSX): checked, stored, read back by a sync.

HR uploads the spreadsheet once (``POST /org/sync/uploads``); a dry run and then the real run
name it by id (``PlanOrgSync(upload_id)``). The file lives in identity's own table, so it
reaches the sync wherever the worker runs — no path on a server, no content in the workflow
history.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from pathlib import PurePath

from services.common.errors import InvalidArgument, NotFound
from services.common.models import rfc3339, utcnow
from services.common.uow import Units
from services.identity.handlers import reading
from services.identity.sync.connectors import SourceInvalid
from services.identity.sync.connectors.file import CSV_SUFFIXES, XLSX_SUFFIXES, read_bytes
from services.identity.sync.data import Snapshot
from services.identity.sync.repository import OrgSyncRepository
from services.identity.sync.tables import OrgSyncUpload
from stride.identity.v1 import org_sync_pb2 as pb
from workflows.vocabulary import MAX_ORG_UPLOAD_BYTES

# ~100,000 people as CSV; the gateway refuses larger bodies before reading them.
MAX_UPLOAD_BYTES = MAX_ORG_UPLOAD_BYTES
MAX_FILENAME = 255


def _filename(value: str) -> str:
    name = PurePath(value.replace("\\", "/")).name.strip()[:MAX_FILENAME]
    if PurePath(name).suffix.lower() not in (*CSV_SUFFIXES, *XLSX_SUFFIXES):
        raise InvalidArgument("unsupported_file", "upload a .csv or .xlsx file")
    return name


def _parse(filename: str, content: bytes) -> Snapshot:
    try:
        return read_bytes(filename, content)
    except SourceInvalid as err:
        raise InvalidArgument("invalid_file", str(err)) from err


def _upload_pb(row: OrgSyncUpload) -> pb.OrgSyncUpload:
    return pb.OrgSyncUpload(
        upload_id=row.id,
        filename=row.filename,
        size=row.size,
        sha256=row.sha256,
        people=row.people,
        departments=row.departments,
        uploaded_at=rfc3339(row.created_at),
    )


class OrgSyncUploads:
    def __init__(self, units: Units[OrgSyncRepository]) -> None:
        self.units = units

    async def create(self, request: pb.CreateOrgSyncUploadRequest) -> pb.OrgSyncUpload:
        filename = _filename(request.filename)
        content = bytes(request.content)
        if not content:
            raise InvalidArgument("empty_file", "the file is empty")
        if len(content) > MAX_UPLOAD_BYTES:
            raise InvalidArgument(
                "file_too_large", f"at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB per file"
            )
        # Read now, so a file without the required columns is refused at the upload.
        snapshot = await asyncio.to_thread(_parse, filename, content)
        row = OrgSyncUpload(
            id=str(uuid.uuid4()),
            filename=filename,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
            people=len(snapshot.people),
            departments=len(snapshot.departments),
            uploaded_by=request.uploaded_by[:64],
            created_at=utcnow(),
        )
        async with self.units() as uow:
            uow.repo.add(row)
            await uow.audit("org_sync.upload", "org_sync_upload", row.id)
        return _upload_pb(row)

    async def _row(self, upload_id: str, *, with_content: bool = True) -> OrgSyncUpload:
        try:
            key = str(uuid.UUID(upload_id.strip()))
        except ValueError as exc:
            raise InvalidArgument("invalid_upload_id", "upload_id must be a UUID") from exc
        async with reading(self.units) as repo:
            row = await repo.upload(key, with_content=with_content)
        if row is None:
            raise NotFound("org_sync_upload_not_found", "no uploaded org file with that id")
        return row

    async def check(self, upload_id: str) -> None:
        """Raise unless ``upload_id`` names a stored file."""
        await self._row(upload_id, with_content=False)

    async def snapshot(self, upload_id: str) -> Snapshot:
        """The stored file of ``upload_id``, read."""
        row = await self._row(upload_id)
        return await asyncio.to_thread(_parse, row.filename, bytes(row.content))
