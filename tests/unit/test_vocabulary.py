"""Phases, statuses, risk names, limits, the ISO week and default deadlines are defined once.

workflows/vocabulary.py is the only definition; the gateway, the services, the workflows and
the activities import it. This test imports every module of those layers (so a user still
reaching for a removed copy fails to import) and scans their source for definitions of the
vocabulary's words elsewhere:

- an assignment (module or class level) to one of the vocabulary's names (``MAX_MILESTONES``,
  ``PLANNING_DAYS``, ``WEEK``, ``Phase``...), or a function of its names (``week_of``...);
- a constant spelling one of its words (``PHASE_PLANNING = "planning"``, a StrEnum member);
- a collection (tuple, set, list, dict keys, ``Literal[...]``) spelling two or more words of
  one vocabulary set (``("company", "department", ...)``, ``{"planning": ..., ...}``);
- an ISO-week pattern or format (``-W`` with two digits).
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from enum import Enum
from pathlib import Path

import pytest

from workflows import vocabulary

ROOT = Path(__file__).resolve().parents[2]
VOCABULARY = ROOT / "workflows" / "vocabulary.py"
# The layers that use the vocabulary (generated protobuf code lives in protos/, not here).
LAYERS = ("services", "workflows", "activities", "gateway")

NAMES = {n for n in vars(vocabulary) if not n.startswith("_") and n not in {"annotations"}}
NAMES -= {n for n, v in vars(vocabulary).items() if type(v) is type(re) or n in {"date"}}
NAMES -= {"StrEnum", "timedelta"}
FUNCTIONS = {n for n in NAMES if callable(getattr(vocabulary, n)) and n[0].islower()}


def _word_sets() -> dict[str, frozenset[str]]:
    sets: dict[str, frozenset[str]] = {}
    for name, value in vars(vocabulary).items():
        if (
            isinstance(value, type)
            and issubclass(value, Enum)
            and value.__module__ == vocabulary.__name__
        ):
            sets[name] = frozenset(str(m.value) for m in value)
        elif (
            isinstance(value, tuple | frozenset)
            and value
            and all(isinstance(v, str) for v in value)
        ):
            sets[name] = frozenset(value)
    return sets


WORD_SETS = _word_sets()
WORDS = frozenset().union(*WORD_SETS.values())
WEEK_PATTERN = re.compile(r"-W.*(\\d\{2\}|\[0-9\]\{2\})")


def modules(layer: str) -> list[str]:
    out = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if "migrations" in parts:
            continue
        out.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


@pytest.mark.parametrize("layer", LAYERS)
def test_every_vocabulary_user_imports(layer: str) -> None:
    for name in modules(layer):
        if name.endswith("__main__"):
            continue
        importlib.import_module(name)


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Dict):
        items: list[ast.AST | None] = list(node.keys)
    elif isinstance(node, ast.Tuple | ast.List | ast.Set):
        items = list(node.elts)
    else:
        return []
    return [i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)]


def _collection_words(strings: list[str]) -> str | None:
    """The vocabulary set two or more of ``strings`` belong to, if any."""
    for name, words in WORD_SETS.items():
        if len(words & set(strings)) >= 2:
            return name
    return None


def _targets(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def _members(cls: ast.ClassDef) -> list[str]:
    """The string constants a class body assigns (an enum's values)."""
    return [
        n.value.value
        for n in cls.body
        if isinstance(n, ast.Assign)
        and isinstance(n.value, ast.Constant)
        and isinstance(n.value.value, str)
    ]


def definitions(path: Path) -> Iterator[str]:
    """Where ``path`` defines a vocabulary word again: ``line: what``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            if node.name in NAMES:
                yield f"{node.lineno}: defines {node.name}"
            if isinstance(node, ast.ClassDef) and (words := _collection_words(_members(node))):
                yield f"{node.lineno}: spells the words of {words} as members of {node.name}"
            continue
        for name in _targets(node):
            if name in NAMES:
                yield f"{node.lineno}: assigns {name}"
        value = getattr(node, "value", None)
        if isinstance(value, ast.Constant) and value.value in WORDS and _targets(node):
            yield f"{node.lineno}: spells {value.value!r} as {', '.join(_targets(node))}"
    # Collections tested against (``kind in ("boolean", "milestone")``) use words, not define them.
    compared = {id(c) for n in ast.walk(tree) if isinstance(n, ast.Compare) for c in n.comparators}
    for found in ast.walk(tree):
        words = _collection_words(_strings(found))  # Literal[...] holds a tuple too
        if words is not None and id(found) not in compared:
            yield f"{getattr(found, 'lineno', 0)}: spells the words of {words}"
        if isinstance(found, ast.Constant) and isinstance(found.value, str):
            if WEEK_PATTERN.search(found.value):
                yield f"{found.lineno}: an ISO-week pattern"
        if isinstance(found, ast.JoinedStr):
            parts = [v.value for v in found.values if isinstance(v, ast.Constant)]
            if any(isinstance(p, str) and p.startswith("-W") for p in parts):
                yield f"{found.lineno}: an ISO-week format"


def layer_definitions(layer: str) -> list[str]:
    found = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        if path == VOCABULARY or "migrations" in path.parts:
            continue
        found += [f"{path.relative_to(ROOT)}:{d}" for d in definitions(path)]
    return found


def test_the_vocabulary_defines_the_words() -> None:
    assert {"planning", "at_risk", "pending_approval", "company", "milestone"} <= WORDS
    assert {
        "MAX_MILESTONES",
        "MAX_PLAN_POINTS",
        "MAX_BULK_CHECK_INS",
        "PLANNING_DAYS",
        "WEEK",
    } <= NAMES
    assert {"week_of", "week_bounds", "default_deadlines"} <= FUNCTIONS
    # The scan sees the vocabulary's own definitions (only there are they allowed)...
    assert any("assigns MAX_MILESTONES" in d for d in definitions(VOCABULARY))


def test_the_scan_finds_a_copy(tmp_path: Path) -> None:
    """...but the same lines anywhere else are found."""
    copy = tmp_path / "copy.py"
    copy.write_text(
        "import re\n"
        "from enum import StrEnum\n"
        "from typing import Literal\n"
        "MAX_MILESTONES = 50\n"
        "PHASE_PLANNING = 'planning'\n"
        "class Risk(StrEnum):\n"
        "    AT_RISK = 'at_risk'\n"
        "    BEHIND = 'behind'\n"
        "class Reach(StrEnum):\n"
        "    DEPARTMENT = 'department'\n"  # one word, another concept: not a copy
        "def rule(kind: str) -> bool:\n"
        "    return kind in ('boolean', 'milestone')\n"  # a use of the words
        "LEVEL = {'company': 1, 'team': 3}\n"
        "Kind = Literal['unspecified', 'number', 'boolean']\n"
        "WEEKLY = re.compile(r'^(\\d{4})-W(\\d{2})$')\n"
        "def label(y: int, n: int) -> str:\n"
        "    return f'{y}-W{n:02d}'\n"
        "def week_of(day: object) -> str:\n"
        "    return ''\n",
        encoding="utf-8",
    )
    assert set(definitions(copy)) == {
        "4: assigns MAX_MILESTONES",
        "5: spells 'planning' as PHASE_PLANNING",
        "6: defines Risk",
        "6: spells the words of Risk as members of Risk",
        "13: spells the words of Level",
        "14: assigns Kind",
        "14: spells the words of Kind",
        "15: an ISO-week pattern",
        "17: an ISO-week format",
        "18: defines week_of",
    }


@pytest.mark.parametrize("layer", [layer for layer in LAYERS if layer != "gateway"])
def test_words_are_defined_only_in_the_vocabulary(layer: str) -> None:
    assert layer_definitions(layer) == []


def test_the_gateway_defines_no_words_of_its_own() -> None:
    assert layer_definitions("gateway") == []
