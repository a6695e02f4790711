"""One set of feature and score cases, run on every engine: identical results or a failure.

Engines: the plain-pandas reference (``feature_reference.py``), Ibis on DuckDB (in-memory
frames and the store) and Ibis on PySpark (a ``local[1]`` session; marked ``spark`` and
skipped, with the reason, when Java or pyspark is absent — a failure instead when
``KAMLIB_REQUIRE_SPARK`` is set, as CI does).  Sums and ratios must agree to
a relative 1e-9, counts, days, dates and labels exactly, tiers and ranks exactly.

The cases are the edge-case frames of ``feature_reference.edge_frames`` plus accounts made
for the places where engines really differ, each decided once in ``kamlib.features``:

- leap days and month ends: window bounds are computed in Python (as of 2025-02-28 the 12
  months start after 2024-02-29), never by an engine's month arithmetic;
- an as-of date on a period boundary (a quarter end) and in mid-month (the other query shape);
- late time-of-day timestamps (23:50 on the as-of day is in, 00:00 the next day is out),
  with the Spark session in a non-UTC zone (Asia/Shanghai) on purpose: dates are fixed in
  Python before an engine sees them, and kamlib keeps the session's zone (Ibis resets it to
  UTC on connect);
- half-cent amounts: money is rounded half away from zero to whole cents per line, the
  same on every engine, then summed exactly;
- zero revenue (a full return) and a zero wallet: every division is guarded (Spark's ANSI
  mode, on here, raises on division by zero);
- ties: two accounts with exactly equal revenue from different lines, ranked by account id.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from feature_reference import assert_same, edge_frames, make_kamdata, reference_features, ts

from kamlib.data import load
from kamlib.features import account_features, account_features_history
from kamlib.scoring import score_accounts

#: Month ends (one query of the month-grid shape) and a mid-month date (the single shape).
MONTH_ENDS = ("2024-02-29", "2024-03-31", "2025-02-28")
MID_MONTH = "2024-03-15"
DATES = (*MONTH_ENDS, MID_MONTH)
SPARK_TIME_ZONE = "Asia/Shanghai"


# -- the cases -------------------------------------------------------------------------------------
def conformance_frames() -> dict[str, pd.DataFrame]:
    """The edge-case frames plus the accounts where engines could differ (see the module doc)."""
    frames = edge_frames()
    extra_accounts = pd.DataFrame(
        {
            "account_id": ["TIE1", "TIE2", "HALF", "MIDNIGHT"],
            "name": ["t1", "t2", "h", "m"],
            "industry": ["machinery", "machinery", "energy", "auto"],
            "region": ["华东", "华东", "华北", "华南"],
            "employees": [100, 100, 50, 70],
            "annual_revenue": [1e7, 1e7, 5e6, 2e6],
            "registered_capital": [1e6, 1e6, 1e5, 1e5],
            "ownership": ["private", "private", "state", "jv"],
            "parent_account_id": [None, None, None, None],
            "created_date": [ts("2020-01-01")] * 4,
            "category_spend": [1e5, 1e5, 0.0, 3e4],
            "strategic_fit": [3, 3, 2, 1],
        }
    )
    frames["accounts"] = pd.concat([frames["accounts"], extra_accounts], ignore_index=True)
    rows = [
        # TIE1 and TIE2: exactly 2500.00 each in the last 12 months, from different lines
        ("T1a", 1, "TIE1", "2023-08-01 10:00", "P1", "PLC", 2500.0, 1500.0),
        ("T2a", 1, "TIE2", "2023-08-01 16:30", "P2", "Drives", 1000.1, 600.0),
        ("T2a", 2, "TIE2", "2023-08-01 16:30", "P3", "HMI", 1499.9, 900.0),
        # HALF: half cents (exact in binary) round away from zero: 0.125 → 0.13, −0.375 → −0.38
        ("H1", 1, "HALF", "2024-01-10", "P1", "PLC", 0.125, 0.0625),
        ("H1", 2, "HALF", "2024-01-10", "P2", "Drives", 10.375, None),
        ("H2", 1, "HALF", "2024-01-20", "P2", "Drives", -0.375, None),
        # MIDNIGHT: 00:00 the day after the leap day is out as of it; 23:59:59 on it is in
        ("M1", 1, "MIDNIGHT", "2024-02-29 23:59:59", "P3", "HMI", 700.0, 350.0),
        ("M2", 1, "MIDNIGHT", "2024-03-01 00:00:00", "P3", "HMI", 300.0, 150.0),
        ("M3", 1, "MIDNIGHT", "2023-03-01 00:00:00", "P1", "PLC", 50.0, 20.0),
    ]
    extra_orders = pd.DataFrame(rows, columns=list(frames["orders"].columns)).assign(
        order_date=lambda f: pd.to_datetime(f["order_date"], format="ISO8601")
    )
    frames["orders"] = pd.concat([frames["orders"], extra_orders], ignore_index=True)
    # registry records: ONE retrieved twice (the newest on or before each date counts), LATE
    # only after every date (its earliest retrieval counts), G1 and G2 each (a group has its
    # top account's), HALF in USD (missing capital), TIE1 a headcount band and company type only
    firms = [
        # account, source, retrieved_at, established, capital, currency, band, insured, listed, type
        ("ONE", "tyc", "2023-06-01 09:00", "2010-03-01", 1e7, "CNY", None, 120, True, None),
        ("ONE", "tyc", "2024-02-29 23:30", "2010-03-01", 2e7, "CNY", None, 130, True, None),
        ("ONE", "dnb", "2024-03-20 08:00", "2010-03-01", 3e6, "USD", None, 125, None, None),
        ("LATE", "tyc", "2025-06-01 10:00", "2024-03-10", 5e6, "cny ", "50-99人", None, None,
         "有限责任公司(自然人投资或控股)"),
        ("LATE", "tyc", "2025-09-01 10:00", "2024-03-10", 9e6, "CNY", "100-499人", None, None,
         None),
        ("G1", "tyc", "2020-01-01 00:00", "1995-07-15", 1e9, "人民币", "10000人以上", None, None,
         "股份有限公司（上市、国有控股）"),
        ("G2", "tyc", "2020-01-01 00:00", "2005-01-01", 1e8, "CNY", None, 900, False, None),
        ("HALF", "qcc", "2023-01-01 00:00", "2019-02-28", 2e6, "USD", "小于50人", None, None,
         "股份有限公司(非上市、自然人投资或控股)"),
        ("TIE1", "qcc", "2023-01-01 00:00", None, None, None, "1,000-4,999人", None, None,
         "股份有限公司"),
    ]  # fmt: skip
    frames["firmographics"] = pd.DataFrame(
        firms,
        columns=["account_id", "source", "retrieved_at", "established", "reg_capital",
                 "reg_capital_currency", "headcount_band", "insured_headcount", "listed",
                 "company_type"],
    ).assign(
        retrieved_at=lambda f: pd.to_datetime(f["retrieved_at"]),
        established=lambda f: pd.to_datetime(f["established"]),
        insured_headcount=lambda f: f["insured_headcount"].astype("Int64"),
        listed=lambda f: f["listed"].astype("boolean"),
    )  # fmt: skip
    return frames


def as_stored(frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Order dates as the store keeps them (dates): what the pandas reference reads."""
    orders = frames["orders"]
    return frames | {"orders": orders.assign(order_date=orders["order_date"].dt.normalize())}


# -- the engines -----------------------------------------------------------------------------------
def _java_missing() -> str | None:
    if shutil.which("java") is None:
        return "Java is not installed (Debian: apt-get install default-jre-headless)"
    try:
        import ibis.backends.pyspark  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as exc:
        return f"pyspark is not installed ({exc}); pip install 'kamlib[spark]'"
    return None


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark session for the whole test run: one core, one shuffle partition, no
    UI, a JVM tuned for short runs; its time zone is not UTC on purpose."""
    reason = _java_missing()
    if reason and os.environ.get("KAMLIB_REQUIRE_SPARK"):  # CI: Spark must run, never skip
        pytest.fail(f"KAMLIB_REQUIRE_SPARK is set but {reason}")
    if reason:
        pytest.skip(reason)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("kamlib-conformance")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.default.parallelism", "1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .config("spark.sql.session.timeZone", SPARK_TIME_ZONE)
        .config("spark.sql.ansi.enabled", "true")
        .config("spark.pyspark.python", sys.executable)  # workers: this interpreter
        # tiny data: compiling whole-stage code costs more than it saves (first query
        # 21 s → 13 s, the next ones 5 s → 4 s, measured here)
        .config("spark.sql.codegen.wholeStage", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


Features = Callable[[str], pd.DataFrame]


def _pandas(frames: dict[str, pd.DataFrame]) -> Features:
    data = make_kamdata(as_stored(frames))
    return lambda as_of: reference_features(data, as_of)


def _ibis(source: Any, *, both_shapes: bool = True, **tables: Any) -> Features:
    """All month ends in one history query (the month-grid shape), the mid-month date on
    its own (the single-date shape); with ``both_shapes`` the leap day also by the
    single-date query, which must equal the history's."""
    history = account_features_history(source, as_of_dates=DATES, **tables)
    if both_shapes:
        single = account_features(source, as_of=MONTH_ENDS[0], **tables)
        assert_same(single, history.loc[ts(MONTH_ENDS[0])])
    return lambda as_of: history.loc[ts(as_of)]


#: The engines under test.  The pandas reference is not one of them: comparing it with
#: itself would always pass (it is checked by hand in ``test_edge_cases_by_hand``).
ENGINES = ["duckdb", pytest.param("spark", marks=pytest.mark.spark)]


@pytest.fixture(scope="module")
def spark_features(spark) -> Features:
    """The Spark engine: the canonical tables given as pandas frames to the user's session."""
    # one Spark query per shape (each costs seconds); both shapes agree on DuckDB
    return _ibis(spark, both_shapes=False, tables=conformance_frames())


def _features_of(request: Any, name: str) -> tuple[str, Features]:
    if name == "pandas":
        return name, _pandas(conformance_frames())
    if name == "duckdb":
        return name, _ibis(conformance_frames())
    return name, request.getfixturevalue("spark_features")


@pytest.fixture(scope="module", params=ENGINES)
def engine(request) -> tuple[str, Features]:
    """Each engine's features of the conformance frames at every date of ``DATES``."""
    return _features_of(request, request.param)


@pytest.fixture(scope="module", params=["pandas", *ENGINES])
def any_engine(request) -> tuple[str, Features]:
    """The engines and the pandas reference: all checked against values worked out by hand."""
    return _features_of(request, request.param)


@pytest.fixture(scope="module")
def reference() -> Features:
    return _pandas(conformance_frames())


# -- features ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("as_of", DATES)
def test_features_equal_the_reference(engine, reference, as_of):
    name, features = engine
    got, expected = features(as_of), reference(as_of)
    assert got is not expected and name != "pandas"  # an engine, never the reference itself
    assert_same(got, expected)


def test_edge_cases_by_hand(any_engine):
    _, features = any_engine
    leap, quarter, after = features("2024-02-29"), features("2024-03-31"), features("2025-02-28")
    # late time of day: 23:59:59 on the as-of day is in, 00:00 the next day is out
    # and as of the leap day the 12 months start after 2023-02-28: M3 (2023-03-01) is in
    assert leap.loc["MIDNIGHT", "revenue_12m"] == 750.0
    assert leap.loc["MIDNIGHT", "last_order_date"] == ts("2024-02-29")
    assert quarter.loc["MIDNIGHT", "revenue_12m"] == 1000.0  # M1 + M2; M3 is out
    # as of 2025-02-28 (a month end) they start after 2024-02-29: M1 is out, M2 in
    assert after.loc["MIDNIGHT", "revenue_12m"] == 300.0
    assert after.loc["MIDNIGHT", "revenue_prev_12m"] == 750.0
    assert after.loc["MIDNIGHT", "recency_days"] == 364.0  # 2024-03-01 → 2025-02-28
    # half cents away from zero per line: 0.13 + 10.38 − 0.38
    assert leap.loc["HALF", "revenue_12m"] == 10.13
    assert leap.loc["HALF", "gross_margin_12m"] == pytest.approx(1 - 0.06 / 0.13, rel=1e-12)
    # a zero wallet and zero revenue give missing ratios, not an error or infinity
    assert np.isnan(leap.loc["HALF", "share_of_wallet"])
    assert leap.loc["ZERO", "revenue_24m"] == 0.0 and np.isnan(leap.loc["ZERO", "growth_12m"])
    # an account with one order
    assert leap.loc["ONE", "orders_12m"] == 1.0 and leap.loc["ONE", "tenure_days"] == 111.0
    # exactly equal revenue from different lines
    assert leap.loc["TIE1", "revenue_12m"] == leap.loc["TIE2", "revenue_12m"] == 2500.0
    # the account created after the leap day exists only later
    assert "FUTURE" not in leap.index and "FUTURE" in quarter.index


# -- scores and tiers ------------------------------------------------------------------------------
@pytest.mark.parametrize("as_of", MONTH_ENDS)
def test_scores_and_tiers_equal_the_reference(engine, reference, as_of):
    name, features = engine
    assert name != "pandas"  # an engine against the independent reference
    got = score_accounts(features(as_of)).scores.set_index("account_id")
    expected = score_accounts(reference(as_of)).scores.set_index("account_id")
    assert list(got.index) == list(expected.index)
    np.testing.assert_allclose(got["score"], expected["score"], rtol=1e-9, atol=0)
    for col in ("tier", "rank", "tier_by_score", "pareto"):
        assert got[col].tolist() == expected[col].tolist(), col
    # the tie: equal scores, ranked by account id
    if got.loc["TIE1", "score"] == got.loc["TIE2", "score"]:
        assert got.loc["TIE1", "rank"] + 1 == got.loc["TIE2", "rank"]


# -- Spark: the session is left as it was --------------------------------------------------------
@pytest.mark.spark
def test_spark_session_is_left_as_it_was(spark, spark_features):
    # Ibis sets the session time zone to UTC on connect; kamlib restores the user's
    assert spark.conf.get("spark.sql.session.timeZone") == SPARK_TIME_ZONE
    assert spark.conf.get("spark.sql.ansi.enabled") == "true"
    assert not [t.name for t in spark.catalog.listTables() if t.name.startswith("kamlib_")]


# -- a portfolio's tiers from a Spark-hosted orders table ---------------------------------------------
@pytest.mark.spark
def test_portfolio_tiers_from_spark_equal_the_store(spark, demo_store, tmp_path):
    """The portfolio review's scores and tiers (score_accounts on the features of the review
    date) from Parquet order lines and Spark DataFrames equal the embedded store's."""
    data = load(demo_store)
    parquet = tmp_path / "orders.parquet"
    # as a lake would hold it: microsecond timestamps (Spark refuses nanoseconds)
    data.orders.to_parquet(parquet, index=False, coerce_timestamps="us")
    # Spark DataFrames made from pandas without Arrow: NaN stays NaN in Spark (not NULL)
    other = {n: spark.createDataFrame(data[n]) for n in ("accounts", "opportunities")}
    tables = {"orders": str(parquet), **other}
    tables |= {
        n: data[n]
        for n in ("stage_history", "service_tickets", "contacts", "activities", "products")
    }
    from_spark = account_features(spark, as_of="2026-09-30", tables=tables)
    from_store = account_features(demo_store, as_of="2026-09-30")
    assert_same(from_spark, from_store)
    a = score_accounts(from_spark).scores
    b = score_accounts(from_store).scores
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)
    assert a["tier"].nunique() > 1
    assert spark.conf.get("spark.sql.session.timeZone") == SPARK_TIME_ZONE


def test_duckdb_store_with_a_parquet_orders_table(demo_store, tmp_path):
    """The ``tables`` parameter on the embedded engine: orders from a Parquet file."""
    data = load(demo_store)
    parquet: Path = tmp_path / "orders.parquet"
    data.orders.to_parquet(parquet, index=False)
    got = account_features(demo_store, as_of="2026-06-30", tables={"orders": parquet})
    assert_same(got, account_features(demo_store, as_of="2026-06-30"))


def test_engine_options_name_the_engine_or_refuse():
    from kamlib.errors import ConfigError
    from kamlib.features import engine_options

    assert engine_options("duckdb") == {"features_source": None, "tables": None}
    with pytest.raises(ConfigError, match="'engine' parameter must be one of 'duckdb', 'spark'"):
        engine_options("oracle")
    with pytest.raises(ConfigError, match="with engine 'duckdb' the orders come from the store"):
        engine_options("duckdb", orders="lake.orders")


@pytest.mark.spark
def test_engine_options_spark_uses_the_active_session(spark, demo_store):
    from kamlib.features import engine_options

    options = engine_options("spark", orders="/lake/orders.parquet")
    assert options["features_source"] is spark
    assert options["tables"] == {"orders": "/lake/orders.parquet"}
    # with the report's data set, its other tables travel with the orders
    data = load(demo_store)
    options = engine_options("spark", orders="/lake/orders.parquet", data=data)
    assert options["tables"]["orders"] == "/lake/orders.parquet"
    assert set(options["tables"]) == set(data.tables)


@pytest.mark.spark
@pytest.mark.slow
def test_portfolio_review_from_spark_orders_has_the_stores_tiers(spark, demo_store, tmp_path):
    """What the portfolio_review notebook does with engine=spark: order lines from a
    Parquet table on Spark, the store's other tables sent along; every date the review
    scores (review date, previous quarter end, back-test date) gives the store's tiers."""
    from kamlib.features import engine_options
    from kamlib.views.portfolio import portfolio_review

    data = load(demo_store)
    parquet = tmp_path / "orders.parquet"
    data.orders.to_parquet(parquet, index=False, coerce_timestamps="us")
    on_spark = portfolio_review(
        data, as_of="2026-09-30", **engine_options("spark", orders=str(parquet), data=data)
    )
    embedded = portfolio_review(data, as_of="2026-09-30")
    pd.testing.assert_frame_equal(
        on_spark.scores.scores, embedded.scores.scores, check_exact=False, rtol=1e-9
    )
    assert on_spark.scores.scores["tier"].nunique() > 1
    # tier migration since the previous quarter and the back-test account tiers agree too
    pd.testing.assert_frame_equal(on_spark.migration.matrix, embedded.migration.matrix)
    pd.testing.assert_frame_equal(
        on_spark.validation_accounts, embedded.validation_accounts, check_exact=False, rtol=1e-9
    )


@pytest.mark.spark
def test_a_mapping_of_spark_dataframes_runs_on_their_session(spark):
    from kamlib.features import engines

    frames = conformance_frames()
    source = {
        "accounts": spark.createDataFrame(engines._arrow(frames["accounts"], "accounts")),
        "orders": spark.createDataFrame(engines._arrow(frames["orders"], "orders")),
        "contacts": frames["contacts"],  # a pandas frame joins the Spark tables
    }
    with engines._open(source) as src:
        assert src.backend.name == "pyspark"
        assert set(src.tables) == {"accounts", "orders", "contacts"}
        assert src.tables["orders"].schema()["order_date"].is_date()  # fixed before Spark
        views = [t.name for t in spark.catalog.listTables() if t.name.startswith("kamlib_")]
        assert len(views) == 3
    assert not [t.name for t in spark.catalog.listTables() if t.name.startswith("kamlib_")]
    assert spark.conf.get("spark.sql.session.timeZone") == SPARK_TIME_ZONE
