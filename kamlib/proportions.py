"""Interval estimates of proportions and of their differences (win rates, coverage).

Every layer that reports a share of successes uses these: the forecast tournament's coverage
and the sales-process analyses' win rates (:mod:`kamlib.sales`).  They live below the analysis
packages so that one definition serves them all.

- :func:`wilson_interval`: the Wilson (1927) score interval of one proportion — Newcombe
  (1998a), *Statistics in Medicine* 17, 857–872, method 3.
- :func:`newcombe_interval`: the hybrid score interval of the difference of two independent
  proportions, built from their Wilson intervals — Newcombe (1998b), *Statistics in
  Medicine* 17, 873–890, method 10.
"""

from __future__ import annotations

import math

from kamlib.errors import DataValidationError

#: the 97.5 % quantile of the standard normal
Z95 = 1.959963984540054

__all__ = ["Z95", "newcombe_interval", "wilson_interval"]


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n`` (95 % by default).

    Wilson (1927); Newcombe (1998), *Statistics in Medicine* 17, method 3. ``(nan, nan)``
    when ``n == 0``.

    >>> [round(x, 4) for x in wilson_interval(81, 263)]
    [0.2553, 0.3662]
    """
    if n <= 0:
        return (float("nan"), float("nan"))
    if not 0 <= k <= n:
        raise DataValidationError(
            f"The 'k' parameter of wilson_interval must lie between 0 and n = {n}. Got {k} "
            "instead: k counts the successes among n trials."
        )
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def newcombe_interval(
    k1: int, n1: int, k2: int, n2: int, z: float = Z95
) -> tuple[float, float, float]:
    """The difference ``k1/n1 − k2/n2`` and its hybrid score interval (95 % by default).

    Newcombe (1998b), *Statistics in Medicine* 17, 873–890, method 10: with the Wilson
    intervals ``(l1, u1)`` and ``(l2, u2)`` of the two proportions and ``d = p1 − p2``,

        lower = d − √((p1 − l1)² + (u2 − p2)²),   upper = d + √((u1 − p1)² + (p2 − l2)²).

    Returns ``(d, lower, upper)`` as proportions (−1 … 1); ``(nan, nan, nan)`` when either
    sample is empty.  Small samples give wide intervals, never missing ones.

    >>> [round(x, 4) for x in newcombe_interval(56, 70, 48, 80)]  # Newcombe's example (a)
    [0.2, 0.0524, 0.3339]
    """
    if n1 <= 0 or n2 <= 0:
        nan = float("nan")
        return (nan, nan, nan)
    l1, u1 = wilson_interval(k1, n1, z)
    l2, u2 = wilson_interval(k2, n2, z)
    p1, p2 = k1 / n1, k2 / n2
    d = p1 - p2
    lower = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return (d, max(-1.0, lower), min(1.0, upper))
