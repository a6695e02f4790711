"""Order revenue of a period, forecast and judged against what a manager computes by hand.

A company whose export has order lines but no opportunity pipeline (a wholesaler) still
wants to know what this period's net order revenue will be, and how far to trust the
figure.  This module runs the forecast tournament of :mod:`kamlib.forecast.tournament` on
order revenue, with these contestants (:data:`REVENUE_METHODS`):

``run_rate``
    the run-rate model (:func:`kamlib.forecast.run_rate.run_rate_totals`: ETS on the monthly
    net order revenue, simulated; the mean month with fewer than 12 months of history);
``naive``
    the last complete period's revenue;
``seasonal_naive``
    the revenue of the same period a year earlier (once a year of periods is known);
``mean``
    the mean revenue of every earlier complete period.

The three baselines are what a manager computes by hand.  Part-way into a period they
forecast ``ordered to date + F × the share of the period's days still to come``
(:func:`~kamlib.forecast.tournament.baseline_forecasts`).

What is counted
---------------
Revenue is the sum of net order amounts (returns and credit notes included) dated in the
period.  Periods count from the first one the export covers from its start: an export that
begins part-way into a period (the UCI Online Retail log starts on 1 December 2010, two
months into 2010-Q4) would make that period look small, so the period of the first order
line is left out when that line came later than the usual wait between order days (or
:data:`START_TOLERANCE` of the period's days) after it began
(:func:`first_complete_period`).  A forecast at an as-of date (or a back-test origin) reads only the order
lines dated on or before it.

Back-test (:func:`backtest_revenue`)
------------------------------------
The last ``periods`` complete periods that have at least one complete period before them
are each forecast at the back-test origins — the day before they begin and, with
:data:`~kamlib.forecast.tournament.ROLLING_ORIGINS`, a third and two thirds of the way in —
by every method, from the order lines dated on or before the origin only, and compared with
the period's revenue.  At every origin the headline that would have been published then is
chosen and calibrated as the bookings headline is
(:func:`~kamlib.forecast.tournament.calibrate`): the method with the lowest MAPE over the
origins of periods that had ended by then (each scored at
:data:`~kamlib.forecast.tournament.MIN_SCORED_ORIGINS` origins or more; else the run-rate
model), its P10–P90 split-conformal on that method's own earlier errors on the part of the
period not yet ordered (at least :data:`~kamlib.forecast.tournament.MIN_CONFORMAL_SCORES`
of them; else the run-rate model's simulated band scaled to the headline P50).  Unlike the
bookings headline the conformal band is not widened to the model's band: a run-rate model
that a one-off spike threw off would otherwise widen a baseline's honest interval.  Every
method also gets its own interval the same way, so each has a coverage; a coverage is given
with its Wilson 95 % interval.

Headline (:func:`forecast_revenue`)
-----------------------------------
The same choice and calibration at the as-of date, on the whole back-test: if the run-rate
model's record is worse than a baseline's, the baseline is the headline.

Segments
--------
By ``product_line``, ``business_unit`` or ``region`` (the first the orders have; or the
column asked): the segments holding at least :data:`MIN_SEGMENT_SHARE` of the last 12
months' revenue, at most :data:`MAX_SEGMENTS` of them, and the rest (missing values
included) as :data:`OTHER`.  The segments are fixed at the as-of date; each is forecast,
back-tested and given its headline on its own orders exactly as the company is (the
segments' headlines need not add up to the company's: each is its own best method).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kamlib.errors import ConfigError, DataValidationError
from kamlib.forecast.backtest import origin_dates
from kamlib.forecast.run_rate import run_rate_totals
from kamlib.forecast.tournament import (
    ROLLING_ORIGINS,
    SEASON,
    Calibrated,
    baseline_forecasts,
    calibrate,
    conformal_interval,
    coverage_summary,
    method_scores,
    track_scores,
)
from kamlib.forecast.win_probability import forecast_settings
from kamlib.methodology import Methodology
from kamlib.periods import Period, as_day, parse_period, period_of, trailing_window

#: the contestants: the run-rate model, then the baselines a manager computes by hand
REVENUE_METHODS: tuple[str, ...] = ("run_rate", "naive", "seasonal_naive", "mean")
#: the baselines a manager computes by hand
BASELINES: tuple[str, ...] = REVENUE_METHODS[1:]
#: the model, kept as the headline while the track record is too short to judge
MODEL = "run_rate"
#: the scope key of the whole company and of the segments not shown on their own
COMPANY = "__all__"
OTHER = "__other__"
#: columns of ``orders`` tried, in order, for the segments
SEGMENT_COLUMNS: tuple[str, ...] = ("product_line", "business_unit", "region")
#: most segments shown on their own, and the share of 12-month revenue each needs
MAX_SEGMENTS = 5
MIN_SEGMENT_SHARE = 0.03
#: how late (share of its days) the first order line may always come for its period to count
START_TOLERANCE = 0.1
#: days without any order line before the as-of date after which the report warns
STALE_DAYS = 31

TRACK_COLUMNS = (
    "period", "origin", "as_of", "end", "scope", "method", "p50", "p10", "p90", "actual",
    "closed_to_date", "in_interval",
)  # fmt: skip
HEADLINE_COLUMNS = (
    "period", "origin", "as_of", "end", "scope", "method", "interval_method", "p10", "p50",
    "p90", "actual", "closed_to_date", "in_interval", "error",
)  # fmt: skip


# -- revenue per period ------------------------------------------------------------------------
def first_complete_period(
    orders: pd.DataFrame, freq: str, *, fiscal_year_start_month: int = 1
) -> Period | None:
    """The first period of ``freq`` the orders cover from its start (None without orders).

    The period of the first order line counts when that line comes no later after the
    period began than the usual wait for an order (the 90th percentile of the days between
    consecutive order days) or :data:`START_TOLERANCE` of the period's days, whichever is
    longer; else the next period is the first.  A log with orders every day that starts two
    months into a quarter has not recorded that quarter; a company that orders twice a
    month and first on the 15th has.
    """
    if orders.empty:
        return None
    days = orders["order_date"].dt.normalize().drop_duplicates().sort_values()
    gaps = days.diff().dt.days.dropna().to_numpy(dtype=float)
    usual = float(np.quantile(gaps, 0.9)) if len(gaps) else 0.0
    first = pd.Timestamp(days.iloc[0])
    per = period_of(first.date(), freq, fiscal_year_start_month=fiscal_year_start_month)
    if (first - pd.Timestamp(per.start)).days > max(START_TOLERANCE * per.days, usual):
        per = per.next()
    return per


def periods_between(first: Period | None, last: Period) -> list[Period]:
    """``first`` … ``last`` (oldest first; empty when ``first`` is None or after ``last``)."""
    if first is None or first.start > last.start:
        return []
    out = [last]
    while out[-1].start > first.start:
        out.append(out[-1].previous())
    return out[::-1]


def period_revenue(orders: pd.DataFrame, periods: list[Period]) -> np.ndarray:
    """Net order amount dated in each of ``periods`` (0 for a period without orders)."""
    day = orders["order_date"].dt.normalize()
    amount = orders["amount"].astype("float64")
    return np.array(
        [
            float(amount[(day >= pd.Timestamp(p.start)) & (day <= pd.Timestamp(p.end))].sum())
            for p in periods
        ],
        dtype=float,
    )


# -- segments ------------------------------------------------------------------------------------
def revenue_segments(
    orders: pd.DataFrame,
    *,
    as_of: str | pd.Timestamp,
    by: str = "",
    max_segments: int = MAX_SEGMENTS,
    min_share: float = MIN_SEGMENT_SHARE,
) -> tuple[str, list[str], str]:
    """The segment column, its segments (largest first) and a sentence saying what was done.

    ``by``: a column of ``orders``; ``""`` tries :data:`SEGMENT_COLUMNS` in order and takes
    the first with at least two segments of ``min_share`` of the net order revenue of the 12
    months to ``as_of``; ``"none"``: no segments.  Returns ``("", [], why)`` when there are
    none.
    """
    day = as_day(as_of, owner="revenue_segments")
    if by == "none":
        return "", [], "no segments asked for"
    if by and by not in orders.columns:
        raise ConfigError(
            f"The 'segment_by' parameter names {by!r}, which the orders do not have. Valid: "
            f"{', '.join(SEGMENT_COLUMNS)}, another column of the orders, '' (the first of "
            "those with enough revenue) or 'none'."
        )
    lo, hi = trailing_window(day.date(), months=12)
    dates = orders["order_date"].dt.normalize()
    recent = orders[(dates >= pd.Timestamp(lo)) & (dates <= pd.Timestamp(hi))]
    total = float(recent["amount"].astype("float64").sum())
    columns = [by] if by else [c for c in SEGMENT_COLUMNS if c in orders.columns]
    for column in columns:
        values = recent[column].astype("string")
        sums = recent["amount"].astype("float64").groupby(values).sum()
        if total <= 0 or sums.empty:
            continue
        share = (sums / total).sort_values(ascending=False, kind="mergesort")
        big = [str(k) for k, v in share.items() if v >= min_share][:max_segments]
        rest_share = 1.0 - float(share[big].sum())
        if len(big) >= 2 or (big and rest_share >= min_share):
            why = f"segments by {column}: {', '.join(big)}"
            rest = len(share) - len(big)
            if rest or values.isna().any():
                why += (
                    f"; the {rest} other value(s)"
                    + (" and the lines without one" if values.isna().any() else "")
                    + f" ({rest_share:.0%} of the last 12 months' revenue) are 'other'"
                )
            return column, big, why
    tried = ", ".join(columns) or "none of " + ", ".join(SEGMENT_COLUMNS)
    return (
        "",
        [],
        (
            f"no segments: no column ({tried}) has two groups with {min_share:.0%} or more of "
            "the last 12 months' revenue"
        ),
    )


def scope_frames(orders: pd.DataFrame, column: str, segments: list[str]) -> dict[str, pd.DataFrame]:
    """Daily net order revenue (``order_date``, ``amount``) of the company and each segment
    (``OTHER``: the rest, missing values included; left out when it has no order line)."""
    day = orders["order_date"].dt.normalize()
    amount = orders["amount"].astype("float64")

    def daily(mask: pd.Series | None) -> pd.DataFrame:
        a = amount if mask is None else amount[mask]
        d = day if mask is None else day[mask]
        sums = a.groupby(d).sum().sort_index()
        return pd.DataFrame({"order_date": sums.index, "amount": sums.to_numpy()})

    out = {COMPANY: daily(None)}
    if column:
        values = orders[column].astype("string")
        for seg in segments:
            out[seg] = daily((values == seg).fillna(False))
        rest = ~values.isin(segments).fillna(False)
        if rest.any():
            out[OTHER] = daily(rest)
    return out


# -- the methods at one origin ------------------------------------------------------------------
def method_forecasts(
    orders: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    period: Period,
    first: Period | None,
    months: int,
    repetitions: int,
    seed: int,
) -> dict[str, Any]:
    """Every method's forecast of ``period``'s net order revenue as of ``as_of``.

    ``orders`` (one scope: ``order_date``, ``amount``) are cut at ``as_of`` first, so nothing
    after it is used; ``first`` is the first complete period of the company's orders (the
    baselines' history starts there).  Returns ``closed_to_date``, one P50 per method of
    :data:`REVENUE_METHODS` (NaN: no forecast), ``run_rate_p10`` / ``run_rate_p90`` and
    ``run_rate_method``.
    """
    known = orders[orders["order_date"] < as_of + pd.Timedelta(days=1)]
    totals, closed, rr_method, _ = run_rate_totals(
        known, as_of=as_of, period=period, months=months, repetitions=repetitions, seed=seed
    )
    if rr_method == "none":
        p10 = p50 = p90 = np.nan
    else:
        p10, p50, p90 = (float(x) for x in np.quantile(totals, [0.1, 0.5, 0.9]))
    history = period_revenue(known, periods_between(first, period.previous()))
    start, end = pd.Timestamp(period.start), pd.Timestamp(period.end)
    ndays = (end - start).days + 1
    remaining = min(max((end - max(as_of, start - pd.Timedelta(days=1))).days / ndays, 0.0), 1.0)
    base = baseline_forecasts(
        history, season=SEASON.get(period.freq, 1), remaining=remaining, closed_to_date=closed,
        series_model=False,  # the run-rate model is this forecast's model
    )  # fmt: skip
    return {
        "closed_to_date": closed, "run_rate": p50, "run_rate_p10": p10, "run_rate_p90": p90,
        "run_rate_method": rr_method, **{m: base[m] for m in BASELINES},
    }  # fmt: skip


def _headline(
    cands: dict[str, Any], track: pd.DataFrame, as_of: pd.Timestamp
) -> tuple[Calibrated, list[dict[str, Any]]]:
    """The headline at ``as_of`` from ``track`` (one scope), and each method's own interval."""
    p50 = {m: float(cands[m]) for m in REVENUE_METHODS}
    band = (cands["run_rate_p10"], cands["run_rate"], cands["run_rate_p90"])
    has_band = bool(np.isfinite(band).all())
    cal = calibrate(
        p50, track, as_of, model_band=band if has_band else None,
        closed_to_date=cands["closed_to_date"], methods=REVENUE_METHODS, default=MODEL,
        default_name="the run-rate model", widen=False,
    )  # fmt: skip
    known = track[track["end"] <= as_of] if len(track) else track
    own = []
    for m in REVENUE_METHODS:
        lo = hi = np.nan
        if np.isfinite(p50[m]):
            b = conformal_interval(
                p50[m], track_scores(known[known["method"] == m]) if len(known) else np.array([]),
                floor=cands["closed_to_date"],
            )  # fmt: skip
            if b is not None:
                lo, hi = b
            elif m == MODEL:
                lo, hi = band[0], band[2]
        own.append({"method": m, "p50": p50[m], "p10": lo, "p90": hi})
    return cal, own


# -- back-test ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RevenueBacktest:
    """The revenue forecast at past origins against what was ordered.

    ``track``: one row per period, origin, scope and method (:data:`TRACK_COLUMNS`): the
    method's P50, its own honest P10 / P90 (NaN before it has
    :data:`~kamlib.forecast.tournament.MIN_CONFORMAL_SCORES` errors of ended periods, but the
    run-rate model's simulated band) and whether the actual fell inside (None: no interval).
    ``headline``: one row per period, origin and scope (:data:`HEADLINE_COLUMNS`): the
    method the record chose then, its calibrated P10 / P50 / P90 and the error of P50 as a
    share of the actual (> 0: over-forecast).  ``origins``: the shares of a period elapsed.
    """

    freq: str
    origins: tuple[float, ...]
    periods: tuple[str, ...]
    scopes: tuple[str, ...]
    track: pd.DataFrame = field(repr=False)
    headline: pd.DataFrame = field(repr=False)

    def method_table(self, scope: str = COMPANY) -> pd.DataFrame:
        """Per method over every origin: ``scored``, ``mape``, ``mae``, ``bias``, ``inside``,
        ``n``, ``coverage`` and its Wilson 95 % interval ``coverage_low`` / ``coverage_high``."""
        t = self.track[self.track["scope"] == scope]
        scores = method_scores(t, methods=REVENUE_METHODS)
        rows = []
        for r in scores.to_dict("records"):
            cov = coverage_summary(t.loc[t["method"] == r["method"], "in_interval"])
            lo, hi = cov["coverage_interval"] or (np.nan, np.nan)
            rows.append({**r, "inside": cov["inside"], "n": cov["n"],
                         "coverage": np.nan if cov["coverage"] is None else cov["coverage"],
                         "coverage_low": lo, "coverage_high": hi})  # fmt: skip
        return pd.DataFrame(rows)

    def headline_accuracy(self, scope: str = COMPANY) -> dict[str, Any]:
        """The published headline over every origin: ``origins``, ``mape``, ``mae``,
        ``bias``, and ``inside``, ``n``, ``coverage``, ``coverage_interval`` (Wilson 95 %)."""
        h = self.headline[self.headline["scope"] == scope]
        ok = h[(h["actual"] > 0) & h["p50"].notna()]
        err = (ok["p50"] - ok["actual"]) / ok["actual"]
        return {
            "origins": int(len(h)),
            "mape": float(err.abs().mean()) if len(ok) else np.nan,
            "mae": float((ok["p50"] - ok["actual"]).abs().mean()) if len(ok) else np.nan,
            "bias": float(err.mean()) if len(ok) else np.nan,
            **coverage_summary(h["in_interval"]),
        }


def _backtest(
    frames: dict[str, pd.DataFrame],
    *,
    as_of: pd.Timestamp,
    freq: str,
    fiscal_year_start_month: int,
    periods: int,
    origins: tuple[float, ...],
    months: int,
    repetitions: int,
    seed: int,
) -> RevenueBacktest:
    company = frames[COMPANY]
    first = first_complete_period(company, freq, fiscal_year_start_month=fiscal_year_start_month)
    last = period_of(as_of.date(), freq, fiscal_year_start_month=fiscal_year_start_month)
    if pd.Timestamp(last.end) > as_of:
        last = last.previous()
    # a back-test period needs one complete period before it (else no baseline has history)
    candidates = periods_between(first.next() if first is not None else None, last)
    chosen = candidates[len(candidates) - periods :] if periods else []
    scopes = tuple(frames)
    rows: list[dict[str, Any]] = []
    cands_at: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for per in chosen:
        actual = {s: float(period_revenue(f, [per])[0]) for s, f in frames.items()}
        for frac, day in origin_dates(per, origins):
            first_then = first_complete_period(
                company[company["order_date"] <= day], freq,
                fiscal_year_start_month=fiscal_year_start_month,
            )  # fmt: skip
            for i, scope in enumerate(scopes):
                c = method_forecasts(frames[scope], as_of=day, period=per, first=first_then,
                                     months=months, repetitions=repetitions, seed=seed + i)  # fmt: skip
                key = {"period": per.label, "origin": frac, "as_of": day,
                       "end": pd.Timestamp(per.end), "scope": scope, "actual": actual[scope],
                       "closed_to_date": c["closed_to_date"]}  # fmt: skip
                cands_at.append((key, c))
                rows.extend({**key, "method": m, "p50": c[m]} for m in REVENUE_METHODS)
    track = pd.DataFrame(rows, columns=[c for c in TRACK_COLUMNS if c not in ("p10", "p90",
                                                                              "in_interval")])  # fmt: skip
    by_scope = {s: track[track["scope"] == s] for s in scopes}
    heads, own_rows = [], []
    for key, c in cands_at:
        cal, own = _headline(c, by_scope[key["scope"]], key["as_of"])
        inside = bool(cal.p10 <= key["actual"] <= cal.p90)
        err = (cal.p50 - key["actual"]) / key["actual"] if key["actual"] > 0 else np.nan
        heads.append({**key, "method": cal.method, "interval_method": cal.interval_method,
                      "p10": cal.p10, "p50": cal.p50, "p90": cal.p90, "in_interval": inside,
                      "error": err})  # fmt: skip
        for o in own:
            hit = None
            if np.isfinite(o["p10"]) and np.isfinite(o["p90"]):
                hit = bool(o["p10"] <= key["actual"] <= o["p90"])
            own_rows.append({"period": key["period"], "origin": key["origin"],
                             "scope": key["scope"], "method": o["method"], "p10": o["p10"],
                             "p90": o["p90"], "in_interval": hit})  # fmt: skip
    own_frame = pd.DataFrame(
        own_rows, columns=["period", "origin", "scope", "method", "p10", "p90", "in_interval"]
    )
    track = track.merge(own_frame, on=["period", "origin", "scope", "method"], how="left")
    return RevenueBacktest(
        freq=freq, origins=origins, periods=tuple(p.label for p in chosen), scopes=scopes,
        track=track[list(TRACK_COLUMNS)],
        headline=pd.DataFrame(heads, columns=list(HEADLINE_COLUMNS)),
    )  # fmt: skip


def _check_origins(origins: tuple[float, ...], owner: str) -> tuple[float, ...]:
    out = tuple(sorted({float(f) for f in origins}))
    if not out or any(not 0.0 <= f < 1.0 for f in out):
        raise DataValidationError(
            f"The 'origins' of {owner} are shares of the period elapsed, in [0, 1). Got "
            f"{origins!r} instead."
        )
    return out


def _check_periods(periods: object, owner: str) -> int:
    if not isinstance(periods, int | np.integer) or isinstance(periods, bool) or periods < 0:
        raise DataValidationError(
            f"The 'periods' parameter of {owner} must be a whole number ≥ 0. Got {periods!r} "
            "instead."
        )
    return int(periods)


def _prepare(
    data: Any, day: pd.Timestamp, segment_by: str, max_segments: int, min_share: float
) -> tuple[dict[str, pd.DataFrame], str, list[str], str]:
    """The orders known at ``day``, split into the scopes' daily revenue."""
    orders = data.require("orders", "The revenue forecast")
    orders = orders[orders["order_date"] < day + pd.Timedelta(days=1)]
    column, segments, why = revenue_segments(
        orders, as_of=day, by=segment_by, max_segments=max_segments, min_share=min_share
    )
    return scope_frames(orders, column, segments), column, segments, why


def backtest_revenue(
    data: Any,
    *,
    as_of: str | pd.Timestamp,
    freq: str = "quarterly",
    periods: int = 8,
    origins: tuple[float, ...] = ROLLING_ORIGINS,
    segment_by: str = "none",
    methodology: Methodology | str | None = None,
    repetitions: int = 1000,
    seed: int | None = None,
) -> RevenueBacktest:
    """Back-test the order revenue forecast over the last ``periods`` complete periods.

    Parameters
    ----------
    data
        ``KamData`` with ``orders``; only order lines dated on or before ``as_of`` are read.
    as_of
        The periods back-tested end on or before it.
    freq
        ``"monthly"``, ``"quarterly"`` … (fiscal year from the methodology).
    periods
        How many past periods, the newest complete ones that have a complete period before
        them (fewer when the history is shorter).
    origins
        Shares of each period elapsed at its forecasts (0: the day before it begins).
    segment_by
        ``"none"`` (the company only), ``""`` or a column: see :func:`revenue_segments`.
    methodology
        Methodology file or object (fiscal year, ``run_rate_months``, default seed).
    repetitions, seed
        Simulated paths of each run-rate forecast and the seed (scope ``i`` uses seed + i).

    Returns
    -------
    RevenueBacktest
    """
    owner = "backtest_revenue"
    day = as_day(as_of, owner=owner)
    meth, settings = forecast_settings(methodology)
    periods = _check_periods(periods, owner)
    frames, *_ = _prepare(data, day, segment_by, MAX_SEGMENTS, MIN_SEGMENT_SHARE)
    freq = period_of(day.date(), freq).freq  # normalises and checks the frequency
    return _backtest(
        frames, as_of=day, freq=freq, fiscal_year_start_month=meth.fiscal_year_start_month,
        periods=periods, origins=_check_origins(origins, owner), months=settings.run_rate_months,
        repetitions=repetitions, seed=int(settings.seed if seed is None else seed),
    )  # fmt: skip


@dataclass(frozen=True)
class OrderRevenueForecast:
    """The order revenue forecast of a period, by scope, and the track record behind it.

    Attributes
    ----------
    period, freq, as_of
        The forecast period (label), its frequency and the as-of date.
    forecasts
        One row per scope (the company :data:`COMPANY` first, then the segments largest
        first, :data:`OTHER` last): ``scope``, ``revenue_12m`` and ``share_12m`` (net order
        revenue of the 12 months to the as-of date), ``closed_to_date``, the headline
        ``method``, ``reason``, ``interval_method`` (``conformal`` or ``monte_carlo``: the
        run-rate model's simulated band), ``p10``, ``p50``, ``p90``; every method's P50 now
        (``run_rate``, ``naive``, ``seasonal_naive``, ``mean``), ``run_rate_p10``,
        ``run_rate_p90`` and ``run_rate_method`` (``ets`` or ``mean``).
    history
        Net order revenue of every complete period up to the as-of date: ``period``,
        ``start``, ``end``, ``scope``, ``revenue``.
    backtest
        The :class:`RevenueBacktest` the headlines were chosen and calibrated on.
    segment_by
        The segment column ('' without segments).
    notes
        What was assumed or left out, one English sentence each.
    """

    period: str
    freq: str
    as_of: pd.Timestamp
    forecasts: pd.DataFrame = field(repr=False)
    history: pd.DataFrame = field(repr=False)
    backtest: RevenueBacktest = field(repr=False)
    segment_by: str = ""
    notes: tuple[str, ...] = ()

    def scope(self, scope: str = COMPANY) -> dict[str, Any]:
        """The forecast row of ``scope`` as a mapping."""
        hit = self.forecasts[self.forecasts["scope"] == scope]
        if hit.empty:
            raise DataValidationError(
                f"The revenue forecast has no scope {scope!r}. Scopes: "
                f"{', '.join(map(str, self.forecasts['scope']))}."
            )
        return hit.iloc[0].to_dict()

    def methods(self, scope: str = COMPANY) -> pd.DataFrame:
        """Per method: ``p50`` now, the back-test record over every origin
        (:meth:`RevenueBacktest.method_table`) and ``chosen``."""
        row = self.scope(scope)
        table = self.backtest.method_table(scope)
        table.insert(1, "p50", [float(row[m]) for m in table["method"]])
        table["chosen"] = table["method"] == row["method"]
        return table


def _forecast_period(
    period: Period | str | None, day: pd.Timestamp, fiscal_year_start_month: int
) -> Period:
    """The period asked for (checked: it holds the as-of date before its last day — a period
    whose last day has come is over, nothing to forecast — or begins the day after), else
    the default: the quarter after a quarter-end as-of date, else the as-of's quarter."""
    if period is None or period == "":
        per = period_of(day.date(), "quarterly", fiscal_year_start_month=fiscal_year_start_month)
        return per.next() if pd.Timestamp(per.end) == day else per
    per = period if isinstance(period, Period) else parse_period(
        str(period), fiscal_year_start_month=fiscal_year_start_month
    )  # fmt: skip
    if not pd.Timestamp(per.start) - pd.Timedelta(days=1) <= day < pd.Timestamp(per.end):
        raise DataValidationError(
            f"The revenue forecast covers the period the as-of date {day.date()} lies in "
            f"(before its last day), or the one that begins the day after it. Got period {per.label} "
            f"({per.start} … {per.end}) instead: pick as_of inside it or on the day before."
        )
    return per


def forecast_revenue(
    data: Any,
    *,
    as_of: str | pd.Timestamp,
    period: Period | str | None = None,
    methodology: Methodology | str | None = None,
    backtest_periods: int = 8,
    origins: tuple[float, ...] = ROLLING_ORIGINS,
    segment_by: str = "",
    max_segments: int = MAX_SEGMENTS,
    min_share: float = MIN_SEGMENT_SHARE,
    repetitions: int = 2000,
    backtest_repetitions: int = 1000,
    seed: int | None = None,
) -> OrderRevenueForecast:
    """Forecast ``period``'s net order revenue as of ``as_of``, the headline chosen by the
    track record, for the company and each segment.

    Parameters
    ----------
    data
        ``KamData`` with ``orders``.  Nothing dated after ``as_of`` is used.
    as_of
        The forecast date.
    period
        The period to forecast (``"2026-Q4"``, ``"2026-11"``, a :class:`Period`); ``None``:
        the quarter after a quarter-end ``as_of``, else ``as_of``'s quarter.  The back-test
        uses periods of the same length.
    methodology
        Methodology file or object (fiscal year, ``run_rate_months``, default seed).
    backtest_periods, origins
        The track record: past periods (0: none; the run-rate model is then the headline)
        and the origins in each (see :func:`backtest_revenue`).
    segment_by, max_segments, min_share
        The segments (:func:`revenue_segments`; ``"none"``: the company only).
    repetitions, backtest_repetitions, seed
        Simulated paths of the run-rate model now and in the back-test, and the seed.

    Returns
    -------
    OrderRevenueForecast

    Examples
    --------
    >>> fc = forecast_revenue(data, as_of="2026-09-30")  # doctest: +SKIP
    >>> fc.scope()["method"], fc.scope()["p50"]  # doctest: +SKIP
    """
    owner = "forecast_revenue"
    day = as_day(as_of, owner=owner)
    meth, settings = forecast_settings(methodology)
    fy = meth.fiscal_year_start_month
    seed = int(settings.seed if seed is None else seed)
    per = _forecast_period(period, day, fy)
    frames, column, _, seg_note = _prepare(data, day, segment_by, max_segments, min_share)
    company = frames[COMPANY]
    if company.empty:
        raise DataValidationError(
            f"The orders have no line dated on or before {day.date()}: there is no revenue "
            "history to forecast from. Check the as-of date or import the order lines."
        )
    notes: list[str] = []
    first = first_complete_period(company, per.freq, fiscal_year_start_month=fy)
    start = pd.Timestamp(company["order_date"].min())
    if first is not None and pd.Timestamp(first.start) > start:
        notes.append(
            f"the orders begin on {start.date()}, part-way into "
            f"{period_of(start.date(), per.freq, fiscal_year_start_month=fy).label}: that "
            f"period is incomplete and left out; the history starts with {first.label}"
        )
    newest = pd.Timestamp(company["order_date"].max())
    if (day - newest).days > STALE_DAYS:
        notes.append(
            f"the newest order line is dated {newest.date()}, {(day - newest).days} days "
            "before the as-of date: if the export ends there, the latest periods are "
            "incomplete and the forecast too low"
        )
    bt = _backtest(
        frames, as_of=day, freq=per.freq, fiscal_year_start_month=fy,
        periods=_check_periods(backtest_periods, owner), origins=_check_origins(origins, owner),
        months=settings.run_rate_months, repetitions=backtest_repetitions, seed=seed,
    )  # fmt: skip
    if len(bt.periods) < backtest_periods:
        notes.append(
            f"{len(bt.periods)} past period(s) could be back-tested ({backtest_periods} asked "
            "for): a period needs a complete period of history before it"
        )
    if column:
        notes.append(seg_note)
    lo, hi = trailing_window(day.date(), months=12)
    rows = []
    for i, (scope, frame) in enumerate(frames.items()):
        c = method_forecasts(frame, as_of=day, period=per, first=first,
                             months=settings.run_rate_months, repetitions=repetitions,
                             seed=seed + i)  # fmt: skip
        track = bt.track[bt.track["scope"] == scope]
        cal, _ = _headline(c, track, day)
        recent = frame[(frame["order_date"] >= pd.Timestamp(lo))
                       & (frame["order_date"] <= pd.Timestamp(hi))]  # fmt: skip
        rows.append({"scope": scope, "revenue_12m": float(recent["amount"].sum()),
                     "closed_to_date": c["closed_to_date"], "method": cal.method,
                     "reason": cal.reason, "interval_method": cal.interval_method,
                     "p10": cal.p10, "p50": cal.p50, "p90": cal.p90,
                     **{m: c[m] for m in REVENUE_METHODS}, "run_rate_p10": c["run_rate_p10"],
                     "run_rate_p90": c["run_rate_p90"],
                     "run_rate_method": c["run_rate_method"]})  # fmt: skip
    forecasts = pd.DataFrame(rows)
    finite = np.isfinite(forecasts[["p10", "p50", "p90"]].to_numpy(dtype=float)).all(axis=1)
    if not finite[0]:
        raise DataValidationError(
            f"No revenue forecast of {per.label} can be made as of {day.date()}: the orders "
            f"have no net revenue in the {settings.run_rate_months} months before it. Check "
            "the as-of date and the order export."
        )
    for scope in forecasts.loc[~finite, "scope"]:
        notes.append(f"segment {scope!r} has too little recent order history to forecast: "
                     "left out")  # fmt: skip
    forecasts = forecasts[finite].reset_index(drop=True)
    total = float(forecasts["revenue_12m"].iloc[0])
    forecasts.insert(2, "share_12m", forecasts["revenue_12m"] / total if total > 0 else np.nan)
    if getattr(data, "revenue_statement", ""):
        notes.append(str(data.revenue_statement))
    history_periods = periods_between(first, per.previous())
    history = pd.DataFrame(
        [{"period": p.label, "start": pd.Timestamp(p.start), "end": pd.Timestamp(p.end),
          "scope": scope, "revenue": float(v)}
         for scope, frame in frames.items()
         for p, v in zip(history_periods, period_revenue(frame, history_periods), strict=True)
         if pd.Timestamp(p.end) <= day],
        columns=["period", "start", "end", "scope", "revenue"],
    )  # fmt: skip
    return OrderRevenueForecast(
        period=per.label, freq=per.freq, as_of=day, forecasts=forecasts, history=history,
        backtest=bt, segment_by=column, notes=tuple(notes),
    )  # fmt: skip
