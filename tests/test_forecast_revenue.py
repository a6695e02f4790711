"""kamlib.forecast.revenue: order revenue per period, the baselines a manager computes by hand,
the back-test at past origins without look-ahead, the headline and its calibration.

Every reference value is computed in the test by hand (pandas sums of the order lines, the
formulas of the module docstring), never taken from kamlib's earlier output.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kamlib.data import KamData, Snapshot
from kamlib.data.schemas import TABLES, conform
from kamlib.errors import ConfigError, DataValidationError
from kamlib.forecast import REVENUE_METHODS, backtest_revenue, forecast_revenue, wilson_interval
from kamlib.forecast.revenue import COMPANY, OTHER, first_complete_period, revenue_segments

SNAP = Snapshot(None, "test", None, "test")
#: monthly amounts by calendar month: a strong season (Q2 and Q4 high)
SEASON = [100, 90, 110, 200, 210, 190, 100, 95, 105, 220, 230, 250]


def _data(orders: pd.DataFrame) -> KamData:
    accounts = pd.DataFrame({"account_id": sorted(orders["account_id"].unique())})
    accounts["name"] = accounts["account_id"]
    return KamData(
        {"accounts": conform(accounts, TABLES["accounts"]),
         "orders": conform(orders, TABLES["orders"])},
        snapshot=SNAP,
    )  # fmt: skip


def _seasonal_orders(start: str = "2022-01-01", end: str = "2025-12-31", seed: int = 3):
    """Two order lines a month (15th: product line P, 20th: line Q or no line), the month's
    amount the season × a yearly level × a small seeded wobble."""
    rng = np.random.default_rng(seed)
    rows = []
    for month in pd.period_range(start, end, freq="M"):
        level = 1.0 + 0.05 * (month.year - 2022)
        amount = SEASON[month.month - 1] * level * rng.uniform(0.9, 1.1)
        day = month.start_time
        rows.append((f"O{month}-1", "A1", day + pd.Timedelta(days=14), 0.6 * amount, "P", "North"))
        line = "Q" if month.month % 2 else None
        rows.append((f"O{month}-2", "A2", day + pd.Timedelta(days=19), 0.4 * amount, line, "South"))
    frame = pd.DataFrame(
        rows, columns=["order_id", "account_id", "order_date", "amount", "product_line", "region"]
    )
    frame["line_no"] = 1
    return frame


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    return _seasonal_orders()


@pytest.fixture(scope="module")
def data(orders) -> KamData:
    return _data(orders)


def _quarter_sums(orders: pd.DataFrame, line: str | None = None) -> pd.Series:
    o = orders if line is None else orders[orders["product_line"] == line]
    return o.groupby(pd.to_datetime(o["order_date"]).dt.to_period("Q"))["amount"].sum()


# -- the baselines, by hand ----------------------------------------------------------------------
def test_baselines_equal_the_hand_calculation_at_a_quarter_end(data, orders):
    fc = forecast_revenue(data, as_of="2025-09-30", backtest_periods=0, segment_by="none")
    assert fc.period == "2025-Q4"  # the quarter after a quarter-end as-of date
    q = _quarter_sums(orders)
    row = fc.scope(COMPANY)
    assert row["closed_to_date"] == 0.0
    assert row["naive"] == pytest.approx(q[pd.Period("2025Q3")])  # last quarter
    assert row["seasonal_naive"] == pytest.approx(q[pd.Period("2024Q4")])  # a year earlier
    earlier = q[q.index <= pd.Period("2025Q3")]
    assert len(earlier) == 15  # 2022-Q1 … 2025-Q3
    assert row["mean"] == pytest.approx(earlier.mean())
    # no track record: the run-rate model is the headline, and the reason says why
    assert row["method"] == "run_rate" and "too little track record" in row["reason"]
    assert row["p10"] <= row["p50"] <= row["p90"]


def test_baselines_part_way_into_the_period_add_the_orders_to_date(data, orders):
    fc = forecast_revenue(data, as_of="2025-11-15", backtest_periods=0, segment_by="none")
    assert fc.period == "2025-Q4"  # the as-of date's own quarter
    dates = pd.to_datetime(orders["order_date"])
    closed = orders.loc[(dates >= "2025-10-01") & (dates <= "2025-11-15"), "amount"].sum()
    q = _quarter_sums(orders)
    remaining = 46 / 92  # 16 Nov … 31 Dec of the quarter's 92 days
    row = fc.scope(COMPANY)
    assert row["closed_to_date"] == pytest.approx(closed)
    assert row["naive"] == pytest.approx(closed + q[pd.Period("2025Q3")] * remaining)
    assert row["seasonal_naive"] == pytest.approx(closed + q[pd.Period("2024Q4")] * remaining)
    assert row["mean"] == pytest.approx(closed + q[q.index <= "2025Q3"].mean() * remaining)


def test_each_segment_has_its_own_baselines(data, orders):
    fc = forecast_revenue(data, as_of="2025-09-30", backtest_periods=0, segment_by="product_line")
    assert fc.segment_by == "product_line"
    assert list(fc.forecasts["scope"]) == [COMPANY, "P", "Q", OTHER]  # largest first; no line
    for line in ("P", "Q"):
        q = _quarter_sums(orders, line)
        row = fc.scope(line)
        assert row["naive"] == pytest.approx(q[pd.Period("2025Q3")])
        assert row["seasonal_naive"] == pytest.approx(q[pd.Period("2024Q4")])
    rest = orders[orders["product_line"].isna()]
    assert fc.scope(OTHER)["naive"] == pytest.approx(_quarter_sums(rest)[pd.Period("2025Q3")])
    # shares of the last 12 months (Oct 2024 … Sep 2025), by hand
    dates = pd.to_datetime(orders["order_date"])
    recent = orders[(dates >= "2024-10-01") & (dates <= "2025-09-30")]
    share_p = recent.loc[recent["product_line"] == "P", "amount"].sum() / recent["amount"].sum()
    assert fc.scope("P")["share_12m"] == pytest.approx(share_p)
    assert fc.forecasts["share_12m"].iloc[1:].sum() == pytest.approx(1.0)


def test_segments_are_chosen_by_revenue_share(orders):
    column, segments, why = revenue_segments(orders, as_of="2025-09-30")
    assert column == "product_line" and segments == ["P", "Q"] and "other" in why
    # every line above the share, at most max_segments of them
    assert revenue_segments(orders, as_of="2025-09-30", max_segments=1)[1] == ["P"]
    # 30 %: only P (60 %), with the rest (Q 20 %, no line 20 %) as "other"
    assert revenue_segments(orders, as_of="2025-09-30", min_share=0.3)[1] == ["P"]
    # 50 %: "other" (40 %) is too small to stand beside P, and so is South beside North
    assert revenue_segments(orders, as_of="2025-09-30", min_share=0.5)[:2] == ("", [])
    assert revenue_segments(orders, as_of="2025-09-30", by="region")[1] == ["North", "South"]
    assert revenue_segments(orders, as_of="2025-09-30", by="none")[:2] == ("", [])
    with pytest.raises(ConfigError, match="'segment_by' parameter names 'colour'"):
        revenue_segments(orders, as_of="2025-09-30", by="colour")


def test_an_export_that_starts_part_way_into_a_period_leaves_that_period_out():
    late = _seasonal_orders(start="2022-11-01", end="2024-12-31")
    assert first_complete_period(late, "quarterly").label == "2023-Q1"
    assert first_complete_period(late, "monthly").label == "2022-11"
    fc = forecast_revenue(_data(late), as_of="2024-09-30", backtest_periods=0, segment_by="none")
    q = _quarter_sums(late)
    assert fc.scope()["mean"] == pytest.approx(q["2023Q1":"2024Q3"].mean())  # not 2022-Q4
    assert any("part-way into 2022-Q4" in n for n in fc.notes)
    assert fc.history["period"].iloc[0] == "2023-Q1"
    # orders twice a month (5 and 25–28 days apart, 90th percentile 27): a first order on
    # the 15th is no later than usual, the quarter counts ...
    assert first_complete_period(_seasonal_orders(), "quarterly").label == "2022-Q1"
    # ... but not with orders every day: 14 days is then more than the wait for an order
    # and more than a tenth of the quarter (9 days)
    daily = pd.DataFrame({"order_date": pd.date_range("2022-01-15", "2022-12-31"),
                          "amount": 1.0})  # fmt: skip
    assert first_complete_period(daily, "quarterly").label == "2022-Q2"
    assert first_complete_period(daily.iloc[3:], "monthly").label == "2022-02"
    assert first_complete_period(daily.iloc[-300:], "quarterly").label == "2022-Q2"


def test_the_forecast_period_must_hold_the_as_of_date_or_follow_it(data):
    with pytest.raises(DataValidationError, match="Got period 2026-Q2"):
        forecast_revenue(data, as_of="2025-09-30", period="2026-Q2", backtest_periods=0)
    with pytest.raises(DataValidationError, match="no line dated on or before 2021-06-30"):
        forecast_revenue(data, as_of="2021-06-30", backtest_periods=0)
    fc = forecast_revenue(data, as_of="2025-10-31", period="2025-11", backtest_periods=0,
                          segment_by="none")  # fmt: skip
    assert fc.freq == "monthly"
    months = _seasonal_orders().groupby(
        pd.to_datetime(_seasonal_orders()["order_date"]).dt.to_period("M"))["amount"].sum()  # fmt: skip
    assert fc.scope()["naive"] == pytest.approx(months[pd.Period("2025-10")])
    assert fc.scope()["seasonal_naive"] == pytest.approx(months[pd.Period("2024-11")])


# -- the back-test -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def backtest(data):
    return backtest_revenue(data, as_of="2025-09-30", periods=4, origins=(0.0, 1 / 3),
                            repetitions=500, seed=11)  # fmt: skip


def test_backtest_origins_and_periods(backtest):
    assert backtest.periods == ("2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3")
    t = backtest.track
    assert set(t["method"]) == set(REVENUE_METHODS) and set(t["scope"]) == {COMPANY}
    origins = t.drop_duplicates(["period", "origin"])[["period", "origin", "as_of"]]
    # the day before each quarter, and a third of its days in (31, 30, 30, 31 days)
    assert list(origins["as_of"].dt.strftime("%Y-%m-%d")) == [
        "2024-09-30", "2024-10-31", "2024-12-31", "2025-01-30",
        "2025-03-31", "2025-04-30", "2025-06-30", "2025-07-31",
    ]  # fmt: skip
    assert len(t) == 8 * len(REVENUE_METHODS) and len(backtest.headline) == 8


def test_backtest_forecasts_and_scores_equal_the_hand_calculation(backtest, orders):
    q = _quarter_sums(orders)
    dates = pd.to_datetime(orders["order_date"])
    t = backtest.track.set_index(["period", "origin", "method"])
    hand = []
    for label, per in (("2024-Q4", "2024Q4"), ("2025-Q1", "2025Q1"), ("2025-Q2", "2025Q2"),
                       ("2025-Q3", "2025Q3")):  # fmt: skip
        p = pd.Period(per)
        actual = q[p]
        earlier = q[q.index < p]
        start, stop = p.start_time, p.end_time.normalize()
        ndays = (stop - start).days + 1
        for origin in (0.0, 1 / 3):
            # the day before the quarter, or a third of its days in
            day = start - pd.Timedelta(days=1) + pd.Timedelta(days=round(origin * ndays))
            closed = orders.loc[(dates >= start) & (dates <= day), "amount"].sum()
            remaining = (stop - day).days / ndays
            expect = {
                "naive": closed + earlier.iloc[-1] * remaining,
                "seasonal_naive": closed + earlier.iloc[-4] * remaining,
                "mean": closed + earlier.mean() * remaining,
            }
            for method, value in expect.items():
                row = t.loc[(label, origin, method)]
                assert row["p50"] == pytest.approx(value), (label, origin, method)
                assert row["actual"] == pytest.approx(actual)
                assert row["closed_to_date"] == pytest.approx(closed)
                hand.append({"method": method, "p50": value, "actual": actual})
    hand = pd.DataFrame(hand)
    table = backtest.method_table().set_index("method")
    for method, part in hand.groupby("method"):
        err = (part["p50"] - part["actual"]) / part["actual"]
        assert table.loc[method, "scored"] == 8
        assert table.loc[method, "mape"] == pytest.approx(err.abs().mean())
        assert table.loc[method, "bias"] == pytest.approx(err.mean())
        assert table.loc[method, "mae"] == pytest.approx(
            (part["p50"] - part["actual"]).abs().mean()
        )


def test_backtest_headline_uses_only_periods_ended_before_each_origin(backtest):
    h = backtest.headline.set_index(["period", "origin"])
    # before 4 origins of ended periods are scored, the run-rate model is kept with its own band
    for key in [("2024-Q4", 0.0), ("2024-Q4", 1 / 3), ("2025-Q1", 0.0), ("2025-Q1", 1 / 3)]:
        assert h.loc[key, "method"] == "run_rate"
        assert h.loc[key, "interval_method"] == "monte_carlo"
    # 2025-Q3's origins know the 6 origins of 2024-Q4 … 2025-Q2: the lowest MAPE over those
    t = backtest.track
    known = t[t["end"] <= pd.Timestamp("2025-06-30")]
    err = ((known["p50"] - known["actual"]) / known["actual"]).abs().groupby(known["method"]).mean()
    assert h.loc[("2025-Q3", 0.0), "method"] == err.idxmin()
    inside = (h["actual"] >= h["p10"]) & (h["actual"] <= h["p90"])
    assert (inside == h["in_interval"]).all()
    acc = backtest.headline_accuracy()
    k, n = int(inside.sum()), len(h)
    assert (acc["inside"], acc["n"]) == (k, n)
    # Wilson (1927) by hand: centre ± half-width, z = 1.96
    z, p = 1.959963984540054, k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert acc["coverage_interval"] == [
        round(max(0, centre - half), 4),
        round(min(1, centre + half), 4),
    ]
    assert acc["coverage_interval"] == [round(x, 4) for x in wilson_interval(k, n)]


# -- the headline at the as-of date ---------------------------------------------------------------
def test_headline_is_the_best_record_and_its_interval_the_conformal_one(data, orders):
    fc = forecast_revenue(data, as_of="2025-09-30", backtest_periods=6, origins=(0.0,),
                          segment_by="none", repetitions=500, backtest_repetitions=500)  # fmt: skip
    table = fc.methods().set_index("method")
    judged = table[table["scored"] >= 4]
    row = fc.scope()
    assert row["method"] == judged["mape"].idxmin()
    # with this strong season, the same quarter last year beats last quarter and the mean
    assert row["method"] in ("seasonal_naive", "run_rate")
    assert table.loc["seasonal_naive", "mape"] < table.loc["naive", "mape"]
    assert table.loc["seasonal_naive", "mape"] < table.loc["mean", "mape"]
    # split conformal by hand on the chosen method's 6 errors: n = 6, k = ⌈7 × 0.8⌉ = 6th
    t = fc.backtest.track
    mine = t[t["method"] == row["method"]]
    scores = np.sort(np.abs(np.log(mine["actual"].to_numpy() / mine["p50"].to_numpy())))
    q = scores[math.ceil(7 * 0.8) - 1]
    assert row["interval_method"] == "conformal"
    assert row["p10"] == pytest.approx(row["p50"] * math.exp(-q))
    assert row["p90"] == pytest.approx(row["p50"] * math.exp(q))


def test_a_baseline_that_beats_the_model_is_the_headline():
    # flat revenue with one spike month a year earlier: the mean and last quarter are near
    # exact, the run-rate model's season copies the spike
    rows = []
    for month in pd.period_range("2022-01", "2025-09", freq="M"):
        amount = 1000.0 * (5 if month == pd.Period("2024-08") else 1) + (month.month % 3)
        rows.append((f"O{month}", "A1", month.start_time + pd.Timedelta(days=9), amount))
    flat = pd.DataFrame(rows, columns=["order_id", "account_id", "order_date", "amount"])
    flat["line_no"] = 1
    fc = forecast_revenue(_data(flat), as_of="2025-09-30", backtest_periods=6, segment_by="none",
                          repetitions=500, backtest_repetitions=500)  # fmt: skip
    table = fc.methods().set_index("method")
    row = fc.scope()
    assert row["method"] in ("naive", "seasonal_naive", "mean")
    assert table.loc[row["method"], "mape"] < table.loc["run_rate", "mape"]
    assert row["p50"] == pytest.approx(row[row["method"]])


# -- no look-ahead -------------------------------------------------------------------------------
def _rewritten_after(orders: pd.DataFrame, day: str) -> pd.DataFrame:
    """Everything after ``day`` changed: amounts × 7, half the lines gone, new lines added."""
    out = orders.copy()
    later = pd.to_datetime(out["order_date"]) > day
    out.loc[later, "amount"] = out.loc[later, "amount"] * 7
    out = out.drop(out.index[later.to_numpy()][::2])
    extra = out.iloc[:3].copy()
    extra["order_id"] = ["X1", "X2", "X3"]
    extra["order_date"] = pd.Timestamp(day) + pd.to_timedelta([1, 40, 200], unit="D")
    extra["amount"] = [1e6, -5e5, 3e6]
    return pd.concat([out, extra], ignore_index=True)


def test_nothing_after_the_as_of_date_changes_the_forecast(data, orders):
    day = "2025-05-31"
    kwargs = {"as_of": day, "backtest_periods": 3, "repetitions": 300,
              "backtest_repetitions": 300, "seed": 5}  # fmt: skip
    a = forecast_revenue(data, **kwargs)
    b = forecast_revenue(_data(_rewritten_after(orders, day)), **kwargs)
    pd.testing.assert_frame_equal(a.forecasts, b.forecasts)
    pd.testing.assert_frame_equal(a.backtest.track, b.backtest.track)
    pd.testing.assert_frame_equal(a.backtest.headline, b.backtest.headline)
    pd.testing.assert_frame_equal(a.history, b.history)


def test_each_backtest_origin_sees_nothing_after_it(data, orders):
    """The back-test as of 2025-09-30 forecast 2025-Q2 on 2025-03-31 and 2025-04-30: the same
    figures come out of data whose every line after that origin was rewritten."""
    bt = backtest_revenue(data, as_of="2025-09-30", periods=3, repetitions=400, seed=5)
    t = bt.track[bt.track["period"] == "2025-Q2"]
    for origin_day in t["as_of"].drop_duplicates():
        day = str(origin_day.date())
        cut = forecast_revenue(
            _data(_rewritten_after(orders, day)), as_of=day, period="2025-Q2",
            backtest_periods=0, segment_by="none", repetitions=400, seed=5,
        )  # fmt: skip
        here = t[t["as_of"] == origin_day].set_index("method")
        for method in REVENUE_METHODS:
            assert here.loc[method, "p50"] == pytest.approx(cut.scope()[method], rel=1e-12), (
                day, method,
            )  # fmt: skip
        assert here["closed_to_date"].iloc[0] == pytest.approx(cut.scope()["closed_to_date"])
