"""A page's file upload: a ``multipart/form-data`` form (the one kind of form that carries a
file without JavaScript), read here without a multipart library, CSRF checked like every
other form (:func:`gateway.web.session.check_csrf`).

The page passes the file's bytes on to the API (which checks its type, size and content);
this module only splits the form into its fields. A body that is not a well-formed
multipart form is refused with 400 ``invalid_form``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import Request

from gateway.web.session import ApiError, check_csrf

# name="…" / filename="…" in a part's Content-Disposition (browsers send names as UTF-8 and
# escape a quote as %22, so a quoted value holds no quote).
_PARAM = re.compile(r';\s*(name|filename)="([^"]*)"', re.IGNORECASE)
_BOUNDARY = re.compile(r'boundary=(?:"([^"]+)"|([^;\s]+))', re.IGNORECASE)


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content: bytes


@dataclass(frozen=True)
class FileForm:
    fields: dict[str, str]
    files: dict[str, UploadedFile]


def invalid_form(detail: str) -> ApiError:
    return ApiError(400, {"status": 400, "code": "invalid_form", "detail": detail})


def parse_multipart(content_type: str, body: bytes) -> FileForm:
    """The fields and files of a ``multipart/form-data`` body (a name given twice keeps its
    last value; a file part's name is its base name, without a client's folders)."""
    media = content_type.split(";")[0].strip().lower()
    found = _BOUNDARY.search(content_type)
    if media != "multipart/form-data" or not found:
        raise invalid_form("Send the form as multipart/form-data.")
    delimiter = b"--" + (found.group(1) or found.group(2)).encode("latin-1")
    chunks = body.split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise invalid_form("The form's body is cut short.")
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for chunk in chunks[1:-1]:
        if not chunk.startswith(b"\r\n") or not chunk.endswith(b"\r\n"):
            raise invalid_form("A part of the form is malformed.")
        head, sep, content = chunk[2:-2].partition(b"\r\n\r\n")
        if not sep:
            raise invalid_form("A part of the form has no headers.")
        disposition = ""
        for line in head.decode("utf-8", errors="replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-disposition":
                disposition = value
        params = {k.lower(): v for k, v in _PARAM.findall(disposition)}
        name = params.get("name")
        if name is None:
            raise invalid_form("A part of the form has no name.")
        if "filename" in params:
            filename = re.split(r"[\\/]", params["filename"])[-1]
            files[name] = UploadedFile(filename, content)
        else:
            fields[name] = content.decode("utf-8", errors="replace")
    return FileForm(fields, files)


async def read_file_form(request: Request) -> FileForm:
    """The page's multipart form, its CSRF token checked before anything else is done."""
    form = parse_multipart(request.headers.get("content-type", ""), await request.body())
    check_csrf(request, form.fields)
    return form
