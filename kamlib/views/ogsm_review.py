"""The OGSM review report (``notebooks/ogsm_review.ipynb``) as one view.

:func:`ogsm_review` resolves the data, the methodology, the date and the period once, runs
:func:`kamlib.research.ogsm_progress` and :func:`kamlib.research.service_responsiveness`, and
returns an :class:`OgsmReview` whose frames are already cut to what each section shows
(company targets; team and manager targets of the period; account targets that are missed,
off track or at risk; overdue plan items …), with category values in the report's language.
A section that cannot be computed for the data (no ``targets`` or no ``service_tickets``
table) is empty and ``notices`` says why; bugs raise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from kamlib.data import KamData
from kamlib.methodology import Methodology, resolve_methodology
from kamlib.methodology.labels import check_lang
from kamlib.periods import as_day, period_of
from kamlib.research import OgsmResult, ServiceResult, ogsm_progress, service_responsiveness
from kamlib.research.ogsm import ISSUE_COLUMNS, PROGRESS_COLUMNS, status_rule_text
from kamlib.views.notices import Notices, resolve_data
from kamlib.views.values import translated

#: Statuses of an account target the review lists.
ALERT_STATUSES = ("missed", "off_track", "at_risk")
#: Columns of the account-targets table.
ACCOUNT_COLUMNS = [
    "target_id", "account_id", "owner", "period", "measure", "target_value", "actual",
    "attainment", "pace", "status", "plan_items", "overdue_items",
]  # fmt: skip


@dataclass(frozen=True)
class OgsmReview:
    """What the OGSM review shows (see :func:`ogsm_review`).

    ``key_figures`` and ``rules`` (label key → value); chart frames (values as label keys):
    ``company_progress`` (every company target overlapping the period), ``team_progress``
    and ``manager_progress`` (targets of the period; managers' revenue targets); display
    frames (values in ``lang``): ``team_owners``, ``manager_owners``, ``account_alerts``,
    ``overdue_plan_items``, ``cascade_issues``, ``service_by_priority``,
    ``service_by_department``, ``service_by_region``, ``service_stalls``,
    ``deteriorating_accounts``, ``notices``.  ``has_service`` says whether service tickets
    were analysed; ``review`` and ``service`` are the analyses (``None`` when they failed).
    """

    review: OgsmResult | None
    service: ServiceResult | None
    lang: str
    currency: str
    period: str
    notices: pd.DataFrame
    key_figures: dict[str, Any]
    company_progress: pd.DataFrame
    team_progress: pd.DataFrame
    team_owners: pd.DataFrame
    manager_progress: pd.DataFrame
    manager_owners: pd.DataFrame
    account_alerts: pd.DataFrame
    overdue_plan_items: pd.DataFrame
    cascade_issues: pd.DataFrame
    has_service: bool
    service_by_priority: pd.DataFrame
    service_by_department: pd.DataFrame
    service_by_region: pd.DataFrame
    service_stalls: pd.DataFrame
    deteriorating_accounts: pd.DataFrame
    rules: dict[str, str]


def ogsm_review(
    data: KamData | str | Path,
    methodology: Methodology | str | Path | None = None,
    *,
    as_of: object,
    period: str = "",
    lang: str = "en",
    mask_pii: bool = False,
) -> OgsmReview:
    """The OGSM review of ``period`` (default: the fiscal quarter of ``as_of``) as of a date.

    ``data``: a KamData or a store path; ``methodology``: a Methodology, a file path, or
    ``None`` / ``""`` for kamlib's default; ``mask_pii``: owners' names as pseudonyms.
    """
    owner = "ogsm_review"
    check_lang(lang)
    kam = resolve_data(data, owner=owner)
    meth = resolve_methodology(methodology, owner=owner)
    day = as_day(as_of, owner=owner)
    settings = meth.research_settings
    period = (
        period
        or period_of(
            day.date(), "quarterly", fiscal_year_start_month=meth.fiscal_year_start_month
        ).label
    )
    notices = Notices()
    notices.state_revenue_basis(kam)

    review = None
    with notices.section("ogsm_review"):
        review = ogsm_progress(kam, period=period, as_of=day, methodology=meth, mask_pii=mask_pii)
    if review is not None:
        progress, by_owner = review.progress, review.by_owner
        plan_items, issues = review.plan_items, review.issues
    else:
        progress = pd.DataFrame(columns=PROGRESS_COLUMNS)
        by_owner = pd.DataFrame(columns=["level", "owner", "team", "targets"])
        plan_items = pd.DataFrame(columns=["item_id", "title", "owner", "due_date", "overdue"])
        issues = pd.DataFrame(columns=ISSUE_COLUMNS)
    if review is not None:
        period = review.period
    in_period = progress[progress["period"] == period]

    service = None
    if kam.has("service_tickets"):
        with notices.section("service_history"):
            service = service_responsiveness(kam, as_of=day, methodology=meth)
    empty = pd.DataFrame()
    alerts = progress[(progress["level"] == "account") & progress["status"].isin(ALERT_STATUSES)]
    return OgsmReview(
        review=review,
        service=service,
        lang=lang,
        currency=meth.currency,
        period=period,
        notices=notices.table(lang),
        key_figures={
            "period": period,
            "as_of": day if review is None else review.as_of,
            "targets": len(progress),
            **progress["status"].value_counts().to_dict(),
        },
        company_progress=progress[progress["level"] == "company"],
        team_progress=in_period[in_period["level"] == "team"],
        team_owners=translated(by_owner[by_owner["level"] == "team"], lang),
        manager_progress=in_period[
            (in_period["level"] == "manager") & (in_period["measure"] == "revenue")
        ],
        manager_owners=translated(by_owner[by_owner["level"] == "manager"], lang),
        account_alerts=translated(alerts[ACCOUNT_COLUMNS], lang),
        overdue_plan_items=plan_items[plan_items["overdue"].astype(bool)],
        cascade_issues=translated(issues, lang),
        has_service=service is not None,
        service_by_priority=empty if service is None else service.by_priority,
        service_by_department=empty if service is None else service.by_department,
        service_by_region=empty if service is None else service.by_region,
        service_stalls=empty if service is None else service.stalls,
        deteriorating_accounts=(
            empty if service is None else service.accounts[service.accounts["deteriorating"]]
        ),
        rules={"ogsm_status": status_rule_text(settings)},
    )
