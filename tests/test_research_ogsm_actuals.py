"""OGSM actuals: the grouped sums of :func:`kamlib.research.ogsm_progress` equal, to the last
bit, the per-target sums they replaced (one boolean mask over a whole event table per target,
which took 11 minutes for the 43,713 targets of the large demo).

The oracle below is that old rule written plainly: for each target, mask the event table by
date window and scope, ``.sum()`` what is left.  Same numbers in the same order: the same float.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kamlib.data.kamdata import KamData, Snapshot
from kamlib.periods import parse_period
from kamlib.research import ogsm_progress

DAY_END = pd.Timedelta(hours=23, minutes=59, seconds=59)


def _events(data: KamData, cut: pd.Timestamp) -> dict[str, pd.DataFrame]:
    view = data.as_of(cut)
    accounts, orders = view.accounts, view.orders
    opps = view.opportunities if view.has("opportunities") else None
    targets = data.targets
    teams: dict[str, str] = {}
    if opps is not None:
        o = opps.dropna(subset=["owner", "team"])
        if len(o):
            mode = o.groupby("owner")["team"].agg(lambda s: s.value_counts().index[0])
            teams.update({str(k): str(v) for k, v in mode.items()})
    m = targets[targets["level"] == "manager"].dropna(subset=["owner", "team"])
    teams.update({str(k): str(v) for k, v in zip(m["owner"], m["team"], strict=True)})
    owner = orders["account_id"].map(accounts.set_index("account_id")["owner"])
    out = {
        "revenue": pd.DataFrame(
            {"account_id": orders["account_id"].astype(str).to_numpy(),
             "date": orders["order_date"].to_numpy(),
             "value": orders["amount"].astype("float64").to_numpy(),
             "owner": owner.astype("object").to_numpy(),
             "team": owner.map(teams).astype("object").to_numpy()}
        ),
        "wallet": accounts.set_index("account_id")["category_spend"],
    }  # fmt: skip
    if opps is not None:
        team = opps["team"].astype("object").where(opps["team"].notna(), opps["owner"].map(teams))
        base = pd.DataFrame(
            {"account_id": opps["account_id"].astype("object").to_numpy(),
             "owner": opps["owner"].astype("object").to_numpy(), "team": team.to_numpy()}
        )  # fmt: skip
        won = (opps["status"] == "won").to_numpy()
        out["bookings"] = base[won].assign(
            date=opps.loc[won, "closed_date"].to_numpy(),
            value=opps.loc[won, "amount"].astype("float64").fillna(0.0).to_numpy(),
        )
        out["new_opportunities"] = base.assign(date=opps["created_date"].to_numpy(), value=1.0)
    return out


def _year_before(day: pd.Timestamp) -> pd.Timestamp:
    out = day - pd.DateOffset(months=12)
    if day.is_month_end:
        out = out + pd.offsets.MonthEnd(0)
    return pd.Timestamp(out).normalize()


def _oracle(data: KamData, progress: pd.DataFrame, cut: pd.Timestamp) -> np.ndarray:
    """The actual of every progress row, one whole-table mask per target."""
    ev = _events(data, cut)
    out = []
    for row in progress.to_dict("records"):
        p = parse_period(str(row["period"]))
        start, end = pd.Timestamp(p.start), pd.Timestamp(p.end)
        upto = min(cut, end)
        level = str(row["level"]) if pd.notna(row["level"]) else "company"
        if row["measure"] == "share_of_wallet":
            acc, o = row["account_id"], ev["revenue"]
            wallet = ev["wallet"].get(acc, np.nan) if pd.notna(acc) else np.nan
            if pd.isna(wallet) or not wallet or wallet <= 0:
                out.append(np.nan)
                continue
            mask = (o["account_id"] == acc) & (o["date"] > _year_before(upto)) & (o["date"] <= upto)
            out.append(float(o.loc[mask, "value"].sum()) / float(wallet))
            continue
        events = ev.get(str(row["measure"]))
        if events is None:
            out.append(np.nan)
            continue
        if upto < start:
            out.append(0.0)
            continue
        mask = (events["date"] >= start) & (events["date"] <= upto + DAY_END)
        column = {"account": "account_id", "manager": "owner", "team": "team"}.get(level)
        if column is not None:
            mask &= events[column] == row[column]
        out.append(float(events.loc[mask, "value"].sum()))
    return np.asarray(out, dtype="float64")


@pytest.mark.parametrize(
    ("period", "as_of"),
    [("2026-Q3", "2026-09-30"), ("2026-Q3", "2026-08-14"), ("FY2026", "2026-05-31")],
)
def test_grouped_actuals_equal_the_per_target_sums_on_the_small_demo(small_data, period, as_of):
    cut = pd.Timestamp(as_of)
    progress = ogsm_progress(small_data, period=period, as_of=cut).progress
    # every level and measure of the cascade is exercised
    assert set(progress["level"]) == {"company", "team", "manager", "account"}
    assert set(progress["measure"]) >= {"revenue", "bookings", "new_opportunities"}
    np.testing.assert_array_equal(progress["actual"].to_numpy(), _oracle(small_data, progress, cut))
    assert progress["actual"].notna().any() and (progress["actual"] > 0).any()


def test_grouped_actuals_on_awkward_rows():
    """Unsorted dates, a missing amount, a won deal without a close date, keys that name
    nothing or are missing, the same question asked twice: still the per-target sums."""
    accounts = pd.DataFrame(
        {"account_id": ["A1", "A2", "A3"], "name": ["One", "Two", "Three"],
         "owner": ["M1", "M2", None], "category_spend": [1_000_000.0, 0.0, 5e5],
         "parent_account_id": [None, None, None], "created_date": pd.to_datetime([None] * 3)}
    )  # fmt: skip
    orders = pd.DataFrame(
        {"order_id": [f"o{i}" for i in range(7)], "line_no": 1,
         "account_id": ["A1", "A2", "A1", "A3", "A1", "A2", "A1"],
         "order_date": pd.to_datetime(["2026-08-20", "2026-07-01", "2026-07-15", "2026-09-30",
                                       "2025-10-02", "2026-08-01", "2026-09-01"]),
         "amount": [0.1, 0.2, np.nan, 0.3, 1e9, 1e-9, 0.7]}
    )  # fmt: skip
    opps = pd.DataFrame(
        {"opportunity_id": ["P1", "P2", "P3", "P4"], "account_id": ["A1", "A2", "A1", "A3"],
         "name": "x", "amount": [10.0, np.nan, 30.0, 5.0], "owner": ["M1", "M2", "M1", None],
         "team": ["East", None, "East", None],
         "created_date": pd.to_datetime(["2026-07-02", "2026-07-03", "2026-06-01", "2026-08-01"]),
         "status": ["won", "won", "won", "open"],
         "closed_date": pd.to_datetime(["2026-08-01", "2026-09-01", None, None]),
         "stage": "closed", "expected_close_date": pd.to_datetime(["2026-09-30"] * 4)}
    )  # fmt: skip
    rows = [
        ("T1", None, "company", "VP", None, None, "2026-Q3", "revenue", 1.0),
        ("T2", "T1", "team", "H", "East", None, "2026-Q3", "revenue", 1.0),
        ("T3", "T1", "team", "H", "West", None, "2026-Q3", "bookings", 1.0),
        ("T4", "T2", "manager", "M1", "East", None, "2026-Q3", "revenue", 1.0),
        ("T5", "T2", "manager", "M2", "West", None, "2026-Q3", "bookings", 1.0),
        ("T6", "T2", "manager", None, "East", None, "2026-Q3", "revenue", 1.0),
        ("T7", "T4", "account", "M1", "East", "A1", "2026-Q3", "revenue", 1.0),
        ("T8", "T4", "account", "M1", "East", "A1", "2026-08", "revenue", 1.0),
        ("T9", "T4", "account", "M1", "East", "A9", "2026-Q3", "revenue", 1.0),
        ("T10", "T4", "account", "M1", "East", None, "2026-Q3", "new_opportunities", 1.0),
        ("T11", "T4", "account", "M1", "East", "A1", "FY2026", "share_of_wallet", 0.2),
        ("T12", "T4", "account", "M2", "West", "A2", "FY2026", "share_of_wallet", 0.2),
        ("T13", "T4", "account", "M1", "East", "A1", "2026-Q3", "revenue", 2.0),
        ("T14", "T4", "region", "M1", "East", None, "2026-Q3", "new_opportunities", 1.0),
        ("T15", "T4", None, "M1", "East", None, "2026-09", "bookings", 1.0),
        ("T16", "T4", "account", "M1", "East", "A1", "2026-Q3", "visits", 1.0),
    ]
    targets = pd.DataFrame(
        rows, columns=["target_id", "parent_id", "level", "owner", "team", "account_id", "period",
                       "measure", "target_value"]
    ).assign(objective="Grow")  # fmt: skip
    data = KamData(
        {"accounts": accounts, "orders": orders, "opportunities": opps, "targets": targets},
        snapshot=Snapshot(None, "test", None, "test"),
    )
    for as_of in ("2026-09-30", "2026-08-20", "2026-06-30"):
        cut = pd.Timestamp(as_of)
        progress = ogsm_progress(data, period="2026-Q3", as_of=cut).progress
        assert len(progress) == len(rows)
        np.testing.assert_array_equal(progress["actual"].to_numpy(), _oracle(data, progress, cut))
    p = ogsm_progress(data, period="2026-Q3", as_of="2026-09-30").progress.set_index("target_id")
    assert p.loc["T7", "actual"] == pytest.approx(0.8)  # the missing amount adds nothing
    assert p.loc[["T6", "T9", "T10"], "actual"].tolist() == [0.0, 0.0, 0.0]  # no such key
    assert np.isnan(p.loc["T12", "actual"]) and np.isnan(p.loc["T16", "actual"])
