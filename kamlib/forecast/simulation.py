"""The Monte Carlo engine: how much of an open pipeline is won inside one period.

Each open deal *i* counts in a trial when it is won **and** closes inside the period.  Win
and timing are independent given the deal's state, so the deal counts with probability
``q_i = p_win_i × p_in_period_i``, and one uniform number per deal and trial decides it
(``u < q_i``).  The trial's total is ``Σ_i v_i · [u_i < q_i]`` — exactly the model
"each deal wins with p and closes at expected close + a slippage draw", with the slippage
distribution folded into ``p_in_period`` beforehand (:func:`kamlib.forecast.period_probability`).

For independent deals the total has mean ``Σ q_i v_i`` and variance ``Σ q_i (1 − q_i) v_i²``;
``tests/test_forecast_simulation.py`` checks the simulation against both.

Memory: trials are drawn in blocks of about :data:`BLOCK_CELLS` deal-trial cells (2 MB of
float64 uniforms), never a deals × trials matrix.  The block shape depends only on the number
of deals, so a seed reproduces a run to the last digit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kamlib.errors import DataValidationError

#: deal × trial cells drawn per block (float64: 2 MB of uniforms, about a CPU cache).
BLOCK_CELLS = 1 << 18


@dataclass(frozen=True)
class SimulationResult:
    """Totals of every trial: ``totals`` (trials,) and ``by_group`` (trials × groups).

    ``groups`` names the columns of ``by_group`` (empty when no grouping was asked).
    """

    totals: np.ndarray
    by_group: np.ndarray
    groups: tuple[str, ...]
    seed: int

    def quantiles(self, qs: tuple[float, ...] = (0.1, 0.5, 0.9)) -> np.ndarray:
        """Quantiles of the totals (linear interpolation between trials)."""
        return np.quantile(self.totals, qs)


def simulate_wins(
    amounts: np.ndarray,
    probabilities: np.ndarray,
    *,
    simulations: int,
    seed: int,
    groups: np.ndarray | None = None,
    group_names: tuple[str, ...] = (),
) -> SimulationResult:
    """Simulate the won amount of independent deals, trial by trial.

    Parameters
    ----------
    amounts
        Amount ``v_i`` of each deal (finite, ≥ 0).
    probabilities
        Probability ``q_i`` that the deal counts (won and inside the period), in [0, 1].
    simulations
        Number of trials (≥ 1).
    seed
        Seed of ``numpy.random.default_rng``.
    groups
        Optional group code of each deal (0 … len(group_names) − 1); the result then also
        holds each group's total per trial.
    group_names
        Names of the group codes.

    Returns
    -------
    SimulationResult

    Examples
    --------
    >>> r = simulate_wins(np.array([100.0, 50.0]), np.array([0.5, 1.0]), simulations=1000, seed=1)
    >>> sorted(set(r.totals))
    [50.0, 150.0]
    """
    v = np.asarray(amounts, dtype=np.float64)
    q = np.asarray(probabilities, dtype=np.float64)
    if v.ndim != 1 or q.shape != v.shape:
        raise DataValidationError(
            f"amounts and probabilities must be two 1-d arrays of the same length. Got shapes "
            f"{v.shape} and {q.shape} instead."
        )
    if not np.isfinite(v).all() or (v < 0).any():
        bad = int(np.flatnonzero(~np.isfinite(v) | (v < 0))[0])
        raise DataValidationError(
            f"Deal {bad} has amount {float(v[bad])!r}: amounts must be finite and ≥ 0. Fill or drop "
            "deals without an amount before simulating."
        )
    if not np.isfinite(q).all() or (q < 0).any() or (q > 1).any():
        bad = int(np.flatnonzero(~np.isfinite(q) | (q < 0) | (q > 1))[0])
        raise DataValidationError(
            f"Deal {bad} has probability {float(q[bad])!r}: probabilities must lie in [0, 1]."
        )
    if int(simulations) < 1:
        raise DataValidationError(
            f"The 'simulations' parameter must be at least 1. Got {simulations!r} instead."
        )
    simulations = int(simulations)
    groupings: tuple[tuple[np.ndarray, int], ...] = ()
    if groups is not None:
        codes = np.asarray(groups, dtype=np.int64)
        n_groups = len(group_names)
        if codes.shape != v.shape or (len(v) and (codes.min() < 0 or codes.max() >= n_groups)):
            raise DataValidationError(
                f"groups must give each deal a code 0–{n_groups - 1}. Got shape {codes.shape}."
            )
        groupings = ((codes, n_groups),)
    totals, per_group = simulate_matrix(
        q, v, simulations=simulations, seed=seed, groupings=groupings
    )
    return SimulationResult(
        totals=totals,
        by_group=per_group[0] if per_group else np.zeros((simulations, 0)),
        groups=tuple(group_names) if groups is not None else (),
        seed=int(seed),
    )


def simulate_matrix(
    probabilities: np.ndarray,
    amounts: np.ndarray,
    *,
    simulations: int,
    seed: int,
    groupings: tuple[tuple[np.ndarray, int], ...] = (),
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The engine behind :func:`simulate_wins` (no input checks here).

    Returns the total per trial, ``Σ_i v_i · [u_i < q_i]`` with fresh uniforms ``u`` per
    trial, and for each grouping ``(codes, n_groups)`` a trials × n_groups array of the
    groups' totals.  One uniform per deal and trial, drawn in blocks of about
    :data:`BLOCK_CELLS` cells (a block stays in the CPU cache while it is compared and
    summed); the comparison overwrites the uniforms in place.  The sums use numpy's own
    loops (``einsum``, ``add.reduceat``), not BLAS, so a seed gives the same digits whatever
    the BLAS library or its thread count.
    """
    q = np.asarray(probabilities, dtype=np.float64)
    v = np.asarray(amounts, dtype=np.float64)
    n = len(q)
    totals = np.zeros(simulations)
    plans = []
    for codes, n_groups in groupings:
        codes = np.asarray(codes, dtype=np.int64)
        order = np.argsort(codes, kind="stable")
        present, starts = np.unique(codes[order], return_index=True)
        plans.append((order, present, starts, np.zeros((simulations, n_groups))))
    if n == 0:
        return totals, [plan[3] for plan in plans]
    rng = np.random.default_rng(seed)
    per_block = max(1, BLOCK_CELLS // n)
    for start in range(0, simulations, per_block):
        stop = min(simulations, start + per_block)
        u = rng.random((stop - start, n))
        np.less(u, q, out=u)  # the uniforms become the 0/1 indicator: no second matrix
        if not plans:
            totals[start:stop] = np.einsum("ij,j->i", u, v)
            continue
        np.multiply(u, v, out=u)  # won amount of each deal in each trial
        totals[start:stop] = u.sum(axis=1)
        for order, present, starts, out in plans:
            out[start:stop, present] = np.add.reduceat(u[:, order], starts, axis=1)
    return totals, [plan[3] for plan in plans]


def exact_moments(amounts: np.ndarray, probabilities: np.ndarray) -> tuple[float, float]:
    """Mean ``Σ q v`` and variance ``Σ q (1 − q) v²`` of the won amount of independent deals."""
    v = np.asarray(amounts, dtype=np.float64)
    q = np.asarray(probabilities, dtype=np.float64)
    return float(np.sum(q * v)), float(np.sum(q * (1 - q) * v * v))
