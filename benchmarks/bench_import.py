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


def run(code: str, *args: str, path: Path | None = None) -> tuple[float, float, float]:
    """Seconds, CPU seconds (user + system, all threads) and peak RSS (MB) of one fresh
    Python subprocess (kamlib from ``path`` if given)."""
    env = None if path is None else {**os.environ, "PYTHONPATH": str(path)}
    start = time.perf_counter()
    # `python -c` puts the working folder first on sys.path: run another checkout from its own
    proc = subprocess.Popen([sys.executable, "-c", code, *args], env=env, cwd=path)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"benchmark subprocess failed with status {status}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="large", choices=["small", "default", "large"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=HERE / "_work")
    parser.add_argument(
        "--before",
        type=Path,
        help="also time the import of this kamlib checkout (e.g. the main branch), alternating",
    )
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
    steps = [("duckdb read_csv", BASELINE, [str(orders)], None)]
    if args.before:
        steps.append(
            (f"kam import ({args.before})", KAMLIB, [str(accounts), str(orders)], args.before)
        )
    steps.append(("kam import", KAMLIB, [str(accounts), str(orders)], None))
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name, *_ in steps}
    load = os.getloadavg()
    for _ in range(args.repeat):
        for name, code, extra, path in steps:
            store = args.workdir / "bench.duckdb"
            store.unlink(missing_ok=True)
            results[name].append(run(code, str(store), *extra, path=path))
            store.unlink(missing_ok=True)
            sec, cpu, _ = results[name][-1]
            print(f"{name}: {sec:.1f} s, CPU {cpu:.1f} s", file=sys.stderr, flush=True)
    base = statistics.median(s for s, _, _ in results["duckdb read_csv"])
    base_cpu = statistics.median(c for _, c, _ in results["duckdb read_csv"])
    print(f"orders.csv: {lines:,} lines, {size_mb:,.0f} MB; {args.repeat} runs each, medians")
    print("load average (1/5/15 min) at start " + " / ".join(f"{x:.1f}" for x in load), end="")
    print(", at end " + " / ".join(f"{x:.1f}" for x in os.getloadavg()))
    print("| step | seconds (runs) | ratio | CPU seconds | CPU ratio | peak RSS (MB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, rows in results.items():
        sec = statistics.median(s for s, _, _ in rows)
        cpu = statistics.median(c for _, c, _ in rows)
        mem = max(m for _, _, m in rows)
        each = ", ".join(f"{s:.1f}" for s, _, _ in rows)
        print(
            f"| {name} | {sec:.1f} ({each}) | {sec / base:.2f}× | {cpu:.1f} | "
            f"{cpu / base_cpu:.2f}× | {mem:,.0f} |"
        )


if __name__ == "__main__":
    main()
