"""The rows a check-in locks become key result, objective and cycle objects without their
constructors (services/goals/repository.py ``_target``): that must work as the very first ORM
use of a fresh goals process, when no mapper has been configured yet (a check-in right after
start-up)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

FIRST_USE = """
from services.goals.repository import _TARGET_ENDS, _TARGET_KEYS, _target
k_keys, o_keys, c_keys = _TARGET_KEYS
values = {**{k: f"kr-{k}" for k in k_keys}, "current_value": 1.5, "score": 0.25}
row = [values[k] for k in k_keys] + [f"o-{k}" for k in o_keys] + [f"c-{k}" for k in c_keys]
kr, objective, cycle = _target(row)
assert (kr.id, kr.current_value, objective.id, cycle.id) == ("kr-id", 1.5, "o-id", "c-id")
kr.current_value = 2.0  # changed like any loaded object
assert kr.current_value == 2.0 and kr.score == 0.25
print("ok")
"""


def test_target_rows_are_objects_even_before_any_mapper_is_configured() -> None:
    done = subprocess.run(
        [sys.executable, "-c", FIRST_USE],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
