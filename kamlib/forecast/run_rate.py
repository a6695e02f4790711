"""Run-rate order revenue: monthly order history → ETS → the period's revenue with intervals.

What is forecast
----------------
Net order revenue (every order line, returns and credit notes included) of the period:
what was ordered from the period's first day to the as-of date (``closed_to_date``) plus a
forecast of the months still to come.  The history is the monthly net order revenue of the
last ``run_rate_months`` complete months; the model is statsmodels' ``ETSModel`` (additive
errors, damped additive trend, additive 12-month season when there are 24 months or more),
simulated ``repetitions`` times with bootstrapped residuals to give P10 / P50 / P90 of the
period's sum (a sum's interval is not the sum of monthly intervals).  With fewer than
:data:`MIN_MONTHS` months of history the forecast is the mean month with the months' own
spread (``method = "mean"``); without orders it is zero (``method = "none"``).

Why revenue is not added to bookings
------------------------------------
Orders include the deliveries of won projects, and the order history the model learns from
contains them at their usual rate.  The pipeline forecast (:mod:`kamlib.forecast.period`)
measures *bookings*: won opportunity amounts dated at the close.  Adding the two would count
every project twice (once when booked, once when delivered), so kamlib reports them side by
side, each against its own target measure (``bookings`` and ``revenue`` in ``targets``),
and back-tests each against its own actuals.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kamlib.errors import DataValidationError
from kamlib.periods import as_day

#: fewest complete months of history for the ETS model (else: the mean month)
MIN_MONTHS = 12
#: months of history for a seasonal model
SEASONAL_MONTHS = 24


@dataclass(frozen=True)
class RunRateForecast:
    """Order revenue of one period: closed to date plus the simulated remaining months.

    ``summary`` has one row per scope (``"all"`` and each product line when asked):
    ``scope``, ``closed_to_date``, ``expected``, ``p10``, ``p50``, ``p90``, ``method``.
    ``history`` is the monthly revenue the total was fitted on (``month``, ``revenue``).
    ``totals`` holds the simulated period totals of ``"all"``.
    """

    period: str
    as_of: pd.Timestamp
    method: str
    note: str
    summary: pd.DataFrame
    history: pd.DataFrame
    totals: np.ndarray


def monthly_revenue(orders: pd.DataFrame, *, end: pd.Timestamp, months: int) -> pd.Series:
    """Net order amount per complete month, ``months`` months ending with ``end``'s month.

    Months without orders are 0 (a month with no order is a month of zero revenue).
    """
    end_month = pd.Period(end, freq="M")
    index = pd.period_range(end=end_month, periods=months, freq="M")
    if orders.empty:
        return pd.Series(0.0, index=index)
    month = orders["order_date"].dt.to_period("M")
    sums = orders["amount"].astype("float64").groupby(month).sum()
    return sums.reindex(index, fill_value=0.0).astype("float64")


def _simulate(
    history: pd.Series, horizon: int, repetitions: int, seed: int
) -> tuple[np.ndarray, str]:
    """Simulated sums of the next ``horizon`` months (repetitions,), and the method used."""
    values = history.to_numpy(dtype=float)
    active = np.flatnonzero(values != 0)
    if len(active) == 0:
        return np.zeros(repetitions), "none"
    values = values[active[0] :]
    rng = np.random.default_rng(seed)
    if horizon <= 0:
        return np.zeros(repetitions), "ets" if len(values) >= MIN_MONTHS else "mean"
    if len(values) < MIN_MONTHS:
        mu, sd = float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0
        draws = rng.normal(mu, sd, (repetitions, horizon)).sum(axis=1)
        return draws, "mean"
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    seasonal = "add" if len(values) >= SEASONAL_MONTHS else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # optimiser chatter; the fit is checked below
        model = ETSModel(
            pd.Series(values, index=pd.RangeIndex(len(values))),
            error="add", trend="add", damped_trend=True, seasonal=seasonal,
            seasonal_periods=12 if seasonal else None,
        )  # fmt: skip
        fit = model.fit(disp=False, maxiter=500)
        # bootstrapped residuals drawn with our own generator: reproducible from the seed
        resid = np.asarray(fit.resid, dtype=float)
        resid = resid[np.isfinite(resid)]
        errors = rng.choice(resid, size=(horizon, repetitions), replace=True)
        sims = fit.simulate(
            nsimulations=horizon, repetitions=repetitions, anchor="end", random_errors=errors
        )
    sums = np.asarray(sims, dtype=float).reshape(horizon, -1).sum(axis=0)
    if not np.isfinite(sums).all():
        raise DataValidationError(
            "The run-rate model gave a non-finite forecast. Check the orders for extreme "
            "amounts (a unit error such as cents for yuan)."
        )
    return sums, "ets"


def run_rate_totals(
    orders: pd.DataFrame,
    *,
    as_of: pd.Timestamp,
    period: object,
    months: int = 36,
    repetitions: int = 2000,
    seed: int = 2026,
) -> tuple[np.ndarray, float, str, pd.Series]:
    """Simulated totals of the period's net order revenue from ``orders`` (one scope).

    Order lines dated after ``as_of`` are dropped first: nothing after it is used.  Returns
    the simulated period totals (closed to date + the months still to come, ``repetitions``
    of them), the revenue closed to date, the method (``ets``, ``mean`` or ``none``) and the
    monthly history the model was fitted on (complete months up to ``as_of``; its own month
    when it is the month end).
    """
    day = pd.Timestamp(as_of).normalize()
    known = orders[orders["order_date"] < day + pd.Timedelta(days=1)]
    start, end = pd.Timestamp(period.start), pd.Timestamp(period.end)  # type: ignore[attr-defined]
    last_full = day if day.is_month_end else (day - pd.offsets.MonthEnd(1)).normalize()
    # months still to come: after the last complete month, up to the period end
    first_open = max(last_full + pd.Timedelta(days=1), start)
    horizon = 0
    if end >= first_open:
        horizon = (end.year - first_open.year) * 12 + end.month - first_open.month + 1
    # a partly elapsed month (as_of mid-month): its orders so far are in closed_to_date and
    # the model's month is scaled to the days left
    fraction = 1.0
    if not day.is_month_end and start <= day <= end:
        month_days = day.days_in_month
        fraction = (month_days - day.day) / month_days
    history = monthly_revenue(known, end=last_full, months=months)
    sims, method = _simulate(history, horizon, repetitions, seed)
    if fraction < 1.0 and horizon > 0:
        # the first simulated month is the current one: only its remaining days count
        sims = sims - (1.0 - fraction) * (sims / horizon)
    closed = float(known.loc[known["order_date"] >= start, "amount"].astype("float64").sum())
    return closed + sims, closed, method, history


def run_rate_forecast(
    data: object,
    *,
    as_of: str | pd.Timestamp,
    period: object,
    months: int = 36,
    repetitions: int = 2000,
    seed: int = 2026,
    by_product_line: bool = True,
) -> RunRateForecast:
    """Forecast the period's net order revenue from the monthly order history.

    Parameters
    ----------
    data
        ``KamData`` (``orders`` required).
    as_of
        Nothing dated after it is used.
    period
        A :class:`kamlib.periods.Period`.
    months
        Months of history the model is fitted on.
    repetitions
        Simulated paths (P10 / P50 / P90 come from them).
    seed
        Seed of the simulation.
    by_product_line
        Also forecast each product line (its own model).

    Returns
    -------
    RunRateForecast
    """
    day = as_day(as_of, owner="run_rate_forecast")
    orders = data.as_of(day).orders  # type: ignore[attr-defined]
    scopes: list[tuple[str, pd.DataFrame]] = [("all", orders)]
    if by_product_line and "product_line" in orders:
        for line in sorted(orders["product_line"].dropna().astype("str").unique()):
            scopes.append((line, orders[orders["product_line"].astype("str") == line]))
    rows = []
    totals = np.zeros(repetitions)
    method_all = "none"
    history_all = pd.Series(dtype="float64")
    for i, (scope, frame) in enumerate(scopes):
        period_total, closed, method, hist = run_rate_totals(
            frame, as_of=day, period=period, months=months, repetitions=repetitions, seed=seed + i
        )
        rows.append(
            {
                "scope": scope,
                "closed_to_date": closed,
                "expected": float(period_total.mean()),
                "p10": float(np.quantile(period_total, 0.1)),
                "p50": float(np.quantile(period_total, 0.5)),
                "p90": float(np.quantile(period_total, 0.9)),
                "method": method,
            }
        )
        if scope == "all":
            totals, method_all, history_all = period_total, method, hist
    note = {
        "ets": f"ETS on {len(history_all)} months of net order revenue",
        "mean": f"fewer than {MIN_MONTHS} months of orders: the mean month and its spread",
        "none": "no orders before the as-of date: run-rate revenue is zero",
    }[method_all]
    history = pd.DataFrame(
        {"month": history_all.index.to_timestamp(), "revenue": history_all.to_numpy()}
    )
    return RunRateForecast(
        period=str(period), as_of=day, method=method_all, note=note,
        summary=pd.DataFrame(rows), history=history, totals=totals,
    )  # fmt: skip
