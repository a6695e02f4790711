"""RFM: recency, frequency and monetary scores and the named segments of a rule table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kamlib.errors import ConfigError
from kamlib.frames import numeric_column
from kamlib.methodology import (
    RFM_DIMENSIONS,
    Methodology,
    RfmSettings,
    SegmentRule,
    check_cut_points,
    check_quantiles,
    resolve_methodology,
    segment_rules,
)
from kamlib.methodology.rules import parse_rule
from kamlib.segmentation._frames import (
    account_frame,
    check_lang,
    require_features,
)

__all__ = ["RFM_COLUMNS", "RfmResult", "rfm_scores"]

RFM_COLUMNS = [
    "account_id", "recency", "frequency", "monetary", "r_score", "f_score", "m_score",
    "rfm_code", "segment",
]  # fmt: skip


@dataclass(frozen=True)
class RfmResult:
    """RFM scores and segments (see :func:`rfm_scores`).

    Attributes
    ----------
    scores
        One row per account, in the order given: ``account_id``, ``recency``,
        ``frequency``, ``monetary`` (the raw values), ``r_score``, ``f_score``,
        ``m_score`` (``Int64``, 1 = worst … ``levels`` = best; NA without a value),
        ``rfm_code`` (e.g. ``"545"``; NA when a score is), ``segment`` (segment key).
    method
        Per dimension: ``"quantiles"`` or ``"cut points"``.
    cut_points
        The cut points used, per dimension (empty for quantile-scored dimensions).
    levels
        The score scale (5: scores 1–5).
    segments
        The rule table (first match wins) and ``other`` (no rule matched / no scores).
    """

    scores: pd.DataFrame
    method: Mapping[str, str]
    cut_points: Mapping[str, tuple[float, ...]]
    levels: int
    segments: tuple[SegmentRule, ...]
    other: SegmentRule

    def segment_labels(self, lang: str = "en") -> dict[str, str]:
        check_lang(lang)
        return {s.key: s.label(lang) for s in (*self.segments, self.other)}

    def to_frame(self, lang: str = "en") -> pd.DataFrame:
        """The scores with a ``segment_label`` column in ``lang``."""
        out = self.scores.copy()
        out["segment_label"] = out["segment"].map(self.segment_labels(lang)).astype("str")
        return out

    def summary(self, lang: str = "en") -> pd.DataFrame:
        """One row per segment in table order (then ``other``), empty ones included:
        ``segment, label, accounts, share, monetary, monetary_share, recency_median,
        frequency_median, monetary_median``."""
        labels = self.segment_labels(lang)
        s = self.scores
        m = s["monetary"].clip(lower=0)
        total_m = float(m.sum())
        rows = []
        for key, label in labels.items():
            part = s[s["segment"] == key]
            money = float(m[part.index].sum())
            rows.append(
                {
                    "segment": key,
                    "label": label,
                    "accounts": len(part),
                    "share": len(part) / len(s) if len(s) else np.nan,
                    "monetary": money,
                    "monetary_share": money / total_m if total_m > 0 else np.nan,
                    "recency_median": part["recency"].median(),
                    "frequency_median": part["frequency"].median(),
                    "monetary_median": part["monetary"].median(),
                }
            )
        return pd.DataFrame(rows)


def _quantile_scores(x: np.ndarray, levels: int, higher_is_better: bool) -> np.ndarray:
    """Score = 1 + floor(levels × (accounts strictly worse) / accounts with a value).

    Equal values share a score; with distinct values each score holds an equal share of
    the accounts (n / levels when it divides)."""
    out = np.full(len(x), np.nan)
    known = ~np.isnan(x)
    v = x[known]
    n = len(v)
    if not n:
        return out
    ordered = np.sort(v)
    if higher_is_better:
        worse = np.searchsorted(ordered, v, side="left")
    else:
        worse = n - np.searchsorted(ordered, v, side="right")
    out[known] = 1 + np.floor(levels * worse / n)
    return out


def _cut_scores(x: np.ndarray, cuts: tuple[float, ...], higher_is_better: bool) -> np.ndarray:
    """Score by cut points: a value equal to a cut point goes to the band above it."""
    out = np.full(len(x), np.nan)
    known = ~np.isnan(x)
    above = np.searchsorted(np.asarray(cuts), x[known], side="right")
    out[known] = 1 + above if higher_is_better else len(cuts) + 1 - above
    return out


def _segments(
    segments: Mapping[str, Any] | Sequence[Any] | None, settings: RfmSettings | None
) -> tuple[tuple[SegmentRule, ...], SegmentRule]:
    if segments is None:
        if settings is None:
            raise ConfigError("rfm_scores: no segment rule table (segments=...).")
        return settings.segments, settings.other
    if (
        isinstance(segments, Sequence)
        and segments
        and all(isinstance(s, SegmentRule) for s in segments)
    ):
        return tuple(segments), RfmSettings().other
    if isinstance(segments, (Mapping, list)):
        return segment_rules(segments, "rfm_scores segments"), RfmSettings().other
    raise ConfigError(
        "The 'segments' parameter of rfm_scores must be a rule table: a list of {key, rule, "
        "label} or a mapping key: rule over R, F, M (first match wins). Got "
        f"{type(segments).__name__} instead."
    )


def rfm_scores(
    features: pd.DataFrame,
    *,
    cut_points: Mapping[str, Sequence[float]] | None = None,
    quantiles: int | None = None,
    segments: Mapping[str, Any] | Sequence[Any] | None = None,
    methodology: Methodology | None = None,
    recency: str | None = None,
    frequency: str | None = None,
    monetary: str | None = None,
) -> RfmResult:
    """Recency, frequency and monetary scores (1–5) and named RFM segments.

    Each dimension is scored either by **cut points** (fixed, e.g. recency
    ``[30, 90, 180, 365]`` days: under 30 scores 5, 365 or more scores 1; a value equal to
    a cut point goes to the band above it) or by **quantiles** (score
    ``1 + floor(q × accounts strictly worse / accounts)``, so equal values share a score and
    with distinct values each score holds 1/q of the accounts).  Fewer days since the last
    order is better; more orders and more revenue are better.  The segment is the first
    row of the rule table (rules over ``R``, ``F``, ``M``) that matches; an account
    matching none, or without a score, gets the table's ``other`` segment.

    Parameters
    ----------
    features
        One row per account (``account_id`` column or index) with the three columns, e.g.
        from :func:`kamlib.features.account_features` (``recency_days``, ``orders_12m``,
        ``revenue_12m``) or an orders summary.  Not modified.
    cut_points
        Per dimension (``recency``, ``frequency``, ``monetary``) ascending cut points;
        ``quantiles − 1`` of them.  Dimensions not given use quantiles.  By default those of
        the methodology file (``segments.rfm.cut_points``; the shipped file has none).
    quantiles
        The score scale (default: the methodology's, 5).
    segments
        The rule table: a list of ``{key, rule, label}`` or a mapping ``key: rule``; by
        default the methodology's ``segments.rfm.segments`` (data, not code).
    methodology
        Where the defaults come from (kamlib's default methodology when ``None``).
    recency, frequency, monetary
        Column names (defaults: the methodology's, ``recency_days``, ``orders_12m``,
        ``revenue_12m``).

    Returns
    -------
    RfmResult
        ``.scores`` (``account_id, recency, frequency, monetary, r_score, f_score, m_score,
        rfm_code, segment``), ``.to_frame(lang)``, ``.summary(lang)``.

    Examples
    --------
    >>> rfm_scores(features, cut_points={"recency": [30, 90, 180, 365]}).summary()  # doctest: +SKIP
    """
    meth = resolve_methodology(methodology, owner="rfm_scores", paths=False)
    settings = meth.segmentation.rfm if meth.segmentation is not None else None
    if settings is None and segments is None:
        raise ConfigError(
            f"{meth.source}: the methodology file has no 'segments.rfm' section (the RFM "
            "segment rule table). Copy it from kamlib's default methodology file "
            "(kamlib/resources/methodology.yml) or pass segments=... ."
        )
    base = settings or RfmSettings()
    levels = check_quantiles(
        base.quantiles if quantiles is None else quantiles, "rfm_scores quantiles"
    )
    if cut_points is None:
        cuts = dict(base.cut_points) if quantiles is None or levels == base.quantiles else {}
    else:
        cuts = dict(check_cut_points(cut_points, levels, "rfm_scores cut_points"))
    if any(len(c) + 1 != levels for c in cuts.values()):
        raise ConfigError(
            f"rfm_scores: the methodology's cut points do not fit quantiles={levels}; pass "
            "cut_points for that scale."
        )
    rules, other = _segments(segments, settings)
    columns = {
        "recency": recency or base.recency,
        "frequency": frequency or base.frequency,
        "monetary": monetary or base.monetary,
    }
    frame = account_frame(features, "rfm_scores")
    require_features(frame, list(columns.values()), "rfm_scores")
    raw = {dim: numeric_column(frame, col, "rfm_scores") for dim, col in columns.items()}
    scores = {}
    method = {}
    for dim in RFM_DIMENSIONS:
        better = dim != "recency"
        if dim in cuts:
            scores[dim] = _cut_scores(raw[dim], cuts[dim], better)
            method[dim] = "cut points"
        else:
            scores[dim] = _quantile_scores(raw[dim], levels, better)
            method[dim] = "quantiles"
    r, f, m = scores["recency"], scores["frequency"], scores["monetary"]
    table = pd.DataFrame({"R": r, "F": f, "M": m})
    segment = np.full(len(frame), other.key, dtype=object)
    open_rows = np.ones(len(frame), bool)
    for seg in rules:
        rule = parse_rule(seg.rule, where=f"RFM segment '{seg.key}'")
        hit = rule.evaluate(table, valid=["R", "F", "M"]).to_numpy() & open_rows
        segment[hit] = seg.key
        open_rows &= ~hit
    complete = ~(np.isnan(r) | np.isnan(f) | np.isnan(m))
    code = np.full(len(frame), None, dtype=object)
    code[complete] = [
        f"{a:.0f}{b:.0f}{c:.0f}"
        for a, b, c in zip(r[complete], f[complete], m[complete], strict=True)
    ]
    out = pd.DataFrame(
        {
            "account_id": frame["account_id"].to_numpy(),
            "recency": raw["recency"],
            "frequency": raw["frequency"],
            "monetary": raw["monetary"],
            "r_score": pd.array(r, dtype="Float64").astype("Int64"),
            "f_score": pd.array(f, dtype="Float64").astype("Int64"),
            "m_score": pd.array(m, dtype="Float64").astype("Int64"),
            "rfm_code": pd.array(code, dtype="str"),
            "segment": pd.array(segment, dtype="str"),
        }
    )
    return RfmResult(
        scores=out,
        method=method,
        cut_points={k: tuple(v) for k, v in cuts.items()},
        levels=levels,
        segments=rules,
        other=other,
    )
