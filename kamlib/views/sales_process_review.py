"""The sales-process review report (``notebooks/sales_process_review.ipynb``) as one view.

:func:`sales_process_review` resolves the data, the methodology and the date once, builds the
sales process as known at the end of that date (:func:`kamlib.sales.sales_process_data`) and
runs the four analyses of :mod:`kamlib.sales`: playbook compliance, what goes with winning
(task effects, an association and not a cause), bid readiness of the open deals at the bid
stage, and competitive win/loss.  A section whose data the store lacks (no ``tasks`` table,
no ``opportunity_competitors``, no stage history) is empty and the notices say which table
it needs and how to map it; the other sections still render.  Bugs raise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from kamlib.data import KamData
from kamlib.methodology import Methodology, resolve_methodology
from kamlib.methodology.labels import check_lang
from kamlib.periods import as_day
from kamlib.sales import (
    ASSOCIATION_NOTE,
    CompetitiveWinLoss,
    Compliance,
    bid_readiness,
    competitive_win_loss,
    compliance,
    sales_process_data,
    task_effects,
)
from kamlib.sales.compliance import AGGREGATE_COLUMNS
from kamlib.views.notices import Notices, resolve_data
from kamlib.views.values import listed, playbook_labels

__all__ = ["SalesProcessReview", "sales_process_review"]

#: what a section needs, said in its notice when the store lacks it
NEEDS = {
    "tasks": (
        "needs a 'tasks' table (one row per task done on a deal: task_id, opportunity_id, stage, "
        "task, done_date …; Salesforce: Task, Dynamics: task activities; see the README)"
    ),
    "opportunity_competitors": (
        "needs an 'opportunity_competitors' table (opportunity_id, competitor, primary, prices; "
        "Salesforce: OpportunityCompetitor; see the README)"
    ),
}
#: task-effect columns the report shows
EFFECT_COLUMNS = [
    "task", "stage", "n_with", "n_without", "win_rate_with", "win_rate_without",
    "difference", "ci_low", "ci_high", "adjusted_difference", "adjusted_ci_low",
    "adjusted_ci_high",
]  # fmt: skip
#: competitor columns the report shows
SHOWN_COMPETITOR_COLUMNS = [
    "competitor", "deals", "won", "win_rate", "ci_low", "ci_high", "shrunk_win_rate",
    "shrunk_low", "shrunk_high", "lost_to_them", "no_decision", "price_delta_median",
]  # fmt: skip
#: competitor columns renamed so the report formats them as rates
COMPETITOR_DISPLAY = {
    "ci_low": "win_rate_low", "ci_high": "win_rate_high", "shrunk_low": "shrunk_rate_low",
    "shrunk_high": "shrunk_rate_high", "price_delta_median": "price_delta_ratio",
}  # fmt: skip
#: readiness columns the report shows
READINESS_COLUMNS = [
    "opportunity_id", "account_id", "owner", "amount", "readiness", "missing", "next_tasks",
]  # fmt: skip


@dataclass(frozen=True)
class SalesProcessReview:
    """What the sales-process review shows (see :func:`sales_process_review`).

    ``key_figures`` (label key → value); display frames whose column names are label keys:
    ``compliance_by_stage``, ``compliance_by_owner``, ``effects`` (one row per task and
    resource with its difference in win rate, in points, and intervals), ``readiness``,
    ``competitors``, ``loss_reasons``, ``funnel_losses``; ``notices``.  ``compliance`` and
    ``competition`` are the analyses (``None`` when their data is missing).
    """

    lang: str
    currency: str
    key_figures: dict[str, Any]
    compliance: Compliance | None
    competition: CompetitiveWinLoss | None
    compliance_by_stage: pd.DataFrame
    compliance_by_owner: pd.DataFrame
    effects: pd.DataFrame
    readiness: pd.DataFrame
    competitors: pd.DataFrame
    loss_reasons: pd.DataFrame
    funnel_losses: pd.DataFrame
    notices: pd.DataFrame


def sales_process_review(
    data: KamData | str | Path,
    methodology: Methodology | str | Path | None = None,
    *,
    as_of: object,
    lang: str = "en",
) -> SalesProcessReview:
    """The sales-process review as of a date, in ``lang`` (``data``: a KamData or a store
    path; ``methodology``: a Methodology, a file path, or ``None`` / ``""`` for kamlib's
    default, whose ``playbooks`` section gives the stage tasks and the bid checklist)."""
    owner = "sales_process_review"
    check_lang(lang)
    kam = resolve_data(data, owner=owner)
    meth = resolve_methodology(methodology, owner=owner)
    day = as_day(as_of, owner=owner)
    notices = Notices()
    process = None
    with notices.section(owner):
        process = sales_process_data(kam, as_of=day, methodology=meth)
    labels = playbook_labels(meth, lang)
    comp, competition = None, None
    effects = pd.DataFrame(columns=EFFECT_COLUMNS)
    readiness = pd.DataFrame(columns=READINESS_COLUMNS)
    if process is not None:
        for row in process.notices.itertuples():  # data quality: what was assumed or dropped
            notices.add(owner, f"{row.check} ({row.rows:,} rows): {row.handling}")
    if process is not None and process.done_tasks is None:
        for section in ("compliance_section", "task_effects_section", "bid_readiness_section"):
            notices.add(section, NEEDS["tasks"])
    elif process is not None:
        with notices.section("compliance_section"):
            comp = compliance(process)
        with notices.section("task_effects_section"):
            found = task_effects(process)
            effects = found[EFFECT_COLUMNS].assign(
                task=found["task"].map(labels).fillna(found["task"])
            )
            effects = effects.sort_values("difference", ascending=False, kind="stable")
        notices.add("task_effects_section", ASSOCIATION_NOTE)
        with notices.section("bid_readiness_section"):
            found = bid_readiness(process)[READINESS_COLUMNS]  # least ready first
            readiness = found.assign(
                missing=found["missing"].map(lambda codes: listed(codes, labels, lang)),
                next_tasks=found["next_tasks"].map(lambda codes: listed(codes, labels, lang)),
            )
    if process is not None and process.competitors is None:
        notices.add("competition_section", NEEDS["opportunity_competitors"])
    elif process is not None:
        with notices.section("competition_section"):
            competition = competitive_win_loss(process)
    readiness = readiness.rename(columns={"readiness": "readiness_share"})
    competitors = (
        pd.DataFrame(columns=SHOWN_COMPETITOR_COLUMNS)
        if competition is None
        else competition.competitors[SHOWN_COMPETITOR_COLUMNS]
    ).rename(columns=COMPETITOR_DISPLAY)
    summary = comp.summary() if comp is not None else {}
    key_figures: dict[str, Any] = {
        "as_of": day,
        "deals_assessed": summary.get("deals"),
        "share_done_in_time": summary.get("share_done_in_time"),
        "share_deals_compliant": summary.get("share_deals_compliant"),
        "open_bids": len(readiness),
        "competitors_met": len(competitors),
    }
    if len(effects):
        clear = effects[(effects["ci_low"] > 0) | (effects["ci_high"] < 0)]
        key_figures["tasks_with_clear_difference"] = len(clear)
    return SalesProcessReview(
        lang=lang,
        currency=meth.currency,
        key_figures=key_figures,
        compliance=comp,
        competition=competition,
        compliance_by_stage=_compliance(comp, "by_stage", "stage"),
        compliance_by_owner=_compliance(comp, "by_owner", "owner"),
        effects=effects.reset_index(drop=True),
        readiness=readiness.reset_index(drop=True),
        competitors=competitors.reset_index(drop=True),
        loss_reasons=pd.DataFrame() if competition is None else competition.loss_reasons,
        funnel_losses=pd.DataFrame() if competition is None else competition.funnel_losses,
        notices=notices.table(lang),
    )


def _compliance(comp: Compliance | None, attr: str, key: str) -> pd.DataFrame:
    if comp is None:
        return pd.DataFrame(columns=[key, *AGGREGATE_COLUMNS])
    return getattr(comp, attr)[[key, *AGGREGATE_COLUMNS]].reset_index(drop=True)
