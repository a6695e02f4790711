"""Defensible weights: the entropy weight method, and weights implied by how well each
indicator predicts next year's value.  (AHP pairwise comparisons are pure maths used by the
methodology file: :mod:`kamlib.methodology.ahp`, re-exported by :mod:`kamlib.scoring`.)

References
----------
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
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from kamlib.errors import ConfigError, DataValidationError, KamlibWarning
from kamlib.methodology import Methodology, ScoringModel


class ConstantCriterionWarning(KamlibWarning):
    """A criterion was constant, so the entropy weight method gave it weight 0."""


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
    # every indicator, also one that is off for lack of its table (scoring drops it): it has
    # no value, so it gets weight 0 and to_methodology() still writes a complete section
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
