"""The portfolio review's "company size vs our revenue" section (大企业≠大客户).

:func:`company_size` takes a :class:`~kamlib.views.portfolio.PortfolioReview` (its group,
date, language and the accounts' 12-month revenue) and the data (its ``firmographics``), and
returns a :class:`CompanySizeReview` whose methods give the section's figures, chart frame,
quadrant table and the table of the top *potential* (big company, small customer) and
*dependency* (small company, big customer) accounts, in the review's language.  The
analysis — size from the newest registry record on or before the date, the median cuts, the
quadrants — is :mod:`kamlib.segmentation.company_size`.

The registry data is optional (``firmographics`` is no need of the report: a store without
it still renders the portfolio review).  Without it, or when no account of the group has a
size, the section is marked unavailable: its chart and tables say what is needed
(``kam enrich`` with a registry export; README, "Company registry data") and the rest of the
report stands.  Bugs raise.

Example
-------
>>> review = portfolio_review(data, as_of="2026-09-30")  # doctest: +SKIP
>>> size = company_size(review, data, measure="insured_headcount")  # doctest: +SKIP
>>> size.top_accounts()  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kamlib.data import KamData
from kamlib.errors import KamlibError
from kamlib.methodology.labels import check_lang, label
from kamlib.segmentation.company_size import (
    SIZE_QUADRANTS,
    CompanySizeMatrix,
    check_size_measure,
    company_size_matrix,
    company_sizes,
)
from kamlib.views.format import format_currency, format_date, format_number
from kamlib.views.notices import resolve_data
from kamlib.views.portfolio import PortfolioReview
from kamlib.views.portfolio_sections import AVAILABLE, SectionStatus, chart_names

__all__ = ["SIZE_COLUMN", "CompanySizeReview", "company_size"]

#: The display column of each size measure (a money name for capital, so tables format it
#: in the reporting currency: only capital in that currency is compared).
SIZE_COLUMN = {"reg_capital": "size_capital_amount", "insured_headcount": "size_insured_headcount"}
#: Quadrants listed in the top-accounts table, and how each is ordered (largest first).
TOP_QUADRANTS = {"potential": "company_size", "dependency": "revenue_12m"}


@dataclass(frozen=True, eq=False)
class CompanySizeReview:
    """The company-size section of the portfolio review (see :func:`company_size`).

    Attributes
    ----------
    lang, as_of, currency, measure
        Report language, review date, reporting currency, size measure (``reg_capital`` or
        ``insured_headcount``).
    status
        :data:`~kamlib.views.portfolio_sections.AVAILABLE`, or why the section is empty.
    sizes
        :func:`kamlib.segmentation.company_sizes` of the group's accounts.
    matrix
        The :class:`~kamlib.segmentation.CompanySizeMatrix` (``None`` when unavailable).
    names, tiers
        account_id → display name / tier label (in ``lang``).
    top
        Accounts listed per quadrant in :meth:`top_accounts`.
    """

    lang: str
    as_of: date
    currency: str
    measure: str
    status: SectionStatus
    sizes: pd.DataFrame
    matrix: CompanySizeMatrix | None
    names: dict[str, str]
    tiers: dict[str, str]
    top: int = 10

    def with_lang(self, lang: str, tiers: dict[str, str] | None = None) -> CompanySizeReview:
        """The same section in ``lang`` (tier labels: pass them in ``lang``)."""
        return dataclasses.replace(self, lang=check_lang(lang), tiers=tiers or self.tiers)

    @property
    def size_column(self) -> str:
        return SIZE_COLUMN[self.measure]

    def _size_text(self, value: float) -> str:
        if self.measure == "reg_capital":
            return format_currency(value, currency=self.currency, lang=self.lang)
        return format_number(value, lang=self.lang)

    def _quadrant(self, key: str) -> str:
        return label(f"size_{key}", self.lang)

    # -- figures --------------------------------------------------------------------------
    def figures(self) -> dict[str, Any]:
        """Label key → value for :func:`kamlib.views.format.facts` (empty when unavailable
        and nothing was read)."""
        lang = self.lang
        reasons = self.sizes["size_reason"].value_counts()
        out: dict[str, Any] = {
            "size_measure": label(f"size_measure_{self.measure}", lang),
            "accounts_in_group": len(self.sizes),
            "accounts_without_registry_record": int(reasons.get("no_registry_record", 0)),
        }
        if self.status.reason == "size_no_registry":  # nothing was read: no more to count
            return out if len(self.sizes) else {}
        out["accounts_without_size"] = int(reasons.get("no_size_value", 0))
        if self.measure == "reg_capital":
            out["accounts_capital_other_currency"] = int(reasons.get("other_currency", 0))
        m = self.matrix
        if m is None:
            return out if len(self.sizes) else {}
        counts = m.accounts["quadrant"].value_counts()
        sized = self.sizes.loc[self.sizes["size_reason"] == "", "account_id"].astype(str)
        out["accounts_without_revenue"] = int((~sized.isin(m.accounts["account_id"])).sum())
        known = self.sizes.loc[self.sizes["size_reason"] == "", "retrieved_at"]
        out.update(
            {
                "accounts_placed": len(m.accounts),
                "size_median_cut": self._size_text(m.size_median),
                "revenue_median_cut": float(m.revenue_median),
                "potential_accounts": int(counts.get("potential", 0)),
                "dependency_accounts": int(counts.get("dependency", 0)),
                "registry_retrieved": self._retrieved_text(known),
            }
        )
        return out

    def _retrieved_text(self, days: pd.Series) -> str | None:
        """When the records shown were retrieved: one date, or the first and the last."""
        if days.dropna().empty:
            return None
        first, last = pd.Timestamp(days.min()), pd.Timestamp(days.max())
        if first == last:
            return format_date(first, lang=self.lang)
        return f"{format_date(first, lang=self.lang)} – {format_date(last, lang=self.lang)}"

    # -- the chart ------------------------------------------------------------------------
    def points(self) -> pd.DataFrame:
        """For :func:`kamlib.charts.company_size_matrix`: ``account, tier, company_size,
        revenue_12m, quadrant`` (labels in ``lang``; empty when unavailable)."""
        columns = ["account", "tier", "company_size", "revenue_12m", "quadrant"]
        if self.matrix is None:
            return pd.DataFrame(columns=columns)
        acc = self.matrix.accounts
        ids = acc["account_id"].astype(str).tolist()
        return pd.DataFrame(
            {
                "account": chart_names(ids, self.names),
                "tier": [self.tiers.get(i, "") for i in ids],
                "company_size": acc["company_size"].to_numpy(dtype=float),
                "revenue_12m": acc["revenue_12m"].to_numpy(dtype=float),
                "quadrant": [self._quadrant(q) for q in acc["quadrant"]],
            },
            columns=columns,
        )

    def chart_options(self) -> dict[str, Any]:
        """The chart's cuts, axis titles, quadrant order and whether x is money."""
        lang = self.lang
        options: dict[str, Any] = {
            "x_title": label(f"size_axis_{self.measure}", lang).format(currency=self.currency),
            "y_title": label("size_axis_revenue", lang),
            "quadrant_order": [self._quadrant(q) for q in SIZE_QUADRANTS],
            "money_x": self.measure == "reg_capital",
        }
        if self.matrix is not None:
            options.update(x_cut=self.matrix.size_median, y_cut=self.matrix.revenue_median)
        return options

    # -- tables ---------------------------------------------------------------------------
    def quadrant_table(self) -> pd.DataFrame:
        """Per quadrant: ``quadrant, accounts_count, revenue_12m, revenue_share, median_<size
        column>, strategy`` (empty when unavailable)."""
        median = f"median_{self.size_column}"
        columns = ["quadrant", "accounts_count", "revenue_12m", "revenue_share", median,
                   "strategy"]  # fmt: skip
        if self.matrix is None:
            return pd.DataFrame(columns=columns)
        t = self.matrix.quadrant_table()
        return pd.DataFrame(
            {
                "quadrant": [self._quadrant(q) for q in t["quadrant"]],
                "accounts_count": t["accounts_count"].astype("int64").to_numpy(),
                "revenue_12m": t["revenue_12m"].to_numpy(dtype=float),
                "revenue_share": t["revenue_share"].to_numpy(dtype=float),
                median: t["size_median"].to_numpy(dtype=float),
                "strategy": [label(f"size_{q}_strategy", self.lang) for q in t["quadrant"]],
            },
            columns=columns,
        )

    def top_accounts(self) -> pd.DataFrame:
        """The top :attr:`top` *potential* accounts (largest company first) and *dependency*
        accounts (largest revenue first): ``quadrant`` (its short name), ``account_id, name, tier, <size column>,
        revenue_12m, registry_source, registry_retrieved_at``."""
        columns = ["quadrant", "account_id", "name", "tier", self.size_column, "revenue_12m",
                   "registry_source", "registry_retrieved_at"]  # fmt: skip
        if self.matrix is None:
            return pd.DataFrame(columns=columns)
        acc = self.matrix.accounts
        record = self.sizes.set_index("account_id")
        parts = []
        for quadrant, order in TOP_QUADRANTS.items():
            part = acc[acc["quadrant"] == quadrant].sort_values(
                [order, "account_id"], ascending=[False, True], kind="mergesort"
            )
            parts.append(part.head(self.top))
        chosen = pd.concat(parts, ignore_index=True)
        ids = chosen["account_id"].astype(str)
        size = chosen["company_size"].to_numpy(dtype=float)
        return pd.DataFrame(
            {
                "quadrant": [label(f"size_{q}_short", self.lang) for q in chosen["quadrant"]],
                "account_id": ids.to_numpy(),
                "name": [self.names.get(i, i) for i in ids],
                "tier": [self.tiers.get(i, "") for i in ids],
                self.size_column: (
                    size
                    if self.measure == "reg_capital"
                    else pd.array(np.round(size), dtype="Int64")
                ),
                "revenue_12m": chosen["revenue_12m"].to_numpy(dtype=float),
                "registry_source": record["registry_source"].reindex(ids).to_numpy(dtype=object),
                "registry_retrieved_at": pd.to_datetime(
                    record["retrieved_at"].reindex(ids)
                ).to_numpy(),
            },
            columns=columns,
        )

    def empty_message(self, *, detail: bool = False) -> str:
        """The label key shown in place of the chart (or, with ``detail``, a table) when the
        section is unavailable; ``nothing_to_show`` otherwise."""
        if self.status.available:
            return "nothing_to_show"
        return self.status.explanation if detail else self.status.reason


def company_size(
    review: PortfolioReview,
    data: KamData | str | Path,
    *,
    measure: str = "reg_capital",
    top: int = 10,
) -> CompanySizeReview:
    """The company-size section of ``review``: the group's accounts by company size (from
    their registry record as of the review date) against our 12-month revenue.

    Parameters
    ----------
    review
        The portfolio review (group, date, language, revenue and tiers are taken from it).
    data
        The same data (or the path of its store); reads ``firmographics`` when present.
    measure
        ``reg_capital`` (registered capital in the reporting currency) or
        ``insured_headcount``.
    top
        Accounts listed per quadrant in the top-accounts table.

    Raises
    ------
    ConfigError
        An unknown measure.
    """
    check_size_measure(measure)
    kam = resolve_data(data, owner="company_size")
    lang = review.lang
    ids = review.member_ids
    scores = review.scores.scores.set_index("account_id")["tier"]
    model = review.model
    tiers = {
        str(a): model.tier(t).label(lang) if t in model.tier_keys else str(t)
        for a, t in scores.reindex(ids).dropna().items()
    }
    empty_sizes = pd.DataFrame(
        {"account_id": ids, "company_size": np.nan, "size_reason": "no_registry_record",
         "registry_source": None, "retrieved_at": pd.NaT}
    )  # fmt: skip
    common = {"lang": lang, "as_of": review.as_of, "currency": review.currency,
              "measure": measure, "names": review.names, "tiers": tiers, "top": top}  # fmt: skip
    if not kam.has("firmographics"):
        status = SectionStatus(False, "size_no_registry", "", "size_needs_enrich")
        return CompanySizeReview(status=status, sizes=empty_sizes, matrix=None, **common)
    # retrievals after the review date are left out by company_sizes (newest on or before it)
    sizes = company_sizes(
        kam.firmographics, ids, as_of=review.as_of, measure=measure, currency=review.currency
    )
    revenue = review.features.set_index("account_id")["revenue_12m"]
    frame = sizes.assign(revenue_12m=revenue.reindex(sizes["account_id"]).to_numpy(dtype=float))
    try:
        matrix = company_size_matrix(frame)
    except KamlibError as exc:
        status = SectionStatus(False, "size_none_placed", str(exc), "size_needs_values")
        return CompanySizeReview(status=status, sizes=sizes, matrix=None, **common)
    return CompanySizeReview(status=AVAILABLE, sizes=sizes, matrix=matrix, **common)
