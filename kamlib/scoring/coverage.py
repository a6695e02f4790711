"""Which indicators a group of accounts could be scored on, and the best score left possible."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from kamlib.scoring.scorecard import ScoreResult


def indicator_coverage(result: ScoreResult, account_ids: Iterable[str]) -> pd.DataFrame:
    """Per indicator of the scoring over the accounts ``account_ids``: ``indicator``,
    ``known_share`` (the share of the accounts with a value) and ``constant`` (more than one
    account, and every account with a value got the same points).  Indicators in the
    methodology's order."""
    ids = set(account_ids)
    names = list(result.model.names)
    ex = result.explanations
    ex = ex[ex["account_id"].isin(ids)]
    known = ex["missing_reason"].isna() | (ex["missing_reason"].astype(str) == "")
    share = known.groupby(ex["indicator"], sort=False).mean()
    distinct = ex[known].groupby("indicator", sort=False)["points"].nunique()
    return pd.DataFrame(
        {
            "indicator": names,
            "known_share": [float(share.get(n, 0.0)) if len(ex) else 0.0 for n in names],
            "constant": [len(ids) > 1 and int(distinct.get(n, 0)) == 1 for n in names],
        }
    )


def max_score_possible(result: ScoreResult, coverage: pd.DataFrame) -> float:
    """The highest score any account could reach with this data: indicators without a value
    for any account (``known_share`` 0 in :func:`indicator_coverage`) are scored by their
    missing-value rule (fixed points, or left out with the other weights re-normalised)."""
    status = coverage.set_index("indicator")["known_share"]
    weights = result.weights
    earned = total = 0.0
    for ind in result.model.indicators:
        w = float(weights.get(ind.name, 0.0))
        if status.get(ind.name, 0.0) > 0:
            earned, total = earned + w * 100.0, total + w
        elif not ind.missing.exclude:
            earned, total = earned + w * float(ind.missing.points or 0.0), total + w
    return earned / total if total > 0 else 0.0
