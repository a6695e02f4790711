"""Funnel forecasting (销售漏斗预测): win probability, Monte Carlo period forecast, run-rate,
gap to target and back-tests.

- :mod:`kamlib.forecast.win_probability` — calibrated P(win) of open deals (logistic model on
  pipeline snapshots, stage-rate fall-back), drivers, hold-out AUC / Brier / reliability.
- :mod:`kamlib.forecast.close_timing` — when open deals close: a competing-risks (won /
  lost) discrete-time hazard model with censoring; zombie deals.
- :mod:`kamlib.forecast.simulation` — the Monte Carlo engine (chunked, seeded).
- :mod:`kamlib.forecast.period` — :func:`forecast_period`: bookings P10 / P50 / P90 of a
  period by team, owner, product line (and tier), closed to date, forecast categories.
- :mod:`kamlib.forecast.run_rate` — run-rate order revenue (ETS) with intervals.
- :mod:`kamlib.forecast.gap` — gap to the OGSM targets and the deals that would close it.
- :mod:`kamlib.forecast.backtest` — the forecast at past origins (period start and part-way)
  vs actuals, every method of the tournament scored, intervals calibrated without look-ahead.
- :mod:`kamlib.forecast.tournament` — the baselines (naive, seasonal naive, mean, Theta),
  the headline choice, split-conformal intervals, the Wilson interval of a coverage.
- :mod:`kamlib.forecast.track_record` — :func:`forecast_with_track_record`: the headline
  forecast chosen and calibrated by the back-test record at the as-of date.
- :mod:`kamlib.forecast.revenue` — :func:`forecast_revenue`: order revenue of a period
  (companies with order lines and no pipeline), the run-rate model against last period,
  same period last year and the mean, back-tested (:func:`backtest_revenue`), the headline
  chosen and calibrated by that record, by segment.

The pipeline forecast report assembles these in :mod:`kamlib.views.pipeline_forecast`, the
revenue forecast report in :mod:`kamlib.views.revenue_forecast` (a layer above; nothing here
imports them).

All functions are pure (data in, frames and result objects out) and take an explicit
``as_of``; randomness comes only from an explicit ``seed``.
"""

from kamlib.forecast.backtest import BacktestResult, backtest_forecast
from kamlib.forecast.close_timing import CloseTimingModel, fit_close_timing, zombie_deals
from kamlib.forecast.gap import deals_to_close_gap, gap_to_target
from kamlib.forecast.period import (
    PeriodForecast,
    categorise,
    default_forecast_period,
    forecast_period,
    period_probability,
)
from kamlib.forecast.revenue import (
    REVENUE_METHODS,
    OrderRevenueForecast,
    RevenueBacktest,
    backtest_revenue,
    forecast_revenue,
)
from kamlib.forecast.run_rate import RunRateForecast, run_rate_forecast, run_rate_totals
from kamlib.forecast.simulation import SimulationResult, exact_moments, simulate_wins
from kamlib.forecast.tournament import (
    METHODS,
    baseline_forecasts,
    choose_method,
    conformal_interval,
    conformal_quantile,
    wilson_interval,
)
from kamlib.forecast.track_record import TrackRecordForecast, forecast_with_track_record
from kamlib.forecast.win_probability import (
    WinProbabilityEvaluation,
    WinProbabilityModel,
    auc_score,
    current_values_known,
    deal_features,
    evaluate_win_probability,
    fit_win_probability,
    pipeline_snapshots,
    snapshot_dates,
    stage_win_rates,
)

__all__ = [
    "METHODS",
    "REVENUE_METHODS",
    "BacktestResult",
    "CloseTimingModel",
    "OrderRevenueForecast",
    "PeriodForecast",
    "RevenueBacktest",
    "RunRateForecast",
    "SimulationResult",
    "TrackRecordForecast",
    "WinProbabilityEvaluation",
    "WinProbabilityModel",
    "auc_score",
    "backtest_forecast",
    "backtest_revenue",
    "baseline_forecasts",
    "choose_method",
    "conformal_interval",
    "conformal_quantile",
    "categorise",
    "current_values_known",
    "deal_features",
    "default_forecast_period",
    "deals_to_close_gap",
    "evaluate_win_probability",
    "exact_moments",
    "fit_close_timing",
    "fit_win_probability",
    "forecast_period",
    "forecast_revenue",
    "forecast_with_track_record",
    "gap_to_target",
    "period_probability",
    "pipeline_snapshots",
    "run_rate_forecast",
    "run_rate_totals",
    "simulate_wins",
    "snapshot_dates",
    "stage_win_rates",
    "zombie_deals",
    "wilson_interval",
]
