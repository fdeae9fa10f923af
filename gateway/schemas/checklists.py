"""A department's check-in checklist: the bodies of /departments/{id}/checklist."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from gateway.schemas.common import HumanText, RequestModel, ResponseModel, unique
from workflows.vocabulary import CHECKLIST_ITEM_ID_PATTERN, MAX_CHECKLIST_ITEMS, MAX_LABEL

ItemId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=CHECKLIST_ITEM_ID_PATTERN)]


Label = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_LABEL), HumanText()
]


class ChecklistItem(RequestModel):
    id: ItemId = Field(description='stable id, e.g. "inspection-records"')
    label_zh: Label
    label_en: Label


class ChecklistUpdate(RequestModel):
    items: Annotated[list[ChecklistItem], Field(max_length=MAX_CHECKLIST_ITEMS)] = Field(
        description="replaces the whole checklist (empty: no checklist)"
    )

    @field_validator("items")
    @classmethod
    def _distinct(cls, items: list[ChecklistItem]) -> list[ChecklistItem]:
        unique([i.id for i in items], "item id")
        return items


class ChecklistItemOut(ResponseModel):
    id: str
    label_zh: str
    label_en: str


class Checklist(ResponseModel):
    department_id: str
    items: list[ChecklistItemOut]
    updated_at: str
