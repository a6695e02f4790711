"""What counts as a purchase: order lines, or won deals when the data has no order lines.

The one rule
------------
A company that runs a CRM often exports opportunities and accounts but keeps its order lines
in the ERP.  Then its **won opportunities stand in for purchases**: each won deal with an
account and an amount becomes one order line dated at its close (``order_id`` =
``won:<opportunity_id>``, ``line_no`` 1, the deal's account, ``closed_date`` as
``order_date``, its amount and product line).  Revenue is then *bookings*, the value of the
deals won, and every report that uses it says so ("revenue = won deals; the data has no
order lines").

- Where the data has an ``orders`` table (even an empty one), order lines win and won deals
  are never added: nothing is counted twice.
- Won deals without an account or an amount, or without a close date, cannot be counted as
  anyone's purchase; they are left out and :func:`purchases_from_won_deals` says how many.
- Point in time: a deal won after an as-of date has its close after that date, so
  ``KamData.as_of`` drops its purchase with every other order line dated after the cut.

:class:`~kamlib.data.kamdata.KamData` applies the rule when it is built, so every analysis
(features, scores, target groups, dossiers, CLV) sees one ``orders`` table, and
``KamData.revenue_source`` says where it came from.  Report needs name ``revenue``
(:data:`REVENUE_NEED`) when order lines or won deals will do, ``orders`` when only real order
lines will (:func:`unmet_needs`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import pandas as pd

from kamlib.data.schemas import TABLES, conform

#: ``KamData.revenue_source`` when the data has order lines
ORDER_LINES = "order_lines"
#: ``KamData.revenue_source`` when won opportunities stand in for purchases
WON_DEALS = "won_deals"
#: a report need met by order lines or by won deals
REVENUE_NEED = "revenue"
#: the one-line statement every report and manifest using won deals carries
WON_DEALS_STATEMENT = "revenue = won deals; the data has no order lines"


@dataclass(frozen=True)
class Purchases:
    """Order lines made from won deals, and the won deals that could not be counted."""

    orders: pd.DataFrame
    won: int
    left_out: int

    def statement(self) -> str:
        """What a report says about its revenue: the rule, and the won deals left out."""
        if not self.left_out:
            return WON_DEALS_STATEMENT
        return (
            f"{WON_DEALS_STATEMENT} ({self.left_out:,} of {self.won:,} won deals have no "
            "account, amount or close date and are left out)"
        )


def revenue_source(tables: Collection[str]) -> str | None:
    """Where revenue comes from for data holding ``tables``: :data:`ORDER_LINES`,
    :data:`WON_DEALS`, or ``None`` (neither order lines nor opportunities)."""
    if "orders" in tables:
        return ORDER_LINES
    if "opportunities" in tables:
        return WON_DEALS
    return None


def unmet_needs(needs: Collection[str], tables: Collection[str]) -> list[str]:
    """The needs of ``needs`` that data holding ``tables`` does not meet (in their order).

    A need is a canonical table name, or :data:`REVENUE_NEED` (order lines or won deals).
    """
    missing = []
    for need in needs:
        met = revenue_source(tables) is not None if need == REVENUE_NEED else need in tables
        if not met:
            missing.append(need)
    return missing


def purchases_from_won_deals(opportunities: pd.DataFrame) -> Purchases:
    """The won deals of ``opportunities`` as order lines (see the module's rule)."""
    won = opportunities[opportunities["status"].astype("string") == "won"]
    usable = won["account_id"].notna() & won["amount"].notna() & won["closed_date"].notna()
    kept = won[usable]
    orders = conform(
        pd.DataFrame(
            {
                "order_id": "won:" + kept["opportunity_id"].astype("string"),
                "line_no": 1,
                "account_id": kept["account_id"],
                "order_date": kept["closed_date"],
                "product_line": kept.get("product_line"),
                "amount": kept["amount"],
            }
        ),
        TABLES["orders"],
    )
    return Purchases(orders, won=len(won), left_out=int((~usable).sum()))
