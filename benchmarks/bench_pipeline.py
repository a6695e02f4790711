"""Benchmark: funnel analytics over 1M stage-history rows vs one DuckDB GROUP BY over them.

A seeded synthetic pipeline (``--rows`` stage-history rows, about four per opportunity: stage
entries, close-date revisions and the close) is built in memory.  Cases, run alternately in
one process on the same frames (the machine's speed varies; the ratio is the figure):

- ``GROUP BY``: ``SELECT opportunity_id, count(*), min(entered_at), max(entered_at)
  FROM stage_history GROUP BY opportunity_id`` — one DuckDB aggregation over the same
  pandas frame (the least a per-deal funnel has to do), result as pandas.
- ``stage_conversion``: ``kamlib.pipeline.stage_conversion(data, as_of=…, freq="quarterly")``
  — cohort conversion, drop-off and win rate by stage and quarter (integer keys, then the
  first and last entry per stage and deal scattered into one table, and array arithmetic in
  numpy).
- ``funnel``: ``kamlib.pipeline.funnel`` (the same, one cohort over all time).
- ``key step``: the part of ``stage_conversion`` that maps the history's text ids and stage
  labels to integer keys (Arrow hashing); ``SQL join step``: the same done before, in DuckDB
  through Ibis (join on the text opportunity id).  The rest is array arithmetic in numpy.
- *cold* / *warm*: the integer keys are computed once per ``KamData`` and kept beside it
  (the tables are immutable); *cold* drops them before each call, *warm* reuses them.

Before timing, ``stage_conversion`` and ``funnel`` are checked equal to the reference with
the SQL join step (``tests/pipeline_reference.py``, shared with the tests).  ``--dates N`` also times
``pipeline_as_of_many`` over N month ends against ``pipeline_as_of`` called N times (checked
equal first).  Everything runs alternately in one process; load averages are printed.

    .venv/bin/python benchmarks/bench_pipeline.py                  # 1M rows, 3 repeats
    .venv/bin/python benchmarks/bench_pipeline.py --rows 200000 --repeat 5
    .venv/bin/python benchmarks/bench_pipeline.py --rows 200000 --repeat 3 --dates 24

Target (issue 5): funnel analytics within 2× of the GROUP BY.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from kamlib.data import KamData, Snapshot
from kamlib.data.schemas import TABLES, conform
from kamlib.errors import DataQualityWarning
from kamlib.pipeline import funnel, stage_conversion

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from pipeline_reference import history_keys_sql, pipeline_as_of_loop, with_sql_keys

STAGES = ["lead", "qualified", "requirement_confirmed", "solution", "quote", "negotiation"]
GROUP_BY = (
    "SELECT opportunity_id, count(*) AS n, min(entered_at) AS first, max(entered_at) AS last "
    "FROM stage_history GROUP BY opportunity_id"
)


def synthetic(rows: int, seed: int = 11) -> KamData:
    """About ``rows`` stage-history rows: each deal walks up from a start stage, with a
    close-date revision now and then, and is won, lost or still open."""
    rng = np.random.default_rng(seed)
    n = max(rows // 4, 1)
    start = rng.integers(0, 2, n)
    # the last open stage reached; deals reaching negotiation are won half of the time
    final = np.minimum(start + rng.geometric(0.35, n) - 1, 5)
    outcome = np.where(final == 5, rng.integers(0, 2, n), 0)  # 1 won, 0 lost/open
    still_open = rng.random(n) < 0.08
    created = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 5 * 365, n), unit="D")
    n_stages = final - start + 1
    opp = np.repeat(np.arange(n), n_stages)
    k = start[opp] + (np.arange(len(opp)) - np.repeat(np.cumsum(n_stages) - n_stages, n_stages))
    step = rng.integers(5, 60, len(opp)).astype("int64")
    cum = np.cumsum(step)
    offs = cum - np.repeat(cum[np.cumsum(n_stages) - n_stages], n_stages)  # 0 at the first entry
    entered = created[opp] + pd.to_timedelta(
        offs * 86400 + rng.integers(8 * 3600, 18 * 3600, len(opp)), unit="s"
    )
    stage = np.array(STAGES, dtype=object)[k]
    # close-date revisions: a second row in the same stage for a third of the entries
    rev = rng.random(len(opp)) < 0.33
    rev_at = entered[rev] + pd.to_timedelta(rng.integers(1, 5, rev.sum()), unit="D")
    # the close
    closed = ~still_open
    last_day = np.asarray(entered[np.cumsum(n_stages) - 1])
    close_at = pd.DatetimeIndex(last_day[closed]) + pd.to_timedelta(
        rng.integers(6, 60, closed.sum()), unit="D"
    )
    close_stage = np.where(outcome[closed] == 1, "won", "lost")
    ecd = created + pd.to_timedelta(rng.integers(30, 200, n), unit="D")
    hist = pd.DataFrame(
        {
            "opportunity_id": np.concatenate([opp, opp[rev], np.flatnonzero(closed)]),
            "stage": np.concatenate([stage, stage[rev], close_stage]),
            "entered_at": np.concatenate(
                [np.asarray(entered), np.asarray(rev_at), np.asarray(close_at)]
            ),
        }
    )
    hist["amount"] = 100_000.0
    hist["expected_close_date"] = np.asarray(ecd)[hist["opportunity_id"].to_numpy()]
    hist["opportunity_id"] = "OPP-" + hist["opportunity_id"].astype(str).str.zfill(7)
    ids = "OPP-" + pd.Series(np.arange(n)).astype(str).str.zfill(7)
    status = np.where(still_open, "open", np.where(outcome == 1, "won", "lost"))
    closed_date = pd.Series(pd.NaT, index=range(n), dtype="datetime64[us]")
    closed_date[closed] = close_at.normalize()
    opps = pd.DataFrame(
        {"opportunity_id": ids, "account_id": "A" + pd.Series(rng.integers(0, 5000, n)).astype(str),
         "product_line": np.array(["PLC", "Drives", "HMI"], dtype=object)[rng.integers(0, 3, n)],
         "owner": "owner" + pd.Series(rng.integers(0, 60, n)).astype(str), "team": "T1",
         "created_date": created, "stage": np.where(still_open, np.array(STAGES, dtype=object)[final], status),
         "status": status, "closed_date": closed_date, "amount": 100_000.0}
    )  # fmt: skip
    tables = {"opportunities": opps, "stage_history": hist}
    return KamData(
        {name: conform(frame, TABLES[name]) for name, frame in tables.items()},
        snapshot=Snapshot(None, "bench", None, "bench"),
    )


def _median_table(times: dict[str, list[float]], base_name: str) -> None:
    base = statistics.median(times[base_name])
    print(f"{'case':<26}{'median s':>10}{'× base':>10}{'paired ×':>10}   (base: {base_name})")
    for name, ts in times.items():
        med = statistics.median(ts)
        # the ratio of each run to the baseline run just before it (the load drifts)
        paired = statistics.median(t / g for t, g in zip(ts, times[base_name], strict=True))
        print(f"{name:<26}{med:>10.3f}{med / base:>10.2f}{paired:>10.2f}")


def _alternate(cases: dict[str, Callable[[], object]], repeat: int) -> dict[str, list[float]]:
    for fn in cases.values():  # warm-up: imports, first connections
        fn()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, fn in cases.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return times


def funnel_bench(data: KamData, repeat: int) -> None:
    from kamlib.methodology import load_methodology
    from kamlib.pipeline import conversion

    hist = data.stage_history
    as_of = "2026-06-30"
    # equality first: the integer-key path against the SQL join on the text id
    for fn, kw in ((stage_conversion, {"freq": "quarterly"}), (funnel, {})):
        fast = fn(data, as_of=as_of, **kw)
        slow = with_sql_keys(fn, data, as_of=as_of, **kw)
        pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    print("equal to the SQL-join reference: stage_conversion(quarterly), funnel")
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")

    def group_by() -> None:
        stage_history = hist  # noqa: F841  (DuckDB reads the frame by name)
        con.execute(GROUP_BY).df()

    meth = load_methodology()
    ids = data.opportunities["opportunity_id"]

    def cold(fn: Callable[..., object], **kw: object) -> Callable[[], object]:
        def run() -> object:
            conversion._KEYED.clear()  # the integer keys of this KamData computed again
            return fn(data, as_of=as_of, **kw)

        return run

    cases = {
        "GROUP BY": group_by,
        "key step (integer keys)": lambda: conversion._history_keys(hist, ids, meth),
        "SQL join step (before)": lambda: history_keys_sql(hist, ids, meth),
        "stage_conversion cold": cold(stage_conversion, freq="quarterly"),
        "funnel cold": cold(funnel),
        "stage_conversion warm": lambda: stage_conversion(data, as_of=as_of, freq="quarterly"),
        "funnel warm": lambda: funnel(data, as_of=as_of),
    }
    _median_table(_alternate(cases, repeat), "GROUP BY")


def dates_bench(data: KamData, n_dates: int, repeat: int) -> None:
    from kamlib.pipeline import pipeline_as_of, pipeline_as_of_many, stage_events

    with warnings.catch_warnings():  # the synthetic history has rows out of time order
        warnings.simplefilter("ignore", DataQualityWarning)
        events = stage_events(data)
    dates = list(pd.date_range(end="2026-06-30", periods=n_dates, freq="ME"))
    many = pipeline_as_of_many(events, dates)
    pd.testing.assert_frame_equal(many, pipeline_as_of_loop(events, dates), check_exact=True)
    print(f"equal to {n_dates} × pipeline_as_of ({len(many):,} rows)")
    cases = {
        f"{n_dates} × pipeline_as_of": lambda: [pipeline_as_of(events, d) for d in dates],
        "pipeline_as_of_many": lambda: pipeline_as_of_many(events, dates),
        "1 × pipeline_as_of": lambda: pipeline_as_of(events, dates[-1]),
    }
    _median_table(_alternate(cases, repeat), f"{n_dates} × pipeline_as_of")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--dates", type=int, default=0,
        help="also time pipeline_as_of_many against N × pipeline_as_of (N month ends)",
    )  # fmt: skip
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    t0 = time.perf_counter()
    data = synthetic(args.rows)
    print(f"{len(data.stage_history):,} stage-history rows, {len(data.opportunities):,} "
          f"opportunities (built in {time.perf_counter() - t0:.1f} s)")  # fmt: skip
    funnel_bench(data, args.repeat)
    if args.dates:
        dates_bench(data, args.dates, args.repeat)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
