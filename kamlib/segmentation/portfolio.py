"""The key-account portfolio matrix: account attractiveness against our position."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kamlib.errors import ConfigError, DataValidationError
from kamlib.frames import numeric_column
from kamlib.methodology import (
    Methodology,
    PortfolioSettings,
    Quadrant,
    portfolio_axis,
    portfolio_threshold,
    resolve_methodology,
)
from kamlib.scoring import ScoreResult
from kamlib.segmentation._frames import (
    account_frame,
    check_lang,
    require_features,
)

__all__ = ["PORTFOLIO_COLUMNS", "PortfolioMatrix", "portfolio_matrix"]

PORTFOLIO_COLUMNS = [
    "account_id", "attractiveness", "position", "high_attractiveness", "high_position",
    "quadrant",
]  # fmt: skip

Axis = str | Mapping[str, float] | None


@dataclass(frozen=True)
class PortfolioMatrix:
    """Accounts placed in the portfolio matrix (see :func:`portfolio_matrix`).

    Attributes
    ----------
    accounts
        One row per account, in the order given: ``account_id``, ``attractiveness``,
        ``position`` (the axis values), ``high_attractiveness``, ``high_position``
        (``boolean``; NA without a value), ``quadrant`` (key; NA when an axis is missing),
        and ``score``, ``tier`` when scores were given.
    attractiveness, position
        What each axis is: a column name, or ``((column, weight), …)`` for an index.
    attractiveness_threshold, position_threshold
        The dividing lines used (a value at or above is *high*).
    threshold_method
        ``"median"`` or ``"given"`` per axis.
    quadrants
        The four quadrants with labels and strategies in English and Chinese.
    """

    accounts: pd.DataFrame
    attractiveness: tuple[tuple[str, float], ...] | str
    position: tuple[tuple[str, float], ...] | str
    attractiveness_threshold: float
    position_threshold: float
    threshold_method: Mapping[str, str]
    quadrants: tuple[Quadrant, ...]

    def to_frame(self, lang: str = "en") -> pd.DataFrame:
        """The accounts with ``quadrant_label`` and ``strategy`` in ``lang``."""
        check_lang(lang)
        out = self.accounts.copy()
        labels = {q.key: q.label(lang) for q in self.quadrants}
        strategies = {q.key: q.strategy(lang) for q in self.quadrants}
        out["quadrant_label"] = out["quadrant"].map(labels).astype("str")
        out["strategy"] = out["quadrant"].map(strategies).astype("str")
        return out

    def summary(self, lang: str = "en") -> pd.DataFrame:
        """One row per quadrant (all four): ``quadrant, label, strategy, accounts, share``,
        and ``score_mean`` when scores were given."""
        check_lang(lang)
        q_col = self.accounts["quadrant"]
        placed = int(q_col.notna().sum())
        rows = []
        for q in self.quadrants:
            part = self.accounts[q_col == q.key]
            row: dict[str, Any] = {
                "quadrant": q.key,
                "label": q.label(lang),
                "strategy": q.strategy(lang),
                "accounts": len(part),
                "share": len(part) / placed if placed else np.nan,
            }
            if "score" in self.accounts.columns:
                row["score_mean"] = float(part["score"].mean()) if len(part) else np.nan
            rows.append(row)
        return pd.DataFrame(rows)


def _axis_values(frame: pd.DataFrame, spec: tuple[tuple[str, float], ...] | str) -> np.ndarray:
    """A column as it is, or an index: weighted mean of percentile ranks (0–1), weights
    re-normalised over the columns an account has a value for."""
    if isinstance(spec, str):
        return numeric_column(frame, spec, "portfolio_matrix")
    n = len(frame)
    num = np.zeros(n)
    den = np.zeros(n)
    for column, weight in spec:
        values = pd.Series(numeric_column(frame, column, "portfolio_matrix"))
        pct = values.rank(pct=True, method="average").to_numpy(dtype=float, na_value=np.nan)
        known = ~np.isnan(pct)
        num[known] += weight * pct[known]
        den[known] += weight
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _spec_columns(spec: tuple[tuple[str, float], ...] | str) -> list[str]:
    return [spec] if isinstance(spec, str) else [c for c, _w in spec]


def portfolio_matrix(
    features: pd.DataFrame,
    scores: Any = None,
    *,
    attractiveness: Axis = None,
    position: Axis = None,
    thresholds: Mapping[str, float | str] | None = None,
    methodology: Methodology | None = None,
) -> PortfolioMatrix:
    """Place accounts in the key-account portfolio matrix.

    The framework is the **key-account selection matrix** (a directional policy matrix) of
    Millman and Wilson (1995), as taught in McDonald and Woodburn, *Key Account Management:
    The Definitive Guide* (the key account selection / categorisation matrix): the
    attractiveness of the account to us against our business strength with it — here our
    **share of wallet** (采购份额), the measurable part of that strength.  Its four
    strategies are the quadrants:

    - ``invest`` — high attractiveness, strong position: invest for growth (重点投入);
    - ``develop`` — high attractiveness, weak position: invest selectively, build our
      share (选择性投入);
    - ``maintain`` — lower attractiveness, strong position: maintain efficiently (维持);
    - ``manage_for_cash`` — lower attractiveness, weak position: manage for cash, serve at
      low cost (精简服务).

    Labels and strategies (en/zh) can be renamed in the methodology file
    (``segments.portfolio.quadrants``).

    Parameters
    ----------
    features
        One row per account (``account_id`` column or index) with the axis columns.
    scores
        Optional :class:`~kamlib.scoring.ScoreResult` or frame with ``account_id``,
        ``score``, ``tier``: adds those columns, and lets an axis be ``"score"``.
    attractiveness
        A column (used as it is), or ``{column: weight}``: an index, the weighted mean of
        the columns' percentile ranks (0–1, average rank for ties), the weights
        re-normalised over the columns an account has a value for.  Default: the
        methodology's (``category_spend`` 0.5, ``growth_12m`` 0.25, ``strategic_fit``
        0.25 — the account's potential, momentum and fit).
    position
        Our relative position, a column or ``{column: weight}``; default
        ``share_of_wallet``.
    thresholds
        ``{"attractiveness": x, "position": y}``: a number, or ``"median"`` (default: the
        methodology's, median) — the median of the axis over the accounts with a value.  A
        value at or above the threshold is high.
    methodology
        Where the defaults come from (kamlib's default methodology when ``None``).

    Returns
    -------
    PortfolioMatrix
        ``.accounts`` (``account_id, attractiveness, position, high_attractiveness,
        high_position, quadrant`` [+ ``score, tier``]), ``.to_frame(lang)``,
        ``.summary(lang)``, the thresholds used.  An account without a value on an axis has
        no quadrant (NA).

    Examples
    --------
    >>> m = portfolio_matrix(features, scores)                      # doctest: +SKIP
    >>> m.summary("zh")                                             # doctest: +SKIP
    """
    meth = resolve_methodology(methodology, owner="portfolio_matrix", paths=False)
    settings = meth.segmentation.portfolio if meth.segmentation is not None else PortfolioSettings()
    frame = account_frame(features, "portfolio_matrix")
    score_frame = _score_frame(scores)
    if score_frame is not None:
        frame = frame.drop(columns=[c for c in ("score", "tier") if c in frame.columns])
        frame = frame.merge(score_frame, on="account_id", how="left", validate="one_to_one")
    attr = (
        settings.attractiveness
        if attractiveness is None
        else _axis(attractiveness, "attractiveness")
    )
    pos = settings.position if position is None else _axis(position, "position")
    cols = _spec_columns(attr) + _spec_columns(pos)
    if "score" in cols and score_frame is None:
        raise ConfigError("portfolio_matrix: an axis reads 'score'; pass scores=... .")
    require_features(frame, cols, "portfolio_matrix")
    a = _axis_values(frame, attr)
    p = _axis_values(frame, pos)
    given = dict(thresholds or {})
    unknown = set(given) - {"attractiveness", "position"}
    if unknown:
        raise ConfigError(
            f"The 'thresholds' parameter of portfolio_matrix takes the keys attractiveness and "
            f"position. Got {sorted(unknown)} instead."
        )
    a_t, a_how = _threshold(
        a, given.get("attractiveness"), settings.attractiveness_threshold, "attractiveness"
    )
    p_t, p_how = _threshold(p, given.get("position"), settings.position_threshold, "position")
    a_known, p_known = ~np.isnan(a), ~np.isnan(p)
    high_a = a >= a_t
    high_p = p >= p_t
    by_sides = {(q.high_attractiveness, q.high_position): q.key for q in settings.quadrants}
    quadrant = np.full(len(frame), None, dtype=object)
    for (ha, hp), key in by_sides.items():
        quadrant[a_known & p_known & (high_a == ha) & (high_p == hp)] = key
    out = pd.DataFrame(
        {
            "account_id": frame["account_id"].to_numpy(),
            "attractiveness": a,
            "position": p,
            "high_attractiveness": pd.array(np.where(a_known, high_a, False), dtype="boolean"),
            "high_position": pd.array(np.where(p_known, high_p, False), dtype="boolean"),
            "quadrant": pd.array(quadrant, dtype="str"),
        }
    )
    out.loc[~a_known, "high_attractiveness"] = pd.NA
    out.loc[~p_known, "high_position"] = pd.NA
    if score_frame is not None:
        out["score"] = frame["score"].to_numpy(dtype=float, na_value=np.nan)
        out["tier"] = frame["tier"].astype("str").to_numpy()
    return PortfolioMatrix(
        accounts=out,
        attractiveness=attr,
        position=pos,
        attractiveness_threshold=a_t,
        position_threshold=p_t,
        threshold_method={"attractiveness": a_how, "position": p_how},
        quadrants=settings.quadrants,
    )


def _axis(value: Any, name: str) -> tuple[tuple[str, float], ...] | str:
    if isinstance(value, (str, Mapping)):
        return portfolio_axis(value, None, f"portfolio_matrix {name}")
    raise ConfigError(
        f"The '{name}' parameter of portfolio_matrix must be a column name or a mapping "
        f"column: weight. Got {type(value).__name__} instead."
    )


def _threshold(
    values: np.ndarray, given: Any, configured: float | None, name: str
) -> tuple[float, str]:
    if given is not None:
        value = portfolio_threshold(given, f"portfolio_matrix thresholds.{name}")
    else:
        value = configured
    if value is not None:
        return float(value), "given"
    known = values[~np.isnan(values)]
    if not len(known):
        raise DataValidationError(
            f"portfolio_matrix: no account has a value on the {name} axis, so its median is "
            "undefined. Check the columns (e.g. share_of_wallet needs category_spend) or give "
            "a threshold."
        )
    return float(np.median(known)), "median"


def _score_frame(scores: Any) -> pd.DataFrame | None:
    if scores is None:
        return None
    frame = scores.scores if isinstance(scores, ScoreResult) else scores
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(
            "The 'scores' parameter must be a kamlib.scoring.ScoreResult or a frame with "
            f"account_id, score, tier. Got {type(scores).__name__} instead."
        )
    frame = account_frame(frame, "portfolio_matrix scores")
    require_features(frame, ["score", "tier"], "portfolio_matrix scores")
    return frame[["account_id", "score", "tier"]]
