"""Company size against our revenue: "a big company is not a big customer" (大企业≠大客户).

The method's first rule needs the customer's own size — from the business registry, not
from our sales — next to what it buys from us.  :func:`company_sizes` takes each account's
size from its registry record (:func:`kamlib.data.registry_records.record_as_of`: the
newest retrieval on or before the date, else the earliest — the record the score reads)
and :func:`company_size_matrix` splits the accounts in four by the two medians.

Definitions
-----------
- **Company size**: ``reg_capital`` (registered capital, only when it is in the reporting
  currency: no exchange rates are applied, so an account whose capital is in another
  currency is left out and counted) or ``insured_headcount`` (参保人数, the employees the
  company pays social insurance for).
- **Our revenue**: the account's revenue of the trailing 12 months (``revenue_12m`` of
  :func:`kamlib.features.account_features`).
- **Cuts**: the medians of size and of revenue over the accounts placed (those with both
  values).  *Big* means strictly above the median; the median account itself and ties at
  the median count as *small* (so a group where most accounts bought nothing does not call
  them all big customers).
- **Quadrants**: big company and big customer = ``core``; big company, small customer =
  ``potential`` (room to grow: the company is large, our share of it is not); small company,
  big customer = ``dependency`` (we depend on a small company: check credit and
  concentration); small and small = ``small``.

Example
-------
>>> sizes = company_sizes(data.firmographics, as_of="2026-09-30", currency="CNY")  # doctest: +SKIP
>>> company_size_matrix(sizes.merge(features[["account_id", "revenue_12m"]])).summary()  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kamlib.data.registry_records import record_as_of
from kamlib.errors import ConfigError, DataValidationError
from kamlib.frames import require_columns

#: Size measures: the firmographics column each reads.
SIZE_MEASURES: tuple[str, ...] = ("reg_capital", "insured_headcount")
#: Quadrant keys in display order.
SIZE_QUADRANTS: tuple[str, ...] = ("core", "potential", "dependency", "small")
#: Why an account has no size: no registry record, no value, capital in another currency.
NO_RECORD, NO_VALUE, OTHER_CURRENCY = "no_registry_record", "no_size_value", "other_currency"
#: Columns of :func:`company_sizes`.
SIZE_COLUMNS = ["account_id", "company_size", "size_reason", "registry_source", "retrieved_at"]
#: Columns of :attr:`CompanySizeMatrix.accounts`.
MATRIX_COLUMNS = [
    "account_id", "company_size", "revenue_12m", "big_company", "big_customer", "quadrant",
]  # fmt: skip


def check_size_measure(measure: str) -> str:
    """``measure`` when it is one of :data:`SIZE_MEASURES`, else a ConfigError listing them."""
    if measure not in SIZE_MEASURES:
        raise ConfigError(
            f"The 'measure' parameter of company_sizes must be one of "
            f"{', '.join(SIZE_MEASURES)}. Got {measure!r} instead."
        )
    return measure


def company_sizes(
    firmographics: pd.DataFrame,
    account_ids: Any = None,
    *,
    as_of: Any,
    measure: str = "reg_capital",
    currency: str = "CNY",
) -> pd.DataFrame:
    """Each account's company size from its newest registry record on or before ``as_of``.

    Parameters
    ----------
    firmographics
        The ``firmographics`` table (every retrieval).
    account_ids
        The accounts wanted (default: every account of ``firmographics``); one without a
        record gets ``size_reason`` ``no_registry_record``.
    as_of
        The date: the newest retrieval on or before it counts.
    measure
        ``reg_capital`` or ``insured_headcount``.
    currency
        The reporting currency: registered capital in another currency is not compared
        (``size_reason`` ``other_currency``).

    Returns
    -------
    pandas.DataFrame
        :data:`SIZE_COLUMNS`: ``company_size`` (NaN where unknown), ``size_reason`` (empty
        text where known), the record's source and retrieval date.
    """
    check_size_measure(measure)
    require_columns(firmographics, ["account_id", "source", "retrieved_at", measure],
                    "company_sizes")  # fmt: skip
    current = record_as_of(firmographics, as_of=as_of).set_index("account_id")
    ids = (
        current.index.astype(str).tolist() if account_ids is None else [str(a) for a in account_ids]
    )
    found = current.reindex(ids)
    value = pd.to_numeric(found[measure], errors="coerce").astype("float64")
    reason = np.where(found["source"].isna(), NO_RECORD, np.where(value.isna(), NO_VALUE, ""))
    if measure == "reg_capital" and "reg_capital_currency" in found:
        other = (
            value.notna()
            & found["reg_capital_currency"].notna()
            & (found["reg_capital_currency"].astype(str) != currency)
        )
        value = value.where(~other)
        reason = np.where(other, OTHER_CURRENCY, reason)
    return pd.DataFrame(
        {
            "account_id": ids,
            "company_size": value.to_numpy(),
            "size_reason": reason,
            "registry_source": found["source"].to_numpy(dtype=object),
            "retrieved_at": pd.to_datetime(found["retrieved_at"]).to_numpy(),
        },
        columns=SIZE_COLUMNS,
    )


@dataclass(frozen=True)
class CompanySizeMatrix:
    """Accounts by company size and our revenue (see :func:`company_size_matrix`).

    Attributes
    ----------
    accounts
        The accounts placed: :data:`MATRIX_COLUMNS` (``quadrant`` a key of
        :data:`SIZE_QUADRANTS`), largest company first.
    size_median, revenue_median
        The cuts.
    unplaced
        ``account_id`` of the accounts left out (size or revenue unknown).
    """

    accounts: pd.DataFrame
    size_median: float
    revenue_median: float
    unplaced: tuple[str, ...]

    def quadrant_table(self) -> pd.DataFrame:
        """One row per quadrant (:data:`SIZE_QUADRANTS` order): ``quadrant,
        accounts_count, revenue_12m, revenue_share, size_median``."""
        acc = self.accounts
        total = float(acc["revenue_12m"].clip(lower=0).sum())
        rows = []
        for q in SIZE_QUADRANTS:
            part = acc[acc["quadrant"] == q]
            revenue = float(part["revenue_12m"].sum())
            rows.append(
                {
                    "quadrant": q,
                    "accounts_count": len(part),
                    "revenue_12m": revenue,
                    "revenue_share": (
                        float(part["revenue_12m"].clip(lower=0).sum()) / total
                        if total > 0
                        else np.nan
                    ),
                    "size_median": float(part["company_size"].median()) if len(part) else np.nan,
                }
            )
        return pd.DataFrame(rows)

    def summary(self) -> pd.Series:
        """Headline numbers: accounts placed and left out, the two medians, per quadrant."""
        counts = self.accounts["quadrant"].value_counts()
        return pd.Series(
            {
                "placed": len(self.accounts),
                "unplaced": len(self.unplaced),
                "size_median": self.size_median,
                "revenue_median": self.revenue_median,
                **{q: int(counts.get(q, 0)) for q in SIZE_QUADRANTS},
            },
            dtype=object,
        )


def company_size_matrix(frame: pd.DataFrame) -> CompanySizeMatrix:
    """Split accounts in four by company size and our 12-month revenue, cut at the medians.

    Parameters
    ----------
    frame
        ``account_id, company_size, revenue_12m`` (other columns are ignored); an account
        with either value missing is not placed.

    Returns
    -------
    CompanySizeMatrix
        Big = strictly above the median of the placed accounts (module docstring).

    Raises
    ------
    DataValidationError
        No account has both values.
    """
    require_columns(frame, ["account_id", "company_size", "revenue_12m"], "company_size_matrix")
    size = pd.to_numeric(frame["company_size"], errors="coerce").astype("float64")
    revenue = pd.to_numeric(frame["revenue_12m"], errors="coerce").astype("float64")
    known = size.notna() & revenue.notna() & np.isfinite(size) & np.isfinite(revenue)
    if not known.any():
        raise DataValidationError(
            "No account has both a company size and a 12-month revenue: the company size "
            "matrix cannot place any account. Match registry data to the accounts (kam enrich)."
        )
    ids = frame["account_id"].astype(str)
    placed = pd.DataFrame(
        {"account_id": ids[known].to_numpy(), "company_size": size[known].to_numpy(),
         "revenue_12m": revenue[known].to_numpy()}
    )  # fmt: skip
    size_median = float(placed["company_size"].median())
    revenue_median = float(placed["revenue_12m"].median())
    big_company = placed["company_size"] > size_median
    big_customer = placed["revenue_12m"] > revenue_median
    quadrant = np.select(
        [big_company & big_customer, big_company, big_customer],
        ["core", "potential", "dependency"],
        default="small",
    )
    placed = placed.assign(big_company=big_company, big_customer=big_customer, quadrant=quadrant)
    placed = placed.sort_values(
        ["company_size", "account_id"], ascending=[False, True], kind="mergesort"
    ).reset_index(drop=True)[MATRIX_COLUMNS]
    return CompanySizeMatrix(
        accounts=placed,
        size_median=size_median,
        revenue_median=revenue_median,
        unplaced=tuple(ids[~known]),
    )


__all__ = [
    "MATRIX_COLUMNS",
    "SIZE_COLUMNS",
    "SIZE_MEASURES",
    "SIZE_QUADRANTS",
    "CompanySizeMatrix",
    "check_size_measure",
    "company_size_matrix",
    "company_sizes",
]
