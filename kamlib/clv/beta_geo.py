"""The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005).

While alive, a customer buys at a Poisson rate λ; after every purchase they drop out for
good with probability p.  Across customers λ ~ Gamma(r, α) and p ~ Beta(a, b).  From each
customer's history — ``frequency`` (repeat purchases x), ``recency`` (t_x, time of the last
purchase after the first) and ``T`` (time since the first purchase) — the model predicts
future purchases and the probability that the customer is still alive.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers" the Easy Way:
An Alternative to the Pareto/NBD Model. *Marketing Science* 24(2), 275–284.
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2008). Computing P(alive) Using the BG/NBD
Model. http://brucehardie.com/notes/021/
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.special import digamma, expit, gammaln, hyp2f1, polygamma

from kamlib.clv.base import LikelihoodModel, check_history, check_horizon, wrap_like


class BetaGeoModel(LikelihoodModel):
    """BG/NBD: repeat purchases and P(alive) from frequency, recency and T.

    scikit-learn style: ``__init__`` only stores the settings, :meth:`fit` returns the
    model, fitted attributes end in ``_``.

    Parameters
    ----------
    penalizer
        L2 penalty on the parameters (see :class:`~kamlib.clv.base.LikelihoodModel`);
        0 (default) is plain maximum likelihood.
    initial_params
        Starting values ``{"r": …, "alpha": …, "a": …, "b": …}`` in the summary's units.
    max_iter
        Most quasi-Newton iterations.

    Attributes
    ----------
    params_ : pd.Series
        Index ``r, alpha, a, b``; ``alpha`` is in the summary's time unit.
    log_likelihood_ : float
        The maximised log-likelihood (the summary's time unit; penalty not included).
    standard_errors_ : pd.Series
        From the observed information (inverse Hessian of the negative log-likelihood).
    covariance_ : pd.DataFrame
        Covariance matrix of the estimates.
    n_customers_ : int
        Customers the model learned from.
    converged_ : bool
        ``False`` when a :class:`~kamlib.clv.ConvergenceWarning` was issued.
    optimizer_result_ : scipy.optimize.OptimizeResult
        The optimiser's output (``trust-ncg``; L-BFGS-B within bounds when a parameter
        runs off), before the final Newton polish.

    Examples
    --------
    >>> summary = rfm_summary(orders, observation_end="2026-09-30", freq="W")  # doctest: +SKIP
    >>> model = BetaGeoModel().fit(summary)  # doctest: +SKIP
    >>> model.params_  # doctest: +SKIP
    r        0.243
    alpha    4.414
    a        0.793
    b        2.426
    """

    _param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")
    _time_params: ClassVar[tuple[str, ...]] = ("alpha",)
    _columns: ClassVar[tuple[str, ...]] = ("frequency", "recency", "T")

    def _loglik(
        self,
        params: np.ndarray,
        columns: dict[str, np.ndarray],
        weights: np.ndarray,
        *,
        order: int,
    ) -> tuple[float, np.ndarray | None, np.ndarray | None]:
        # Fader, Hardie & Lee (2005), eq. (6), on the log scale:
        # ℓ = lnΓ(r+x) - lnΓ(r) + r ln α + ln B(a, b+x) - ln B(a, b) + log-sum-exp(A, D),
        # A = -(r+x) ln(α+T) (still alive at T), D = ln a - ln(b+x-1) - (r+x) ln(α+t_x)
        # (dropped out after the last purchase; only when x > 0).  Terms in x alone are
        # evaluated once per distinct frequency (``lw``: weight of each level).
        r, alpha, a, b = params
        x, t_x, age = columns["frequency"], columns["recency"], columns["T"]
        levels = columns["_x_levels"]
        lw = np.bincount(columns["_x_index"], weights, minlength=levels.size)
        total = weights.sum()
        rx = r + x
        b_x1 = b + np.maximum(x, 1.0) - 1.0
        alpha_T, alpha_tx = alpha + age, alpha + t_x
        log_alpha_T, log_alpha_tx = np.log(alpha_T), np.log(alpha_tx)
        alive = -rx * log_alpha_T
        dropped = np.where(x > 0, np.log(a) - np.log(b_x1) - rx * log_alpha_tx, -np.inf)
        mix = np.logaddexp(alive, dropped)
        loglik = (
            lw @ (gammaln(r + levels) + gammaln(b + levels) - gammaln(a + b + levels))
            + total * (-gammaln(r) + r * np.log(alpha) + gammaln(a + b) - gammaln(b))
            + weights @ mix
        )
        if order == 0:
            return float(loglik), None, None
        p_alive = np.exp(alive - mix)  # softmax weights of the two branches
        p_dropped = np.exp(dropped - mix)
        wa, wd = weights * p_alive, weights * p_dropped
        psi_ab, psi_abx = digamma(a + b), digamma(a + b + levels)
        grad = np.array(
            [
                lw @ digamma(r + levels)
                + total * (np.log(alpha) - digamma(r))
                - wa @ log_alpha_T
                - wd @ log_alpha_tx,
                total * r / alpha - wa @ (rx / alpha_T) - wd @ (rx / alpha_tx),
                total * psi_ab - lw @ psi_abx + wd.sum() / a,
                total * (psi_ab - digamma(b))
                + lw @ (digamma(b + levels) - psi_abx)
                - wd @ (1.0 / b_x1),
            ]
        )
        if order == 1:
            return float(loglik), grad, None
        # Hessian: the smooth part, each branch's own curvature, and the log-sum-exp's
        # mixing term Σ w·p_A·p_D·(∇A - ∇D)(∇A - ∇D)ᵀ.
        tri_ab, tri_abx = polygamma(1, a + b), lw @ polygamma(1, a + b + levels)
        hess = np.empty((4, 4))
        hess[0, 0] = lw @ polygamma(1, r + levels) - total * polygamma(1, r)
        hess[0, 1] = total / alpha - wa @ (1.0 / alpha_T) - wd @ (1.0 / alpha_tx)
        hess[1, 1] = -total * r / alpha**2 + wa @ (rx / alpha_T**2) + wd @ (rx / alpha_tx**2)
        hess[0, 2] = hess[0, 3] = hess[1, 2] = hess[1, 3] = 0.0
        hess[2, 2] = total * tri_ab - tri_abx - wd.sum() / a**2
        hess[2, 3] = total * tri_ab - tri_abx
        hess[3, 3] = (
            total * (tri_ab - polygamma(1, b))
            + lw @ polygamma(1, b + levels)
            - tri_abx
            + wd @ (1.0 / b_x1**2)
        )
        hess = np.triu(hess) + np.triu(hess, 1).T
        diff = np.column_stack(
            [
                log_alpha_tx - log_alpha_T,
                rx / alpha_tx - rx / alpha_T,
                np.full(x.size, -1.0 / a),
                1.0 / b_x1,
            ]
        )
        hess += (diff * (wa * p_dropped)[:, None]).T @ diff
        return float(loglik), grad, hess

    # -- predictions --------------------------------------------------------------------------
    def conditional_probability_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """P(alive): the probability that a customer with this history has not dropped out.

        Fader, Hardie & Lee (2008), eq. (2).  A customer without repeat purchases
        (``frequency == 0``) is alive with probability 1 under BG/NBD (dropping out happens
        only right after a purchase).

        Parameters
        ----------
        frequency, recency, T
            Scalars, arrays or Series (broadcast), in the summary's time unit.

        Returns
        -------
        float, np.ndarray or pd.Series
            Probabilities in [0, 1]; a Series (same index) when an input was a Series.
        """
        r, alpha, a, b = self._param("r", "alpha", "a", "b")
        x, t_x, age = check_history(frequency, recency, T, owner=type(self).__name__)
        return wrap_like(_p_alive(r, alpha, a, b, x, t_x, age), frequency, recency, T)

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> Any:
        """Expected repeat purchases in the next ``t`` time units, given the history.

        Fader, Hardie & Lee (2005), eq. (10), evaluated with Euler's transformation of the
        Gaussian hypergeometric function (finite for any ``t``, no overflow for large x).

        Parameters
        ----------
        t
            Length of the future period, in the summary's time unit (e.g. 39 weeks).
        frequency, recency, T
            The customers' histories (scalars, arrays or Series; broadcast).

        Returns
        -------
        float, np.ndarray or pd.Series
            Expected purchases; a Series (same index) when an input was a Series.
        """
        r, alpha, a, b = self._param("r", "alpha", "a", "b")
        x, t_x, age = check_history(frequency, recency, T, owner=type(self).__name__)
        horizon = check_horizon(t, owner=type(self).__name__)
        with np.errstate(all="ignore"):
            expected = _expected_given_history(r, alpha, a, b, horizon, x, t_x, age)
        return wrap_like(expected * _p_alive(r, alpha, a, b, x, t_x, age), frequency, recency, T, t)

    def expected_number_of_purchases_up_to_time(self, t: Any) -> Any:
        """Expected repeat purchases of a new customer within ``t`` of the first purchase.

        Fader, Hardie & Lee (2005), eq. (9).
        """
        r, alpha, a, b = self._param("r", "alpha", "a", "b")
        horizon = check_horizon(t, owner=type(self).__name__)
        zero = np.zeros_like(horizon)
        with np.errstate(all="ignore"):
            expected = _expected_given_history(r, alpha, a, b, horizon, zero, zero, zero)
        return wrap_like(expected, t)


def _p_alive(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, t_x: np.ndarray, age: np.ndarray
) -> np.ndarray:
    b_x1 = b + np.maximum(x, 1.0) - 1.0
    log_odds_dead = np.log(a) - np.log(b_x1) + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x))
    return np.where(x > 0, expit(-log_odds_dead), 1.0)


def _expected_given_history(
    r: float,
    alpha: float,
    a: float,
    b: float,
    t: np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    age: np.ndarray,
) -> np.ndarray:
    """Eq. (10) without its P(alive) denominator (the caller multiplies by P(alive)).

    (a+b+x-1)/(a-1) · [1 - ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x-1; z)],
    z = t/(α+T+t).  Euler's transformation turns the bracket into
    1 - (1-z)^(a-1) · 2F1(a+b-1-r, a-1; a+b+x-1; z), whose series stays finite as z → 1.
    At a = 1 the expression is 0/0: within 1e-6 of it, the value is the average of the
    two sides a = 1 ± 1e-5 (error of order 1e-10).
    """
    if abs(a - 1.0) < 1e-6:
        return 0.5 * (
            _expected_euler(r, alpha, 1.0 - 1e-5, b, t, x, age)
            + _expected_euler(r, alpha, 1.0 + 1e-5, b, t, x, age)
        )
    t, x, age = np.broadcast_arrays(
        np.asarray(t, dtype=float), np.asarray(x, dtype=float), np.asarray(age, dtype=float)
    )
    value = np.asarray(_expected_euler(r, alpha, a, b, t, x, age), dtype=float)
    bad = ~np.isfinite(value)
    if bad.any():
        value = value.copy()
        value[bad] = _expected_direct(r, alpha, a, b, t[bad], x[bad], age[bad])
    return value


def _expected_direct(
    r: float, alpha: float, a: float, b: float, t: np.ndarray, x: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """Eq. (10)'s bracket summed directly, for fits where Euler's form overflows.

    When a and b are huge (dropout probability p ~ Beta(a, b) nearly constant, as for a
    book of loyal customers), (1-z)^(a-1) underflows and Euler's 2F1 overflows.  The
    original form 1 - (1-z)^(r+x) · 2F1(r+x, b+x; a+b+x-1; z) is then well behaved: its
    series has term ratio (r+x+k)(b+x+k) / ((a+b+x-1+k)(k+1)) · z < 1 for large k, and
    is summed here in log space (vectorised over customers) to relative precision 1e-16.
    """
    c = a + b + x - 1.0
    log_one_minus_z = np.log(alpha + age) - np.log(alpha + age + t)
    log_z = np.log(t) - np.log(alpha + age + t)
    log_term = np.zeros_like(x)
    log_sum = np.zeros_like(x)
    active = np.ones(x.shape, dtype=bool)
    k = 0
    while active.any() and k < 1_000_000:
        ratio = np.log(r + x + k) + np.log(b + x + k) - np.log(c + k) - np.log(k + 1.0) + log_z
        log_term = log_term + ratio
        log_sum = np.where(active, np.logaddexp(log_sum, log_term), log_sum)
        # converged once terms shrink (ratio < 0) and are negligible against the sum
        active &= ~((ratio < 0) & (log_term - log_sum < -38.0))
        k += 1
    log_product = (r + x) * log_one_minus_z + log_sum
    return c / (a - 1.0) * -np.expm1(log_product)


def _expected_euler(
    r: float, alpha: float, a: float, b: float, t: np.ndarray, x: np.ndarray, age: np.ndarray
) -> np.ndarray:
    c = a + b + x - 1.0
    log_one_minus_z = np.log(alpha + age) - np.log(alpha + age + t)
    z = t / (alpha + age + t)
    power = (a - 1.0) * log_one_minus_z
    bracket = -np.expm1(power) - np.exp(power) * (hyp2f1(a + b - 1.0 - r, a - 1.0, c, z) - 1.0)
    return c / (a - 1.0) * bracket
