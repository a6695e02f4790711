"""The headline forecast of a period, chosen and calibrated by the forecast's own track record.

:func:`forecast_with_track_record` runs the deal-level forecast (:func:`forecast_period`, which
stays the deal model), a rolling-origin back-test of the periods that ended by the as-of date
(:func:`kamlib.forecast.backtest_forecast` with
:data:`~kamlib.forecast.tournament.ROLLING_ORIGINS`), the simple baselines of the tournament
(:mod:`kamlib.forecast.tournament`), and then picks the headline method and calibrates its
P10–P90 on that track record only (no look-ahead).  When the back-test cannot run (too little
history) the deal-level Monte Carlo is the headline and the reason says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kamlib.errors import KamlibError
from kamlib.forecast.backtest import BacktestResult, _bookings_history, backtest_forecast
from kamlib.forecast.period import PeriodForecast, _period, forecast_period
from kamlib.forecast.tournament import (
    METHODS,
    ROLLING_ORIGINS,
    SEASON,
    Calibrated,
    baseline_forecasts,
    calibrate,
    combination_weights,
    combined_p50,
)
from kamlib.forecast.win_probability import forecast_settings
from kamlib.methodology import Methodology


@dataclass(frozen=True)
class TrackRecordForecast:
    """The headline bookings forecast and the tournament behind it.

    Attributes
    ----------
    forecast
        The deal-level :class:`PeriodForecast` (its P10 / P50 / P90 are the Monte Carlo's).
    method, reason
        The headline method (one of :data:`~kamlib.forecast.tournament.METHODS`) and why.
    p10, p50, p90
        The headline: the chosen method's P50 and the calibrated interval.
    interval_method
        ``conformal`` (track-record errors) or ``monte_carlo`` (the deal model's band).
    methods
        One row per method: ``method``, ``p50`` (its forecast now), and its track record at
        every origin (the record the choice uses): ``scored``, ``mape``, ``bias``, ``inside``, ``n``, ``coverage``,
        ``coverage_low``, ``coverage_high`` (Wilson 95 %), ``chosen``.
    backtest
        The rolling-origin back-test (None when it could not run).
    team
        The scope ('' = the company).
    """

    forecast: PeriodForecast
    method: str
    reason: str
    p10: float
    p50: float
    p90: float
    interval_method: str
    methods: pd.DataFrame = field(repr=False)
    backtest: BacktestResult | None = field(repr=False)
    team: str = ""
    notes: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        """The deal forecast's summary with the headline in ``p10`` / ``p50`` / ``p90`` (the
        Monte Carlo's kept as ``model_p10`` …), ``method``, ``method_reason``,
        ``interval_method``, ``zombie_deals``, ``zombie_amount`` and ``methods``."""
        out = self.forecast.summary()
        out["model_p10"], out["model_p50"], out["model_p90"] = out["p10"], out["p50"], out["p90"]
        out.update(
            p10=round(self.p10, 2), p50=round(self.p50, 2), p90=round(self.p90, 2),
            method=self.method, method_reason=self.reason, interval_method=self.interval_method,
        )  # fmt: skip
        out["methods"] = {
            r["method"]: {
                "p50": _num(r["p50"]), "mape": _num(r["mape"]), "bias": _num(r["bias"]),
                "coverage": _num(r["coverage"]), "scored": int(r["scored"]),
                "coverage_interval": None if not np.isfinite(r["coverage_low"])
                else [round(float(r["coverage_low"]), 4), round(float(r["coverage_high"]), 4)],
            }
            for r in self.methods.to_dict("records")
        }  # fmt: skip
        out["notes"] = list(out.get("notes", [])) + list(self.notes)
        return out


def _num(x: object) -> float | None:
    v = float(x)  # type: ignore[arg-type]
    return round(v, 6) if np.isfinite(v) else None


def current_candidates(
    data: Any, fc: PeriodForecast, *, team: str = "", fiscal_year_start_month: int = 1
) -> dict[str, float]:
    """Every method's forecast of ``fc``'s period as of ``fc.as_of`` (the scope's row)."""
    g = fc.groups
    row = g[(g["dimension"] == "team") & (g["group"] == team)] if team else g.iloc[:0]
    if row.empty:
        row = g[g["dimension"] == "all"]
    r = row.iloc[0]
    per = _period(fc.period, _Meth(fiscal_year_start_month))
    opps = data.opportunities
    won = opps[opps["status"].astype("str").eq("won") & opps["closed_date"].notna()]
    won = won[won["closed_date"] <= fc.as_of]
    hist = _bookings_history(won, per.previous(), per.freq, fiscal_year_start_month)
    hist = hist[hist["end"] <= fc.as_of] if len(hist) else hist
    col = team if team else "all"
    series = hist[col].to_numpy(dtype=float) if col in hist else np.zeros(len(hist))
    ndays = (fc.end - fc.start).days + 1
    remaining = min(max((fc.end - max(fc.as_of, fc.start - pd.Timedelta(days=1))).days / ndays,
                        0.0), 1.0)  # fmt: skip
    base = baseline_forecasts(series, season=SEASON.get(per.freq, 1), remaining=remaining,
                              closed_to_date=float(r["closed_to_date"]))  # fmt: skip
    return {"deal_model": float(r["p50"]), "weighted_pipeline": float(r["weighted_pipeline"]),
            **base}  # fmt: skip


@dataclass(frozen=True)
class _Meth:
    fiscal_year_start_month: int


def headline(
    fc: PeriodForecast,
    candidates: dict[str, float],
    backtest: BacktestResult | None,
    *,
    team: str = "",
) -> tuple[Calibrated, pd.DataFrame]:
    """Choose and calibrate the headline of ``fc`` from ``backtest``'s track record."""
    g = fc.groups
    row = g[(g["dimension"] == "team") & (g["group"] == team)] if team else g.iloc[:0]
    if row.empty:
        row = g[g["dimension"] == "all"]
    r = row.iloc[0]
    scope = team or "all"
    track = (
        backtest.track[backtest.track["team"] == scope]
        if backtest is not None and len(backtest.track)
        else pd.DataFrame({"end": pd.to_datetime([]), "method": [], "p50": [], "actual": []})
    )
    if "combined" not in candidates:
        avail = {m for m, v in candidates.items() if np.isfinite(v)}
        known = track[track["end"] <= fc.as_of] if len(track) else track
        weights = combination_weights(known, avail)
        candidates = {**candidates, "combined": combined_p50(candidates, weights)}
    cal = calibrate(
        candidates, track, fc.as_of, model_band=(float(r["p10"]), float(r["p50"]), float(r["p90"])),
        closed_to_date=float(r["closed_to_date"]),
    )  # fmt: skip
    if backtest is not None:
        table = backtest.method_table(scope, all_origins=True)
    else:
        table = pd.DataFrame({"method": list(METHODS), "scored": 0, "mape": np.nan,
                              "bias": np.nan, "inside": 0, "n": 0, "coverage": np.nan,
                              "coverage_low": np.nan, "coverage_high": np.nan})  # fmt: skip
    table.insert(1, "p50", [float(candidates.get(m, np.nan)) for m in table["method"]])
    table["chosen"] = table["method"] == cal.method
    return cal, table


def forecast_with_track_record(
    data: Any,
    *,
    as_of: str | pd.Timestamp,
    period: Any,
    team: str = "",
    track_periods: int = 8,
    simulations: int | None = None,
    backtest_simulations: int = 1000,
    seed: int | None = None,
    methodology: Methodology | str | None = None,
    forecast: PeriodForecast | None = None,
    truth: pd.DataFrame | None = None,
    **forecast_options: Any,
) -> TrackRecordForecast:
    """The bookings forecast of ``period`` as of ``as_of``, headline chosen by the track record.

    Parameters
    ----------
    data, as_of, period, simulations, seed, methodology
        As :func:`forecast_period`.
    team
        The scope of the headline ('' = the company).
    track_periods
        Past periods (of the forecast period's length) back-tested at
        :data:`~kamlib.forecast.tournament.ROLLING_ORIGINS`; 0: no tournament (the deal model).
    backtest_simulations
        Monte Carlo trials per back-test forecast.
    forecast
        A :class:`PeriodForecast` already made for ``as_of`` / ``period`` (else one is made).
    truth
        Not used for the headline (the oracle is back-test only); passed to the back-test.
    forecast_options
        More keywords for :func:`forecast_period` (``tiers``, ``panel``, ``events``, ``run_rate``).

    Returns
    -------
    TrackRecordForecast
    """
    meth, _ = forecast_settings(methodology)
    per = _period(period, meth)
    fc = forecast or forecast_period(
        data, as_of=as_of, period=per, simulations=simulations, seed=seed, methodology=meth,
        **forecast_options,
    )  # fmt: skip
    notes: list[str] = []
    bt = None
    if track_periods > 0:
        try:
            bt = backtest_forecast(
                data, periods=track_periods, freq=per.freq, end=fc.as_of,
                simulations=backtest_simulations, seed=seed, methodology=meth, revenue=False,
                origins=ROLLING_ORIGINS, truth=truth,
            )  # fmt: skip
        except KamlibError as exc:
            notes.append(f"no track record: {exc}")
    cands = current_candidates(data, fc, team=team,
                               fiscal_year_start_month=meth.fiscal_year_start_month)  # fmt: skip
    cal, table = headline(fc, cands, bt, team=team)
    return TrackRecordForecast(
        forecast=fc, method=cal.method, reason=cal.reason, p10=cal.p10, p50=cal.p50, p90=cal.p90,
        interval_method=cal.interval_method, methods=table, backtest=bt, team=team,
        notes=tuple(notes),
    )  # fmt: skip
