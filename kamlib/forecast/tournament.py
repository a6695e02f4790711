"""The forecast tournament: every method's track record, the headline method, honest intervals.

A deal-level Monte Carlo is only worth its complexity if it beats what a manager gets by hand.
For every back-test origin (:func:`kamlib.forecast.backtest_forecast`) the same quantity —
bookings, won opportunity amounts by close date — is forecast by:

``deal_model``
    the P50 of :func:`kamlib.forecast.forecast_period` (deal by deal, Monte Carlo);
``weighted_pipeline``
    closed to date + Σ amount × stage probability of the deals expected to close in it;
``naive``
    the last complete period's bookings;
``seasonal_naive``
    the bookings of the same period a year earlier (only with ≥ 1 year of history before the
    origin);
``mean``
    the mean bookings of all earlier complete periods;
``combined``
    the inverse-MAPE weighted mean of the single methods' P50s, each weighted by 1 / its MAPE
    over the origins of periods ended by then (methods scored at ≥ :data:`MIN_SCORED_ORIGINS`
    origins; none with fewer than two such methods): a contestant with its own track record;
``ets``
    a time-series model of bookings per period: the Theta method (statsmodels) with ≥ 6
    periods of history, simple exponential smoothing with 3–5, none below (the method then
    has no forecast at that origin and is not scored there).

The per-period methods forecast a whole period ``F``.  At an origin part-way into the period
their forecast is ``closed to date + F × (share of the period's days still to come)``:
bookings are assumed to accrue evenly over a period on average, and what is already won is
known.  History starts at the first period with any bookings (a CRM export's first months,
before its first won deal, are not a record of zero sales) and holds only periods that ended
on or before the origin: nothing after the as-of date is used.

**Headline choice** (:func:`choose_method`): at an as-of date the track record is the scored
origins of periods that had ended by then.  With at least :data:`MIN_SCORED_ORIGINS` of them
the method with the lowest MAPE wins; with fewer the deal-level Monte Carlo is kept and the
reason says so.

**Intervals** (:func:`conformal_interval`): split conformal prediction on the scores
``|log(remainder_actual / remainder_P50)|`` of the chosen method over the same track record
(all origins of the ended periods), where a remainder is what lies above the bookings closed
to date at the origin — so a forecast made part-way into a period is judged on the part it
did not know yet, and scores from start and part-way origins can be pooled.  With ``n ≥``
:data:`MIN_CONFORMAL_SCORES` scores, ``q`` is the ``⌈(n + 1)·0.8⌉``-th smallest score (the
largest when that exceeds ``n``) and P10 / P90 are ``closed + (P50 − closed)·e^∓q``.  The
interval is never narrower than the deal model's Monte Carlo band (its P10 / P90 ratios to
its P50 applied to the headline P50): the track record widens the band, it does not replace
deal-level chance.  With fewer scores the Monte Carlo band alone is used and the result says
``interval_method = "monte_carlo"``.

Coverage is reported with its Wilson 95 % score interval
(:func:`kamlib.proportions.wilson_interval`, re-exported here): with a handful of periods,
"7 of 9 inside" is compatible with anything from about 45 % to 94 %.

The same rules judge the order revenue forecast (:mod:`kamlib.forecast.revenue`): its
contestants (the run-rate model, last period, same period last year, the mean) are passed as
``methods`` with the run-rate model as the ``default``, and its conformal band is not widened
to the model's (``widen=False``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kamlib.errors import KamlibError
from kamlib.periods import as_day
from kamlib.proportions import wilson_interval

#: the single methods of the tournament, in display order
BASE_METHODS: tuple[str, ...] = (
    "deal_model", "weighted_pipeline", "naive", "seasonal_naive", "mean", "ets",
)  # fmt: skip
#: every contestant: the single methods and their accuracy-weighted combination
METHODS: tuple[str, ...] = (*BASE_METHODS, "combined")
#: scored origins (of ended periods) needed before the track record picks the headline method
MIN_SCORED_ORIGINS = 4
#: conformal scores needed before they set the interval (below: the Monte Carlo band)
MIN_CONFORMAL_SCORES = 4
#: nominal coverage of P10–P90
COVERAGE = 0.8
#: origins of the rolling back-test: the share of the period elapsed at the forecast
ROLLING_ORIGINS: tuple[float, ...] = (0.0, 1 / 3, 2 / 3)
#: periods per year (seasonal naive, Theta's season)
SEASON = {"weekly": 52, "monthly": 12, "quarterly": 4, "half-yearly": 2, "yearly": 1}


def series_forecast(history: np.ndarray, season: int) -> tuple[float, str]:
    """One-step forecast of bookings per period: Theta (≥ 6 periods), SES (3–5), else NaN.

    Returns the forecast (≥ 0) and the model used (``""`` when none).
    """
    y = np.asarray(history, dtype=float)
    if len(y) < 3:
        return float("nan"), ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if len(y) >= 6:
                from statsmodels.tsa.forecasting.theta import ThetaModel

                seasonal = season > 1 and len(y) >= 2 * season
                model = ThetaModel(y, period=max(season, 1), deseasonalize=seasonal, use_test=False)
                value, name = float(np.asarray(model.fit().forecast(1))[0]), "theta"
            else:
                from statsmodels.tsa.holtwinters import SimpleExpSmoothing

                fit = SimpleExpSmoothing(y, initialization_method="estimated").fit()
                value, name = float(np.asarray(fit.forecast(1))[0]), "ses"
        except (ValueError, np.linalg.LinAlgError, KamlibError):
            return float(np.mean(y)), "mean"
    if not np.isfinite(value):
        return float(np.mean(y)), "mean"
    return max(value, 0.0), name


def baseline_forecasts(
    history: np.ndarray,
    *,
    season: int,
    remaining: float = 1.0,
    closed_to_date: float = 0.0,
    series_model: bool = True,
) -> dict[str, float]:
    """The per-period methods' forecasts of one period (NaN where a method has none).

    ``history``: bookings of the complete periods before the origin, oldest first (from the
    first period with bookings).  ``remaining``: the share of the period's days after the
    origin (1 at its start).  Each forecast is ``closed_to_date + F × remaining``.
    ``series_model=False``: only the hand baselines (naive, seasonal naive, mean), without
    fitting the Theta / exponential-smoothing model (``ets``).
    """
    y = np.asarray(history, dtype=float)
    full = {
        "naive": y[-1] if len(y) else np.nan,
        "seasonal_naive": y[-season] if season >= 1 and len(y) >= season else np.nan,
        "mean": y.mean() if len(y) else np.nan,
    }
    if series_model:
        full["ets"] = series_forecast(y, season)[0]
    return {k: float(closed_to_date + v * remaining) for k, v in full.items()}


def conformal_quantile(scores: np.ndarray, coverage: float = COVERAGE) -> float:
    """Split-conformal quantile: the ``⌈(n + 1)·coverage⌉``-th smallest score (capped at n)."""
    s = np.sort(np.asarray(scores, dtype=float))
    s = s[np.isfinite(s)]
    if len(s) == 0:
        return float("nan")
    k = min(math.ceil((len(s) + 1) * coverage), len(s))
    return float(s[k - 1])


def log_scores(
    p50: pd.Series | np.ndarray,
    actual: pd.Series | np.ndarray,
    closed_to_date: pd.Series | np.ndarray | float = 0.0,
) -> np.ndarray:
    """``|log((actual − closed) / (p50 − closed))|`` where both remainders are positive (NaN
    elsewhere); ``closed_to_date`` is 0 for forecasts made before the period started."""
    a = np.asarray(actual, dtype=float)
    f = np.asarray(p50, dtype=float)
    c = np.broadcast_to(np.asarray(closed_to_date, dtype=float), a.shape)
    ra, rf = a - c, f - c
    ok = (ra > 0) & (rf > 0)
    out = np.full(len(a), np.nan)
    out[ok] = np.abs(np.log(ra[ok] / rf[ok]))
    return out


def conformal_interval(
    p50: float,
    scores: np.ndarray,
    *,
    floor: float = 0.0,
    coverage: float = COVERAGE,
    min_scores: int = MIN_CONFORMAL_SCORES,
) -> tuple[float, float] | None:
    """P10 / P90 around ``p50`` from earlier scores, or None with fewer than ``min_scores``.

    ``floor`` is what is already won (closed to date): the scores are ratios of the remainder
    above it, so the interval is ``floor + (p50 − floor)·e^∓q``."""
    s = np.asarray(scores, dtype=float)
    s = s[np.isfinite(s)]
    if len(s) < min_scores or not np.isfinite(p50):
        return None
    q = conformal_quantile(s, coverage)
    rest = max(p50 - floor, 0.0)
    return (floor + rest * math.exp(-q), floor + rest * math.exp(q))


def method_scores(track: pd.DataFrame, *, methods: tuple[str, ...] = METHODS) -> pd.DataFrame:
    """Per method of ``methods``: ``scored`` origins, ``mape``, ``mae`` (mean absolute error,
    in money), ``bias`` (mean signed error share).

    ``track``: rows ``method``, ``p50``, ``actual`` (origins with actual 0 or no forecast are
    not scored).
    """
    rows = []
    for m in methods:
        t = track[(track["method"] == m) & (track["actual"] > 0) & track["p50"].notna()]
        err = (t["p50"] - t["actual"]) / t["actual"]
        rows.append({
            "method": m, "scored": len(t),
            "mape": float(err.abs().mean()) if len(t) else np.nan,
            "mae": float((t["p50"] - t["actual"]).abs().mean()) if len(t) else np.nan,
            "bias": float(err.mean()) if len(t) else np.nan,
        })  # fmt: skip
    return pd.DataFrame(rows)


def choose_method(
    track: pd.DataFrame,
    as_of: pd.Timestamp | str,
    *,
    available: set[str] | None = None,
    min_scored: int = MIN_SCORED_ORIGINS,
    methods: tuple[str, ...] = METHODS,
    default: str = "deal_model",
    default_name: str = "the deal-level Monte Carlo",
) -> tuple[str, str, pd.DataFrame]:
    """The headline method at ``as_of``: lowest MAPE over the origins of periods ended by then.

    ``track``: one row per origin and method: ``end`` (the period's last day), ``method``,
    ``p50``, ``actual``.  Only rows with ``end ≤ as_of`` count (no look-ahead).  A method must
    have been scored at ``min_scored`` origins; ``available`` restricts the candidates (the
    methods with a forecast now).  ``methods`` are the contestants and ``default`` (called
    ``default_name`` in the reason) the one kept while no method has enough track record:
    the bookings tournament's by default (the run-rate revenue forecast passes its own).
    Returns (method, reason, the scores table).
    """
    day = as_day(as_of, owner="choose_method")
    known = track[pd.to_datetime(track["end"]) <= day] if len(track) else track
    scores = method_scores(
        known if len(known) else pd.DataFrame({"method": [], "p50": [], "actual": []}),
        methods=methods,
    )
    ok = scores[(scores["scored"] >= min_scored) & scores["mape"].notna()]
    if available is not None:
        ok = ok[ok["method"].isin(available)]
    n_model = int(scores.loc[scores["method"] == default, "scored"].sum())
    if ok.empty:
        return (
            default,
            (
                f"too little track record to judge ({n_model} scored back-test origins, "
                f"{min_scored} needed): {default_name} is kept"
            ),
            scores,
        )
    best = ok.sort_values(["mape", "method"], kind="mergesort").iloc[0]
    runner = ok[ok["method"] != best["method"]].sort_values("mape").head(1)
    why = f"lowest MAPE over {int(best['scored'])} back-test origins ({best['mape']:.1%})"
    if len(runner):
        why += f"; next {runner['method'].iloc[0]} {runner['mape'].iloc[0]:.1%}"
    return str(best["method"]), why, scores


def combination_weights(
    known: pd.DataFrame,
    available: set[str] | None = None,
    *,
    min_scored: int = MIN_SCORED_ORIGINS,
) -> dict[str, float]:
    """Inverse-MAPE weights of the single methods over ``known`` (rows ``method``, ``p50``,
    ``actual`` of ended periods): ``w_m ∝ 1 / MAPE_m`` among the methods in ``available``
    scored at ≥ ``min_scored`` origins; empty with fewer than two of them."""
    if known.empty:
        return {}
    scores = method_scores(known[known["method"].isin(BASE_METHODS)])
    ok = scores[(scores["scored"] >= min_scored) & (scores["mape"] > 0)
                & scores["method"].isin(BASE_METHODS)]  # fmt: skip
    if available is not None:
        ok = ok[ok["method"].isin(available)]
    if len(ok) < 2:
        return {}
    inv = 1.0 / ok["mape"].to_numpy(dtype=float)
    return dict(zip(ok["method"], inv / inv.sum(), strict=True))


def combined_p50(candidates: dict[str, float], weights: dict[str, float]) -> float:
    """Σ w_m · P50_m (NaN without weights)."""
    if not weights:
        return float("nan")
    return float(sum(w * candidates[m] for m, w in weights.items()))


@dataclass(frozen=True)
class Calibrated:
    """A headline forecast: method, P10 / P50 / P90 and how the interval was made."""

    method: str
    reason: str
    p10: float
    p50: float
    p90: float
    interval_method: str
    scores: pd.DataFrame = field(repr=False)


def calibrate(
    candidates: dict[str, float],
    track: pd.DataFrame,
    as_of: pd.Timestamp | str,
    *,
    model_band: tuple[float, float, float] | None,
    closed_to_date: float = 0.0,
    min_scored: int = MIN_SCORED_ORIGINS,
    min_scores: int = MIN_CONFORMAL_SCORES,
    methods: tuple[str, ...] = METHODS,
    default: str = "deal_model",
    default_name: str = "the deal-level Monte Carlo",
    widen: bool = True,
) -> Calibrated:
    """Choose the method and calibrate its interval with the track record known at ``as_of``.

    ``candidates``: method → P50 now (NaN: no forecast).  ``model_band``: the model's own
    simulated (P10, P50, P90) — the deal model's Monte Carlo for bookings, the run-rate
    simulation for order revenue; ``None`` when the model made none —, scaled to the headline
    P50: the fall-back interval (without one and without a track record: NaN), and
    with ``widen`` the narrowest one allowed (the bookings rule: deal-level chance stays in
    the band; order revenue passes ``widen=False``, its conformal band stands alone).
    ``methods``, ``default``, ``default_name``: as :func:`choose_method`.
    """
    avail = {m for m, v in candidates.items() if v is not None and np.isfinite(v)}
    method, reason, scores = choose_method(
        track, as_of, available=avail, min_scored=min_scored, methods=methods, default=default,
        default_name=default_name,
    )  # fmt: skip
    p50 = float(candidates[method])
    day = as_day(as_of, owner="calibrate")
    known = (
        track[(pd.to_datetime(track["end"]) <= day) & (track["method"] == method)]
        if len(track)
        else track
    )
    band = conformal_interval(
        p50,
        track_scores(known),
        floor=closed_to_date,
        min_scores=min_scores,
    )
    if model_band is None:
        if band is not None:
            return Calibrated(method, reason, band[0], p50, band[1], "conformal", scores)
        return Calibrated(method, reason, np.nan, p50, np.nan, "monte_carlo", scores)
    m10, m50, m90 = model_band
    if m50 > 0:
        lo, hi = p50 * m10 / m50, p50 * m90 / m50
    else:
        lo, hi = m10, max(m90, p50)
    lo, hi = max(min(lo, p50), closed_to_date), max(hi, p50)
    if band is not None and not widen:
        return Calibrated(method, reason, band[0], p50, band[1], "conformal", scores)
    if band is not None:  # the track record widens the deal-level band, never narrows it
        return Calibrated(method, reason, min(band[0], lo), p50, max(band[1], hi), "conformal",
                          scores)  # fmt: skip
    return Calibrated(method, reason, lo, p50, hi, "monte_carlo", scores)


def track_scores(track: pd.DataFrame) -> np.ndarray:
    """Conformal scores (:func:`log_scores`) of track-record rows (``p50``, ``actual`` and,
    when present, ``closed_to_date``)."""
    if not len(track):
        return np.array([])
    closed = track.get("closed_to_date", 0.0)
    return log_scores(track["p50"], track["actual"], closed)


def coverage_summary(inside: pd.Series) -> dict[str, Any]:
    """``inside`` (bool per scored origin) → inside, n, coverage, coverage_interval."""
    s = inside.dropna().astype(bool)
    k, n = int(s.sum()), int(len(s))
    lo, hi = wilson_interval(k, n)
    return {
        "inside": k,
        "n": n,
        "coverage": (k / n) if n else None,
        "coverage_interval": [round(lo, 4), round(hi, 4)] if n else None,
    }
