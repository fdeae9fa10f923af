"""Request bodies of the goals API: what a client can get wrong is a 422 before any
service call, on the field that is wrong."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from gateway.schemas.check_ins import BulkCheckIn, CheckInCreate
from gateway.schemas.checklists import ChecklistUpdate
from gateway.schemas.cycles import CycleCreate
from gateway.schemas.key_results import KeyResultCreate, RevisionCreate, SelfScore
from gateway.schemas.objectives import ObjectiveCopy, ObjectiveCreate, WeightsUpdate


def errors(model: type[BaseModel], body: dict[str, Any]) -> set[str]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(body)
    return {".".join(str(p) for p in e["loc"]) for e in info.value.errors()}


KR = {"title": "Scrap rate", "baseline": 5.0, "target": 2.0}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x", "baseline": 3, "target": 3}, "target"),
        ({"title": "x", "baseline": 3}, "target"),
        ({"title": "x", "target": 3}, "baseline"),
        ({**KR, "direction": "increase"}, "target"),  # 5 -> 2 is not an increase
        ({"title": "x", "baseline": 0, "target": 9, "direction": "decrease"}, "target"),
        ({"title": "x", "kind": "milestone"}, "milestones"),
        ({"title": "x", "kind": "milestone", "milestones": ["a", "b"], "target": 3}, "target"),
        ({**KR, "milestones": ["a"]}, "milestones"),
        ({"title": "x", "kind": "boolean", "target": 5}, "target"),
        ({"title": "x", "direction": "stay_within", "lower_bound": 4}, "upper_bound"),
        (
            {"title": "x", "direction": "stay_within", "lower_bound": 5, "upper_bound": 4},
            "upper_bound",
        ),
        ({**KR, "upper_bound": 4}, "upper_bound"),
        ({**KR, "currency": "CNY"}, "currency"),
        ({**KR, "kind": "currency", "currency": "yuan"}, "currency"),
        ({**KR, "weight": 101}, "weight"),
        ({**KR, "confidence": 11}, "confidence"),
        ({**KR, "kind": "fraction"}, "kind"),
        (
            {
                **KR,
                "plan": [
                    {"date": "2026-02-01", "progress": 0.5},
                    {"date": "2026-01-01", "progress": 0.6},
                ],
            },
            "plan",
        ),
        ({**KR, "plan": [{"date": "2026-02-01", "progress": 1.5}]}, "plan.0.progress"),
    ],
)
def test_bad_key_results(body: dict[str, Any], field: str) -> None:
    assert field in errors(KeyResultCreate, body)


def test_key_result_kinds_fill_in_what_they_imply() -> None:
    done = KeyResultCreate.model_validate({"title": "PPAP signed", "kind": "boolean"})
    assert (done.baseline, done.target) == (0.0, 1.0)
    steps = KeyResultCreate.model_validate(
        {"title": "Line move", "kind": "milestone", "milestones": ["plan", "move", "run-off"]}
    )
    assert (steps.baseline, steps.target) == (0.0, 3.0)
    band = KeyResultCreate.model_validate(
        {"title": "Downtime", "direction": "stay_within", "lower_bound": 0, "upper_bound": 4}
    )
    fields = band.proto_fields()
    assert fields["upper_bound"] == 4 and "baseline" not in fields
    # Direction left to the service (decrease, from baseline and target) when not given.
    assert "direction" not in KeyResultCreate.model_validate(KR).proto_fields()


def test_inline_key_results_total_100_or_split_evenly() -> None:
    base = {"cycle_id": "c", "title": "On-time delivery", "owner_id": "e"}
    krs = [dict(KR, title=f"K{i}") for i in range(3)]
    even = ObjectiveCreate.model_validate({**base, "key_results": krs})
    assert [k.weight for k in even.key_results] == [34, 33, 33]
    weighted = [dict(k, weight=w) for k, w in zip(krs, (50, 30, 10), strict=True)]
    assert errors(ObjectiveCreate, {**base, "key_results": weighted}) == {"key_results"}
    partly = [dict(krs[0], weight=100), krs[1]]
    assert errors(ObjectiveCreate, {**base, "key_results": partly}) == {"key_results"}
    assert errors(WeightsUpdate, {"weights": {"a": 60, "b": 30}}) == {"weights"}
    assert errors(WeightsUpdate, {"weights": {}}) == {"weights"}


def test_check_in_bodies() -> None:
    entry = {"key_result_id": "k1", "value": 3, "confidence": 7}
    assert errors(BulkCheckIn, {"check_ins": []}) == {"check_ins"}
    assert errors(BulkCheckIn, {"check_ins": [entry, entry]}) == {"check_ins"}
    assert "check_ins.0.week" in errors(BulkCheckIn, {"check_ins": [{**entry, "week": "2026-W60"}]})
    answers = [{"item_id": "a", "checked": True}, {"item_id": "a", "checked": False}]
    assert errors(CheckInCreate, {"value": 1, "confidence": 1, "answers": answers}) == {"answers"}
    assert "blockers.0.text" in errors(
        CheckInCreate, {"value": 1, "confidence": 1, "blockers": [{"text": " "}]}
    )


def test_other_bodies() -> None:
    item = {
        "id": "inspection-records",
        "label_zh": "检验记录完整",
        "label_en": "Inspection records",
    }
    assert errors(ChecklistUpdate, {"items": [item, item]}) == {"items"}
    assert "items.0.label_zh" in errors(ChecklistUpdate, {"items": [{**item, "label_zh": ""}]})
    assert "items.0.id" in errors(ChecklistUpdate, {"items": [{**item, "id": "Bad Id"}]})
    assert errors(ObjectiveCopy, {"source_cycle_id": "a", "target_cycle_id": "a"}) == {
        "target_cycle_id"
    }
    assert errors(RevisionCreate, {"new_target": 3, "reason": ""}) == {"reason"}
    assert errors(SelfScore, {"self_score": 1.2}) == {"self_score"}
    cycle = {"name": "Q", "start_date": "2026-01-01", "end_date": "2026-03-31"}
    assert errors(CycleCreate, {**cycle, "planning_deadline": "2026-04-02"}) == {
        "planning_deadline"
    }
    assert errors(
        CycleCreate,
        {**cycle, "planning_deadline": "2026-01-10", "approval_deadline": "2026-01-05"},
    ) == {"approval_deadline"}
    assert errors(CycleCreate, {**cycle, "closing_deadline": "2026-03-30"}) == {"closing_deadline"}


def test_stretch_is_a_strict_flag() -> None:
    base = {"cycle_id": "c1", "title": "Output +20 %", "owner_id": "e1"}
    assert ObjectiveCreate.model_validate(base).stretch is False
    assert ObjectiveCreate.model_validate({**base, "stretch": True}).stretch is True
    assert errors(ObjectiveCreate, {**base, "stretch": "yes"}) == {"stretch"}
