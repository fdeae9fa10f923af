"""Stride's custom search attributes: part of the ops interface.

They are Keyword attributes (Temporal UI / ``temporal workflow list --query``) that must be
registered on the namespace, e.g. ``temporal server start-dev --search-attribute
StrideCycle=Keyword ...`` (``stride temporal setup`` does it). Their values never carry
personal data (ids of cycles and departments, phase and level names only).
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

STRIDE_CYCLE = SearchAttributeKey.for_keyword("StrideCycle")
STRIDE_DEPARTMENT = SearchAttributeKey.for_keyword("StrideDepartment")
STRIDE_PHASE = SearchAttributeKey.for_keyword("StridePhase")
STRIDE_RISK_LEVEL = SearchAttributeKey.for_keyword("StrideRiskLevel")

# Every custom search attribute Stride's workflows use (register all of them on a namespace).
SEARCH_ATTRIBUTES: tuple[SearchAttributeKey[str], ...] = (
    STRIDE_CYCLE,
    STRIDE_DEPARTMENT,
    STRIDE_PHASE,
    STRIDE_RISK_LEVEL,
)
