"""Who are our key accounts?  Composite scoring (综合积分法), tiers, weights, history, validation.

The rules come from the ``scoring`` section of the methodology file
(:mod:`kamlib.methodology`); the inputs are account feature frames (one row per account, as
from :func:`kamlib.features.account_features`).  Everything here is pure: frames in,
frames and small result objects out.

Scoring
    :func:`score_accounts` → :class:`ScoreResult` (``.scores``, ``.explanations``,
    ``.to_frame()``, ``.summary()``); :func:`indicator_points` (band points before
    weighting).
Weights
    :func:`ahp_weights` (Saaty's eigenvector method, consistency ratio),
    :func:`entropy_weights` (entropy weight method), :func:`data_weights` (weights implied
    by how well the indicators predict next year's value).
History
    :func:`score_history` (scores and tiers at many dates), :func:`tier_migration`
    (transition matrix, risers and fallers with the indicators that drove them).
Indicators that are off
    :func:`indicators_off` (an indicator whose ``requires:`` table the data lacks: dropped,
    the other weights re-normalised), :func:`off_notes` (the sentences of
    ``ScoreResult.notes``).
Validation
    :func:`validate_scores` (value captured per tier, lift, Gini vs a baseline ranking),
    :func:`ranking_gini`.

Example
-------
>>> from kamlib.scoring import score_accounts
>>> result = score_accounts(features)             # doctest: +SKIP
>>> result.to_frame()                             # account_id, score, tier, contributions
>>> result.explain("A100134")                     # why this account scored what it did
"""

from kamlib.methodology import WeightsNormalisedWarning
from kamlib.methodology.ahp import RANDOM_INDEX, AhpResult, ahp_weights
from kamlib.scoring.history import MigrationResult, score_history, tier_migration
from kamlib.scoring.scorecard import (
    ScoreResult,
    indicator_points,
    indicators_off,
    off_notes,
    score_accounts,
)
from kamlib.scoring.validation import ValidationResult, ranking_gini, validate_scores
from kamlib.scoring.weights import (
    ConstantCriterionWarning,
    DataWeightsResult,
    data_weights,
    entropy_weights,
)

__all__ = [
    "RANDOM_INDEX",
    "AhpResult",
    "ConstantCriterionWarning",
    "DataWeightsResult",
    "MigrationResult",
    "ScoreResult",
    "ValidationResult",
    "WeightsNormalisedWarning",
    "ahp_weights",
    "data_weights",
    "entropy_weights",
    "indicator_points",
    "indicators_off",
    "off_notes",
    "ranking_gini",
    "score_accounts",
    "score_history",
    "tier_migration",
    "validate_scores",
]
