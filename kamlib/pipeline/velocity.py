"""Velocity: days in stage, created → closed cycle times, and stale deals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kamlib.data import KamData
from kamlib.errors import ConfigError
from kamlib.methodology import Methodology, resolve_methodology
from kamlib.periods import as_day
from kamlib.pipeline.events import _DAY, StageEvents, _events, _state_at, pipeline_as_of


# -- velocity: days in stage, cycle time ------------------------------------------------------------
def stage_durations(
    data: KamData | StageEvents,
    *,
    as_of: object,
    methodology: Methodology | str | Path | None = None,
) -> pd.DataFrame:
    """Every stint of a deal in an open stage by ``as_of`` (the distribution behind velocity).

    Returns
    -------
    pandas.DataFrame
        ``opportunity_id``, ``stage``, ``stage_order``, ``entered_date``, ``left_date`` (NaT
        while the deal is still in the stage at ``as_of``), ``next_stage`` (the stage, won or
        lost it moved to; missing while open), ``days`` (left − entered; for open stints
        ``as_of`` − entered), ``completed`` (the stint ended by ``as_of``).  A deal that
        re-enters a stage has one row per stint.
    """
    se = _events(data, methodology, owner="stage_durations")
    day = as_day(as_of, parameter="as_of", owner="stage_durations")
    ev = se.events[se.events["entered_at"] < day + _DAY]
    entries = ev[ev["is_entry"].to_numpy()]
    opp = entries["opportunity_id"].to_numpy()
    same_next = np.r_[opp[1:] == opp[:-1], False]
    nxt_day = np.r_[entries["day"].to_numpy()[1:], np.datetime64("NaT")]
    nxt_stage = np.r_[entries["stage"].to_numpy(dtype=object)[1:], None]
    # open stages only: an 'unknown' stage (no history for that time) has no duration
    stints = (entries["status"].to_numpy(dtype=object) == "open") & (
        entries["stage_order"].to_numpy() >= 0
    )
    left = np.where(same_next, nxt_day, np.datetime64("NaT"))
    out = pd.DataFrame(
        {
            "opportunity_id": opp,
            "stage": entries["stage"].to_numpy(dtype=object),
            "stage_order": entries["stage_order"].to_numpy(),
            "entered_date": entries["day"].to_numpy(),
            "left_date": left,
            "next_stage": np.where(same_next, nxt_stage, None),
        }
    )[stints].reset_index(drop=True)
    out["left_date"] = pd.to_datetime(out["left_date"]).astype("datetime64[us]")
    out["entered_date"] = out["entered_date"].astype("datetime64[us]")
    out["completed"] = out["left_date"].notna()
    end = out["left_date"].fillna(day)
    out["days"] = (end - out["entered_date"]).dt.days.astype("int64")
    for c in ("opportunity_id", "stage", "next_stage"):
        out[c] = out[c].astype("str").where(out[c].notna(), None)
    out.attrs["source"] = se.source
    return out


def stage_velocity(
    data: KamData | StageEvents,
    *,
    as_of: object,
    since: object = None,
    methodology: Methodology | str | Path | None = None,
) -> pd.DataFrame:
    """Days in stage per open stage: completed stints' median, quartiles, p90 and mean.

    Parameters
    ----------
    data
        The data or its :func:`stage_events`.
    as_of
        Stints are cut at the end of this day.
    since
        Only stints entered on or after this date.
    methodology
        Stages (default: kamlib's methodology file).

    Returns
    -------
    pandas.DataFrame
        One row per open stage in funnel order: ``stage``, ``completed`` (stints that ended
        by ``as_of``), ``median_days``, ``p25_days``, ``p75_days``, ``p90_days``,
        ``mean_days`` (of completed stints; NaN when there are none — ``completed`` is 0),
        ``open_now`` (deals in the stage at ``as_of``), ``open_median_days`` (how long they
        have been in it so far).  Without stage history every duration is unknown and the
        frame says so in ``attrs["note"]`` (counts 0, statistics NaN).
    """
    meth = resolve_methodology(methodology, owner="stage_velocity")
    se = _events(data, meth, owner="stage_velocity")
    dur = stage_durations(se, as_of=as_of, methodology=meth)
    if since is not None:
        dur = dur[dur["entered_date"] >= as_day(since, parameter="since", owner="stage_velocity")]
    if se.source != "stage_history":
        dur = dur.iloc[0:0]
    rows = []
    for s in meth.open_stages:
        d = dur[dur["stage"] == s.key]
        done = d.loc[d["completed"], "days"].to_numpy(float)
        now = d.loc[~d["completed"], "days"].to_numpy(float)
        q = np.percentile(done, [50, 25, 75, 90]) if len(done) else [np.nan] * 4
        rows.append(
            {"stage": s.key, "completed": len(done), "median_days": q[0], "p25_days": q[1],
             "p75_days": q[2], "p90_days": q[3],
             "mean_days": float(done.mean()) if len(done) else np.nan,
             "open_now": len(now), "open_median_days": float(np.median(now)) if len(now) else np.nan}
        )  # fmt: skip
    out = pd.DataFrame(rows)
    out.attrs["source"] = se.source
    out.attrs["note"] = (
        "days in stage of completed stints (entered → next stage, won or lost)"
        if se.source == "stage_history"
        else "no stage history: days in stage cannot be measured; see cycle_times for "
        "created → closed"
    )
    return out


def cycle_times(
    data: KamData | StageEvents,
    *,
    as_of: object,
    methodology: Methodology | str | Path | None = None,
) -> pd.DataFrame:
    """Created → closed, in days, of every deal closed by ``as_of``.

    Returns ``opportunity_id``, ``outcome`` (won / lost), ``created_date`` (the deal's start:
    ``created_date`` or its first history row if earlier), ``closed_date`` (its last close by
    ``as_of``), ``days``.  Deals whose ``closed_date`` lies before their creation are left out
    (``attrs["excluded"]`` counts them; :func:`stage_events` lists them).  Summarise with
    :func:`cycle_time_summary`.
    """
    se = _events(data, methodology, owner="cycle_times")
    day = as_day(as_of, parameter="as_of", owner="cycle_times")
    state = _state_at(se, day)
    closed = state[state["status"].isin(["won", "lost"])]
    opps = se.opportunities.set_index("opportunity_id")
    o = opps.loc[closed["opportunity_id"].to_numpy()]
    bad = (o["closed_date"].notna() & (o["closed_date"] < o["created_date"])).to_numpy()
    out = pd.DataFrame(
        {
            "opportunity_id": closed["opportunity_id"].to_numpy(),
            "outcome": closed["status"].to_numpy(),
            "created_date": o["start_date"].to_numpy(),
            "closed_date": closed["day"].to_numpy(),
        }
    )[~bad].reset_index(drop=True)
    out["days"] = (out["closed_date"] - out["created_date"]).dt.days.astype("int64")
    for c in ("opportunity_id", "outcome"):
        out[c] = out[c].astype("str")
    out.attrs["excluded"] = int(bad.sum())
    out.attrs["source"] = se.source
    return out


def cycle_time_summary(cycles: pd.DataFrame) -> pd.DataFrame:
    """Per outcome (won, lost, all) of :func:`cycle_times`: ``deals``, ``median_days``,
    ``p25_days``, ``p75_days``, ``p90_days``, ``mean_days`` (NaN when ``deals`` is 0)."""
    rows = []
    for outcome in ("won", "lost", "all"):
        d = cycles["days"] if outcome == "all" else cycles.loc[cycles["outcome"] == outcome, "days"]
        v = d.to_numpy(float)
        q = np.percentile(v, [50, 25, 75, 90]) if len(v) else [np.nan] * 4
        rows.append({"outcome": outcome, "deals": len(v), "median_days": q[0], "p25_days": q[1],
                     "p75_days": q[2], "p90_days": q[3],
                     "mean_days": float(v.mean()) if len(v) else np.nan})  # fmt: skip
    return pd.DataFrame(rows)


# -- stale deals ---------------------------------------------------------------------------------
def stale_deals(
    data: KamData | StageEvents,
    *,
    as_of: object,
    quantile: float = 0.9,
    min_stints: int = 20,
    methodology: Methodology | str | Path | None = None,
) -> pd.DataFrame:
    """Open deals at ``as_of`` that are *stuck* or have *slipped*.

    Rules
    -----
    - *stuck*: days in the current stage above the ``quantile`` (default p90) of that stage's
      completed stints by ``as_of`` (no look-ahead).  A stage with fewer than ``min_stints``
      completed stints uses the quantile of all stages' stints (``threshold_basis`` says
      which); with no completed stint at all nobody is flagged stuck.  Without stage history
      the deal's age is compared with the ``quantile`` of closed deals' cycle times instead
      (``threshold_basis`` ``"cycle_time"``; ``attrs["rule"]`` states the rule used).
    - *slipped*: the expected close date (as recorded by ``as_of``) is before ``as_of``.

    Returns
    -------
    pandas.DataFrame
        The :func:`pipeline_as_of` columns of the flagged deals, plus ``stuck_threshold_days``,
        ``threshold_basis`` (``"stage"`` / ``"pooled"`` / ``"cycle_time"`` / ``"none"``), ``days_past_due`` (0
        when not past due), ``is_stuck``, ``is_slipped`` and ``reason`` (readable, English:
        reports translate the flags), sorted by amount (largest first), then id.
    """
    if not 0 < quantile < 1:
        raise ConfigError(
            f"The 'quantile' parameter of stale_deals must lie between 0 and 1. Got {quantile!r} instead."
        )
    meth = resolve_methodology(methodology, owner="stale_deals")
    se = _events(data, meth, owner="stale_deals")
    day = as_day(as_of, parameter="as_of", owner="stale_deals")
    pipe = pipeline_as_of(se, day, methodology=meth)
    out = pipe.copy()
    pct = f"p{round(quantile * 100)}"
    if se.source == "stage_history":
        dur = stage_durations(se, as_of=day, methodology=meth)
        done = dur[dur["completed"]]
        pooled = float(np.quantile(done["days"], quantile)) if len(done) else np.nan
        thr, basis = {}, {}
        for s in meth.open_stages:
            d = done.loc[done["stage"] == s.key, "days"]
            if len(d) >= min_stints:
                thr[s.key], basis[s.key] = float(np.quantile(d, quantile)), "stage"
            else:
                thr[s.key], basis[s.key] = pooled, "pooled" if len(done) else "none"
        out["stuck_threshold_days"] = out["stage"].map(thr).astype("float64")
        if not len(done):
            out["stuck_threshold_days"] = np.nan
        out["threshold_basis"] = out["stage"].map(basis).fillna("pooled" if len(done) else "none")
        stuck_days = out["days_in_stage"]
        rule = (f"stuck: days in stage > {pct} of the stage's completed stints by {day.date()} "
                f"(pooled over stages below {min_stints} stints)")  # fmt: skip
    else:  # no stage history: the deal's age against closed deals' cycle times
        cyc = cycle_times(se, as_of=day, methodology=meth)
        enough = len(cyc) >= min_stints
        out["stuck_threshold_days"] = (
            float(np.quantile(cyc["days"], quantile)) if enough else np.nan
        )
        out["threshold_basis"] = "cycle_time" if enough else "none"
        stuck_days = out["age_days"]
        rule = (f"no stage history, so days in stage are unknown: stuck = age above {pct} of the "
                f"cycle times (created → closed) of deals closed by {day.date()}")  # fmt: skip
    out["days_past_due"] = (
        (day - out["expected_close_date"]).dt.days.clip(lower=0).fillna(0).astype("int64")
    )
    out["is_stuck"] = (stuck_days > out["stuck_threshold_days"]).fillna(False).astype(bool)
    out["is_slipped"] = out["is_past_due"]
    reasons = []
    for r in out.itertuples():
        parts = []
        if r.is_stuck and r.threshold_basis == "cycle_time":
            parts.append(f"open for {r.age_days} days ({pct} of closed deals' cycle time: "
                         f"{r.stuck_threshold_days:.0f})")  # fmt: skip
        elif r.is_stuck:
            parts.append(f"in {r.stage} for {r.days_in_stage} days ({pct} of the stage: "
                         f"{r.stuck_threshold_days:.0f})")  # fmt: skip
        if r.is_slipped:
            parts.append(f"expected close {r.expected_close_date.date()} passed "
                         f"{r.days_past_due} days ago")  # fmt: skip
        reasons.append("; ".join(parts))
    out["reason"] = pd.Series(reasons, index=out.index, dtype="str")
    out = out[out["is_stuck"] | out["is_slipped"]]
    out = out.sort_values(["amount", "opportunity_id"], ascending=[False, True], na_position="last")
    out = out.reset_index(drop=True)
    out.attrs.update(pipe.attrs)
    out.attrs["rule"] = f"{rule}; slipped: expected close date before {day.date()}"
    return out
