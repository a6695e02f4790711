"""The Pareto/NBD model of repeat purchasing (Schmittlein, Morrison & Colombo 1987).

While alive, a customer buys at a Poisson rate λ; their lifetime is exponential with rate
μ (dropping out can happen at any time, not only after a purchase as in BG/NBD).  Across
customers λ ~ Gamma(r, α) and μ ~ Gamma(s, β).

References
----------
Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting Your Customers: Who Are
They and What Will They Do Next? *Management Science* 33(1), 1–24.
Fader, P. S. & Hardie, B. G. S. (2005). A Note on Deriving the Pareto/NBD Model and Related
Expressions. http://brucehardie.com/notes/009/
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.special import expit, gammaln, hyp2f1

from kamlib.clv.base import LikelihoodModel, check_history, check_horizon, wrap_like


class ParetoNBDModel(LikelihoodModel):
    """Pareto/NBD: repeat purchases and P(alive) from frequency, recency and T.

    Same interface as :class:`~kamlib.clv.BetaGeoModel`; ``params_`` is indexed
    ``r, alpha, s, beta`` (``alpha`` and ``beta`` in the summary's time unit).

    The likelihood is exact (Fader & Hardie 2005, eq. 18–20, with the hypergeometric
    terms in Euler-transformed form so they cannot overflow); its gradient is taken by
    central differences, because the derivatives of 2F1 in its parameters have no closed
    form.  Fitting is therefore slower than BG/NBD.

    Parameters
    ----------
    penalizer, initial_params, max_iter
        As for :class:`~kamlib.clv.BetaGeoModel`.

    Examples
    --------
    >>> model = ParetoNBDModel().fit(summary)  # doctest: +SKIP
    >>> model.conditional_probability_alive(2, 30.43, 38.86)  # doctest: +SKIP
    """

    _param_names: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")
    _time_params: ClassVar[tuple[str, ...]] = ("alpha", "beta")
    _columns: ClassVar[tuple[str, ...]] = ("frequency", "recency", "T")
    _derivative_order: ClassVar[int] = 0

    def _loglik(
        self,
        params: np.ndarray,
        columns: dict[str, np.ndarray],
        weights: np.ndarray,
        *,
        order: int,
    ) -> tuple[float, np.ndarray | None, np.ndarray | None]:
        r, alpha, s, beta = params
        x, t_x, age = columns["frequency"], columns["recency"], columns["T"]
        terms = (
            gammaln(r + x)
            - gammaln(r)
            + r * np.log(alpha)
            + s * np.log(beta)
            + np.logaddexp(
                -(r + x) * np.log(alpha + age) - s * np.log(beta + age),
                np.log(s) - np.log(r + s + x) + _log_a0(r, alpha, s, beta, x, t_x, age),
            )
        )
        return float(weights @ terms), None, None

    # -- predictions --------------------------------------------------------------------------
    def conditional_probability_alive(self, frequency: Any, recency: Any, T: Any) -> Any:
        """P(alive) given the history (Fader & Hardie 2005, eq. 36–37).

        Parameters
        ----------
        frequency, recency, T
            Scalars, arrays or Series (broadcast), in the summary's time unit.

        Returns
        -------
        float, np.ndarray or pd.Series
            Probabilities in [0, 1]; a Series (same index) when an input was a Series.
        """
        r, alpha, s, beta = self._param("r", "alpha", "s", "beta")
        x, t_x, age = check_history(frequency, recency, T, owner=type(self).__name__)
        with np.errstate(all="ignore"):
            p = _p_alive(r, alpha, s, beta, x, t_x, age)
        return wrap_like(p, frequency, recency, T)

    def conditional_expected_number_of_purchases_up_to_time(
        self, t: Any, frequency: Any, recency: Any, T: Any
    ) -> Any:
        """Expected repeat purchases in the next ``t`` time units (Fader & Hardie 2005, eq. 41).

        Parameters
        ----------
        t
            Length of the future period, in the summary's time unit.
        frequency, recency, T
            The customers' histories (scalars, arrays or Series; broadcast).

        Returns
        -------
        float, np.ndarray or pd.Series
            Expected purchases; a Series (same index) when an input was a Series.
        """
        r, alpha, s, beta = self._param("r", "alpha", "s", "beta")
        x, t_x, age = check_history(frequency, recency, T, owner=type(self).__name__)
        horizon = check_horizon(t, owner=type(self).__name__)
        with np.errstate(all="ignore"):
            p = _p_alive(r, alpha, s, beta, x, t_x, age)
            expected = (
                p
                * (r + x)
                / (alpha + age)
                * (beta + age)
                * _lifetime_factor(s, beta + age, horizon)
            )
        return wrap_like(expected, frequency, recency, T, t)

    def expected_number_of_purchases_up_to_time(self, t: Any) -> Any:
        """Expected repeat purchases of a new customer within ``t`` (Fader & Hardie 2005, eq. 27)."""
        r, alpha, s, beta = self._param("r", "alpha", "s", "beta")
        horizon = check_horizon(t, owner=type(self).__name__)
        with np.errstate(all="ignore"):
            expected = r / alpha * beta * _lifetime_factor(s, np.asarray(beta), horizon)
        return wrap_like(expected, t)


def _lifetime_factor(s: float, beta_age: np.ndarray, t: np.ndarray) -> np.ndarray:
    """[1 - (β+T / (β+T+t))^(s-1)] / (s-1), with its limit log(1 + t/(β+T)) at s = 1."""
    log_ratio = np.log1p(t / beta_age)
    if abs(s - 1.0) < 1e-10:
        return log_ratio
    return -np.expm1(-(s - 1.0) * log_ratio) / (s - 1.0)


def _p_alive(
    r: float, alpha: float, s: float, beta: float, x: np.ndarray, t_x: np.ndarray, age: np.ndarray
) -> np.ndarray:
    log_ratio = (
        np.log(s)
        - np.log(r + s + x)
        + (r + x) * np.log(alpha + age)
        + s * np.log(beta + age)
        + _log_a0(r, alpha, s, beta, x, t_x, age)
    )
    return expit(-log_ratio)


def _log_a0(
    r: float, alpha: float, s: float, beta: float, x: np.ndarray, t_x: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """log A0 of Fader & Hardie (2005), eq. (19)–(20).

    A0 = F(t_x) - F(T) with F(τ) = 2F1(K, b2; K+1; z(τ)) / (m+τ)^K, K = r+s+x, where
    (m, b2) = (α, s+1) if α ≥ β else (β, r+x) and z(τ) = |α-β| / (m+τ).  Each 2F1 is taken
    in Euler-transformed form, 2F1(K, b2; K+1; z) = (1-z)^(1-b2) · 2F1(1, K+1-b2; K+1; z),
    which is bounded, so large frequencies cannot overflow.  A0 is 0 when t_x = T.
    """
    k = r + s + x
    if alpha >= beta:
        big, small, b2 = alpha, beta, s + 1.0
    else:
        big, small, b2 = beta, alpha, r + x
    diff = big - small

    def log_f(tau: np.ndarray) -> np.ndarray:
        log_big = np.log(big + tau)
        log_1mz = np.log(small + tau) - log_big
        z = diff / (big + tau)
        return (1.0 - b2) * log_1mz + np.log(hyp2f1(1.0, k + 1.0 - b2, k + 1.0, z)) - k * log_big

    first, second = log_f(t_x), log_f(age)
    gap = np.minimum(second - first, 0.0)
    with np.errstate(divide="ignore"):
        return first + np.log(-np.expm1(gap))
