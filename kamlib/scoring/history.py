"""Scores over time: who moved up a tier, who slipped, and which indicators drove the move."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from kamlib.errors import ConfigError, DataValidationError
from kamlib.frames import require_columns
from kamlib.methodology import Methodology, ScoringModel
from kamlib.periods import as_day
from kamlib.scoring.scorecard import _contributions_frame, _score, _scores_frame, resolve_model

NEW = "(new)"
GONE = "(gone)"


def score_history(
    features_by_date: Mapping[date | str, pd.DataFrame] | pd.DataFrame,
    methodology: Methodology | ScoringModel | None = None,
    *,
    weights: Mapping[str, float] | pd.Series | None = None,
) -> pd.DataFrame:
    """Score the accounts at every date: one long table of scores and tiers over time.

    Parameters
    ----------
    features_by_date
        ``{as_of: features frame}``, e.g. one ``account_features(data, as_of=d)`` per
        period end (keys are dates or ``YYYY-MM-DD`` text), or one long frame with an
        ``as_of`` column or index level (``kamlib.features.account_features_history``).
    methodology
        Methodology or ScoringModel (kamlib's default when ``None``).  The same model
        scores every date; with ``method: entropy`` the weights are recomputed per date
        (from that date's accounts), so scores of different dates are then not strictly
        comparable — prefer fixed weights for history.
    weights
        Override the weights (as in :func:`score_accounts`).

    Returns
    -------
    pd.DataFrame
        ``as_of`` (datetime64), ``account_id, score, tier, rank``, then one column per
        indicator with its weighted contribution; sorted by ``as_of`` then ``rank``.
    """
    if isinstance(features_by_date, pd.DataFrame):
        long = features_by_date
        if "as_of" not in long.columns and "as_of" in long.index.names:
            long = long.reset_index()
        if "as_of" not in long.columns:
            raise DataValidationError(
                "A features frame given to score_history needs an 'as_of' column or index "
                "level (as from kamlib.features.account_features_history)."
            )
        features_by_date = {
            pd.Timestamp(d).date(): g.drop(columns="as_of")
            for d, g in long.groupby("as_of", sort=True)
        }
    if not isinstance(features_by_date, Mapping) or not features_by_date:
        raise DataValidationError(
            "The 'features_by_date' parameter of score_history must be a non-empty mapping "
            "{as_of date: features frame} or a long features frame with 'as_of'."
        )
    model = resolve_model(methodology)
    frames = []
    seen: dict[pd.Timestamp, Any] = {}
    for key, features in features_by_date.items():
        as_of = as_day(key, parameter="features_by_date", owner="score_history")
        if as_of in seen:
            raise DataValidationError(
                f"Date {as_of.date()} is given twice ({seen[as_of]!r}, {key!r})."
            )
        seen[as_of] = key
        scored = _score(features, model, weights, "score_history")  # no explanations needed
        scores = _scores_frame(scored, scored.model)[["account_id", "score", "tier", "rank"]]
        contributions = _contributions_frame(scored, scored.model).drop(columns="account_id")
        # an indicator that was off (its table missing) contributed nothing
        contributions = contributions.reindex(columns=list(model.names), fill_value=0.0)
        wide = pd.concat([scores, contributions], axis=1)
        wide.insert(0, "as_of", as_of)
        frames.append(wide)
    out = pd.concat(frames, ignore_index=True)
    out["as_of"] = out["as_of"].astype("datetime64[s]")
    return out.sort_values(["as_of", "rank"], kind="stable").reset_index(drop=True)


@dataclass(frozen=True, eq=False)
class MigrationResult:
    """Tier migration between two dates (see :func:`tier_migration`).

    Attributes
    ----------
    matrix
        Account counts: rows = tier at ``from_date`` (highest first, then ``(new)`` for
        accounts scored only at ``to_date``), columns = tier at ``to_date`` (then
        ``(gone)`` for accounts scored only at ``from_date``).
    movers
        Accounts whose tier changed, risers first: ``account_id, from_tier, to_tier,
        steps`` (tiers moved, positive = up), ``from_score, to_score, score_change,
        direction`` (``up``/``down``) and ``drivers`` (up to three indicators whose weighted
        contribution changed most in the direction of the move, e.g. ``revenue_12m +12.0``).
    from_date, to_date
        The two dates.
    """

    matrix: pd.DataFrame
    movers: pd.DataFrame
    from_date: date
    to_date: date

    @property
    def risers(self) -> pd.DataFrame:
        return self.movers[self.movers["direction"] == "up"].reset_index(drop=True)

    @property
    def fallers(self) -> pd.DataFrame:
        return self.movers[self.movers["direction"] == "down"].reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        """The movers table."""
        return self.movers.copy()

    def summary(self) -> pd.Series:
        """``accounts`` (in both), ``stayed, risers, fallers, new, gone``."""
        m = self.matrix
        tiers = [c for c in m.columns if c != GONE]
        both = m.loc[[r for r in m.index if r != NEW], tiers]
        return pd.Series(
            {
                "accounts": int(both.to_numpy().sum()),
                "stayed": int(np.trace(both.to_numpy())),
                "risers": len(self.risers),
                "fallers": len(self.fallers),
                "new": int(m.loc[NEW].sum()),
                "gone": int(m[GONE].sum()),
            }
        )


def tier_migration(
    history: pd.DataFrame,
    from_date: date | str,
    to_date: date | str,
    methodology: Methodology | ScoringModel | None = None,
    *,
    drivers: int = 3,
) -> MigrationResult:
    """Transition matrix of tiers between two dates, and the accounts that moved.

    Parameters
    ----------
    history
        From :func:`score_history` (``as_of, account_id, score, tier`` and, for the
        drivers, one contribution column per indicator).
    from_date, to_date
        Two dates present in ``history``.
    methodology
        For the tier order (kamlib's default when ``None``); the one that scored history.
    drivers
        How many driving indicators to name per mover.

    Returns
    -------
    MigrationResult
        ``.matrix`` (counts), ``.movers`` / ``.risers`` / ``.fallers``, ``.summary()``.
    """
    model = resolve_model(methodology)
    require_columns(history, ["as_of", "account_id", "score", "tier"], "the history frame")
    d0 = as_day(from_date, parameter="from_date", owner="tier_migration")
    d1 = as_day(to_date, parameter="to_date", owner="tier_migration")
    dates = pd.to_datetime(history["as_of"])
    available = sorted({d.date().isoformat() for d in dates})
    for d in (d0, d1):
        if not (dates == d).any():
            raise ConfigError(
                f"Date {d.date()} is not in the score history. Available: {', '.join(available)}."
            )
    keys = list(model.tier_keys)
    unknown = set(history["tier"].astype(str)) - set(keys)
    if unknown:
        raise DataValidationError(
            f"The history names tier(s) {sorted(unknown)} that the methodology does not define."
        )
    a = history[dates == d0].set_index("account_id")
    b = history[dates == d1].set_index("account_id")
    both = a.index.intersection(b.index)
    matrix = pd.DataFrame(0, index=[*keys, NEW], columns=[*keys, GONE], dtype="int64")
    pairs = pd.crosstab(a.loc[both, "tier"].astype(str), b.loc[both, "tier"].astype(str))
    for r in pairs.index:
        for c in pairs.columns:
            matrix.loc[r, c] = int(pairs.loc[r, c])
    new = b.loc[b.index.difference(a.index), "tier"].astype(str).value_counts()
    gone = a.loc[a.index.difference(b.index), "tier"].astype(str).value_counts()
    for t, cnt in new.items():
        matrix.loc[NEW, t] = int(cnt)
    for t, cnt in gone.items():
        matrix.loc[t, GONE] = int(cnt)
    matrix.index.name = f"tier {d0.date()}"
    matrix.columns.name = f"tier {d1.date()}"

    position = {k: i for i, k in enumerate(keys)}
    t0 = a.loc[both, "tier"].astype(str).map(position)
    t1 = b.loc[both, "tier"].astype(str).map(position)
    steps = (t0 - t1).astype("int64")  # positive = moved up (towards index 0)
    moved = steps[steps != 0].index
    indicator_cols = [n for n in model.names if n in a.columns and n in b.columns]
    rows = []
    for acc in moved:
        s = int(steps[acc])
        change = b.at[acc, "score"] - a.at[acc, "score"]
        text = ""
        if indicator_cols:
            delta = (b.loc[acc, indicator_cols] - a.loc[acc, indicator_cols]).astype(float)
            delta = delta[np.sign(delta) == np.sign(s)]
            delta = delta.reindex(delta.abs().sort_values(ascending=False, kind="stable").index)
            text = "; ".join(f"{k} {v:+.1f}" for k, v in delta.head(drivers).items())
        rows.append(
            {
                "account_id": str(acc),
                "from_tier": str(a.at[acc, "tier"]),
                "to_tier": str(b.at[acc, "tier"]),
                "steps": s,
                "from_score": float(a.at[acc, "score"]),
                "to_score": float(b.at[acc, "score"]),
                "score_change": float(change),
                "direction": "up" if s > 0 else "down",
                "drivers": text,
            }
        )
    columns = ["account_id", "from_tier", "to_tier", "steps", "from_score", "to_score",
               "score_change", "direction", "drivers"]  # fmt: skip
    movers = pd.DataFrame(rows, columns=columns)
    if len(movers):
        movers = movers.assign(_up=movers["direction"] == "up", _abs=movers["score_change"].abs())
        movers = movers.sort_values(
            ["_up", "steps", "_abs", "account_id"],
            ascending=[False, False, False, True],
            key=lambda c: c.abs() if c.name == "steps" else c,
            kind="stable",
        ).drop(columns=["_up", "_abs"])
    movers = movers.reset_index(drop=True).astype(
        {"account_id": "str", "from_tier": "str", "to_tier": "str", "direction": "str",
         "drivers": "str", "steps": "int64"}
    )  # fmt: skip
    return MigrationResult(matrix=matrix, movers=movers, from_date=d0.date(), to_date=d1.date())
