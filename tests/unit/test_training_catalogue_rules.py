"""Identity's pure rule for HR's training catalogue (gRPC callers bypass the gateway's model)."""

from __future__ import annotations

from services.identity.channels.domain import courses_problem

GOOD = ("sales-forecasting", "销售预测", "Sales forecasting", ["number"], "https://l.example/x")


def code(*courses: tuple[str, str, str, list[str], str]) -> str | None:
    problem = courses_problem(list(courses))
    return problem[0] if problem else None


def test_a_good_catalogue_passes() -> None:
    assert code(GOOD, ("general", "目标", "Goals", [], "")) is None
    assert code() is None


def test_bad_courses_have_stable_codes() -> None:
    assert code(GOOD, GOOD) == "duplicate_course"
    assert code(("bad id", *GOOD[1:])) == "invalid_course_id"
    assert code(("", *GOOD[1:])) == "invalid_course_id"
    assert code((GOOD[0], " ", *GOOD[2:])) == "invalid_course_title"
    assert code((GOOD[0], "ok", "nul\x00", *GOOD[3:])) == "invalid_course_title"
    assert code((*GOOD[:3], ["x"] * 21, GOOD[4])) == "invalid_course_topics"
    assert code((*GOOD[:3], ["\u202e"], GOOD[4])) == "invalid_course_topics"
    for url in ("http://l.example/x", "https://", "ftp://x", "https://a b"):
        assert code((*GOOD[:4], url)) == "invalid_course_url", url
    assert code(*[(f"c{n}", "z", "e", [], "") for n in range(201)]) == "too_many_courses"
