"""IM robots: DingTalk's signature, the posted JSON, and identity's input rules (pure)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qs, urlsplit

from activities.im import dingtalk_sign, dingtalk_signed_url, group_params, robot_payload
from services.identity.channels.domain import calendar_problem, webhook_hint, webhook_problem

SECRET = "SEC0123456789abcdef"


def test_dingtalk_signature_is_hmac_sha256_of_timestamp_newline_secret() -> None:
    ts = 1_764_700_000_000
    expected = base64.b64encode(
        hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(), hashlib.sha256).digest()
    ).decode()
    url = dingtalk_signed_url("https://oapi.dingtalk.com/robot/send?access_token=t", SECRET, ts)
    query = parse_qs(urlsplit(url).query)
    assert query["timestamp"] == [str(ts)]
    assert query["sign"] == [expected]  # parse_qs undoes the URL encoding
    assert "+" not in dingtalk_sign(SECRET, ts) and "/" not in dingtalk_sign(SECRET, ts)
    assert dingtalk_signed_url("https://x/robot?access_token=t", "", ts).endswith("token=t")


def test_payloads_carry_title_text_and_link() -> None:
    ding = robot_payload("dingtalk", "预警", "正文", "https://stride/kr/1")
    assert ding["msgtype"] == "markdown" and ding["markdown"]["title"] == "预警"
    assert "正文" in ding["markdown"]["text"] and "https://stride/kr/1" in ding["markdown"]["text"]
    wecom = robot_payload("wecom", "Warning", "Body", "")
    assert wecom["markdown"]["content"].startswith("**Warning**")
    assert group_params({"role": "owner", "week": "2026-W48"}) == {"week": "2026-W48"}


def test_webhooks_must_be_https_and_are_shown_without_their_token() -> None:
    assert webhook_problem("https://oapi.dingtalk.com/robot/send?access_token=abc") is None
    assert webhook_problem("http://oapi.dingtalk.com/robot/send")[0] == "webhook_not_https"  # type: ignore[index]
    assert webhook_problem("ftp://x/y")[0] == "webhook_not_https"  # type: ignore[index]
    assert webhook_problem("not a url")[0] == "invalid_webhook_url"  # type: ignore[index]
    assert webhook_problem("https:///path")[0] == "invalid_webhook_url"  # type: ignore[index]
    assert webhook_problem("https://u:p@host/x")[0] == "invalid_webhook_url"  # type: ignore[index]
    assert webhook_problem("http://127.0.0.1:9/x", frozenset({"127.0.0.1"})) is None
    hint = webhook_hint("https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef")
    assert hint == "https://oapi.dingtalk.com/robot/send?…cdef"
    assert "0123456789ab" not in hint


def test_calendar_rules() -> None:
    assert calendar_problem(2026, [("2026-10-01", "国庆节")], [("2026-10-10", "调休")]) is None
    assert calendar_problem(2026, [("2026-13-01", "")], [])[0] == "invalid_date"  # type: ignore[index]
    assert calendar_problem(2026, [("2027-01-01", "")], [])[0] == "date_outside_year"  # type: ignore[index]
    assert calendar_problem(2026, [("2026-10-01", "")], [("2026-10-01", "")])[0] == (  # type: ignore[index]
        "duplicate_date"
    )
    assert calendar_problem(2026, [], [("2026-10-09", "")])[0] == "working_day_not_weekend"  # type: ignore[index]


def test_request_urls_with_robot_tokens_are_not_logged() -> None:
    import logging

    from services.common.logging import configure_logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure_logging("worker", "info")
        assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.getLogger("httpx").setLevel(logging.NOTSET)
