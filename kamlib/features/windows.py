"""The windows of the features: their lengths, and the date bounds of each as-of date.

Windows
-------
"The last 12 months" as of date D is the date range (D − 12 months, D], counted in calendar
months; when D is the last day of its month the range starts at a month end too, so as of
2025-02-28 it is March 2024 … February 2025 (and as of 2024-02-29 March 2023 … February
2024).  Months 13–24 are (D − 24 months, D − 12 months].  The 8 quarters of
``active_quarter_share`` are the 3-month ranges (D − 3q months, D − 3(q−1) months], q = 1…8.
All window bounds are computed in Python from the as-of date and reach the engine as date
literals (or a small table of dates), so no engine does month arithmetic; day counts
(recency, tenure) are day differences of dates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from kamlib.errors import ConfigError
from kamlib.periods import as_day


# -- windows ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class FeatureWindows:
    """Window lengths of the dynamic features.

    Parameters
    ----------
    trailing_months
        The short window (revenue, margin, orders, product lines, service): 12 by default.
        Growth compares it with the same number of months before it.
    long_months
        The long window (``revenue_24m``, ``win_rate_24m``): 24 by default.
    quarters
        How many 3-month periods ``active_quarter_share`` looks back: 8 by default (at
        most 60).

    Column names carry the window (``revenue_12m``, ``win_rate_24m``); with other lengths
    they change accordingly (``FeatureWindows(trailing_months=6)`` gives ``revenue_6m``).
    """

    trailing_months: int = 12
    long_months: int = 24
    quarters: int = 8

    def __post_init__(self) -> None:
        for name, top in (("trailing_months", 240), ("long_months", 240), ("quarters", 60)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
                raise ConfigError(
                    f"The '{name}' parameter of FeatureWindows must be a whole number from 1 "
                    f"to {top}. Got {value!r} instead."
                )

    @property
    def short(self) -> str:
        return f"{self.trailing_months}m"

    @property
    def long(self) -> str:
        return f"{self.long_months}m"

    def columns(self) -> list[str]:
        """The output columns of :func:`account_features`, in order (``account_id`` is the index)."""
        s, lo = self.short, self.long
        return [
            "industry", "region", "employees", "annual_revenue", "registered_capital",
            "strategic_fit", "ownership", "category_spend", "registry_capital",
            "insured_headcount", "years_established", "listed",
            f"revenue_{s}", f"revenue_{lo}", f"revenue_prev_{s}", f"growth_{s}",
            f"gross_margin_{s}", f"orders_{s}", f"order_days_{s}", "recency_days",
            "tenure_days", "active_quarter_share", f"product_lines_{s}", "share_of_wallet",
            "open_pipeline", "open_opportunities", f"win_rate_{lo}",
            f"sla_breach_rate_{s}", f"escalations_{s}", f"tickets_{s}", "contacts_known",
            "decision_maker_support", "economic_buyer_known", "days_since_last_activity",
            "first_order_date", "last_order_date",
        ]  # fmt: skip


#: The default windows (12 / 24 months, 8 quarters), the default of every ``windows`` parameter.
DEFAULT_WINDOWS = FeatureWindows()


def months_before(day: dt.date, months: int) -> dt.date:
    """``day`` minus ``months`` calendar months; a month end maps to a month end.

    2024-03-31 − 1 → 2024-02-29; 2025-02-28 − 12 → 2024-02-29; 2024-02-29 − 12 → 2023-02-28;
    2024-05-15 − 3 → 2024-02-15.
    """
    ts = as_day(day, parameter="day", owner="months_before")
    out = ts - pd.DateOffset(months=months)
    if ts.is_month_end:
        out = out + pd.offsets.MonthEnd(0)
    return out.date()


@dataclass(frozen=True)
class _Cut:
    """One as-of date and the bounds of its windows (each window is (start, as_of])."""

    as_of: dt.date
    start_short: dt.date
    start_prev: dt.date
    start_long: dt.date
    quarter_starts: tuple[dt.date, ...]  # start of quarter q = 1..Q (quarter 1 is the latest)

    @classmethod
    def build(cls, as_of: dt.date, windows: FeatureWindows) -> _Cut:
        m = windows.trailing_months
        return cls(
            as_of=as_of,
            start_short=months_before(as_of, m),
            start_prev=months_before(as_of, 2 * m),
            start_long=months_before(as_of, windows.long_months),
            quarter_starts=tuple(
                months_before(as_of, 3 * q) for q in range(1, windows.quarters + 1)
            ),
        )


# -- the plan: as-of dates and the small table describing them --------------------------------
def month_number(day: dt.date) -> int:
    """Months since year 0 (``year * 12 + month - 1``): consecutive months differ by 1."""
    return day.year * 12 + day.month - 1


def _month_number(day: ir.DateValue) -> ir.IntegerValue:
    return day.year().cast("int64") * 12 + day.month().cast("int64") - 1


def _is_month_end(day: dt.date) -> bool:
    return (day + dt.timedelta(days=1)).day == 1


@dataclass(frozen=True)
class _Plan:
    """The as-of dates of one computation (all month ends when there is more than one)."""

    cuts: tuple[_Cut, ...]
    windows: FeatureWindows

    @property
    def last(self) -> dt.date:
        return max(c.as_of for c in self.cuts)

    def snapshots(self) -> ir.Table:
        """One row per as-of date: ``k`` (its position) and its dates."""
        cols: dict[str, pa.Array] = {
            "k": pa.array(range(len(self.cuts)), pa.int64()),
            "as_of": pa.array([c.as_of for c in self.cuts], pa.date32()),
            "end_date": pa.array([c.as_of + dt.timedelta(days=1) for c in self.cuts], pa.date32()),
            "start_short": pa.array([c.start_short for c in self.cuts], pa.date32()),
            "start_prev": pa.array([c.start_prev for c in self.cuts], pa.date32()),
            "start_long": pa.array([c.start_long for c in self.cuts], pa.date32()),
        }
        return ibis.memtable(pa.table(cols))
