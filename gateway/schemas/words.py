"""The words a client may send or receive, as pydantic field types built from their one
definition: workflows/vocabulary.py (phases, statuses, levels, kinds, risk...), the policy's
role names, the org-sync sources, and for words only the API knows (a cycle's or employee's
status, an approval's kind) the protobuf enum itself.

Each type is a ``Literal`` (an ``enum`` in the OpenAPI document) computed from those tuples,
so adding a word there adds it here. mypy cannot compute a Literal, so to the type checker
they are plain ``str``. Response types end in ``Out`` and also admit ``"unspecified"``, the
label of a protobuf enum's zero value (see gateway/convert.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from google.protobuf.descriptor import EnumDescriptor

from gateway.convert import UNSPECIFIED, enum_label
from gateway.policy import ADMIN, EXECUTIVE, HR
from services.identity.sync.connectors import SOURCES
from stride.goals.v1 import goals_pb2
from stride.identity.v1 import identity_pb2
from workflows import vocabulary as v


def one_of(*words: str) -> Any:
    """``Literal[words]``: a field that accepts exactly these words."""
    return Literal.__getitem__(words)  # type: ignore[attr-defined]


def proto_words(enum: EnumDescriptor) -> tuple[str, ...]:
    """The labels of a protobuf enum's values, ``"unspecified"`` first."""
    return tuple(enum_label(enum, value.number) for value in enum.values)


_RISKS = tuple(r.value for r in v.Risk)
_OBJECTIVE_STATUSES = tuple(s.value for s in v.ObjectiveStatus)

if TYPE_CHECKING:
    CyclePhase: TypeAlias = str
    Level: TypeAlias = str
    LevelOut: TypeAlias = str
    ObjectiveStatusName: TypeAlias = str
    ObjectiveStatusOut: TypeAlias = str
    VisibilityName: TypeAlias = str
    VisibilityOut: TypeAlias = str
    KeyResultKind: TypeAlias = str
    KeyResultKindOut: TypeAlias = str
    Direction: TypeAlias = str
    DirectionOut: TypeAlias = str
    DataSource: TypeAlias = str
    DataSourceOut: TypeAlias = str
    ApprovalStatus: TypeAlias = str
    ApprovalStatusOut: TypeAlias = str
    ApprovalKindOut: TypeAlias = str
    RiskStatus: TypeAlias = str
    CycleStatusOut: TypeAlias = str
    EmployeeStatusOut: TypeAlias = str
    EmployeeStatus: TypeAlias = str
    GrantedRole: TypeAlias = str
    OrgSyncSource: TypeAlias = str
    Locale: TypeAlias = str
    Language: TypeAlias = str
else:
    # A person's preferred language; "" for both (Chinese first).
    Locale = one_of("", *v.LANGUAGES)
    # A language to write in (an IM robot's).
    Language = one_of(*v.LANGUAGES)
    CyclePhase = one_of(UNSPECIFIED, *v.PHASES)
    Level = one_of(*v.LEVELS)
    LevelOut = one_of(UNSPECIFIED, *v.LEVELS)
    ObjectiveStatusName = one_of(*_OBJECTIVE_STATUSES)
    ObjectiveStatusOut = one_of(UNSPECIFIED, *_OBJECTIVE_STATUSES)
    VisibilityName = one_of(*v.VISIBILITIES)
    VisibilityOut = one_of(UNSPECIFIED, *v.VISIBILITIES)
    KeyResultKind = one_of(*v.KINDS)
    KeyResultKindOut = one_of(UNSPECIFIED, *v.KINDS)
    Direction = one_of(*v.DIRECTIONS)
    DirectionOut = one_of(UNSPECIFIED, *v.DIRECTIONS)
    DataSource = one_of(*v.DATA_SOURCES)
    DataSourceOut = one_of(UNSPECIFIED, *v.DATA_SOURCES)
    # Approvals and target revisions share their statuses.
    ApprovalStatus = one_of(*v.APPROVAL_STATUSES)
    ApprovalStatusOut = one_of(UNSPECIFIED, *v.APPROVAL_STATUSES)
    ApprovalKindOut = one_of(*proto_words(goals_pb2.ApprovalKind.DESCRIPTOR))
    # A filter as well as a response field: "unspecified" is a key result never evaluated.
    RiskStatus = one_of(UNSPECIFIED, *_RISKS)
    CycleStatusOut = one_of(*proto_words(goals_pb2.CycleStatus.DESCRIPTOR))
    EmployeeStatusOut = one_of(*proto_words(identity_pb2.EmployeeStatus.DESCRIPTOR))
    EmployeeStatus = one_of(*proto_words(identity_pb2.EmployeeStatus.DESCRIPTOR)[1:])
    GrantedRole = one_of(HR, ADMIN, EXECUTIVE)
    OrgSyncSource = one_of(*SOURCES)
