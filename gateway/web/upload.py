"""A page's file upload: a ``multipart/form-data`` form (the one kind of form that carries a
file without JavaScript), split by python-multipart (what Starlette's own form parsing uses),
CSRF checked like every other form (:func:`gateway.web.session.check_csrf`).

The page passes the file's bytes on to the API (which checks its type, size and content);
this module only splits the form into its fields. A body that is not a well-formed
multipart form is refused with 400 ``invalid_form``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

from gateway.web.session import ApiError, check_csrf


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
    last value; a file part's name is its base name, without a client's folders). The body
    is already in memory (the gateway's body limit bounds it): parts are kept as bytes."""
    media, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if media != b"multipart/form-data" or not boundary:
        raise invalid_form("Send the form as multipart/form-data.")
    parts: list[tuple[dict[bytes, bytes], bytearray]] = []

    def on_part_begin() -> None:
        parts.append(({}, bytearray()))

    def on_header(name: bytes, value: bytes) -> None:
        parts[-1][0][name.lower()] = value

    header: dict[str, bytearray] = {"name": bytearray(), "value": bytearray()}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header["name"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header["value"] += data[start:end]

    def on_header_end() -> None:
        on_header(bytes(header["name"]), bytes(header["value"]))
        header["name"], header["value"] = bytearray(), bytearray()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1][1].extend(data[start:end])

    callbacks: Any = {
        "on_part_begin": on_part_begin,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_part_data": on_part_data,
    }
    parser = MultipartParser(boundary, callbacks)
    try:
        parser.write(body)
        parser.finalize()
    except FormParserError as exc:
        raise invalid_form("The form's body is malformed.") from exc
    if parser.state != MultipartState.END:
        raise invalid_form("The form's body is cut short.")
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for headers, content in parts:
        _, params = parse_options_header(headers.get(b"content-disposition", b""))
        name = params.get(b"name")
        if name is None:
            raise invalid_form("A part of the form has no name.")
        key = name.decode("utf-8", errors="replace")
        if b"filename" in params:
            filename = params[b"filename"].decode("utf-8", errors="replace")
            files[key] = UploadedFile(re.split(r"[\\/]", filename)[-1], bytes(content))
        else:
            fields[key] = bytes(content).decode("utf-8", errors="replace")
    return FileForm(fields, files)


async def read_file_form(request: Request) -> FileForm:
    """The page's multipart form, its CSRF token checked before anything else is done."""
    form = parse_multipart(request.headers.get("content-type", ""), await request.body())
    check_csrf(request, form.fields)
    return form
