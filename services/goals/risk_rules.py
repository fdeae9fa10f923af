"""Risk rule sets: versioned data that HR changes (pure: no I/O; used by the goals service
and by ``stride risk backtest``, :mod:`services.goals.backtest`).

A rule set is the customer's rule with its numbers: a check-in is *behind* when it falls
short of the plan by ``threshold`` (0.2: 20 %), a key result is *at risk* after ``weeks``
behind check-ins running (:mod:`services.goals.risk`). Departments may have their own
numbers (an override applies to key results owned in exactly that department, not to its
sub-departments). Each change is a new version; the newest is in force, and every assessment
records the version it used.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.common.errors import InvalidArgument
from services.goals import risk

# The bounds HR may choose within: below 5 % every wobble is "behind", above 90 % nothing is.
MIN_THRESHOLD = 0.05
MAX_THRESHOLD = 0.9
MIN_WEEKS = 1
MAX_WEEKS = 8
MAX_OVERRIDES = 500


@dataclass(frozen=True)
class Rule:
    threshold: float = risk.DEFAULT_THRESHOLD
    weeks: int = risk.DEFAULT_WEEKS


@dataclass(frozen=True)
class RuleSet:
    version: int
    default: Rule = Rule()
    # department id → that department's own rule
    overrides: Mapping[str, Rule] = field(default_factory=dict)

    def for_department(self, department_id: str) -> Rule:
        return self.overrides.get(department_id, self.default)


# In force until HR changes it (the migration stores it as version 1).
DEFAULT_RULES = RuleSet(1)


def valid_rule(threshold: float, weeks: int, where: str = "") -> Rule:
    """A rule within the bounds, or InvalidArgument naming what is wrong."""
    if not math.isfinite(threshold) or not MIN_THRESHOLD <= threshold <= MAX_THRESHOLD:
        raise InvalidArgument(
            "invalid_risk_threshold",
            f"{where}threshold must lie within {MIN_THRESHOLD} and {MAX_THRESHOLD} "
            "(a share of the plan: 0.2 is 20 %)",
        )
    if not MIN_WEEKS <= weeks <= MAX_WEEKS:
        raise InvalidArgument(
            "invalid_risk_weeks", f"{where}weeks must lie within {MIN_WEEKS} and {MAX_WEEKS}"
        )
    return Rule(round(threshold, 4), weeks)


def valid_rule_set(
    version: int,
    threshold: float,
    weeks: int,
    overrides: Sequence[tuple[str, float, int]],
) -> RuleSet:
    """A rule set from what HR sent: each override ``(department id, threshold, weeks)``."""
    default = valid_rule(threshold, weeks)
    if len(overrides) > MAX_OVERRIDES:
        raise InvalidArgument("too_many_overrides", f"at most {MAX_OVERRIDES} overrides")
    rules: dict[str, Rule] = {}
    for i, (department_id, t, w) in enumerate(overrides):
        department_id = department_id.strip()
        if not department_id:
            raise InvalidArgument("department_required", f"overrides[{i}]: department_id")
        if department_id in rules:
            raise InvalidArgument(
                "duplicate_override", f"overrides[{i}]: {department_id} is overridden twice"
            )
        rules[department_id] = valid_rule(t, w, f"overrides[{i}]: ")
    return RuleSet(version, default, rules)


def rule_set_from_json(text: str) -> RuleSet:
    """A rule set from a file (``stride risk backtest --rules FILE``)::

    {"threshold": 0.3, "weeks": 2,
     "overrides": [{"department_id": "...", "threshold": 0.1, "weeks": 3}]}
    """
    try:
        data = json.loads(text)
    except ValueError as err:
        raise InvalidArgument("invalid_rules_file", f"not JSON: {err}") from err
    if not isinstance(data, dict):
        raise InvalidArgument("invalid_rules_file", "expected a JSON object")
    overrides = data.get("overrides", [])
    if not isinstance(overrides, list) or not all(isinstance(o, dict) for o in overrides):
        raise InvalidArgument("invalid_rules_file", "overrides must be a list of objects")
    try:
        return valid_rule_set(
            0,
            _number(data, "threshold", risk.DEFAULT_THRESHOLD),
            int(_number(data, "weeks", risk.DEFAULT_WEEKS)),
            [
                (
                    str(o.get("department_id", "")),
                    _number(o, "threshold", risk.DEFAULT_THRESHOLD),
                    int(_number(o, "weeks", risk.DEFAULT_WEEKS)),
                )
                for o in overrides
            ],
        )
    except (TypeError, ValueError) as err:
        raise InvalidArgument("invalid_rules_file", str(err)) from err


def _number(data: Mapping[str, Any], key: str, default: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgument("invalid_rules_file", f"{key} must be a number")
    return float(value)
