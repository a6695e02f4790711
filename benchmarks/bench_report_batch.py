"""Benchmark: a batch of account reports, kamlib's engine vs. the naive CLI loop.

Same notebook, same accounts, same run:

naive
    what a user would type in a shell loop, once per account:
    ``papermill NB out.ipynb -p account_id ID …`` then ``jupyter nbconvert --to html out.ipynb``
    (sequential; each call starts Python, imports, starts a kernel).
kam
    one ``kam report NAME --for all`` run: warm kernels (one per core), in-process
    papermill + nbconvert.  Timed as a whole, from the command's start to its end (Python
    start-up, imports and kernel starts included), divided by the number of reports.

Prints the median seconds per report of each and their ratio.  Plain script, no pytest:

    .venv/bin/python benchmarks/bench_report_batch.py                 # 50 accounts
    .venv/bin/python benchmarks/bench_report_batch.py --naive-runs 10 # time 10 naive runs
    .venv/bin/python benchmarks/bench_report_batch.py --notebook notebooks/account_summary.ipynb \\
        --store data/demo.duckdb                                       # a real report

Work files go to ``benchmarks/_work/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "_work"
BIN = Path(sys.executable).parent
AS_OF = "2026-09-30"


def small_notebook(path: Path) -> Path:
    """A small per-account report: typed parameters, pandas, a table, a few markdown cells."""
    import nbformat as nbf

    nb = nbf.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["kamlib"] = {"title": {"en": "Benchmark account", "zh": "基准客户"}, "per_account": True}
    params = nbf.v4.new_code_cell(
        'store: str = "data/demo.duckdb"  # the kamlib store to read\n'
        'as_of: str = "2026-09-30"  # last day of the reporting period\n'
        'lang: str = "en"  # report language: en or zh\n'
        'account_id: str = "A0001"  # the account to report on'
    )
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbf.v4.new_markdown_cell("# Account"),
        params,
        nbf.v4.new_code_cell("import pandas as pd"),
        nbf.v4.new_markdown_cell("## Figures"),
        nbf.v4.new_code_cell(
            "frame = pd.DataFrame({'quarter': ['Q1', 'Q2', 'Q3'], 'revenue': [1.0, 2.0, 3.0]})\n"
            "frame.assign(account=account_id, as_of=as_of)"
        ),
        nbf.v4.new_markdown_cell("That is all."),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbf.write(nb, path)
    return path


def build_store(path: Path, n: int) -> Path:
    """``n`` accounts with one order each, imported through kamlib's normal path."""
    import pandas as pd

    from kamlib.data import import_frames

    if path.exists():
        path.unlink()
    ids = [f"B{i:04d}" for i in range(1, n + 1)]
    accounts = pd.DataFrame(
        {"account_id": ids, "name": [f"Benchmark Account {i}" for i in range(1, n + 1)],
         "created_date": pd.to_datetime(["2020-01-01"] * n)}
    )  # fmt: skip
    orders = pd.DataFrame(
        {"order_id": [f"O{i}" for i in range(n)], "line_no": [1] * n, "account_id": ids,
         "order_date": pd.to_datetime(["2026-06-30"] * n), "amount": [100.0 + i for i in range(n)]}
    )  # fmt: skip
    import_frames({"accounts": accounts, "orders": orders}, store=path, now="2026-10-01")
    return path


def account_ids(store: Path, n: int) -> list[str]:
    from kamlib.data import load
    from kamlib.segmentation import target_group

    return list(target_group(load(store), "all", as_of=AS_OF)["account_id"])[:n]


def run_naive(notebook: Path, store: Path, ids: list[str], out: Path) -> list[float]:
    """papermill CLI then jupyter nbconvert CLI, once per account; seconds per report."""
    out.mkdir(parents=True, exist_ok=True)
    times = []
    for i, account in enumerate(ids, 1):
        executed = out / f"{account}.ipynb"
        start = time.perf_counter()
        subprocess.run(
            [str(BIN / "papermill"), str(notebook), str(executed), "-p", "account_id", account,
             "-p", "as_of", AS_OF, "-p", "store", str(store), "--no-progress-bar",
             "--log-level", "ERROR"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        subprocess.run(
            [str(BIN / "jupyter"), "nbconvert", "--to", "html", str(executed), "--log-level", "ERROR"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        times.append(time.perf_counter() - start)
        print(f"  naive {i}/{len(ids)}: {times[-1]:.2f} s", file=sys.stderr, flush=True)
    return times


def run_kam(notebook: Path, store: Path, n: int, out: Path, jobs: int | None) -> tuple[float, list[float]]:
    """One `kam report NAME --for top<n>` run: total seconds and each report's seconds."""
    import json

    if out.exists():
        shutil.rmtree(out)
    cmd = [str(BIN / "kam"), "report", notebook.stem, "--for", f"top{n}", "--store", str(store),
           "--out", str(out), "--notebooks", str(notebook.parent), "-p", f"as_of={AS_OF}"]  # fmt: skip
    if jobs:
        cmd += ["--jobs", str(jobs)]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    total = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"kam report failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    manifests = list(out.glob(f"{notebook.stem}/*/*/manifest.json"))
    if len(manifests) != n:
        sys.exit(f"kam report made {len(manifests)} reports, expected {n}")
    seconds = [json.loads(m.read_text("utf-8"))["seconds"] for m in manifests]
    return total, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=50, help="reports in the batch [50]")
    parser.add_argument("--naive-runs", type=int, default=None,
                        help="time only this many naive runs [all]")  # fmt: skip
    parser.add_argument("--notebook", type=Path, help="per-account notebook [a small one]")
    parser.add_argument("--store", type=Path, help="store for --notebook [a generated one]")
    parser.add_argument("--jobs", type=int, help="kam --jobs [CPU cores]")
    args = parser.parse_args()

    WORK.mkdir(exist_ok=True)
    if args.notebook:
        notebook = args.notebook.resolve()
        store = (args.store or ROOT / "data" / "demo.duckdb").resolve()
    else:
        notebook = small_notebook(WORK / "notebooks" / "bench_account.ipynb")
        store = build_store(WORK / "bench.duckdb", args.accounts)
    ids = account_ids(store, args.accounts)
    if len(ids) < args.accounts:
        sys.exit(f"the store has only {len(ids)} accounts with revenue; need {args.accounts}")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"notebook {notebook.relative_to(ROOT) if notebook.is_relative_to(ROOT) else notebook}, "
          f"{args.accounts} accounts, {cores} CPU cores", flush=True)  # fmt: skip

    # kam runs before and after the naive loop (the machine's load may change meanwhile);
    # the slower of the two counts
    kam_runs = []
    for label in ("before", "after"):
        if label == "after":
            naive_ids = ids[: args.naive_runs] if args.naive_runs else ids
            naive = run_naive(notebook, store, naive_ids, WORK / "naive")
        total, seconds = run_kam(notebook, store, args.accounts, WORK / "kam", args.jobs)
        kam_runs.append(total)
        print(f"kam report --for top{args.accounts} ({label}): {total:.1f} s for "
              f"{args.accounts} reports = {total / args.accounts:.2f} s/report (start-up "
              f"included); median time inside one report {statistics.median(seconds):.2f} s",
              flush=True)  # fmt: skip
    kam_per_report = max(kam_runs) / args.accounts
    naive_median = statistics.median(naive)
    print(f"naive papermill CLI + jupyter nbconvert CLI: median {naive_median:.2f} s/report "
          f"(n={len(naive)}, min {min(naive):.2f}, max {max(naive):.2f})")  # fmt: skip
    print(f"kam (slower run): {kam_per_report:.2f} s/report")
    print(f"ratio naive / kam: {naive_median / kam_per_report:.1f}x")


if __name__ == "__main__":
    main()
