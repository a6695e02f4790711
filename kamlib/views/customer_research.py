"""The customer research dossier report (``notebooks/customer_research.ipynb``) as one view.

:func:`customer_research` resolves the data, the methodology and the date once, builds the
account's :class:`~kamlib.research.AccountDossier` (analysis, no language) and returns a
:class:`CustomerResearch` whose attributes are ready for :func:`kamlib.views.format.table` /
:func:`~kamlib.views.format.facts` and the charts of :mod:`kamlib.charts`: the findings and
actions written in the report's language, category values translated, the columns each table
shows chosen.  What the research context could not compute (scores, P(alive), the
point-in-time pipeline — and the fall-back rule used instead) is in ``notices``.

The sales-process sections (:mod:`kamlib.research.sales_process`): the competitors met on the
account's deals and the open deals' playbook gaps, which also become one next action per deal
(:func:`~kamlib.views.research_findings.with_playbook_actions`).  On a store without the
``opportunity_competitors`` or ``tasks`` table the section is empty, its empty-table sentence
says which table it needs, and a notice says how to map it (the texts of the sales-process
review, :data:`kamlib.views.sales_process_review.NEEDS`); the rest of the report stands.

The registry part of the profile (:mod:`kamlib.research.registry`, written by
:mod:`kamlib.views.registry_display`): the account's newest registry record with its source
and retrieval date, and the registry events of the last ``research.registry_event_months``;
on a store without ``firmographics`` (no ``kam enrich`` yet) the profile says what is needed
and a notice says how to get it.

An account that is not in the data (or a missing ``accounts`` / ``orders`` table) raises: the
report has nothing to show without it.  Bugs raise too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from kamlib.data import KamData
from kamlib.methodology import Methodology, resolve_methodology
from kamlib.methodology.labels import check_lang, label
from kamlib.periods import as_day
from kamlib.research import AccountDossier, account_dossier, research_context
from kamlib.views.notices import Notices, resolve_account, resolve_data
from kamlib.views.registry_display import (
    NEEDS_FIRMOGRAPHICS,
    registry_empty_text,
    registry_events_empty_text,
    registry_events_frame,
    registry_facts,
)
from kamlib.views.research_findings import actions_frame, findings_frame, with_playbook_actions
from kamlib.views.sales_process_review import NEEDS
from kamlib.views.values import listed, playbook_labels, translated

#: Columns of the power-map contacts table (``name`` is shown as ``contact_name``).
CONTACT_COLUMNS = [
    "name", "title", "buying_role", "influence", "support", "stance", "reaction_mode",
    "last_contact_date", "days_since_contact", "strength", "business_challenges", "email", "phone",
]  # fmt: skip
#: Columns of the account's targets table.
TARGET_COLUMNS = [
    "target_id", "period", "objective", "measure", "target_value", "actual", "attainment", "pace",
    "status",
]  # fmt: skip
#: dossier section with a sales-process table → (report section label key, the table, the
#: empty-table sentence when the store has the table, when it lacks it)
SALES_SECTIONS = {
    "competitors": (
        "account_competitors_section", "opportunity_competitors", "no_competitors_met",
        "needs_competitors_table",
    ),
    "playbook_gaps": ("playbook_gaps_section", "tasks", "no_playbook_gaps", "needs_tasks_table"),
}  # fmt: skip


@dataclass(frozen=True)
class CustomerResearch:
    """What the customer research report shows (see :func:`customer_research`).

    Display frames (category values in ``lang``): ``top_findings``, ``findings``,
    ``ranked_findings`` (every column: ``rank, rule, severity, impact, finding, rule_text``),
    ``actions`` (one per top finding, and one per open deal with playbook gaps),
    ``subsidiaries``, ``whitespace``, ``score_drivers``, ``recent_activities``,
    ``contacts``, ``roles``, ``gaps``, ``deal_coverage``, ``open_pipeline``, ``recent_deals``,
    ``competitors`` (met on the account's deals), ``playbook_gaps`` (open deals' required
    tasks not done, bid readiness), ``registry_events`` (the company's registry events of
    the window), ``empty_texts`` (section → the label key of the sentence its empty table
    shows: nothing found, or the table the store lacks), ``registry_empty`` /
    ``registry_events_empty`` (the same for the registry profile and events),
    ``service_by_priority``, ``open_tickets``, ``targets`` (``None`` without
    targets), ``plan_items``, ``missing``, ``notices``.  Facts (label key → value):
    ``profile``, ``registry`` (empty without a registry record), ``group``, ``score``,
    ``engagement``, ``relationship``, ``service``, ``rules``.  Chart frames (values as label
    keys; the charts translate): ``revenue_by_quarter``, ``revenue_by_product_line``,
    ``share_of_wallet``, ``activities_by_quarter``, ``power_map_contacts``,
    ``targets_progress`` (``None`` without targets).  ``dossier`` is the analysis the view
    was built from.
    """

    dossier: AccountDossier
    lang: str
    currency: str
    high_influence: int
    masked: bool
    notices: pd.DataFrame
    top_findings: pd.DataFrame
    findings: pd.DataFrame
    ranked_findings: pd.DataFrame
    actions: pd.DataFrame
    profile: dict[str, Any]
    group: dict[str, Any]
    subsidiaries: pd.DataFrame
    revenue_by_quarter: pd.DataFrame
    revenue_by_product_line: pd.DataFrame
    share_of_wallet: pd.DataFrame
    whitespace: pd.DataFrame
    score: dict[str, Any]
    score_drivers: pd.DataFrame
    engagement: dict[str, Any]
    activities_by_quarter: pd.DataFrame
    recent_activities: pd.DataFrame
    relationship: dict[str, Any]
    power_map_contacts: pd.DataFrame
    contacts: pd.DataFrame
    roles: pd.DataFrame
    gaps: pd.DataFrame
    deal_coverage: pd.DataFrame
    open_pipeline: pd.DataFrame
    recent_deals: pd.DataFrame
    competitors: pd.DataFrame
    playbook_gaps: pd.DataFrame
    empty_texts: dict[str, str]
    service: dict[str, Any]
    service_by_priority: pd.DataFrame
    open_tickets: pd.DataFrame
    targets_progress: pd.DataFrame | None
    targets: pd.DataFrame | None
    plan_items: pd.DataFrame
    missing: pd.DataFrame
    rules: dict[str, str]
    registry: dict[str, Any]
    registry_events: pd.DataFrame
    registry_empty: str
    registry_events_empty: str


def customer_research(
    data: KamData | str | Path,
    methodology: Methodology | str | Path | None = None,
    *,
    account_id: str = "",
    as_of: object,
    lang: str = "en",
    mask_pii: bool = False,
) -> CustomerResearch:
    """The customer research report of ``account_id`` as of a date, in ``lang``.

    Parameters
    ----------
    data
        A :class:`~kamlib.data.KamData` or the path of a store.
    methodology
        A :class:`~kamlib.methodology.Methodology`, the path of a methodology file, or
        ``None`` / ``""`` for kamlib's default.
    account_id
        The account (an unknown id raises, suggesting close ids and names).
    as_of
        The report date (``YYYY-MM-DD``).
    lang
        ``en`` or ``zh``.
    mask_pii
        Replace person names, phones and e-mails by stable pseudonyms everywhere.
    """
    owner = "customer_research"
    check_lang(lang)
    kam = resolve_data(data, owner=owner)
    meth = resolve_methodology(methodology, owner=owner)
    day = as_day(as_of, owner=owner)
    settings = meth.research_settings
    notices = Notices()
    notices.state_revenue_basis(kam)
    account_id = resolve_account(kam, account_id, as_of=day, notices=notices, owner=owner)
    with notices.warnings(owner):
        context = research_context(kam, as_of=day, methodology=meth)
        dossier = account_dossier(
            kam, account_id, as_of=day, methodology=meth, mask_pii=mask_pii, context=context
        )
    for note in dossier.notes:
        notices.add(owner, note)

    findings = findings_frame(dossier.findings.to_dict("records"), settings, lang=lang)
    if dossier.masker is not None:
        findings = dossier.masker.mask_frame(findings)
    labels = playbook_labels(meth, lang)
    chosen = findings.head(settings.top_findings)
    actions = with_playbook_actions(
        actions_frame(chosen, lang=lang), findings, dossier.playbook_gaps, labels=labels,
        settings=settings, lang=lang,
        proven_by={} if meth.playbooks is None else {
            i.item: i.task for i in meth.playbooks.checklist if i.task
        },
    )  # fmt: skip
    top = findings.head(len(chosen) or 5).reset_index(drop=True)
    lacking = dossier.missing[dossier.missing["why"] == "table not imported"]
    lacking = set(zip(lacking["section"], lacking["what"], strict=True))
    empty_texts = {}
    for section, (key, needed, nothing, needs) in SALES_SECTIONS.items():
        if context.sales_process is None and kam.has("opportunities"):
            nothing = "nothing_to_show"  # it could not be read: the notices say why
        empty_texts[section] = needs if (section, needed) in lacking else nothing
        if (section, needed) in lacking:
            notices.add(key, NEEDS[needed])
    registry_empty = registry_empty_text(dossier.registry)
    if registry_empty == "needs_registry_data":
        notices.add("registry_profile", NEEDS_FIRMOGRAPHICS)
    pm = dossier.power_map
    contacts = translated(pm.contacts[CONTACT_COLUMNS], lang).rename(
        columns={"name": "contact_name"}
    )
    targets = dossier.targets
    return CustomerResearch(
        dossier=dossier,
        lang=lang,
        currency=meth.currency,
        high_influence=settings.high_influence,
        masked=dossier.masked,
        notices=notices.table(lang),
        top_findings=top[["rank", "finding", "rule_text"]],
        findings=findings[["rank", "finding", "rule_text", "impact"]],
        ranked_findings=findings,
        actions=actions,
        profile=dossier.profile,
        group=dossier.group,
        subsidiaries=dossier.subsidiaries,
        revenue_by_quarter=dossier.revenue_by_quarter,
        revenue_by_product_line=dossier.revenue_by_product_line,
        share_of_wallet=dossier.share_of_wallet,
        whitespace=dossier.whitespace,
        score=dossier.score,
        score_drivers=dossier.score_drivers,
        engagement=dossier.engagement,
        activities_by_quarter=dossier.activities_by_quarter,
        recent_activities=translated(dossier.recent_activities, lang),
        relationship={"relationship_strength": pm.strength},
        power_map_contacts=pm.contacts,
        contacts=contacts,
        roles=translated(pm.roles, lang),
        gaps=translated(pm.gaps[["gap", "level", "subject", "persons"]], lang),
        deal_coverage=pm.deals,
        open_pipeline=translated(dossier.open_pipeline, lang),
        recent_deals=translated(dossier.recent_deals, lang),
        competitors=_competitors(dossier.competitors),
        playbook_gaps=_playbook_gaps(dossier.playbook_gaps, labels, lang),
        empty_texts=empty_texts,
        service=dossier.service,
        service_by_priority=dossier.service_by_priority,
        open_tickets=dossier.open_tickets,
        targets_progress=None if targets is None else targets.progress,
        targets=None if targets is None else translated(targets.progress[TARGET_COLUMNS], lang),
        plan_items=translated(dossier.plan_items, lang),
        missing=dossier.missing,
        rules=dossier.rules,
        registry=registry_facts(dossier.registry, lang),
        registry_events=registry_events_frame(dossier.registry, lang),
        registry_empty=registry_empty,
        registry_events_empty=registry_events_empty_text(dossier.registry),
    )


def _competitors(met: pd.DataFrame) -> pd.DataFrame:
    """The competitors table: label-key columns, the day last met, price as a ratio."""
    return pd.DataFrame(
        {
            "competitor": met["competitor"].to_numpy(dtype=object),
            "open_deals": met["open"].to_numpy(dtype="int64"),
            "closed_deals": met["deals"].to_numpy(dtype="int64"),
            "won": met["won"].to_numpy(dtype="int64"),
            "lost_to_them": met["lost_to_them"].to_numpy(dtype="int64"),
            "lost_to_other": met["lost_to_other"].to_numpy(dtype="int64"),
            "no_decision": met["no_decision"].to_numpy(dtype="int64"),
            "last_met": pd.to_datetime(met["last_met"]).dt.normalize().to_numpy(),
            "price_delta_ratio": met["price_delta_median"].to_numpy(dtype="float64"),
        }
    )


def _playbook_gaps(gaps: pd.DataFrame, labels: dict[str, str], lang: str) -> pd.DataFrame:
    """The playbook-gaps table: codes written as labels in ``lang``, readiness as a share."""
    return pd.DataFrame(
        {
            "opportunity_id": gaps["opportunity_id"].to_numpy(dtype=object),
            "opportunity_name": gaps["name"].to_numpy(dtype=object),
            "stage": gaps["stage"].to_numpy(dtype=object),
            "sales_process": [label(str(p), lang) for p in gaps["process"]],
            "amount": gaps["amount"].to_numpy(dtype="float64"),
            "next_tasks": [listed(c, labels, lang) for c in gaps["next_tasks"]],
            "readiness_share": gaps["readiness"].to_numpy(dtype="float64"),
            "missing": [listed(c, labels, lang) for c in gaps["missing"]],
        }
    )
