"""The composite points method (综合积分法): band points, weights, scores, tiers, explanations.

Every indicator maps its feature value to 0–100 points through its band table; the score is
the weighted sum of the points, so it runs from 0 to 100 and decomposes exactly into one
weighted contribution per indicator.  See :func:`score_accounts`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kamlib.display import Brief, ShowsBrief, table_size
from kamlib.errors import DataQualityWarning, DataValidationError, KamlibError
from kamlib.features import ATTRS_KEY, SOURCE_TABLES
from kamlib.frames import numeric_column, require_columns
from kamlib.methodology import (
    Indicator,
    Methodology,
    ScoringModel,
    format_number,
    normalise_label,
    resolve_methodology,
)

#: Scores are compared with tier thresholds after rounding to this many decimals, so that a
#: score that is 80 up to floating-point error (79.99999999999999) is in the ≥ 80 tier.
TIER_DECIMALS = 9

SCORE_COLUMNS = ["account_id", "score", "tier", "rank", "tier_by_score", "pareto", "coverage"]
EXPLANATION_COLUMNS = [
    "account_id", "indicator", "kind", "feature", "raw_value", "band", "points",
    "configured_weight", "weight", "contribution", "missing_reason",
]  # fmt: skip


def resolve_model(methodology: Methodology | ScoringModel | None) -> ScoringModel:
    """The scoring model of ``methodology`` (kamlib's default when ``None``)."""
    if isinstance(methodology, ScoringModel):
        return methodology
    return resolve_methodology(methodology, owner="the scoring functions", paths=False).require_scoring()


# --- indicators that are off -----------------------------------------------------------------

#: The command that brings each table in, named by the note of an indicator that is off.
_FIX = {"firmographics": "kam enrich", "company_events": "kam enrich"}


def indicators_off(features: pd.DataFrame, model: ScoringModel) -> dict[str, str]:
    """Indicator → the table it ``requires`` that the data scored does not have.

    A features frame from :func:`kamlib.features.account_features` records the tables its
    source had (``features.attrs``); for those tables that record decides.  Otherwise (a
    frame built by hand, or a table the features do not read) the indicator is off when its
    feature column is absent or has no known value for any account.
    """
    meta = features.attrs.get(ATTRS_KEY)
    tables = meta.get("tables") if isinstance(meta, Mapping) else None
    off: dict[str, str] = {}
    for ind in model.indicators:
        table = ind.requires
        if table is None:
            continue
        if tables is not None and table in SOURCE_TABLES:
            absent = table not in tables
        else:
            absent = ind.feature not in features.columns or bool(features[ind.feature].isna().all())
        if absent:
            off[ind.name] = table
    return off


def off_notes(off: Mapping[str, str]) -> tuple[str, ...]:
    """One note per missing table: which indicators are off and how to bring the table in."""
    by_table: dict[str, list[str]] = {}
    for name, table in off.items():
        by_table.setdefault(table, []).append(name)
    return tuple(
        f"{', '.join(names)} off: needs the {table} table — see {_FIX.get(table, 'kam import')} "
        "(the other indicators' weights re-normalised)"
        for table, names in by_table.items()
    )


def active_model(
    features: pd.DataFrame,
    model: ScoringModel,
    weights: Mapping[str, float] | pd.Series | None = None,
) -> tuple[ScoringModel, dict[str, float] | None, tuple[str, ...]]:
    """The model as it scores ``features``: without the indicators that are off
    (:func:`indicators_off`), their weight spread over the others in proportion.

    ``weights`` (every indicator of ``model``, as :func:`score_accounts` takes them) are
    checked against the whole model first, then re-normalised over the indicators left.
    Returns the model, the weights and the notes (empty when nothing is off).
    """
    off = indicators_off(features, model)
    if not off:
        return model, None if weights is None else dict(weights), ()
    reduced = model.without(list(off))
    if weights is not None:
        given = model.with_weights(dict(weights)).without(list(off))
        weights = dict(given.weights.values)
    return reduced, weights, off_notes(off)


# --- points -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Points:
    """Band points of every indicator for every account (NaN where excluded)."""

    account_id: np.ndarray  # (n,) object
    points: np.ndarray  # (n, k) float, NaN = excluded
    raw: list[np.ndarray]  # k arrays (n,) object
    band: list[np.ndarray]  # k arrays (n,) object
    reason: list[np.ndarray]  # k arrays (n,) object (None = not missing)
    missing: np.ndarray  # (n, k) bool: the missing-value rule applied
    values: dict[str, np.ndarray]  # numeric feature columns used by Pareto rules


def account_frame(features: Any, who: str) -> pd.DataFrame:
    """``features`` with ``account_id`` as a column (it may come as the index, as from
    :func:`kamlib.features.account_features`)."""
    if not isinstance(features, pd.DataFrame):
        raise DataValidationError(
            f"The 'features' parameter of {who} must be a pandas DataFrame with an "
            f"'account_id' column (or index) and one column per feature. Got "
            f"{type(features).__name__} instead."
        )
    if "account_id" not in features.columns and "account_id" in features.index.names:
        return features.reset_index()
    return features


def _check_features(features: pd.DataFrame, model: ScoringModel) -> None:
    require_columns(features, ["account_id"], "the features frame")
    ids = features["account_id"]
    if ids.isna().any():
        raise DataValidationError(
            f"Column 'account_id' of the features frame has {int(ids.isna().sum())} empty "
            "value(s); every row must name its account."
        )
    dupes = ids[ids.duplicated()]
    if len(dupes):
        raise DataValidationError(
            f"The features frame has {len(dupes)} duplicate account_id value(s), e.g. "
            f"{dupes.iloc[0]!r}; it must have one row per account."
        )
    for ind in model.indicators:
        require_columns(
            features, [ind.feature], "the features frame", why=f"indicator '{ind.name}' needs it",
            fix="Compute it with kamlib.features.account_features or remove the indicator from "
            "the methodology file.",
        )  # fmt: skip
    for rule in model.pareto:
        require_columns(features, [rule.feature], "the features frame", why="the Pareto rule needs it")


def _numeric(features: pd.DataFrame, column: str) -> np.ndarray:
    return numeric_column(
        features, column, "the scoring model", place="of the features frame",
        hint="Fix the feature or score it with 'categories'.",
    )  # fmt: skip


def _missing(
    ind: Indicator, mask: np.ndarray, why: np.ndarray, points, band, reason
) -> None:  # fmt: skip
    """Apply the indicator's missing-value rule to the rows in ``mask``."""
    if not mask.any():
        return
    what = "; " + ind.missing.describe()
    reason[mask] = why[mask] + what
    if ind.missing.exclude:
        points[mask] = np.nan
        band[mask] = None
    else:
        points[mask] = ind.missing.points
        band[mask] = "missing"


def _score_numeric(ind: Indicator, x: np.ndarray):
    n = len(x)
    points = np.full(n, np.nan)
    band = np.full(n, None, dtype=object)
    reason = np.full(n, None, dtype=object)
    bands = ind.bands
    edges = np.array([b.min for b in bands[1:]], dtype=float)
    idx = np.searchsorted(edges, np.nan_to_num(x, nan=0.0), side="right")
    known = ~np.isnan(x)
    lo = -np.inf if bands[0].min is None else bands[0].min
    hi = np.inf if bands[-1].max is None else bands[-1].max
    below = known & (x < lo)
    above = known & (x >= hi)
    ok = known & ~below & ~above
    points[ok] = np.array([b.points for b in bands])[idx[ok]]
    band[ok] = np.array([b.label for b in bands], dtype=object)[idx[ok]]
    why = np.full(n, "no value", dtype=object)
    why[below] = [
        f"value {format_number(v)} is below the lowest band (min {format_number(lo)})"
        for v in x[below]
    ]
    why[above] = [
        f"value {format_number(v)} is not below the highest band's max {format_number(hi)}"
        for v in x[above]
    ]
    _missing(ind, ~ok, why, points, band, reason)
    raw = np.where(known, x, None).astype(object)
    return points, band, reason, raw


def _score_categories(ind: Indicator, col: pd.Series):
    n = len(col)
    points = np.full(n, np.nan)
    band = np.full(n, None, dtype=object)
    reason = np.full(n, None, dtype=object)
    if isinstance(ind.categories[0][0], float):  # numeric codes, e.g. strategic_fit 1–5
        x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        known = ~np.isnan(x)
        raw = np.where(known, x, None).astype(object)
        table = {float(k): (p, format_number(float(k))) for k, p in ind.categories}
        codes, uniques = pd.factorize(x, use_na_sentinel=True)
        lookup = [table.get(float(u)) for u in uniques]
    else:
        known = col.notna().to_numpy()
        raw = np.where(known, col.astype(object).to_numpy(), None).astype(object)
        table = {normalise_label(str(k)): (p, str(k)) for k, p in ind.categories}
        codes, uniques = pd.factorize(raw, use_na_sentinel=True)
        lookup = [table.get(normalise_label(str(u))) for u in uniques]
    other = ind.other_points
    u_points = np.array(
        [hit[0] if hit else (other if other is not None else np.nan) for hit in lookup] + [np.nan]
    )
    u_band = np.array(
        [hit[1] if hit else ("other" if other is not None else None) for hit in lookup] + [None],
        dtype=object,
    )
    points[:] = u_points[codes]  # code -1 (missing) picks the trailing NaN / None
    band[:] = u_band[codes]
    unlisted = known & np.isnan(points)
    why = np.full(n, "no value", dtype=object)
    why[unlisted] = [f"{v!r} is not in the category table" for v in raw[unlisted]]
    _missing(ind, ~known | unlisted, why, points, band, reason)
    return points, band, reason, raw


def _compute_points(features: pd.DataFrame, model: ScoringModel, who: str) -> _Points:
    features = account_frame(features, who)
    _check_features(features, model)
    k = len(model.indicators)
    n = len(features)
    matrix = np.full((n, k), np.nan)
    raws, bands, reasons = [], [], []
    for j, ind in enumerate(model.indicators):
        if ind.is_categorical:
            p, b, r, raw = _score_categories(ind, features[ind.feature])
        else:
            p, b, r, raw = _score_numeric(ind, _numeric(features, ind.feature))
        matrix[:, j] = p
        raws.append(raw)
        bands.append(b)
        reasons.append(r)
    values = {rule.feature: _numeric(features, rule.feature) for rule in model.pareto}
    return _Points(
        account_id=features["account_id"].astype(str).to_numpy(dtype=object),
        points=matrix,
        raw=raws,
        band=bands,
        reason=reasons,
        missing=np.stack([pd.notna(r) for r in reasons], axis=1) if k else np.zeros((n, 0), bool),
        values=values,
    )


def indicator_points(
    features: pd.DataFrame, methodology: Methodology | ScoringModel | None = None
) -> pd.DataFrame:
    """Each indicator's band points (0–100) per account, before weighting.

    Parameters
    ----------
    features
        One row per account: ``account_id`` (column or index) and the feature columns the
        indicators read.
    methodology
        The methodology (kamlib's default when ``None``).

    Returns
    -------
    pd.DataFrame
        ``account_id`` and one float column per indicator, in input row order: the points,
        the configured points for a missing value, or NaN where the indicator is excluded
        for that account (missing value under ``missing: exclude``).
    """
    model = resolve_model(methodology)
    model, _, _ = active_model(account_frame(features, "indicator_points"), model)
    pts = _compute_points(features, model, "indicator_points")
    out = pd.DataFrame(pts.points, columns=list(model.names))
    out.insert(0, "account_id", pd.array(pts.account_id, dtype="str"))
    return out


# --- weights and combination ------------------------------------------------------------------


def _base_weights(
    model: ScoringModel, pts: _Points, weights: Mapping[str, float] | pd.Series | None
) -> tuple[np.ndarray, str]:
    if weights is not None:
        given = model.with_weights(dict(weights))
        return np.array([w for _, w in given.weights.values]), "given"
    if model.weights.method == "entropy":
        from kamlib.scoring.weights import entropy_weights

        frame = pd.DataFrame(pts.points, columns=list(model.names))
        empty = [c for c in frame.columns if frame[c].isna().all()]
        if empty:
            raise DataValidationError(
                f"Indicator '{empty[0]}' is excluded (missing) for every one of the "
                f"{len(frame)} accounts scored, so the entropy weight method cannot weigh it. "
                "Check the feature, give it 'missing: <points>', or use manual weights."
            )
        return entropy_weights(frame).to_numpy(dtype=float), "entropy"
    return np.array([w for _, w in model.weights.values]), model.weights.method


def _combine(points: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Effective weights (excluded indicators' weight spread over the others), contributions
    and coverage (the base weight of the indicators that were scored)."""
    scored = ~np.isnan(points)
    w = np.where(scored, base[None, :], 0.0)
    total = w.sum(axis=1)
    effective = np.divide(w, total[:, None], out=np.zeros_like(w), where=total[:, None] > 0)
    contribution = np.where(scored, effective * np.where(scored, points, 0.0), 0.0)
    return effective, contribution, total


def _exact_sum(contribution: np.ndarray) -> np.ndarray:
    return np.array([math.fsum(row) for row in contribution.tolist()], dtype=float)


def _tiers_by_score(score: np.ndarray, model: ScoringModel) -> np.ndarray:
    """Index of each score's tier (0 = highest)."""
    rounded = np.round(score, TIER_DECIMALS)
    mins = np.array([t.min_score for t in model.tiers])
    # tiers are listed highest first; the first whose min_score the score reaches
    reached = rounded[:, None] >= mins[None, :]
    return np.argmax(reached, axis=1)


def pareto_head(values: np.ndarray, account_id: np.ndarray, share: float) -> np.ndarray:
    """Mask of the fewest top accounts by ``values`` whose sum reaches ``share`` of the total.

    Only positive, finite values count; ties are broken by ``account_id``.
    """
    v = np.where(np.isfinite(values) & (values > 0), values, 0.0)
    total = math.fsum(v)
    head = np.zeros(len(v), dtype=bool)
    if total <= 0:
        return head
    order = np.lexsort((account_id.astype(str), -v))
    before = np.concatenate([[0.0], np.cumsum(v[order])[:-1]]) / total
    chosen = order[(before < share) & (v[order] > 0)]
    head[chosen] = True
    return head


# --- the result -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class ScoreResult(ShowsBrief):
    """Scores, tiers and explanations of one scoring run (see :func:`score_accounts`).

    Attributes
    ----------
    scores
        One row per account, best first: ``account_id``, ``score`` (0–100), ``tier`` (tier
        key), ``rank`` (1 = best; ties broken by ``account_id``), ``tier_by_score`` (the
        tier the thresholds alone give), ``pareto`` (lifted by a Pareto rule), ``coverage``
        (sum of the base weights of the indicators that were scored, 1.0 when none was
        excluded).
    contributions
        Same rows: ``account_id`` and one column per indicator with its weighted
        contribution; a row sums to the score.
    explanations
        One row per account and indicator: ``account_id, indicator, kind, feature,
        raw_value, band, points, configured_weight, weight, contribution, missing_reason``.
        ``weight`` is the weight applied to that account (the base weight, re-normalised
        when other indicators were excluded), ``contribution = weight × points`` (0 for an
        excluded indicator, whose ``points`` is NaN) and ``missing_reason`` says why a value
        was missing and what was done (empty when the value was known).
    weights
        The base weights used (indicator → weight, sum 1).
    weight_method
        ``manual``, ``ahp``, ``data``, ``entropy`` or ``given`` (the ``weights`` argument).
    model
        The scoring model as it scored: without the indicators that were off.
    notes
        What the reader of the scores should know about how they were made, one sentence
        each: the indicators that were off because the data lacks the table they
        ``require`` (e.g. ``"registry_capital, … off: needs the firmographics table — see
        kam enrich (…)"``).  Empty when there is nothing to say.
    """


    scores: pd.DataFrame
    contributions: pd.DataFrame
    explanations: pd.DataFrame
    weights: pd.Series
    weight_method: str
    model: ScoringModel
    notes: tuple[str, ...] = ()

    def to_frame(self, lang: str | None = None) -> pd.DataFrame:
        """Wide table, one row per account (best first): ``account_id, score, tier`` and one
        column per indicator holding its weighted contribution; the contributions of a row
        sum to its score.  ``lang`` ("en"/"zh") writes tier labels instead of keys."""
        out = self.scores[["account_id", "score", "tier"]].reset_index(drop=True)
        if lang is not None:
            out["tier"] = self.tier_labels(out["tier"], lang)
        wide = self.contributions.drop(columns="account_id").reset_index(drop=True)
        return pd.concat([out, wide], axis=1)

    def tier_labels(self, tiers: pd.Series, lang: str = "en") -> pd.Series:
        """Tier keys → labels in ``lang``."""
        mapping = {t.key: t.label(lang) for t in self.model.tiers}
        return tiers.map(mapping).astype("str")

    def explain(self, account_id: str) -> pd.DataFrame:
        """The explanation rows of one account (``KamlibError`` if it was not scored)."""
        rows = self.explanations[self.explanations["account_id"] == str(account_id)]
        if rows.empty:
            raise KamlibError(f"Account {account_id!r} was not scored.")
        return rows.reset_index(drop=True)

    def summary(self, lang: str = "en") -> pd.DataFrame:
        """One row per tier (highest first, empty tiers included): ``tier, label, min_score,
        accounts, share, score_min, score_mean, score_max, lifted_by_pareto``."""
        rows = []
        n = len(self.scores)
        for tier in self.model.tiers:
            sel = self.scores[self.scores["tier"] == tier.key]
            rows.append(
                {
                    "tier": tier.key,
                    "label": tier.label(lang),
                    "min_score": tier.min_score,
                    "accounts": len(sel),
                    "share": len(sel) / n if n else 0.0,
                    "score_min": sel["score"].min() if len(sel) else np.nan,
                    "score_mean": sel["score"].mean() if len(sel) else np.nan,
                    "score_max": sel["score"].max() if len(sel) else np.nan,
                    "lifted_by_pareto": int(
                        (sel["pareto"] & (sel["tier_by_score"] != tier.key)).sum()
                    ),
                }
            )
        return pd.DataFrame(rows)

    def _brief(self) -> Brief:
        tiers = self.scores["tier"].value_counts()
        facts: dict[str, object] = {"accounts": len(self.scores), "weights": self.weight_method}
        facts.update({t.label("en"): int(tiers.get(t.key, 0)) for t in self.model.tiers})
        facts.update({f"note {i}": note for i, note in enumerate(self.notes, 1)})
        return Brief(
            "ScoreResult",
            facts,
            {
                ".scores": table_size(self.scores),
                ".to_frame()": "one row per account, contributions by indicator",
                ".explain(account_id)": "one account's points per indicator",
                ".summary()": "one row per tier",
            },
        )



@dataclass(frozen=True, eq=False)
class _Scored:
    """Everything one scoring pass computes, in input row order (``order`` = best first)."""

    model: ScoringModel  # the model as it scored: without the indicators that were off
    notes: tuple[str, ...]
    pts: _Points
    base: np.ndarray
    method: str
    effective: np.ndarray
    contribution: np.ndarray
    coverage: np.ndarray
    score: np.ndarray
    tier_idx: np.ndarray
    by_score: np.ndarray
    lifted: np.ndarray
    order: np.ndarray
    rank: np.ndarray


def _score(
    features: pd.DataFrame,
    model: ScoringModel,
    weights: Mapping[str, float] | pd.Series | None,
    who: str,
) -> _Scored:
    features = account_frame(features, who)
    model, weights, notes = active_model(features, model, weights)
    pts = _compute_points(features, model, who)
    base, method = _base_weights(model, pts, weights)
    effective, contribution, coverage = _combine(pts.points, base)
    score = _exact_sum(contribution)
    if not np.all(np.isfinite(score)):
        raise KamlibError("Internal error: a score is not finite. Please report this.")
    if len(score) and not (score.min() >= -1e-9 and score.max() <= 100 + 1e-9):
        raise KamlibError("Internal error: a score lies outside 0–100. Please report this.")
    n = len(score)
    if n:
        all_missing = [model.names[j] for j in np.flatnonzero(pts.missing.all(axis=0))]
        if all_missing:
            warnings.warn(
                f"Indicator(s) {', '.join(all_missing)} had no usable value for any of the {n} "
                "accounts; they were scored by their missing-value rule only. Check the features.",
                DataQualityWarning,
                stacklevel=3,
            )
        nothing = np.flatnonzero(coverage <= 0)
        if len(nothing):
            names = ", ".join(map(str, pts.account_id[nothing[:5]]))
            more = f" and {len(nothing) - 5} more" if len(nothing) > 5 else ""
            warnings.warn(
                f"{len(nothing)} account(s) had no scored indicator (every value missing and "
                f"excluded, or only zero-weight indicators known): {names}{more}. They score 0 "
                "in the lowest tier; see the 'coverage' column.",
                DataQualityWarning,
                stacklevel=3,
            )
    by_score = _tiers_by_score(score, model)
    tier_idx = by_score.copy()
    lifted = np.zeros(n, dtype=bool)
    keys = model.tier_keys
    for rule in model.pareto:
        head = pareto_head(pts.values[rule.feature], pts.account_id, rule.share)
        target = keys.index(rule.min_tier)
        lifted |= head & (tier_idx > target)
        tier_idx = np.where(head, np.minimum(tier_idx, target), tier_idx)
    order = np.lexsort((pts.account_id.astype(str), -score))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    return _Scored(model, notes, pts, base, method, effective, contribution, coverage, score,
                   tier_idx, by_score, lifted, order, rank)  # fmt: skip


def _str_column(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Object array (None = missing) → pandas ``str`` array, converting each distinct value
    once (explanations repeat a few labels many times)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return pd.array(np.asarray(uniques, dtype=object), dtype="str").take(codes, allow_fill=True)


def _scores_frame(sc: _Scored, model: ScoringModel) -> pd.DataFrame:
    keys = np.array(model.tier_keys, dtype=object)
    o = sc.order
    return pd.DataFrame(
        {
            "account_id": pd.array(sc.pts.account_id[o], dtype="str"),
            "score": sc.score[o],
            "tier": pd.array(keys[sc.tier_idx[o]], dtype="str"),
            "rank": sc.rank[o],
            "tier_by_score": pd.array(keys[sc.by_score[o]], dtype="str"),
            "pareto": sc.lifted[o],
            "coverage": sc.coverage[o],
        }
    )


def score_table(
    features: pd.DataFrame,
    model: ScoringModel,
    weights: Mapping[str, float] | pd.Series | None = None,
    *,
    who: str = "score_table",
) -> pd.DataFrame:
    """The scores frame of :func:`score_accounts` alone (``account_id, score, tier, rank,
    tier_by_score, pareto, coverage``), without the explanations: for callers that re-score
    many times, such as the interactive explorer on every slider move."""
    scored = _score(features, model, weights, who)
    return _scores_frame(scored, scored.model)


def _contributions_frame(sc: _Scored, model: ScoringModel) -> pd.DataFrame:
    out = pd.DataFrame(sc.contribution[sc.order], columns=list(model.names))
    out.insert(0, "account_id", pd.array(sc.pts.account_id[sc.order], dtype="str"))
    return out


def _explanations_frame(sc: _Scored, model: ScoringModel) -> pd.DataFrame:
    pts = sc.pts
    n, k = pts.points.shape
    rows = np.repeat(sc.order, k)
    cols = np.tile(np.arange(k), n)
    ids = pd.array(pts.account_id, dtype="str")
    per_indicator = {
        "indicator": list(model.names),
        "kind": [i.kind for i in model.indicators],
        "feature": [i.feature for i in model.indicators],
    }
    frame: dict[str, Any] = {"account_id": ids.take(rows)}
    for name, values in per_indicator.items():
        frame[name] = pd.array(values, dtype="str").take(cols)
    frame.update(
        {
            "raw_value": _pick(pts.raw, sc.order),
            "band": _str_column(_pick(pts.band, sc.order)),
            "points": pts.points[rows, cols],
            "configured_weight": sc.base[cols],
            "weight": sc.effective[rows, cols],
            "contribution": sc.contribution[rows, cols],
            "missing_reason": _str_column(_pick(pts.reason, sc.order)),
        }
    )
    return pd.DataFrame(frame, columns=EXPLANATION_COLUMNS)


def _pick(arrays: list[np.ndarray], order: np.ndarray) -> np.ndarray:
    """Per-indicator object arrays → one array in explanation order (account-major)."""
    if not arrays or not len(order):
        return np.array([], dtype=object)
    return np.stack(arrays, axis=1)[order].reshape(-1)


def score_accounts(
    features: pd.DataFrame,
    methodology: Methodology | ScoringModel | None = None,
    *,
    weights: Mapping[str, float] | pd.Series | None = None,
) -> ScoreResult:
    """Score and tier accounts with the composite points method of the methodology file.

    For each indicator the feature value is mapped to points (0–100) by its band table.  A
    missing value (NaN, a value outside the bands, a category not listed and no ``other``)
    is scored as the indicator's ``missing`` rule says: fixed points, or *excluded* — the
    indicator is left out for that account and the other indicators' weights are divided by
    the weight that remains, so the score stays on the 0–100 scale.  The score is
    ``Σ weight × points``; the tier is the first (highest) whose ``min_score`` the score
    reaches, then Pareto rules lift the accounts that make the top share of a feature to at
    least their ``min_tier``.

    An indicator that ``requires`` a table the data lacks (the registry indicators without
    ``firmographics``) is *off*: it is dropped from the model for this run and the other
    indicators' base weights are divided by the weight that remains; ``ScoreResult.notes``
    says so (:func:`indicators_off`).

    An account for which every indicator is excluded scores 0 in the lowest tier, with
    ``coverage`` 0, and a :class:`~kamlib.errors.DataQualityWarning` names it.

    Parameters
    ----------
    features
        One row per account: ``account_id`` (a column, or the index) and the feature columns
        the indicators read (as from :func:`kamlib.features.account_features`).  Not
        modified.
    methodology
        A :class:`~kamlib.methodology.Methodology` or its ``ScoringModel``; kamlib's default
        when ``None``.
    weights
        Override the methodology's weights (indicator → weight, every indicator; normalised
        with a ``WeightsNormalisedWarning`` when they do not sum to 1).  With the ``entropy``
        method the weights are computed from these accounts' points.

    Returns
    -------
    ScoreResult
        ``.scores``, ``.contributions``, ``.explanations``, ``.to_frame()``,
        ``.summary()``.

    Examples
    --------
    >>> result = score_accounts(features)                        # doctest: +SKIP
    >>> result.to_frame().head()  # account_id, score, tier, one column per indicator
    """
    sc = _score(features, resolve_model(methodology), weights, "score_accounts")
    model = sc.model
    return ScoreResult(
        scores=_scores_frame(sc, model),
        contributions=_contributions_frame(sc, model),
        explanations=_explanations_frame(sc, model),
        weights=pd.Series(sc.base, index=pd.Index(model.names, name="indicator"), name="weight"),
        weight_method=sc.method,
        model=model,
        notes=sc.notes,
    )
