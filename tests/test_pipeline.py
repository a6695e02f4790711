"""kamlib.pipeline: the pipeline as of a date and close-date slippage.

Reference values are hand calculations on small histories written out below, the demo
generator's hidden truth, and the raw Maven export.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from kamlib.data import KamData, Snapshot
from kamlib.data.schemas import TABLES
from kamlib.data.store import conform
from kamlib.errors import DataValidationError
from kamlib.pipeline import PIPELINE_COLUMNS, close_date_slippage, pipeline_as_of, stage_events


def make_kamdata(frames: dict[str, pd.DataFrame]) -> KamData:
    return KamData(
        {n: conform(f, TABLES[n]) for n, f in frames.items()},
        snapshot=Snapshot(None, "test", None, "test"),
    )


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


# -- four hand-built deals -------------------------------------------------------------------
# A: lead → qualified (close date pushed 03-31 → 04-30 on 02-10) → quote → won on 05-10.
# B: lead, expected 02-01, lost on 03-15.
# C: created 02-20 (after the first as-of date).
# D: lead, lost 01-25, re-opened in qualified on 02-10, still open.
HISTORY = [
    ("A", "lead", "2024-01-01 09:00", 100.0, "2024-03-31"),
    ("A", "qualified", "2024-01-20 10:00", 120.0, "2024-03-31"),
    ("A", "qualified", "2024-02-10 11:00", 120.0, "2024-04-30"),
    ("A", "quote", "2024-03-01 09:30", 150.0, None),
    ("A", "won", "2024-05-10 16:00", 150.0, None),
    ("B", "lead", "2024-01-10 09:00", 50.0, "2024-02-01"),
    ("B", "lost", "2024-03-15 09:00", 50.0, None),
    ("C", "lead", "2024-02-20 09:00", 70.0, "2024-06-30"),
    ("D", "lead", "2024-01-05 09:00", 30.0, "2024-02-28"),
    ("D", "lost", "2024-01-25 09:00", 30.0, None),
    ("D", "qualified", "2024-02-10 09:00", 35.0, "2024-04-15"),
]
OPPS = [
    # id, created, status, stage, closed, amount, ecd
    ("A", "2024-01-01", "won", "won", "2024-05-10", 150.0, "2024-04-30"),
    ("B", "2024-01-10", "lost", "lost", "2024-03-15", 50.0, "2024-02-01"),
    ("C", "2024-02-20", "open", "lead", None, 70.0, "2024-06-30"),
    ("D", "2024-01-05", "open", "qualified", None, 35.0, "2024-04-15"),
]


def hand_frames(history=HISTORY, opps=OPPS) -> dict[str, pd.DataFrame]:
    h = pd.DataFrame(history, columns=["opportunity_id", "stage", "entered_at", "amount",
                                       "expected_close_date"])  # fmt: skip
    o = pd.DataFrame(opps, columns=["opportunity_id", "created_date", "status", "stage",
                                    "closed_date", "amount", "expected_close_date"])  # fmt: skip
    o["account_id"] = "X1"
    o["owner"] = np.where(o["opportunity_id"].isin(["A", "B"]), "Wang", "Li")
    o["team"] = "East"
    o["product_line"] = "PLC"
    accounts = pd.DataFrame({"account_id": ["X1"], "name": ["X One"]})
    orders = pd.DataFrame(
        {"order_id": ["O1"], "line_no": [1], "account_id": ["X1"], "order_date": ["2024-01-01"],
         "amount": [1.0]}
    )  # fmt: skip
    return {"accounts": accounts, "orders": orders, "opportunities": o, "stage_history": h}


@pytest.fixture(scope="module")
def hand() -> KamData:
    return make_kamdata(hand_frames())


pytestmark = pytest.mark.filterwarnings(
    "ignore:Pipeline data quality:kamlib.errors.DataQualityWarning"
)


def test_pipeline_as_of_by_hand(hand):
    pipe = pipeline_as_of(hand, "2024-02-15")
    assert list(pipe.columns) == list(PIPELINE_COLUMNS)
    assert pipe.attrs["source"] == "stage_history"
    assert list(pipe["opportunity_id"]) == ["A", "B", "D"]  # C created later
    a, b, d = (pipe.iloc[i] for i in range(3))
    # A: in qualified since 01-20, amount 120, close date already pushed to 04-30 on 02-10
    assert (a["stage"], a["stage_order"], a["amount"]) == ("qualified", 1, 120.0)
    assert a["stage_entered_date"] == ts("2024-01-20")
    assert a["expected_close_date"] == ts("2024-04-30")
    assert (a["age_days"], a["days_in_stage"], a["is_past_due"]) == (45, 26, False)
    # B: still in lead (lost only on 03-15), expected 02-01: past due
    assert (b["stage"], b["amount"], b["days_in_stage"], b["is_past_due"]) == (
        "lead",
        50.0,
        36,
        True,
    )
    # D: re-opened on 02-10 in qualified with the amount and date of the re-opening row
    assert (d["stage"], d["amount"], d["expected_close_date"]) == (
        "qualified",
        35.0,
        ts("2024-04-15"),
    )
    assert d["age_days"] == 41 and d["days_in_stage"] == 5
    assert pipe["amount"].dtype == "float64" and pipe["stage_order"].dtype == "int64"


def test_deal_closed_later_is_open_with_what_it_had_then(hand):
    early = pipeline_as_of(hand, "2024-02-05").set_index("opportunity_id")
    assert early.loc["A", "expected_close_date"] == ts("2024-03-31")  # before the push
    assert "D" not in early.index  # lost on 01-25, not yet re-opened
    late = pipeline_as_of(hand, "2024-05-10")
    assert list(late["opportunity_id"]) == ["C", "D"]  # A won that day
    assert list(pipeline_as_of(hand, "2024-05-09")["opportunity_id"]) == ["A", "C", "D"]
    assert pipeline_as_of(hand, "2024-05-09").iloc[0]["stage"] == "quote"
    assert pipeline_as_of(hand, "2024-05-09").iloc[0]["amount"] == 150.0
    # nothing open before the first deal
    empty = pipeline_as_of(hand, "2023-12-31")
    assert len(empty) == 0 and list(empty.columns) == list(PIPELINE_COLUMNS)


def test_pipeline_as_of_refuses_a_bad_date(hand):
    with pytest.raises(DataValidationError, match="'as_of' parameter must be a date"):
        pipeline_as_of(hand, "end of June")


def test_slippage_by_hand(hand):
    # A (the one won deal), close 05-10.  Expected close dates in force, with the days each
    # held: lead 03-31 for 19 days (slip 40); qualified 03-31 for 21 days (40), 04-30 for 20
    # days (10); quote 04-30 for 70 days (10).
    m = close_date_slippage(hand, "2024-06-30", min_deals=1)
    s = m.summary().set_index("stage")
    assert s.loc["lead", "median_days"] == 40 and s.loc["lead", "n"] == 1
    assert s.loc["qualified", "median_days"] == 40  # cum. weight of 10 days: 20/41 < 0.5
    assert s.loc["quote", "median_days"] == 10 and s.loc["quote", "share_on_time"] == 0
    assert s.loc["qualified", "basis"] == "stage"
    # no deal went through solution: it uses the pooled sample (its own n is 0)
    assert s.loc["solution", "basis"] == "pooled" and s.loc["solution", "n"] == 0
    assert s.loc["solution", "median_days"] == s.loc["pooled", "median_days"] == 10
    # 04-30 → 05-10 crosses into Q2 only from Q2 … both in Q2: not next period; 03-31 is Q1
    np.testing.assert_allclose(s.loc["qualified", "share_next_period"], 21 / 41)
    rng = np.random.default_rng(3)
    draws = m.draw(np.array(["qualified"] * 200_000), rng)
    assert set(np.unique(draws)) == {10, 40}
    share = (draws == 10).mean()
    assert abs(share - 20 / 41) < 4 * np.sqrt(0.25 / 200_000)
    # too few deals: every stage falls back to the pooled sample (all four rows)
    pooled = close_date_slippage(hand, "2024-06-30", min_deals=2)
    assert set(pooled.summary()["basis"]) == {"pooled"}
    draws = pooled.draw(np.array([0] * 200_000), rng)  # stage order 0 = lead
    assert abs((draws == 10).mean() - 90 / 130) < 4 * np.sqrt(0.25 / 200_000)


def test_slippage_sees_no_deal_closed_after_as_of(hand):
    m = close_date_slippage(hand, "2024-05-09", min_deals=1)
    assert not m.available and "no deal won" in m.note
    with pytest.raises(DataValidationError, match="No close-date slippage"):
        m.draw(np.array(["lead"]), np.random.default_rng(0))
    # all closed deals: only B (lost 03-15, expected 02-01 → slip 43); D is open again
    closed = m.summary("closed").set_index("stage")
    assert closed.loc["lead", "n"] == 1 and closed.loc["lead", "median_days"] == 43
    assert m.past_due_closed == 1 and m.past_due_win_rate == 0.0  # B was overdue and lost


# -- the demo company --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo():
    from kamlib.demo import generate_demo

    company = generate_demo(scale="small", seed=7)
    data = make_kamdata(company.tables)
    return company, data, stage_events(data)


def test_pipeline_at_the_end_date_is_the_open_deals(demo):
    company, _, events = demo
    pipe = pipeline_as_of(events, company.end_date)
    opps = company.tables["opportunities"]
    open_now = opps[opps["status"] == "open"].sort_values("opportunity_id")
    assert list(pipe["opportunity_id"]) == list(open_now["opportunity_id"])
    assert list(pipe["stage"]) == list(open_now["stage"])
    np.testing.assert_array_equal(pipe["amount"], open_now["amount"])
    assert (
        pipe["expected_close_date"].to_numpy() == open_now["expected_close_date"].to_numpy()
    ).all()


@pytest.mark.parametrize("day", ["2023-03-31", "2025-06-30"])
def test_pipeline_in_the_past_matches_the_hidden_truth(demo, day):
    company, data, events = demo
    truth = company.truth["opportunities"].merge(
        company.tables["opportunities"][["opportunity_id", "created_date"]]
    )
    d = pd.Timestamp(day)
    expected = truth.loc[
        (truth["created_date"] <= d) & (truth["true_close_date"] > d), "opportunity_id"
    ]
    pipe = pipeline_as_of(events, day)
    assert sorted(pipe["opportunity_id"]) == sorted(expected)
    # no look-ahead: cutting the data at the date first changes nothing
    cut = pipeline_as_of(data.as_of(day), day)
    pd.testing.assert_frame_equal(cut, pipe, check_like=False)


def test_slippage_at_first_stage_entry_is_the_true_slip(demo):
    company, _, events = demo
    m = close_date_slippage(events, company.end_date, anchor="entry")
    first_stage = events.events.groupby("opportunity_id")["stage"].first()
    s = m.samples[
        m.samples["stage"].to_numpy() == first_stage.reindex(m.samples["opportunity_id"]).to_numpy()
    ]
    truth = company.truth["opportunities"].set_index("opportunity_id")["true_slip_days"]
    assert s["opportunity_id"].is_unique and len(s) > 1000
    np.testing.assert_array_equal(
        s["slip_days"].to_numpy(), truth.reindex(s["opportunity_id"]).to_numpy(int)
    )
    won = truth.reindex(m.samples.loc[m.samples["outcome"] == "won", "opportunity_id"].unique())
    # the model's pooled median of won deals at first entry is the truth's median
    first_won = s[s["outcome"] == "won"]
    assert np.median(first_won["slip_days"]) == np.median(won.to_numpy(int))


def test_slippage_in_force_is_smaller_late_in_the_funnel_and_draws_are_vectorised(demo):
    company, _, events = demo
    m = close_date_slippage(events, company.end_date)
    s = m.summary().set_index("stage")
    assert (s["basis"] == "stage").all() or s.loc["pooled", "basis"] == "pooled"
    # close dates recorded in negotiation are nearly right; in lead far too optimistic
    assert s.loc["negotiation", "median_days"] < s.loc["lead", "median_days"]
    assert s.loc["negotiation", "share_on_time"] > s.loc["lead", "share_on_time"]
    stages = np.array(list(m.stages) * 20_000)
    d1 = m.draw(stages, np.random.default_rng(5))
    d2 = m.draw(stages, np.random.default_rng(5))
    assert d1.dtype == np.int64 and len(d1) == len(stages) and (d1 == d2).all()
    assert (d1 < 0).any()  # pulled-in deals keep their negative slip
    neg = d1[stages == "negotiation"]
    assert abs(np.median(neg) - s.loc["negotiation", "median_days"]) <= 3
    # zombies: deals long overdue almost never win
    od = m.overdue.set_index("days_overdue")
    assert od.loc[">180", "closed"] > 20 and od.loc[">180", "win_rate"] < 0.05


# -- the Maven CRM export (no stage history) -------------------------------------------------------
@pytest.fixture(scope="module")
def maven(shared_data, tmp_path_factory):
    from kamlib.data import import_files, load

    store = tmp_path_factory.mktemp("maven") / "m.duckdb"
    import_files(
        [shared_data / "maven-crm"], store=store, preset="maven-crm", now="2026-11-26 12:00"
    )
    return load(store)


def test_maven_pipeline_from_the_opportunities_table(maven, shared_data):
    raw = pd.read_csv(shared_data / "maven-crm" / "sales_pipeline.csv")
    raw["engage_date"] = pd.to_datetime(raw["engage_date"])
    raw["close_date"] = pd.to_datetime(raw["close_date"])
    day = pd.Timestamp("2017-06-30")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no data-quality warning for a missing history
        pipe = pipeline_as_of(maven, day)
    assert pipe.attrs["source"] == "opportunities"
    expected = raw[(raw["engage_date"] <= day) & ~(raw["close_date"] <= day)]
    assert len(pipe) == len(expected)
    # deals closed later have no recorded stage for that date
    closed_later = expected["close_date"].notna().sum()
    assert (pipe["stage"] == "unknown").sum() == closed_later
    notices = pipe.attrs["notices"]
    assert "no stage history" in set(notices["check"])
    m = close_date_slippage(maven, "2017-12-31")
    assert not m.available and "no stage history" in m.note
