"""Benchmark: Monte Carlo of 100,000 open deals × 10,000 trials vs drawing its uniforms.

The forecast needs one uniform number per deal and trial (won inside the period or not:
``u < p_win × p_in_period``), so the floor is numpy drawing those 10⁹ uniforms.  The
script times, in one process and alternating, (a) ``kamlib.forecast.simulate_wins`` on
100,000 deals × 10,000 trials and (b) the same generator drawing the same uniforms in the
same blocks and doing nothing with them; the figure that matters is the ratio of the median
times (target: ≤ 2).  Peak memory is measured in a child process per variant (``ru_maxrss``)
so each figure is that variant's own (target: < 2 GB; a float64 deals × trials matrix would
be 8 GB).  The simulation's mean is checked against the exact Σ q·v.

    .venv/bin/python benchmarks/bench_forecast.py            # --deals 100000 --trials 10000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import numpy as np


def _inputs(deals: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2026)
    return rng.gamma(1.5, 200_000.0, deals).round(-3), rng.uniform(0.0, 0.9, deals)


def run_simulation(deals: int, trials: int) -> float:
    from kamlib.forecast import exact_moments, simulate_wins

    v, q = _inputs(deals)
    start = time.perf_counter()
    result = simulate_wins(v, q, simulations=trials, seed=1)
    seconds = time.perf_counter() - start
    mean, var = exact_moments(v, q)
    assert abs(result.totals.mean() - mean) < 5 * np.sqrt(var / trials), "mean off"
    return seconds


def run_uniforms(deals: int, trials: int) -> float:
    from kamlib.forecast.simulation import BLOCK_CELLS

    rng = np.random.default_rng(1)
    per_block = max(1, BLOCK_CELLS // deals)
    start = time.perf_counter()
    for first in range(0, trials, per_block):
        rng.random((min(trials, first + per_block) - first, deals))
    return time.perf_counter() - start


def child(kind: str, deals: int, trials: int) -> None:
    seconds = (run_simulation if kind == "simulation" else run_uniforms)(deals, trials)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "peak_bytes": peak}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=["simulation", "uniforms"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.deals, args.trials)
        return 0
    times: dict[str, list[float]] = {"simulation": [], "uniforms": []}
    peaks: dict[str, int] = {}
    for _ in range(args.repeat):
        for kind in ("uniforms", "simulation"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", kind, "--deals", str(args.deals),
                 "--trials", str(args.trials)],
                check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            figures = json.loads(out.strip().splitlines()[-1])
            times[kind].append(figures["seconds"])
            peaks[kind] = max(peaks.get(kind, 0), figures["peak_bytes"])
    sim, uni = statistics.median(times["simulation"]), statistics.median(times["uniforms"])
    print(f"{args.deals:,} deals × {args.trials:,} trials, {args.repeat} runs each (median)")
    print(f"  uniforms only   {uni:7.2f} s   peak RSS {peaks['uniforms'] / 2**20:7.0f} MB")
    print(f"  simulation      {sim:7.2f} s   peak RSS {peaks['simulation'] / 2**20:7.0f} MB")
    print(f"  ratio           {sim / uni:7.2f}   (target ≤ 2)")
    ok = sim / uni <= 2 and peaks["simulation"] < 2 * 2**30
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
