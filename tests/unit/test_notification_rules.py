"""Pure parts of the notification activities: who gets a cycle step's notice, the texts."""

from __future__ import annotations

import pytest

from activities.approvals import skip_level
from activities.cycle import Person, Taking, audience
from activities.messages import TEMPLATES, email_message, message_id, render
from workflows import notifications

PEOPLE = [Person("m"), Person("a", "m"), Person("b", "m"), Person("c", "m"), Person("d", "x")]
TAKING = [
    Taking("a", approved=1, key_results=3, checked_in=3),
    Taking("b", approved=1, key_results=2, checked_in=0, at_risk=1),
    Taking("c", draft=2),
    Taking("d", pending=1),
    Taking("outsider", approved=1, key_results=1),  # not in a pilot department
]


def ids(kind: str) -> list[str]:
    return [o.recipient_id for o in audience(kind, PEOPLE, TAKING, "cyc", "2026-W49")]


def test_who_is_reminded() -> None:
    # Not submitted: no pending or approved objective (drafts do not count), pilot people only.
    assert ids("not_submitted") == ["m", "c"]
    assert ids("not_checked_in") == ["b"]
    out = audience("not_checked_in", PEOPLE, TAKING, "cyc", "2026-W49")
    assert out[0].params == {"cycle_id": "cyc", "week": "2026-W49", "pending": "2"}
    assert ids("participants") == ["a", "b"]
    assert ids("pilot") == ["m", "a", "b", "c", "d"]
    with pytest.raises(ValueError):
        audience("everyone-ever", PEOPLE, TAKING, "cyc")


def test_manager_digest_counts_reports_only() -> None:
    (digest,) = audience("managers", PEOPLE, TAKING, "cyc", "2026-W49")
    assert digest.recipient_id == "m"
    assert digest.params["reports"] == "2"  # a and b own key results; c does not
    assert (digest.params["checked_in"], digest.params["missing"]) == ("1", "1")
    assert digest.params["at_risk"] == "1"


def test_every_template_renders_in_both_languages() -> None:
    assert set(TEMPLATES) == notifications.TEMPLATES
    for name in TEMPLATES:
        texts = render(name, {"kind": "plan", "decision": "approve", "approval_id": "a1"})
        assert texts.title_zh and texts.title_en and texts.body_zh and texts.body_en
        assert "{" not in texts.body_en + texts.body_zh
    decided = render("approval.decided", {"kind": "revision", "decision": "reject"})
    assert decided.title_en == "Your target revision was rejected"
    assert "已驳回" in decided.title_zh
    assert render("approval.requested", {"approval_id": "a1"}).link == "/approvals/a1"


def test_email_is_bilingual_without_a_locale_and_carries_the_key() -> None:
    texts = render("approval.reminder", {"kind": "plan", "approval_id": "a1"})
    key = "cycle/c1/plan/e1/reminder/a1/m1"
    msg = email_message(texts, key=key, sender="s@x", to="m@x", web_url="https://stride.example")
    assert msg["Message-ID"] == message_id(key) == "<cycle.c1.plan.e1.reminder.a1.m1@stride>"
    body = msg.get_content()
    assert texts.body_zh in body and texts.body_en in body
    assert "https://stride.example/approvals/a1" in body
    assert msg["Subject"] == f"{texts.title_zh} / {texts.title_en}"
    en = email_message(texts, key=key, sender="s@x", to="m@x", locale="en")
    assert en["Subject"] == texts.title_en and texts.body_zh not in en.get_content()


def test_skip_level_is_the_second_manager_up() -> None:
    assert skip_level(["mgr", "skip", "ceo"]) == "skip"
    assert skip_level(["mgr"]) == ""
    assert skip_level([]) == ""


def test_labels_replace_ids_in_titles_and_bodies_but_not_in_links() -> None:
    params = {"round_id": "r-1", "cycle_id": "c-9", "subject_id": "e-7", "deadline": "2026-12-31"}
    labels = {"c-9": "2026 Q4", "e-7": "王伟"}
    texts = render(notifications.FEEDBACK_INVITED, params, labels)
    assert "王伟" in texts.title_zh and "王伟" in texts.title_en
    assert "2026 Q4" in texts.body_zh and "2026 Q4" in texts.body_en
    assert "e-7" not in texts.title_en + texts.body_en + texts.title_zh + texts.body_zh
    assert texts.link == "/feedback-rounds/r-1/answers"
    # An id with no label (not found) stays as it was.
    plain = render(notifications.FEEDBACK_INVITED, params, {"c-9": "2026 Q4"})
    assert "e-7" in plain.title_en
