"""kamlib.features against an independent plain-pandas reference, hand calculations and the demo truth.

``reference_features`` below recomputes every feature from ``KamData`` frames with pandas
only (the cut by ``KamData.as_of``, the windows by pandas offsets, the hierarchy by a
loop), so the Ibis definitions are checked against code that shares nothing with them.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from kamlib.data import TABLES, KamData, Snapshot, load, load_truth
from kamlib.data.store import conform
from kamlib.errors import ConfigError, DataValidationError, MissingTableError
from kamlib.features import (
    FeatureWindows,
    account_features,
    account_features_history,
    feature_catalogue,
    missing_reasons,
)

ts = pd.Timestamp
COUNTS = {"orders", "order_days", "product_lines", "open_opportunities", "escalations",
          "tickets", "contacts_known", "economic_buyer_known", "recency_days", "tenure_days",
          "days_since_last_activity", "group_accounts"}  # fmt: skip


# -- the reference -------------------------------------------------------------------------------
def months_back(day: pd.Timestamp, months: int) -> pd.Timestamp:
    """Calendar months back; from a month end to a month end."""
    if day.is_month_end:
        return day - pd.offsets.MonthEnd(months)
    return day - pd.DateOffset(months=months)


def cents(values: pd.Series) -> pd.Series:
    """Money in whole cents, half away from zero (kamlib sums money as exact cents)."""
    scaled = values.astype("float64") * 100.0
    return np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)


def top_parents(accounts: pd.DataFrame) -> dict[str, str]:
    parent = dict(zip(accounts["account_id"], accounts["parent_account_id"], strict=True))
    out = {}
    for account in parent:
        node = account
        while isinstance(parent.get(node), str) and parent[node] in parent:
            node = parent[node]
        out[account] = node
    return out


def reference_features(
    data: KamData, as_of: str, *, rollup: bool = False, windows: FeatureWindows | None = None
) -> pd.DataFrame:
    """Every feature of ``account_features``, in plain pandas, from ``data.as_of(as_of)``."""
    w = windows or FeatureWindows()
    d = ts(as_of)
    end = d + pd.Timedelta(days=1)
    start_s, start_p = months_back(d, w.trailing_months), months_back(d, 2 * w.trailing_months)
    start_l = months_back(d, w.long_months)
    q_bounds = [d] + [months_back(d, 3 * q) for q in range(1, w.quarters + 1)]
    cut = data.as_of(d)
    s, lo = w.short, w.long

    accounts = cut.accounts
    groups = top_parents(data.accounts) if rollup else None

    def regroup(frame: pd.DataFrame) -> pd.DataFrame:
        if groups is None:
            return frame
        return frame.assign(account_id=frame["account_id"].map(groups).fillna(frame["account_id"]))

    if rollup:
        members = accounts.assign(group=accounts["account_id"].map(groups))
        sums = members.groupby("group")[["employees", "annual_revenue", "category_spend"]].sum(
            min_count=1
        )
        top = data.accounts.set_index("account_id").loc[sums.index]
        out = pd.DataFrame(index=sums.index.rename("account_id"))
        for col in ("industry", "region", "registered_capital", "strategic_fit", "ownership"):
            out[col] = top[col].to_numpy()
        for col in sums:
            out[col] = sums[col]
        out["group_accounts"] = members.groupby("group").size().astype(float)
    else:
        out = accounts.set_index("account_id")[
            ["industry", "region", "employees", "annual_revenue", "registered_capital",
             "strategic_fit", "ownership", "category_spend"]
        ].copy()  # fmt: skip
    for col in ("employees", "annual_revenue", "registered_capital", "strategic_fit"):
        out[col] = out[col].astype("float64")

    # orders
    orders = regroup(cut.orders)
    orders = orders.assign(order_date=orders["order_date"].dt.normalize())
    if data.has("products"):
        line_of = data.products.drop_duplicates("product_id").set_index("product_id")
        orders["product_line"] = orders["product_line"].fillna(
            orders["product_id"].map(line_of["product_line"])
        )
    date, amount = orders["order_date"], orders["amount"]
    buy = orders[amount > 0]
    in_s, buy_s = orders[date > start_s], buy[buy["order_date"] > start_s]
    by = "account_id"
    has = out.index.isin(orders[by])

    def total(frame: pd.DataFrame, col: str = "amount") -> pd.Series:
        summed = cents(frame[col]).groupby(frame[by]).sum() / 100.0
        return summed.reindex(out.index).fillna(0.0).where(has)

    def distinct(frame: pd.DataFrame, col: str) -> pd.Series:
        return (
            frame.groupby(by)[col].nunique().reindex(out.index).fillna(0).astype(float).where(has)
        )

    out[f"revenue_{s}"] = total(in_s)
    out[f"revenue_{lo}"] = total(orders[date > start_l])
    out[f"revenue_prev_{s}"] = total(orders[(date > start_p) & (date <= start_s)])
    prev = out[f"revenue_prev_{s}"]
    out[f"growth_{s}"] = (out[f"revenue_{s}"] / prev - 1).where(prev > 0)
    costed = in_s[in_s["cost"].notna()]
    cost, costed_amount = total(costed, "cost"), total(costed)
    out[f"gross_margin_{s}"] = (1 - cost / costed_amount).where(costed_amount > 0)
    out[f"orders_{s}"] = distinct(buy_s, "order_id")
    out[f"order_days_{s}"] = distinct(buy_s, "order_date")
    first = buy.groupby(by)["order_date"].min().reindex(out.index)
    last = buy.groupby(by)["order_date"].max().reindex(out.index)
    out["recency_days"] = (d - last).dt.days.astype("float64")
    out["tenure_days"] = (d - first).dt.days.astype("float64")
    active = sum(
        buy[(buy["order_date"] > q_bounds[q]) & (buy["order_date"] <= q_bounds[q - 1])]
        .groupby(by)
        .size()
        .reindex(out.index)
        .gt(0)
        .astype(float)
        for q in range(1, w.quarters + 1)
    )
    out["active_quarter_share"] = (active / w.quarters).where(has)
    out[f"product_lines_{s}"] = distinct(buy_s.dropna(subset=["product_line"]), "product_line")
    spend = out["category_spend"]
    out["share_of_wallet"] = (out[f"revenue_{s}"] / spend).where(has & (cents(spend) > 0))

    # opportunities (KamData.as_of has reopened the deals closed later)
    if cut.has("opportunities"):
        opps = regroup(cut.opportunities)
        open_ = opps[opps["status"] == "open"]
        closed = opps[(opps["closed_date"] > start_l) & (opps["closed_date"] <= d)]
        won = closed[closed["status"] == "won"].groupby(by).size().reindex(out.index).fillna(0)
        lost = closed[closed["status"] == "lost"].groupby(by).size().reindex(out.index).fillna(0)
        pipeline = cents(open_["amount"]).groupby(open_[by]).sum() / 100.0
        out["open_pipeline"] = pipeline.reindex(out.index).fillna(0.0)
        out["open_opportunities"] = open_.groupby(by).size().reindex(out.index).fillna(0.0)
        out[f"win_rate_{lo}"] = (won / (won + lost)).where(won + lost > 0)
    else:
        out[["open_pipeline", "open_opportunities", f"win_rate_{lo}"]] = np.nan

    # service tickets
    if cut.has("service_tickets"):
        t = regroup(cut.service_tickets)
        t = t[t["opened_at"].dt.normalize() > start_s]
        opened = t["opened_at"].dt.floor("s")
        breached = pd.Series(False, index=t.index)
        for at, hours in (("first_response_at", "sla_response_hours"),
                          ("resolved_at", "sla_resolution_hours")):  # fmt: skip
            took = (t[at].fillna(end).dt.floor("s") - opened).dt.total_seconds()
            breached |= t[hours].notna() & (took > t[hours] * 3600)
        with_sla = t["sla_response_hours"].notna() | t["sla_resolution_hours"].notna()
        n = t.groupby(by).size().reindex(out.index).fillna(0.0)
        esc = t[t["escalated"].fillna(False).astype(bool)].groupby(by).size()
        n_sla = t[with_sla].groupby(by).size().reindex(out.index).fillna(0)
        n_breached = t[breached & with_sla].groupby(by).size().reindex(out.index).fillna(0)
        out[f"sla_breach_rate_{s}"] = (n_breached / n_sla).where(n_sla > 0)
        out[f"escalations_{s}"] = esc.reindex(out.index).fillna(0.0).where(n > 0)
        out[f"tickets_{s}"] = n
    else:
        out[[f"sla_breach_rate_{s}", f"escalations_{s}", f"tickets_{s}"]] = np.nan

    # contacts
    if cut.has("contacts"):
        c = regroup(cut.contacts)
        both = c[c["influence"].notna() & c["support"].notna()]
        weight = both["influence"].astype(float)
        ws = (weight * both["support"].astype(float)).groupby(both[by]).sum()
        wsum = weight.groupby(both[by]).sum()
        out["contacts_known"] = c.groupby(by).size().reindex(out.index).fillna(0.0)
        out["decision_maker_support"] = (ws / wsum).reindex(out.index)
        econ = c[c["buying_role"] == "economic"].groupby(by).size().reindex(out.index)
        out["economic_buyer_known"] = econ.gt(0).astype(float)
    else:
        out[["contacts_known", "decision_maker_support", "economic_buyer_known"]] = np.nan

    if cut.has("activities"):
        a = regroup(cut.activities)
        last_touch = a.groupby(by)["date"].max().reindex(out.index)
        out["days_since_last_activity"] = (d - last_touch.dt.normalize()).dt.days.astype(float)
    else:
        out["days_since_last_activity"] = np.nan
    out["first_order_date"] = first.astype("datetime64[ns]")
    out["last_order_date"] = last.astype("datetime64[ns]")
    columns = w.columns() + (["group_accounts"] if rollup else [])
    return out[columns].sort_index()


def assert_same(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Equal up to rtol 1e-9 on sums and ratios, exactly on counts, days, dates and labels."""
    assert list(actual.columns) == list(expected.columns)
    assert list(actual.index) == list(expected.index)
    for col in actual.columns:
        a, e = actual[col], expected[col]
        stem = col.rsplit("_", 1)[0] if col[-1] == "m" else col
        if a.dtype.kind == "f" and stem not in COUNTS:
            np.testing.assert_allclose(a, e.astype(float), rtol=1e-9, atol=0, err_msg=col)
        elif a.dtype.kind in "fM":
            pd.testing.assert_series_equal(a, e.astype(a.dtype), check_names=False, obj=col)
        else:
            assert ((a == e) | (a.isna() & e.isna())).all(), col


# -- hand-built data -----------------------------------------------------------------------------
def make_kamdata(frames: dict[str, pd.DataFrame]) -> KamData:
    """Canonical frames (as ``load`` gives them) in a KamData; date columns normalised like the store."""
    tables = {}
    for name, frame in frames.items():
        tables[name] = conform(frame, TABLES[name])
    return KamData(tables, snapshot=Snapshot(None, "test", None, "test"))


def edge_frames() -> dict[str, pd.DataFrame]:
    """Nine accounts, each an edge case; the as-of dates of the tests are 2024-02-29 and 2024-03-31.

    - ONE: a single order (2 lines, cost known on one) on 2023-11-10.
    - ZERO: an order and its full return: revenue 0.
    - RET: orders and a partial credit note (negative lines, own order).
    - NONE: no orders at all (created 2020).
    - LATE: an order at 23:50 on 2024-02-29 (the leap as-of day) and one on 2024-03-01.
    - FUTURE: created 2024-03-15 (absent as of 2024-02-29).
    - G1 ← G2 ← G3: a three-level group, each with orders; G3 has a ticket and contacts.
    - S1 (G3) and S2 (RET): orders whose lines fall in two months; S2 straddles the start of
      the 12-month window as of 2024-02-29.
    """
    acc = pd.DataFrame(
        {
            "account_id": ["ONE", "ZERO", "RET", "NONE", "LATE", "FUTURE", "G1", "G2", "G3"],
            "name": list("abcdefghi"),
            "industry": [
                "machinery",
                "auto",
                None,
                "energy",
                "auto",
                "auto",
                "electronics",
                "electronics",
                "auto",
            ],  # fmt: skip
            "region": ["华东", "华南", "华北", None, "华东", "华东", "华东", "华南", "西南"],
            "employees": [120, 80, None, 5000, 40, 10, 20000, 3000, 900],
            "annual_revenue": [5e7, 2e7, None, 9e9, 1e7, 1e6, 4e9, 8e8, None],
            "registered_capital": [1e7, None, 2e6, 5e8, 1e6, 1e5, 1e9, 1e8, 3e7],
            "ownership": [
                "private",
                "state",
                "jv",
                "listed",
                "private",
                "private",
                "state",
                "state",
                "foreign",
            ],  # fmt: skip
            "parent_account_id": [None, None, None, None, None, None, None, "G1", "G2"],
            "created_date": [ts("2020-01-01")] * 5
            + [ts("2024-03-15")]
            + [None, ts("2019-05-01"), ts("2021-01-01")],
            "category_spend": [1e6, 0.0, 5e5, 3e7, None, 1e5, 2e7, 4e6, 1e6],
            "strategic_fit": [3, 2, None, 5, 1, 1, 5, 4, 3],
        }
    )
    rows = [
        # order, line, account, date, product, line, amount, cost
        ("O1", 1, "ONE", "2023-11-10", "P1", None, 1200.0, 700.0),
        ("O1", 2, "ONE", "2023-11-10", "P2", "Drives", 300.0, None),
        ("Z1", 1, "ZERO", "2023-06-01", "P1", "PLC", 0.1, 0.05),
        ("Z1", 2, "ZERO", "2023-06-01", "P1", "PLC", 0.2, 0.1),
        ("Z2", 1, "ZERO", "2023-07-01", "P1", "PLC", -0.3, -0.15),
        ("R1", 1, "RET", "2022-01-15", "P1", "PLC", 5000.0, 3000.0),
        ("R2", 1, "RET", "2023-02-28", "P2", "Drives", 2000.0, 1500.0),
        ("R3", 1, "RET", "2023-04-01", "P3", "HMI", 1000.0, 600.0),
        ("R3", 2, "RET", "2023-04-01", "P1", "PLC", 500.0, 250.0),
        ("CN1", 1, "RET", "2023-12-31", "P3", "HMI", -400.0, 0.0),
        ("R4", 1, "RET", "2024-02-29", "P2", "Drives", 100.0, None),
        ("L1", 1, "LATE", "2024-02-29 23:50:00", "P1", "PLC", 800.0, 400.0),
        ("L2", 1, "LATE", "2024-03-01 00:10:00", "P1", "PLC", 900.0, 450.0),
        ("G1a", 1, "G1", "2023-09-30", "P1", "PLC", 10000.0, 6000.0),
        ("G1b", 1, "G1", "2021-12-31", "P2", "Drives", 7000.0, 4000.0),
        ("G2a", 1, "G2", "2023-10-01", "P3", "HMI", 3000.0, 2000.0),
        ("G2a", 2, "G2", "2023-10-01", "P1", "PLC", 1000.0, 500.0),
        ("G3a", 1, "G3", "2024-01-20", "P2", "Drives", 4000.0, 3100.0),
        ("G3b", 1, "G3", "2024-03-31", "P1", "PLC", 600.0, 300.0),
        # orders with lines in two months (a delivery split over the month end)
        ("S1", 1, "G3", "2023-12-20", "P3", "HMI", 200.0, 120.0),
        ("S1", 2, "G3", "2024-01-05", "P3", "HMI", 100.0, 60.0),
        ("S2", 1, "RET", "2023-02-15", "P3", "HMI", 70.0, 40.0),
        ("S2", 2, "RET", "2023-03-10", "P3", "HMI", 30.0, 20.0),
        ("F1", 1, "FUTURE", "2024-03-20", "P1", "PLC", 50.0, 20.0),
    ]
    orders = pd.DataFrame(
        rows,
        columns=[
            "order_id",
            "line_no",
            "account_id",
            "order_date",
            "product_id",
            "product_line",
            "amount",
            "cost",
        ],  # fmt: skip
    ).assign(order_date=lambda f: pd.to_datetime(f["order_date"], format="ISO8601"))
    products = pd.DataFrame(
        {"product_id": ["P1", "P2", "P3"], "product_line": ["PLC", "Drives", "HMI"]}
    )
    opps = pd.DataFrame(
        {
            "opportunity_id": ["Q1", "Q2", "Q3", "Q4", "Q5", "Q6"],
            "account_id": ["ONE", "ONE", "ONE", "G2", "G3", "RET"],
            "amount": [50000.0, 20000.0, 8000.0, 30000.0, 12000.0, None],
            "created_date": pd.to_datetime(["2023-05-01", "2022-06-01", "2023-01-10",
                                            "2023-12-01", "2024-03-05", "2023-02-01"]),
            "stage": ["quote", "won", "lost", "won", "lead", "negotiation"],
            "status": ["open", "won", "lost", "won", "open", "open"],
            "closed_date": pd.to_datetime([None, "2022-09-01", "2023-08-15", "2024-03-10",
                                           None, None]),
        }
    )  # fmt: skip
    history = pd.DataFrame(
        {
            "opportunity_id": ["Q4", "Q4", "Q4"],
            "stage": ["lead", "quote", "won"],
            "entered_at": pd.to_datetime(["2023-12-01 09:00", "2024-02-29 18:30",
                                          "2024-03-10 10:00"]),
            "amount": [25000.0, 28000.0, 30000.0],
        }
    )  # fmt: skip
    tickets = pd.DataFrame(
        {
            "ticket_id": ["T1", "T2", "T3", "T4", "T5"],
            "account_id": ["ONE", "ONE", "G3", "RET", "ONE"],
            "opened_at": pd.to_datetime(["2023-12-01 08:00:00.200", "2024-02-29 22:00:00",
                                         "2024-01-05 10:00", "2022-05-01 10:00",
                                         "2024-02-10 09:00"], format="ISO8601"),
            "first_response_at": pd.to_datetime(["2023-12-01 12:00:00.900", None,
                                                 "2024-01-05 11:00", "2022-05-01 11:00",
                                                 "2024-02-10 10:00"], format="ISO8601"),
            "resolved_at": pd.to_datetime(["2023-12-02 07:00", None, "2024-03-02 10:00",
                                           "2022-05-02 10:00", None]),
            "escalated": pd.array([True, False, None, True, False], dtype="boolean"),
            "sla_response_hours": [4.0, 1.0, 2.0, 4.0, None],
            "sla_resolution_hours": [24.0, 24.0, 48.0, 24.0, None],
        }
    )  # fmt: skip
    contacts = pd.DataFrame(
        {
            "contact_id": ["C1", "C2", "C3", "C4", "C5"],
            "account_id": ["ONE", "ONE", "ONE", "G3", "G1"],
            "buying_role": ["economic", "technical", "user", "technical", None],
            "influence": [5, 3, None, 2, 4],
            "support": [-1, 2, 1, None, 1],
        }
    )
    activities = pd.DataFrame(
        {
            "activity_id": ["A1", "A2", "A3", "A4"],
            "account_id": ["ONE", "ONE", "G2", "RET"],
            "date": pd.to_datetime(["2024-01-15", "2024-03-05", "2023-10-01", "2021-06-30"]),
        }
    )
    return {
        "accounts": acc, "products": products, "orders": orders, "opportunities": opps,
        "stage_history": history, "service_tickets": tickets, "contacts": contacts,
        "activities": activities,
    }  # fmt: skip


@pytest.fixture(scope="module")
def edge() -> dict[str, pd.DataFrame]:
    return edge_frames()


@pytest.fixture(scope="module")
def edge_data(edge) -> KamData:
    # the store keeps order dates as DATE: normalise them as an import would
    frames = dict(edge)
    frames["orders"] = edge["orders"].assign(order_date=edge["orders"]["order_date"].dt.normalize())
    return make_kamdata(frames)


@pytest.fixture(scope="module")
def edge_leap(edge) -> pd.DataFrame:
    """The edge cases as of the leap day (shared by the tests that only read it)."""
    return account_features(edge, as_of="2024-02-29")


@pytest.fixture(scope="module")
def edge_quarter_end(edge) -> pd.DataFrame:
    return account_features(edge, as_of="2024-03-31")


@pytest.fixture(scope="module")
def demo(demo_store) -> KamData:
    return load(demo_store)


# -- against the reference -------------------------------------------------------------------------
def test_edge_cases_equal_the_reference(edge_data, edge_leap, edge_quarter_end):
    # frames with time-of-day in order_date go straight in: kamlib casts to dates itself
    assert_same(edge_leap, reference_features(edge_data, "2024-02-29"))
    assert_same(edge_quarter_end, reference_features(edge_data, "2024-03-31"))


def test_edge_rollup_of_a_three_level_group_equals_the_reference(edge, edge_data):
    got = account_features(edge, as_of="2024-03-31", rollup=True)
    assert_same(got, reference_features(edge_data, "2024-03-31", rollup=True))
    group = got.loc["G1"]
    assert group["group_accounts"] == 3.0
    assert "G2" not in got.index and "G3" not in got.index
    # summed over the group: 10000 + 3000 + 1000 + 4000 + 600 + 200 + 100 in 12 months
    assert group["revenue_12m"] == pytest.approx(18900.0)
    assert group["employees"] == 23900.0 and group["annual_revenue"] == pytest.approx(4.8e9)
    assert group["registered_capital"] == 1e9 and group["industry"] == "electronics"
    assert group["product_lines_12m"] == 3.0  # PLC, HMI, Drives across the three plants


def test_demo_store_equals_the_reference_and_the_history_the_single_dates(demo_store, demo):
    # the end date, a leap day month end, a mid-month date (quarter ends: the edge cases)
    dates = ["2024-02-29", "2025-05-15", "2026-09-30"]
    history = account_features_history(demo_store, as_of_dates=[dates[1], *dates, dates[0]])
    assert list(history.index.get_level_values("as_of").unique()) == [ts(d) for d in dates]
    for as_of in dates:
        single = account_features(demo_store, as_of=as_of)
        assert_same(single, reference_features(demo, as_of))
        assert_same(history.loc[ts(as_of)], single)


def test_demo_rollup_equals_the_reference(demo_store, demo):
    got = account_features(demo_store, as_of="2026-09-30", rollup=True)
    assert_same(got, reference_features(demo, "2026-09-30", rollup=True))
    assert got["group_accounts"].sum() == len(demo.accounts)
    assert (got["group_accounts"] > 2).any()


def test_other_windows_equal_the_reference(demo_store, demo):
    windows = FeatureWindows(trailing_months=6, long_months=18, quarters=4)
    got = account_features(demo_store, as_of="2025-08-31", windows=windows)
    assert "revenue_6m" in got and "win_rate_18m" in got
    assert_same(got, reference_features(demo, "2025-08-31", windows=windows))
    history = account_features_history(
        demo_store, as_of_dates=["2025-07-31", "2025-08-31"], windows=windows
    )
    assert_same(history.loc[ts("2025-08-31")], got)


@pytest.mark.parametrize("rollup", [False, True])
def test_edge_history_equals_single_dates(edge, rollup):
    # month ends, in one shared pass (the windows reach back before the first order); S1
    # spans December / January, S2 the start of the 12 months as of 2024-02-29
    month_ends = list(pd.date_range("2023-09-30", "2024-05-31", freq="ME").date)
    history = account_features_history(edge, as_of_dates=month_ends, rollup=rollup)
    assert len(history.index.get_level_values("as_of").unique()) == len(month_ends)
    for as_of in ("2023-12-31", "2024-02-29"):
        single = account_features(edge, as_of=as_of, rollup=rollup)
        assert_same(history.loc[ts(as_of)], single)


def test_sources_agree(demo_store, demo):
    from_store = account_features(demo_store, as_of="2025-12-31")
    assert_same(account_features(demo, as_of="2025-12-31"), from_store)
    import ibis

    backend = ibis.duckdb.connect(str(demo_store), read_only=True)
    try:
        assert_same(account_features(backend, as_of="2025-12-31"), from_store)
        tables = {"accounts": backend.table("accounts"), "orders": backend.table("orders")}
        only_orders = account_features(tables, as_of="2025-12-31")
    finally:
        backend.disconnect()
    assert_same(
        only_orders[["revenue_12m", "orders_12m"]], from_store[["revenue_12m", "orders_12m"]]
    )
    assert only_orders["tickets_12m"].isna().all() and only_orders["open_pipeline"].isna().all()


# -- hand calculations -----------------------------------------------------------------------------
def test_hand_calculated_account(edge_leap):
    f = edge_leap.loc["ONE"]
    # one order O1 on 2023-11-10: 1200 (cost 700) + 300 (cost unknown)
    assert f["revenue_12m"] == 1500.0 and f["revenue_24m"] == 1500.0
    assert f["revenue_prev_12m"] == 0.0 and np.isnan(f["growth_12m"])
    assert f["gross_margin_12m"] == pytest.approx(1 - 700 / 1200)
    assert f["orders_12m"] == 1.0 and f["order_days_12m"] == 1.0
    assert f["recency_days"] == 111.0  # 2023-11-10 → 2024-02-29: 20 + 31 + 31 + 29
    assert f["tenure_days"] == 111.0
    assert f["active_quarter_share"] == 1 / 8  # (2023-11-30, 2024-02-29] holds no order
    assert f["product_lines_12m"] == 2.0  # PLC (from the product) and Drives
    assert f["share_of_wallet"] == pytest.approx(1500 / 1e6)
    # Q1 open 50000; Q2 won 2022-09-01 and Q3 lost 2023-08-15, both after 2022-02-28
    assert f["open_pipeline"] == 50000.0 and f["open_opportunities"] == 1.0
    assert f["win_rate_24m"] == 0.5
    # T1: answered after 4h00m00.7s, i.e. 4h in whole seconds (08:00:00 → 12:00:00): not
    # more than the 4h SLA; resolved in 23h (SLA 24h): on time.  T2: opened 22:00 on the
    # as-of day, no response by midnight: 2h > 1h: breached.  T5: no SLA hours: not rated.
    assert f["tickets_12m"] == 3.0 and f["escalations_12m"] == 1.0
    assert f["sla_breach_rate_12m"] == 0.5
    # contacts: C1 (5, −1), C2 (3, +2), C3 no influence: (−5 + 6) / 8
    assert f["contacts_known"] == 3.0 and f["economic_buyer_known"] == 1.0
    assert f["decision_maker_support"] == pytest.approx(1 / 8)
    assert f["days_since_last_activity"] == 45.0  # A2 (2024-03-05) is after the date
    assert f["first_order_date"] == f["last_order_date"] == ts("2023-11-10")


def test_zero_returns_late_orders_and_no_orders(edge_leap, edge_quarter_end):
    f = edge_leap
    zero = f.loc["ZERO"]
    assert zero["revenue_12m"] == 0.0 and zero["revenue_prev_12m"] == 0.0
    assert zero["revenue_24m"] == 0.0  # 0.1 + 0.2 − 0.3: exactly 0 when summed in cents
    assert np.isnan(zero["gross_margin_12m"]) and np.isnan(zero["share_of_wallet"])
    assert zero["recency_days"] == 273.0  # the return (2023-07-01) is not a purchase
    ret = f.loc["RET"]
    # R3 1500, CN1 -400, R4 100 and S2's second line 30 (its first, 2023-02-15, is earlier)
    assert ret["revenue_12m"] == pytest.approx(1230.0)
    assert ret["orders_12m"] == 3.0  # R3, R4, S2; the credit note CN1 is not an order
    # R2 on 2023-02-28 (the bound itself) and S2's first line are in months 13–24
    assert ret["revenue_prev_12m"] == 2070.0
    assert ret["growth_12m"] == pytest.approx(1230.0 / 2070.0 - 1)
    assert ret["gross_margin_12m"] == pytest.approx(1 - (600 + 250 + 0 + 20) / (1500 - 400 + 30))
    late = f.loc["LATE"]
    assert late["revenue_12m"] == 800.0 and late["recency_days"] == 0.0
    none = f.loc["NONE"]
    order_features = [c for c in f.columns if c.startswith(("revenue", "orders", "order_"))]
    assert none[order_features].isna().all() and pd.isna(none["first_order_date"])
    assert none["contacts_known"] == 0.0 and none["economic_buyer_known"] == 0.0
    assert none["tickets_12m"] == 0.0 and np.isnan(none["sla_breach_rate_12m"])
    assert "FUTURE" not in f.index
    assert "FUTURE" in edge_quarter_end.index


def test_reopened_opportunity_takes_its_amount_as_of_the_date(edge_leap, edge_quarter_end):
    before, after = edge_leap.loc["G2"], edge_quarter_end.loc["G2"]
    # Q4 won on 2024-03-10: open on 2024-02-29 with the amount entered that day (18:30)
    assert before["open_pipeline"] == 28000.0 and np.isnan(before["win_rate_24m"])
    assert after["open_pipeline"] == 0.0 and after["win_rate_24m"] == 1.0


def test_open_ticket_past_its_sla_counts_as_breached(edge_leap):
    g3 = edge_leap.loc["G3"]
    # T3: answered in 1h (SLA 2h) but resolved after the date: open for 55 days > 48h
    assert g3["sla_breach_rate_12m"] == 1.0
    assert g3["escalations_12m"] == 0.0  # escalated unknown counts as not escalated


def test_without_a_tickets_table_service_features_are_missing(edge):
    frames = {k: v for k, v in edge.items() if k != "service_tickets"}
    f = account_features(frames, as_of="2024-02-29")
    service = ["sla_breach_rate_12m", "escalations_12m", "tickets_12m"]
    assert f[service].isna().all().all()
    assert f["revenue_12m"].notna().any()
    reasons = missing_reasons(f)
    tickets = reasons[reasons["feature"] == "tickets_12m"]
    assert set(tickets["reason"]) == {"no service_tickets table"}
    assert len(tickets) == len(f)


def test_point_in_time_later_rows_change_nothing(demo):
    as_of = "2025-06-30"
    base = account_features(demo, as_of=as_of)
    frames = {name: demo[name] for name in demo.tables}
    rng = np.random.default_rng(11)
    extra = (
        frames["orders"]
        .sample(200, random_state=1)
        .assign(
            order_id=lambda f: "X" + f["order_id"],
            order_date=ts("2025-07-01") + pd.to_timedelta(rng.integers(0, 400, 200), unit="D"),
            amount=1e7,
        )
    )
    frames["orders"] = pd.concat([frames["orders"], extra], ignore_index=True)
    tickets = frames["service_tickets"]
    frames["service_tickets"] = pd.concat(
        [tickets, tickets.head(50).assign(ticket_id=lambda f: "X" + f["ticket_id"],
                                          opened_at=ts("2025-07-01 00:00:01"))],
        ignore_index=True,
    )  # fmt: skip
    assert_same(account_features(frames, as_of=as_of), base)
    # and cutting the data first (KamData.as_of) changes nothing either
    assert_same(account_features(demo.as_of(as_of), as_of=as_of), base)


def test_revenue_tracks_the_hidden_truth(demo_store):
    f = account_features(demo_store, as_of="2026-09-30")
    truth = load_truth(demo_store)["accounts"].set_index("account_id")
    both = f[["revenue_12m"]].join(truth["true_value_next_12m"]).dropna()
    rho = both["revenue_12m"].corr(both["true_value_next_12m"], method="spearman")
    assert rho > 0.8, rho


# -- catalogue, reasons, output shape ----------------------------------------------------------------
def test_catalogue_describes_every_column():
    cat = feature_catalogue()
    assert list(cat["name"]) == FeatureWindows().columns()
    assert set(cat["kind"]) == {"static", "dynamic"}
    assert cat[["description_en", "description_zh", "missing_when"]].notna().all().all()
    better = cat.set_index("name")["higher_is_better"]
    assert better["revenue_12m"] is True and better["recency_days"] is False
    assert better["industry"] is None
    assert "revenue_6m" in set(feature_catalogue(FeatureWindows(trailing_months=6))["name"])


def test_output_types(edge_leap):
    f = edge_leap
    assert f.index.name == "account_id" and f.index.is_unique and f.index.is_monotonic_increasing
    for col in f.columns:
        expected = (
            "str" if col in ("industry", "region", "ownership")
            else "datetime64[ns]" if col.endswith("_date") else "float64"
        )  # fmt: skip
        assert str(f[col].dtype) == expected, col


def test_missing_reasons_explain_every_gap(edge, edge_leap):
    f = edge_leap
    reasons = missing_reasons(f)
    assert len(reasons) == int(f.isna().sum().sum())
    by = reasons.set_index(["account_id", "feature"])["reason"]
    assert by[("NONE", "revenue_12m")] == "no order line on or before the as-of date"
    assert by[("ONE", "growth_12m")] == "no positive revenue in months 13–24"
    assert by[("ZERO", "share_of_wallet")] == "category_spend unknown or 0"
    assert by[("RET", "strategic_fit")] == "not recorded in accounts"
    assert by[("G2", "decision_maker_support")].startswith("no contact with influence")
    history = account_features_history(edge, as_of_dates=["2024-02-29"])
    assert list(missing_reasons(history).columns) == ["as_of", "account_id", "feature", "reason"]


# -- bad input -----------------------------------------------------------------------------------
def test_bad_input_is_refused_clearly(edge, edge_data):
    with pytest.raises(ConfigError, match="'as_of' parameter must be a date"):
        account_features(edge, as_of="end of June")
    with pytest.raises(ConfigError, match="must be a KamData, a store path"):
        account_features(42, as_of="2024-02-29")
    with pytest.raises(DataValidationError, match="does not exist"):
        account_features("/nonexistent/store.duckdb", as_of="2024-02-29")
    with pytest.raises(MissingTableError, match="'orders'"):
        account_features({"accounts": edge["accounts"]}, as_of="2024-02-29")
    with pytest.raises(DataValidationError, match="'order_date' missing from table 'orders'"):
        account_features(
            {**edge, "orders": edge["orders"].drop(columns="order_date")}, as_of="2024-02-29"
        )
    with pytest.raises(DataValidationError, match="already cut at 2024-01-31"):
        account_features(edge_data.as_of("2024-01-31"), as_of="2024-02-29")
    with pytest.raises(ConfigError, match="'trailing_months' parameter of FeatureWindows"):
        FeatureWindows(trailing_months=0)
    with pytest.raises(ConfigError, match="single date"):
        account_features_history(edge, as_of_dates="2024-02-29")
    with pytest.raises(ConfigError, match="is empty"):
        account_features_history(edge, as_of_dates=[])
    with pytest.raises(DataValidationError, match="'invoices' is not a canonical table"):
        account_features({**edge, "invoices": edge["orders"]}, as_of="2024-02-29")


def test_a_cycle_in_the_hierarchy_is_refused(edge):
    accounts = edge["accounts"].copy()
    accounts.loc[accounts["account_id"] == "G1", "parent_account_id"] = "G3"
    with pytest.raises(DataValidationError, match="form a cycle: G1 → G3 → G2 → G1"):
        account_features({**edge, "accounts": accounts}, as_of="2024-03-31", rollup=True)
    # without rollup the hierarchy is not needed
    assert len(account_features({**edge, "accounts": accounts}, as_of="2024-03-31")) == 9


def test_as_of_accepts_dates_and_timestamps(edge, edge_leap):
    assert_same(account_features(edge, as_of=ts("2024-02-29 15:00")), edge_leap)


# -- portability -----------------------------------------------------------------------------------
def test_both_query_shapes_compile_to_spark_sql(monkeypatch, edge):
    """Every operation has a Spark SQL translation (no Spark needed to find one that has not:
    Ibis compiles no bitwise aggregate for Spark, for instance)."""
    import ibis
    import ibis.config

    from kamlib import features as F

    class PySparkOptions(ibis.config.Config):  # what the pyspark backend registers on import
        treat_nan_as_null: bool = False

    monkeypatch.setattr(ibis.options, "pyspark", PySparkOptions())
    windows = FeatureWindows()
    month_ends = (dt.date(2024, 1, 31), dt.date(2024, 2, 29))
    with F._open(edge) as src:
        links = src.backend.to_pyarrow(src.tables["accounts"]).to_pandas()
        groups = F._group_map(links[["account_id", "parent_account_id"]])
        for dates, single in (((dt.date(2024, 2, 29),), True), (month_ends, False)):
            plan = F._Plan(tuple(F._Cut.build(d, windows) for d in dates), windows)
            # a rollup uses every operation of the plain features, and the group mapping
            expr = F._feature_table(src, plan, rollup=True, groups=groups, single=single)
            sql = str(ibis.to_sql(expr, dialect="pyspark")).upper()
            assert "BIT_OR" not in sql and "MEDIAN" not in sql and "ASOF" not in sql
