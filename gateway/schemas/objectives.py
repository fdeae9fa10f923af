"""Objectives, their weights and copies between cycles: the bodies of /objectives."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field, StringConstraints, ValidationInfo, field_validator

from gateway.schemas.common import (
    Day,
    HumanText,
    Id,
    ObjectiveIds,
    OptionalId,
    RequestModel,
    ResponseModel,
    Text,
    Title,
)
from gateway.schemas.key_results import KeyResult, KeyResultCreate, Weight
from gateway.schemas.words import Level, LevelOut, ObjectiveStatusOut, VisibilityName, VisibilityOut
from workflows.vocabulary import MAX_KEY_RESULTS, MAX_PROJECT, WEIGHT_TOTAL

Project = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_PROJECT), HumanText(required=False)
]


class ObjectiveCreate(RequestModel):
    cycle_id: Id
    title: Title
    description: Text = ""
    owner_id: Id
    department_id: OptionalId = Field(default="", description="the owner's department if empty")
    level: Level = "individual"
    visibility: VisibilityName = Field(
        default="restricted",
        description="restricted: owner, managers, department heads, HR, admin, executives; "
        "public: everyone",
    )
    parent_id: OptionalId = Field(default="", description="the objective this one aligns to")
    project: Project = ""
    stretch: bool = Field(
        default=False, description="a stretch objective: target beyond what is expected"
    )
    start_date: Day | None = Field(default=None, description="the cycle's if omitted")
    end_date: Day | None = Field(default=None, description="the cycle's if omitted")
    key_results: Annotated[list[KeyResultCreate], Field(max_length=MAX_KEY_RESULTS)] = Field(
        default_factory=list,
        description="created with the objective (all or nothing); their weights must total "
        f"{WEIGHT_TOTAL} (omit every weight to split {WEIGHT_TOTAL} evenly)",
    )

    @field_validator("end_date")
    @classmethod
    def _dates(cls, end: dt.date | None, info: ValidationInfo) -> dt.date | None:
        start = info.data.get("start_date")
        if start and end and end < start:
            raise ValueError("end_date must not be before start_date")
        return end

    @field_validator("key_results")
    @classmethod
    def _weights(cls, krs: list[KeyResultCreate]) -> list[KeyResultCreate]:
        if not krs:
            return krs
        given = [k.weight for k in krs if k.weight is not None]
        if not given:
            share, rest = divmod(WEIGHT_TOTAL, len(krs))
            for i, k in enumerate(krs):
                k.weight = share + (1 if i < rest else 0)
        elif len(given) != len(krs):
            raise ValueError("give every key result a weight, or none (split evenly)")
        elif sum(given) != WEIGHT_TOTAL:
            raise ValueError(f"the key results' weights total {sum(given)}, not {WEIGHT_TOTAL}")
        return krs


class ObjectiveUpdate(RequestModel):
    """Draft objectives only; only the fields sent change."""

    title: Title | None = None
    description: Text | None = None
    visibility: VisibilityName | None = None
    parent_id: OptionalId | None = Field(default=None, description='"" removes the alignment')
    project: Project | None = None
    level: Level | None = None
    stretch: bool | None = None


class Objective(ResponseModel):
    id: str
    cycle_id: str
    title: str
    description: str
    owner_id: str
    department_id: str
    created_at: str
    level: LevelOut = "unspecified"
    status: ObjectiveStatusOut = "unspecified"
    visibility: VisibilityOut = "unspecified"
    parent_id: str = ""
    project: str = ""
    start_date: str = ""
    end_date: str = ""
    score: float = 0.0
    key_result_count: int = 0
    weight_total: int = 0
    updated_at: str = ""
    stretch: bool = False


class WeightsUpdate(RequestModel):
    weights: dict[Id, Weight] = Field(
        description="key result id → weight; name every key result of the objective, "
        f"total {WEIGHT_TOTAL}"
    )

    @field_validator("weights")
    @classmethod
    def _total(cls, weights: dict[str, int]) -> dict[str, int]:
        if not weights or len(weights) > MAX_KEY_RESULTS:
            raise ValueError(f"name between 1 and {MAX_KEY_RESULTS} key results")
        if sum(weights.values()) != WEIGHT_TOTAL:
            raise ValueError(f"the weights total {sum(weights.values())}, not {WEIGHT_TOTAL}")
        return weights


class ObjectiveCopy(RequestModel):
    source_cycle_id: Id
    target_cycle_id: Id
    objective_ids: ObjectiveIds = Field(
        default_factory=list, description="which to copy; all of the owner's if empty"
    )
    owner_id: OptionalId = Field(
        default="", description="whose objectives; the caller if empty (others: admin only)"
    )

    @field_validator("target_cycle_id")
    @classmethod
    def _other_cycle(cls, target: str, info: ValidationInfo) -> str:
        if target == info.data.get("source_cycle_id"):
            raise ValueError("source and target cycle must differ")
        return target


class ObjectiveCopyResult(ResponseModel):
    objectives: list[Objective]
    key_results: list[KeyResult]
