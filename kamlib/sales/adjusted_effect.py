"""The adjusted difference in win rate: a logistic model with deal size, process and owner.

A raw "with vs without" difference mixes the task with whatever goes with it: tasks are done
more often on big deals, in tenders, by some account managers.  :func:`adjusted_difference`
fits, over the same deals,

    logit P(win) = b0 + b_task · done + b_size · z(log amount) + Σ b_process + u_owner

and reports the **average marginal effect** of the task — the mean over the deals of
P(win | done) − P(win | not done), each deal keeping its own size, process and owner — in
percentage points, with a 95 % interval.

- Owners are a random intercept, approximated by an L2 (ridge) penalty ``1 / owner_sd²`` on
  their indicators (a Gaussian prior with standard deviation ``owner_sd`` on the logit
  scale, default 0.5): an owner with three deals is pulled toward the average owner instead
  of absorbing the task's effect.
- Every other coefficient but the intercept gets a weak Gaussian prior (standard deviation
  ``prior_sd``, default 2.5 on the logit scale, log amount standardised), so that a task
  done on every won deal (complete separation) gives a wide interval, not an infinite one.
- The fit is statsmodels' penalised binomial GLM (``fit_regularized`` with ``L1_wt=0``).
  The interval is the delta method on the penalised fit's curvature ``(XᵀWX + Λ)⁻¹`` (the
  Laplace approximation of the posterior), or a seeded nonparametric bootstrap of deals
  (percentile interval) with ``interval="bootstrap"``.

It is an **association, not a cause**: the controls remove what size, process and owner
explain, not what they do not measure (the deals a team judged winnable get the effort).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from kamlib.errors import ConfigError
from kamlib.proportions import Z95

#: default standard deviation of the owner random intercept (logit scale)
OWNER_SD = 0.5
#: default standard deviation of the weak prior on the other coefficients (logit scale)
PRIOR_SD = 2.5
#: default bootstrap resamples
N_BOOT = 200
INTERVALS = ("delta", "bootstrap")


@dataclass(frozen=True)
class AdjustedDifference:
    """The adjusted difference in points (−100 … 100), its 95 % interval and how it was
    got: ``method`` (``"logistic, delta method"`` / ``"logistic, bootstrap"``), ``deals``
    (fitted on), ``note`` (the optimiser's convergence message when it had one, else "")."""

    difference: float
    ci_low: float
    ci_high: float
    method: str
    deals: int
    note: str = ""


def _design(
    done: np.ndarray, amount: np.ndarray, process: np.ndarray, owner: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The design matrix, which columns are owners, and the index of the task column."""
    n = len(done)
    cols = [np.ones(n), done.astype(float)]
    owners = [False, False]
    log_amount = np.log(np.where(amount > 0, amount, np.nan))
    missing = np.isnan(log_amount)
    if (~missing).sum() >= 2:
        filled = np.where(missing, np.nanmedian(log_amount), log_amount)
        sd = filled.std()
        cols.append((filled - filled.mean()) / sd if sd > 0 else np.zeros(n))
        owners.append(False)
        if missing.any():
            cols.append(missing.astype(float))
            owners.append(False)
    levels = pd.unique(pd.Series(process, dtype="object").fillna("(none)"))
    for level in sorted(map(str, levels))[1:]:
        cols.append((pd.Series(process, dtype="object").fillna("(none)") == level).to_numpy(float))
        owners.append(False)
    who = pd.Series(owner, dtype="object").fillna("(none)")
    for level in sorted(map(str, pd.unique(who))):
        cols.append((who == level).to_numpy(float))
        owners.append(True)
    return np.column_stack(cols), np.asarray(owners), np.array(1)


def _fit(
    y: np.ndarray, x: np.ndarray, penalty: np.ndarray, start: np.ndarray | None
) -> tuple[np.ndarray, str]:
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    model = sm.GLM(y.astype(float), x, family=sm.families.Binomial())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        res = model.fit_regularized(
            method="elastic_net", alpha=penalty / len(y), L1_wt=0.0, start_params=start
        )
    note = "; ".join(str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning))
    return np.asarray(res.params, dtype=float), note


def _expit(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _ame(x: np.ndarray, beta: np.ndarray, col: int) -> tuple[float, np.ndarray]:
    """The average marginal effect of column ``col`` (0 → 1) and its gradient in beta."""
    x1, x0 = x.copy(), x.copy()
    x1[:, col], x0[:, col] = 1.0, 0.0
    p1, p0 = _expit(x1 @ beta), _expit(x0 @ beta)
    grad = (x1.T @ (p1 * (1 - p1)) - x0.T @ (p0 * (1 - p0))) / len(x)
    return float(np.mean(p1 - p0)), grad


def adjusted_difference(
    won: np.ndarray | pd.Series,
    done: np.ndarray | pd.Series,
    *,
    amount: np.ndarray | pd.Series,
    process: np.ndarray | pd.Series,
    owner: np.ndarray | pd.Series,
    owner_sd: float = OWNER_SD,
    prior_sd: float = PRIOR_SD,
    interval: str = "delta",
    n_boot: int = N_BOOT,
    random_state: int | np.random.Generator | None = 0,
) -> AdjustedDifference:
    """The average marginal effect of ``done`` on winning, adjusted (module docstring).

    Parameters
    ----------
    won, done
        One value per closed deal: won (true) or lost; the task done (true) or not.
    amount, process, owner
        The deal's amount (NaN when unknown: the median is used, flagged), sales process
        and owner.
    owner_sd, prior_sd
        Prior standard deviations (logit scale) of the owner intercepts and of the other
        coefficients.
    interval
        ``"delta"`` (default) or ``"bootstrap"``.
    n_boot, random_state
        Bootstrap resamples and their seed (or generator).

    Returns
    -------
    AdjustedDifference
        In points; NaN when no deal was done or every deal was (nothing to compare).
    """
    if interval not in INTERVALS:
        raise ConfigError(
            f"The 'interval' parameter of adjusted_difference must be one of "
            f"{', '.join(INTERVALS)}. Got {interval!r} instead."
        )
    if not (owner_sd > 0 and prior_sd > 0):
        raise ConfigError(
            "The 'owner_sd' and 'prior_sd' parameters of adjusted_difference must be "
            f"positive. Got {owner_sd!r} and {prior_sd!r} instead."
        )
    y = np.asarray(won, dtype=bool)
    d = np.asarray(done, dtype=bool)
    method = f"logistic, {'delta method' if interval == 'delta' else 'bootstrap'}"
    nan = float("nan")
    if len(y) == 0 or d.all() or not d.any():
        return AdjustedDifference(nan, nan, nan, method, len(y))
    x, is_owner, col = _design(
        d, np.asarray(amount, dtype=float), np.asarray(process, dtype=object),
        np.asarray(owner, dtype=object),
    )  # fmt: skip
    penalty = np.where(is_owner, 1 / owner_sd**2, 1 / prior_sd**2)
    penalty[0] = 0.0
    beta, note = _fit(y, x, penalty, None)
    ame, grad = _ame(x, beta, int(col))
    if interval == "delta":
        p = _expit(x @ beta)
        h = x.T @ (x * (p * (1 - p))[:, None]) + np.diag(penalty)
        se = float(np.sqrt(max(grad @ np.linalg.solve(h, grad), 0.0)))
        lo, hi = ame - Z95 * se, ame + Z95 * se
    else:
        rng = np.random.default_rng(random_state)
        draws = np.empty(n_boot)
        for i in range(n_boot):
            idx = rng.integers(0, len(y), len(y))
            b, _ = _fit(y[idx], x[idx], penalty, beta)
            draws[i], _ = _ame(x[idx], b, int(col))
        lo, hi = np.quantile(draws, [0.025, 0.975])
    return AdjustedDifference(
        difference=100 * ame,
        ci_low=max(-100.0, 100 * float(lo)),
        ci_high=min(100.0, 100 * float(hi)),
        method=method,
        deals=len(y),
        note=note,
    )
