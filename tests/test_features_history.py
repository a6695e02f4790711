"""The month-end history from the engine's (account, month) reduction rolled by numpy
(kamlib.features.history): each date's rows exactly equal the one-date features."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from kamlib.features import FeatureWindows, account_features, account_features_history, history
from kamlib.features import windows as feature_windows


def random_book(seed: int = 7, accounts: int = 60) -> dict[str, pd.DataFrame]:
    """A book with the history's edge cases, over 2019–2024.

    - OLD*: lines only before the first month any window of the dates reaches (carried in);
    - returns (negative lines, some a full return), zero amounts, sub-cent amounts;
    - NULL costs on some lines, NaN on others;
    - orders whose lines fall in two or three months (and one order id reused by two
      accounts); lines without an order id (a day, not an order);
    - product lines partly unknown; accounts created after some dates, others undated.
    """
    rng = np.random.default_rng(seed)
    ids = [f"A{n:03d}" for n in range(accounts)] + ["OLD1", "OLD2"]
    created = [
        pd.NaT if n % 7 == 0 else pd.Timestamp("2018-01-01") + pd.Timedelta(days=int(d))
        for n, d in enumerate(rng.integers(0, 6 * 365, len(ids)))
    ]
    acc = pd.DataFrame(
        {
            "account_id": ids,
            "industry": rng.choice(["auto", "energy", None], len(ids)),
            "region": "华东",
            "created_date": created,
            "category_spend": rng.choice([0.0, 1e5, 1e6, np.nan], len(ids)),
        }
    )
    n = 3000
    day = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 6 * 365, n), unit="D")
    account = rng.choice(ids[:accounts], n)
    amount = np.round(rng.normal(800, 900, n), 3)  # ~20 % negative, sub-cent values
    amount[rng.random(n) < 0.03] = 0.0
    cost = np.where(rng.random(n) < 0.2, np.nan, np.round(amount * 0.6, 2))
    order_no = rng.integers(0, 900, n)
    orders = pd.DataFrame(
        {
            "account_id": account,
            "order_id": [f"O{o}" for o in order_no],
            "line_no": range(n),
            "order_date": day,
            "product_id": rng.choice(["P1", "P2", "P3", "P4"], n),
            "product_line": rng.choice(["PLC", "HMI", "Drives", None], n),
            "amount": amount,
            "cost": cost,
        }
    )
    # an order's lines across months (the same order id, later dates), and a full return
    spans = orders.sample(200, random_state=seed).assign(
        order_date=lambda f: f["order_date"] + pd.Timedelta(days=35), line_no=lambda f: f.index + n
    )
    full_return = orders.head(40).assign(
        amount=lambda f: -f["amount"], cost=None, line_no=lambda f: f.index + 2 * n
    )
    old = pd.DataFrame(
        {
            "account_id": ["OLD1", "OLD1", "OLD2"],
            "order_id": ["X1", "X2", "X3"],
            "line_no": [9001, 9002, 9003],
            "order_date": pd.to_datetime(["2014-03-03", "2015-07-31", "2016-12-31"]),
            "product_id": ["P1", "P2", "P1"],
            "product_line": ["PLC", None, "HMI"],
            "amount": [500.0, -20.0, 70.0],
            "cost": [np.nan, None, 30.0],
        }
    )
    no_id = orders.iloc[[5, 6]].assign(order_id=None, line_no=[9101, 9102])  # NULL order ids
    orders = pd.concat([orders, spans, full_return, old, no_id], ignore_index=True)
    products = pd.DataFrame(
        {"product_id": ["P1", "P2", "P3"], "product_line": ["PLC", "HMI", None]}
    )
    return {"accounts": acc, "orders": orders, "products": products, **random_deals(rng, ids)}


def random_deals(rng: np.random.Generator, ids: list[str]) -> dict[str, pd.DataFrame]:
    """Service tickets and activities (some without an account), and opportunities with the history's edge cases: closed after some dates (open then, at
    the amount of their last stage-history entry by then: entries sharing a moment, entries
    without an amount, none at all), statuses other than open / won / lost and NULL, no
    created or closed date, no amount, and stage history of unknown opportunities."""
    n = 400
    created = pd.Timestamp("2020-06-01") + pd.to_timedelta(rng.integers(0, 4 * 365, n), unit="D")
    closed = created + pd.to_timedelta(rng.integers(0, 500, n), unit="D")
    status = rng.choice(["won", "lost", "open", "cancelled", None], n, p=[0.3, 0.3, 0.25, 0.1, 0.05])
    opps = pd.DataFrame(
        {
            "opportunity_id": [f"D{i}" for i in range(n)],
            "account_id": rng.choice([*ids, None], n),
            "amount": np.where(rng.random(n) < 0.1, np.nan, np.round(rng.uniform(1e3, 9e5, n), 3)),
            "created_date": created.where(rng.random(n) > 0.03),
            "closed_date": closed.where((status != "open") & (rng.random(n) > 0.05)),
            "status": status,
        }
    )
    m = 1500
    deal = rng.integers(0, n + 20, m)  # some of no known opportunity
    entered = created[np.minimum(deal, n - 1)] + pd.to_timedelta(rng.integers(0, 600, m), unit="D")
    entered = entered + pd.to_timedelta(rng.choice([0, 0, 3600, 36000], m), unit="s")
    stages = pd.DataFrame(
        {
            "opportunity_id": [f"D{d}" for d in deal],
            "entered_at": entered,
            "amount": np.where(rng.random(m) < 0.15, np.nan, np.round(rng.uniform(1e3, 9e5, m), 2)),
        }
    )
    ties = stages.sample(100, random_state=1).assign(amount=lambda f: f["amount"] * 2)
    acts = pd.DataFrame(
        {
            "account_id": rng.choice([*ids[:-1], None], 700),  # OLD2 never: no activity at all
            "date": pd.Timestamp("2015-01-01")
            + pd.to_timedelta(rng.integers(0, 10 * 365, 700), unit="D"),
        }
    )
    k = 900  # service tickets: answered / resolved after some dates or never, no SLA, ms
    opened = pd.Timestamp("2020-06-01") + pd.to_timedelta(rng.integers(0, 4 * 365 * 86400, k), "s")
    opened = opened + pd.to_timedelta(rng.integers(0, 1000, k), unit="ms")
    answer = opened + pd.to_timedelta(rng.exponential(30, k), unit="h")
    solve = answer + pd.to_timedelta(rng.exponential(400, k), unit="h")
    tickets = pd.DataFrame(
        {
            "account_id": rng.choice([*ids, None], k),
            "opened_at": opened.where(rng.random(k) > 0.02),
            "first_response_at": answer.where(rng.random(k) > 0.1),
            "resolved_at": solve.where(rng.random(k) > 0.2),
            "escalated": rng.choice([True, False, None], k),
            "sla_response_hours": rng.choice([4.0, 24.0, 48.0, np.nan], k),
            "sla_resolution_hours": rng.choice([72.0, 240.0, 1000.0, np.nan], k),
        }
    )
    return {
        "opportunities": opps,
        "stage_history": pd.concat([stages, ties], ignore_index=True),
        "activities": acts,
        "service_tickets": tickets,
    }


DATES = [
    *pd.date_range("2022-01-31", "2023-12-31", freq="ME").date,  # 24 month ends
    dt.date(2022, 2, 28),
    dt.date(2023, 6, 15),  # not a month end: computed on its own
    dt.date(2024, 2, 29),  # a leap day, after a gap
]


@pytest.fixture(scope="module")
def book() -> dict[str, pd.DataFrame]:
    return random_book()


@pytest.mark.parametrize("rollup", [False, True])
def test_history_exactly_equals_each_date(book, rollup):
    frames = book
    if rollup:
        acc = book["accounts"].copy()
        acc["parent_account_id"] = [None if n % 4 else "A001" for n in range(len(acc))]
        acc.loc[acc["account_id"] == "A001", "parent_account_id"] = None
        frames = book | {"accounts": acc}
    got = account_features_history(frames, as_of_dates=DATES, rollup=rollup)
    assert sorted({d.date() for d in got.index.get_level_values("as_of")}) == sorted(set(DATES))
    for day in sorted(set(DATES)):
        single = account_features(frames, as_of=day, rollup=rollup)
        pd.testing.assert_frame_equal(got.loc[pd.Timestamp(day)], single, check_exact=True)
    # the carried-in accounts exist at every date and keep their first / last order
    if not rollup:
        old = got.xs("OLD1", level="account_id")
        assert (old["first_order_date"] == pd.Timestamp("2014-03-03")).all()
        assert (old["revenue_24m"] == 0.0).all() and old["tenure_days"].notna().all()


def test_other_windows_and_small_blocks_give_the_same_history(book, monkeypatch):
    windows = FeatureWindows(trailing_months=6, long_months=18, quarters=5)
    dates = list(pd.date_range("2021-03-31", "2023-12-31", freq="ME").date)
    whole = account_features_history(book, as_of_dates=dates, windows=windows)
    monkeypatch.setattr(history, "GRID_CELLS", 50)  # blocks of one or two accounts
    blocks = account_features_history(book, as_of_dates=dates, windows=windows)
    pd.testing.assert_frame_equal(blocks, whole, check_exact=True)
    for day in (dates[0], dates[17], dates[-1]):
        single = account_features(book, as_of=day, windows=windows)
        pd.testing.assert_frame_equal(whole.loc[pd.Timestamp(day)], single, check_exact=True)


def test_roll_months_reads_running_sums_at_each_date():
    # one account, one window of 2 months: amounts 5 (month 1), 7 (month 3); cents
    windows = FeatureWindows(trailing_months=2, long_months=4, quarters=1)
    cuts = tuple(
        feature_windows._Cut.build(d, windows)
        for d in (dt.date(2024, 4, 30), dt.date(2024, 5, 31), dt.date(2024, 6, 30))
    )
    plan = feature_windows._Plan(cuts, windows)
    start = history.first_month(plan)  # 2024-01: four months before April
    assert start == feature_windows.month_number(dt.date(2024, 1, 1))
    months = pa.table(
        {
            "account_id": ["A", "A", "A"],
            "i": [start - 3, start, start + 2],  # the first row: before any window
            "amount": [900, 500, 700],
            "cost": [100, None, 300],
            "costed": [900, None, 700],
            "n_lines": [1, 3, 1],
            "first_purchase": pa.array([None, dt.date(2024, 1, 5), dt.date(2024, 3, 9)]),
            "last_purchase": pa.array([None, dt.date(2024, 1, 5), dt.date(2024, 3, 20)]),
        }
    )
    # the recent months start in March (the first short window: March–April), one bit each
    assert history.recent_base(plan) == start + 2 and history.mask_columns(plan) == 1
    days = pa.table({"account_id": ["A"], "i": [start + 2], "n": [2]})  # 9 and 20 March
    # O2 (January / March) and O3 (March): March only, as the engine gives them; O4 was
    # bought in March and June (bits 0 and 3): in the windows of April and June, not May
    orders = pa.table({"account_id": ["A", "A"], "m0": [0b0001, 0b1001], "n": [2, 1]})
    lines = pa.table({"account_id": ["A", None], "m0": [0b0001, 0b0001], "n": [1, 5]})
    reduced = {"months": months, "days": days, "orders": orders, "lines": lines}
    got = history.roll_months(reduced, plan).to_pydict()
    assert got["k"] == [0, 1, 2]
    assert got["rev_short"] == [700, 0, 0]  # March–April, April–May, May–June
    assert got["rev_long"] == [1200, 700, 700]
    assert got["rev_prev"] == [500, 700, 700]  # Dec–Jan, Feb–Mar, Mar–Apr
    assert got["cost_short"] == [300, 0, 0] and got["days_short"] == [2, 0, 0]
    assert got["orders_short"] == [3, 0, 1]  # O2, O3, O4 in March–April; O4 in May–June
    assert got["lines_short"] == [1, 0, 0]  # a row without an account counts nowhere
    assert got["quarters"] == [1, 1, 0]  # a purchase in the last 3 months: March
    assert got["first_purchase"] == [dt.date(2024, 1, 5)] * 3
    assert got["last_purchase"] == [dt.date(2024, 3, 20)] * 3


def test_history_sql_is_compiled_once_per_shape_and_equals_a_fresh_compilation(book):
    from kamlib.features import prepared

    rng = np.random.default_rng(3)
    acts = pd.DataFrame(
        {
            "account_id": rng.choice(book["accounts"]["account_id"], 400),
            "date": pd.Timestamp("2020-01-01")
            + pd.to_timedelta(rng.integers(0, 5 * 365, 400), unit="D"),
        }
    )
    frames = book | {"activities": acts}
    month_ends = sorted({d for d in DATES if (d + dt.timedelta(days=1)).day == 1})
    prepared.clear_cache()
    first = account_features_history(frames, as_of_dates=month_ends[:24])
    again = account_features_history(frames, as_of_dates=month_ends[3:20])
    info = prepared.cache_info()
    # two shapes: the history query, and the engine's rows it reads (reduction, deals …)
    assert (info.compilations, info.hits) == (2, 2)
    # the last date (the activities' filter) and the in-memory tables are the call's own
    assert again.loc[pd.Timestamp(month_ends[19]), "days_since_last_activity"].notna().any()
    with prepared.fresh_compilation():
        fresh = account_features_history(frames, as_of_dates=month_ends[3:20])
    pd.testing.assert_frame_equal(again, fresh, check_exact=True)
    pd.testing.assert_frame_equal(
        first.loc[pd.Timestamp(month_ends[10])],
        again.loc[pd.Timestamp(month_ends[10])],
        check_exact=True,
    )


def test_a_long_history_spreads_its_months_over_several_masks(book):
    # 70 month ends and 12-month windows: 81 months of purchases, two int64 masks of 62 bits
    dates = list(pd.date_range("2019-01-31", "2024-10-31", freq="ME").date)
    cuts = tuple(feature_windows._Cut.build(d, FeatureWindows()) for d in dates)
    assert history.mask_columns(feature_windows._Plan(cuts, FeatureWindows())) == 2
    whole = account_features_history(book, as_of_dates=dates)
    for day in (dates[0], dates[50], dates[51], dates[52], dates[-1]):  # 62 bits: near 51
        single = account_features(book, as_of=day)
        pd.testing.assert_frame_equal(whole.loc[pd.Timestamp(day)], single, check_exact=True)


def test_an_engine_without_bit_or_gives_the_same_history(book, monkeypatch):
    # DuckDB ORs the month (and day) bits; an engine without BIT_OR in Ibis (Spark) sums the
    # distinct (account, key, month) rows' bits and counts the days in a query of their own
    import ibis

    from kamlib.features import history_events, prepared

    assert history_events.has_bit_or(ibis.duckdb.connect())
    used = []
    reduction = history_events.monthly_reduction

    def spy(*args, bit_or):
        used.append(bit_or)
        return reduction(*args, bit_or=bit_or)

    monkeypatch.setattr(history_events, "monthly_reduction", spy)
    prepared.clear_cache()
    dates = list(pd.date_range("2019-01-31", "2024-10-31", freq="ME").date)  # two masks
    with_or = account_features_history(book, as_of_dates=dates)
    for module in (history_events, prepared):  # the prepared rows and the fresh ones
        monkeypatch.setattr(module, "has_bit_or", lambda backend: False)
    without = account_features_history(book, as_of_dates=dates)
    pd.testing.assert_frame_equal(without, with_or, check_exact=True)
    with prepared.fresh_compilation():
        fresh = account_features_history(book, as_of_dates=dates)
    pd.testing.assert_frame_equal(fresh, with_or, check_exact=True)
    assert used == [True, False, False]


def test_the_history_rows_sql_prepared_equals_a_fresh_compilation(book):
    # the engine's queries of the history (order reduction, deals, tickets, activities),
    # compiled once for placeholder bounds: with a call's dates written in, the SQL Ibis
    # compiles for that call — here with a rollup's groups and 70 dates (two masks)
    import re

    import ibis.expr.operations as ops

    from kamlib.features import engines, history_events, prepared

    dates = list(pd.date_range("2019-01-31", "2024-10-31", freq="ME").date)
    windows = FeatureWindows()
    cuts = tuple(feature_windows._Cut.build(d, windows) for d in dates)
    plan = feature_windows._Plan(cuts, windows)
    bounds = history.reduction_bounds(plan)
    assert bounds.masks == 2
    groups = pd.DataFrame({"account_id": ["A001"], "group_id": ["A002"]})
    with engines._open(book) as src:
        bit_or = history_events.has_bit_or(src.backend)
        templates = prepared._compile_rows(src, bounds.masks, bit_or=bit_or, grouped=True)
        assert templates is not None
        group_table = engines._frame_table(groups)
        fresh = history_events.history_queries(src, bounds, group_table, bit_or=bit_or)
        assert set(templates) == set(fresh) == {"orders", *history_events.HISTORY_TABLES}
        literals = [prepared._date_sql(d) for d in bounds.dates]
        for part, exprs in fresh.items():
            assert set(templates[part]) == set(exprs)
            for name, expr in exprs.items():
                t = templates[part][name]
                sql = t.pattern.sub(
                    lambda m, t=t: "T" if m.group(0) in t.reads else literals[t.dates[m.group(0)]],
                    t.sql,
                )
                want = src.backend.compile(expr)
                names = {op.name for op in expr.op().find(ops.InMemoryTable)}
                if names:
                    want = re.sub("|".join(map(re.escape, names)), "T", want)
                assert sql == want, (part, name)


def test_history_rows_are_sorted_by_date_then_account_id_bytewise():
    from kamlib.features.definitions import sorted_history

    ids = ["b", "Z", "é", "a", "b", "a", "ab"]
    table = pa.table({"k": [1, 0, 0, 1, 0, 0, 1], "account_id": ids, "x": range(7)})
    got = sorted_history(table).to_pydict()
    assert list(zip(got["k"], got["account_id"], strict=True)) == [
        (0, "Z"), (0, "a"), (0, "b"), (0, "é"), (1, "a"), (1, "ab"), (1, "b"),
    ]  # fmt: skip
    assert got["x"] == [1, 5, 4, 2, 3, 6, 0]
    with_null = pa.table({"k": [0, 0, 0], "account_id": [None, "b", "a"]})
    assert sorted_history(with_null)["account_id"].to_pylist() == ["a", "b", None]
