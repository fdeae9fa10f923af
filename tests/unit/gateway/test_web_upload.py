"""The web app's file form (gateway/web/upload.py) and the org sync report's rows
(gateway/web/hr.py): a multipart form as browsers send it, split into fields and files with
the bytes intact; malformed forms refused with 400 ``invalid_form``; rows paged."""

from __future__ import annotations

import os

import httpx
import pytest

from gateway.web.hr import SYNC_ROWS_PAGE, sync_rows_view, upload_type
from gateway.web.session import ApiError
from gateway.web.upload import parse_multipart
from services.common.tables import XLSX_MEDIA_TYPE


def browser_form(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[str, bytes]:
    """(Content-Type, body) of a multipart form as httpx (like a browser) encodes it."""
    request = httpx.Request("POST", "http://x/", data=fields, files=files)
    return request.headers["content-type"], request.read()


def test_a_form_with_a_binary_file_keeps_every_byte() -> None:
    content = os.urandom(4096) + b"\r\n--\r\n\r\n" + bytes(range(256))
    content_type, body = browser_form(
        {"csrf": "token-1", "note": "上传"},
        {"file": ("C:\\Users\\hr\\组织 2024.xlsx", content)},
    )
    form = parse_multipart(content_type, body)
    assert form.fields == {"csrf": "token-1", "note": "上传"}
    assert form.files["file"].filename == "组织 2024.xlsx"
    assert form.files["file"].content == content


def test_an_empty_file_field_is_a_file_without_name_or_bytes() -> None:
    # What a browser sends when no file was chosen.
    body = (
        b'--b\r\nContent-Disposition: form-data; name="csrf"\r\n\r\nt\r\n'
        b'--b\r\nContent-Disposition: form-data; name="file"; filename=""\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n\r\n--b--\r\n"
    )
    form = parse_multipart('multipart/form-data; boundary="b"', body)
    assert form.fields == {"csrf": "t"}
    assert form.files["file"].filename == "" and form.files["file"].content == b""


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"csrf=x"),
        ("multipart/form-data", b"--x\r\n\r\n--x--"),  # no boundary
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data"),  # cut
        ("multipart/form-data; boundary=x", b"--x\r\nno headers end\r\n--x--\r\n"),
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Type: a\r\n\r\nv\r\n--x--\r\n"),
    ],
)
def test_a_malformed_form_is_refused(content_type: str, body: bytes) -> None:
    with pytest.raises(ApiError) as refused:
        parse_multipart(content_type, body)
    assert (refused.value.status, refused.value.code) == (400, "invalid_form")


def test_the_upload_type_follows_the_files_extension() -> None:
    assert upload_type("People.XLSX") == XLSX_MEDIA_TYPE
    assert upload_type("org.csv") == "text/csv"
    assert upload_type("org.tsv") == "text/tab-separated-values"
    assert upload_type("org.pdf") == "application/octet-stream"  # the API decides
    assert upload_type("") == "application/octet-stream"


def test_report_rows_are_paged_and_filtered_by_change() -> None:
    rows = [{"row": i, "action": "created" if i % 3 else "rejected"} for i in range(1, 251)]
    page, by_action, number, pages = sync_rows_view(rows, "", 3)
    assert (number, pages) == (3, 3) and len(page) == 250 - 2 * SYNC_ROWS_PAGE
    assert by_action == {"created": 167, "rejected": 83}
    page, _, number, pages = sync_rows_view(rows, "rejected", 9)  # past the end: the last
    assert (number, pages) == (1, 1) and {r["action"] for r in page} == {"rejected"}
    assert sync_rows_view([], "", 1)[2:] == (1, 1)
