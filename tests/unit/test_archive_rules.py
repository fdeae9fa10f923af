"""The archive's and calibration's pure rules: the 9-box, the distribution with guidance,
the trend across cycles, and who reads whose archive."""

from __future__ import annotations

import pytest

from services.common.errors import InvalidArgument
from services.feedback.domain import archive as rules


def test_performance_levels_follow_the_ratings() -> None:
    assert [rules.performance_level(r) for r in ("S", "A", "B", "C", "D", "")] == [
        "high",
        "high",
        "medium",
        "low",
        "low",
        "",
    ]


def test_nine_box_places_by_final_else_manager_rating() -> None:
    people = [
        rules.Placed("ann", rules.effective_rating("S", "C"), "high"),
        rules.Placed("ben", rules.effective_rating("", "B"), "low"),
        rules.Placed("cat", rules.effective_rating("D", ""), "medium"),
        rules.Placed("dan", rules.effective_rating("", ""), "high"),
        rules.Placed("eve", "A", ""),
    ]
    cells, unplaced = rules.nine_box(people)
    assert len(cells) == 9
    order = list(cells)
    assert order[0] == ("high", "low") and order[-1] == ("low", "high")
    assert cells[("high", "high")] == ["ann"]
    assert cells[("medium", "low")] == ["ben"]
    assert cells[("low", "medium")] == ["cat"]
    assert unplaced == ["dan", "eve"]


def test_distribution_counts_shares_and_shows_guidance() -> None:
    shares = rules.distribution(["A", "B", "B", "C", "", "B"], {"B": 0.5, "S": 0.1})
    by = {s.rating: s for s in shares}
    assert [s.rating for s in shares] == ["S", "A", "B", "C", "D"]
    assert by["B"].count == 3 and by["B"].share == pytest.approx(0.6)
    assert by["A"].share == pytest.approx(0.2) and by["A"].target is None
    assert by["S"].count == 0 and by["S"].target == 0.1
    assert all(s.share == 0.0 for s in rules.distribution([], {}))


def test_guidance_is_checked() -> None:
    assert rules.checked_guidance({"A": 0.2, "B": 0.5}) == {"A": 0.2, "B": 0.5}
    for bad, code in (
        ({"E": 0.1}, "invalid_guidance_rating"),
        ({"A": 1.5}, "invalid_guidance_share"),
        ({"A": 0.6, "B": 0.6}, "invalid_guidance_total"),
    ):
        with pytest.raises(InvalidArgument) as err:
            rules.checked_guidance(bad)
        assert err.value.code == code


def test_trend_against_the_previous_cycle() -> None:
    points = [
        rules.Point(0.6, "B"),
        rules.Point(0.75, "A"),
        rules.Point(None, "A"),
        rules.Point(0.5, "C"),
        rules.Point(0.55, ""),
    ]
    got = [(t.score_delta, t.rating_direction) for t in rules.trend(points)]
    assert got == [(None, ""), (0.15, "up"), (None, "same"), (None, "down"), (0.05, "")]


def test_who_reads_an_archive() -> None:
    line = ("lead", "director")
    assert rules.can_read("ann", (), "ann", line)
    assert rules.can_read("lead", (), "ann", line)
    assert rules.can_read("director", (), "ann", line)
    assert rules.can_read("hr1", ("hr",), "ann", line)
    assert not rules.can_read("peer", ("executive",), "ann", line)


def test_ratings_and_potential_are_checked() -> None:
    assert rules.checked_rating("S") == "S"
    assert rules.checked_rating("", allow_empty=True) == ""
    with pytest.raises(InvalidArgument):
        rules.checked_rating("")
    with pytest.raises(InvalidArgument):
        rules.checked_potential("huge")
