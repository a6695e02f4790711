"""Deal timing for the period forecast: when each open deal is expected to close (stage
timing, the close-timing hazard) and the look-ahead patches that hide later amounts and stages."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from kamlib.forecast.close_timing import CloseTimingModel, zombie_deals

#: columns of ``PeriodForecast.timing``
TIMING_COLUMNS = ("stage", "deals", "median_abs_slip_days", "method")


def stage_timing(pipe: pd.DataFrame, slippage: Any, *, max_slip_days: float) -> pd.DataFrame:
    """How each open stage of ``pipe`` is timed: :data:`TIMING_COLUMNS`.

    ``median_abs_slip_days`` is the weighted median |actual − expected close| (days) of the
    won deals of the stage (the pooled stages when the stage has too few, as the slippage
    model does); above ``max_slip_days`` — or when it cannot be measured — the stage's deals
    are timed by the hazard model, else by expected close date + slippage.
    """
    stages = sorted(set(pipe["stage"].astype("str"))) if len(pipe) else []
    counts = pipe["stage"].astype("str").value_counts() if len(pipe) else pd.Series(dtype=int)
    usable = slippage is not None and getattr(slippage, "available", False)
    samples = slippage.samples[slippage.samples["outcome"] == "won"] if usable else None
    basis = slippage.summary("won").set_index("stage")["basis"] if usable else pd.Series()
    rows = []
    for stage in stages:
        slip = np.nan
        if samples is not None and len(samples):
            own = samples[samples["stage"] == stage]
            use = own if basis.get(stage, "pooled") == "stage" and len(own) else samples
            v = np.abs(use["slip_days"].to_numpy(dtype=float))
            w = use["weight"].to_numpy(dtype=float)
            order = np.argsort(v, kind="mergesort")
            cum = np.cumsum(w[order]) / w.sum()
            slip = float(v[order][min(np.searchsorted(cum, 0.5), len(v) - 1)])
        method = "expected_close+slippage" if slip <= max_slip_days else "hazard"
        rows.append({"stage": stage, "deals": int(counts.get(stage, 0)),
                     "median_abs_slip_days": slip, "method": method})  # fmt: skip
    return pd.DataFrame(rows, columns=list(TIMING_COLUMNS))


def _hazard_wanted(pipe: pd.DataFrame, stages: pd.DataFrame) -> np.ndarray:
    """Deals to time by the hazard model: no expected close date, or a stage whose dates slip."""
    if len(pipe) == 0:
        return np.zeros(0, dtype=bool)
    hazard_stages = set(stages.loc[stages["method"] == "hazard", "stage"])
    return (
        pipe["expected_close_date"].isna() | pipe["stage"].astype("str").isin(hazard_stages)
    ).to_numpy()


def _timed(
    pipe: pd.DataFrame,
    p_win: np.ndarray,
    p_in: np.ndarray,
    model: CloseTimingModel,
    use: np.ndarray,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    min_close_probability: float,
    stuck_limit: pd.Series | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """p_won_in_period, p_in_period, timing label and zombie mask of each open deal."""
    n = len(pipe)
    p_won = np.asarray(p_win, dtype=float) * np.asarray(p_in, dtype=float)
    p_in = np.asarray(p_in, dtype=float).copy()
    timing = np.full(n, "expected_close+slippage", dtype=object)
    if n == 0 or model.method == "none":
        # nothing closed yet: deals without a date fall back to the won cycle times (or close)
        timing[pipe["expected_close_date"].isna().to_numpy()] = "cycle_times"
        return p_won, p_in, timing, np.zeros(n, dtype=bool), []
    inc = model.incidence(pipe, start=start, end=end)
    ever = inc["p_won_ever"].to_numpy(dtype=float)
    window = inc["p_won_window"].to_numpy(dtype=float)
    p_won = np.where(use, window, p_won)
    share = np.divide(window, ever, out=np.zeros(n), where=ever > 1e-12)
    p_in = np.where(use, np.clip(share, 0.0, 1.0), p_in)
    timing[use] = "hazard"
    zombie = zombie_deals(
        pipe, inc, model, min_close_probability=min_close_probability, stuck_limit=stuck_limit
    )
    p_won = np.where(zombie, 0.0, p_won)
    p_in = np.where(zombie, 0.0, p_in)
    timing[zombie] = "zombie"
    notes = []
    if use.any():
        notes.append(f"close timing of {int(use.sum()):,} deals: {model.reason}")
    notes.extend(model.notes)
    return p_won, p_in, timing, zombie, notes


def _timing_method(timing: pd.Series, model: CloseTimingModel, slippage: Any) -> str:
    live = timing[timing != "zombie"]
    kinds = set(live)
    if not kinds:
        usable = slippage is not None and getattr(slippage, "available", False)
        return "expected_close+slippage" if usable or model.method == "none" else "hazard"
    if kinds == {"hazard"}:
        return "hazard"
    if len(kinds) == 1:  # "expected_close+slippage" or "cycle_times"
        return str(kinds.pop())
    return "mixed"


def _without_later_amounts(pipe: pd.DataFrame, data: Any, day: pd.Timestamp) -> pd.DataFrame:
    """Without stage history the pipeline shows today's amounts: a deal closed after ``day``
    shows its final (won: closing value; lost: often 0) amount, which was not known on
    ``day``.  Those amounts become unknown (NaN), as they were then."""
    if pipe.attrs.get("source") != "opportunities" or pipe.empty:
        return pipe
    opps = data.opportunities
    later = opps.loc[opps["closed_date"].notna() & (opps["closed_date"] > day), "opportunity_id"]
    hide = pipe["opportunity_id"].isin(set(later.astype("str"))) & pipe["amount"].notna()
    if not hide.any():
        return pipe
    out = pipe.copy()
    out.loc[hide, "amount"] = np.nan
    out.attrs["amounts_hidden"] = int(hide.sum())
    return out


def _without_later_stages(pipe: pd.DataFrame, *, known: bool) -> pd.DataFrame:
    """Without stage history the pipeline shows today's stage of a deal still open (and
    ``"unknown"`` for one closed later): on an earlier day that tells the future.  Unless the
    day is the data's last, every open deal's stage is unknown then."""
    from kamlib.pipeline import UNKNOWN_STAGE

    if known or pipe.attrs.get("source") != "opportunities" or pipe.empty:
        return pipe
    out = pipe.assign(stage=UNKNOWN_STAGE, stage_order=-1)
    out.attrs = dict(pipe.attrs)
    return out
