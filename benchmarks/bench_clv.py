"""Benchmark: BG/NBD fit on CDNOW, kamlib's BetaGeoModel vs lifetimes 0.11.3's BetaGeoFitter.

Both fit the same summary (the 2,357-customer CDNOW sample, 39-week calibration, time in
weeks, built by ``kamlib.clv.rfm_summary`` from ``tests/data/cdnow_sample.csv``) in the same
process, alternating, several times; the figure that matters is the ratio of the median
times (lifetimes ÷ kamlib), since the machine's speed varies.  Both fits include what
each library does in ``fit``: input checks, the optimisation and the standard errors.
The parameters must agree to 1e-3.

lifetimes is not a kamlib dependency: install it into the environment only to run this
script, pinned so nothing else moves, and remove it afterwards::

    .venv/bin/pip install -c constraints.txt lifetimes==0.11.3   # adds autograd, dill
    .venv/bin/python benchmarks/bench_clv.py                    # --repeat 20
    .venv/bin/pip uninstall -y lifetimes autograd dill

The target (issue 4): kamlib at least 5× faster, parameters equal to 1e-3.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
CDNOW = HERE.parent / "tests" / "data" / "cdnow_sample.csv"


def cdnow_summary() -> pd.DataFrame:
    from kamlib.clv import rfm_summary

    orders = pd.read_csv(CDNOW)
    return rfm_summary(
        orders,
        observation_end="1998-06-30",
        calibration_end="1997-09-30",
        customer_col="customer_id",
        freq="W",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="fits per library (default 10)")
    args = parser.parse_args()

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lifetimes / autograd deprecation noise
            import lifetimes
            from lifetimes import BetaGeoFitter
    except ImportError:
        print(
            "lifetimes is not installed. Run:\n"
            "    .venv/bin/pip install -c constraints.txt lifetimes==0.11.3",
            file=sys.stderr,
        )
        return 2

    from kamlib.clv import BetaGeoModel

    summary = cdnow_summary()
    x, t_x, age = summary["frequency"], summary["recency"], summary["T"]

    def fit_kamlib() -> pd.Series:
        model = BetaGeoModel().fit(summary)
        assert model.converged_
        return model.params_, model.standard_errors_

    def fit_lifetimes() -> pd.Series:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = BetaGeoFitter().fit(x, t_x, age)
        return model.params_, model.standard_errors_

    # warm-up: imports, first-call overheads
    fit_kamlib()
    fit_lifetimes()
    times: dict[str, list[float]] = {"kamlib": [], "lifetimes": []}
    results: dict[str, tuple[pd.Series, pd.Series]] = {}
    for _ in range(args.repeat):
        for name, fit in (("kamlib", fit_kamlib), ("lifetimes", fit_lifetimes)):
            start = time.perf_counter()
            results[name] = fit()
            times[name].append(time.perf_counter() - start)

    (ours, our_se), (theirs, their_se) = results["kamlib"], results["lifetimes"]
    theirs = theirs[ours.index]
    diff = float(np.max(np.abs(ours.to_numpy() - theirs.to_numpy())))
    k, lt = statistics.median(times["kamlib"]), statistics.median(times["lifetimes"])
    print(f"CDNOW sample: {len(summary)} customers, 39-week calibration, time in weeks")
    print(f"lifetimes {lifetimes.__version__}, {args.repeat} fits each, alternating\n")
    print(f"{'':10}{'r':>10}{'alpha':>10}{'a':>10}{'b':>10}{'median s':>12}{'min s':>10}")
    for name, params, se in (("kamlib", ours, our_se), ("lifetimes", theirs, their_se)):
        vals = "".join(f"{v:>10.4f}" for v in params)
        print(f"{name:10}{vals}{statistics.median(times[name]):>12.4f}{min(times[name]):>10.4f}")
        print(f"{'  std err':10}" + "".join(f"{v:>10.6f}" for v in se[ours.index]))
    print("published (Fader, Hardie & Lee 2005): r=0.243 alpha=4.414 a=0.793 b=2.426")
    print(f"\nlargest parameter difference: {diff:.2e} (target <= 1e-3)")
    print(f"speed-up (median lifetimes / median kamlib): {lt / k:.1f}x (target >= 5x)")
    print(
        f"speed-up (fastest lifetimes / fastest kamlib): {min(times['lifetimes']) / min(times['kamlib']):.1f}x"
    )
    return 0 if diff <= 1e-3 else 1


if __name__ == "__main__":
    raise SystemExit(main())
