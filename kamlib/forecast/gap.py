"""Gap to target (业绩差距): the forecast against the OGSM targets, and the deals to push.

Targets are matched to forecast groups by level: ``company`` → the whole forecast, ``team``
→ the team, ``manager`` → the owner (``targets.owner``).  ``measure="bookings"`` compares the
bookings forecast; ``measure="revenue"`` compares the run-rate order revenue forecast and
exists at company level only (orders carry no team).

A group without a target is listed with ``status = "no_target"`` and empty (null) target,
gap, coverage and P(reach) — the forecast figures themselves are always finite.  A group
without pipeline has a forecast of its closed-to-date amount plus new deals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kamlib.errors import ConfigError
from kamlib.forecast.period import PeriodForecast

LEVEL_DIMENSION = {"company": "all", "team": "team", "manager": "owner"}
MEASURES = ("bookings", "revenue")

GAP_COLUMNS = (
    "level", "name", "target", "closed_to_date", "expected", "p10", "p50", "p90", "gap",
    "remaining", "open_pipeline", "coverage", "p_reach", "status",
)  # fmt: skip


def _status(p_reach: float, target: float, closed: float) -> str:
    if not np.isfinite(target):
        return "no_target"
    if closed >= target:
        return "reached"
    if p_reach >= 0.5:
        return "on_track"
    if p_reach >= 0.2:
        return "at_risk"
    return "off_track"


def gap_to_target(
    forecast: PeriodForecast,
    targets: pd.DataFrame | None,
    *,
    measure: str = "bookings",
    levels: tuple[str, ...] = ("company", "team", "manager"),
) -> pd.DataFrame:
    """One row per forecast group of the levels asked, with its target and gap.

    Parameters
    ----------
    forecast
        :func:`kamlib.forecast.forecast_period` result.
    targets
        The ``targets`` table (None or empty: every row is ``no_target``).
    measure
        ``"bookings"`` or ``"revenue"`` (company level only).
    levels
        Target levels to report: ``company``, ``team``, ``manager``.

    Returns
    -------
    pandas.DataFrame
        :data:`GAP_COLUMNS`: ``target`` (NaN: no target), ``gap`` = target − P50 (> 0: short
        of target), ``remaining`` = target − closed to date, ``open_pipeline`` (open deals
        expected to close by the period end, at full amount), ``coverage`` = open pipeline ÷
        remaining, ``p_reach`` = share of trials reaching the target, ``status``
        (reached / on_track ≥ 50% / at_risk ≥ 20% / off_track / no_target).
    """
    if measure not in MEASURES:
        raise ConfigError(
            f"The 'measure' parameter of gap_to_target must be one of {', '.join(MEASURES)}. "
            f"Got {measure!r} instead."
        )
    bad = [lv for lv in levels if lv not in LEVEL_DIMENSION]
    if bad:
        raise ConfigError(
            f"Unknown target level {bad[0]!r}. Valid levels: {', '.join(LEVEL_DIMENSION)}."
        )
    t = targets if targets is not None else pd.DataFrame()
    if len(t):
        t = t[
            (t["period"].astype("str") == forecast.period) & (t["measure"].astype("str") == measure)
        ]
    end = forecast.end
    rows = []
    for level in levels:
        if measure == "revenue" and level != "company":
            continue
        dim = LEVEL_DIMENSION[level]
        if measure == "revenue":
            if forecast.run_rate is None:
                continue
            rr = forecast.run_rate.summary.iloc[0]
            groups = [("all", rr, forecast.run_rate.totals, np.nan)]
        else:
            sel = forecast.groups[forecast.groups["dimension"] == dim]
            groups = []
            for _, g in sel.iterrows():
                in_group = (
                    forecast.deals
                    if dim == "all"
                    else forecast.deals[forecast.deals[dim].astype("str") == str(g["group"])]
                )
                due = in_group["expected_close_date"].isna() | (
                    in_group["expected_close_date"] <= end
                )
                groups.append(
                    (g["group"], g, forecast.group_trials(dim, g["group"]),
                     float(in_group.loc[due, "amount"].sum()))
                )  # fmt: skip
        tl = t[t["level"].astype("str") == level] if len(t) else t
        for name, g, trials, pipeline in groups:
            if level == "company":
                match = tl
            elif level == "team":
                match = tl[tl["team"].astype("str") == str(name)] if len(tl) else tl
            else:
                match = tl[tl["owner"].astype("str") == str(name)] if len(tl) else tl
            target = float(match["target_value"].sum()) if len(match) else np.nan
            closed = float(g["closed_to_date"])
            remaining = target - closed if np.isfinite(target) else np.nan
            p_reach = float(np.mean(trials >= target)) if np.isfinite(target) else np.nan
            coverage = (
                pipeline / remaining
                if np.isfinite(remaining) and remaining > 0 and np.isfinite(pipeline)
                else np.nan
            )
            rows.append(
                {
                    "level": level,
                    "name": "all" if level == "company" else str(name),
                    "target": target,
                    "closed_to_date": closed,
                    "expected": float(g["expected"]),
                    "p10": float(g["p10"]),
                    "p50": float(g["p50"]),
                    "p90": float(g["p90"]),
                    "gap": target - float(g["p50"]) if np.isfinite(target) else np.nan,
                    "remaining": remaining,
                    "open_pipeline": pipeline,
                    "coverage": coverage,
                    "p_reach": p_reach,
                    "status": _status(p_reach, target, closed),
                }
            )
    return pd.DataFrame(rows, columns=list(GAP_COLUMNS))


def deals_to_close_gap(
    forecast: PeriodForecast,
    *,
    target: float | None,
    dimension: str = "all",
    group: str = "all",
    top: int | None = 25,
) -> pd.DataFrame:
    """The open deals that would close the gap, most promising first.

    Deals of the group that can close inside the period (``p_in_period`` > 0) are ranked by
    expected value (amount × p_won_in_period), then probability.  ``cumulative_amount``
    adds up their full amounts; ``closes_gap`` marks the deals needed, if they were all won,
    to cover what remains after the closed-to-date amount and the expected new deals
    (``target`` None or NaN: nothing is marked).

    Returns
    -------
    pandas.DataFrame
        ``opportunity_id``, ``name``, ``account_id``, ``owner``, ``team``, ``stage``,
        ``amount``, ``p_win``, ``p_in_period``, ``expected_value``, ``category``,
        ``expected_close_date``, ``cumulative_amount``, ``closes_gap``, ``drivers_down``.
    """
    deals = forecast.deals
    if dimension != "all":
        if dimension not in deals:
            raise ConfigError(
                f"Unknown dimension {dimension!r}. Valid dimensions: all, team, owner, "
                "product_line, tier."
            )
        deals = deals[deals[dimension].astype("str") == str(group)]
    deals = deals[deals["p_in_period"] > 0].sort_values(
        ["expected_value", "p_win", "opportunity_id"], ascending=[False, False, True],
        kind="mergesort",
    )  # fmt: skip
    cumulative = deals["amount"].cumsum()
    need = np.nan
    if target is not None and np.isfinite(target):
        g = forecast.groups
        row = g[(g["dimension"] == dimension) & (g["group"].astype("str") == str(group))]
        done = (
            float(row["closed_to_date"].iloc[0] + row["new_deals_expected"].iloc[0])
            if len(row)
            else 0.0
        )
        need = float(target) - done
    closes = (cumulative - deals["amount"]) < need if np.isfinite(need) else cumulative * False
    out = deals.assign(cumulative_amount=cumulative, closes_gap=closes.astype(bool))[
        ["opportunity_id", "name", "account_id", "owner", "team", "stage", "amount", "p_win",
         "p_in_period", "expected_value", "category", "expected_close_date",
         "cumulative_amount", "closes_gap", "drivers_down"]
    ].reset_index(drop=True)  # fmt: skip
    return out if top is None else out.head(top)
