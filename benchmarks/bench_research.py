"""Benchmark: assembling customer research dossiers, against loading the store and rendering.

Same run, same machine:

load
    ``kamlib.data.load(store)`` of the store, cold (the first load of the process).
context
    :func:`kamlib.research.research_context` once per batch: point-in-time features and scores
    at the date and at the comparison date, peers' purchases, every ticket's clocks, the open
    pipeline, per-account row indices.
dossier
    :func:`kamlib.research.account_dossier` per account (with and without ``mask_pii``), for
    the first ``--accounts`` accounts of the Strategic tier (then Key) — the issue's target is
    under 0.3 s per account.
render
    ``kam report customer_research --for ids:…`` for ``--render`` of those accounts: wall time
    of the whole command ÷ reports (Python start, imports, warm kernels, the context, every
    chart and the HTML export included).

Prints seconds and the ratios dossier ÷ load and dossier ÷ render per report.  Plain script:

    .venv/bin/python benchmarks/bench_research.py                       # data/demo.duckdb
    .venv/bin/python benchmarks/bench_research.py --accounts 50 --render 10
    .venv/bin/python benchmarks/bench_research.py --store /tmp/big.duckdb --render 0

Work files go to ``benchmarks/_work/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "_work"
AS_OF = "2026-09-30"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=str(ROOT / "data" / "demo.duckdb"))
    parser.add_argument("--as-of", default=AS_OF)
    parser.add_argument("--accounts", type=int, default=30, help="dossiers to assemble")
    parser.add_argument("--render", type=int, default=6, help="reports to render (0: skip)")
    args = parser.parse_args()

    from kamlib.data import load
    from kamlib.research import account_dossier, research_context

    t0 = time.perf_counter()
    data = load(args.store)
    load_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    ctx = research_context(data, as_of=args.as_of)
    context_s = time.perf_counter() - t0

    order = {"strategic": 0, "key": 1}
    ranked = ctx.scores.assign(_o=ctx.scores["tier"].map(order).fillna(9)).sort_values(
        ["_o", "rank"]
    )
    accounts = list(ranked["account_id"].head(args.accounts))
    timings: dict[bool, list[float]] = {False: [], True: []}
    for masked in (False, True):
        for account in accounts:
            t0 = time.perf_counter()
            account_dossier(data, account, as_of=args.as_of, mask_pii=masked)
            timings[masked].append(time.perf_counter() - t0)
    plain = statistics.median(timings[False])
    masked = statistics.median(timings[True])

    render_s = None
    if args.render > 0:
        out = WORK / "research_reports"
        shutil.rmtree(out, ignore_errors=True)
        ids = ",".join(accounts[: args.render])
        cmd = [str(Path(sys.executable).with_name("kam")), "report", "customer_research",
               "--for", f"ids:{ids}", "-p", f"as_of={args.as_of}", "--store", args.store,
               "--out", str(out)]  # fmt: skip
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
        render_s = (time.perf_counter() - t0) / args.render

    print(f"store                 {args.store}")
    print(f"accounts              {len(accounts)} (rendered: {args.render})")
    print(f"load (cold)           {load_s:8.2f} s")
    print(f"context (per batch)   {context_s:8.2f} s")
    print(f"dossier, median       {plain:8.3f} s   (max {max(timings[False]):.3f} s)")
    print(f"dossier masked, med.  {masked:8.3f} s   (max {max(timings[True]):.3f} s)")
    print(f"dossier ÷ load        {plain / load_s:8.3f}")
    if render_s is not None:
        print(f"render per report     {render_s:8.2f} s")
        print(f"dossier ÷ render      {plain / render_s:8.3f}")


if __name__ == "__main__":
    main()
