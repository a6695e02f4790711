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
- **Registry data** (:mod:`kamlib.research.registry`): the newest ``firmographics``
  retrieval on or before ``as_of`` with its source and date, and the ``company_events`` of
  the last ``registry_event_months`` (24); enforcement, abnormal operation and
  dishonest-debtor records, capital reductions, penalties and name changes become findings.
  Without those tables (no ``kam enrich`` yet) the registry part is empty and says so; it is
  not listed in ``missing`` (an enrichment, not a gap in the account's records).
- **Missing data**: a table that was not imported or holds no row of the account leaves its
  section empty; ``AccountDossier.missing`` names each such section (and a low-severity
  finding says so), the dossier still renders.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from kamlib.data.kamdata import KamData
from kamlib.display import Brief, ShowsBrief, table_size
from kamlib.errors import DataValidationError
from kamlib.methodology import Methodology, resolve_methodology
from kamlib.periods import as_day
from kamlib.research import sections
from kamlib.research._common import settings_of
from kamlib.research.context import ResearchContext, research_context
from kamlib.research.decision_makers import PowerMap, build_power_map
from kamlib.research.findings import account_findings, rank_findings
from kamlib.research.masking import PiiMasker
from kamlib.research.ogsm import (
    OgsmResult,
    status_rule_text,
)
from kamlib.research.registry import RegistrySection, registry_section
from kamlib.research.sales_process import account_competitors, playbook_gaps


# -- the dossier ---------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class AccountDossier(ShowsBrief):
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
    competitors
        The competitors met on the account's deals (:mod:`kamlib.research.sales_process`):
        :data:`kamlib.sales.MET_COLUMNS` — deals met closed and open, won, lost to them or
        otherwise, last met, price delta.
    playbook_gaps
        The open deals that owe their stage required tasks or bid-readiness items:
        ``opportunity_id, name, stage, process, amount, next_tasks`` (task codes),
        ``readiness`` (0–1 at the bid stage, else NaN), ``missing`` (checklist item keys).
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
    registry
        The company as the registry sees it (:class:`~kamlib.research.registry.RegistrySection`):
        the profile with its source and retrieval date, the events of the window, and
        whether the store had the tables.
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
    competitors: pd.DataFrame
    playbook_gaps: pd.DataFrame
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
    registry: RegistrySection | None = None

    def summary(self) -> pd.DataFrame:
        """Profile as a frame: ``measure, value``."""
        return pd.DataFrame({"measure": list(self.profile), "value": list(self.profile.values())})

    def _brief(self) -> Brief:
        frames = {
            f".{name}": table_size(value)
            for name, value in vars(self).items()
            if isinstance(value, pd.DataFrame)
        }
        return Brief(
            "AccountDossier",
            {
                "account": f"{self.name} ({self.account_id})",
                "as of": self.as_of,
                "masked": self.masked,
                "findings": len(self.findings),
                "contacts": len(self.power_map.contacts),
            },
            frames,
        )


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
    a = sections.DossierAccount(ctx=ctx, account_id=account_id, acc=match.iloc[0], match=match)
    missing, feat = a.missing, a.feat
    profile, group, subsidiaries = sections.profile_and_group(a)
    rev = sections.revenue(a)
    since, whitespace, industry = sections.whitespace(a, rev.orders, profile)
    open_pipeline, recent_deals, opps_all = sections.pipeline(a)
    acts, contacts, activities_by_quarter, recent_activities, engagement = sections.activities(
        a, rev, since
    )
    service, service_by_priority, open_tickets, trend, tickets = sections.service(a, since)
    score, score_drivers = sections.score(a)
    pm = sections.account_power_map(a, contacts, acts, open_pipeline)
    targets, plan_items = sections.plan(a, rev.orders, opps_all)
    # last: a store without the sales-process tables lists them after the older sections
    competitors = account_competitors(a)
    gaps = playbook_gaps(a)
    registry = registry_section(a)

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
        registry = _masked_registry(registry, masker)
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
        plan_items=plan_items, playbook_gaps=gaps, missing=missing,
        registry_events=registry.events,
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
        name=str(a.acc["name"]),
        as_of=cut,
        masked=bool(mask_pii),
        profile=profile,
        group=group,
        subsidiaries=subsidiaries.reset_index(drop=True),
        revenue_by_quarter=rev.by_quarter,
        revenue_by_product_line=rev.by_line,
        revenue_by_quarter_line=rev.by_quarter_line,
        share_of_wallet=rev.share_of_wallet,
        whitespace=whitespace,
        open_pipeline=open_pipeline,
        recent_deals=recent_deals,
        competitors=competitors,
        playbook_gaps=gaps,
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
        registry=registry,
    )


def _masked_registry(registry: RegistrySection, masker: PiiMasker) -> RegistrySection:
    """The registry part of a masked dossier: a legal representative's name (the before and
    after of its change) is a person's name, so it gets a pseudonym."""
    events = registry.events
    people = events["type"] == "legal_representative_change"
    if not people.any():
        return registry
    events = events.copy()
    for col in ("before", "after"):
        events[col] = events[col].astype(object)
        events.loc[people, col] = [masker.person(v) if v else v for v in events.loc[people, col]]
    return dataclasses.replace(registry, events=events)


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
    settings = settings_of(methodology, owner="power_map")
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
