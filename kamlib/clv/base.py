"""The shared maximum-likelihood fitter of the CLV models.

Every model (:class:`~kamlib.clv.BetaGeoModel`, :class:`~kamlib.clv.ParetoNBDModel`,
:class:`~kamlib.clv.GammaGammaModel`) is a subclass of :class:`LikelihoodModel`: it names its
parameters, says which of them carry a unit (time or money), and supplies the
log-likelihood (and, where a closed form exists, its gradient and Hessian).  The base
class does the rest, the same way for every model:

- validates the summary frame at the edge (clear errors naming the column, row and value);
- compresses customers with identical histories into weighted patterns;
- rescales time (longest ``T`` = 1) or money (mean spend = 1) so the optimiser works on
  numbers of order one, and estimates the logarithms of the parameters (all are positive);
- minimises the mean negative log-likelihood with ``scipy.optimize``: Newton with a
  trust region (``trust-ncg``) on the closed-form gradient and Hessian where the model
  has them (BG/NBD, Gamma-Gamma), BFGS on a central-difference gradient otherwise
  (Pareto/NBD), L-BFGS-B within bounds if a parameter runs off; then polishes the
  optimum with Newton steps; the fit counts as converged when the Newton step left is
  below 1e-7 (relative change of the parameters) or the improvement it promises is at
  the rounding level of the objective (a flat, weakly identified direction: large
  standard errors say so);
- reports standard errors from the observed information (the inverse Hessian of the
  negative log-likelihood at the optimum, delta method from the log scale);
- never prints: problems become a :class:`ConvergenceWarning`, and the optimiser's result
  is kept on the model as ``optimizer_result_``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from scipy import optimize

from kamlib.errors import ConfigError, DataValidationError, KamlibError, KamlibWarning
from kamlib.frames import require_columns

#: Bounds of the log-parameters during the search (parameters on the rescaled units).
LOG_BOUND = 25.0
#: The fit counts as converged when the Newton step left is below this (log scale,
#: i.e. a relative change of the parameters) ...
STEP_TOLERANCE = 1e-7
#: ... or when the decrease of the mean negative log-likelihood it promises (half the
#: Newton decrement) is below this, relative to the objective (its rounding level).
DECREMENT_TOLERANCE = 1e-14
_Z95 = 1.959963984540054


class ConvergenceWarning(KamlibWarning):
    """A CLV model's maximum-likelihood fit did not converge cleanly.

    The parameters found are kept (``params_``) but should not be trusted without a look;
    the optimiser's output is on the model as ``optimizer_result_`` and the message says
    what went wrong and what to try (usually a small ``penalizer``).
    """


class NotFittedError(KamlibError):
    """A model was asked for predictions before ``fit`` was called."""


@dataclass(frozen=True)
class FitData:
    """Validated model input, compressed into unique patterns.

    ``original`` holds the pattern columns in the summary's units, ``scaled`` the same
    columns rescaled for the optimiser; ``weights`` counts the customers per pattern and
    ``units`` maps each parameter from the rescaled to the original units (multiply).
    """

    original: dict[str, np.ndarray]
    scaled: dict[str, np.ndarray]
    weights: np.ndarray
    units: np.ndarray


class LikelihoodModel:
    """Base class: maximum-likelihood fitting shared by the CLV models.

    Subclasses set ``_param_names``, ``_columns``, ``_derivative_order`` and implement
    ``_loglik``; they may set ``_time_params`` or override ``_rescale`` (which parameters
    carry a time or money unit) and ``_select`` (which rows of the summary they use).

    Parameters
    ----------
    penalizer
        Coefficient of an L2 penalty on the parameters, added to the mean negative
        log-likelihood per customer (parameters measured on the rescaled units: time with
        the longest ``T`` = 1, money with the mean spend = 1).  ``0`` (default) is plain
        maximum likelihood; a small value (0.001–0.1) tames fits that run away (standard
        errors then describe the penalised estimate).
    initial_params
        Starting values in the summary's units, e.g. ``previous_model.params_``; default:
        1 for every parameter on the rescaled units.
    max_iter
        Most iterations of the quasi-Newton search.
    """

    _param_names: ClassVar[tuple[str, ...]] = ()
    _columns: ClassVar[tuple[str, ...]] = ()
    #: Highest derivative ``_loglik`` returns in closed form: 0 (finite differences do
    #: the rest) or 2 (gradient and Hessian).
    _derivative_order: ClassVar[int] = 2

    params_: pd.Series
    log_likelihood_: float
    standard_errors_: pd.Series
    covariance_: pd.DataFrame
    n_customers_: int
    converged_: bool
    optimizer_result_: optimize.OptimizeResult

    def __init__(
        self,
        penalizer: float = 0.0,
        *,
        initial_params: Mapping[str, float] | None = None,
        max_iter: int = 1000,
    ) -> None:
        self.penalizer = penalizer
        self.initial_params = initial_params
        self.max_iter = max_iter

    def __repr__(self) -> str:
        name = type(self).__name__
        if not hasattr(self, "params_"):
            return f"{name}(penalizer={self.penalizer!r})"
        values = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"<{name} fitted on {self.n_customers_} customers: {values}>"

    # -- fitting ------------------------------------------------------------------------------
    def fit(self, summary: pd.DataFrame) -> Self:
        """Estimate the parameters by maximum likelihood.

        Parameters
        ----------
        summary
            One row per customer with the model's columns (see the class docstring),
            typically from :func:`kamlib.clv.rfm_summary`.  Not modified.

        Returns
        -------
        self
            With ``params_``, ``log_likelihood_``, ``standard_errors_``, ``covariance_``,
            ``n_customers_``, ``converged_`` and ``optimizer_result_`` set.

        Raises
        ------
        ConfigError
            A constructor parameter is invalid.
        DataValidationError
            The summary is unusable (missing column, negative or non-whole frequency,
            recency > T, no repeat purchases …); the message names column, row and value.

        Warns
        -----
        ConvergenceWarning
            The optimiser stopped without a clean optimum, a parameter ran to its bound,
            or the Hessian is not positive definite (standard errors are then NaN).
        """
        self._check_constructor()
        data = self._prepare(summary)
        k = len(self._param_names)
        with np.errstate(all="ignore"):
            result = self._search(data, self._initial_theta(data))
            theta, hessian, step, decrement = self._polish(np.asarray(result.x, dtype=float), data)
            scale = max(1.0, abs(self._value(theta, data)))

        name = type(self).__name__
        if not np.all(np.isfinite(theta)):
            raise KamlibError(
                f"{name} could not be fitted: the optimiser returned non-finite parameters "
                f"({result.message}). Check the summary for extreme values or pass a "
                f"penalizer, e.g. {name}(penalizer=0.01)."
            )
        problems: list[str] = []
        at_bound = [self._param_names[i] for i in range(k) if abs(theta[i]) >= LOG_BOUND - 1e-6]
        if at_bound:
            problems.append(
                f"parameter(s) {', '.join(repr(p) for p in at_bound)} ran to the edge of the "
                "search range: the data do not identify them"
            )
        if not (step <= STEP_TOLERANCE or decrement <= DECREMENT_TOLERANCE * scale):
            left = f"; a Newton step of {step:.2g} (log scale) is left" if np.isfinite(step) else ""
            problems.append(f"no clean optimum was reached (optimiser: {result.message!s}{left})")

        units = data.units
        params = np.exp(theta) * units
        self.params_ = pd.Series(params, index=list(self._param_names), name="estimate")
        self.n_customers_ = int(data.weights.sum())
        with np.errstate(all="ignore"):
            self.log_likelihood_ = self._loglik(params, data.original, data.weights, order=0)[0]

        covariance = np.full((k, k), np.nan)
        if hessian is not None:
            try:
                total = hessian * self.n_customers_
                np.linalg.cholesky(total)
                cov_log = np.linalg.inv(total)
                covariance = cov_log * np.outer(params, params)
            except np.linalg.LinAlgError:
                problems.append(
                    "the Hessian is not positive definite at the estimate, so standard "
                    "errors are not available"
                )
        else:
            problems.append("the Hessian could not be computed, so standard errors are NaN")
        names = list(self._param_names)
        self.covariance_ = pd.DataFrame(covariance, index=names, columns=names)
        self.standard_errors_ = pd.Series(
            np.sqrt(np.diag(covariance)), index=names, name="std_error"
        )
        self.optimizer_result_ = result
        self.converged_ = not problems
        if problems:
            warnings.warn(
                f"{name} did not converge cleanly: {'; '.join(problems)}. "
                "The estimates are kept but may be unreliable; the optimiser's output is in "
                f"`.optimizer_result_`. Try a small penalizer, e.g. {name}(penalizer=0.01), "
                "or check the summary "
                "(too few repeat customers, a very short window).",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def summary(self) -> pd.DataFrame:
        """The fitted parameters with standard errors and 95% confidence intervals.

        Returns
        -------
        pd.DataFrame
            Indexed by parameter name; columns ``estimate``, ``std_error`` (observed
            information), ``ci_lower_95`` and ``ci_upper_95`` (Wald intervals on the log
            scale, so they stay positive: ``estimate · exp(±1.96 · std_error / estimate)``).
        """
        self._check_fitted()
        est = self.params_
        se = self.standard_errors_
        spread = np.exp(_Z95 * se / est)
        return pd.DataFrame(
            {
                "estimate": est,
                "std_error": se,
                "ci_lower_95": est / spread,
                "ci_upper_95": est * spread,
            },
            index=est.index,
        )

    # -- the objective ------------------------------------------------------------------------
    def _search(self, data: FitData, theta0: np.ndarray) -> optimize.OptimizeResult:
        """Minimise the objective from ``theta0`` with scipy.optimize."""

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            value, gradient, _ = self._evaluate(theta, data, order=1)
            return value, gradient  # type: ignore[return-value]

        if self._derivative_order >= 2:
            # Newton with a trust region on the closed-form gradient and Hessian; both come
            # from one evaluation, so the Hessian of the last point is kept for ``hess``.
            last: dict[str, Any] = {"theta": None, "hessian": None}

            def objective_keeping_hessian(theta: np.ndarray) -> tuple[float, np.ndarray]:
                value, gradient, hessian = self._evaluate(theta, data, order=2)
                last["theta"], last["hessian"] = theta.copy(), hessian
                return value, gradient  # type: ignore[return-value]

            def hessian_at(theta: np.ndarray) -> np.ndarray:
                if last["theta"] is not None and np.array_equal(last["theta"], theta):
                    return last["hessian"]
                return self._evaluate(theta, data, order=2)[2]  # type: ignore[return-value]

            result = optimize.minimize(
                objective_keeping_hessian,
                theta0,
                jac=True,
                hess=hessian_at,
                method="trust-ncg",
                options={"maxiter": self.max_iter, "gtol": 1e-6},
            )
        else:
            result = optimize.minimize(
                objective,
                theta0,
                jac=True,
                method="BFGS",
                options={"maxiter": self.max_iter, "gtol": 1e-6},
            )
        if not np.all(np.isfinite(result.x)) or np.any(np.abs(result.x) >= LOG_BOUND):
            # The search ran off (a parameter the data do not pin down): search within bounds.
            result = optimize.minimize(
                objective,
                theta0,
                jac=True,
                method="L-BFGS-B",
                bounds=[(-LOG_BOUND, LOG_BOUND)] * theta0.size,
                options={"maxiter": self.max_iter, "ftol": 1e-14, "gtol": 1e-9},
            )
        return result

    def _evaluate(
        self, theta: np.ndarray, data: FitData, *, order: int
    ) -> tuple[float, np.ndarray | None, np.ndarray | None]:
        """Mean penalised negative log-likelihood in log-parameters (rescaled units).

        Returns the value and, up to ``order`` (0, 1 or 2), its gradient and Hessian with
        respect to ``theta`` — in closed form where the model has them, else by central
        differences.
        """
        params = np.exp(theta)
        analytic = min(order, self._derivative_order)
        with np.errstate(all="ignore"):
            loglik, grads, hessians = self._loglik(
                params, data.scaled, data.weights, order=analytic
            )
        total = data.weights.sum()
        value = -loglik / total + self.penalizer * float(params @ params)
        if not np.isfinite(value):
            value = np.inf
        gradient = hessian = None
        if order >= 1:
            if analytic >= 1:
                assert grads is not None
                grad_params = -grads / total + 2.0 * self.penalizer * params
                gradient = grad_params * params
            else:
                gradient = self._central_gradient(theta, data)
            if not np.all(np.isfinite(gradient)):
                gradient = np.nan_to_num(gradient, nan=0.0, posinf=1e10, neginf=-1e10)
        if order >= 2:
            if analytic >= 2:
                assert hessians is not None and grads is not None
                hess_params = -hessians / total + 2.0 * self.penalizer * np.eye(params.size)
                hessian = hess_params * np.outer(params, params) + np.diag(gradient)
            else:
                hessian = self._central_hessian(theta, data)
        return value, gradient, hessian

    def _value(self, theta: np.ndarray, data: FitData) -> float:
        return self._evaluate(theta, data, order=0)[0]

    def _central_gradient(self, theta: np.ndarray, data: FitData) -> np.ndarray:
        h = 1e-6
        eye = np.eye(theta.size) * h
        return np.array(
            [
                (self._value(theta + eye[i], data) - self._value(theta - eye[i], data)) / (2 * h)
                for i in range(theta.size)
            ]
        )

    def _central_hessian(self, theta: np.ndarray, data: FitData) -> np.ndarray:
        """Central second differences of the objective value (models without derivatives)."""
        k = theta.size
        h = 1e-4
        hess = np.empty((k, k))
        f0 = self._value(theta, data)
        eye = np.eye(k) * h
        for i in range(k):
            fp = self._value(theta + eye[i], data)
            fm = self._value(theta - eye[i], data)
            hess[i, i] = (fp - 2 * f0 + fm) / h**2
            for j in range(i):
                fpp = self._value(theta + eye[i] + eye[j], data)
                fpm = self._value(theta + eye[i] - eye[j], data)
                fmp = self._value(theta - eye[i] + eye[j], data)
                fmm = self._value(theta - eye[i] - eye[j], data)
                hess[i, j] = hess[j, i] = (fpp - fpm - fmp + fmm) / (4 * h**2)
        return hess

    def _polish(
        self, theta: np.ndarray, data: FitData
    ) -> tuple[np.ndarray, np.ndarray | None, float, float]:
        """Newton steps from the quasi-Newton optimum.

        Returns the final log-parameters, the Hessian there (``None`` if it could not be
        computed), the size of the Newton step that is left (largest component, log
        scale) and the decrease of the objective it promises (gᵀH⁻¹g / 2); both ``inf``
        when unknown (the Hessian is not positive definite).
        """
        exact = self._derivative_order >= 2
        value, gradient, hessian = self._evaluate(theta, data, order=2)
        hessian_at = theta
        max_steps = 10
        for i in range(max_steps + 1):
            if np.any(np.abs(theta) >= LOG_BOUND - 1e-6):
                return theta, None, np.inf, np.inf
            # A finite-difference Hessian barely changes near the optimum: recompute it only
            # after a long move (a closed-form one comes with every evaluation).
            if not exact and np.max(np.abs(theta - hessian_at)) > 1e-3:
                hessian, hessian_at = self._evaluate(theta, data, order=2)[2], theta
            assert gradient is not None and hessian is not None
            if not np.all(np.isfinite(hessian)):
                return theta, None, np.inf, np.inf
            try:
                np.linalg.cholesky(hessian)
            except np.linalg.LinAlgError:
                return theta, hessian, np.inf, np.inf
            step = np.linalg.solve(hessian, gradient)
            size = float(np.max(np.abs(step)))
            decrement = float(gradient @ step) / 2
            noise = DECREMENT_TOLERANCE * max(1.0, abs(value))
            if size <= STEP_TOLERANCE or decrement <= noise or i == max_steps:
                return theta, hessian, size, decrement
            for _halving in range(30):
                candidate = np.clip(theta - step, -LOG_BOUND, LOG_BOUND)
                c_value, c_gradient, c_hessian = self._evaluate(
                    candidate, data, order=2 if exact else 1
                )
                if c_value <= value + noise:  # near the optimum, trust Newton over rounding
                    theta, value, gradient = candidate, c_value, c_gradient
                    if exact:
                        hessian = c_hessian
                    break
                step = step / 2
            else:  # no descent along the Newton direction: numerical noise dominates
                return theta, hessian, size, decrement
        raise AssertionError("unreachable")  # pragma: no cover

    # -- data ---------------------------------------------------------------------------------
    def _prepare(self, summary: pd.DataFrame) -> FitData:
        columns = validate_summary(summary, self._columns, owner=type(self).__name__)
        columns = self._select(columns, summary)
        patterns, counts = _unique_rows(np.column_stack([columns[c] for c in self._columns]))
        original = {c: patterns[:, i].copy() for i, c in enumerate(self._columns)}
        scaled, units = self._rescale(original)
        levels, index = np.unique(original["frequency"], return_inverse=True)
        for cols in (original, scaled):
            cols["_x_levels"], cols["_x_index"] = levels, index
        return FitData(original, scaled, counts.astype(float), units)

    def _select(
        self, columns: dict[str, np.ndarray], summary: pd.DataFrame
    ) -> dict[str, np.ndarray]:
        """The rows the model learns from: all, once there is a repeat purchase to learn from."""
        if not np.any(columns["frequency"] > 0):
            raise DataValidationError(
                f"Every customer in the summary given to {type(self).__name__} has frequency 0 "
                f"({len(summary)} customers, no repeat purchases), so purchase rates and "
                "drop-out cannot be estimated. Use a longer observation window or more customers."
            )
        return columns

    def _rescale(self, columns: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Time rescaled so the longest T is 1; ``units`` for the time parameters."""
        t_max = float(np.max(columns["T"]))
        scale = t_max if t_max > 0 else 1.0
        scaled = dict(columns)
        scaled["recency"] = columns["recency"] / scale
        scaled["T"] = columns["T"] / scale
        units = np.array([scale if p in self._time_params else 1.0 for p in self._param_names])
        return scaled, units

    _time_params: ClassVar[tuple[str, ...]] = ()

    def _initial_theta(self, data: FitData) -> np.ndarray:
        if self.initial_params is None:
            return np.zeros(len(self._param_names))
        given = dict(self.initial_params)
        missing = [p for p in self._param_names if p not in given]
        if missing:
            raise ConfigError(
                f"The 'initial_params' parameter of {type(self).__name__} must give every "
                f"parameter ({', '.join(self._param_names)}); missing: {', '.join(missing)}."
            )
        values = np.array([float(given[p]) for p in self._param_names])
        if not np.all(np.isfinite(values)) or np.any(values <= 0):
            raise ConfigError(
                f"The 'initial_params' parameter of {type(self).__name__} must hold positive "
                f"numbers. Got {dict(zip(self._param_names, values, strict=True))} instead."
            )
        return np.clip(np.log(values / data.units), -LOG_BOUND + 1, LOG_BOUND - 1)

    def _loglik(
        self,
        params: np.ndarray,
        columns: dict[str, np.ndarray],
        weights: np.ndarray,
        *,
        order: int,
    ) -> tuple[float, np.ndarray | None, np.ndarray | None]:
        """The log-likelihood summed over patterns (weighted), and up to ``order`` its derivatives.

        Derivatives are with respect to the natural parameters: gradient (k,), Hessian
        (k, k); ``None`` when not asked for (``order`` never exceeds ``_derivative_order``).
        ``columns`` also holds ``_x_levels`` (the distinct frequencies) and ``_x_index``
        (each pattern's level), so terms that depend on x alone are computed once per level.
        """
        raise NotImplementedError

    # -- checks -------------------------------------------------------------------------------
    def _check_constructor(self) -> None:
        name = type(self).__name__
        pen = self.penalizer
        if (
            isinstance(pen, bool)
            or not isinstance(pen, int | float)
            or not (math.isfinite(pen) and pen >= 0)
        ):
            raise ConfigError(
                f"The 'penalizer' parameter of {name} must be a number >= 0. Got {pen!r} instead."
            )
        it = self.max_iter
        if isinstance(it, bool) or not isinstance(it, int) or it < 1:
            raise ConfigError(
                f"The 'max_iter' parameter of {name} must be an integer >= 1. Got {it!r} instead."
            )

    def _check_fitted(self) -> None:
        if not hasattr(self, "params_"):
            name = type(self).__name__
            raise NotFittedError(
                f"This {name} is not fitted yet. Call `{name}().fit(summary)` first."
            )

    def _param(self, *names: str) -> list[float]:
        self._check_fitted()
        return [float(self.params_[n]) for n in names]


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a 2-D float array and how often each occurs (NaN rows kept apart)."""
    if len(rows) == 0:
        return rows, np.zeros(0, dtype=np.int64)
    order = np.lexsort(rows.T[::-1])
    ordered = rows[order]
    changed = np.any(ordered[1:] != ordered[:-1], axis=1)
    starts = np.concatenate([[0], np.flatnonzero(changed) + 1])
    counts = np.diff(np.concatenate([starts, [len(rows)]]))
    return ordered[starts], counts


# -- validation at the edge --------------------------------------------------------------------
def validate_summary(
    summary: pd.DataFrame, required: tuple[str, ...], *, owner: str
) -> dict[str, np.ndarray]:
    """Check an RFM summary and return its columns as float arrays.

    Raises ``DataValidationError`` naming the column, the first offending row and its value.
    Rules: every required column present and numeric without NaN; ``frequency`` whole and
    >= 0; ``recency`` and ``T`` >= 0 with ``recency <= T``; ``recency == 0`` when
    ``frequency == 0``; at least one row.  ``monetary_value`` is checked by the spend model.
    """
    if not isinstance(summary, pd.DataFrame):
        raise DataValidationError(
            f"{owner} needs a pandas DataFrame summary (e.g. from kamlib.clv.rfm_summary). "
            f"Got {type(summary).__name__} instead."
        )
    require_columns(
        summary, required, f"the summary given to {owner}", found=True,
        fix="Build the summary with kamlib.clv.rfm_summary(...) or rename the columns.",
    )  # fmt: skip
    if len(summary) == 0:
        raise DataValidationError(
            f"The summary given to {owner} has no rows: there are no customers to learn from. "
            "Check the observation window and the orders."
        )
    columns: dict[str, np.ndarray] = {}
    for col in required:
        columns[col] = _numeric(summary, col, owner)
    if "frequency" in columns:
        _check_rfm(summary, columns, owner)
    return columns


def _numeric(summary: pd.DataFrame, col: str, owner: str) -> np.ndarray:
    series = summary[col]
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
        arr = np.asarray(series.to_numpy(), dtype=float)  # the common case, no copy checks
    else:
        values = pd.to_numeric(series, errors="coerce")
        bad = values.isna() & series.notna()
        if bad.any():
            row = bad.idxmax()
            raise DataValidationError(
                f"Column {col!r} of the summary given to {owner} has {show(series[row])} at row "
                f"{show(row)}: expected a number."
            )
        arr = values.to_numpy(dtype=float, na_value=np.nan)
    if col != "monetary_value":
        nan = ~np.isfinite(arr)
        if nan.any():
            i = int(np.argmax(nan))
            raise DataValidationError(
                f"Column {col!r} of the summary given to {owner} has {show(arr[i])} at row "
                f"{show(summary.index[i])}: expected a finite number. Drop or fix that row."
            )
    return arr


def _check_rfm(summary: pd.DataFrame, columns: dict[str, np.ndarray], owner: str) -> None:
    x = columns["frequency"]
    rules: list[tuple[np.ndarray, str, str]] = [
        (
            (x < 0) | (x != np.round(x)),
            "frequency",
            "expected a whole number >= 0 (the count of repeat purchases)",
        )
    ]
    if "recency" in columns:
        t_x, age = columns["recency"], columns["T"]
        rules += [
            (t_x < 0, "recency", "expected a number >= 0 (time from first to last purchase)"),
            (age < 0, "T", "expected a number >= 0 (time from first purchase to the end)"),
            (
                t_x > age * (1 + 1e-12) + 1e-12,
                "recency",
                "recency is larger than T there, which cannot be (the last purchase lies after "
                "the end of the observation window)",
            ),
            (
                (x == 0) & (t_x != 0),
                "recency",
                "recency must be 0 when frequency is 0 (no repeat purchase)",
            ),
        ]
    for mask, col, expected in rules:
        if mask.any():
            i = int(np.argmax(mask))
            others = int(mask.sum()) - 1
            more = f" (and {others} more row{'s' if others != 1 else ''})" if others else ""
            context = ""
            if col == "recency" and "T" in columns:
                context = f" (T is {show(columns['T'][i])})"
            raise DataValidationError(
                f"Column {col!r} of the summary given to {owner} has {show(columns[col][i])} at "
                f"row {show(summary.index[i])}{context}{more}: {expected}. Rebuild the summary with "
                "kamlib.clv.rfm_summary(...) or fix those rows."
            )


def show(value: Any) -> str:
    """A value as a message shows it: plain numbers (``-1``, ``1.5``, ``nan``), quoted text."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value)


def check_history(
    frequency: Any, recency: Any, T: Any, *, owner: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Broadcast prediction inputs to float arrays and check them like a summary."""
    x, t_x, age = np.broadcast_arrays(
        np.asarray(frequency, dtype=float),
        np.asarray(recency, dtype=float),
        np.asarray(T, dtype=float),
    )
    frame = pd.DataFrame({"frequency": x.ravel(), "recency": t_x.ravel(), "T": age.ravel()})
    if len(frame):
        validate_summary(frame, ("frequency", "recency", "T"), owner=owner)
    return x, t_x, age


def check_horizon(t: Any, *, owner: str) -> np.ndarray:
    """The prediction horizon ``t`` as a float array; it must be finite and >= 0."""
    horizon = np.asarray(t, dtype=float)
    if not np.all(np.isfinite(horizon) & (horizon >= 0)):
        bad = horizon[~(np.isfinite(horizon) & (horizon >= 0))].ravel()[0]
        raise DataValidationError(
            f"The horizon t given to {owner} must be a time >= 0 (in the summary's unit). "
            f"Got {show(bad)} instead."
        )
    return horizon


def wrap_like(values: np.ndarray, *inputs: Any, name: str | None = None) -> Any:
    """Return ``values`` as a Series when an input was one (same index), else as given."""
    for item in inputs:
        if isinstance(item, pd.Series) and np.ndim(values) == 1 and len(item) == len(values):
            return pd.Series(values, index=item.index, name=name)
    if np.ndim(values) == 0:
        return float(values)
    return values
