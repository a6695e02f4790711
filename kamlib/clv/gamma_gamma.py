"""The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005; Colombo & Jiang 1999).

A customer's transaction values are Gamma(p, ν) around their own mean spend p/ν, and ν
varies across customers as Gamma(q, γ) — ``v`` here, as in ``lifetimes``.  Given a
customer's x repeat transactions with mean value z̄, the model shrinks z̄ towards the
population mean p·v/(q-1): the more transactions, the less shrinkage.

The model assumes spend per transaction is independent of how often the customer buys;
check that the correlation between ``frequency`` and ``monetary_value`` is small before
relying on it.

References
----------
Fader, P. S. & Hardie, B. G. S. (2013). The Gamma-Gamma Model of Monetary Value.
http://brucehardie.com/notes/025/
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: Using Iso-Value Curves
for Customer Base Analysis. *Journal of Marketing Research* 42(4), 415–430.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln, polygamma

from kamlib.clv.base import LikelihoodModel, show, wrap_like
from kamlib.errors import DataValidationError, KamlibWarning


class GammaGammaModel(LikelihoodModel):
    """Gamma-Gamma: expected spend per transaction from frequency and mean spend.

    ``fit`` learns only from customers with repeat purchases (``frequency > 0``), whose
    ``monetary_value`` (mean value of the repeat purchases) must be a positive number;
    other rows are ignored, so a full :func:`~kamlib.clv.rfm_summary` can be passed.

    Parameters
    ----------
    penalizer, initial_params, max_iter
        As for :class:`~kamlib.clv.BetaGeoModel` (money is rescaled so the mean spend is 1).

    Attributes
    ----------
    params_ : pd.Series
        Index ``p, q, v``; ``v`` is in the summary's currency.
    log_likelihood_, standard_errors_, covariance_, n_customers_, converged_, optimizer_result_
        As for :class:`~kamlib.clv.BetaGeoModel`.

    Examples
    --------
    >>> spend = GammaGammaModel().fit(summary)  # doctest: +SKIP
    >>> spend.conditional_expected_average_profit(summary["frequency"], summary["monetary_value"])  # doctest: +SKIP
    """

    _param_names: ClassVar[tuple[str, ...]] = ("p", "q", "v")
    _columns: ClassVar[tuple[str, ...]] = ("frequency", "monetary_value")

    def _select(
        self, columns: dict[str, np.ndarray], summary: pd.DataFrame
    ) -> dict[str, np.ndarray]:
        repeat = columns["frequency"] > 0
        if not repeat.any():
            raise DataValidationError(
                f"No customer in the summary given to {type(self).__name__} has a repeat "
                f"purchase (frequency > 0 in none of {len(summary)} rows), so spend per "
                "transaction cannot be estimated. Use a longer observation window."
            )
        money = columns["monetary_value"]
        bad = repeat & ~(np.isfinite(money) & (money > 0))
        if bad.any():
            i = int(np.argmax(bad))
            others = int(bad.sum()) - 1
            more = f" (and {others} more row{'s' if others != 1 else ''})" if others else ""
            raise DataValidationError(
                f"Column 'monetary_value' of the summary given to {type(self).__name__} has "
                f"{show(money[i])} at row {show(summary.index[i])}{more}, where frequency is "
                f"{columns['frequency'][i]:g}: expected a positive mean spend. Drop such rows "
                "before fitting, e.g. summary[summary['monetary_value'] > 0]."
            )
        return {c: v[repeat] for c, v in columns.items()}

    def _rescale(self, columns: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        scale = float(np.average(columns["monetary_value"]))
        scaled = dict(columns)
        scaled["monetary_value"] = columns["monetary_value"] / scale
        return scaled, np.array([1.0, 1.0, scale])

    def _loglik(
        self,
        params: np.ndarray,
        columns: dict[str, np.ndarray],
        weights: np.ndarray,
        *,
        order: int,
    ) -> tuple[float, np.ndarray | None, np.ndarray | None]:
        # Fader & Hardie (2013), eq. (4): density of the mean z̄ of x transactions,
        # ℓ = lnΓ(px+q) - lnΓ(px) - lnΓ(q) + q ln v + (px-1) ln z̄ + px ln x - (px+q) ln(v+x z̄).
        # Terms in x alone are evaluated once per distinct frequency (``lw``: level weights).
        p, q, v = params
        x, m = columns["frequency"], columns["monetary_value"]
        levels = columns["_x_levels"]
        lw = np.bincount(columns["_x_index"], weights, minlength=levels.size)
        total = weights.sum()
        px, pl = p * x, p * levels
        vxm = v + x * m
        log_vxm, log_m = np.log(vxm), np.log(m)
        loglik = (
            lw @ (gammaln(pl + q) - gammaln(pl) + pl * np.log(levels))
            + total * (q * np.log(v) - gammaln(q))
            + weights @ ((px - 1.0) * log_m - (px + q) * log_vxm)
        )
        if order == 0:
            return float(loglik), None, None
        psi = digamma(pl + q)
        grad = np.array(
            [
                lw @ (levels * (psi - digamma(pl) + np.log(levels)))
                + weights @ (x * (log_m - log_vxm)),
                lw @ psi + total * (np.log(v) - digamma(q)) - weights @ log_vxm,
                total * q / v - weights @ ((px + q) / vxm),
            ]
        )
        if order == 1:
            return float(loglik), grad, None
        tri = polygamma(1, pl + q)
        hess = np.empty((3, 3))
        hess[0, 0] = lw @ (levels**2 * (tri - polygamma(1, pl)))
        hess[0, 1] = hess[1, 0] = lw @ (levels * tri)
        hess[0, 2] = hess[2, 0] = -(weights @ (x / vxm))
        hess[1, 1] = lw @ tri - total * polygamma(1, q)
        hess[1, 2] = hess[2, 1] = total / v - weights @ (1.0 / vxm)
        hess[2, 2] = -total * q / v**2 + weights @ ((px + q) / vxm**2)
        return float(loglik), grad, hess

    def conditional_expected_average_profit(self, frequency: Any, monetary_value: Any) -> Any:
        """Expected value of a customer's future transactions, given their history.

        (p·v + p·x·z̄) / (p·x + q - 1) for x repeat purchases of mean value z̄ (Fader &
        Hardie 2013, eq. 5); for customers without repeat purchases (x = 0) the population
        mean p·v / (q - 1), whatever their ``monetary_value`` (it may be NaN).

        Parameters
        ----------
        frequency, monetary_value
            Scalars, arrays or Series (broadcast).

        Returns
        -------
        float, np.ndarray or pd.Series
            Expected value per transaction, in the summary's currency; NaN (with a
            warning) for x = 0 when q <= 1, since the population mean is then infinite.
        """
        p, q, v = self._param("p", "q", "v")
        x, m = np.broadcast_arrays(
            np.asarray(frequency, dtype=float), np.asarray(monetary_value, dtype=float)
        )
        if np.any(x < 0) or np.any(x != np.round(x)):
            raise DataValidationError(
                "frequency must hold whole numbers >= 0 (counts of repeat purchases). "
                f"Got {x[(x < 0) | (x != np.round(x))].ravel()[:3].tolist()} instead."
            )
        repeat = x > 0
        if np.any(repeat & ~(np.isfinite(m) & (m >= 0))):
            bad = m[repeat & ~(np.isfinite(m) & (m >= 0))].ravel()[:3].tolist()
            raise DataValidationError(
                f"monetary_value must be a number >= 0 wherever frequency > 0. Got {bad} instead."
            )
        population_mean = p * v / (q - 1.0) if q > 1.0 else np.nan
        if not repeat.all() and q <= 1.0:
            warnings.warn(
                f"GammaGammaModel has q = {q:.3g} <= 1: the population mean spend is infinite, "
                "so customers without repeat purchases get NaN.",
                KamlibWarning,
                stacklevel=2,
            )
        with np.errstate(all="ignore"):
            individual = (p * v + p * x * np.where(repeat, m, 0.0)) / (p * x + q - 1.0)
        expected = np.where(repeat, individual, population_mean)
        return wrap_like(expected, frequency, monetary_value)
