"""The feedback service's pure rules: who reads what, the anonymity threshold, what may be
given, and the week an item counts in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.common.errors import DomainError, InvalidArgument
from services.feedback.domain import giving
from services.feedback.domain.calendar import local_quarter, local_week
from services.feedback.domain.people import Person
from services.feedback.domain.settings import valid_threshold
from services.feedback.domain.upward import AnonymousItem, aggregate
from services.feedback.domain.visibility import (
    ItemFacts,
    may_read,
    may_read_challenge,
    praise_departments,
)
from services.feedback.handlers.frequency import weeks_between

AUTHOR, ABOUT, MANAGER, PEER = "author", "about", "manager", "peer"
LINE, PLANT, QUALITY = "line", "plant", "quality"
PARENTS = {LINE: PLANT, PLANT: "", QUALITY: ""}
HEADS = {PLANT: "director", LINE: "lead", QUALITY: "qa-head"}


def person(pid: str, department: str = LINE, roles: frozenset[str] = frozenset()) -> Person:
    return Person(id=pid, department_id=department, roles=roles)


def private(shared: bool) -> ItemFacts:
    return ItemFacts(AUTHOR, ABOUT, LINE, "private", shared)


PRAISE = ItemFacts(AUTHOR, ABOUT, LINE, "praise", False)


def reads(viewer: Person, item: ItemFacts) -> bool:
    return may_read(
        viewer,
        item,
        about_manager_id=MANAGER,
        praise_departments=praise_departments(viewer, PARENTS, HEADS),
    )


@pytest.mark.parametrize("viewer", [AUTHOR, ABOUT])
def test_author_and_subject_read_private_feedback(viewer: str) -> None:
    assert reads(person(viewer), private(shared=False))


def test_the_manager_reads_private_feedback_only_when_shared() -> None:
    assert reads(person(MANAGER), private(shared=True))
    assert not reads(person(MANAGER), private(shared=False))


@pytest.mark.parametrize(
    "viewer",
    [
        person(PEER),  # same department
        person("director", PLANT),  # heads the department above
        person("hr", "hq", frozenset({"hr"})),
        person("admin", "hq", frozenset({"admin"})),
    ],
)
def test_nobody_else_reads_private_feedback_even_shared(viewer: Person) -> None:
    assert not reads(viewer, private(shared=True))


def test_praise_is_read_by_the_department_its_heads_and_hr_only() -> None:
    assert reads(person(PEER), PRAISE)
    assert reads(person("lead", LINE), PRAISE)
    assert reads(person("director", PLANT), PRAISE)  # heads the department above
    assert reads(person("hr", "hq", frozenset({"hr"})), PRAISE)
    assert not reads(person("qa", QUALITY), PRAISE)
    assert not reads(person("qa-head", QUALITY), PRAISE)


def test_praise_departments_walk_down_from_the_ones_headed() -> None:
    assert praise_departments(person("director", PLANT), PARENTS, HEADS) == {PLANT, LINE}
    assert praise_departments(person(PEER), PARENTS, HEADS) == {LINE}
    cyclic = {"a": "b", "b": "a"}
    assert praise_departments(person("x", "a"), cyclic, {"a": "x"}) == {"a", "b"}


def test_challenges_are_read_by_their_parties_and_the_owners_managers() -> None:
    def can(viewer: Person) -> bool:
        return may_read_challenge(
            viewer, owner_id="owner", challenger_id="challenger", owner_managers=("m1", "m2")
        )

    assert all(can(person(p)) for p in ("owner", "challenger", "m1", "m2"))
    assert can(person("exec", "hq", frozenset({"executive"})))
    assert not can(person(PEER))


def test_anonymous_items_are_released_from_three_distinct_authors_only() -> None:
    two = [AnonymousItem("1", "a", "x"), AnonymousItem("2", "b", "y"), AnonymousItem("3", "b", "z")]
    held = aggregate(two, 3)
    assert not held.released and held.texts == () and held.items == 0
    three = [*two, AnonymousItem("4", "c", "w")]
    released = aggregate(three, 3)
    assert released.released and released.authors == 3 and released.items == 4
    assert sorted(released.texts) == ["w", "x", "y", "z"]
    # The order depends on the items' random ids, not on when they were written.
    assert aggregate(list(reversed(three)), 3).texts == released.texts


def test_a_threshold_below_three_is_never_applied() -> None:
    items = [AnonymousItem("1", "a", "x"), AnonymousItem("2", "b", "y")]
    assert not aggregate(items, 1).released
    assert aggregate(items, 1).threshold == 3


@pytest.mark.parametrize("value", [-1, 0, 1, 2])
def test_settings_refuse_a_threshold_below_three(value: int) -> None:
    with pytest.raises(InvalidArgument) as err:
        valid_threshold(value)
    assert err.value.code == "threshold_below_minimum"


def test_settings_take_three_and_more() -> None:
    assert valid_threshold(3) == 3 and valid_threshold(10) == 10
    with pytest.raises(InvalidArgument):
        valid_threshold(51)


def test_praise_needs_a_badge_and_private_feedback_has_none() -> None:
    assert giving.visibility("", "") == "private"
    assert giving.visibility("praise", "b1") == "praise"
    for args, code in (
        (("praise", ""), "badge_required"),
        (("private", "b1"), "badge_on_private"),
        (("public", ""), "invalid_visibility"),
    ):
        with pytest.raises(InvalidArgument) as err:
            giving.visibility(*args)
        assert err.value.code == code


def test_only_the_owner_answers_a_challenge() -> None:
    giving.answerer_is_owner("owner", "owner")
    with pytest.raises(DomainError) as err:
        giving.answerer_is_owner("manager", "owner")
    assert err.value.code == "not_objective_owner"
    with pytest.raises(InvalidArgument):
        giving.challenger_not_owner("owner", "owner")


def test_items_count_in_the_organisations_week_and_quarter() -> None:
    # Monday 2026-12-07 00:30 in Shanghai is Sunday 16:30 UTC.
    at = datetime(2026, 12, 6, 16, 30, tzinfo=UTC)
    assert local_week(at, "Asia/Shanghai") == "2026-W50"
    assert local_week(at, "UTC") == "2026-W49"
    assert local_quarter(datetime(2026, 12, 31, 17, 0, tzinfo=UTC), "Asia/Shanghai") == "2027-Q1"


def test_frequency_weeks_span_years_and_are_bounded() -> None:
    assert weeks_between("2026-W52", "2027-W02") == ["2026-W52", "2026-W53", "2027-W01", "2027-W02"]
    for first, last, code in (
        ("2026-W10", "2026-W09", "invalid_week_range"),
        ("2020-W01", "2026-W01", "week_range_too_long"),
        ("2026-W99", "2026-W01", "invalid_week"),
    ):
        with pytest.raises(InvalidArgument) as err:
            weeks_between(first, last)
        assert err.value.code == code
