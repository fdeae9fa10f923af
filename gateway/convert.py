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


def to_dict(message: Message) -> dict[str, Any]:
    """Every field of ``message`` (defaults included); unset sub-messages and unset
    ``optional`` scalars are ``None``; maps are dicts."""
    out: dict[str, Any] = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            out[field.name] = dict(value)
        elif field.message_type is not None:
            if field.is_repeated:
                out[field.name] = [to_dict(v) for v in value]
            else:
                out[field.name] = to_dict(value) if message.HasField(field.name) else None
        elif field.is_repeated:
            out[field.name] = [_scalar(field, v) for v in value]
        elif field.has_presence and not message.HasField(field.name):
            out[field.name] = None
        else:
            out[field.name] = _scalar(field, value)
    return out
