"""Notification texts in zh-CN and en (pure: template + parameters → texts).

Parameters come from workflows (ids, counts, dates, a decision's comment); a missing one
renders as empty text rather than failing a notification.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from workflows import notifications as n


@dataclass(frozen=True)
class Texts:
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    link: str = ""


@dataclass(frozen=True)
class _Template:
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    link: str = ""


_KIND_ZH = {"plan": "目标计划", "revision": "目标调整"}
_KIND_EN = {"plan": "goal plan", "revision": "target revision"}
_DECISION_ZH = {"approve": "已批准", "reject": "已驳回"}
_DECISION_EN = {"approve": "approved", "reject": "rejected"}
_WHOSE_ZH = {"owner": "您的", "manager": "您下属的", "skip_level": "您所辖团队的"}
_WHOSE_EN = {"owner": "Your", "manager": "Your report's", "skip_level": "Your organisation's"}
_WHY_ZH = {"blocker": "一项进展更新提出需要其他部门协助的阻碍", "lagging": "已连续三周落后于计划"}
_WHY_EN = {
    "blocker": "a check-in names a blocker that needs another department",
    "lagging": "it has been behind plan for a third week",
}

TEMPLATES: dict[str, _Template] = {
    n.APPROVAL_REQUESTED: _Template(
        "待审批:{kind_zh}",
        "Approval needed: {kind_en}",
        "有一份{kind_zh}提交给您审批(周期 {cycle_id})。请在 Stride 中批准或驳回。",
        "A {kind_en} was submitted for your approval (cycle {cycle_id}). "
        "Please approve or reject it in Stride.",
        "/approvals/{approval_id}",
    ),
    n.APPROVAL_REMINDER: _Template(
        "提醒:{kind_zh}已等待审批 2 个工作日",
        "Reminder: a {kind_en} has waited 2 working days for approval",
        "一份{kind_zh}仍在等待您的审批(周期 {cycle_id})。",
        "A {kind_en} is still waiting for your approval (cycle {cycle_id}).",
        "/approvals/{approval_id}",
    ),
    n.APPROVAL_ESCALATED: _Template(
        "升级审批:{kind_zh}已等待 5 个工作日",
        "Escalated: a {kind_en} has waited 5 working days",
        "您下属团队的一份{kind_zh}已等待 5 个工作日未审批,现已升级给您(周期 {cycle_id})。"
        "您可以直接审批。",
        "A {kind_en} in your organisation has waited 5 working days and is escalated to you "
        "(cycle {cycle_id}). You may decide it now.",
        "/approvals/{approval_id}",
    ),
    n.APPROVAL_DECIDED: _Template(
        "您的{kind_zh}{decision_zh}",
        "Your {kind_en} was {decision_en}",
        "您的{kind_zh}{decision_zh}。意见:{comment}",
        "Your {kind_en} was {decision_en}. Comment: {comment}",
        "/approvals/{approval_id}",
    ),
    n.CYCLE_PLANNING_REMINDER: _Template(
        "请提交本周期的目标",
        "Please submit your goals for the cycle",
        "您尚未提交本周期(周期 {cycle_id})的目标,请尽快填写并提交审批。",
        "You have not submitted your goals for this cycle ({cycle_id}) yet. "
        "Please write them and submit them for approval.",
        "/objectives",
    ),
    n.CYCLE_CHECKIN_REMINDER: _Template(
        "每周进展更新提醒({week})",
        "Weekly check-in reminder ({week})",
        "您有 {pending} 个关键结果本周({week})尚未更新进展。",
        "{pending} of your key results have no check-in this week ({week}) yet.",
        "/check-ins",
    ),
    n.CYCLE_MANAGER_DIGEST: _Template(
        "团队周报({week})",
        "Your team this week ({week})",
        "您的 {reports} 位下属中,{checked_in} 位已完成本周更新,{missing} 位未更新;"
        "{at_risk} 个关键结果有风险。",
        "Of your {reports} reports, {checked_in} have checked in this week and {missing} "
        "have not; {at_risk} key results are at risk.",
        "/team",
    ),
    n.CYCLE_MIDPOINT: _Template(
        "周期中期回顾",
        "Mid-cycle review",
        "本周期(周期 {cycle_id})已过半。请回顾您的目标进展,必要时申请调整目标。",
        "The cycle ({cycle_id}) is half way through. Review your progress and ask for a "
        "revision where a target no longer makes sense.",
        "/objectives",
    ),
    n.CYCLE_SELF_SCORE: _Template(
        "请为本周期的关键结果自评",
        "Please self-score your key results",
        "本周期(周期 {cycle_id})已结束,请在自评截止前为您的关键结果打分。",
        "The cycle ({cycle_id}) has ended. Please self-score your key results before the "
        "closing deadline.",
        "/objectives",
    ),
    n.CYCLE_CLOSED: _Template(
        "本周期已完成评分",
        "The cycle has been scored",
        "本周期(周期 {cycle_id})的最终得分已生成并归档。",
        "Final scores of the cycle ({cycle_id}) are in and archived.",
        "/scores",
    ),
    n.KR_WARNING: _Template(
        "预警:关键结果连续 {weeks} 周落后于计划",
        "Warning: a key result has been behind plan for {weeks} weeks",
        "{whose_zh}关键结果 {key_result_id} 已连续 {weeks} 周落后于计划(周期 {cycle_id},"
        "{week}):计划 {expected} {unit},实际 {actual} {unit},差距 {shortfall_pct}%。",
        "{whose_en} key result {key_result_id} has been behind plan for {weeks} weeks "
        "running (cycle {cycle_id}, {week}): plan {expected} {unit}, actual {actual} {unit}, "
        "{shortfall_pct} % short.",
        "/key-results/{key_result_id}",
    ),
    n.KR_RECOVERED: _Template(
        "已恢复:关键结果回到计划轨道",
        "Back on track: a key result",
        "{whose_zh}关键结果 {key_result_id} 已回到计划轨道(周期 {cycle_id},{week}):"
        "计划 {expected} {unit},实际 {actual} {unit}。此前的预警已解除。",
        "{whose_en} key result {key_result_id} is back on track (cycle {cycle_id}, {week}): "
        "plan {expected} {unit}, actual {actual} {unit}. The earlier warning is closed.",
        "/key-results/{key_result_id}",
    ),
    n.KR_SKIP_LEVEL: _Template(
        "越级通报:关键结果 {key_result_id} 已标红 {days} 个工作日",
        "Skip-level notice: key result {key_result_id} has been red for {days} working days",
        "您所辖团队的关键结果 {key_result_id}(负责人 {owner_id},周期 {cycle_id})自 {since} 起"
        "已标红 {days} 个工作日,期间没有新的进展更新。最近一次更新({week}):计划 {expected} "
        "{unit},实际 {actual} {unit},差距 {shortfall_pct}%。请与负责人及其经理跟进。",
        "Key result {key_result_id} in your organisation (owner {owner_id}, cycle {cycle_id}) "
        "has been red for {days} working days since {since} with no new check-in. Latest "
        "check-in ({week}): plan {expected} {unit}, actual {actual} {unit}, {shortfall_pct} % "
        "short. Please follow up with the owner and their manager.",
        "/key-results/{key_result_id}",
    ),
    n.KR_HR: _Template(
        "HR 通报:关键结果 {key_result_id} 长期标红",
        "HR notice: key result {key_result_id} has stayed red",
        "关键结果 {key_result_id}(负责人 {owner_id},周期 {cycle_id})自 {since} 起又标红 "
        "{days} 个工作日,没有新的进展更新,越级经理已获通报。最近一次更新({week}):计划 "
        "{expected} {unit},实际 {actual} {unit},差距 {shortfall_pct}%。该负责人在以往周期中有 "
        "{behind_before} 个可比的关键结果曾有风险。推荐培训:{courses_zh}。",
        "Key result {key_result_id} (owner {owner_id}, cycle {cycle_id}) has been red for a "
        "further {days} working days since {since} with no new check-in; the skip-level "
        "manager was told. Latest check-in ({week}): plan {expected} {unit}, actual {actual} "
        "{unit}, {shortfall_pct} % short. The owner was at risk on {behind_before} comparable "
        "key results in earlier cycles. Recommended training: {courses_en}.",
        "/key-results/{key_result_id}",
    ),
    n.BLOCKER_RAISED: _Template(
        "阻碍:有关键结果需要贵部门协助",
        "Blocker: a key result needs your department",
        "关键结果 {key_result_id} 的进展更新({week},周期 {cycle_id})提出了需要贵部门协助"
        "的阻碍。请在 Stride 中查看部门的待处理阻碍,解决后标记为已解决。",
        "A check-in of key result {key_result_id} ({week}, cycle {cycle_id}) names a blocker "
        "your department is needed for. See your department's open blockers in Stride and mark "
        "it resolved once it is.",
        "/departments/{department_id}/blockers",
    ),
    n.COORDINATION_INVITED: _Template(
        "协调会邀请:关键结果 {key_result_id} 已标红",
        "Coordination meeting: key result {key_result_id} is red",
        "关键结果 {key_result_id} 已标红({why_zh},周期 {cycle_id},{week})。"
        "邀请您参加跨部门协调会:{meeting}({time_zone}),{minutes} 分钟。"
        "会后请在 Stride 中记录结论和跟进日期。日历邀请见附件。",
        "Key result {key_result_id} is red ({why_en}; cycle {cycle_id}, {week}). You are "
        "invited to a coordination meeting on {meeting} ({time_zone}), {minutes} minutes. "
        "Afterwards record the outcome and a follow-up date in Stride. The calendar invitation "
        "is attached.",
        "/key-results/{key_result_id}",
    ),
    n.COORDINATION_REMINDER: _Template(
        "提醒:关键结果 {key_result_id} 的协调事项尚未解决",
        "Reminder: the coordination on key result {key_result_id} is not resolved",
        "跟进日期 {follow_up} 已过,关键结果 {key_result_id} 的协调事项仍未解决(周期 {cycle_id})。"
        "请跟进并在 Stride 中记录新的结论和跟进日期。",
        "The follow-up date {follow_up} has passed and the coordination on key result "
        "{key_result_id} is still open (cycle {cycle_id}). Please follow up and record a new "
        "outcome and follow-up date in Stride.",
        "/key-results/{key_result_id}",
    ),
    n.FEEDBACK_NOMINATE: _Template(
        "360 反馈:请提名评价人",
        "360 feedback: please nominate your raters",
        "您的 360 反馈轮次已开始(周期 {cycle_id})。请在 {nominations_due} 前提名同事和下属作为"
        "评价人(您本人和您的经理已自动列入),之后由您的经理确认名单。反馈截止日期 {deadline}。",
        "Your 360 feedback round has started (cycle {cycle_id}). Please nominate peers and "
        "reports as raters by {nominations_due} (you and your manager are on the list "
        "already); your manager then approves the list. Feedback closes on {deadline}.",
        "/feedback-rounds/{round_id}",
    ),
    n.FEEDBACK_NOMINATION_REMINDER: _Template(
        "提醒:360 反馈提名将于 {nominations_due} 截止",
        "Reminder: 360 feedback nominations close on {nominations_due}",
        "您的 360 反馈轮次(周期 {cycle_id})的评价人提名将于 {nominations_due} 截止。",
        "Nominations for your 360 feedback round (cycle {cycle_id}) close on {nominations_due}.",
        "/feedback-rounds/{round_id}",
    ),
    n.FEEDBACK_APPROVAL_NEEDED: _Template(
        "待确认:360 反馈评价人名单",
        "Approval needed: a 360 feedback rater list",
        "员工 {subject_id} 的 360 反馈评价人提名已截止(周期 {cycle_id})。请确认评价人名单,"
        "确认后系统将发出邀请。反馈截止日期 {deadline}。",
        "Nominations for the 360 feedback round of {subject_id} have closed (cycle "
        "{cycle_id}). Please approve the rater list; the raters are invited once you have. "
        "Feedback closes on {deadline}.",
        "/feedback-rounds/{round_id}",
    ),
    n.FEEDBACK_APPROVAL_REMINDER: _Template(
        "提醒:360 反馈评价人名单仍待确认",
        "Reminder: a 360 feedback rater list is waiting for your approval",
        "员工 {subject_id} 的 360 反馈评价人名单仍在等待您的确认(周期 {cycle_id},"
        "反馈截止 {deadline})。",
        "The rater list of the 360 feedback round of {subject_id} is still waiting for your "
        "approval (cycle {cycle_id}; feedback closes on {deadline}).",
        "/feedback-rounds/{round_id}",
    ),
    n.FEEDBACK_INVITED: _Template(
        "邀请:请为 {subject_id} 提供 360 反馈",
        "Invitation: 360 feedback for {subject_id}",
        "您被邀请为员工 {subject_id} 提供 360 反馈(周期 {cycle_id}),请在 {deadline} 前填写。"
        "匿名问题的回答仅以汇总形式呈现,不会显示评价人。",
        "You are invited to give 360 feedback for {subject_id} (cycle {cycle_id}) by "
        "{deadline}. Answers to anonymous questions are only shown as aggregates, never with "
        "the rater.",
        "/feedback-rounds/{round_id}/answers",
    ),
    n.FEEDBACK_RATER_REMINDER: _Template(
        "提醒:360 反馈将于 {deadline} 截止",
        "Reminder: 360 feedback closes on {deadline}",
        "您尚未为员工 {subject_id} 提交 360 反馈(周期 {cycle_id}),截止日期 {deadline}。",
        "You have not yet given your 360 feedback for {subject_id} (cycle {cycle_id}); it "
        "closes on {deadline}.",
        "/feedback-rounds/{round_id}/answers",
    ),
    n.FEEDBACK_RESULTS_READY: _Template(
        "360 反馈结果已生成",
        "360 feedback results are ready",
        "员工 {subject_id} 的 360 反馈轮次(周期 {cycle_id})已于 {deadline} 截止,结果已生成。"
        "匿名回答仅在达到人数门槛时以汇总形式呈现。",
        "The 360 feedback round of {subject_id} (cycle {cycle_id}) closed on {deadline} and "
        "its results are ready. Anonymous answers are shown only as aggregates, once enough "
        "raters answered.",
        "/feedback-rounds/{round_id}/results",
    ),
    n.PROMOTION_INELIGIBLE: _Template(
        "晋升申请未通过资格审核",
        "A promotion application is not eligible",
        "员工 {candidate_id} 晋升至 {target_grade} 的申请(案例 {case_id})"
        "未通过资格审核:{reasons}。",
        "The application to promote {candidate_id} to {target_grade} (case {case_id}) does "
        "not meet the eligibility rules: {reasons}.",
        "/promotions/{case_id}",
    ),
    n.PROMOTION_ENDORSE_NEEDED: _Template(
        "待处理:晋升申请需要您的推荐意见",
        "Action needed: endorse a promotion application",
        "员工 {candidate_id} 申请晋升至 {target_grade}(案例 {case_id})。请推荐或不予推荐。",
        "{candidate_id} applies for promotion to {target_grade} (case {case_id}). Please "
        "endorse or decline the application.",
        "/promotions/{case_id}",
    ),
    n.PROMOTION_PANEL_NEEDED: _Template(
        "待处理:请为晋升评审指定评审小组",
        "Action needed: name a promotion panel",
        "员工 {candidate_id} 晋升至 {target_grade} 的申请(案例 {case_id})需要评审小组。",
        "The promotion of {candidate_id} to {target_grade} (case {case_id}) needs a panel.",
        "/promotions/{case_id}",
    ),
    n.PROMOTION_SCORE_NEEDED: _Template(
        "邀请:请为晋升评审打分",
        "Invitation: score a promotion case",
        "您是员工 {candidate_id} 晋升至 {target_grade}(案例 {case_id})的评审小组成员,"
        "请在 {panel_due} 前打分。",
        "You are on the panel of the promotion of {candidate_id} to {target_grade} (case "
        "{case_id}). Please score by {panel_due}.",
        "/promotions/{case_id}",
    ),
    n.PROMOTION_PANEL_OVERDUE: _Template(
        "提醒:晋升评审小组未达到法定人数",
        "Reminder: a promotion panel has not reached its quorum",
        "案例 {case_id} 的评审截止时间 {panel_due} 已过,打分人数仍未达到法定人数。"
        "请跟进或指定新的评审小组。",
        "The panel of case {case_id} was due by {panel_due} and has not reached its quorum. "
        "Please follow up or name a new panel.",
        "/promotions/{case_id}",
    ),
    n.PROMOTION_PUBLICITY_NOTICE: _Template(
        "晋升公示:{candidate_id} 晋升至 {target_grade}",
        "Promotion publicity period: {candidate_id} to {target_grade}",
        "员工 {candidate_id} 晋升至 {target_grade}(案例 {case_id})进入公示期,至 {publicity_end} "
        "结束。如有异议,请在公示期内提出。",
        "The promotion of {candidate_id} to {target_grade} (case {case_id}) is in its "
        "publicity period until {publicity_end}. Objections may be raised until then.",
        "/promotions/{case_id}",
    ),
    n.PROMOTION_OBJECTION: _Template(
        "晋升公示收到异议",
        "An objection to a promotion",
        "案例 {case_id} 在公示期内收到异议(第 {objection} 条),请调查处理。",
        "Case {case_id} received an objection (number {objection}) during its publicity "
        "period. Please investigate it.",
        "/promotions/{case_id}",
    ),
    n.PROMOTION_DECISION_NEEDED: _Template(
        "待处理:晋升评审待决定",
        "Action needed: decide a promotion",
        "案例 {case_id}(员工 {candidate_id} 晋升至 {target_grade})公示期已结束,请作出决定。",
        "The publicity period of case {case_id} ({candidate_id} to {target_grade}) has "
        "ended. Please decide.",
        "/promotions/{case_id}",
    ),
    n.PROMOTION_DECIDED: _Template(
        "晋升评审结果:{outcome}",
        "Promotion decided: {outcome}",
        "员工 {candidate_id} 晋升至 {target_grade}(案例 {case_id})的评审结果:{outcome}。{comment}",
        "The promotion of {candidate_id} to {target_grade} (case {case_id}) was decided: "
        "{outcome}. {comment}",
        "/promotions/{case_id}",
    ),
    n.PROMOTION_WITHDRAWN_NOTICE: _Template(
        "晋升申请已撤回",
        "A promotion application was withdrawn",
        "员工 {candidate_id} 晋升至 {target_grade} 的申请(案例 {case_id})已撤回。",
        "The application to promote {candidate_id} to {target_grade} (case {case_id}) was "
        "withdrawn.",
        "/promotions/{case_id}",
    ),
    n.MONTHLY_BRIEF: _Template(
        "{month} 月度部门简报",
        "Department briefs for {month}",
        "{month} 的部门月度简报已生成,PDF 见附件;也可在 Stride 中下载。",
        "The department briefs for {month} are ready: the PDFs are attached, and Stride has "
        "them for download.",
        "/reports/monthly/{month}",
    ),
}


def render(template: str, params: dict[str, str], labels: dict[str, str] | None = None) -> Texts:
    """The texts of ``template`` filled with ``params`` (KeyError for an unknown template).

    ``labels`` (id → what people read: a name, a title; activities/labels.py) replace the ids
    of the titles and bodies; the link keeps the ids.
    """
    t = TEMPLATES[template]
    values: defaultdict[str, str] = defaultdict(str, params)
    kind = params.get("kind", "")
    decision = params.get("decision", "")
    values["kind_zh"] = _KIND_ZH.get(kind, kind)
    values["kind_en"] = _KIND_EN.get(kind, kind)
    values["decision_zh"] = _DECISION_ZH.get(decision, decision)
    values["decision_en"] = _DECISION_EN.get(decision, decision)
    role = params.get("role", "")
    values["whose_zh"] = _WHOSE_ZH.get(role, "")
    values["whose_en"] = _WHOSE_EN.get(role, "A")
    reason = params.get("reason", "")
    values["why_zh"] = _WHY_ZH.get(reason, reason)
    values["why_en"] = _WHY_EN.get(reason, reason)
    if not values["comment"]:
        values["comment"] = "—"
    shown = defaultdict(str, values)
    for key, value in params.items():
        if labels and value in labels:
            shown[key] = labels[value]
    return Texts(
        title_zh=t.title_zh.format_map(shown),
        title_en=t.title_en.format_map(shown),
        body_zh=t.body_zh.format_map(shown),
        body_en=t.body_en.format_map(shown),
        link=t.link.format_map(values),
    )


def message_id(key: str, domain: str = "stride") -> str:
    """The e-mail Message-ID of a delivery key (stable: a resend carries the same id)."""
    safe = "".join(c if c.isalnum() or c in "-._" else "." for c in key)
    return f"<{safe}@{domain}>"


def email_message(
    texts: Texts,
    *,
    key: str,
    sender: str,
    to: str,
    locale: str = "",
    web_url: str = "",
) -> EmailMessage:
    """The e-mail copy: the recipient's language when known, else Chinese then English."""
    msg = EmailMessage()
    if locale.startswith("zh"):
        subject, body = texts.title_zh, texts.body_zh
    elif locale.startswith("en"):
        subject, body = texts.title_en, texts.body_en
    else:
        subject = f"{texts.title_zh} / {texts.title_en}"
        body = f"{texts.body_zh}\n\n{texts.body_en}"
    if texts.link:
        body += f"\n\n{web_url.rstrip('/')}{texts.link}"
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = to
    msg["Message-ID"] = message_id(key)
    msg["Date"] = formatdate(usegmt=True)
    msg.set_content(body + "\n")
    return msg
