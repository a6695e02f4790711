"""Gains curves of a back-test: how much of the following year's value the accounts ranked
first by the score, by a baseline and by the value itself hold."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: Points of each curve of :func:`gains_curves` (enough for a smooth line).
CURVE_POINTS = 201


def gains_curves(
    score: np.ndarray, baseline: np.ndarray, value: np.ndarray, *, points: int = CURVE_POINTS
) -> pd.DataFrame:
    """Cumulative value share against cumulative account share, ranking by each key:
    ``ranking`` (``score``, ``baseline``, ``perfect`` — the value itself), ``account_share``
    (``points`` values evenly from 0 to 1), ``value_share``.

    Tied accounts form one straight step, as in :func:`kamlib.scoring.ranking_gini`; a
    missing key ranks last.  The three arrays are per account, of the same length.
    """
    grid = np.linspace(0.0, 1.0, points)
    total = math.fsum(value)
    pieces = []
    for name, key in (("score", score), ("baseline", baseline), ("perfect", value)):
        k = np.where(np.isnan(key), -np.inf, key)
        groups = (
            pd.DataFrame({"k": k, "v": value}).groupby("k", sort=True)["v"].agg(["size", "sum"])
        ).iloc[::-1]
        x = np.concatenate([[0.0], np.cumsum(groups["size"].to_numpy()) / len(value)])
        y = np.concatenate([[0.0], np.cumsum(groups["sum"].to_numpy()) / total])
        pieces.append(
            pd.DataFrame(
                {"ranking": name, "account_share": grid, "value_share": np.interp(grid, x, y)}
            )
        )
    return pd.concat(pieces, ignore_index=True)
