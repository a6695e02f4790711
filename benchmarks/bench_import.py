"""Benchmark: `kam import` of the large demo orders export vs DuckDB's own read_csv.

Both sides run in fresh subprocesses on the same CSV files, alternating, in one run; the
figure that matters is the ratio (kamlib ÷ DuckDB), since the machine's speed varies.
Peak memory is each subprocess's maximum resident set size.

    .venv/bin/python benchmarks/bench_import.py               # large demo (≈10M lines)
    .venv/bin/python benchmarks/bench_import.py --scale default --repeat 3
    .venv/bin/python benchmarks/bench_import.py --store data/large.duckdb   # export an existing store

``--store`` exports the accounts and orders of an existing store (e.g. one built with
``kam demo --scale large``) instead of generating the demo company, which takes minutes
and about 13 GB of memory at the large scale.

The target (issue 2): kamlib within 1.5× of DuckDB's read_csv, peak memory under 3 GB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

BASELINE = """
import duckdb, sys
con = duckdb.connect(sys.argv[1])
con.execute("SET enable_progress_bar = false")
con.execute("CREATE TABLE orders AS SELECT * FROM read_csv(?)", [sys.argv[2]])
"""

KAMLIB = """
import sys
from kamlib.data import import_files
report = import_files([sys.argv[2], sys.argv[3]], store=sys.argv[1], now="2026-11-26")
assert report.reconciles and report.tables["orders"].loaded > 0
"""


def export_demo(scale: str, folder: Path, store: Path | None = None) -> tuple[Path, Path, int]:
    """Write the demo company's accounts and orders as CSV (once per scale or store)."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    accounts, orders = folder / "accounts.csv", folder / "orders.csv"
    if not orders.exists() and store is not None:
        con = duckdb.connect(str(store), read_only=True)
        for name, path in (("accounts", accounts), ("orders", orders)):
            con.execute(f"COPY (SELECT * FROM {name}) TO '{path}' (HEADER)")
        con.close()
    elif not orders.exists():
        from kamlib.demo import generate_demo

        company = generate_demo(scale=scale)
        con = duckdb.connect()
        for name, path in (("accounts", accounts), ("orders", orders)):
            con.register("frame", company.tables[name])
            con.execute(f"COPY frame TO '{path}' (HEADER)")
            con.unregister("frame")
        con.close()
    lines = sum(1 for _ in orders.open("rb")) - 1
    return accounts, orders, lines


def run(code: str, *args: str) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one fresh Python subprocess."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args])
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"benchmark subprocess failed with status {status}")
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="large", choices=["small", "default", "large"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=HERE / "_work")
    parser.add_argument(
        "--store", type=Path, help="export accounts and orders of this store instead of the demo"
    )
    parser.add_argument("--export-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    folder = args.workdir / (f"import-{args.store.stem}" if args.store else f"import-{args.scale}")
    if args.export_only:
        export_demo(args.scale, folder, args.store)
        return
    if not (folder / "orders.csv").exists():
        # export in a child process: a forked child inherits the parent's peak RSS, so the
        # measuring process must stay small
        command = [sys.executable, __file__, "--scale", args.scale, "--export-only"]
        command += ["--workdir", str(args.workdir)]
        subprocess.run(command + (["--store", str(args.store)] if args.store else []), check=True)
    accounts, orders, lines = export_demo(args.scale, folder, args.store)
    size_mb = orders.stat().st_size / 1e6
    results: dict[str, list[tuple[float, float]]] = {"duckdb read_csv": [], "kam import": []}
    for _ in range(args.repeat):
        for name, code, extra in (
            ("duckdb read_csv", BASELINE, [str(orders)]),
            ("kam import", KAMLIB, [str(accounts), str(orders)]),
        ):
            store = args.workdir / "bench.duckdb"
            store.unlink(missing_ok=True)
            results[name].append(run(code, str(store), *extra))
            store.unlink(missing_ok=True)
    base = statistics.median(s for s, _ in results["duckdb read_csv"])
    print(f"orders.csv: {lines:,} lines, {size_mb:,.0f} MB; {args.repeat} runs each, medians")
    print("| step | seconds | peak RSS (MB) | ratio to read_csv |")
    print("|---|---:|---:|---:|")
    for name, rows in results.items():
        sec = statistics.median(s for s, _ in rows)
        mem = max(m for _, m in rows)
        print(f"| {name} | {sec:.1f} | {mem:,.0f} | {sec / base:.2f}× |")


if __name__ == "__main__":
    main()
