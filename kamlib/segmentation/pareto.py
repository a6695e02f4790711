"""ABC / Pareto analysis (二八定律) and the Lorenz curve with its Gini coefficient."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kamlib.errors import ConfigError, DataValidationError
from kamlib.frames import numeric_column
from kamlib.methodology import check_abc_limits
from kamlib.segmentation._frames import account_frame, require_features

__all__ = ["ABC_COLUMNS", "LorenzCurve", "abc_analysis", "lorenz_curve"]

ABC_COLUMNS = ["account_id", "value", "share", "cumulative_share", "rank", "abc_class"]


def _values(values: Any, column: str | None, who: str) -> pd.DataFrame:
    """(account_id, value) from a Series indexed by account or a frame + column."""
    if isinstance(values, pd.Series):
        if column is not None:
            raise ConfigError(
                f"The 'column' parameter of {who} is for a DataFrame; a Series was given."
            )
        frame = account_frame(values.rename("value").to_frame().rename_axis("account_id"), who)
        return pd.DataFrame(
            {"account_id": frame["account_id"], "value": numeric_column(frame, "value", who)}
        )
    if isinstance(values, pd.DataFrame):
        col = column or "revenue_12m"
        frame = account_frame(values, who)
        require_features(frame, [col], who)
        return pd.DataFrame(
            {"account_id": frame["account_id"], "value": numeric_column(frame, col, who)}
        )
    raise DataValidationError(
        f"The 'values' parameter of {who} must be a pandas Series indexed by account_id or a "
        f"DataFrame with a value column. Got {type(values).__name__} instead."
    )


def abc_analysis(
    values: pd.Series | pd.DataFrame,
    *,
    a: float = 0.8,
    b: float = 0.95,
    column: str | None = None,
) -> pd.DataFrame:
    """ABC classes by cumulative share of value (Pareto analysis).

    Accounts are ranked by value, highest first (ties broken by ``account_id``).  Class A
    is the fewest top accounts whose values make at least share ``a`` of the total (the
    account that crosses ``a`` is in A — the same rule as the scoring's Pareto rule), B
    continues up to share ``b``, C is the rest.

    Parameters
    ----------
    values
        A Series of values indexed by ``account_id``, or a frame with ``account_id``
        (column or index) and ``column``.
    a, b
        Class limits as shares of the total: ``0 < a < b <= 1``.
    column
        The value column of a frame (``revenue_12m`` by default).

    Returns
    -------
    pandas.DataFrame
        One row per account in rank order: ``account_id``, ``value`` (as given),
        ``share`` (of the total), ``cumulative_share`` (including the account), ``rank``
        (1 = largest; ``Int64``), ``abc_class`` (``A``/``B``/``C``).

    Notes
    -----
    Shares are of the total of the **positive** values: a value of 0 or below (no revenue,
    or returns exceeding purchases) contributes a share of 0 and is class C.  A missing
    value (NaN) gets no share, no rank and no class (NA) and comes last.  When no value is
    positive the shares are NaN and every account with a value is class C.

    Examples
    --------
    >>> abc_analysis(features, column="revenue_12m")  # doctest: +SKIP
    """
    a, b = check_abc_limits(a, b, "abc_analysis")
    frame = _values(values, column, "abc_analysis")
    value = frame["value"].to_numpy(dtype=float)
    known = ~np.isnan(value)
    positive = np.where(known, np.clip(value, 0.0, None), 0.0)
    order = np.lexsort(
        (frame["account_id"].to_numpy(dtype=object), np.where(known, -value, 0.0), ~known)
    )
    ranked = frame.iloc[order].reset_index(drop=True)
    pos = positive[order]
    ok = known[order]
    total = math.fsum(pos)
    n = len(ranked)
    share = np.full(n, np.nan)
    cumulative = np.full(n, np.nan)
    classes = np.full(n, None, dtype=object)
    if total > 0:
        share[ok] = pos[ok] / total
        cumulative[ok] = np.cumsum(pos[ok]) / total
        before = np.concatenate([[0.0], cumulative[ok][:-1]]) if ok.any() else np.zeros(0)
        cls = np.where(before < a, "A", np.where(before < b, "B", "C")).astype(object)
        cls[pos[ok] <= 0] = "C"
        classes[ok] = cls
    else:
        classes[ok] = "C"
    rank = pd.array(np.where(ok, np.arange(1, n + 1), 0), dtype="Int64")
    rank[~ok] = pd.NA
    return pd.DataFrame(
        {
            "account_id": ranked["account_id"].to_numpy(),
            "value": ranked["value"].to_numpy(dtype=float),
            "share": share,
            "cumulative_share": cumulative,
            "rank": rank,
            "abc_class": pd.array(classes, dtype="str"),
        }
    )


@dataclass(frozen=True)
class LorenzCurve:
    """The Lorenz curve of a value over accounts and its Gini coefficient.

    Attributes
    ----------
    points
        ``account_share`` (0 … 1) and ``value_share`` (0 … 1): the share of the total held
        by the smallest ``account_share`` of the accounts; starts at (0, 0), one point per
        account, smallest first (ties broken by ``account_id``).
    gini
        ``1 − 2 × area under the curve`` (trapezoids; equal to the mean absolute difference
        formula ``Σ|xi − xj| / (2 n² mean)``): 0 when every account has the same value,
        ``1 − 1/n`` when one account has everything.
    accounts
        Accounts with a value (missing values are left out).
    total
        Sum of the values counted (negatives counted as 0).
    """

    points: pd.DataFrame
    gini: float
    accounts: int
    total: float

    def top_share(self, account_share: float) -> float:
        """Share of the total held by the top ``account_share`` of the accounts
        (interpolated): ``top_share(0.2)`` is 0.8 in a textbook 80/20 book."""
        if not 0 <= account_share <= 1:
            raise ConfigError(
                f"The 'account_share' parameter of top_share must lie in [0, 1]. Got "
                f"{account_share!r} instead."
            )
        x = self.points["account_share"].to_numpy()
        y = self.points["value_share"].to_numpy()
        return float(1.0 - np.interp(1.0 - account_share, x, y))

    def to_frame(self) -> pd.DataFrame:
        """The points, largest accounts first (the Pareto view): ``account_share`` of the
        top accounts and the ``value_share`` they hold."""
        x = self.points["account_share"].to_numpy()
        y = self.points["value_share"].to_numpy()
        return pd.DataFrame({"account_share": 1.0 - x[::-1], "value_share": 1.0 - y[::-1]})

    def summary(self) -> pd.DataFrame:
        """One row: accounts, total, gini, top_10, top_20, top_50 (value shares)."""
        return pd.DataFrame(
            [
                {
                    "accounts": self.accounts,
                    "total": self.total,
                    "gini": self.gini,
                    "top_10": self.top_share(0.1),
                    "top_20": self.top_share(0.2),
                    "top_50": self.top_share(0.5),
                }
            ]
        )


def lorenz_curve(values: pd.Series | pd.DataFrame, *, column: str | None = None) -> LorenzCurve:
    """The Lorenz curve and the Gini coefficient of ``values`` over accounts.

    Parameters
    ----------
    values
        A Series indexed by ``account_id``, or a frame and ``column`` (``revenue_12m`` by
        default).
    column
        The value column of a frame.

    Returns
    -------
    LorenzCurve
        ``.points``, ``.gini``, ``.top_share(p)``, ``.to_frame()`` (Pareto view),
        ``.summary()``.

    Raises
    ------
    DataValidationError
        No account has a positive value (the curve is undefined).

    Notes
    -----
    Missing values (NaN) are left out; negative values count as 0 (as in
    :func:`abc_analysis`).

    Examples
    --------
    >>> lorenz_curve(features["revenue_12m"]).gini  # doctest: +SKIP
    0.71
    """
    frame = _values(values, column, "lorenz_curve")
    value = frame["value"].to_numpy(dtype=float)
    known = ~np.isnan(value)
    ids = frame["account_id"].to_numpy(dtype=object)[known]
    x = np.clip(value[known], 0.0, None)
    total = math.fsum(x)
    if not len(x) or total <= 0:
        raise DataValidationError(
            "lorenz_curve: no account has a positive value, so the curve is undefined. Check "
            "the column (and the as-of date of the features)."
        )
    order = np.lexsort((ids, x))
    y = np.concatenate([[0.0], np.cumsum(x[order]) / total])
    y[-1] = 1.0
    n = len(x)
    xs = np.arange(n + 1) / n
    area = float(np.sum((y[1:] + y[:-1]) / 2.0) / n)
    gini = 1.0 - 2.0 * area
    points = pd.DataFrame({"account_share": xs, "value_share": y})
    return LorenzCurve(points=points, gini=gini, accounts=n, total=total)
