"""The risk rules: bodies of /risk-rules (services/goals/risk_rules.py has the rule)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from gateway.schemas.common import Id, RequestModel, ResponseModel, Text, unique
from workflows.vocabulary import (
    MAX_RISK_OVERRIDES,
    MAX_RISK_THRESHOLD,
    MAX_RISK_WEEKS,
    MIN_RISK_THRESHOLD,
    MIN_RISK_WEEKS,
)

Threshold = Annotated[
    float,
    Field(
        ge=MIN_RISK_THRESHOLD,
        le=MAX_RISK_THRESHOLD,
        description="a check-in is behind when it falls short of the plan by this share of "
        "it (0.2: 20 %)",
    ),
]
Weeks = Annotated[
    int,
    Field(
        ge=MIN_RISK_WEEKS,
        le=MAX_RISK_WEEKS,
        description="behind check-ins running that make a key result at risk",
    ),
]


class RiskRule(RequestModel):
    threshold: Threshold
    weeks: Weeks


class RiskRuleOverride(RequestModel):
    department_id: Id = Field(description="key results owned in exactly this department")
    rule: RiskRule


class RiskRulesUpdate(RequestModel):
    """A new version of the rules; the rest of the organisation keeps ``rule``."""

    rule: RiskRule
    overrides: Annotated[list[RiskRuleOverride], Field(max_length=MAX_RISK_OVERRIDES)] = Field(
        default_factory=list, description="departments with their own rule"
    )
    note: Text = ""

    @field_validator("overrides")
    @classmethod
    def _distinct(cls, overrides: list[RiskRuleOverride]) -> list[RiskRuleOverride]:
        unique([o.department_id for o in overrides], "department")
        return overrides


class RiskRuleOut(ResponseModel):
    threshold: float
    weeks: int


class RiskRuleOverrideOut(ResponseModel):
    department_id: str
    rule: RiskRuleOut


class RiskRules(ResponseModel):
    version: int
    rule: RiskRuleOut
    overrides: list[RiskRuleOverrideOut]
    note: str
    created_by: str = Field(description="who set this version (audit actor)")
    created_at: str
