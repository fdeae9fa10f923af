"""Protobuf messages → JSON-ready dicts (proto field names, enums as short lower-case names)."""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, overload

from google.protobuf.descriptor import EnumDescriptor
from google.protobuf.message import Message

if TYPE_CHECKING:
    from google.protobuf.internal.enum_type_wrapper import _EnumTypeWrapper

V = TypeVar("V", bound=int)

UNSPECIFIED = "unspecified"


@cache
def _enum_prefix(enum: EnumDescriptor) -> str:
    # CycleStatus → "CYCLE_STATUS_" (the buf/Google style prefix of every value).
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"


def enum_label(enum: EnumDescriptor, number: int) -> str:
    """``CYCLE_STATUS_OPEN`` → ``"open"``; unknown numbers render as ``"unspecified"``."""
    value = enum.values_by_number.get(number)
    if value is None:
        return UNSPECIFIED
    return value.name.removeprefix(_enum_prefix(enum)).lower()


@overload
def enum_number(enum: _EnumTypeWrapper[V], label: str) -> V: ...
@overload
def enum_number(enum: EnumDescriptor, label: str) -> int: ...
def enum_number(enum: _EnumTypeWrapper[Any] | EnumDescriptor, label: str) -> int:
    """Inverse of :func:`enum_label`; raises KeyError for an unknown label.

    Given the enum itself (``pb.RiskStatus``) the result has the enum's value type, so it
    type-checks as a request field; given its descriptor, a plain ``int``.
    """
    descriptor = enum if isinstance(enum, EnumDescriptor) else enum.DESCRIPTOR
    return descriptor.values_by_name[_enum_prefix(descriptor) + label.upper()].number


def _scalar(field: Any, value: Any) -> Any:
    if field.enum_type is not None:
        return enum_label(field.enum_type, value)
    return value


# How to_dict renders each field of a message type, worked out once per type (reading the
# descriptors again for every message was most of the cost of a large answer).
_MAP, _MESSAGE, _MESSAGES, _ENUMS, _SCALARS, _OPTIONAL, _ENUM, _SCALAR = range(8)


@cache
def _plan(descriptor: Any) -> tuple[tuple[str, int, Any], ...]:
    plan: list[tuple[str, int, Any]] = []
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            plan.append((field.name, _MAP, None))
        elif field.message_type is not None:
            plan.append((field.name, _MESSAGES if field.is_repeated else _MESSAGE, None))
        elif field.is_repeated:
            plan.append((field.name, _ENUMS if field.enum_type else _SCALARS, field.enum_type))
        elif field.has_presence:
            plan.append((field.name, _OPTIONAL, field))
        else:
            plan.append((field.name, _ENUM if field.enum_type else _SCALAR, field.enum_type))
    return tuple(plan)


def to_dict(message: Message) -> dict[str, Any]:
    """Every field of ``message`` (defaults included); unset sub-messages and unset
    ``optional`` scalars are ``None``; maps are dicts."""
    out: dict[str, Any] = {}
    for name, kind, extra in _plan(message.DESCRIPTOR):
        value = getattr(message, name)
        if kind == _SCALAR:
            out[name] = value
        elif kind == _ENUM:
            out[name] = enum_label(extra, value)
        elif kind == _MESSAGES:
            out[name] = [to_dict(v) for v in value]
        elif kind == _MESSAGE:
            out[name] = to_dict(value) if message.HasField(name) else None
        elif kind == _SCALARS:
            out[name] = list(value)
        elif kind == _ENUMS:
            out[name] = [enum_label(extra, v) for v in value]
        elif kind == _OPTIONAL:
            out[name] = _scalar(extra, value) if message.HasField(name) else None
        else:  # _MAP
            out[name] = dict(value)
    return out
