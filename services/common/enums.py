"""Stored names ↔ protobuf enum values, by the naming rule every Stride enum follows.

A value is spelled ``<ENUM NAME IN UPPER SNAKE CASE>_<NAME>``: ``CyclePhase`` "planning" is
``CYCLE_PHASE_PLANNING``. Maps built here from :mod:`workflows.vocabulary` fail at import
when a word has no protobuf value, so the vocabulary and the protos cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar

from google.protobuf.descriptor import EnumDescriptor

if TYPE_CHECKING:
    from google.protobuf.internal.enum_type_wrapper import _EnumTypeWrapper

V = TypeVar("V", bound=int)


def enum_prefix(enum: EnumDescriptor) -> str:
    """``CycleStatus`` → ``"CYCLE_STATUS_"`` (the buf style prefix of every value)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"


def enum_values(names: Iterable[str], enum: _EnumTypeWrapper[V]) -> dict[str, V]:
    """``{name: number}``, e.g. ``{"planning": CYCLE_PHASE_PLANNING, ...}`` (the keys are the
    given names: a StrEnum's members stay members). Raises ValueError for a name the enum lacks.
    """
    prefix = enum_prefix(enum.DESCRIPTOR)
    return {name: enum.Value(prefix + name.upper()) for name in names}
