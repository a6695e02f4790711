"""The account overview: profile, revenue by quarter and product line, recent orders.

The short per-account summary (``notebooks/account_summary.ipynb``); the full research
dossier is :func:`kamlib.research.account_dossier`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from kamlib.data.kamdata import KamData
from kamlib.errors import ConfigError, DataValidationError
from kamlib.periods import as_day
from kamlib.research._common import months_back

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


@dataclass(frozen=True)
class AccountOverview:
    """One account as of a date.

    Attributes
    ----------
    account_id, name, industry, region, owner : from the accounts table (``None`` if blank).
    parent_id, parent_name : the group the account belongs to (``None``: none known).
    as_of : the date everything is cut at.
    revenue_by_quarter : columns ``quarter`` (``"2026-Q3"``, fiscal: ``"FY2027-Q1"``),
        ``revenue`` (net, float), ``orders`` (distinct orders); the last ``quarters``
        quarters up to ``as_of``, oldest first, quarters without orders included as 0.
    revenue_by_product_line : columns ``product_line`` (``"unknown"`` when neither the order
        nor its product says), ``revenue``, ``share`` (of the window's revenue; 0 when the
        total is not positive); largest first; same window.
    recent_orders : columns ``order_id``, ``order_date``, ``product_line`` (lines' product
        lines, comma-separated), ``amount``; the newest ``recent`` orders.
    contacts : number of contacts (``None`` when no contacts table was imported).
    open_opportunities : columns ``opportunity_id``, ``name``, ``stage``, ``amount``,
        ``expected_close_date``; open at ``as_of``, soonest close first (empty when no
        opportunities table was imported: see ``has_opportunities``).
    has_opportunities : whether an opportunities table was imported.
    revenue_12m : net revenue of the trailing 12 months to ``as_of`` (the dossier's and the
        scores' ``revenue_12m``; the quarters above may span a different window).
    """

    account_id: str
    name: str
    industry: str | None
    region: str | None
    owner: str | None
    parent_id: str | None
    parent_name: str | None
    as_of: pd.Timestamp
    revenue_by_quarter: pd.DataFrame
    revenue_by_product_line: pd.DataFrame
    revenue_12m: float
    recent_orders: pd.DataFrame
    contacts: int | None
    open_opportunities: pd.DataFrame
    has_opportunities: bool

    def profile(self) -> dict[str, Any]:
        """Label key → value, for :func:`kamlib.views.format.facts`."""
        open_opps = self.open_opportunities if self.has_opportunities else None
        return {
            "name": self.name,
            "account_id": self.account_id,
            "industry": self.industry,
            "region": self.region,
            "owner": self.owner,
            "parent": self.parent_name or self.parent_id,
            # the trailing 12 months to the date, as in the dossier and the scores
            "revenue_12m": self.revenue_12m,
            "orders_count": int(self.revenue_by_quarter["orders"].sum()),
            "contacts_count": self.contacts,
            "open_opportunities": None if open_opps is None else len(open_opps),
            "open_pipeline": None if open_opps is None else float(open_opps["amount"].sum()),
        }

    def summary(self) -> pd.DataFrame:
        """:meth:`profile` as a frame: columns ``measure`` (label key) and ``value``."""
        items = self.profile()
        return pd.DataFrame({"measure": list(items), "value": list(items.values())})


def account_overview(
    data: KamData,
    account_id: str,
    *,
    as_of: str | pd.Timestamp,
    quarters: int = 8,
    recent: int = 10,
    fiscal_year_start_month: int = 1,
) -> AccountOverview:
    """The overview of ``account_id`` as known at the end of ``as_of``.

    Orders dated after ``as_of`` are ignored; opportunities are taken as they stood then
    (see :meth:`KamData.as_of`).

    >>> ov = account_overview(data, "A001", as_of="2026-09-30")  # doctest: +SKIP
    >>> ov.revenue_by_quarter.tail(1)  # doctest: +SKIP
         quarter    revenue  orders
    7  2026-Q3  1250000.0      14
    """
    if quarters < 1:
        raise ConfigError(
            f"The 'quarters' parameter of account_overview must be at least 1. Got {quarters}."
        )
    if not 1 <= fiscal_year_start_month <= 12:
        raise ConfigError(
            "The 'fiscal_year_start_month' parameter of account_overview must lie between "
            f"1 and 12. Got {fiscal_year_start_month} instead."
        )
    view = data.as_of(as_day(as_of, owner="account_overview"))
    cut = view.as_of_date
    accounts = view.require("accounts", "The account overview")
    match = accounts[accounts["account_id"] == account_id]
    if match.empty:
        known = ", ".join(sorted(accounts["account_id"].astype(str))[:5])
        raise DataValidationError(
            f"Account {account_id!r} is not in the accounts table as of {cut:%Y-%m-%d}. "
            f"Pass an account_id from the accounts table (e.g. {known})."
        )
    account = match.iloc[0]
    parent_id = _text(account.get("parent_account_id"))
    parent_name = None
    if parent_id is not None:
        parent = accounts.loc[accounts["account_id"] == parent_id, "name"]
        parent_name = _text(parent.iloc[0]) if len(parent) else None

    orders = view.require("orders", "The account overview")
    orders = orders[orders["account_id"] == account_id]
    orders = orders.assign(product_line=_product_lines(orders, view))
    revenue_by_quarter, revenue_by_product_line = revenue_frames(
        orders, cut, quarters=quarters, fiscal_year_start_month=fiscal_year_start_month
    )

    recent_orders = (
        orders.groupby("order_id")
        .agg(
            order_date=("order_date", "max"),
            product_line=("product_line", lambda s: ", ".join(sorted(set(s)))),
            amount=("amount", "sum"),
        )
        .reset_index()
        .sort_values(["order_date", "order_id"], ascending=[False, False])
        .head(recent)
        .reset_index(drop=True)
    )

    contacts = None
    if view.has("contacts"):
        contacts = int((view.contacts["account_id"] == account_id).sum())
    opp_columns = ["opportunity_id", "name", "stage", "amount", "expected_close_date"]
    open_opps = pd.DataFrame({c: pd.Series(dtype="object") for c in opp_columns})
    if view.has("opportunities"):
        opps = view.opportunities
        open_opps = (
            opps[(opps["account_id"] == account_id) & (opps["status"] == "open")][opp_columns]
            .sort_values(["expected_close_date", "opportunity_id"], na_position="last")
            .reset_index(drop=True)
        )

    return AccountOverview(
        account_id=str(account_id),
        name=str(account["name"]),
        industry=_text(account.get("industry")),
        region=_text(account.get("region")),
        owner=_text(account.get("owner")),
        parent_id=parent_id,
        parent_name=parent_name,
        as_of=cut,
        revenue_by_quarter=revenue_by_quarter,
        revenue_by_product_line=revenue_by_product_line,
        revenue_12m=float(
            orders.loc[
                (orders["order_date"] > months_back(cut, 12)) & (orders["order_date"] <= cut),
                "amount",
            ].sum()
        ),  # fmt: skip
        recent_orders=recent_orders,
        contacts=contacts,
        open_opportunities=open_opps,
        has_opportunities=view.has("opportunities"),
    )


def revenue_frames(
    orders: pd.DataFrame, cut: pd.Timestamp, *, quarters: int, fiscal_year_start_month: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Revenue by quarter (zero-filled, last ``quarters``) and by product line (same window).

    ``orders`` are one account's order lines up to ``cut`` with ``product_line`` resolved.
    """
    freq = f"Q-{_MONTHS[(fiscal_year_start_month - 2) % 12]}"
    last = pd.Period(cut, freq=freq)
    window = pd.period_range(end=last, periods=quarters, freq=freq)
    in_window = orders[orders["order_date"].dt.to_period(freq) >= window[0]]

    by_quarter = (
        in_window.assign(_q=in_window["order_date"].dt.to_period(freq))
        .groupby("_q")
        .agg(revenue=("amount", "sum"), orders=("order_id", "nunique"))
    )
    revenue_by_quarter = pd.DataFrame(
        {
            "quarter": [_quarter_label(p, fiscal_year_start_month) for p in window],
            "revenue": by_quarter["revenue"]
            .reindex(window, fill_value=0.0)
            .astype(float)
            .to_numpy(),
            "orders": by_quarter["orders"].reindex(window, fill_value=0).astype("int64").to_numpy(),
        }
    )

    by_line = in_window.groupby("product_line")["amount"].sum().astype(float)
    total = float(by_line.sum())
    revenue_by_product_line = (
        pd.DataFrame({"product_line": by_line.index.astype(str), "revenue": by_line.to_numpy()})
        .assign(share=lambda f: f["revenue"] / total if total > 0 else 0.0)
        .sort_values(["revenue", "product_line"], ascending=[False, True])
        .reset_index(drop=True)
    )
    return revenue_by_quarter, revenue_by_product_line


def product_lines(orders: pd.DataFrame, data: KamData) -> pd.Series:
    """Each order line's product line: its own, else its product's, else ``"unknown"``."""
    return _product_lines(orders, data)


def _product_lines(orders: pd.DataFrame, data: KamData) -> pd.Series:
    """Each order line's product line: its own, else its product's, else ``"unknown"``."""
    lines = orders["product_line"].astype("string")
    if data.has("products"):
        products = data.products.drop_duplicates("product_id").set_index("product_id")
        from_product = orders["product_id"].map(products["product_line"]).astype("string")
        lines = lines.where(lines.notna() & (lines.str.strip() != ""), from_product)
    lines = lines.where(lines.notna() & (lines.str.strip() != ""), "unknown")
    return lines.astype(str)


def _quarter_label(period: pd.Period, fiscal_year_start_month: int) -> str:
    prefix = "" if fiscal_year_start_month == 1 else "FY"
    return f"{prefix}{period.qyear}-Q{period.quarter}"


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None
