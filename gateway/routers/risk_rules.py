"""The risk rules HR sets: a check-in behind plan by a threshold, at risk after N weeks."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from gateway.convert import to_dict
from gateway.deps import Paging, RpcDep
from gateway.routers.common import page
from gateway.routes import ResourceRouter, StrideRoute
from gateway.schemas.common import Page
from gateway.schemas.risk_rules import RiskRules, RiskRulesUpdate
from gateway.security import Allow
from stride.goals.v1 import goals_pb2 as pb

router = ResourceRouter(prefix="/risk-rules", tags=["risk rules"], route_class=StrideRoute)

Version = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get(
    "",
    response_model=RiskRules,
    name="get_risk_rules",
    dependencies=[Allow("risk_rules.read")],
    description="The risk rules in force: what makes a check-in behind plan and a key result "
    "at risk, per department where HR set an override.",
)
async def get_risk_rules(rpc: RpcDep) -> dict[str, Any]:
    return to_dict(await rpc(rpc.goals.GetRiskRules, pb.GetRiskRulesRequest()))


@router.put(
    "",
    response_model=RiskRules,
    name="set_risk_rules",
    dependencies=[Allow("risk_rules.update")],
    description="Puts a new version of the risk rules in force (HR, admin). Assessments "
    "already made keep the version they name; every check-in from now on uses the new one "
    "(other goals replicas within 5 s). Try a rule on a past cycle first with "
    "`stride risk backtest`.",
)
async def set_risk_rules(body: RiskRulesUpdate, rpc: RpcDep) -> dict[str, Any]:
    request = pb.SetRiskRulesRequest(
        rule=pb.RiskRule(threshold=body.rule.threshold, weeks=body.rule.weeks),
        overrides=[
            pb.RiskRuleOverride(
                department_id=o.department_id,
                rule=pb.RiskRule(threshold=o.rule.threshold, weeks=o.rule.weeks),
            )
            for o in body.overrides
        ],
        note=body.note,
    )
    return to_dict(await rpc(rpc.goals.SetRiskRules, request))


@router.get(
    "/versions",
    response_model=Page[RiskRules],
    name="list_risk_rules",
    dependencies=[Allow("risk_rules.read")],
    description="Every version of the risk rules, newest first.",
)
async def list_risk_rules(rpc: RpcDep, paging: Paging) -> dict[str, Any]:
    msg = await rpc(rpc.goals.ListRiskRules, pb.ListRiskRulesRequest(page=paging.proto()))
    return page(msg, "rule_sets")


@router.get(
    "/versions/{version}",
    response_model=RiskRules,
    name="get_risk_rules_version",
    dependencies=[Allow("risk_rules.read")],
    description="One version of the risk rules (each assessment names the one it used).",
)
async def get_risk_rules_version(version: Version, rpc: RpcDep) -> dict[str, Any]:
    return to_dict(await rpc(rpc.goals.GetRiskRules, pb.GetRiskRulesRequest(version=version)))
