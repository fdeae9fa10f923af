"""Stored names ↔ protobuf enum values, by the naming rule every Stride enum follows.

A value is spelled ``<ENUM NAME IN UPPER SNAKE CASE>_<NAME>``: ``CyclePhase`` "planning" is
``CYCLE_PHASE_PLANNING``. Maps built here from :mod:`workflows.vocabulary` fail at import
when a word has no protobuf value, so the vocabulary and the protos cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypeVar

from google.protobuf.descriptor import EnumDescriptor

Name = TypeVar("Name", bound=str)


def enum_prefix(enum: EnumDescriptor) -> str:
    """``CycleStatus`` → ``"CYCLE_STATUS_"`` (the buf style prefix of every value)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"


def enum_values(names: Iterable[Name], enum: EnumDescriptor) -> dict[Name, int]:
    """``{name: number}``, e.g. ``{"planning": CYCLE_PHASE_PLANNING, ...}``.

    Raises KeyError for a name the enum lacks.
    """
    prefix = enum_prefix(enum)
    return {name: enum.values_by_name[prefix + name.upper()].number for name in names}
