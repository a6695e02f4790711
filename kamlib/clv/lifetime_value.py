"""Customer lifetime value over a horizon, and the CLV indicators the scoring model can use."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd

from kamlib.clv.base import validate_summary
from kamlib.clv.beta_geo import BetaGeoModel
from kamlib.clv.gamma_gamma import GammaGammaModel
from kamlib.clv.pareto_nbd import ParetoNBDModel
from kamlib.clv.rfm import DAYS_PER_MONTH, _unit_days, rfm_summary
from kamlib.data.kamdata import KamData
from kamlib.errors import ConfigError, KamlibError
from kamlib.periods import parse_date

PURCHASE_MODELS: dict[str, type[BetaGeoModel] | type[ParetoNBDModel]] = {
    "bg_nbd": BetaGeoModel,
    "pareto_nbd": ParetoNBDModel,
}


def customer_lifetime_value(
    transaction_model: BetaGeoModel | ParetoNBDModel,
    spend_model: GammaGammaModel,
    summary: pd.DataFrame,
    *,
    horizon_months: int = 12,
    discount_rate_monthly: float = 0.01,
    freq: str = "D",
    customer_col: str = "account_id",
) -> pd.DataFrame:
    """Discounted value of each customer's expected purchases over the next months.

    CLV = Σ_{m=1..H} E[value] · (E[N(m)] - E[N(m-1)]) / (1 + d)^m, where E[N(m)] is the
    transaction model's expected number of purchases within m months given the customer's
    history, E[value] the spend model's expected value per purchase and d the monthly
    discount rate (purchases of month m are discounted by m whole months, as in
    ``lifetimes``).  A month is 365.25 / 12 days (``lifetimes`` uses 30 days).

    Parameters
    ----------
    transaction_model
        A fitted :class:`BetaGeoModel` or :class:`ParetoNBDModel`.
    spend_model
        A fitted :class:`GammaGammaModel`.
    summary
        Columns ``frequency``, ``recency``, ``T`` and ``monetary_value`` (NaN allowed
        where ``frequency`` is 0), in the time unit ``freq`` — e.g. from
        :func:`rfm_summary` with the same ``freq``.  Not modified.
    horizon_months
        Months ahead (whole number >= 1).
    discount_rate_monthly
        Monthly discount rate (>= 0); 0.01 is about 12.7% a year.
    freq
        Time unit of the summary (and of the models): ``"D"`` or ``"W"``.
    customer_col
        Copied to the output first when the summary has it.

    Returns
    -------
    pd.DataFrame
        Same index as ``summary``; columns ``customer_col`` (when present),
        ``expected_purchases`` (over the horizon), ``p_alive`` (today),
        ``expected_avg_value`` (per purchase) and ``clv`` (discounted, in the summary's
        currency).

    Raises
    ------
    ConfigError
        A model is not of the right kind or not fitted, or a parameter is out of range.
    DataValidationError
        The summary is unusable (see :func:`rfm_summary` and the models).

    Examples
    --------
    >>> bgnbd = BetaGeoModel().fit(summary)  # doctest: +SKIP
    >>> spend = GammaGammaModel().fit(summary)  # doctest: +SKIP
    >>> customer_lifetime_value(bgnbd, spend, summary, horizon_months=12, freq="W")  # doctest: +SKIP
    """
    if not isinstance(transaction_model, BetaGeoModel | ParetoNBDModel):
        raise ConfigError(
            "The 'transaction_model' parameter of customer_lifetime_value must be a fitted "
            f"BetaGeoModel or ParetoNBDModel. Got {type(transaction_model).__name__} instead."
        )
    if not isinstance(spend_model, GammaGammaModel):
        raise ConfigError(
            "The 'spend_model' parameter of customer_lifetime_value must be a fitted "
            f"GammaGammaModel. Got {type(spend_model).__name__} instead."
        )
    for model in (transaction_model, spend_model):
        if not hasattr(model, "params_"):
            name = type(model).__name__
            raise ConfigError(
                f"The {name} passed to customer_lifetime_value is not fitted. Call "
                f"`{name}().fit(summary)` first."
            )
    _check_horizon(horizon_months, "customer_lifetime_value")
    if (
        isinstance(discount_rate_monthly, bool)
        or not isinstance(discount_rate_monthly, int | float)
        or not (math.isfinite(discount_rate_monthly) and discount_rate_monthly >= 0)
    ):
        raise ConfigError(
            "The 'discount_rate_monthly' parameter of customer_lifetime_value must be a "
            f"number >= 0 (e.g. 0.01). Got {discount_rate_monthly!r} instead."
        )
    unit_days = _unit_days(freq, "customer_lifetime_value")
    columns = validate_summary(
        summary,
        ("frequency", "recency", "T", "monetary_value"),
        owner="customer_lifetime_value",
    )
    x, t_x, age, money = (columns[c] for c in ("frequency", "recency", "T", "monetary_value"))

    month = DAYS_PER_MONTH / unit_days
    elapsed = (np.arange(horizon_months + 1, dtype=float) * month)[:, None]
    cumulative = np.asarray(
        transaction_model.conditional_expected_number_of_purchases_up_to_time(elapsed, x, t_x, age),
        dtype=float,
    )
    per_month = np.diff(cumulative, axis=0)
    discount = (1.0 + discount_rate_monthly) ** -np.arange(1, horizon_months + 1, dtype=float)
    value = np.asarray(spend_model.conditional_expected_average_profit(x, money), dtype=float)

    out = pd.DataFrame(index=summary.index)
    if customer_col in summary.columns:
        out[customer_col] = summary[customer_col]
    out["expected_purchases"] = cumulative[-1]
    out["p_alive"] = np.asarray(
        transaction_model.conditional_probability_alive(x, t_x, age), dtype=float
    )
    out["expected_avg_value"] = value
    out["clv"] = value * (discount @ per_month)
    return out


def clv_indicators(
    data: KamData,
    *,
    as_of: date | str,
    horizon_months: int = 12,
    discount_rate_monthly: float = 0.01,
    purchase_model: str = "bg_nbd",
) -> pd.DataFrame:
    """Per-account CLV indicators as of a date, for the scoring model.

    Fits the purchase model (BG/NBD by default) and the Gamma-Gamma spend model on the
    orders dated on or before ``as_of`` only (``data.as_of(as_of)``), with time in weeks
    and purchases merged per day (see :func:`rfm_summary` for returns), then predicts each
    account's next ``horizon_months``.  Gamma-Gamma learns from accounts with repeat
    purchases of positive mean value.

    Parameters
    ----------
    data
        The data set; needs ``orders`` (``accounts`` too, to list accounts without orders).
    as_of
        The date the indicators are computed at (``YYYY-MM-DD``).
    horizon_months
        Months ahead (whole number >= 1); it names the output columns.
    discount_rate_monthly
        Monthly discount rate of ``clv_<h>m`` (see :func:`customer_lifetime_value`).
    purchase_model
        ``"bg_nbd"`` (default) or ``"pareto_nbd"``.

    Returns
    -------
    pd.DataFrame
        One row per account (every account existing on ``as_of``, plus any account with
        orders), sorted by ``account_id``; columns ``account_id``,
        ``expected_purchases_<h>m`` (repeat purchase days expected in the horizon),
        ``p_alive`` (probability the account is still buying), ``expected_avg_value``
        (expected value per purchase day) and ``clv_<h>m`` (discounted value of the
        horizon), with ``<h>`` = ``horizon_months``.  Accounts without a purchase on or
        before ``as_of`` get NaN: the models describe customers after their first purchase
        (the scoring model decides how to score a missing indicator).

    Raises
    ------
    MissingTableError
        No orders table.
    DataValidationError
        Too little history to fit (no repeat purchases before ``as_of``).
    ConfigError
        Bad ``as_of``, ``horizon_months``, ``discount_rate_monthly`` or ``purchase_model``.

    Warns
    -----
    ConvergenceWarning
        A model fit did not converge cleanly (the indicators are still returned).

    Examples
    --------
    >>> clv_indicators(data, as_of="2026-09-30")  # doctest: +SKIP
      account_id  expected_purchases_12m  p_alive  expected_avg_value     clv_12m
    0      A0001                    8.41    0.982             15230.4    121583.7
    """
    if purchase_model not in PURCHASE_MODELS:
        raise ConfigError(
            f"The 'purchase_model' parameter of clv_indicators must be one of "
            f"{', '.join(repr(k) for k in PURCHASE_MODELS)}. Got {purchase_model!r} instead."
        )
    _check_horizon(horizon_months, "clv_indicators")
    day = parse_date(as_of)
    view = data.as_of(pd.Timestamp(day))
    orders = view.require("orders", "Customer lifetime value")
    summary = rfm_summary(orders, observation_end=day, customer_col="account_id", freq="W")

    purchases = PURCHASE_MODELS[purchase_model]().fit(summary)
    positive = (summary["frequency"] == 0) | (summary["monetary_value"] > 0)
    spend = GammaGammaModel().fit(summary[positive])
    values = customer_lifetime_value(
        purchases,
        spend,
        summary,
        horizon_months=horizon_months,
        discount_rate_monthly=discount_rate_monthly,
        freq="W",
    )
    suffix = f"_{horizon_months}m"
    values = values.rename(
        columns={"expected_purchases": f"expected_purchases{suffix}", "clv": f"clv{suffix}"}
    )
    indicators = [f"expected_purchases{suffix}", "p_alive", "expected_avg_value", f"clv{suffix}"]
    not_finite = ~np.isfinite(values[indicators].to_numpy(dtype=float)).all(axis=1)
    if not_finite.any():
        bad = values.loc[not_finite, "account_id"].head(5).tolist()
        raise KamlibError(
            f"CLV indicators as of {day} are not finite for {int(not_finite.sum())} accounts "
            f"(e.g. {bad}); the fitted models are degenerate for this data "
            f"(purchases: {purchases!r}; spend: {spend!r})."
        )

    accounts = pd.Index(values["account_id"])
    if view.has("accounts"):
        accounts = accounts.union(pd.Index(view.accounts["account_id"].dropna().unique()))
    out = values.set_index("account_id")[indicators].reindex(accounts.sort_values())
    out.index.name = "account_id"
    return out.reset_index()


def _check_horizon(horizon_months: int, owner: str) -> None:
    if (
        isinstance(horizon_months, bool)
        or not isinstance(horizon_months, int | np.integer)
        or horizon_months < 1
    ):
        raise ConfigError(
            f"The 'horizon_months' parameter of {owner} must be a whole number >= 1 "
            f"(e.g. 12). Got {horizon_months!r} instead."
        )
