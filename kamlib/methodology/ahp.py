"""The Analytic Hierarchy Process: weights from a pairwise-comparison matrix (pure maths).

Used by the ``scoring.weights`` section of the methodology file (``method: ahp``, checked on
load) and re-exported by :mod:`kamlib.scoring` for analysts who compare criteria by hand.

References
----------
- Saaty, T. L. (1980). *The Analytic Hierarchy Process*. McGraw-Hill, New York — the
  principal-eigenvector priorities, the consistency index CI = (λmax − n) / (n − 1), the
  random index RI (average CI of random reciprocal matrices on the 1–9 scale; the table
  below) and the acceptance rule CR = CI / RI < 0.1.
- Saaty, T. L. (1990). How to make a decision: the Analytic Hierarchy Process. *European
  Journal of Operational Research* 48, 9–26 — the worked example used in the tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from kamlib.errors import ConfigError

#: Saaty's random index RI by matrix order n (Saaty 1980, the table reproduced in Saaty 1990
#: and most AHP texts).  Orders above 10 need an explicit ``random_index``.
RANDOM_INDEX: dict[int, float] = {
    1: 0.0, 2: 0.0, 3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41, 9: 1.45, 10: 1.49,
}  # fmt: skip

#: a[j, i] · a[i, j] may differ from 1 by this much (people write 0.33 for 1/3)
RECIPROCAL_TOLERANCE = 0.02

#: Saaty's acceptance limit for the consistency ratio of a pairwise-comparison matrix
AHP_MAX_CONSISTENCY_RATIO = 0.1


@dataclass(frozen=True, eq=False)
class AhpResult:
    """Priorities and consistency of a pairwise-comparison matrix (see :func:`ahp_weights`).

    Attributes
    ----------
    weights
        Priority of each criterion (the normalised principal eigenvector), summing to 1.
    lambda_max
        The principal eigenvalue λmax (= n for a perfectly consistent matrix).
    consistency_index
        CI = (λmax − n) / (n − 1) (0 for n ≤ 2).
    random_index
        RI used (Saaty 1980 table, or the value given).
    consistency_ratio
        CR = CI / RI (0 for n ≤ 2); Saaty accepts CR < 0.1.
    matrix
        The comparison matrix with the criteria as index and columns.
    """

    weights: pd.Series
    lambda_max: float
    consistency_index: float
    random_index: float
    consistency_ratio: float
    matrix: pd.DataFrame

    @property
    def is_consistent(self) -> bool:
        return self.consistency_ratio < AHP_MAX_CONSISTENCY_RATIO

    def to_frame(self) -> pd.DataFrame:
        """``criterion, weight``, highest weight first."""
        out = self.weights.sort_values(ascending=False, kind="stable").rename("weight")
        return out.rename_axis("criterion").reset_index()

    def summary(self) -> pd.Series:
        """``n, lambda_max, consistency_index, random_index, consistency_ratio, consistent``."""
        return pd.Series(
            {
                "n": len(self.weights),
                "lambda_max": self.lambda_max,
                "consistency_index": self.consistency_index,
                "random_index": self.random_index,
                "consistency_ratio": self.consistency_ratio,
                "consistent": self.is_consistent,
            },
            dtype=object,
        )


def ahp_weights(
    matrix: Any,
    labels: Sequence[str] | None = None,
    *,
    allow_inconsistent: bool = False,
    random_index: float | None = None,
) -> AhpResult:
    """Weights from an AHP pairwise-comparison matrix (Saaty's eigenvector method).

    ``matrix[i][j]`` says how much more important criterion i is than criterion j on
    Saaty's 1–9 scale (1 equal, 3 moderate, 5 strong, 7 very strong, 9 extreme; the
    reciprocals for the reverse).  The weights are the principal (Perron) eigenvector of
    the matrix, normalised to sum to 1; λmax is its eigenvalue, CI = (λmax − n)/(n − 1),
    and CR = CI / RI with Saaty's random index RI (Saaty 1980, *The Analytic Hierarchy
    Process*, table in :data:`RANDOM_INDEX`, orders 1–10).

    Parameters
    ----------
    matrix
        Square, positive, reciprocal (``a[j, i] = 1 / a[i, j]``, ones on the diagonal):
        nested lists, a NumPy array or a DataFrame (whose index labels the criteria).
    labels
        Criterion names in row order (default: the DataFrame's index, or 0 … n−1).
    allow_inconsistent
        Return the weights even when CR ≥ 0.1 (by default that is refused).
    random_index
        Override RI (needed for more than 10 criteria, where the table stops).

    Returns
    -------
    AhpResult
        ``.weights`` (Series indexed by label), ``.lambda_max``, ``.consistency_index``,
        ``.consistency_ratio``.

    Raises
    ------
    ConfigError
        Not square, a non-positive or non-finite entry, a diagonal other than 1, a
        non-reciprocal pair, CR ≥ 0.1 (unless ``allow_inconsistent``), more than 10
        criteria without ``random_index``.

    Examples
    --------
    >>> r = ahp_weights([[1, 3], [1 / 3, 1]], labels=["revenue", "growth"])
    >>> r.weights.round(2).tolist()
    [0.75, 0.25]
    """
    if labels is None and isinstance(matrix, pd.DataFrame):
        if list(matrix.index) != list(matrix.columns):
            raise ConfigError(
                "The AHP matrix's index and columns must name the same criteria in the same order."
            )
        labels = [str(c) for c in matrix.index]
    try:
        a = np.asarray(matrix, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"The AHP matrix must hold numbers only (rows of equal length). Got {matrix!r}."
        ) from exc
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ConfigError(f"The AHP matrix must be square (n × n). Got shape {a.shape} instead.")
    n = a.shape[0]
    names = [str(x) for x in (labels if labels is not None else range(n))]
    if len(names) != n:
        raise ConfigError(f"The AHP matrix has {n} rows but {len(names)} labels were given.")
    if len(set(names)) != n:
        raise ConfigError("The AHP labels must be unique.")

    def pair(i: int, j: int) -> str:
        return f"[{i}][{j}] ('{names[i]}' vs '{names[j]}')"

    for i in range(n):
        for j in range(n):
            if not math.isfinite(a[i, j]) or a[i, j] <= 0:
                raise ConfigError(
                    f"AHP matrix entry {pair(i, j)} is {a[i, j]:g}; every judgement must be a "
                    "positive number (1–9 or a reciprocal such as 1/3)."
                )
    for i in range(n):
        if abs(a[i, i] - 1) > 1e-9:
            raise ConfigError(
                f"AHP matrix entry {pair(i, i)} is {a[i, i]:g}; the diagonal must be 1 (a "
                "criterion is as important as itself)."
            )
    for i in range(n):
        for j in range(i + 1, n):
            if abs(a[i, j] * a[j, i] - 1) > RECIPROCAL_TOLERANCE:
                raise ConfigError(
                    f"AHP matrix entry {pair(j, i)} is {a[j, i]:.4g} but 1/{pair(i, j)} is "
                    f"{1 / a[i, j]:.4g}; the matrix must be reciprocal: a[j][i] = 1 / a[i][j]."
                )

    values, vectors = np.linalg.eig(a)
    k = int(np.argmax(values.real))
    lambda_max = float(values[k].real)
    vec = vectors[:, k].real
    w = vec / vec.sum()
    if not np.all(w > 0):  # cannot happen for a positive matrix (Perron–Frobenius)
        raise ConfigError("The AHP matrix has no positive principal eigenvector.")
    ci = (lambda_max - n) / (n - 1) if n > 1 else 0.0
    ci = 0.0 if abs(ci) < 1e-12 else ci
    if random_index is None:
        if n not in RANDOM_INDEX:
            raise ConfigError(
                f"Saaty's random-index table covers 1–10 criteria; this matrix compares {n}. "
                "Group the criteria into a hierarchy of at most 10, or give random_index "
                "explicitly."
            )
        ri = RANDOM_INDEX[n]
    else:
        ri = float(random_index)
        if not ri > 0 and n > 2:
            raise ConfigError(f"random_index must be positive. Got {random_index!r} instead.")
    cr = ci / ri if (n > 2 and ri > 0) else 0.0
    result = AhpResult(
        weights=pd.Series(w, index=pd.Index(names, name="criterion"), name="weight"),
        lambda_max=lambda_max,
        consistency_index=ci,
        random_index=ri,
        consistency_ratio=cr,
        matrix=pd.DataFrame(a, index=names, columns=names),
    )
    if cr >= AHP_MAX_CONSISTENCY_RATIO and not allow_inconsistent:
        ratio = a * w[None, :] / w[:, None]  # judgement ÷ ratio implied by the weights
        dev = np.maximum(ratio, 1 / ratio)
        i, j = np.unravel_index(int(np.argmax(dev)), dev.shape)
        i, j = (int(i), int(j)) if i < j else (int(j), int(i))
        raise ConfigError(
            f"The AHP judgements are too inconsistent: consistency ratio {cr:.3f} ≥ 0.1 "
            f"(λmax {lambda_max:.3f}, CI {ci:.3f}, RI {ri:.2f} for n = {n}). Revise them — "
            f"the judgement that contradicts the others most is {pair(i, j)} = {a[i, j]:.4g}, "
            f"where the resulting weights imply {w[i] / w[j]:.3g} — or accept it explicitly "
            "(allow_inconsistent)."
        )
    return result

