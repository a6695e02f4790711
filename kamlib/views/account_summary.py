"""The account summary report (``notebooks/account_summary.ipynb``) as one view.

:func:`account_summary` resolves the data, the methodology (for the fiscal calendar and the
currency) and the date once and returns an :class:`AccountSummary` of display-ready parts of
:func:`kamlib.research.account_overview`.  An account that is not in the data raises: the
report has nothing to show without it.
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
from kamlib.research import AccountOverview, account_overview
from kamlib.views.notices import Notices, resolve_account, resolve_data


@dataclass(frozen=True)
class AccountSummary:
    """What the account summary shows (see :func:`account_summary`): ``profile`` (label key
    → value), ``revenue_by_quarter`` and ``revenue_by_product_line`` (chart and table frames),
    ``recent_orders``, ``open_opportunities``, ``notices``; ``overview`` is the analysis."""

    overview: AccountOverview
    lang: str
    currency: str
    notices: pd.DataFrame
    profile: dict[str, Any]
    revenue_by_quarter: pd.DataFrame
    revenue_by_product_line: pd.DataFrame
    recent_orders: pd.DataFrame
    open_opportunities: pd.DataFrame


def account_summary(
    data: KamData | str | Path,
    methodology: Methodology | str | Path | None = None,
    *,
    account_id: str = "",
    as_of: object,
    lang: str = "en",
) -> AccountSummary:
    """The account summary of ``account_id`` as of a date, in ``lang`` (``data``: a KamData
    or a store path; ``methodology``: a Methodology, a file path, or ``None`` / ``""`` for
    kamlib's default)."""
    owner = "account_summary"
    check_lang(lang)
    kam = resolve_data(data, owner=owner)
    meth = resolve_methodology(methodology, owner=owner)
    day = as_day(as_of, owner=owner)
    notices = Notices()
    notices.state_revenue_basis(kam)
    account_id = resolve_account(kam, account_id, as_of=day, notices=notices, owner=owner)
    with notices.warnings(owner):
        overview = account_overview(
            kam, account_id, as_of=day, fiscal_year_start_month=meth.fiscal_year_start_month
        )
    return AccountSummary(
        overview=overview,
        lang=lang,
        currency=meth.currency,
        notices=notices.table(lang),
        profile=overview.profile(),
        revenue_by_quarter=overview.revenue_by_quarter,
        revenue_by_product_line=overview.revenue_by_product_line,
        recent_orders=overview.recent_orders,
        open_opportunities=overview.open_opportunities,
    )
