"""Month-end department briefs (``/reports/monthly``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class MonthlyBriefSummary(BaseModel):
    month: str = Field(description="yyyy-mm")
    department_id: str
    department_name: str
    languages: list[str] = Field(description="Languages rendered (zh-CN, en)")
    completion: float = Field(description="Share of key results scored 1.0, 0..1")
    mean_score: float
    at_risk: int
    red: int
    trend: str = Field(description="up, down, flat, or new (no figures for last month)")
    pdf: str = Field(description="Path of the PDF (?language=zh-CN or en)")
    html: str = Field(description="Path of the HTML page")
    updated_at: str


class MonthlyBriefList(BaseModel):
    month: str
    items: list[MonthlyBriefSummary]


class MonthlyBriefRun(BaseModel):
    workflow_id: str
    run_id: str
    month: str
