"""Findings ("the five things a manager must know") and the next actions they call for.

Every finding comes from a named rule with its threshold (the ``research`` section of the
methodology file), so a reader can check it; every recommended action names the finding and
the rule that led to it.  This module decides which rules fire for an account and with which
parameters (:func:`account_findings`, no language); the sentences, rule statements and actions
in English and Chinese are in :mod:`kamlib.views.research_findings`.  Findings are ranked by ``severity`` (3 high, 2 medium, 1 low), then
by ``impact`` (the money at stake where there is one: 12-month revenue, open pipeline or the
deal amount), then by rule order.

Rules (key — when it fires — severity)
--------------------------------------
- ``revenue_declining`` — 12-month revenue growth < ``revenue_decline_alert`` (−15 %) — 3
- ``service_deteriorating`` — the service rule of :mod:`kamlib.research.service` — 3
- ``high_influence_opponent`` — a key person opposes us — 3
- ``no_economic_buyer`` — no economic buyer among the contacts — 3
- ``target_missed`` / ``target_off_track`` / ``target_at_risk`` — an account target's status
  — 3 / 3 / 2
- ``registry_credit_risk`` — the registry lists enforcement, abnormal operation or a
  dishonest-debtor record of the company in the last ``registry_event_months`` (24) — 3
- ``tier_dropped`` — the tier fell since the comparison date — 2
- ``capital_reduction`` — the company reduced its registered capital in that window — 2
- ``registry_penalty`` — an administrative penalty in that window — 2
- ``single_threaded`` — one relationship carries the account — 2
- ``key_person_not_contacted`` — key persons not contacted for > ``stale_contact_days`` — 2
- ``deal_no_economic_buyer`` / ``deal_opponent`` / ``deal_single_threaded`` — open deals — 2
- ``deals_overdue`` — open deals whose expected close date has passed — 2
- ``deal_playbook_gaps`` — open deals that owe their stage required tasks of the playbooks
  or, at the bid stage, bid-readiness items (:mod:`kamlib.research.sales_process`) — 2
- ``sla_breaches`` — 12-month response-breach rate > ``service_breach_alert`` — 2
- ``aged_backlog`` — open tickets older than ``backlog_alert_days`` — 2
- ``plan_items_overdue`` — open plan items past their due date — 2
- ``recent_loss`` — deals lost in the last ``recent_deals_days`` — 1
- ``whitespace`` — product lines most same-industry peers buy and this account does not — 1
- ``tier_rose`` — the tier rose — 1
- ``name_change`` — the company changed its registered name in that window — 1
- ``wallet_below_revenue`` — our 12-month revenue exceeds the account's wallet estimate
  (``category_spend``): the estimate is out of date, share of wallet is not shown — 1
- ``missing_data`` — a table or the account's rows are missing, so a section is empty — 1
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from kamlib.methodology.labels import label
from kamlib.research._common import text

if TYPE_CHECKING:
    from kamlib.research.context import ResearchContext
    from kamlib.research.decision_makers import PowerMap
    from kamlib.research.ogsm import OgsmResult

SEVERITY = {
    "revenue_declining": 3, "service_deteriorating": 3, "high_influence_opponent": 3,
    "no_economic_buyer": 3, "target_missed": 3, "target_off_track": 3, "registry_credit_risk": 3,
    "target_at_risk": 2, "tier_dropped": 2, "capital_reduction": 2, "registry_penalty": 2,
    "single_threaded": 2, "key_person_not_contacted": 2, "deal_no_economic_buyer": 2,
    "deal_opponent": 2, "deal_single_threaded": 2, "deals_overdue": 2, "deal_playbook_gaps": 2,
    "sla_breaches": 2, "aged_backlog": 2, "plan_items_overdue": 2, "recent_loss": 1, "whitespace": 1,
    "tier_rose": 1, "name_change": 1, "wallet_below_revenue": 1, "missing_data": 1,
}  # fmt: skip
#: company_events type → the finding it raises (a capital change only when the capital fell:
#: ``capital_reduced`` of :mod:`kamlib.research.registry`); other types raise none.
REGISTRY_RULES = {
    "enforcement": "registry_credit_risk", "abnormal_operation": "registry_credit_risk",
    "dishonest_debtor": "registry_credit_risk", "capital_change": "capital_reduction",
    "penalty": "registry_penalty", "name_change": "name_change",
}  # fmt: skip
#: How many events a registry finding lists (the newest; "…" says there are more).
REGISTRY_EVENTS_LISTED = 3
ORDER = {k: i for i, k in enumerate(SEVERITY)}


class Localised(NamedTuple):
    """A finding parameter whose text depends on the report language (a tier's name, a
    measure's label, a phrase): the view that writes the finding picks ``en`` or ``zh``."""

    en: str
    zh: str


def finding(rule: str, *, impact: float = 0.0, **params: object) -> dict[str, object]:
    """One finding record: the rule key, its severity, the money at stake and parameters."""
    if rule not in SEVERITY:
        raise KeyError(rule)
    return {"rule": rule, "severity": SEVERITY[rule], "impact": float(impact), "params": params}


def rank_findings(items: list[dict[str, object]]) -> list[dict[str, object]]:
    """Highest severity first, then largest impact, then rule order."""
    return sorted(
        items, key=lambda f: (-int(f["severity"]), -float(f["impact"]), ORDER[str(f["rule"])])
    )


# -- the rules applied to one account ------------------------------------------------------------
def account_findings(
    ctx: ResearchContext,
    account_id: str,
    *,
    feats,
    pm: PowerMap,
    open_pipeline: pd.DataFrame,
    recent_deals: pd.DataFrame,
    service: dict[str, Any],
    tickets: pd.DataFrame,
    trend: Any,
    score: dict[str, Any],
    whitespace: pd.DataFrame,
    industry: str | None,
    targets: OgsmResult | None,
    plan_items: pd.DataFrame,
    missing: list[dict[str, str]],
    playbook_gaps: pd.DataFrame | None = None,
    registry_events: pd.DataFrame | None = None,
) -> list[dict[str, object]]:
    """The findings of one account's dossier (unranked :func:`finding` records; parameters
    whose text depends on the language are :class:`Localised`)."""
    s = ctx.settings
    out: list[dict[str, object]] = []
    revenue = feats("revenue_12m")
    revenue = 0.0 if np.isnan(revenue) else revenue
    pipeline_total = float(open_pipeline["amount"].sum()) if len(open_pipeline) else 0.0
    growth = feats("growth_12m")
    if not np.isnan(growth) and growth < s.revenue_decline_alert:
        out.append(finding("revenue_declining", impact=revenue, growth=f"{growth:+.0%}"))
    if trend is not None and bool(trend["deteriorating"]):
        out.append(
            finding("service_deteriorating", impact=revenue, ratio=f"{trend['slowdown_ratio']:.1f}",
                    recent=int(trend["tickets_recent"]), baseline=int(trend["tickets_baseline"]))
        )  # fmt: skip
    gaps = pm.gaps
    n_contacts = len(pm.contacts)
    for g in gaps.itertuples(index=False):
        if g.gap == "no_economic_buyer":
            out.append(finding("no_economic_buyer", impact=revenue + pipeline_total,
                               contacts=n_contacts))  # fmt: skip
        elif g.gap == "high_influence_opponent":
            out.append(finding("high_influence_opponent", impact=revenue + pipeline_total,
                               persons=g.persons))  # fmt: skip
        elif g.gap == "single_threaded":
            if (
                g.value < s.single_thread_min_contacts
                and g.threshold == s.single_thread_min_contacts
            ):
                detail = Localised(
                    f"{int(g.value)} contact(s) met in {s.relationship_window_days} days",
                    f"{s.relationship_window_days} 天内仅接触 {int(g.value)} 位联系人",
                )
            else:
                detail = Localised(
                    f"{g.persons} holds {g.value:.0%} of the contact activities",
                    f"{g.persons} 占联系活动的 {g.value:.0%}",
                )
            out.append(finding("single_threaded", impact=revenue, detail=detail))  # fmt: skip
        elif g.gap == "key_person_not_contacted":
            out.append(finding("key_person_not_contacted", impact=revenue,
                               days=s.stale_contact_days, persons=g.persons))  # fmt: skip
    amounts = (
        open_pipeline.set_index("opportunity_id")["amount"]
        if len(open_pipeline)
        else pd.Series(dtype=float)
    )
    for rule in ("deal_no_economic_buyer", "deal_opponent", "deal_single_threaded"):
        deal_ids = list(gaps.loc[gaps["gap"] == rule, "subject"])
        if deal_ids:
            amount = float(amounts.reindex(deal_ids).sum())
            shown = ", ".join(deal_ids[:5]) + (" …" if len(deal_ids) > 5 else "")
            out.append(finding(rule, impact=amount, count=len(deal_ids), deals=shown,
                               amount=_money(amount, ctx.methodology.currency)))  # fmt: skip
    if len(open_pipeline) and "is_past_due" in open_pipeline:
        late = open_pipeline[open_pipeline["is_past_due"].fillna(False).astype(bool)]
        if len(late):
            amount = float(late["amount"].sum())
            out.append(finding("deals_overdue", impact=amount, count=len(late),
                               amount=_money(amount, ctx.methodology.currency)))  # fmt: skip
    if playbook_gaps is not None and len(playbook_gaps):
        amount = float(playbook_gaps["amount"].sum())
        ids = list(playbook_gaps["opportunity_id"].astype(str))
        shown = ", ".join(ids[:5]) + (" …" if len(ids) > 5 else "")
        out.append(finding("deal_playbook_gaps", impact=amount, count=len(ids), deals=shown,
                           amount=_money(amount, ctx.methodology.currency)))  # fmt: skip
    if service:
        rate = service.get("response_breach_rate")
        if rate is not None and rate > s.service_breach_alert:
            out.append(finding("sla_breaches", impact=revenue * rate, rate=f"{rate:.0%}",
                               tickets=service["tickets_12m"]))  # fmt: skip
        aged = tickets[tickets["is_open"] & (tickets["age_days"] > s.backlog_alert_days)]
        if len(aged):
            out.append(finding("aged_backlog", impact=0.0, count=len(aged),
                               days=s.backlog_alert_days,
                               oldest=int(aged["age_days"].max())))  # fmt: skip
    if registry_events is not None and len(registry_events):
        out += registry_findings(registry_events, months=s.registry_event_months, revenue=revenue)
    wallet = feats("category_spend")
    if not np.isnan(wallet) and wallet > 0 and revenue > wallet:
        out.append(finding("wallet_below_revenue", impact=0.0,
                           wallet=_money(wallet, ctx.methodology.currency),
                           revenue=_money(revenue, ctx.methodology.currency)))  # fmt: skip
    if score and score.get("movement") in ("up", "down") and score.get("previous_tier"):
        tiers = {t.key: t for t in ctx.methodology.scoring.tiers}

        def tier_name(key: str) -> Localised:
            t = tiers.get(key)
            return Localised(key, key) if t is None else Localised(t.label_en, t.label_zh)

        out.append(
            finding("tier_dropped" if score["movement"] == "down" else "tier_rose",
                    impact=revenue, from_tier=tier_name(score["previous_tier"]),
                    to_tier=tier_name(score["tier"]),
                    since=f"{ctx.compare_date:%Y-%m-%d}",
                    from_score=f"{score['previous_score']:.1f}", to_score=f"{score['score']:.1f}")
        )  # fmt: skip
    if targets is not None and len(targets.progress):
        for r in targets.progress.itertuples(index=False):
            if r.status in ("missed", "off_track", "at_risk"):
                value = r.target_value
                shown = (
                    f"{value:.1%}"
                    if r.measure == "share_of_wallet"
                    else _money(value, ctx.methodology.currency)
                    if r.measure in ("revenue", "bookings")
                    else f"{value:,.0f}"
                )
                out.append(
                    finding(f"target_{r.status}", impact=max(value - r.actual, 0.0) if r.measure != "share_of_wallet" else revenue,
                            measure=Localised(label(str(r.measure), "en"), label(str(r.measure), "zh")), period=r.period, attainment=f"{r.attainment:.0%}",
                            target=shown, pace=f"{r.pace:.2f}")
                )  # fmt: skip
    if len(plan_items):
        late = plan_items[plan_items["overdue"]]
        if len(late):
            titles = "; ".join(str(t) for t in late["title"].head(3)) + (
                " …" if len(late) > 3 else ""
            )
            out.append(finding("plan_items_overdue", impact=0.0, count=len(late),
                               days=int(late["days_overdue"].max()), titles=titles))  # fmt: skip
    if len(recent_deals):
        lost = recent_deals[recent_deals["status"] == "lost"]
        if len(lost):
            amount = float(lost["amount"].sum())
            comps = sorted({str(c) for c in lost["competitor"].dropna()})
            comp_text = ""
            if comps:
                comp_text = Localised(f", to {', '.join(comps)}", f"，竞争对手：{'、'.join(comps)}")
            out.append(finding("recent_loss", impact=amount, count=len(lost),
                               days=s.recent_deals_days,
                               amount=_money(amount, ctx.methodology.currency),
                               competitors=comp_text))  # fmt: skip
    if len(whitespace):
        lines = ", ".join(
            f"{r.product_line} ({r.share:.0%})" for r in whitespace.head(3).itertuples()
        )
        out.append(finding("whitespace", impact=float(whitespace["median_spend_12m"].head(3).sum()),
                           lines=lines, industry=industry))  # fmt: skip
    for m in missing:
        out.append(finding("missing_data", impact=0.0, what=m["what"], section=m["section"]))
    return out


def registry_findings(
    events: pd.DataFrame, *, months: int, revenue: float = 0.0
) -> list[dict[str, object]]:
    """The findings of an account's registry events (``events``: the window's rows of
    :attr:`kamlib.research.registry.RegistrySection.events`, newest first): one per rule of
    :data:`REGISTRY_RULES` that any event raises, listing the newest events.  The money at
    stake of a credit risk or a capital reduction is our 12-month ``revenue`` with the
    account (what we sell on credit to it); of a penalty or a name change none."""
    fired = events["type"].map(REGISTRY_RULES)
    is_capital = events["type"] == "capital_change"
    fired = fired.where(~is_capital | events["capital_reduced"].astype(bool))
    out = []
    for rule in dict.fromkeys(r for r in REGISTRY_RULES.values()):
        hits = events[fired == rule]
        if hits.empty:
            continue
        listed = hits.head(REGISTRY_EVENTS_LISTED)
        more = len(hits) > REGISTRY_EVENTS_LISTED
        details = Localised(
            "; ".join(_event_text(r, "en") for r in listed.itertuples()) + (" …" if more else ""),
            "；".join(_event_text(r, "zh") for r in listed.itertuples()) + (" …" if more else ""),
        )
        at_stake = revenue if rule in ("registry_credit_risk", "capital_reduction") else 0.0
        out.append(
            finding(rule, impact=at_stake, count=len(hits), months=months, events=details,
                    latest=f"{pd.Timestamp(hits['date'].max()):%Y-%m-%d}")
        )  # fmt: skip
    return out


def _event_text(event: Any, lang: str) -> str:
    """``Enforcement 2026-05-03: 执行标的 120 万元`` / ``Name change 2025-11-02: A → B``."""
    kind = "capital_reduction" if bool(event.capital_reduced) else event.type
    head = f"{label(f'event_{kind}', lang)} {pd.Timestamp(event.date):%Y-%m-%d}"
    colon = "：" if lang == "zh" else ": "
    before, after = text(event.before), text(event.after)
    if before and after:
        return f"{head}{colon}{before} → {after}"
    if after or before:
        return f"{head}{colon}{after or before}"
    return head


def _money(value: float, currency: str) -> str:
    return f"{currency} {value:,.0f}"
