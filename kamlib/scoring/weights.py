"""Defensible weights: AHP pairwise comparisons, the entropy weight method, and weights
implied by how well each indicator predicts next year's value.

References
----------
- Saaty, T. L. (1980). *The Analytic Hierarchy Process*. McGraw-Hill, New York — the
  principal-eigenvector priorities, the consistency index CI = (λmax − n) / (n − 1), the
  random index RI (average CI of random reciprocal matrices on the 1–9 scale; the table
  below) and the acceptance rule CR = CI / RI < 0.1.
- Saaty, T. L. (1990). How to make a decision: the Analytic Hierarchy Process. *European
  Journal of Operational Research* 48, 9–26 — the worked example used in the tests.
- Hwang, C.-L., Yoon, K. (1981). *Multiple Attribute Decision Making*. Springer (Lecture
  Notes in Economics and Mathematical Systems 186), and Zeleny, M. (1982). *Multiple
  Criteria Decision Making*. McGraw-Hill — the entropy of the shares p_ij = x_ij / Σ_i x_ij.
- Zou, Z., Yun, Y., Sun, J. (2006). Entropy method for determination of weight of
  evaluating indicators in fuzzy synthetic evaluation for water quality assessment.
  *Journal of Environmental Sciences* 18(5), 1020–1023 — the entropy weight method as
  implemented in :func:`entropy_weights`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from kamlib.errors import ConfigError, DataValidationError, KamlibWarning
from kamlib.methodology import AHP_MAX_CONSISTENCY_RATIO, Methodology, ScoringModel

#: Saaty's random index RI by matrix order n (Saaty 1980, the table reproduced in Saaty 1990
#: and most AHP texts).  Orders above 10 need an explicit ``random_index``.
RANDOM_INDEX: dict[int, float] = {
    1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41, 9: 1.45, 10: 1.49,
}  # fmt: skip

#: a[j, i] · a[i, j] may differ from 1 by this much (people write 0.33 for 1/3)
RECIPROCAL_TOLERANCE = 0.02


class ConstantCriterionWarning(KamlibWarning):
    """A criterion was constant, so the entropy weight method gave it weight 0."""


# --- AHP --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class AhpResult:
    """Priorities and consistency of a pairwise-comparison matrix (see :func:`ahp_weights`).

    Attributes
    ----------
    weights
        Priority of each criterion (the normalised principal eigenvector), summing to 1.
    lambda_max
        The principal eigenvalue λmax (= n for a perfectly consistent matrix).
    consistency_index
        CI = (λmax − n) / (n − 1) (0 for n ≤ 2).
    random_index
        RI used (Saaty 1980 table, or the value given).
    consistency_ratio
        CR = CI / RI (0 for n ≤ 2); Saaty accepts CR < 0.1.
    matrix
        The comparison matrix with the criteria as index and columns.
    """

    weights: pd.Series
    lambda_max: float
    consistency_index: float
    random_index: float
    consistency_ratio: float
    matrix: pd.DataFrame

    @property
    def is_consistent(self) -> bool:
        return self.consistency_ratio < AHP_MAX_CONSISTENCY_RATIO

    def to_frame(self) -> pd.DataFrame:
        """``criterion, weight``, highest weight first."""
        out = self.weights.sort_values(ascending=False, kind="stable").rename("weight")
        return out.rename_axis("criterion").reset_index()

    def summary(self) -> pd.Series:
        """``n, lambda_max, consistency_index, random_index, consistency_ratio, consistent``."""
        return pd.Series(
            {
                "n": len(self.weights),
                "lambda_max": self.lambda_max,
                "consistency_index": self.consistency_index,
                "random_index": self.random_index,
                "consistency_ratio": self.consistency_ratio,
                "consistent": self.is_consistent,
            },
            dtype=object,
        )


def ahp_weights(
    matrix: Any,
    labels: Sequence[str] | None = None,
    *,
    allow_inconsistent: bool = False,
    random_index: float | None = None,
) -> AhpResult:
    """Weights from an AHP pairwise-comparison matrix (Saaty's eigenvector method).

    ``matrix[i][j]`` says how much more important criterion i is than criterion j on
    Saaty's 1–9 scale (1 equal, 3 moderate, 5 strong, 7 very strong, 9 extreme; the
    reciprocals for the reverse).  The weights are the principal (Perron) eigenvector of
    the matrix, normalised to sum to 1; λmax is its eigenvalue, CI = (λmax − n)/(n − 1),
    and CR = CI / RI with Saaty's random index RI (Saaty 1980, *The Analytic Hierarchy
    Process*, table in :data:`RANDOM_INDEX`, orders 1–10).

    Parameters
    ----------
    matrix
        Square, positive, reciprocal (``a[j, i] = 1 / a[i, j]``, ones on the diagonal):
        nested lists, a NumPy array or a DataFrame (whose index labels the criteria).
    labels
        Criterion names in row order (default: the DataFrame's index, or 0 … n−1).
    allow_inconsistent
        Return the weights even when CR ≥ 0.1 (by default that is refused).
    random_index
        Override RI (needed for more than 10 criteria, where the table stops).

    Returns
    -------
    AhpResult
        ``.weights`` (Series indexed by label), ``.lambda_max``, ``.consistency_index``,
        ``.consistency_ratio``.

    Raises
    ------
    ConfigError
        Not square, a non-positive or non-finite entry, a diagonal other than 1, a
        non-reciprocal pair, CR ≥ 0.1 (unless ``allow_inconsistent``), more than 10
        criteria without ``random_index``.

    Examples
    --------
    >>> r = ahp_weights([[1, 3], [1 / 3, 1]], labels=["revenue", "growth"])
    >>> r.weights.round(2).tolist()
    [0.75, 0.25]
    """
    if labels is None and isinstance(matrix, pd.DataFrame):
        if list(matrix.index) != list(matrix.columns):
            raise ConfigError(
                "The AHP matrix's index and columns must name the same criteria in the same order."
            )
        labels = [str(c) for c in matrix.index]
    try:
        a = np.asarray(matrix, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"The AHP matrix must hold numbers only (rows of equal length). Got {matrix!r}."
        ) from exc
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ConfigError(f"The AHP matrix must be square (n × n). Got shape {a.shape} instead.")
    n = a.shape[0]
    names = [str(x) for x in (labels if labels is not None else range(n))]
    if len(names) != n:
        raise ConfigError(f"The AHP matrix has {n} rows but {len(names)} labels were given.")
    if len(set(names)) != n:
        raise ConfigError("The AHP labels must be unique.")

    def pair(i: int, j: int) -> str:
        return f"[{i}][{j}] ('{names[i]}' vs '{names[j]}')"

    for i in range(n):
        for j in range(n):
            if not math.isfinite(a[i, j]) or a[i, j] <= 0:
                raise ConfigError(
                    f"AHP matrix entry {pair(i, j)} is {a[i, j]:g}; every judgement must be a "
                    "positive number (1–9 or a reciprocal such as 1/3)."
                )
    for i in range(n):
        if abs(a[i, i] - 1) > 1e-9:
            raise ConfigError(
                f"AHP matrix entry {pair(i, i)} is {a[i, i]:g}; the diagonal must be 1 (a "
                "criterion is as important as itself)."
            )
    for i in range(n):
        for j in range(i + 1, n):
            if abs(a[i, j] * a[j, i] - 1) > RECIPROCAL_TOLERANCE:
                raise ConfigError(
                    f"AHP matrix entry {pair(j, i)} is {a[j, i]:.4g} but 1/{pair(i, j)} is "
                    f"{1 / a[i, j]:.4g}; the matrix must be reciprocal: a[j][i] = 1 / a[i][j]."
                )

    values, vectors = np.linalg.eig(a)
    k = int(np.argmax(values.real))
    lambda_max = float(values[k].real)
    vec = vectors[:, k].real
    w = vec / vec.sum()
    if not np.all(w > 0):  # cannot happen for a positive matrix (Perron–Frobenius)
        raise ConfigError("The AHP matrix has no positive principal eigenvector.")
    ci = (lambda_max - n) / (n - 1) if n > 1 else 0.0
    ci = 0.0 if abs(ci) < 1e-12 else ci
    if random_index is None:
        if n not in RANDOM_INDEX:
            raise ConfigError(
                f"Saaty's random-index table covers 1–10 criteria; this matrix compares {n}. "
                "Group the criteria into a hierarchy of at most 10, or give random_index "
                "explicitly."
            )
        ri = RANDOM_INDEX[n]
    else:
        ri = float(random_index)
        if not ri > 0 and n > 2:
            raise ConfigError(f"random_index must be positive. Got {random_index!r} instead.")
    cr = ci / ri if (n > 2 and ri > 0) else 0.0
    result = AhpResult(
        weights=pd.Series(w, index=pd.Index(names, name="criterion"), name="weight"),
        lambda_max=lambda_max,
        consistency_index=ci,
        random_index=ri,
        consistency_ratio=cr,
        matrix=pd.DataFrame(a, index=names, columns=names),
    )
    if cr >= AHP_MAX_CONSISTENCY_RATIO and not allow_inconsistent:
        ratio = a * w[None, :] / w[:, None]  # judgement ÷ ratio implied by the weights
        dev = np.maximum(ratio, 1 / ratio)
        i, j = np.unravel_index(int(np.argmax(dev)), dev.shape)
        i, j = (int(i), int(j)) if i < j else (int(j), int(i))
        raise ConfigError(
            f"The AHP judgements are too inconsistent: consistency ratio {cr:.3f} ≥ 0.1 "
            f"(λmax {lambda_max:.3f}, CI {ci:.3f}, RI {ri:.2f} for n = {n}). Revise them — "
            f"the judgement that contradicts the others most is {pair(i, j)} = {a[i, j]:.4g}, "
            f"where the resulting weights imply {w[i] / w[j]:.3g} — or accept it explicitly "
            "(allow_inconsistent)."
        )
    return result


# --- entropy weight method -------------------------------------------------------------------


def entropy_weights(
    frame: pd.DataFrame, *, normalise: Literal["proportion", "minmax"] = "proportion"
) -> pd.Series:
    """Weights from the dispersion of the data: the entropy weight method (熵权法).

    For each criterion j (a column) over its m known values x_ij (non-negative, larger is
    better): the shares p_ij = x_ij / Σ_i x_ij, the entropy e_j = −Σ_i p_ij ln p_ij / ln m
    (0 ln 0 = 0), the divergence d_j = 1 − e_j, and the weight w_j = d_j / Σ_j d_j (Zeleny
    1982; Hwang & Yoon 1981; Zou, Yun & Sun 2006, J. Environ. Sci. 18(5)).  A criterion on
    which the accounts differ more, relative to its level, gets more weight: one that barely
    varies (29, 29, 28.9, 29) gets almost none, and a constant one gets exactly 0 (with a
    :class:`ConstantCriterionWarning` saying so).

    Values the method cannot take as they are
        - **zeros** are shares of 0 and add nothing to the entropy (0 ln 0 = 0); a column
          of zeros only is constant (weight 0);
        - **negative values** are refused (a share of a total cannot be negative): translate
          the column first, e.g. score it through band points (always 0–100, as
          :func:`kamlib.scoring.score_accounts` does for ``method: entropy``), or ask for
          ``normalise="minmax"``;
        - **cost-type criteria** (smaller is better, e.g. days since the last order) must be
          turned into benefits first — band points do that; by hand, ``x.max() - x``.

    ``normalise="minmax"`` is the variant that first rescales each column to
    r = (x − min) / (max − min) and takes shares of r: it accepts negative values, but it
    judges dispersion relative to the range only, so a near-constant criterion weighs about
    as much as one that varies a lot (kamlib's default before issue #17).

    Missing values are left out per column (m is that column's count of known values).

    Parameters
    ----------
    frame
        Rows = alternatives (accounts), columns = criteria, numeric, non-negative, larger is
        better.
    normalise
        ``proportion`` (default: the standard method, shares of the values) or ``minmax``.

    Returns
    -------
    pd.Series
        Weight per column, summing to 1, named ``weight``.

    Raises
    ------
    DataValidationError
        A non-numeric or all-missing column, negative values with ``proportion``, or every
        criterion constant.
    """
    if not isinstance(frame, pd.DataFrame) or frame.shape[1] == 0:
        raise DataValidationError(
            "The 'frame' parameter of entropy_weights must be a DataFrame with one numeric "
            f"column per criterion. Got {type(frame).__name__} instead."
        )
    if normalise not in ("proportion", "minmax"):
        raise ConfigError(
            f"The 'normalise' parameter of entropy_weights must be 'proportion' or 'minmax'. "
            f"Got {normalise!r} instead."
        )
    divergence: dict[str, float] = {}
    constant: list[str] = []
    for col in frame.columns:
        given = frame[col]
        if pd.api.types.is_bool_dtype(given):
            given = given.astype("Float64")
        converted = pd.to_numeric(given, errors="coerce")
        bad = converted.isna() & given.notna()
        if bad.any():
            raise DataValidationError(
                f"Column '{col}' holds {given[bad].iloc[0]!r}: the entropy weight method needs "
                "numbers."
            )
        x = converted.to_numpy(dtype=float, na_value=np.nan)
        x = x[~np.isnan(x)]
        if len(x) == 0:
            raise DataValidationError(
                f"Column '{col}' has no values; the entropy weight method needs at least two. "
                "Drop the column or fix the data."
            )
        if np.isinf(x).any():
            raise DataValidationError(f"Column '{col}' holds an infinite value.")
        if normalise == "proportion" and (x < 0).any():
            raise DataValidationError(
                f"Column '{col}' has negative values (min {x.min():g}); the entropy weight "
                "method takes each value's share of the column total, so it needs values ≥ 0 "
                "(benefit-oriented). Translate the column first (e.g. score it through band "
                "points) or pass normalise='minmax'."
            )
        lo, hi = float(x.min()), float(x.max())
        if len(x) < 2 or hi == lo or (normalise == "proportion" and hi == 0):
            constant.append(str(col))
            divergence[str(col)] = 0.0
            continue
        r = (x - lo) / (hi - lo) if normalise == "minmax" else x
        p = r / r.sum()
        nz = p[p > 0]
        e = float(-(nz * np.log(nz)).sum() / math.log(len(x)))
        divergence[str(col)] = max(0.0, 1.0 - e)
    d = pd.Series(divergence, name="weight", dtype=float)
    if d.sum() <= 0:
        raise DataValidationError(
            f"Every criterion is constant ({', '.join(map(str, frame.columns))}); the entropy "
            "weight method cannot tell them apart. Use manual or AHP weights."
        )
    if constant:
        warnings.warn(
            f"Criterion/criteria {', '.join(constant)} is/are constant over the data (one "
            "value, or one known value only); the entropy weight method gives it weight 0.",
            ConstantCriterionWarning,
            stacklevel=2,
        )
    out = d / d.sum()
    out.index = pd.Index(list(frame.columns), name="criterion")
    return out


# --- weights implied by next year's value -----------------------------------------------------


@dataclass(frozen=True, eq=False)
class DataWeightsResult:
    """Weights implied by the data, next to the configured ones (see :func:`data_weights`).

    Attributes
    ----------
    weights
        Implied weight per indicator (non-negative, sum 1).
    configured
        The methodology's weights (NaN for the entropy method).
    coefficients
        Non-negative regression coefficients (target units per point).
    intercept
        Intercept of that regression.
    r_squared
        R² of the non-negative fit.
    ols
        Unconstrained OLS (statsmodels) on the same design: ``coefficient, std_error,
        p_value`` per indicator (NaN for an indicator that is constant).
    ols_r_squared
        R² of the OLS fit.
    rank_correlation
        Spearman correlation of each indicator's points with the target.
    score_rank_correlation
        Spearman correlation with the target of the score under the configured weights
        (``configured``) and under the implied weights (``data``).
    n_accounts, scale
        Accounts used; the target scale (``rank``, ``log`` or ``value``).
    """

    weights: pd.Series
    configured: pd.Series
    coefficients: pd.Series
    intercept: float
    r_squared: float
    ols: pd.DataFrame
    ols_r_squared: float
    rank_correlation: pd.Series
    score_rank_correlation: pd.Series
    n_accounts: int
    scale: str

    def to_frame(self) -> pd.DataFrame:
        """``indicator, configured_weight, data_weight, coefficient, ols_coefficient,
        ols_std_error, ols_p_value, spearman``, one row per indicator."""
        out = pd.DataFrame(
            {
                "configured_weight": self.configured,
                "data_weight": self.weights,
                "coefficient": self.coefficients,
                "ols_coefficient": self.ols["coefficient"],
                "ols_std_error": self.ols["std_error"],
                "ols_p_value": self.ols["p_value"],
                "spearman": self.rank_correlation,
            }
        )
        return out.rename_axis("indicator").reset_index()

    def summary(self) -> pd.Series:
        """Fit statistics: accounts, scale, R² (non-negative and OLS), score correlations."""
        return pd.Series(
            {
                "n_accounts": self.n_accounts,
                "scale": self.scale,
                "r_squared": self.r_squared,
                "ols_r_squared": self.ols_r_squared,
                "spearman_configured_score": self.score_rank_correlation["configured"],
                "spearman_data_score": self.score_rank_correlation["data"],
            },
            dtype=object,
        )

    def to_methodology(self, *, decimals: int = 4, note: str = "") -> dict[str, Any]:
        """The ``scoring.weights`` section that records these weights (``method: data``)."""
        values = {k: round(float(v), decimals) for k, v in self.weights.items()}
        drift = round(1.0 - sum(values.values()), decimals)
        if drift:  # keep the written weights summing to 1 exactly at this precision
            top = max(values, key=values.__getitem__)
            values[top] = round(values[top] + drift, decimals)
        text = note or (
            f"fitted by kamlib.scoring.data_weights on {self.n_accounts} accounts, target "
            f"scale {self.scale}, R² {self.r_squared:.3f}"
        )
        return {"method": "data", "values": values, "note": text}


def _target(
    target: Any, account_id: np.ndarray, *, who: str, what: str, absent_as_zero: bool
) -> np.ndarray:
    if not isinstance(target, pd.Series):
        raise DataValidationError(
            f"The '{what}' parameter of {who} must be a pandas Series indexed by account_id. "
            f"Got {type(target).__name__} instead."
        )
    t = pd.to_numeric(target, errors="coerce")
    t.index = t.index.astype(str)
    if t.index.duplicated().any():
        raise DataValidationError(
            f"'{what}' has duplicate account_id {t.index[t.index.duplicated()][0]!r}."
        )
    bad = t.isna() & target.notna().to_numpy()
    if bad.any():
        raise DataValidationError(
            f"'{what}' holds non-numeric values, e.g. for {t.index[bad][0]!r}."
        )
    if t.isna().any():
        raise DataValidationError(
            f"'{what}' has no value for {int(t.isna().sum())} account(s), e.g. "
            f"{t.index[t.isna()][0]!r}. Give 0 to an account that bought nothing."
        )
    aligned = t.reindex(pd.Index(account_id.astype(str)))
    absent = aligned.isna()
    if absent.any() and not absent_as_zero:
        raise DataValidationError(
            f"'{what}' has no entry for {int(absent.sum())} scored account(s), e.g. "
            f"{aligned.index[absent][0]!r}. Add them, or pass absent_as_zero=True."
        )
    # an account absent from the target bought nothing in the period: value 0 by definition
    return np.where(absent.to_numpy(), 0.0, aligned.to_numpy(dtype=float, na_value=0.0))


def data_weights(
    features: pd.DataFrame,
    target: pd.Series,
    methodology: Methodology | ScoringModel | None = None,
    *,
    scale: Literal["rank", "log", "value"] = "rank",
    absent_as_zero: bool = True,
) -> DataWeightsResult:
    """Weights implied by how well each indicator's points predict next year's value.

    The next-year value y (on the ``scale`` chosen: ``rank`` — percentile rank 0–100, ties
    averaged, the default because revenue is heavily skewed; ``log`` — ln(1 + max(y, 0));
    ``value`` — as given) is regressed on the indicators' band points with *non-negative*
    least squares and a free intercept (scipy ``nnls`` on centred data):
    ``y ≈ a + Σ b_j · points_j, b_j ≥ 0``.  The implied weights are ``b / Σb``: the score
    they give is an increasing linear function of the fitted value, so it ranks accounts as
    the regression does.  Points excluded as missing are replaced by the indicator's mean
    points for the fit only.  Next to them: the unconstrained OLS fit (statsmodels) with
    standard errors and p-values, each indicator's Spearman correlation with y, and the
    Spearman correlation of the configured and implied scores with y.

    Fit on features as of a date D and the value of the 12 months after D; record the
    weights in the methodology file with ``method: data`` (:meth:`DataWeightsResult.to_methodology`).

    Parameters
    ----------
    features
        One row per account (as for :func:`score_accounts`).
    target
        Next-year value per account: a Series indexed by ``account_id``.  Accounts of the
        target that are not in ``features`` are ignored.
    methodology
        Methodology or ScoringModel (kamlib's default when ``None``).
    scale
        ``rank`` (default), ``log`` or ``value``.
    absent_as_zero
        An account missing from ``target`` bought nothing (value 0); with ``False`` that is
        an error.

    Returns
    -------
    DataWeightsResult
    """
    from scipy.optimize import nnls
    from scipy.stats import rankdata, spearmanr

    from kamlib.scoring.scorecard import _base_weights, _combine, _compute_points, resolve_model

    if scale not in ("rank", "log", "value"):
        raise ConfigError(
            f"The 'scale' parameter of data_weights must be 'rank', 'log' or 'value'. Got "
            f"{scale!r} instead."
        )
    model = resolve_model(methodology)
    pts = _compute_points(features, model, "data_weights")
    names = list(model.names)
    n, k = pts.points.shape
    if n < k + 2:
        raise DataValidationError(
            f"data_weights needs more accounts than indicators + 1 to fit; got {n} accounts "
            f"for {k} indicators."
        )
    y_raw = _target(target, pts.account_id, who="data_weights", what="target",
                    absent_as_zero=absent_as_zero)  # fmt: skip
    if np.ptp(y_raw) == 0:
        raise DataValidationError(
            f"The target is {y_raw[0]:g} for every one of the {n} accounts; there is nothing "
            "to predict, so data_weights cannot imply weights."
        )
    if scale == "rank":
        y = rankdata(y_raw, method="average") / n * 100.0
    elif scale == "log":
        y = np.log1p(np.maximum(y_raw, 0.0))
    else:
        y = y_raw.astype(float)
    x = pts.points.copy()
    usable = ~np.isnan(x).all(axis=0)
    means = np.array([np.nanmean(x[:, j]) if usable[j] else 0.0 for j in range(k)])
    x = np.where(np.isnan(x), means[None, :], x)  # mean points for the fit only
    xc = x - x.mean(axis=0)
    yc = y - y.mean()
    coef, _ = nnls(xc, yc)
    coef = np.where(usable, coef, 0.0)
    if coef.sum() <= 0:
        raise DataValidationError(
            "No indicator's points rise with next year's value (every non-negative "
            "coefficient is 0); data_weights cannot imply weights. Check the target."
        )
    intercept = float(y.mean() - x.mean(axis=0) @ coef)
    fitted = intercept + x @ coef
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1 - float(((y - fitted) ** 2).sum()) / ss_tot if ss_tot > 0 else float("nan")

    varying = xc.std(axis=0) > 0
    ols = pd.DataFrame(np.nan, index=names, columns=["coefficient", "std_error", "p_value"])
    ols_r2 = float("nan")
    if varying.any():
        import statsmodels.api as sm

        fit = sm.OLS(y, sm.add_constant(xc[:, varying], has_constant="add")).fit()
        cols = [nm for nm, v in zip(names, varying, strict=True) if v]
        ols.loc[cols, "coefficient"] = np.asarray(fit.params)[1:]
        ols.loc[cols, "std_error"] = np.asarray(fit.bse)[1:]
        ols.loc[cols, "p_value"] = np.asarray(fit.pvalues)[1:]
        ols_r2 = float(fit.rsquared)

    rho = {}
    for j, nm in enumerate(names):
        known = ~np.isnan(pts.points[:, j])
        col = pts.points[known, j]
        rho[nm] = (
            float(spearmanr(col, y_raw[known]).statistic)
            if known.sum() > 2 and np.ptp(col) > 0 and np.ptp(y_raw[known]) > 0
            else float("nan")
        )
    implied = coef / coef.sum()
    if model.weights.method == "entropy" or not model.weights.values:
        configured = pd.Series(np.nan, index=names)
        base, _ = _base_weights(model, pts, None)
    else:
        base = np.array([w for _, w in model.weights.values])
        configured = pd.Series(base, index=names)
    score_rho = {}
    for label, w in (("configured", base), ("data", implied)):
        _, contribution, _ = _combine(pts.points, w)
        s = contribution.sum(axis=1)
        score_rho[label] = (
            float(spearmanr(s, y_raw).statistic) if np.ptp(s) > 0 and np.ptp(y_raw) > 0 else np.nan
        )
    idx = pd.Index(names, name="indicator")
    return DataWeightsResult(
        weights=pd.Series(implied, index=idx, name="weight"),
        configured=configured.set_axis(idx).rename("weight"),
        coefficients=pd.Series(coef, index=idx, name="coefficient"),
        intercept=intercept,
        r_squared=r2,
        ols=ols.set_axis(idx),
        ols_r_squared=ols_r2,
        rank_correlation=pd.Series(rho, name="spearman").set_axis(idx),
        score_rank_correlation=pd.Series(score_rho, name="spearman"),
        n_accounts=n,
        scale=scale,
    )
