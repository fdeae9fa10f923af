"""Protobuf messages → JSON-ready dicts (proto field names, enums as short lower-case names)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from functools import cache
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar, get_args, get_origin, overload

import pydantic_core
from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from pydantic import BaseModel

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


# --- a message read straight into a response model's fields ---------------------------------
# A large answer validated value by value costs more than building it (a 554-department
# dashboard: ~5 ms of pydantic per call). model_dict checks the answer's shape once per
# (message type, response model) instead: every model field is a field of the message of the
# same type, or is given by the caller; so its dict is what validating to_dict's dict against
# the model gives, key for key (in the model's order) and value for value.
_PYTHON_TYPES: dict[int, type] = {
    FieldDescriptor.CPPTYPE_DOUBLE: float,
    FieldDescriptor.CPPTYPE_FLOAT: float,
    FieldDescriptor.CPPTYPE_INT32: int,
    FieldDescriptor.CPPTYPE_INT64: int,
    FieldDescriptor.CPPTYPE_UINT32: int,
    FieldDescriptor.CPPTYPE_UINT64: int,
    FieldDescriptor.CPPTYPE_BOOL: bool,
    FieldDescriptor.CPPTYPE_STRING: str,
}
# (model field names, names read, their getter, conversions, names the caller gives)
_Plan = tuple[tuple[str, ...], tuple[str, ...], Any, tuple[tuple[str, Any], ...], frozenset[str]]


def _as_list(value: Any) -> list[Any]:
    return list(value)


def _models(model: type[BaseModel]) -> Callable[[Any], list[dict[str, Any]]]:
    return lambda values: [model_dict(v, model) for v in values]


def _model(model: type[BaseModel]) -> Callable[[Any], dict[str, Any]]:
    return lambda value: model_dict(value, model)


@cache
def _model_plan(descriptor: Any, model: type[BaseModel]) -> _Plan:
    """How to read ``model`` from a message of ``descriptor``; TypeError when a field does
    not fit."""
    decorators = model.__pydantic_decorators__
    own_ways = [getattr(decorators, f.name) for f in dataclasses.fields(decorators)]
    if any(own_ways) or model.model_config.get("ser_json_inf_nan"):
        raise TypeError(f"{model.__name__} validates or serializes in its own way")
    read: list[str] = []
    conversions: list[tuple[str, Any]] = []
    given: list[str] = []
    for name, info in model.model_fields.items():
        if info.metadata or info.alias or info.serialization_alias:
            raise TypeError(f"{model.__name__}.{name} has constraints or an alias")
        field = descriptor.fields_by_name.get(name)
        if field is None:
            given.append(name)
            continue
        read.append(name)
        annotation = info.annotation
        repeated = get_origin(annotation) is list
        if repeated:
            (annotation,) = get_args(annotation)
        nested = annotation if isinstance(annotation, type) else None
        if field.is_repeated != repeated or (field.has_presence and field.message_type is None):
            nested = None  # a list for a single value, or an optional scalar: not planned
        elif field.message_type is not None and nested and issubclass(nested, BaseModel):
            conversions.append((name, (_models if repeated else _model)(nested)))
            continue
        elif field.enum_type is None and _PYTHON_TYPES.get(field.cpp_type) is nested:
            if repeated:
                conversions.append((name, _as_list))
            continue
        raise TypeError(f"{model.__name__}.{name} is not read from {descriptor.full_name}")
    get = attrgetter(*read) if len(read) > 1 else lambda m: tuple(getattr(m, n) for n in read)
    return tuple(model.model_fields), tuple(read), get, tuple(conversions), frozenset(given)


def model_dict(message: Message, model: type[BaseModel], /, **given: Any) -> dict[str, Any]:
    """The fields of ``model`` read from ``message`` (those ``given`` taken as given, and
    trusted as already of the model's shape), in the model's order: ready to serialize as
    the model would be, without validating each value again. A sub-message field of the
    model reads as its defaults when unset. Only plain scalars, lists of them and
    sub-messages for sub-models are planned (TypeError otherwise)."""
    names, read, get, conversions, needed = _model_plan(message.DESCRIPTOR, model)
    if not needed <= given.keys():
        raise TypeError(f"{model.__name__} also needs {sorted(needed - given.keys())}")
    out: dict[str, Any] = dict.fromkeys(names)
    out.update(zip(read, get(message), strict=True))
    for name, convert in conversions:
        if name not in given:
            out[name] = convert(out[name])
    out.update(given)
    return out


def model_json(body: dict[str, Any]) -> bytes:
    """A :func:`model_dict` as JSON, byte for byte as FastAPI serializes the validated model
    (pydantic's serializer; NaN and infinities as null, as pydantic's default)."""
    return pydantic_core.to_json(body, inf_nan_mode="null")
