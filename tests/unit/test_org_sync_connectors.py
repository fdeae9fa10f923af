"""Org-sync connectors: CSV/XLSX files, DingTalk (against the fake, in-process) and JSON/HTTP."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from openpyxl import Workbook

from services.common.settings import WorkerSettings
from services.identity.sync.connectors import (
    DingTalkConnector,
    FileConnector,
    JsonHttpConnector,
    SourceInvalid,
    SourceUnavailable,
    configured_sources,
    connector_for,
)
from services.identity.sync.connectors.file import parse_csv
from services.identity.sync.connectors.http_json import parse_document
from services.identity.sync.data import CurrentOrg
from services.identity.sync.plan import plan_sync
from tests.fakes.dingtalk import APP_KEY, APP_SECRET, FakeDingTalk, FakeUser, serve

CSV = """employee_number,name,department,manager,email,title,hire_date,active
E1,Wang Fang,Acme,,wang@acme.example,CEO,2015-03-01,yes
E2,Li Lei, Acme / Plant ,E1,li@acme.example,Plant manager,2016/4/5,
E3,Zhao Min,Acme/Plant/Quality,E2,,Inspector,2019.10.1,1

E4,Sun Li,Acme/Plant/Quality,E3,,Inspector,,left
E5,Qian Yu,Acme/Plant/Quality,E3,,Inspector,,maybe
"""


async def test_csv_paths_become_departments_and_rows_keep_their_line() -> None:
    snap = parse_csv(CSV.encode())
    assert [(d.key, d.name, d.parent_key, d.row) for d in snap.departments] == [
        ("Acme", "Acme", "", 2),
        ("Acme/Plant", "Plant", "Acme", 3),
        ("Acme/Plant/Quality", "Quality", "Acme/Plant", 4),
    ]
    people = {p.employee_number: p for p in snap.people}
    assert people["E2"].department_key == "Acme/Plant" and people["E2"].row == 3
    assert people["E2"].hire_date == "2016-04-05" and people["E3"].hire_date == "2019-10-01"
    assert people["E4"].row == 6 and people["E4"].active is False
    assert people["E5"].problem == "active must be yes or no, not 'maybe'"
    assert snap.provided_fields == {"email", "title", "hire_date"}  # no mobile, no grade
    plan = plan_sync(snap, CurrentOrg())
    assert plan.counts.created == 3 and plan.counts.unchanged == 1  # E4 left before
    assert [(r.key, r.reason_code) for r in plan.rows if r.action == "rejected"] == [
        ("E5", "invalid_row")
    ]


async def test_csv_chinese_headers_gb18030_semicolons_and_codes() -> None:
    text = (
        "工号;姓名;部门编码;上级工号;手机;职级;在职\n"
        "A1;王芳;D-10;;13800000000;M3;在职\n"
        "A2;李雷;D-11;A1;;;离职\n"
    )
    snap = parse_csv(text.encode("gb18030"))
    assert snap.departments == ()  # codes name departments that exist elsewhere
    a1, a2 = snap.people
    assert (a1.name, a1.department_key, a1.mobile, a1.grade) == (
        "王芳",
        "D-10",
        "13800000000",
        "M3",
    )
    assert a2.manager_employee_number == "A1" and a2.active is False
    assert snap.provided_fields == {"mobile", "grade"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"name,department\nX,Y\n", "employee_number"),
        (b"employee_number,name\nE1,X\n", "department"),
    ],
)
async def test_csv_without_the_needed_columns_is_refused(content: bytes, message: str) -> None:
    with pytest.raises(SourceInvalid, match=message):
        parse_csv(content)


async def test_xlsx_numbers_and_dates(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Employee Number", "Name", "Department", "Manager", "Mobile", "Hire Date"])
    sheet.append([1001, "Wang Fang", "Acme", None, 13800000000, datetime(2015, 3, 1)])
    sheet.append([1002.0, "Li Lei", "Acme/Plant", 1001, None, date(2016, 4, 5)])
    path = tmp_path / "org.xlsx"
    book.save(path)
    snap = await FileConnector(path).fetch()
    first, second = snap.people
    assert (first.employee_number, first.mobile, first.hire_date) == (
        "1001",
        "13800000000",
        "2015-03-01",
    )
    assert (second.employee_number, second.manager_employee_number) == ("1002", "1001")
    assert [d.key for d in snap.departments] == ["Acme", "Acme/Plant"]


async def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(SourceInvalid, match=r"csv or \.xlsx"):
        await FileConnector(tmp_path / "org.pdf").fetch()
    with pytest.raises(SourceInvalid, match="cannot read"):
        await FileConnector(tmp_path / "missing.csv").fetch()
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(SourceInvalid, match="not a readable XLSX"):
        await FileConnector(broken).fetch()


# --- DingTalk ------------------------------------------------------------------------------
def ms(day: date) -> int:
    # DingTalk stores the hire date as midnight Beijing time (UTC+8), in milliseconds.
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000) - 8 * 3600_000


def fake_org() -> FakeDingTalk:
    fake = FakeDingTalk()
    fake.set_org(
        {1: ("Acme", None), 10: ("Plant", 1), 11: ("Quality", 10), 20: ("Sales", 1)},
        [
            FakeUser("u-boss", "Wang Fang", "E1", [1], org_email="wang@acme.example"),
            FakeUser("u-plant", "Li Lei", "E2", [10], "u-boss", email="li@home.example"),
            *[
                FakeUser(f"u-q{i}", f"Inspector {i}", f"Q{i}", [11], "u-plant", title="QA")
                for i in range(5)
            ],
            # In two departments: read once, the first one is theirs.
            FakeUser(
                "u-both", "Zhao Min", "E9", [20, 11], "u-boss", hired_date=ms(date(2019, 10, 1))
            ),
            FakeUser("u-nonum", "No Number", "", [20], "u-boss"),
            FakeUser("u-outsider", "Reports Out", "E10", [20], "u-gone"),
        ],
    )
    return fake


def dingtalk(fake: FakeDingTalk, **kwargs: object) -> DingTalkConnector:
    options: dict[str, object] = {
        "app_key": APP_KEY,
        "app_secret": APP_SECRET,
        "base_url": "http://dingtalk.test",
        "transport": httpx.ASGITransport(app=fake.app),
        "page_size": 2,
        "backoff": 0.0,
    }
    options.update(kwargs)
    return DingTalkConnector(**options)  # type: ignore[arg-type]


async def test_dingtalk_departments_paging_managers_and_mapping() -> None:
    fake = fake_org()
    progress: list[str] = []
    snap = await dingtalk(fake).fetch(progress.append)
    assert {(d.key, d.name, d.parent_key) for d in snap.departments} == {
        ("dingtalk:1", "Acme", ""),
        ("dingtalk:10", "Plant", "dingtalk:1"),
        ("dingtalk:11", "Quality", "dingtalk:10"),
        ("dingtalk:20", "Sales", "dingtalk:1"),
    }
    people = {p.external_id: p for p in snap.people}
    assert len(people) == 10  # u-both listed twice, read once
    assert people["u-both"].department_key == "dingtalk:20"
    assert people["u-both"].hire_date == "2019-10-01"
    assert people["u-plant"].manager_employee_number == "E1"
    assert people["u-plant"].email == "li@home.example"
    assert people["u-boss"].email == "wang@acme.example"
    assert people["u-q3"].manager_employee_number == "E2" and people["u-q3"].title == "QA"
    assert people["u-nonum"].problem.startswith("no job number")
    assert people["u-outsider"].manager_employee_number == "dingtalk-user:u-gone"
    assert snap.provided_fields == {"email", "mobile", "title", "hire_date"}
    # 2 per page: Quality (6 members) takes 3, Sales (3) 2. Managers came from user/get.
    assert fake.calls["/topapi/v2/user/list"] == 1 + 1 + 3 + 2
    assert fake.calls["/topapi/v2/user/get"] == 10
    assert fake.calls["/gettoken"] == 1
    assert progress and progress[-1].startswith("managers of 10")
    plan = plan_sync(snap, CurrentOrg())
    assert {r.key: r.reason_code for r in plan.rows if r.action == "rejected"} == {
        "": "invalid_row",
        "E10": "unknown_manager",
    }
    assert plan.counts.created == 8


async def test_dingtalk_token_refresh_on_expiry_and_revocation() -> None:
    fake = fake_org()
    now = [1000.0]
    connector = dingtalk(fake, clock=lambda: now[0])
    await connector.fetch()
    assert fake.calls["/gettoken"] == 1
    fake.revoke_tokens()  # DingTalk answers 40014: refresh once and repeat the call
    await connector.fetch()
    assert fake.calls["/gettoken"] == 2
    now[0] += 7200  # past the expiry: a new token before the first call
    await connector.fetch()
    assert fake.calls["/gettoken"] == 3


async def test_dingtalk_busy_is_retried_and_outages_fail_cleanly() -> None:
    fake = fake_org()
    fake.busy_calls = 2
    snap = await dingtalk(fake).fetch()
    assert len(snap.people) == 10
    fake.outage_status = 502
    with pytest.raises(SourceUnavailable, match="HTTP 502 after 3 attempts"):
        await dingtalk(fake).fetch()
    fake.outage_status = None
    fake.busy_calls = 100
    with pytest.raises(SourceUnavailable, match="busy"):
        await dingtalk(fake, attempts=2).fetch()


async def test_dingtalk_configuration_errors() -> None:
    with pytest.raises(SourceInvalid, match="not configured"):
        DingTalkConnector(app_key="", app_secret="")
    with pytest.raises(SourceInvalid, match="refused the app credentials"):
        await dingtalk(fake_org(), app_secret="wrong").fetch()


# --- JSON / HTTP ---------------------------------------------------------------------------
DOCUMENT = {
    "departments": [{"id": "D1", "name": "Acme"}, {"key": "D2", "name": "Plant", "parent": "D1"}],
    "people": [
        {"employee_number": "E1", "name": "Wang", "department": "D1", "grade": "M3"},
        {
            "employee_number": 2,
            "name": "Li",
            "department_key": "D2",
            "manager": "E1",
            "active": "left",
        },
        {"employee_number": "E3", "name": "Zhao", "department": "D2", "active": "sometimes"},
        "garbage",
    ],
}


async def test_json_document_shapes() -> None:
    snap = parse_document(DOCUMENT)
    assert [(d.key, d.parent_key) for d in snap.departments] == [("D1", ""), ("D2", "D1")]
    e1, e2, e3, junk = snap.people
    assert e1.grade == "M3" and e2.employee_number == "2" and e2.active is False
    assert e3.problem and junk.problem == "the entry is not an object" and junk.row == 4
    assert snap.provided_fields == {"grade"}
    bad_documents: list[object] = [[], {"people": "x"}, {"departments": ["x"], "people": []}]
    for bad in bad_documents:
        with pytest.raises(SourceInvalid):
            parse_document(bad)


async def test_json_http_connector_statuses() -> None:
    seen: list[httpx.Request] = []
    status = [200]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if status[0] != 200:
            return httpx.Response(status[0])
        return httpx.Response(200, content=json.dumps(DOCUMENT))

    connector = JsonHttpConnector(
        "http://hr.test/org", token="s3cret", transport=httpx.MockTransport(handler)
    )
    assert len((await connector.fetch()).people) == 4
    assert seen[0].headers["Authorization"] == "Bearer s3cret"
    status[0] = 503
    with pytest.raises(SourceUnavailable):
        await connector.fetch()
    status[0] = 401
    with pytest.raises(SourceInvalid):
        await connector.fetch()

    def not_json(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>")

    with pytest.raises(SourceInvalid, match="JSON"):
        await JsonHttpConnector("http://x.test", transport=httpx.MockTransport(not_json)).fetch()

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(SourceUnavailable):
        await JsonHttpConnector("http://x.test", transport=httpx.MockTransport(down)).fetch()


async def test_connectors_from_settings(tmp_path: Path) -> None:
    settings = WorkerSettings(
        org_sync_sources=" dingtalk, JSON ,dingtalk,file",
        dingtalk_app_key="k",
        dingtalk_app_secret="s",
        org_sync_json_url="http://hr.test/org",
        org_sync_file=str(tmp_path / "org.csv"),
    )
    assert configured_sources(settings) == ["dingtalk", "json", "file"]
    assert isinstance(connector_for("dingtalk", settings), DingTalkConnector)
    assert isinstance(connector_for("json", settings), JsonHttpConnector)
    assert isinstance(connector_for("file", settings), FileConnector)
    with pytest.raises(SourceInvalid, match="unknown org sync source"):
        connector_for("ldap", settings)
    with pytest.raises(SourceInvalid, match="not configured"):
        connector_for("file", WorkerSettings())
    with pytest.raises(SourceInvalid, match="not configured"):
        connector_for("dingtalk", WorkerSettings())


async def test_dingtalk_timeouts_over_real_http_fail_cleanly() -> None:
    fake = fake_org()
    async with serve(fake) as base_url:
        connector = DingTalkConnector(
            app_key=APP_KEY, app_secret=APP_SECRET, base_url=base_url, timeout=0.2, backoff=0.0
        )
        assert len((await connector.fetch()).people) == 10  # over a socket, as in production
        fake.hang = True
        with pytest.raises(SourceUnavailable, match="timed out after 3 attempts"):
            await connector.fetch()
        fake.end_hang()
        assert len((await connector.fetch()).people) == 10  # the next run catches up
