"""The customer research dossier: one key account's 360° view, as of a date, in one call.

:func:`account_dossier` computes everything ``notebooks/customer_research.ipynb`` shows about
one account, from the :func:`~kamlib.research.research_context` that a batch of dossiers
shares (:mod:`kamlib.research.context`): each dossier only slices its account's rows.  It is
analysis: the findings are rule keys with their parameters, in no language;
:mod:`kamlib.views.customer_research` writes them, and translates the report's categories.

Definitions
-----------
- **Group**: the account's parent (``parent_account_id``) and its direct subsidiaries; the
  group is every account under the same top parent (any depth, as
  :func:`kamlib.features.account_features` rolls groups up); ``group_revenue_12m`` sums the
  members' 12-month revenue.
- **Share of wallet** = revenue of the trailing 12 months ÷ ``category_spend`` (the
  customer's yearly spend on our category); its trend is the same ratio at each of the last
  8 quarter ends (the wallet estimate is static, so the trend follows revenue).
- **Whitespace**: product lines bought (a positive order line in the last 12 months) by at
  least ``whitespace_peer_share`` (40 %) of the account's *peers* — the other accounts of the
  same industry with a purchase in those 12 months, at least ``whitespace_min_peers`` (5) of
  them — and not bought by the account in those 12 months; with the peers' median 12-month
  spend on the line among those who buy it.
- **Comparison date** of the tier movement: the end of the quarter before ``as_of``'s
  quarter (``compare_months`` = 3 months earlier by default).
- **Missing data**: a table that was not imported or holds no row of the account leaves its
  section empty; ``AccountDossier.missing`` names each such section (and a low-severity
  finding says so), the dossier still renders.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kamlib.data.kamdata import KamData
from kamlib.errors import DataValidationError
from kamlib.methodology import Methodology, resolve_methodology
from kamlib.periods import as_day, period_of
from kamlib.research._common import months_back, settings_of, text
from kamlib.research.context import ResearchContext, research_context
from kamlib.research.decision_makers import PowerMap, build_power_map
from kamlib.research.findings import account_findings, rank_findings
from kamlib.research.masking import PiiMasker
from kamlib.research.ogsm import (
    OgsmResult,
    plan_item_status,
    progress_of,
    status_rule_text,
)
from kamlib.research.overview import revenue_frames
from kamlib.research.service import service_summary

_QUARTERS = 8
_MONTH_CODES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


# -- the dossier ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class AccountDossier:
    """One account's research dossier (see :func:`account_dossier`).

    Attributes
    ----------
    account_id, name, as_of, masked
        The account, the date, whether PII is masked.
    profile
        Firmographics: label key → value (for :func:`kamlib.views.format.facts`).
    group
        ``parent_id, parent_name, group_id, group_name, group_accounts, group_revenue_12m``.
    subsidiaries
        Direct subsidiaries: ``account_id, name, revenue_12m``.
    revenue_by_quarter, revenue_by_product_line
        As in :class:`~kamlib.research.AccountOverview` (8 quarters).
    revenue_by_quarter_line
        ``quarter, product_line, revenue`` (long, same window).
    share_of_wallet
        ``quarter, revenue_12m, category_spend, share_of_wallet`` at each quarter end.
    whitespace
        ``product_line, peers, buyers, share, median_spend_12m`` (largest share first).
    open_pipeline
        ``opportunity_id, name, product_line, stage, amount, expected_close_date, owner,
        is_past_due``.
    recent_deals
        Won / lost in the last ``recent_deals_days``: ``opportunity_id, name, status,
        amount, closed_date, lost_reason, competitor``.
    activities_by_quarter
        ``quarter, type, activities`` (long, 8 quarters).
    recent_activities
        The latest 15: ``date, type, contact_name, owner, notes``.
    engagement
        ``visits_12m, meetings_12m, joint_business_meetings_12m, qbrs_12m, last_visit,
        last_joint_business_meeting``.
    service
        Label key → value (12 months: tickets, breach rate, median response …, trend).
    service_by_priority
        :func:`kamlib.research.service.service_summary` by priority (12 months).
    open_tickets
        ``ticket_id, opened_at, priority, department, age_days, escalated``.
    score
        ``score, tier, rank, previous_score, previous_tier, compare_date, movement``
        (``up`` / ``down`` / ``same`` / ``new``) or empty when not scored.
    score_drivers
        Top indicator contributions: ``indicator, raw_value, points, weight, contribution``.
    power_map
        :class:`~kamlib.research.PowerMap`.
    targets
        :class:`~kamlib.research.OgsmResult` of the account's targets (or ``None``).
    plan_items
        The account's plan items with ``overdue`` and ``days_overdue``.
    findings
        Ranked: ``rank, rule, severity, impact, params`` (all of them; ``params`` fill the
        rule's sentence, which :mod:`kamlib.views.customer_research` writes in a language).
    missing
        ``what, section``: data that is missing and the section it leaves empty.
    rules
        Rule texts shown in the report: key → text (strength formula, OGSM status rule, the
        rule the open pipeline was found by …).
    notes
        What the research context could not compute and the fall-back used, if any
        (:attr:`ResearchContext.notes`).
    masker
        The :class:`PiiMasker` of a masked dossier (its pseudonyms also mask any text a view
        writes from the dossier), else ``None``.
    """

    account_id: str
    name: str
    as_of: pd.Timestamp
    masked: bool
    profile: dict[str, Any]
    group: dict[str, Any]
    subsidiaries: pd.DataFrame
    revenue_by_quarter: pd.DataFrame
    revenue_by_product_line: pd.DataFrame
    revenue_by_quarter_line: pd.DataFrame
    share_of_wallet: pd.DataFrame
    whitespace: pd.DataFrame
    open_pipeline: pd.DataFrame
    recent_deals: pd.DataFrame
    activities_by_quarter: pd.DataFrame
    recent_activities: pd.DataFrame
    engagement: dict[str, Any]
    service: dict[str, Any]
    service_by_priority: pd.DataFrame
    open_tickets: pd.DataFrame
    score: dict[str, Any]
    score_drivers: pd.DataFrame
    power_map: PowerMap
    targets: OgsmResult | None
    plan_items: pd.DataFrame
    findings: pd.DataFrame
    missing: pd.DataFrame
    rules: dict[str, str]
    notes: tuple[str, ...] = ()
    masker: PiiMasker | None = field(default=None, repr=False)

    def summary(self) -> pd.DataFrame:
        """Profile as a frame: ``measure, value``."""
        return pd.DataFrame({"measure": list(self.profile), "value": list(self.profile.values())})


def suggest_accounts(accounts: pd.DataFrame, wanted: str, n: int = 5) -> list[str]:
    """Close matches of ``wanted`` among account ids and names (``id (name)``)."""
    ids = accounts["account_id"].astype(str).tolist()
    names = accounts["name"].astype(str).tolist()
    by_name = dict(zip(names, ids, strict=False))
    hits = difflib.get_close_matches(str(wanted), ids, n=n, cutoff=0.5)
    hits += [by_name[m] for m in difflib.get_close_matches(str(wanted), names, n=n, cutoff=0.5)]
    name_of = dict(zip(ids, names, strict=False))
    seen = list(dict.fromkeys(hits))[:n]
    return [f"{i} ({name_of[i]})" for i in seen]


def account_dossier(
    data: KamData,
    account_id: str,
    *,
    as_of: str | pd.Timestamp,
    methodology: Methodology | str | None = None,
    scores: Any = None,
    mask_pii: bool = False,
    context: ResearchContext | None = None,
    mask_key: str | None = None,
) -> AccountDossier:
    """Everything the customer research dossier shows about ``account_id`` as of a date.

    Parameters
    ----------
    data
        The data set; ``accounts`` and ``orders`` are required, every other table optional
        (a missing one empties its section and is listed in ``missing``).
    account_id
        The account.  An unknown id raises :class:`~kamlib.errors.DataValidationError`
        suggesting close ids and names.
    as_of
        Only data dated on or before it (see :meth:`kamlib.data.KamData.as_of`).
    methodology
        Scoring, fiscal calendar and thresholds: a :class:`Methodology`, the path of a
        methodology file, or ``None`` for kamlib's default.
    scores
        Precomputed scores at ``as_of`` (``ScoreResult`` or frame), so a batch does not
        recompute them.
    mask_pii
        Replace person names, phone numbers and e-mail addresses by stable pseudonyms in
        every frame and text of the dossier (:class:`~kamlib.research.PiiMasker`).
    context
        A :func:`research_context` to reuse (default: the cached one for these arguments).
    mask_key
        Key of the pseudonyms (default :data:`kamlib.research.masking.DEFAULT_KEY`).

    Returns
    -------
    AccountDossier

    Examples
    --------
    >>> d = account_dossier(data, "A100152", as_of="2026-09-30", mask_pii=True)  # doctest: +SKIP
    >>> d.findings[["rank", "rule", "impact"]]  # doctest: +SKIP
    """
    day = as_day(as_of, owner="account_dossier")
    if context is None:
        meth = resolve_methodology(methodology, owner="account_dossier")
        context = research_context(data, as_of=day, methodology=meth, scores=scores)
    ctx = context
    cut = ctx.as_of
    if day != cut:
        raise DataValidationError(
            f"The context was built as of {cut:%Y-%m-%d}, the dossier asks for "
            f"{day:%Y-%m-%d}. Build the context with the same as_of."
        )
    s = ctx.settings
    view = ctx.view
    accounts = view.accounts
    match = accounts[accounts["account_id"] == account_id]
    if match.empty:
        close = suggest_accounts(accounts, account_id)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise DataValidationError(
            f"Account {account_id!r} is not in the accounts table as of {cut:%Y-%m-%d}.{hint} "
            "Pass an account_id from the accounts table."
        )
    acc = match.iloc[0]
    missing: list[dict[str, str]] = []

    def lacks(table: str, section: str, rows: pd.DataFrame | None = None) -> bool:
        if not view.has(table):
            missing.append({"what": table, "section": section, "why": "table not imported"})
            return True
        if rows is not None and rows.empty:
            missing.append({"what": table, "section": section, "why": "no rows for the account"})
            return True
        return False

    feats = ctx.features.loc[account_id] if account_id in ctx.features.index else None

    def feat(name: str) -> float:
        if feats is None or name not in feats:
            return float("nan")
        value = feats[name]
        return float(value) if pd.notna(value) else float("nan")

    # profile and group
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
        "share_of_wallet": _nan_none(feat("share_of_wallet")),
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

    # revenue
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
        sow_rows.append(
            {"quarter": quarter, "revenue_12m": rev, "category_spend": wallet,
             "share_of_wallet": rev / wallet if wallet and wallet > 0 else np.nan}
        )  # fmt: skip
    share_of_wallet = pd.DataFrame(
        sow_rows, columns=["quarter", "revenue_12m", "category_spend", "share_of_wallet"]
    ).astype({"category_spend": "float64", "share_of_wallet": "float64"})

    # whitespace
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

    # pipeline
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

    # activities
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

    # service
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

    # score and tier
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

    # power map
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

    # OGSM targets and plan items
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

    # masking: before any text or chart is made from the frames
    if mask_pii:
        masker = PiiMasker(key=mask_key) if mask_key else PiiMasker()
        staff = [profile["owner"], *open_pipeline.get("owner", []), *recent_activities.get("owner", []),
                 *plan_items.get("owner", [])]  # fmt: skip
        if targets is not None:
            staff += list(targets.progress["owner"]) + list(targets.plan_items["owner"])
        masker.learn(
            persons=pm.contacts["name"], staff=[x for x in staff if isinstance(x, str)],
            emails=pm.contacts["email"], phones=pm.contacts["phone"],
        )  # fmt: skip
        pm = PowerMap(
            contacts=masker.mask_contacts(pm.contacts), roles=pm.roles,
            deals=masker.mask_frame(pm.deals), gaps=masker.mask_frame(pm.gaps),
            strength=pm.strength, issues=pm.issues,
        )  # fmt: skip
        profile["owner"] = masker.staff(profile["owner"])
        open_pipeline = masker.mask_frame(open_pipeline)
        recent_deals = masker.mask_frame(recent_deals)
        recent_activities = masker.mask_frame(recent_activities)
        plan_items = masker.mask_frame(plan_items)
        if targets is not None:
            targets = OgsmResult(
                progress=masker.mask_frame(targets.progress), issues=targets.issues,
                plan_items=masker.mask_frame(targets.plan_items),
                by_owner=masker.mask_frame(targets.by_owner), period=targets.period,
                as_of=targets.as_of,
            )  # fmt: skip
    else:
        masker = None

    # findings
    items_found = account_findings(
        ctx, account_id, feats=feat, pm=pm, open_pipeline=open_pipeline,
        recent_deals=recent_deals, service=service, tickets=tickets, trend=trend,
        score=score, whitespace=whitespace, industry=industry, targets=targets,
        plan_items=plan_items, missing=missing,
    )  # fmt: skip
    ranked = rank_findings(items_found)
    findings = pd.DataFrame(
        {
            "rank": range(1, len(ranked) + 1),
            "rule": [f["rule"] for f in ranked],
            "severity": [int(f["severity"]) for f in ranked],
            "impact": [float(f["impact"]) for f in ranked],
            "params": [f["params"] for f in ranked],
        },
        columns=["rank", "rule", "severity", "impact", "params"],
    )
    rules = {
        "relationship_strength": (
            f"strength = 100 × ({s.strength_support_weight:g} × (support + 2) / 4 + "
            f"{s.strength_recency_weight:g} × exp(−days since last contact / "
            f"{s.strength_recency_scale_days:g}) + {s.strength_frequency_weight:g} × "
            f"min(activities in {s.relationship_window_days} days / "
            f"{s.strength_full_frequency:g}, 1)); account = influence-weighted mean"
        ),
        "ogsm_status": status_rule_text(s),
        "whitespace": (
            f"product lines bought in the last 12 months by ≥ {s.whitespace_peer_share:.0%} of "
            f"at least {s.whitespace_min_peers} same-industry peers, not by this account"
        ),
        "share_of_wallet": "revenue of the trailing 12 months ÷ category_spend",
    }
    if view.has("opportunities"):
        rules["open_pipeline"] = ctx.pipeline_rule
    return AccountDossier(
        account_id=str(account_id),
        name=str(acc["name"]),
        as_of=cut,
        masked=bool(mask_pii),
        profile=profile,
        group=group,
        subsidiaries=subsidiaries.reset_index(drop=True),
        revenue_by_quarter=by_quarter,
        revenue_by_product_line=by_line,
        revenue_by_quarter_line=by_quarter_line,
        share_of_wallet=share_of_wallet,
        whitespace=whitespace,
        open_pipeline=open_pipeline,
        recent_deals=recent_deals,
        activities_by_quarter=activities_by_quarter,
        recent_activities=recent_activities,
        engagement=engagement,
        service=service,
        service_by_priority=service_by_priority,
        open_tickets=open_tickets,
        score=score,
        score_drivers=score_drivers,
        power_map=pm,
        targets=targets,
        plan_items=plan_items,
        findings=findings,
        missing=pd.DataFrame(missing, columns=["what", "section", "why"]),
        rules=rules,
        notes=ctx.notes,
        masker=masker,
    )


def power_map(
    data: KamData,
    account_id: str,
    *,
    as_of: str | pd.Timestamp,
    methodology: Methodology | str | None = None,
) -> PowerMap:
    """The power map of one account as of a date (rules: :mod:`kamlib.research.decision_makers`).

    Needs ``contacts``; uses ``activities``, ``opportunities`` and ``opportunity_contacts``
    when present.
    """
    cut = as_day(as_of, owner="power_map")
    settings = settings_of(resolve_methodology(methodology, owner="power_map"))
    view = data.as_of(cut)
    contacts = view.require("contacts", "The power map")
    accounts = view.require("accounts", "The power map")
    if not (accounts["account_id"] == account_id).any():
        close = suggest_accounts(accounts, account_id)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise DataValidationError(
            f"Account {account_id!r} is not in the accounts table as of {cut:%Y-%m-%d}.{hint}"
        )
    acts = view.activities if view.has("activities") else None
    if acts is not None:
        acts = acts[acts["account_id"] == account_id]
    opps = links = None
    if view.has("opportunities"):
        o = view.opportunities
        opps = o[(o["account_id"] == account_id) & (o["status"] == "open")]
        if view.has("opportunity_contacts"):
            links = view.opportunity_contacts
    return build_power_map(
        contacts[contacts["account_id"] == account_id], acts, cut=cut, account_id=account_id,
        settings=settings, opportunities=opps, opportunity_contacts=links,
    )  # fmt: skip


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


def _money(value: float, currency: str) -> str:
    return f"{currency} {value:,.0f}"


def _empty_contacts() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="object") for c in
         ("contact_id", "account_id", "name", "title", "department", "buying_role", "influence",
          "support", "reaction_mode", "business_challenges", "email", "phone",
          "last_contact_date")}
    )  # fmt: skip
