"""The gateway's field types take their words from the one vocabulary, and every word maps
to a value of the protobuf enum the gateway translates it into."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from google.protobuf.descriptor import EnumDescriptor

from gateway.convert import UNSPECIFIED, enum_number
from gateway.policy import GRANTED_ROLES
from gateway.schemas import words
from gateway.schemas.approval_decisions import Decision
from services.identity.sync.connectors import SOURCES
from stride.goals.v1 import goals_pb2 as pb
from workflows import vocabulary as v
from workflows.plan_approval import DECISIONS

U = (UNSPECIFIED,)

CASES: list[tuple[Any, tuple[str, ...], EnumDescriptor | None]] = [
    (words.CyclePhase, U + v.PHASES, pb.CyclePhase.DESCRIPTOR),
    (words.Level, v.LEVELS, pb.ObjectiveLevel.DESCRIPTOR),
    (words.LevelOut, U + v.LEVELS, pb.ObjectiveLevel.DESCRIPTOR),
    (words.ObjectiveStatusName, tuple(v.ObjectiveStatus), pb.ObjectiveStatus.DESCRIPTOR),
    (words.ObjectiveStatusOut, U + tuple(v.ObjectiveStatus), pb.ObjectiveStatus.DESCRIPTOR),
    (words.VisibilityName, v.VISIBILITIES, pb.Visibility.DESCRIPTOR),
    (words.VisibilityOut, U + v.VISIBILITIES, pb.Visibility.DESCRIPTOR),
    (words.KeyResultKind, v.KINDS, pb.KeyResultKind.DESCRIPTOR),
    (words.KeyResultKindOut, U + v.KINDS, pb.KeyResultKind.DESCRIPTOR),
    (words.Direction, v.DIRECTIONS, pb.Direction.DESCRIPTOR),
    (words.DirectionOut, U + v.DIRECTIONS, pb.Direction.DESCRIPTOR),
    (words.DataSource, v.DATA_SOURCES, pb.DataSource.DESCRIPTOR),
    (words.DataSourceOut, U + v.DATA_SOURCES, pb.DataSource.DESCRIPTOR),
    (words.ApprovalStatus, v.APPROVAL_STATUSES, pb.ApprovalStatus.DESCRIPTOR),
    (words.ApprovalStatusOut, U + v.APPROVAL_STATUSES, pb.RevisionStatus.DESCRIPTOR),
    (words.RiskStatus, U + tuple(v.Risk), pb.RiskStatus.DESCRIPTOR),
    (words.OrgSyncSource, SOURCES, None),
    (Decision, tuple(DECISIONS), None),
]


@pytest.mark.parametrize(("field_type", "expected", "enum"), CASES)
def test_words_are_the_vocabulary_and_map_to_the_protobuf_enum(
    field_type: Any, expected: tuple[str, ...], enum: EnumDescriptor | None
) -> None:
    assert get_args(field_type) == expected
    if enum is not None:
        assert [enum_number(enum, word) for word in expected]  # KeyError: a word the API lacks
        assert len(expected) == len(enum.values) or UNSPECIFIED not in expected


def test_risk_statuses_cover_the_vocabulary() -> None:
    assert set(get_args(words.RiskStatus)) == v.RISK_STATUSES | {UNSPECIFIED}


def test_granted_roles_are_the_policy_roles() -> None:
    assert set(get_args(words.GrantedRole)) == GRANTED_ROLES
    assert len(get_args(words.GrantedRole)) == len(GRANTED_ROLES)


def test_words_only_the_api_knows_come_from_the_protobuf_enums() -> None:
    assert get_args(words.CycleStatusOut) == ("unspecified", "open", "closed")
    assert get_args(words.EmployeeStatus) == ("active", "left")
    assert get_args(words.ApprovalKindOut) == ("unspecified", "plan", "revision")
