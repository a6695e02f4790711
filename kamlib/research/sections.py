"""The sections of one account's research dossier, each computed from the research context.

:func:`kamlib.research.account_dossier` builds a :class:`DossierAccount` (the account's row,
the :class:`~kamlib.research.ResearchContext` and the list of sections whose data is missing)
and calls the section functions below in report order; each returns the frames and facts of
its section.  The definitions (group, share of wallet, whitespace, comparison date) are in
:mod:`kamlib.research.dossier`.
"""

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kamlib.data.kamdata import KamData
from kamlib.methodology import ResearchSettings
from kamlib.periods import period_of
from kamlib.research._common import months_back, text
from kamlib.research.context import ResearchContext
from kamlib.research.decision_makers import build_power_map
from kamlib.research.ogsm import (
    plan_item_status,
    progress_of,
)
from kamlib.research.overview import revenue_frames
from kamlib.research.service import service_summary

_QUARTERS = 8
_MONTH_CODES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@dataclass
class DossierAccount:
    """One account of a dossier being built: its row, the context, and the sections that
    found their data missing (in the order they were built)."""

    ctx: ResearchContext
    account_id: str
    acc: pd.Series
    match: pd.DataFrame
    missing: list[dict[str, str]] = field(default_factory=list)

    @property
    def view(self) -> KamData:
        return self.ctx.view

    @property
    def cut(self) -> pd.Timestamp:
        return self.ctx.as_of

    @property
    def s(self) -> ResearchSettings:
        return self.ctx.settings

    def lacks(self, table: str, section: str, rows: pd.DataFrame | None = None) -> bool:
        """Whether ``table`` is missing (or holds no ``rows`` of the account); noted if so."""
        if not self.view.has(table):
            self.missing.append({"what": table, "section": section, "why": "table not imported"})
            return True
        if rows is not None and rows.empty:
            self.missing.append(
                {"what": table, "section": section, "why": "no rows for the account"}
            )
            return True
        return False

    def feat(self, name: str) -> float:
        """The account's feature ``name`` at the date (NaN when unknown)."""
        features = self.ctx.features
        if self.account_id not in features.index or name not in features.columns:
            return float("nan")
        value = features.at[self.account_id, name]
        return float(value) if pd.notna(value) else float("nan")


def profile_and_group(a: DossierAccount) -> Any:
    """Dossier section: profile and group: firmographics, parent, group and subsidiaries."""
    ctx, account_id, acc, feat = a.ctx, a.account_id, a.acc, a.feat
    accounts = a.view.accounts
    profile = {
        "name": str(acc["name"]),
        "account_id": str(account_id),
        "industry": text(acc.get("industry")),
        "sub_industry": text(acc.get("sub_industry")),
        "region": text(acc.get("region")),
        "city": text(acc.get("city")),
        "country": text(acc.get("country")),
        "ownership": text(acc.get("ownership")),
        "employees": None if pd.isna(acc.get("employees")) else int(acc["employees"]),
        "annual_revenue": _num(acc.get("annual_revenue")),
        "registered_capital": _num(acc.get("registered_capital")),
        "category_spend": _num(acc.get("category_spend")),
        "strategic_fit": None if pd.isna(acc.get("strategic_fit")) else int(acc["strategic_fit"]),
        "owner": text(acc.get("owner")),
        "created_date": None if pd.isna(acc.get("created_date")) else pd.Timestamp(acc["created_date"]),
        "revenue_12m": _nan_none(feat("revenue_12m")),
        "growth_12m": _nan_none(feat("growth_12m")),
        # above 100 % the wallet estimate is below our revenue: not a share (a finding says so)
        "share_of_wallet": _nan_none(feat("share_of_wallet"))
        if not feat("share_of_wallet") > 1 else None,
    }  # fmt: skip
    parent_id = text(acc.get("parent_account_id"))
    names = accounts.set_index("account_id")["name"]
    revenue_12m = ctx.features.get("revenue_12m")
    group_id = str(ctx.groups.get(account_id, account_id))
    members = ctx.groups.index[ctx.groups == group_id]
    group_revenue = (
        float(revenue_12m.reindex(members).sum(min_count=1)) if revenue_12m is not None else np.nan
    )
    group = {
        "parent_id": parent_id,
        "parent_name": text(names.get(parent_id)) if parent_id else None,
        "group_id": group_id,
        "group_name": text(names.get(group_id)),
        "group_accounts": int(len(members)),
        "group_revenue_12m": _nan_none(group_revenue),
    }
    children = accounts[accounts["parent_account_id"] == account_id]
    subsidiaries = pd.DataFrame(
        {
            "account_id": children["account_id"].astype(str).to_numpy(),
            "name": children["name"].astype(str).to_numpy(),
            "revenue_12m": (
                revenue_12m.reindex(children["account_id"]).to_numpy(dtype="float64")
                if revenue_12m is not None
                else np.full(len(children), np.nan)
            ),
        }
    ).sort_values(["revenue_12m", "account_id"], ascending=[False, True], na_position="last")
    return profile, group, subsidiaries


@dataclass(frozen=True)
class Revenue:
    """The revenue section: the account's order lines, the report's eight fiscal quarters
    (``freq``, ``window`` and their labels, shared with the activities section) and the frames
    shown."""

    orders: pd.DataFrame
    freq: str
    window: pd.PeriodIndex
    quarter_label: dict[pd.Period, str]
    by_quarter: pd.DataFrame
    by_line: pd.DataFrame
    by_quarter_line: pd.DataFrame
    share_of_wallet: pd.DataFrame


def revenue(a: DossierAccount) -> Revenue:
    """Dossier section: revenue by quarter and product line, share of wallet at each quarter end."""
    ctx, cut, account_id, missing, acc = a.ctx, a.cut, a.account_id, a.missing, a.acc
    orders = ctx.rows("orders", account_id)
    fy = ctx.methodology.fiscal_year_start_month
    by_quarter, by_line = revenue_frames(
        orders, cut, quarters=_QUARTERS, fiscal_year_start_month=fy
    )
    if orders.empty:
        missing.append({"what": "orders", "section": "revenue", "why": "no rows for the account"})
    freq = f"Q-{_MONTH_CODES[(fy - 2) % 12]}"
    window = pd.period_range(end=pd.Period(cut, freq=freq), periods=_QUARTERS, freq=freq)
    in_window = orders[orders["order_date"].dt.to_period(freq) >= window[0]]
    quarter_label = dict(zip(window, by_quarter["quarter"], strict=True))
    by_quarter_line = (
        in_window.assign(quarter=in_window["order_date"].dt.to_period(freq).map(quarter_label))
        .groupby(["quarter", "product_line"], sort=False)["amount"]
        .sum()
        .rename("revenue")
        .reset_index()
    )
    wallet = _num(acc.get("category_spend"))
    sow_rows = []
    for period, quarter in zip(window, by_quarter["quarter"], strict=True):
        end = period.end_time.normalize()
        end = min(end, cut)
        start = months_back(end, 12)
        rev = float(
            orders.loc[
                (orders["order_date"] > start) & (orders["order_date"] <= end), "amount"
            ].sum()
        )
        share = rev / wallet if wallet and wallet > 0 else np.nan
        # revenue above the wallet estimate is not a share: the estimate is out of date
        sow_rows.append(
            {"quarter": quarter, "revenue_12m": rev, "category_spend": wallet,
             "share_of_wallet": share if not share > 1 else np.nan,
             "wallet_below_revenue": bool(share > 1)}
        )  # fmt: skip
    share_of_wallet = pd.DataFrame(
        sow_rows,
        columns=["quarter", "revenue_12m", "category_spend", "share_of_wallet",
                 "wallet_below_revenue"],
    ).astype({"category_spend": "float64", "share_of_wallet": "float64",
              "wallet_below_revenue": "bool"})  # fmt: skip
    return Revenue(
        orders=orders, freq=freq, window=window, quarter_label=quarter_label,
        by_quarter=by_quarter, by_line=by_line, by_quarter_line=by_quarter_line,
        share_of_wallet=share_of_wallet,
    )  # fmt: skip


def whitespace(a: DossierAccount, orders: Any, profile: Any) -> Any:
    """Dossier section: product lines most same-industry peers buy and the account does not."""
    ctx, cut, s = a.ctx, a.cut, a.s
    since = months_back(cut, 12)
    bought = set(
        orders.loc[(orders["order_date"] > since) & (orders["amount"] > 0), "product_line"]
    )
    ws_columns = ["product_line", "peers", "buyers", "share", "median_spend_12m"]
    industry = profile["industry"]
    whitespace = pd.DataFrame(columns=ws_columns)
    if industry is not None:
        peers = ctx.peer_lines[ctx.peer_lines["industry"] == industry]
        # the account itself is not its own peer
        if bought:
            own = peers["product_line"].isin(bought)
            peers = peers.assign(peers=peers["peers"] - 1, buyers=peers["buyers"] - own.astype(int))
        else:
            peers = peers.copy()
        peers = peers[peers["peers"] >= s.whitespace_min_peers]
        peers = peers.assign(share=peers["buyers"] / peers["peers"])
        whitespace = (
            peers[(peers["share"] >= s.whitespace_peer_share) & ~peers["product_line"].isin(bought)
                  & (peers["product_line"] != "unknown")][ws_columns]
            .sort_values(["share", "product_line"], ascending=[False, True])
            .reset_index(drop=True)
        )  # fmt: skip
    return since, whitespace, industry


def pipeline(a: DossierAccount) -> Any:
    """Dossier section: open deals and recent wins and losses."""
    ctx, view, cut, s, account_id, lacks = a.ctx, a.view, a.cut, a.s, a.account_id, a.lacks
    opp_cols = ["opportunity_id", "name", "product_line", "stage", "amount",
                "expected_close_date", "owner", "is_past_due"]  # fmt: skip
    deal_cols = ["opportunity_id", "name", "status", "amount", "closed_date", "lost_reason",
                 "competitor"]  # fmt: skip
    open_pipeline = pd.DataFrame(columns=opp_cols)
    recent_deals = pd.DataFrame(columns=deal_cols)
    opps_all = ctx.rows("opportunities", account_id)
    if not lacks("opportunities", "pipeline", opps_all if view.has("opportunities") else None):
        pipe = ctx.rows("pipeline", account_id)
        open_pipeline = (
            pipe.reindex(columns=opp_cols)
            .sort_values(["expected_close_date", "opportunity_id"], na_position="last")
            .reset_index(drop=True)
        )
        closed = opps_all[
            opps_all["status"].isin(["won", "lost"])
            & (opps_all["closed_date"] > cut - pd.Timedelta(days=s.recent_deals_days))
        ]
        recent_deals = (
            closed[deal_cols]
            .sort_values(["closed_date", "opportunity_id"], ascending=[False, True])
            .reset_index(drop=True)
        )
    return open_pipeline, recent_deals, opps_all


def activities(a: DossierAccount, rev: Revenue, since: Any) -> Any:
    """Dossier section: activities by quarter (the revenue section's quarters), the latest
    activities and engagement counts."""
    freq, window, quarter_label = rev.freq, rev.window, rev.quarter_label
    ctx, view, account_id, lacks = a.ctx, a.view, a.account_id, a.lacks
    acts = ctx.rows("activities", account_id)
    contacts = ctx.rows("contacts", account_id)
    act_q_cols = ["quarter", "type", "activities"]
    activities_by_quarter = pd.DataFrame(columns=act_q_cols)
    recent_activities = pd.DataFrame(columns=["date", "type", "contact_name", "owner", "notes"])
    engagement: dict[str, Any] = {}
    if not lacks("activities", "activities", acts if view.has("activities") else None):
        aq = acts[acts["date"].dt.to_period(freq) >= window[0]]
        activities_by_quarter = (
            aq.assign(quarter=aq["date"].dt.to_period(freq).map(quarter_label),
                      type=aq["type"].fillna("other"))
            .groupby(["quarter", "type"], sort=False)
            .size()
            .rename("activities")
            .reset_index()
        )  # fmt: skip
        contact_names = (
            contacts.set_index("contact_id")["name"] if len(contacts) else pd.Series(dtype=object)
        )
        latest = acts.sort_values(["date", "activity_id"], ascending=[False, False]).head(15)
        recent_activities = pd.DataFrame(
            {
                "date": latest["date"].to_numpy(),
                "type": latest["type"].astype("object").to_numpy(),
                "contact_name": latest["contact_id"].map(contact_names).astype("object").to_numpy(),
                "owner": latest["owner"].astype("object").to_numpy(),
                "notes": latest["notes"].astype("object").to_numpy(),
            }
        )
        last12 = acts[acts["date"] > since]
        kinds = last12["type"].value_counts()

        def last_of(kind: str) -> pd.Timestamp | None:
            d = acts.loc[acts["type"] == kind, "date"]
            return None if d.empty else pd.Timestamp(d.max())

        engagement = {
            "visits_12m": int(kinds.get("visit", 0)),
            "meetings_12m": int(kinds.get("meeting", 0)),
            "joint_business_meetings_12m": int(kinds.get("joint_business_meeting", 0)),
            "qbrs_12m": int(kinds.get("qbr", 0)),
            "last_visit": last_of("visit"),
            "last_joint_business_meeting": last_of("joint_business_meeting"),
        }
    return acts, contacts, activities_by_quarter, recent_activities, engagement


def service(a: DossierAccount, since: Any) -> Any:
    """Dossier section: service of the last 12 months, by priority, and open tickets."""
    ctx, view, s, account_id, lacks, feat = a.ctx, a.view, a.s, a.account_id, a.lacks, a.feat
    service: dict[str, Any] = {}
    service_by_priority = pd.DataFrame()
    open_tickets = pd.DataFrame(
        columns=["ticket_id", "opened_at", "priority", "department", "age_days", "escalated"]
    )
    trend = None
    tickets = ctx.rows("tickets", account_id) if ctx.tickets is not None else pd.DataFrame()
    if not lacks("service_tickets", "service", tickets if view.has("service_tickets") else None):
        t12 = tickets[tickets["opened_at"] > since]
        overall = service_summary(t12, aged_days=s.backlog_alert_days)
        row = overall.iloc[0] if len(overall) else None
        sa = ctx.service_accounts
        if sa is not None and (sa["account_id"] == account_id).any():
            trend = sa[sa["account_id"] == account_id].iloc[0]
        service = {
            "tickets_12m": int(len(t12)),
            "median_response_hours": _nan_none(row["median_response_hours"]) if row is not None else None,
            "median_resolution_hours": _nan_none(row["median_resolution_hours"]) if row is not None else None,
            "response_breach_rate": _nan_none(row["response_breach_rate"]) if row is not None else None,
            "resolution_breach_rate": _nan_none(row["resolution_breach_rate"]) if row is not None else None,
            "escalation_rate": _nan_none(row["escalation_rate"]) if row is not None else None,
            "open_tickets": int(tickets["is_open"].sum()),
            "service_deteriorating": bool(trend["deteriorating"]) if trend is not None else False,
            "slowdown_ratio": _nan_none(trend["slowdown_ratio"]) if trend is not None else None,
            "revenue_growth_12m": _nan_none(feat("growth_12m")),
        }  # fmt: skip
        if ctx.p_alive is not None:
            service["p_alive"] = _nan_none(ctx.p_alive.get(account_id, np.nan))
        service_by_priority = service_summary(t12, "priority", aged_days=s.backlog_alert_days)
        open_tickets = (
            tickets[tickets["is_open"]][
                ["ticket_id", "opened_at", "priority", "department", "age_days", "escalated"]
            ]
            .sort_values("age_days", ascending=False)
            .reset_index(drop=True)
        )
    return service, service_by_priority, open_tickets, trend, tickets


def score(a: DossierAccount) -> Any:
    """Dossier section: score and tier, their movement since the comparison date, and the top drivers."""
    ctx, account_id = a.ctx, a.account_id
    score: dict[str, Any] = {}
    score_drivers = pd.DataFrame(
        columns=["indicator", "raw_value", "points", "weight", "contribution"]
    )
    if ctx.scores is not None:
        now = ctx.scores[ctx.scores["account_id"] == account_id]
        before = (
            ctx.previous_scores[ctx.previous_scores["account_id"] == account_id]
            if ctx.previous_scores is not None
            else pd.DataFrame()
        )
        if len(now):
            r = now.iloc[0]
            tiers = (
                [t.key for t in ctx.methodology.scoring.tiers] if ctx.methodology.scoring else []
            )
            movement = "new"
            prev_tier = prev_score = None
            if len(before):
                b = before.iloc[0]
                prev_tier, prev_score = str(b["tier"]), float(b["score"])
                if prev_tier in tiers and str(r["tier"]) in tiers:
                    delta = tiers.index(prev_tier) - tiers.index(str(r["tier"]))
                    movement = "up" if delta > 0 else "down" if delta < 0 else "same"
            score = {
                "score": float(r["score"]), "tier": str(r["tier"]), "rank": int(r["rank"]),
                "previous_score": prev_score, "previous_tier": prev_tier,
                "compare_date": ctx.compare_date, "movement": movement,
            }  # fmt: skip
        if ctx.explanations is not None:
            ex = ctx.explanations[ctx.explanations["account_id"] == account_id]
            score_drivers = (
                ex.reindex(columns=["indicator", "raw_value", "points", "weight", "contribution"])
                .sort_values("contribution", ascending=False)
                .head(8)
                .reset_index(drop=True)
            )
            score_drivers["raw_value"] = score_drivers["raw_value"].map(_short)
    return score, score_drivers


def account_power_map(a: DossierAccount, contacts: Any, acts: Any, open_pipeline: Any) -> Any:
    """Dossier section: the power map of the account's contacts and open deals."""
    view, cut, s, account_id, missing = a.view, a.cut, a.s, a.account_id, a.missing
    links = None
    if view.has("opportunity_contacts") and len(open_pipeline):
        oc = view.opportunity_contacts
        links = oc[oc["opportunity_id"].isin(open_pipeline["opportunity_id"])]
    if view.has("contacts"):
        if contacts.empty:
            missing.append(
                {"what": "contacts", "section": "power_map", "why": "no rows for the account"}
            )
        pm = build_power_map(
            contacts, acts if view.has("activities") else None, cut=cut,
            account_id=account_id, settings=s,
            opportunities=open_pipeline if len(open_pipeline) else None,
            opportunity_contacts=links,
        )  # fmt: skip
    else:
        missing.append({"what": "contacts", "section": "power_map", "why": "table not imported"})
        pm = build_power_map(_empty_contacts(), None, cut=cut, account_id=account_id, settings=s)
    return pm


def plan(a: DossierAccount, orders: Any, opps_all: Any) -> Any:
    """Dossier section: the account's OGSM targets and plan items."""
    fy = a.ctx.methodology.fiscal_year_start_month
    ctx, view, cut, account_id, missing, match = (
        a.ctx,
        a.view,
        a.cut,
        a.account_id,
        a.missing,
        a.match,
    )
    targets = None
    plan_items = pd.DataFrame(
        columns=["item_id", "target_id", "title", "owner", "due_date", "status", "kind",
                 "overdue", "days_overdue"]
    )  # fmt: skip
    if view.has("targets"):
        mine = ctx.rows("targets", account_id)
        if len(mine):
            period = _quarter_of(cut, fy)
            targets = progress_of(
                mine, ctx.target_depths, ctx.target_issues, accounts=match,
                orders=orders, opportunities=opps_all if view.has("opportunities") else None,
                plan_items=ctx.rows("plan_items", account_id) if view.has("plan_items") else None,
                period=period, cut=cut, methodology=ctx.methodology, account_id=account_id,
            )  # fmt: skip
        else:
            missing.append({"what": "targets", "section": "plan", "why": "no rows for the account"})
    else:
        missing.append({"what": "targets", "section": "plan", "why": "table not imported"})
    items = ctx.rows("plan_items", account_id)
    if view.has("plan_items") and len(items):
        plan_items = (
            plan_item_status(items, cut=cut).drop(columns="account_id").reset_index(drop=True)
        )
    return targets, plan_items


# -- helpers -------------------------------------------------------------------------------------
def _quarter_of(cut: pd.Timestamp, fiscal_start: int) -> str:
    return period_of(cut.date(), "quarterly", fiscal_year_start_month=fiscal_start).label


def _num(value: Any) -> float | None:
    if value is None or value is pd.NA:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(v) else v


def _nan_none(value: Any) -> float | None:
    return _num(value)


def _short(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _empty_contacts() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="object") for c in
         ("contact_id", "account_id", "name", "title", "department", "buying_role", "influence",
          "support", "reaction_mode", "business_challenges", "email", "phone",
          "last_contact_date")}
    )  # fmt: skip
