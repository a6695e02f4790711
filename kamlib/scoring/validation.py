"""Does the score work?  Back-test a scoring against the value of the following year."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kamlib.errors import DataValidationError
from kamlib.frames import require_columns
from kamlib.methodology import Methodology, ScoringModel
from kamlib.scoring.scorecard import ScoreResult, resolve_model
from kamlib.scoring.weights import _target


def ranking_gini(score: Any, value: Any) -> float:
    """Gini coefficient of the ranking of ``value`` by ``score``.

    Accounts are sorted by ``score``, highest first; the curve of the cumulative share of
    value against the cumulative share of accounts (the gains or Lorenz curve) is drawn
    through the groups of equal score — tied accounts are one step, the same as averaging
    over every order of the ties — and the Gini is ``2 × (area under the curve) − 1``.  A
    ranking by the value itself gives the ordinary Gini coefficient of the values
    (Σᵢ Σⱼ |xᵢ − xⱼ| / (2 n² x̄)); a ranking that tells nothing gives 0; a ranking that puts
    the value last gives a negative number.

    Parameters
    ----------
    score
        Ranking key per account (array-like; larger ranks higher).
    value
        Value per account (array-like, same length; its sum must be positive).

    Returns
    -------
    float
    """
    s = np.asarray(score, dtype=float)
    v = np.asarray(value, dtype=float)
    if s.shape != v.shape or s.ndim != 1:
        raise DataValidationError("ranking_gini needs two one-dimensional arrays of equal length.")
    if len(v) == 0 or not np.isfinite(v).all():
        raise DataValidationError("ranking_gini needs finite values for at least one account.")
    total = math.fsum(v)
    if total <= 0:
        raise DataValidationError(
            f"The values sum to {total:g}; the Gini of a ranking needs a positive total."
        )
    key = np.where(np.isnan(s), -np.inf, s)
    groups = pd.DataFrame({"key": key, "v": v}).groupby("key", sort=True)["v"].agg(["size", "sum"])
    groups = groups.iloc[::-1]  # highest score first
    x = np.concatenate([[0.0], np.cumsum(groups["size"].to_numpy()) / len(v)])
    y = np.concatenate([[0.0], np.cumsum(groups["sum"].to_numpy()) / total])
    area = float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))
    return 2 * area - 1


@dataclass(frozen=True, eq=False)
class ValidationResult:
    """How much of the next year's value each tier captured (see :func:`validate_scores`).

    Attributes
    ----------
    by_tier
        One row per tier, highest first: ``tier, label, accounts, account_share, value,
        value_share, lift`` (value share ÷ account share; NaN for an empty tier),
        ``cumulative_account_share, cumulative_value_share``.
    top_tier, lift_top_tier
        The highest tier that has accounts, and its lift.
    gini_score, gini_baseline, gini_perfect
        Gini of ranking by the score, by the baseline (e.g. last year's revenue; NaN when
        no baseline was given) and by the next-year value itself (the best possible).
    n_accounts, total_value
        Scored accounts and their next-year value.
    unscored_accounts, unscored_value
        Accounts in ``next_year_value`` that were not scored (e.g. new customers) and their
        value — not part of the shares above.
    """

    by_tier: pd.DataFrame
    top_tier: str
    lift_top_tier: float
    gini_score: float
    gini_baseline: float
    gini_perfect: float
    n_accounts: int
    total_value: float
    unscored_accounts: int
    unscored_value: float

    def to_frame(self) -> pd.DataFrame:
        """The per-tier table (``by_tier``)."""
        return self.by_tier.copy()

    def summary(self) -> pd.Series:
        """Headline figures, including the normalised Ginis (÷ ``gini_perfect``)."""
        perfect = self.gini_perfect
        return pd.Series(
            {
                "n_accounts": self.n_accounts,
                "total_value": self.total_value,
                "top_tier": self.top_tier,
                "lift_top_tier": self.lift_top_tier,
                "gini_score": self.gini_score,
                "gini_baseline": self.gini_baseline,
                "gini_perfect": perfect,
                "normalised_gini_score": self.gini_score / perfect if perfect > 0 else np.nan,
                "normalised_gini_baseline": (
                    self.gini_baseline / perfect if perfect > 0 else np.nan
                ),
                "unscored_accounts": self.unscored_accounts,
                "unscored_value": self.unscored_value,
            },
            dtype=object,
        )


def validate_scores(
    scores: ScoreResult | pd.DataFrame,
    next_year_value: pd.Series,
    *,
    baseline: pd.Series | None = None,
    methodology: Methodology | ScoringModel | None = None,
    absent_as_zero: bool = True,
) -> ValidationResult:
    """Back-test a scoring: value captured per tier, lift of the top tier, Gini vs a baseline.

    Score as of a date D, then measure each account's value in the 12 months after D.  A
    good score concentrates that value in the top tiers (lift well above 1) and ranks
    accounts at least as well as simply ranking them by last year's revenue (compare
    ``gini_score`` with ``gini_baseline``; both are bounded by ``gini_perfect``).

    Parameters
    ----------
    scores
        A :class:`ScoreResult` or its ``.scores`` frame (``account_id, score, tier``).
    next_year_value
        Value per account in the following 12 months: a Series indexed by ``account_id``.
    baseline
        Ranking to compare with, e.g. ``features.set_index("account_id")["revenue_12m"]``
        (an account without a baseline value ranks last).
    methodology
        For the tier order and labels when ``scores`` is a frame (default: kamlib's).
    absent_as_zero
        A scored account missing from ``next_year_value`` bought nothing (value 0); with
        ``False`` that is an error.

    Returns
    -------
    ValidationResult
    """
    if isinstance(scores, ScoreResult):
        model = scores.model
        frame = scores.scores
    else:
        model = resolve_model(methodology)
        frame = scores
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(
            "The 'scores' parameter of validate_scores must be a ScoreResult or a DataFrame. "
            f"Got {type(frame).__name__} instead."
        )
    require_columns(frame, ["account_id", "score", "tier"], "the scores frame")
    ids = frame["account_id"].astype(str).to_numpy(dtype=object)
    value = _target(next_year_value, ids, who="validate_scores", what="next_year_value",
                    absent_as_zero=absent_as_zero)  # fmt: skip
    total = math.fsum(value)
    if total <= 0:
        raise DataValidationError(
            f"The scored accounts' next-year value sums to {total:g}; validation needs a "
            "positive total."
        )
    unknown = set(frame["tier"].astype(str)) - set(model.tier_keys)
    if unknown:
        raise DataValidationError(
            f"The scores name tier(s) {sorted(unknown)} that the methodology does not define "
            f"({', '.join(model.tier_keys)})."
        )
    nv = pd.to_numeric(next_year_value, errors="coerce")
    unscored = ~nv.index.astype(str).isin(set(ids))
    n = len(frame)
    tiers = frame["tier"].astype(str).to_numpy()
    rows = []
    cum_a = cum_v = 0.0
    for tier in model.tiers:
        sel = tiers == tier.key
        a_share = sel.sum() / n
        v = math.fsum(value[sel])
        v_share = v / total
        cum_a += a_share
        cum_v += v_share
        rows.append(
            {
                "tier": tier.key,
                "label": tier.label_en,
                "accounts": int(sel.sum()),
                "account_share": a_share,
                "value": v,
                "value_share": v_share,
                "lift": v_share / a_share if a_share > 0 else np.nan,
                "cumulative_account_share": cum_a,
                "cumulative_value_share": cum_v,
            }
        )
    by_tier = pd.DataFrame(rows)
    top = by_tier[by_tier["accounts"] > 0].iloc[0]
    score = frame["score"].to_numpy(dtype=float)
    if baseline is not None:
        if not isinstance(baseline, pd.Series):
            raise DataValidationError(
                "The 'baseline' parameter of validate_scores must be a Series indexed by "
                f"account_id. Got {type(baseline).__name__} instead."
            )
        b = pd.to_numeric(baseline, errors="coerce")
        b.index = b.index.astype(str)
        base = b.reindex(pd.Index(ids)).to_numpy(dtype=float, na_value=np.nan)
        gini_base = ranking_gini(np.where(np.isnan(base), -np.inf, base), value)
    else:
        gini_base = float("nan")
    return ValidationResult(
        by_tier=by_tier,
        top_tier=str(top["tier"]),
        lift_top_tier=float(top["lift"]),
        gini_score=ranking_gini(score, value),
        gini_baseline=gini_base,
        gini_perfect=ranking_gini(value, value),
        n_accounts=n,
        total_value=total,
        unscored_accounts=int(unscored.sum()),
        unscored_value=float(nv[unscored].sum()),
    )
