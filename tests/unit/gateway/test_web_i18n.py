"""The web app's pure parts: both languages have one key set, every key a template names
exists, the language choice, the return path after sign-in, the current cycle, the charts."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.web import charts, qr
from gateway.web.i18n import Translator, from_accept_language
from gateway.web.messages import MESSAGES
from gateway.web.pages import FEEDBACK_BOXES, current_cycle, read_only_reason
from gateway.web.render import RISK_CLASSES, TEMPLATES
from gateway.web.session import safe_next
from workflows.vocabulary import LANGUAGES, RISK_STATUSES, ObjectiveStatus

# t("key") and t('key') with a literal key; t("prefix." ~ value) with a computed one.
_LITERAL = re.compile(r"""\bt\(\s*["']([\w.-]+)["']\s*[,)]""")
_PREFIX = re.compile(r"""\bt\(\s*["']([\w.-]+\.)["']\s*~""")


def _templates() -> dict[str, str]:
    return {p.name: p.read_text() for p in TEMPLATES.glob("*.html")}


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    assert set(MESSAGES) == set(LANGUAGES)
    zh, en = MESSAGES["zh-CN"], MESSAGES["en"]
    assert set(zh) == set(en), sorted(set(zh) ^ set(en))
    for key in en:
        assert set(re.findall(r"{(\w+)}", zh[key])) == set(re.findall(r"{(\w+)}", en[key])), key


def test_every_key_a_template_names_exists() -> None:
    used = set()
    for name, source in _templates().items():
        for key in _LITERAL.findall(source):
            used.add(key)
            assert key in MESSAGES["en"], f"{name}: {key}"
    assert len(used) > 60
    # Computed keys: every word of their vocabulary has a text.
    words = {
        "risk.": RISK_STATUSES,
        "status.": {s.value for s in ObjectiveStatus},
        "lang.": set(LANGUAGES),
        "approval.status.": {"pending", "approved", "rejected"},
        "approval.kind.": {"plan", "revision"},
        "dashboards.scope.": {"organisation", "my_organisation", "department", "none"},
        "feedback.box.": set(FEEDBACK_BOXES),
    }
    prefixes = {p for source in _templates().values() for p in _PREFIX.findall(source)}
    for prefix, vocabulary in words.items():
        assert prefix in prefixes, prefix
        for word in vocabulary:
            assert prefix + word in MESSAGES["en"], prefix + word
    assert set(RISK_CLASSES) >= RISK_STATUSES


def test_a_missing_key_fails_loudly() -> None:
    t = Translator("en")
    assert t("check_in.done", count=3) == "Recorded 3 check-ins. Thank you!"
    assert Translator("zh-CN")("check_in.done", count=3) == "已记录 3 条进展。谢谢!"
    with pytest.raises(KeyError):
        t("no.such.key")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("en-GB,en;q=0.9", "en"),
        ("de-DE, en;q=0.5, zh;q=0.7", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("fr, de", None),
        ("en;q=0, zh;q=0.1", "zh-CN"),
        ("", None),
        ("en;q=abc", None),
    ],
)
def test_language_from_accept_language(header: str, expected: str | None) -> None:
    assert from_accept_language(header) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/check-in", "/check-in"),
        ("/approvals/a1?x=1", "/approvals/a1?x=1"),
        ("", "/okrs"),
        (None, "/okrs"),
        ("https://evil.example/", "/okrs"),
        ("//evil.example/", "/okrs"),
        ("/\\evil.example", "/okrs"),
        ("/ok\r\nSet-Cookie: x=1", "/okrs"),
        ("okrs", "/okrs"),
    ],
)
def test_the_return_path_stays_on_the_site(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def _cycle(cid: str, start: str, end: str, status: str = "open") -> dict[str, str]:
    return {"id": cid, "start_date": start, "end_date": end, "status": status, "time_zone": ""}


def test_the_current_cycle() -> None:
    now = datetime(2026, 4, 1, 1, 0, tzinfo=ZoneInfo("UTC"))  # 09:00 in Shanghai
    q1 = _cycle("q1", "2026-01-01", "2026-03-31")
    q2 = _cycle("q2", "2026-04-01", "2026-06-30")
    q3 = _cycle("q3", "2026-07-01", "2026-09-30")
    # 1 April in Shanghai already, though still 31 March in some zones.
    assert current_cycle([q1, q2, q3], now)["id"] == "q2"
    # None holds today: the open cycle that started last.
    closed = _cycle("q2", "2026-04-01", "2026-06-30", status="closed")
    assert current_cycle([q1, closed], datetime(2026, 5, 1, tzinfo=ZoneInfo("UTC")))["id"] == "q1"
    assert current_cycle([], now) is None


def test_charts_write_every_number_and_a_title() -> None:
    dashboard = {
        "departments": [
            {"department_id": "d1", "figures": {"average_score": 0.5}},
            {"department_id": "gone", "figures": {"average_score": 1.25}},
        ],
        "weeks": [{"week": "2026-W10", "check_ins": 4}, {"week": "2026-W11", "check_ins": 0}],
    }
    svg = charts.department_scores(dashboard, {"d1": {"name": "Paint <&> Co"}})
    assert "<title>Completion by department</title>" in svg
    assert ">50%</text>" in svg and ">125%</text>" in svg
    assert "Paint &lt;&amp;&gt; Co" in svg and "gone" in svg
    # A bar never runs past its track.
    widths = [
        float(w)
        for w in re.findall(r'class="chart-track"/><rect x="\d+" y="\d+" width="([\d.]+)"', svg)
    ]
    assert widths == [charts.BAR_WIDTH / 2, charts.BAR_WIDTH]
    columns = charts.weekly_check_ins(dashboard)
    assert ">4</text>" in columns and ">0</text>" in columns and "W10" in columns


def test_a_qr_code_is_inline_svg_of_the_link() -> None:
    svg = qr.svg("https://stride.example/sign-in?next=/check-in&department=d1")
    assert svg.startswith("<svg") and "<?xml" not in svg
    assert "department=d1" in svg  # its title, for people and tests


def test_key_results_people_do_not_check_in_on() -> None:
    assert read_only_reason({"data_source": "manual", "objective_status": "approved"}) == ""
    assert read_only_reason({"data_source": "manual", "objective_status": "draft"}) == ""
    assert read_only_reason({"data_source": "telemetry"}) == "check_in.machine_fed"
    closed = {"data_source": "manual", "objective_status": "closed"}
    assert read_only_reason(closed) == "check_in.objective_closed"
