"""The plain-pandas reference of kamlib.features, the edge-case frames and the comparison.

Shared by ``test_features.py`` (the Ibis features against it) and ``test_conformance.py``
(every engine against it).  ``reference_features`` recomputes every feature from
``KamData`` frames with pandas only (the cut by ``KamData.as_of``, the windows by pandas
offsets, the hierarchy by a loop), so it shares nothing with the Ibis definitions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kamlib.data import TABLES, KamData, Snapshot
from kamlib.data.schemas import conform
from kamlib.features import FeatureWindows

ts = pd.Timestamp
COUNTS = {"orders", "order_days", "product_lines", "open_opportunities", "escalations",
          "tickets", "contacts_known", "economic_buyer_known", "recency_days", "tenure_days",
          "days_since_last_activity", "group_accounts", "insured_headcount", "listed"}  # fmt: skip


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
    # the point-in-time universe: an account without created_date exists from its first
    # order line, opportunity, activity or ticket (the cut holds those dated up to as_of)
    seen: set = set()
    for name in ("orders", "opportunities", "activities", "service_tickets"):
        if cut.has(name):
            seen |= set(cut[name]["account_id"].dropna())
    created = accounts["created_date"] if "created_date" in accounts else pd.Series(
        pd.NaT, index=accounts.index
    )
    accounts = accounts[created.notna() | accounts["account_id"].isin(seen)]
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
    # product lines: missing without any product line in the source; missing for an account
    # whose purchases of the window all lack one (0 would say it bought none)
    lines = distinct(buy_s.dropna(subset=["product_line"]), "product_line")
    lines_known = data.has("products") or data.orders["product_line"].notna().any()
    out[f"product_lines_{s}"] = lines.where(
        lines_known & ~((out[f"orders_{s}"] > 0) & (lines == 0))
    )
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
    registry = registry_reference(data, d, list(out.index))
    for col in registry:
        out[col] = registry[col]
    out["first_order_date"] = first.astype("datetime64[ns]")
    out["last_order_date"] = last.astype("datetime64[ns]")
    columns = w.columns() + (["group_accounts"] if rollup else [])
    return out[columns].sort_index()


def registry_reference(data: KamData, d: pd.Timestamp, ids: list[str]) -> pd.DataFrame:
    """The registry features in plain pandas (``kamlib.features.registry``): per account the
    newest retrieval on or before ``d``, else the earliest; a group (rollup) has its top
    account's own, so ``ids`` (top accounts then) are looked up as they are."""
    cols = ["registry_capital", "insured_headcount", "years_established", "listed"]
    out = pd.DataFrame(np.nan, index=pd.Index(ids, name="account_id"), columns=cols)
    if not data.has("firmographics"):
        return out
    firms = data.firmographics
    rows = {}
    for account, recs in firms.groupby("account_id"):
        day = recs["retrieved_at"].dt.normalize()
        before = recs[day <= d]
        if len(before):
            pick = before.assign(day=day).sort_values(["day", "source"], ascending=[False, True])
        else:
            pick = recs.assign(day=day).sort_values(["day", "source"])
        rows[account] = pick.iloc[0]
    for account in out.index:
        if account not in rows:
            continue
        r = rows[account]
        cur = r["reg_capital_currency"]
        if isinstance(cur, str) and cur.strip().upper() in ("CNY", "RMB", "人民币"):
            out.loc[account, "registry_capital"] = r["reg_capital"]
        heads = r["insured_headcount"]
        if pd.isna(heads) and isinstance(r["headcount_band"], str):
            band = r["headcount_band"].replace(",", "").strip()
            if any(w in band.lower() for w in ("小于", "少于", "以下", "<", "less than", "under")):
                heads = 0
            else:
                digits = pd.Series([band]).str.extract(r"([0-9]+)")[0].iloc[0]
                heads = np.nan if pd.isna(digits) else int(digits)
        out.loc[account, "insured_headcount"] = np.nan if pd.isna(heads) else float(heads)
        est = r["established"]
        if pd.notna(est) and est.normalize() <= d:
            out.loc[account, "years_established"] = (d - est.normalize()).days / 365.25
        flag, kind = r["listed"], r["company_type"]
        if pd.notna(flag):
            out.loc[account, "listed"] = float(bool(flag))
        elif isinstance(kind, str):
            kind = kind.replace("（", "(").replace("）", ")")
            if "非上市" in kind:
                out.loc[account, "listed"] = 0.0
            elif "(上市" in kind:
                out.loc[account, "listed"] = 1.0
    return out


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
