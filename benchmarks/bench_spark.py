"""Benchmark: the same account features on Parquet files, by hand-written DuckDB SQL, by
kamlib on DuckDB and by kamlib on PySpark.

The ``large`` demo company's canonical tables (≈10M order lines) are exported once to
Parquet under ``benchmarks/_work/parquet-<scale>/``.  Then, as of one date, alternately:

- ``hand SQL``: the hand-written DuckDB query of ``bench_features.py`` over views on the
  Parquet files (checked to give kamlib's numbers before timing);
- ``kamlib on DuckDB``: ``account_features(ibis.duckdb.connect(), tables={name: path})``;
- ``kamlib on Spark``: ``account_features(spark, tables={name: path})`` on a ``local[2]``
  session (results checked equal to DuckDB's, to 1e-9 on sums, exactly otherwise).

    .venv/bin/python benchmarks/bench_spark.py                   # large demo, as of 2026-09-30
    .venv/bin/python benchmarks/bench_spark.py --scale small --repeat 2

Needs ``kamlib[spark]`` and Java 17.  Target (issue 7): kamlib on DuckDB within 1.25× of
the hand-written SQL; the Spark time is reported beside it (a local session pays for its
JVM and planning: it is there to show the same definitions scale out, not to race DuckDB).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_features import build_store, check_same, hand_sql, same_frames  # noqa: E402

TABLES = (
    "accounts", "products", "orders", "opportunities", "stage_history", "contacts",
    "activities", "service_tickets",
)  # fmt: skip


def export_parquet(store: Path, folder: Path) -> dict[str, str]:
    """Each canonical table of the store as one Parquet file (microsecond timestamps)."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: str(folder / f"{name}.parquet") for name in TABLES}
    if all(Path(p).exists() for p in paths.values()):
        return paths
    con = duckdb.connect(str(store), read_only=True)
    try:
        for name, path in paths.items():
            con.execute(f"COPY (SELECT * FROM {name}) TO '{path}' (FORMAT parquet)")
    finally:
        con.close()
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="large", choices=["small", "default", "large"])
    parser.add_argument("--store", type=Path, help="an existing store (default: build the demo)")
    parser.add_argument("--as-of", default="2026-09-30")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cores", type=int, default=2, help="Spark local[N]")
    parser.add_argument("--workdir", type=Path, default=HERE / "_work")
    args = parser.parse_args()

    import duckdb
    import ibis
    from pyspark.sql import SparkSession

    from kamlib.features import account_features

    store = args.store or build_store(args.scale, args.workdir)
    paths = export_parquet(store, args.workdir / f"parquet-{store.stem}")
    as_of = pd.Timestamp(args.as_of).date()
    sql = hand_sql(as_of)

    def run_sql() -> pd.DataFrame:
        con = duckdb.connect()
        try:
            con.execute("SET enable_progress_bar = false")
            for name, path in paths.items():
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
            return con.sql(sql).df()
        finally:
            con.close()

    def on_duckdb() -> pd.DataFrame:
        backend = ibis.duckdb.connect()
        try:
            return account_features(backend, as_of=as_of, tables=paths)
        finally:
            backend.disconnect()

    start = time.perf_counter()
    spark = (
        SparkSession.builder.master(f"local[{args.cores}]")
        .appName("kamlib-bench")
        .config("spark.sql.shuffle.partitions", str(2 * args.cores))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "6g")
        .config("spark.pyspark.python", sys.executable)
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    session_s = time.perf_counter() - start

    def on_spark() -> pd.DataFrame:
        return account_features(spark, as_of=as_of, tables=paths)

    lines = duckdb.sql(f"SELECT count(*) FROM read_parquet('{paths['orders']}')").fetchall()[0][0]
    reference = on_duckdb()
    check_same(reference, run_sql())
    start = time.perf_counter()
    same_frames(on_spark(), reference, "Spark and DuckDB")
    first_spark = time.perf_counter() - start

    cases = {
        "hand-written DuckDB SQL": run_sql,
        "kamlib on DuckDB (Ibis)": on_duckdb,
        f"kamlib on PySpark local[{args.cores}] (Ibis)": on_spark,
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.repeat):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    spark.stop()

    best = {name: min(t) for name, t in times.items()}
    hand = best["hand-written DuckDB SQL"]
    print(
        f"\nAccount features as of {as_of} from Parquet: {lines:,} order lines; best of "
        f"{args.repeat} alternating runs (median in brackets).  Spark session start "
        f"{session_s:.1f} s; first Spark query (planning, JIT) {first_spark:.1f} s.\n"
    )
    print("| case | seconds | ÷ hand SQL |")
    print("|---|---:|---:|")
    for name, t in times.items():
        print(
            f"| {name} | {best[name]:.2f} ({statistics.median(t):.2f}) | {best[name] / hand:.2f}× |"
        )
    duck = best["kamlib on DuckDB (Ibis)"]
    print(f"\nkamlib on DuckDB ÷ hand-written SQL: {duck / hand:.2f}× (target ≤ 1.25×).")


if __name__ == "__main__":
    main()
