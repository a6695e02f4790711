"""Forecast back-test: the forecast at past origins against what happened, every method scored.

For each of the last ``periods`` complete periods the bookings forecast is made at each
origin — the day before the period starts and, with
:data:`~kamlib.forecast.tournament.ROLLING_ORIGINS`, a third and two thirds of the way in
(closed to date counts) — with the pipeline rebuilt with :func:`kamlib.pipeline.pipeline_as_of`,
the win-probability model fitted only on deals closed before then, the slippage and the
new-deal history cut there too, and compared with the bookings actually won in the period
(the same quantity: won opportunity amounts by close date).

At every origin each method of the tournament (:mod:`kamlib.forecast.tournament`: the deal
model, the CRM's weighted pipeline, last period, same period last year, the mean of earlier
periods, a Theta / exponential-smoothing model of bookings per period, and their
inverse-MAPE combination) forecasts the same quantity.  The published headline of each
origin (``p10`` / ``p50`` / ``p90`` of :attr:`BacktestResult.periods`) is what would have
been published then: the method with the best record over the origins of periods that had
ended by that origin's as-of date, its P10–P90 calibrated (split conformal) on those errors
only — never on errors that include the period itself.  With ``revenue=True`` the run-rate
order revenue forecast is back-tested too (first origin) against the period's net order
revenue.  On a demo store ``truth`` adds the oracle (the generator's true win probabilities
and close dates).

Accuracy (of the first origin): ``mape`` (mean absolute percentage error of P50), ``bias``
(mean signed percentage error: > 0 over-forecast), ``interval_coverage`` (share of periods
whose actual lies within P10–P90: about 0.8 when the intervals are honest; the summary adds
its Wilson 95 % interval), and the same for the weighted-pipeline baseline, overall and by
team; :meth:`BacktestResult.method_table` scores every method.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kamlib.data.purchases import ORDER_LINES
from kamlib.errors import DataValidationError
from kamlib.forecast.period import forecast_period
from kamlib.forecast.run_rate import run_rate_forecast
from kamlib.forecast.tournament import (
    BASE_METHODS,
    METHODS,
    SEASON,
    baseline_forecasts,
    calibrate,
    choose_method,
    combination_weights,
    combined_p50,
    conformal_interval,
    coverage_summary,
    track_scores,
)
from kamlib.forecast.win_probability import forecast_settings, pipeline_snapshots, snapshot_dates
from kamlib.methodology import Methodology
from kamlib.periods import FREQUENCIES, normalise_frequency, period_of

BACKTEST_COLUMNS = (
    "period", "origin", "as_of", "end", "team", "method", "interval_method", "p10", "p50", "p90",
    "expected", "actual", "weighted_pipeline", "closed_to_date", "model_p10", "model_p50",
    "model_p90", "oracle_p50", "in_interval", "error_p50", "error_baseline", "error_oracle",
)  # fmt: skip
TRACK_COLUMNS = (
    "period", "origin", "as_of", "end", "team", "method", "p50", "actual", "closed_to_date",
)  # fmt: skip
ACCURACY_COLUMNS = (
    "team", "periods", "mape", "bias", "interval_coverage", "baseline_mape", "baseline_bias",
)  # fmt: skip


@dataclass(frozen=True)
class BacktestResult:
    """Back-test results.

    ``periods``: one row per period, origin and team (``team = "all"`` for the whole
    company): :data:`BACKTEST_COLUMNS`.  ``p10`` / ``p50`` / ``p90`` are the headline as it
    would have been published then: the method the track record chose (``method``) and the
    interval calibrated on the origins of periods that had already ended (``interval_method``
    ``conformal`` or ``monte_carlo``); ``model_p10`` … are the deal-level Monte Carlo's own
    figures; errors are shares of the actual (> 0 over-forecast).  ``track``: one row per
    origin, team and method of the tournament (:data:`TRACK_COLUMNS` plus each method's own
    honest ``p10`` / ``p90`` / ``in_interval``).  ``revenue``: per period ``p10``, ``p50``,
    ``p90``, ``actual`` of run-rate order revenue (empty unless asked).  ``accuracy``: per
    team, at the first origin, ``periods``, ``mape``, ``bias``, ``interval_coverage``,
    ``baseline_mape``, ``baseline_bias``.
    """

    freq: str
    periods: pd.DataFrame
    revenue: pd.DataFrame
    accuracy: pd.DataFrame
    win_models: pd.DataFrame
    track: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(TRACK_COLUMNS)))
    origins: tuple[float, ...] = (0.0,)
    end: pd.Timestamp | None = None
    oracle: bool = False

    def method_table(self, team: str = "all", *, all_origins: bool = False) -> pd.DataFrame:
        """Per method: ``scored``, ``mape``, ``bias``, ``inside``, ``n``, ``coverage`` and its
        Wilson 95 % interval ``coverage_low`` / ``coverage_high`` (each method's own honest
        interval), at the first origin (or all origins)."""
        t = self.track[self.track["team"] == team]
        if not all_origins and len(t):
            t = t[t["origin"] == self.origins[0]]
        rows = []
        for m in METHODS:
            part = t[(t["method"] == m)]
            ok = part[(part["actual"] > 0) & part["p50"].notna()]
            err = (ok["p50"] - ok["actual"]) / ok["actual"]
            cov = coverage_summary(
                part["in_interval"] if "in_interval" in part else pd.Series(dtype=bool)
            )
            lo, hi = cov["coverage_interval"] or (np.nan, np.nan)
            rows.append({"method": m, "scored": len(ok),
                         "mape": float(err.abs().mean()) if len(ok) else np.nan,
                         "bias": float(err.mean()) if len(ok) else np.nan,
                         "inside": cov["inside"], "n": cov["n"],
                         "coverage": np.nan if cov["coverage"] is None else cov["coverage"],
                         "coverage_low": lo, "coverage_high": hi})  # fmt: skip
        return pd.DataFrame(rows)

    def chosen_method(self, team: str = "all") -> tuple[str, str]:
        """The method the whole track record picks at the end of the back-test, and why."""
        t = self.track[self.track["team"] == team]
        if t.empty or self.end is None:
            return "deal_model", "no track record"
        method, reason, _ = choose_method(t, self.end)
        return method, reason

    def summary(self) -> dict[str, Any]:
        """The company-level figures (JSON-ready), at the first origin; ``all_origins`` has
        the headline over every origin."""
        row = self.accuracy[self.accuracy["team"] == "all"]
        out: dict[str, Any] = {"freq": self.freq, "periods": 0,
                               "origins": [round(f, 4) for f in self.origins]}  # fmt: skip
        if len(row):
            r = row.iloc[0]
            out.update(
                periods=int(r["periods"]),
                mape=_clean(r["mape"]),
                bias=_clean(r["bias"]),
                interval_coverage=_clean(r["interval_coverage"]),
                baseline_mape=_clean(r["baseline_mape"]),
                baseline_bias=_clean(r["baseline_bias"]),
            )
            company = self.periods[self.periods["team"] == "all"]
            first = company[company["origin"] == self.origins[0]]
            cov = coverage_summary(first["in_interval"])
            out["inside"] = cov["inside"]
            out["coverage_interval"] = cov["coverage_interval"]
            out["headline_methods"] = {
                str(k): int(v) for k, v in first["method"].value_counts().items()
            }
            out["interval_methods"] = {
                str(k): int(v) for k, v in first["interval_method"].value_counts().items()
            }
            ok = company["error_p50"].notna()
            cov_all = coverage_summary(company["in_interval"])
            out["all_origins"] = {
                "origins": int(len(company)),
                "mape": _clean(company.loc[ok, "error_p50"].abs().mean()) if ok.any() else None,
                "bias": _clean(company.loc[ok, "error_p50"].mean()) if ok.any() else None,
                "coverage": cov_all["coverage"],
                "coverage_interval": cov_all["coverage_interval"],
            }
            out["methods"] = {
                r2["method"]: {
                    "mape": _clean(r2["mape"]), "bias": _clean(r2["bias"]),
                    "coverage": _clean(r2["coverage"]), "scored": int(r2["scored"]),
                    "coverage_interval": None if not np.isfinite(r2["coverage_low"])
                    else [round(float(r2["coverage_low"]), 4), round(float(r2["coverage_high"]), 4)],
                }
                for r2 in self.method_table("all").to_dict("records")
            }  # fmt: skip
            out["chosen_method"], out["chosen_reason"] = self.chosen_method("all")
            if self.oracle:
                okk = first["error_oracle"].notna()
                out["oracle_mape"] = (
                    _clean(first.loc[okk, "error_oracle"].abs().mean()) if okk.any() else None
                )
        if len(self.revenue):
            rv = self.revenue
            ok = rv["actual"] > 0
            out["revenue_mape"] = _clean(
                float(np.mean(np.abs(rv.loc[ok, "p50"] - rv.loc[ok, "actual"]) / rv.loc[ok, "actual"]))
                if ok.any() else float("nan")
            )  # fmt: skip
            out["revenue_interval_coverage"] = _clean(
                float(((rv["actual"] >= rv["p10"]) & (rv["actual"] <= rv["p90"])).mean())
            )
        return out


def _clean(x: object) -> float | None:
    v = float(x)  # type: ignore[arg-type]
    return round(v, 6) if np.isfinite(v) else None


def data_end(data: Any) -> pd.Timestamp:
    """The last day the data knows about: its as-of date, else the newest dated row."""
    if getattr(data, "as_of_date", None) is not None:
        return pd.Timestamp(data.as_of_date)
    days = []
    opps = data.opportunities
    for col in ("created_date", "closed_date"):
        if col in opps and opps[col].notna().any():
            days.append(pd.Timestamp(opps[col].max()))
    if data.has("orders") and len(data.orders):
        days.append(pd.Timestamp(data.orders["order_date"].max()))
    if not days:
        raise DataValidationError(
            "The opportunities have no dates, so no period can be back-tested. Import "
            "opportunities with created_date / closed_date."
        )
    return max(days).normalize()


def origin_dates(period: Any, origins: tuple[float, ...]) -> list[tuple[float, pd.Timestamp]]:
    """The as-of dates of a period's back-test origins: the day before it starts plus the
    share ``f`` of its days (0: the day before; 1/3: a third of the way in …)."""
    start, stop = pd.Timestamp(period.start), pd.Timestamp(period.end)
    days = (stop - start).days + 1
    out = []
    for f in origins:
        day = start - pd.Timedelta(days=1) + pd.Timedelta(days=int(round(f * days)))
        if day < stop and all(day != d for _, d in out):
            out.append((float(f), day))
    return out


def oracle_p50(fc: Any, truth: pd.DataFrame, *, new_deals: float) -> float:
    """The demo's oracle forecast (back-tests only): closed to date + Σ amount × the
    generator's ``true_win_probability`` of the open deals whose ``true_close_date`` lies in
    the period after the as-of date + the deals not yet created as the model forecasts them.

    ``true_win_probability`` is the chance when the deal was created: it ignores what the
    stage a deal has reached says, so this oracle knows the close dates exactly but not the
    outcome, and is not a strict lower bound of the error."""
    t = truth.drop_duplicates("opportunity_id")
    t = t.set_index(t["opportunity_id"].astype("str"))
    d = fc.deals
    ids = d["opportunity_id"].astype("str")
    p = ids.map(t["true_win_probability"]).astype("float64").fillna(0.0).to_numpy()
    close = pd.to_datetime(ids.map(t["true_close_date"]))
    lo = max(fc.start, fc.as_of + pd.Timedelta(days=1))
    inside = ((close >= lo) & (close <= fc.end)).to_numpy()
    amount = pd.to_numeric(d["amount"], errors="coerce").fillna(0.0).to_numpy()
    return float(fc.total["closed_to_date"] + (amount * p * inside).sum() + new_deals)


def backtest_forecast(
    data: Any,
    *,
    periods: int = 8,
    freq: str = "quarterly",
    end: str | pd.Timestamp | None = None,
    simulations: int = 2000,
    seed: int | None = None,
    methodology: Methodology | str | None = None,
    revenue: bool = True,
    origins: tuple[float, ...] = (0.0,),
    truth: pd.DataFrame | None = None,
) -> BacktestResult:
    """Back-test the bookings forecast over the last ``periods`` complete periods.

    Parameters
    ----------
    data
        ``KamData`` with ``opportunities`` (``stage_history`` makes the past pipelines exact).
    periods
        How many past periods (≥ 1).
    freq
        ``"monthly"``, ``"quarterly"`` … (fiscal year from the methodology).
    end
        Only periods ending on or before this day (default: the last day of the data).
    simulations, seed
        Monte Carlo trials per forecast and the seed.
    methodology
        Methodology file or object.
    revenue
        Also back-test run-rate order revenue (needs ``orders``; at the first origin only).
    origins
        Forecast origins inside each period, as the share of the period elapsed: ``0`` is the
        day before it starts; :data:`kamlib.forecast.tournament.ROLLING_ORIGINS` adds a third
        and two thirds of the way in (closed to date counts).  Accuracy figures are of the
        first origin; the intervals are calibrated on all origins of earlier periods.
    truth
        The demo generator's ``truth["opportunities"]`` (:func:`kamlib.data.load_truth`): adds
        the oracle forecast (true win probabilities and close dates) and ``oracle_mape``.

    Returns
    -------
    BacktestResult
    """
    from kamlib.pipeline import stage_events

    meth, settings = forecast_settings(methodology)
    if not isinstance(periods, int | np.integer) or periods < 1:
        raise DataValidationError(
            f"The 'periods' parameter of backtest_forecast must be a positive integer. Got "
            f"{periods!r} instead."
        )
    freq = normalise_frequency(freq)
    if freq not in FREQUENCIES:
        raise DataValidationError(f"Unknown frequency {freq!r}.")
    origins = tuple(sorted({float(f) for f in origins}))
    if not origins or any(not 0.0 <= f < 1.0 for f in origins):
        raise DataValidationError(
            f"The 'origins' of backtest_forecast are shares of the period elapsed, in [0, 1). "
            f"Got {origins!r} instead."
        )
    seed = int(settings.seed if seed is None else seed)
    last = pd.Timestamp(end).normalize() if end is not None else data_end(data)
    fy = meth.fiscal_year_start_month
    p = period_of(last.date(), freq, fiscal_year_start_month=fy)
    if pd.Timestamp(p.end) > last:
        p = p.previous()
    chosen = []
    for _ in range(periods):
        chosen.append(p)
        p = p.previous()
    chosen = chosen[::-1]
    se = stage_events(data, methodology=meth)
    first_as_of = pd.Timestamp(chosen[0].start) - pd.Timedelta(days=1)
    last_as_of = pd.Timestamp(chosen[-1].end) - pd.Timedelta(days=1)
    span = (last_as_of.year - first_as_of.year) * 12 + last_as_of.month - first_as_of.month
    dates = snapshot_dates(
        last_as_of, months=settings.snapshot_months + span, step=settings.snapshot_step_months
    )
    panel = pipeline_snapshots(data, dates, methodology=meth, events=se)
    opps = data.opportunities
    won = opps[opps["status"].astype("str").eq("won") & opps["closed_date"].notna()]
    history = _bookings_history(won, chosen[-1], freq, fy)
    season = SEASON.get(freq, 1)
    rows = []
    track = []
    rev_rows = []
    models = []
    for per in chosen:
        start, stop = pd.Timestamp(per.start), pd.Timestamp(per.end)
        ndays = (stop - start).days + 1
        in_period = won[(won["closed_date"] >= start) & (won["closed_date"] <= stop)]
        actual_team = in_period.groupby(in_period["team"].astype("str"))["amount"].sum()
        before = history[history["end"] < start]
        for k, (frac, as_of) in enumerate(origin_dates(per, origins)):
            fc = forecast_period(
                data, as_of=as_of, period=per, simulations=simulations, seed=seed,
                methodology=meth, panel=panel, events=se, run_rate=False,
            )  # fmt: skip
            models.append({"period": per.label, "origin": frac, "as_of": as_of,
                           "method": fc.model.method, "closed_deals": fc.model.n_closed})  # fmt: skip
            remaining = min(max((stop - as_of).days / ndays, 0.0), 1.0)
            g = fc.groups[fc.groups["dimension"].isin(["all", "team"])]
            teams = set(g.loc[g["dimension"] == "team", "group"]) | set(actual_team.index)
            for team in ["all", *sorted(teams)]:
                sel = (
                    g[(g["dimension"] == "all")]
                    if team == "all"
                    else g[(g["dimension"] == "team") & (g["group"] == team)]
                )
                actual = (
                    float(in_period["amount"].sum())
                    if team == "all"
                    else float(actual_team.get(team, 0.0))
                )
                keys = ("p10", "p50", "p90", "expected", "weighted_pipeline", "closed_to_date",
                        "new_deals_expected")  # fmt: skip
                if len(sel):
                    figures = {k2: float(sel.iloc[0][k2]) for k2 in keys}
                else:
                    figures = dict.fromkeys(keys, 0.0)
                series = before["all"] if team == "all" else before.get(team)
                hist = np.zeros(len(before)) if series is None else series.to_numpy(dtype=float)
                base = baseline_forecasts(hist, season=season, remaining=remaining,
                                          closed_to_date=figures["closed_to_date"])  # fmt: skip
                oracle = np.nan
                if truth is not None and team == "all":
                    oracle = oracle_p50(fc, truth, new_deals=figures["new_deals_expected"])
                rows.append({"period": per.label, "origin": frac, "as_of": as_of, "end": stop,
                             "team": team, "actual": actual, "model_p10": figures["p10"],
                             "model_p50": figures["p50"], "model_p90": figures["p90"],
                             "expected": figures["expected"],
                             "weighted_pipeline": figures["weighted_pipeline"],
                             "closed_to_date": figures["closed_to_date"],
                             "oracle_p50": oracle})  # fmt: skip
                cands = {"deal_model": figures["p50"],
                         "weighted_pipeline": figures["weighted_pipeline"], **base}  # fmt: skip
                for m in BASE_METHODS:
                    track.append({"period": per.label, "origin": frac, "as_of": as_of,
                                  "end": stop, "team": team, "method": m, "p50": cands[m],
                                  "actual": actual,
                                  "closed_to_date": figures["closed_to_date"]})  # fmt: skip
            if revenue and k == 0 and data.revenue_source == ORDER_LINES:
                rr = run_rate_forecast(
                    data, as_of=as_of, period=per, months=settings.run_rate_months,
                    repetitions=min(simulations, 2000), seed=seed, by_product_line=False,
                )  # fmt: skip
                o = data.orders
                actual_rev = float(
                    o.loc[(o["order_date"] >= start) & (o["order_date"] <= stop), "amount"].sum()
                )
                s = rr.summary.iloc[0]
                rev_rows.append({"period": per.label, "as_of": as_of, "p10": s["p10"],
                                 "p50": s["p50"], "p90": s["p90"], "actual": actual_rev,
                                 "method": rr.method})  # fmt: skip
    track_frame = _with_combination(pd.DataFrame(track, columns=list(TRACK_COLUMNS)))
    frame, method_inside = _calibrate_rows(pd.DataFrame(rows), track_frame)
    track_frame = track_frame.merge(
        method_inside, on=["period", "origin", "team", "method"], how="left"
    )
    primary = origins[0]
    accuracy = []
    for team, part in frame[frame["origin"] == primary].groupby("team", sort=False):
        ok = part["error_p50"].notna()
        accuracy.append(
            {
                "team": team,
                "periods": len(part),
                "mape": float(part.loc[ok, "error_p50"].abs().mean()) if ok.any() else np.nan,
                "bias": float(part.loc[ok, "error_p50"].mean()) if ok.any() else np.nan,
                "interval_coverage": float(part["in_interval"].mean()),
                "baseline_mape": float(part.loc[ok, "error_baseline"].abs().mean())
                if ok.any()
                else np.nan,
                "baseline_bias": float(part.loc[ok, "error_baseline"].mean())
                if ok.any()
                else np.nan,
            }
        )
    return BacktestResult(
        freq=freq,
        periods=frame,
        revenue=pd.DataFrame(
            rev_rows, columns=["period", "as_of", "p10", "p50", "p90", "actual", "method"]
        ),
        accuracy=pd.DataFrame(accuracy, columns=list(ACCURACY_COLUMNS)),
        win_models=pd.DataFrame(models),
        track=track_frame,
        origins=origins,
        end=pd.Timestamp(chosen[-1].end),
        oracle=truth is not None,
    )


def _bookings_history(won: pd.DataFrame, last: Any, freq: str, fy: int) -> pd.DataFrame:
    """Bookings per complete period (rows, oldest first) from the first period with bookings up
    to ``last``: columns ``period``, ``end``, ``all`` and one per team."""
    if won.empty:
        return pd.DataFrame({"period": [], "end": pd.to_datetime([]), "all": []})
    first = period_of(pd.Timestamp(won["closed_date"].min()).date(), freq,
                      fiscal_year_start_month=fy)  # fmt: skip
    pers = []
    p = last
    while pd.Timestamp(p.start) >= pd.Timestamp(first.start):
        pers.append(p)
        p = p.previous()
    pers = pers[::-1]
    teams = sorted(set(won["team"].dropna().astype("str")))
    out = []
    for per in pers:
        s, e = pd.Timestamp(per.start), pd.Timestamp(per.end)
        w = won[(won["closed_date"] >= s) & (won["closed_date"] <= e)]
        by_team = w.groupby(w["team"].astype("str"))["amount"].sum()
        out.append({"period": per.label, "end": e, "all": float(w["amount"].sum()),
                    **{t: float(by_team.get(t, 0.0)) for t in teams}})  # fmt: skip
    return pd.DataFrame(out)


def _with_combination(track: pd.DataFrame) -> pd.DataFrame:
    """``track`` plus the ``combined`` contestant at every origin: the inverse-MAPE weighted
    P50 of the single methods, weights from the origins of periods ended by then."""
    if track.empty:
        return track
    extra = []
    for team, t in track.groupby("team", sort=False):
        for (_, _), here in t.groupby(["period", "origin"], sort=False):
            first = here.iloc[0]
            cands = dict(zip(here["method"], here["p50"], strict=True))
            avail = {m for m, v in cands.items() if np.isfinite(v)}
            w = combination_weights(t[t["end"] <= first["as_of"]], avail)
            extra.append({**{c: first[c] for c in ("period", "origin", "as_of", "end")},
                          "team": team, "method": "combined", "p50": combined_p50(cands, w),
                          "actual": first["actual"],
                          "closed_to_date": first["closed_to_date"]})  # fmt: skip
    return pd.concat([track, pd.DataFrame(extra)], ignore_index=True)


def _calibrate_rows(rows: pd.DataFrame, track: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each origin's headline (method chosen and interval calibrated on the origins of periods
    that had ended by its as-of date) and each method's own honest interval hit."""
    if rows.empty:
        return pd.DataFrame(columns=list(BACKTEST_COLUMNS)), pd.DataFrame(
            columns=["period", "origin", "team", "method", "p10", "p90", "in_interval"]
        )
    out = []
    hits = []
    by_team = {t: part for t, part in track.groupby("team", sort=False)}
    for r in rows.to_dict("records"):
        t = by_team[r["team"]]
        here = t[(t["period"] == r["period"]) & (t["origin"] == r["origin"])]
        cands = dict(zip(here["method"], here["p50"], strict=True))
        band = (r["model_p10"], r["model_p50"], r["model_p90"])
        cal = calibrate(cands, t, r["as_of"], model_band=band, closed_to_date=r["closed_to_date"])
        out.append({**r, "p10": cal.p10, "p50": cal.p50, "p90": cal.p90, "method": cal.method,
                    "interval_method": cal.interval_method})  # fmt: skip
        known = t[t["end"] <= r["as_of"]]
        for m, p50 in cands.items():
            lo = hi = np.nan
            if np.isfinite(p50):
                mk = known[known["method"] == m]
                b = conformal_interval(p50, track_scores(mk),
                                       floor=r["closed_to_date"])  # fmt: skip
                if b is not None:
                    lo, hi = b
                elif m == "deal_model":
                    lo, hi = r["model_p10"], r["model_p90"]
            inside = bool(lo <= r["actual"] <= hi) if np.isfinite(lo) and np.isfinite(hi) else None
            hits.append({"period": r["period"], "origin": r["origin"], "team": r["team"],
                         "method": m, "p10": lo, "p90": hi, "in_interval": inside})  # fmt: skip
    frame = pd.DataFrame(out)
    frame["in_interval"] = (frame["actual"] >= frame["p10"]) & (frame["actual"] <= frame["p90"])
    safe = frame["actual"].where(frame["actual"] > 0)
    frame["error_p50"] = (frame["p50"] - frame["actual"]) / safe
    frame["error_baseline"] = (frame["weighted_pipeline"] - frame["actual"]) / safe
    frame["error_oracle"] = (frame["oracle_p50"] - frame["actual"]) / safe
    return frame[list(BACKTEST_COLUMNS)], pd.DataFrame(hits)
