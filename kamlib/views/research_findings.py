"""The findings and actions of the customer research dossier as text, in English or Chinese.

:mod:`kamlib.research.findings` decides which rule fires for an account and with which
parameters (no language); this module holds each rule's sentence, rule statement and
recommended action in both languages and turns ranked findings into display frames.
"""

from __future__ import annotations

import pandas as pd

from kamlib.methodology import ResearchSettings
from kamlib.methodology.labels import check_lang, label
from kamlib.research.findings import Localised, rank_findings
from kamlib.views.values import listed

#: rule → (finding en, finding zh); fields in braces come from the finding's parameters
TEXTS: dict[str, tuple[str, str]] = {
    "revenue_declining": (
        "Revenue of the last 12 months is {growth} against the 12 months before.",
        "近12个月销售额较前12个月变化 {growth}。",
    ),
    "service_deteriorating": (
        "Service is deteriorating: recent tickets take {ratio} × as long relative to SLA "
        "({recent} recent vs {baseline} earlier tickets).",
        "服务在恶化：近期工单相对SLA的处理时长是此前的 {ratio} 倍（近期 {recent} 张，此前 {baseline} 张）。",
    ),
    "high_influence_opponent": (
        "High-influence opponent(s): {persons}.",
        "高影响力的反对者：{persons}。",
    ),
    "no_economic_buyer": (
        "No economic buyer is known among the {contacts} contacts.",
        "在 {contacts} 位联系人中没有已知的经济决策人。",
    ),
    "target_missed": (
        "Target missed: {measure} {period} ended at {attainment} of {target}.",
        "目标未达成：{period} {measure} 期末完成 {attainment}，目标 {target}。",
    ),
    "target_off_track": (
        "Target off track: {measure} {period} at {attainment} of {target} (pace {pace}).",
        "目标严重落后：{period} {measure} 完成 {attainment}，目标 {target}（进度比 {pace}）。",
    ),
    "target_at_risk": (
        "Target at risk: {measure} {period} at {attainment} of {target} (pace {pace}).",
        "目标有风险：{period} {measure} 完成 {attainment}，目标 {target}（进度比 {pace}）。",
    ),
    "registry_credit_risk": (
        "Credit risk in the company registry: {count} enforcement, abnormal-operation or "
        "dishonest-debtor record(s) in the last {months} months — {events}.",
        "工商登记显示信用风险：近 {months} 个月有 {count} 条被执行、经营异常或失信记录 —— {events}。",
    ),
    "capital_reduction": (
        "The company reduced its registered capital in the last {months} months: {events}.",
        "该企业近 {months} 个月减少了注册资本：{events}。",
    ),
    "registry_penalty": (
        "{count} administrative penalty record(s) in the last {months} months: {events}.",
        "近 {months} 个月有 {count} 条行政处罚记录：{events}。",
    ),
    "name_change": (
        "The company changed its registered name in the last {months} months: {events}.",
        "该企业近 {months} 个月变更了企业名称：{events}。",
    ),
    "tier_dropped": (
        "Tier fell from {from_tier} to {to_tier} since {since} (score {from_score} → {to_score}).",
        "自 {since} 起层级由 {from_tier} 降至 {to_tier}（评分 {from_score} → {to_score}）。",
    ),
    "tier_rose": (
        "Tier rose from {from_tier} to {to_tier} since {since} (score {from_score} → {to_score}).",
        "自 {since} 起层级由 {from_tier} 升至 {to_tier}（评分 {from_score} → {to_score}）。",
    ),
    "single_threaded": (
        "Single-threaded: {detail}.",
        "单线联系：{detail}。",
    ),
    "key_person_not_contacted": (
        "Key person(s) not contacted for more than {days} days: {persons}.",
        "超过 {days} 天未联系的关键人物：{persons}。",
    ),
    "deal_no_economic_buyer": (
        "{count} open deal(s) without a linked economic buyer ({amount} open): {deals}.",
        "{count} 个进行中商机未关联经济决策人（金额 {amount}）：{deals}。",
    ),
    "deal_opponent": (
        "{count} open deal(s) with a high-influence opponent: {deals}.",
        "{count} 个进行中商机存在高影响力反对者：{deals}。",
    ),
    "deal_single_threaded": (
        "{count} open deal(s) with at most one linked contact: {deals}.",
        "{count} 个进行中商机最多只关联一位联系人：{deals}。",
    ),
    "deals_overdue": (
        "{count} open deal(s) past their expected close date ({amount}).",
        "{count} 个进行中商机已过预计成交日期（金额 {amount}）。",
    ),
    "deal_playbook_gaps": (
        "{count} open deal(s) owe their stage required tasks or bid-readiness items "
        "({amount} open): {deals}.",
        "{count} 个进行中商机尚有本阶段必做任务或投标准备缺项（金额 {amount}）：{deals}。",
    ),
    "sla_breaches": (
        "{rate} of tickets in the last 12 months missed the response SLA ({tickets} tickets).",
        "近12个月 {rate} 的工单未在SLA内响应（共 {tickets} 张）。",
    ),
    "aged_backlog": (
        "{count} ticket(s) open for more than {days} days (oldest {oldest} days).",
        "{count} 张工单已超过 {days} 天未解决（最久 {oldest} 天）。",
    ),
    "plan_items_overdue": (
        "{count} plan item(s) overdue (longest {days} days): {titles}.",
        "{count} 项计划事项逾期（最长 {days} 天）：{titles}。",
    ),
    "recent_loss": (
        "{count} deal(s) lost in the last {days} days ({amount}){competitors}.",
        "近 {days} 天丢单 {count} 个（金额 {amount}）{competitors}。",
    ),
    "whitespace": (
        "Whitespace: {lines} — bought by most {industry} peers, not by this account.",
        "空白机会：{lines} —— 多数同行业（{industry}）客户在购买，该客户尚未购买。",
    ),
    "wallet_below_revenue": (
        "Our 12-month revenue ({revenue}) is above the wallet estimate ({wallet}): the estimate "
        "is out of date, so share of wallet is not shown.",
        "近12个月我方收入（{revenue}）已高于钱包估算（{wallet}）：估算已过时，因此不显示钱包份额。",
    ),
    "missing_data": (
        "No {what}: the {section} section is empty.",
        "没有{what}数据：{section}部分为空。",
    ),
}

#: rule → (rule text en, zh), with the thresholds filled from the settings
RULES: dict[str, tuple[str, str]] = {
    "revenue_declining": ("growth_12m < {revenue_decline_alert:.0%}", "近12个月增长率 < {revenue_decline_alert:.0%}"),
    "service_deteriorating": (
        "recent {service_recent_months} vs previous {service_baseline_months} months: slowness "
        "≥ {service_slowdown_ratio:g}× and ≥ {service_min_evidence:g} standard errors, "
        "≥ {service_min_tickets} tickets each",
        "近 {service_recent_months} 个月对比此前 {service_baseline_months} 个月：处理时长 ≥ "
        "{service_slowdown_ratio:g} 倍且 ≥ {service_min_evidence:g} 个标准误，每段 ≥ {service_min_tickets} 张工单",
    ),
    "high_influence_opponent": (
        "influence ≥ {high_influence} and support ≤ {opponent_max_support}",
        "影响力 ≥ {high_influence} 且支持度 ≤ {opponent_max_support}",
    ),
    "no_economic_buyer": ("no contact with buying_role = economic", "无采购角色为经济决策人的联系人"),
    "target_missed": ("period over and actual < target", "期间已结束且实际 < 目标"),
    "target_off_track": ("pace < {at_risk_ratio:g}", "进度比 < {at_risk_ratio:g}"),
    "target_at_risk": (
        "{at_risk_ratio:g} ≤ pace < {on_track_ratio:g}", "{at_risk_ratio:g} ≤ 进度比 < {on_track_ratio:g}"
    ),
    "registry_credit_risk": (
        "company_events of type enforcement, abnormal_operation or dishonest_debtor dated in "
        "the last {registry_event_months} months",
        "近 {registry_event_months} 个月的企业事件中有被执行、经营异常或失信被执行人记录",
    ),
    "capital_reduction": (
        "a capital_change in the last {registry_event_months} months whose amount after is "
        "below the amount before (same currency)",
        "近 {registry_event_months} 个月的注册资本变更中变更后金额低于变更前（同一币种）",
    ),
    "registry_penalty": ("company_events of type penalty in the last {registry_event_months} months",
                         "近 {registry_event_months} 个月的企业事件中有行政处罚"),
    "name_change": ("company_events of type name_change in the last {registry_event_months} months",
                    "近 {registry_event_months} 个月的企业事件中有名称变更"),
    "tier_dropped": ("tier lower than at the comparison date", "层级低于对比日"),
    "tier_rose": ("tier higher than at the comparison date", "层级高于对比日"),
    "single_threaded": (
        "< {single_thread_min_contacts} contacts met in {relationship_window_days} days, or one "
        "holds ≥ {single_thread_share:.0%} of the contact activities",
        "{relationship_window_days} 天内接触的联系人 < {single_thread_min_contacts} 位，或一人占联系活动的 "
        "≥ {single_thread_share:.0%}",
    ),
    "key_person_not_contacted": (
        "influence ≥ {high_influence}, last contact > {stale_contact_days} days ago",
        "影响力 ≥ {high_influence}，最近联系 > {stale_contact_days} 天前",
    ),
    "deal_no_economic_buyer": ("open deal, no linked contact with buying_role = economic",
                               "进行中商机未关联经济决策人"),
    "deal_opponent": (
        "open deal, linked contact with influence ≥ {high_influence}, support ≤ {opponent_max_support}",
        "进行中商机关联了影响力 ≥ {high_influence} 且支持度 ≤ {opponent_max_support} 的联系人",
    ),
    "deal_single_threaded": ("open deal with ≤ 1 linked contact", "进行中商机关联联系人 ≤ 1 位"),
    "deals_overdue": ("open deal, expected_close_date < as_of", "进行中商机，预计成交日 < 截止日"),
    "deal_playbook_gaps": (
        "open deal; a required task of its current stage (playbooks) not done by the date, or at "
        "the bid stage a bid-readiness checklist item missing",
        "进行中商机：当前阶段的必做任务（销售流程手册）截至该日未完成，或处于投标阶段且投标准备清单有缺项",
    ),
    "sla_breaches": ("response-breach rate (12 months) > {service_breach_alert:.0%}",
                     "近12个月响应超时率 > {service_breach_alert:.0%}"),
    "aged_backlog": ("open ticket older than {backlog_alert_days} days", "未结工单超过 {backlog_alert_days} 天"),
    "plan_items_overdue": ("status open, due_date < as_of", "状态未完成且截止日 < 截止日期"),
    "recent_loss": ("lost in the last {recent_deals_days} days", "近 {recent_deals_days} 天丢单"),
    "whitespace": (
        "line bought by ≥ {whitespace_peer_share:.0%} of ≥ {whitespace_min_peers} industry peers "
        "(12 months), not by the account",
        "≥ {whitespace_peer_share:.0%} 的同行业客户（至少 {whitespace_min_peers} 家）近12个月购买、该客户未购买的产品线",
    ),
    "wallet_below_revenue": ("revenue_12m > category_spend", "近12个月收入 > 品类采购额（钱包）"),
    "missing_data": ("table or rows missing", "数据表或记录缺失"),
}  # fmt: skip

#: finding → (action en, action zh)
ACTIONS: dict[str, tuple[str, str]] = {
    "revenue_declining": ("Review the account's order trend with the customer in a business "
                          "review; find the lines and plants that fell.",
                          "与客户召开经营回顾，找出下滑的产品线和工厂。"),
    "service_deteriorating": ("Escalate the service lapse to the service manager; agree a "
                              "recovery plan with the customer.",
                              "将服务问题升级至服务经理，与客户商定改进计划。"),
    "high_influence_opponent": ("Plan a meeting with the opponent(s) to hear their concerns; "
                                "enlist a supporter of equal rank.",
                                "安排与反对者会面了解其顾虑，并争取同级别支持者。"),
    "no_economic_buyer": ("Identify the economic buyer (ask the coach) and arrange an "
                          "executive meeting.", "通过内线找出经济决策人并安排高层会面。"),
    "target_missed": ("Review why the target was missed and carry the gap into the next "
                      "period's account plan.", "复盘未达成原因，并把差距纳入下期客户计划。"),
    "target_off_track": ("Re-plan the target: gap-closing deals and actions in the account "
                         "plan.", "重新规划目标：在客户计划中列出弥补差距的商机和行动。"),
    "target_at_risk": ("Pull forward deals that can close in the period.",
                       "推动可在本期成交的商机提前落地。"),
    "registry_credit_risk": ("Check the credit limit, payment terms and open receivables with "
                             "finance before the next order; ask the account about the case.",
                             "下次下单前与财务核查信用额度、付款条件和应收账款，并向客户了解相关案件。"),
    "capital_reduction": ("Review the credit limit against the reduced capital and ask the "
                          "account why it reduced it.",
                          "按减资后的资本重新评估信用额度，并了解客户减资的原因。"),
    "registry_penalty": ("Ask the account what the penalty was for and whether it touches the "
                         "products or plants we supply.",
                         "了解处罚原因，以及是否涉及我方供货的产品或工厂。"),
    "name_change": ("Update the account's name in the CRM and contracts; keep the former name "
                    "so orders and registry data still match.",
                    "在CRM和合同中更新客户名称，并保留曾用名以便订单和工商数据继续匹配。"),
    "tier_dropped": ("Review the indicators that drove the drop in the next account review.",
                     "在下次客户评审中分析导致降级的指标。"),
    "tier_rose": ("Confirm the coverage model fits the new tier.", "确认服务覆盖模式与新层级匹配。"),
    "single_threaded": ("Widen the relationship: meet at least two more contacts in other "
                        "roles.", "拓展关系：再接触至少两位不同角色的联系人。"),
    "key_person_not_contacted": ("Schedule visits with the key persons not met recently.",
                                 "安排拜访近期未联系的关键人物。"),
    "deal_no_economic_buyer": ("Link the economic buyer to each of these deals before the "
                               "quote stage.", "在报价阶段前为这些商机关联经济决策人。"),
    "deal_opponent": ("Prepare an objection plan for the opponent on each deal.",
                      "为每个商机上的反对者准备应对方案。"),
    "deal_single_threaded": ("Add contacts in other buying roles to these deals.",
                             "为这些商机增加其他采购角色的联系人。"),
    "deals_overdue": ("Update close dates or close out the overdue deals.",
                      "更新过期商机的预计成交日期或关闭商机。"),
    "deal_playbook_gaps": ("Do each deal's required stage tasks before it moves on; close "
                           "the bid-readiness gaps before the bid (one action per deal below).",
                           "在商机进入下一阶段前完成本阶段必做任务；投标前补齐投标准备缺项（每个商机的行动见下）。"),
    "sla_breaches": ("Agree a response-time improvement with the service team.",
                     "与服务团队商定响应时效改进措施。"),
    "aged_backlog": ("Chase the aged tickets to closure.", "跟进超期工单直至关闭。"),
    "plan_items_overdue": ("Close or re-plan the overdue plan items with their owners.",
                           "与负责人一起完成或重新规划逾期计划事项。"),
    "recent_loss": ("Run a loss review and plan a win-back opportunity.",
                    "进行丢单复盘并规划赢回商机。"),
    "whitespace": ("Open an opportunity for the whitespace line(s) with a reference from a "
                   "peer.", "借助同行业案例为空白产品线创建商机。"),
    "wallet_below_revenue": ("Update the account's wallet estimate (category_spend) with the "
                             "account team.", "与客户团队一起更新该客户的钱包估算（品类采购额）。"),
    "missing_data": ("Import the missing data so the next dossier is complete.",
                     "导入缺失的数据，使下一份报告完整。"),
}  # fmt: skip

#: the per-deal actions of ``deal_playbook_gaps`` (:func:`with_playbook_actions`): (en, zh)
DEAL_GAP_TEXTS: dict[str, tuple[str, str]] = {
    "do": ("{deal} ({name}): do {tasks}", "{deal}（{name}）：完成{tasks}"),
    "close": ("close the bid-readiness gaps: {items}", "补齐投标准备缺项：{items}"),
    "because": (
        "Its stage ({stage}, {process}) requires them before the deal moves on",
        "所处阶段（{stage}，{process}）要求在推进前完成",
    ),
    "readiness": ("bid readiness {score}", "投标准备度 {score}"),
}

FINDING_COLUMNS = ["rank", "rule", "severity", "impact", "finding", "rule_text"]
ACTION_COLUMNS = ["rank", "action", "because", "rule"]


def rule_text(rule: str, settings: ResearchSettings, lang: str = "en") -> str:
    """The rule with its thresholds filled in."""
    pair = RULES[rule]
    return pair[1 if lang == "zh" else 0].format(**vars(settings))


def findings_frame(
    items: list[dict[str, object]],
    settings: ResearchSettings,
    *,
    lang: str = "en",
    top: int | None = None,
) -> pd.DataFrame:
    """Ranked findings as a frame: :data:`FINDING_COLUMNS` (text in ``lang``)."""
    check_lang(lang)
    ranked = rank_findings(items)[:top] if top else rank_findings(items)
    i = 1 if lang == "zh" else 0
    rows = [
        {"rank": n, "rule": f["rule"], "severity": int(f["severity"]), "impact": f["impact"],
         "finding": TEXTS[str(f["rule"])][i].format(**_in_language(f["params"], i)),
         "rule_text": rule_text(str(f["rule"]), settings, lang)}
        for n, f in enumerate(ranked, start=1)
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=FINDING_COLUMNS)


def actions_frame(findings: pd.DataFrame, *, lang: str = "en") -> pd.DataFrame:
    """One recommended action per finding, in the findings' order: :data:`ACTION_COLUMNS`."""
    check_lang(lang)
    i = 1 if lang == "zh" else 0
    rows = [
        {"rank": int(r.rank), "action": ACTIONS[r.rule][i], "because": r.finding,
         "rule": f"{r.rule}: {r.rule_text}"}
        for r in findings.itertuples(index=False)
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=ACTION_COLUMNS)


def _in_language(params: object, i: int) -> dict[str, object]:
    """The finding's parameters with each :class:`Localised` text in language ``i``."""
    return {k: v[i] if isinstance(v, Localised) else v for k, v in dict(params).items()}


def with_playbook_actions(
    actions: pd.DataFrame,
    findings: pd.DataFrame,
    gaps: pd.DataFrame,
    *,
    labels: dict[str, str],
    settings: ResearchSettings,
    proven_by: dict[str, str] | None = None,
    lang: str = "en",
) -> pd.DataFrame:
    """``actions`` with the finding ``deal_playbook_gaps`` written as one action per open deal
    that owes its stage something (``gaps``: :attr:`kamlib.research.AccountDossier.playbook_gaps`,
    task and checklist codes written with ``labels``): what to do on which deal, in place of
    the finding's one general action, at the finding's rank — whether or not it is among the
    top findings, so no open deal's gap is left out of the next actions.  ``proven_by``
    (checklist item → the task that proves it) keeps a missing checklist item out of the
    action when its task is already listed to do."""
    check_lang(lang)
    if gaps.empty:
        return actions
    i = 1 if lang == "zh" else 0
    text = {k: v[i] for k, v in DEAL_GAP_TEXTS.items()}
    hit = findings[findings["rule"] == "deal_playbook_gaps"]
    rank = int(hit["rank"].iloc[0]) if len(hit) else len(findings) + 1
    rule = f"deal_playbook_gaps: {rule_text('deal_playbook_gaps', settings, lang)}"
    sep = "；" if lang == "zh" else "; "
    rows = []
    for g in gaps.itertuples(index=False):
        name = g.name if isinstance(g.name, str) and g.name else g.opportunity_id
        todo = []
        if len(g.next_tasks):
            todo.append(text["do"].format(deal=g.opportunity_id, name=name,
                                          tasks=listed(g.next_tasks, labels, lang)))  # fmt: skip
        items = [m for m in g.missing if (proven_by or {}).get(m) not in g.next_tasks]
        if items:
            close = text["close"].format(items=listed(items, labels, lang))
            todo.append(close if todo else f"{g.opportunity_id} ({name}): {close}")
        because = text["because"].format(stage=label(str(g.stage), lang),
                                         process=label(str(g.process), lang))  # fmt: skip
        if g.readiness == g.readiness:  # at the bid stage: the score
            because += sep + text["readiness"].format(score=f"{g.readiness:.0%}")
        rows.append({"rank": rank, "action": sep.join(todo), "because": because, "rule": rule})
    kept = actions[~actions["rule"].astype(str).str.startswith("deal_playbook_gaps:")]
    out = pd.concat([kept, pd.DataFrame(rows, columns=ACTION_COLUMNS)], ignore_index=True)
    return out.sort_values("rank", kind="mergesort").reset_index(drop=True)
