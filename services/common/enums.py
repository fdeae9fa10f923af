"""Stored names ↔ protobuf enum values, by the naming rule every Stride enum follows.

A value is spelled ``<ENUM NAME IN UPPER SNAKE CASE>_<NAME>``: ``CyclePhase`` "planning" is
``CYCLE_PHASE_PLANNING``. Maps built here from :mod:`workflows.vocabulary` fail at import
when a word has no protobuf value, so the vocabulary and the protos cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from google.protobuf.descriptor import EnumDescriptor


def enum_prefix(enum: EnumDescriptor) -> str:
    """``CycleStatus`` → ``"CYCLE_STATUS_"`` (the buf style prefix of every value)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"


def enum_values(names: Iterable[str], enum: EnumDescriptor) -> dict[str, int]:
    """``{name: number}``, e.g. ``{"planning": CYCLE_PHASE_PLANNING, ...}`` (the keys are the
    given names: a StrEnum's members stay members). Raises KeyError for a name the enum lacks.
    """
    prefix = enum_prefix(enum)
    return {name: enum.values_by_name[prefix + name.upper()].number for name in names}
