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
from kamlib.data.schemas import TABLES, conform
from kamlib.errors import ConfigError, DataValidationError
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
    with pytest.raises(ConfigError, match="'as_of' parameter must be a date"):
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
    # every open stage has enough won deals for its own distribution (the demo has
    # thousands); only the "pooled" row pools
    stages = s.drop(index="pooled")
    assert list(stages.index) == list(m.stages)
    assert (stages["n"] >= m.min_deals).all()
    assert (stages["basis"] == "stage").all(), stages["basis"]
    assert s.loc["pooled", "basis"] == "pooled"
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
    # the data cut at the date (closed-later deals re-opened in stage 'unknown') gives the same
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cut = pipeline_as_of(maven.as_of(day), day)
    pd.testing.assert_frame_equal(cut, pipe)


# -- funnel by hand ----------------------------------------------------------------------------
def _row(frame: pd.DataFrame, **where) -> pd.Series:
    mask = np.ones(len(frame), bool)
    for k, v in where.items():
        mask &= (frame[k] == v).to_numpy()
    assert mask.sum() == 1, where
    return frame[mask].iloc[0]


def test_stage_conversion_by_hand(hand):
    from kamlib.pipeline import CONVERSION_COLUMNS, funnel, stage_conversion

    conv = stage_conversion(hand, as_of="2024-06-30", freq=None)
    assert list(conv.columns) == ["stage", "period", *CONVERSION_COLUMNS]
    assert list(conv["stage"]) == ["lead", "qualified", "quote"]  # no one entered the others
    lead = _row(conv, stage="lead")
    # A moved on, D re-opened into qualified after its first lead entry; B lost; C still open
    assert lead[["entered", "converted", "dropped", "still_open", "won", "lost"]].tolist() == [
        4,
        2,
        1,
        1,
        1,
        1,
    ]
    assert lead["conversion_rate"] == 0.5 and lead["drop_rate"] == 0.25 and lead["win_rate"] == 0.5
    assert lead["entered_amount"] == 150 + 50 + 70 + 35 and lead["won_amount"] == 150
    qual = _row(conv, stage="qualified")
    assert qual[["entered", "converted", "dropped", "still_open", "won", "lost"]].tolist() == [
        2,
        1,
        0,
        1,
        1,
        0,
    ]
    quote = _row(conv, stage="quote")  # A skipped negotiation: quote → won converts
    assert (quote["entered"], quote["converted"], quote["win_rate"]) == (1, 1, 1.0)
    f = funnel(hand, as_of="2024-06-30")
    np.testing.assert_allclose(f["reach_rate"], [1.0, 0.5, 0.25])


def test_stage_conversion_has_no_look_ahead_and_splits_by_period_and_group(hand):
    from kamlib.pipeline import stage_conversion

    early = stage_conversion(hand, as_of="2024-02-15", freq=None)
    lead = _row(early, stage="lead")  # C not yet created; B not yet lost; D back in qualified
    assert lead[["entered", "converted", "dropped", "still_open", "won", "lost"]].tolist() == [
        3,
        2,
        0,
        1,
        0,
        0,
    ]
    assert np.isnan(lead["win_rate"])  # no cohort deal closed yet: 0 ÷ 0 shown as NaN, won+lost = 0
    monthly = stage_conversion(hand, as_of="2024-06-30", freq="monthly")
    assert _row(monthly, stage="lead", period="2024-01")["entered"] == 3
    assert _row(monthly, stage="lead", period="2024-02")["entered"] == 1
    by_owner = stage_conversion(hand, as_of="2024-06-30", freq=None, by="owner")
    assert _row(by_owner, stage="lead", owner="Wang")[
        ["entered", "converted", "dropped"]
    ].tolist() == [2, 1, 1]
    assert _row(by_owner, stage="lead", owner="Li")[
        ["entered", "converted", "still_open"]
    ].tolist() == [2, 1, 1]
    tiers = pd.DataFrame({"account_id": ["X1"], "tier": ["Strategic"]})
    by_tier = stage_conversion(hand, as_of="2024-06-30", freq=None, by="tier", groups=tiers)
    assert set(by_tier["tier"]) == {"Strategic"}
    other = pd.DataFrame({"account_id": ["nobody"], "tier": ["B"]})
    assert set(stage_conversion(hand, as_of="2024-06-30", by="tier", groups=other)["tier"]) == {
        "(none)"
    }


def test_funnel_arguments_are_checked(hand):
    from kamlib.errors import ConfigError
    from kamlib.pipeline import stage_conversion

    with pytest.raises(ConfigError, match="'by' parameter names 'tier'"):
        stage_conversion(hand, as_of="2024-06-30", by="tier")
    with pytest.raises(ConfigError, match="'freq' parameter of stage_conversion must be one of"):
        stage_conversion(hand, as_of="2024-06-30", freq="Q")
    dup = pd.DataFrame({"account_id": ["X1", "X1"], "tier": ["A", "B"]})
    with pytest.raises(DataValidationError, match="account_id 'X1' more than once"):
        stage_conversion(hand, as_of="2024-06-30", by="tier", groups=dup)


def test_win_rates_by_hand(hand):
    from kamlib.pipeline import win_rates

    w = win_rates(hand, as_of="2024-06-30", freq="quarterly")
    assert list(w["period"]) == ["2024-Q1", "2024-Q2"]  # B lost in March, A won in May; D open
    assert w[["closed", "won", "lost"]].to_numpy().tolist() == [[1, 0, 1], [1, 1, 0]]
    assert list(w["win_rate"]) == [0.0, 1.0]


def test_velocity_and_cycle_time_by_hand(hand):
    from kamlib.pipeline import cycle_time_summary, cycle_times, stage_durations, stage_velocity

    dur = stage_durations(hand, as_of="2024-06-30")
    a = dur[dur["opportunity_id"] == "A"]
    assert list(a["stage"]) == ["lead", "qualified", "quote"]  # the 02-10 revision is no stint
    assert list(a["days"]) == [19, 41, 70] and list(a["next_stage"]) == [
        "qualified",
        "quote",
        "won",
    ]
    v = stage_velocity(hand, as_of="2024-06-30").set_index("stage")
    # lead stints: A 19, B 65, D 20 (completed); C open for 131 days
    assert v.loc["lead", "completed"] == 3 and v.loc["lead", "median_days"] == 20
    assert v.loc["lead", "p25_days"] == 19.5 and v.loc["lead", "p75_days"] == 42.5
    assert (v.loc["lead", "open_now"], v.loc["lead", "open_median_days"]) == (1, 131)
    assert (v.loc["qualified", "completed"], v.loc["qualified", "median_days"]) == (1, 41)
    assert (v.loc["qualified", "open_now"], v.loc["qualified", "open_median_days"]) == (1, 141)
    assert v.loc["solution", "completed"] == 0 and np.isnan(v.loc["solution", "median_days"])
    cyc = cycle_times(hand, as_of="2024-06-30")
    assert cyc[["opportunity_id", "outcome", "days"]].to_numpy().tolist() == [
        ["A", "won", 130],
        ["B", "lost", 65],
    ]
    s = cycle_time_summary(cyc).set_index("outcome")
    assert s.loc["all", "deals"] == 2 and s.loc["all", "median_days"] == 97.5


def test_stale_deals_by_hand(hand):
    from kamlib.pipeline import stale_deals

    st = stale_deals(hand, as_of="2024-06-30", min_stints=1).set_index("opportunity_id")
    assert list(st.index) == ["C", "D"]  # by amount: C 70, D 35
    # lead stints 19, 20, 65: p90 (linear) = 20 + 0.8 × 45 = 56; C in lead for 131 days
    assert st.loc["C", "stuck_threshold_days"] == pytest.approx(56.0)
    assert st.loc["C", "is_stuck"] and not st.loc["C", "is_slipped"]  # expected 06-30: not before
    assert (
        st.loc["D", "is_stuck"] and st.loc["D", "is_slipped"] and st.loc["D", "days_past_due"] == 76
    )
    assert (
        "in qualified for 141 days" in st.loc["D", "reason"]
        and "passed 76 days ago" in st.loc["D", "reason"]
    )
    pooled = stale_deals(hand, as_of="2024-06-30", min_stints=2).set_index("opportunity_id")
    # qualified has one stint: pooled p90 of 19, 20, 41, 65, 70 = 65 + 0.6 × 5 = 68
    assert pooled.loc["D", "threshold_basis"] == "pooled"
    assert pooled.loc["D", "stuck_threshold_days"] == pytest.approx(68.0)


def test_pipeline_changes_by_hand_reconcile():
    from kamlib.pipeline import BRIDGE_STEPS, changes_reconciliation, pipeline_changes

    # E: created and lost between the dates
    history = [*HISTORY, ("E", "lead", "2024-03-01 09:00", 80.0, "2024-05-01"),
               ("E", "lost", "2024-03-20 09:00", 80.0, None)]  # fmt: skip
    opps = [*OPPS, ("E", "2024-03-01", "lost", "lost", "2024-03-20", 80.0, "2024-05-01")]
    data = make_kamdata(hand_frames(history, opps))
    ch = pipeline_changes(data, "2024-02-15", "2024-05-09").set_index("opportunity_id")
    assert ch["change"].to_dict() == {
        "A": "open",
        "B": "lost",
        "C": "new",
        "D": "open",
        "E": "created_lost",
    }
    assert (ch.loc["A", "stage_move"], ch.loc["A", "amount_change"]) == ("advanced", 30.0)
    assert (
        ch.loc["A", "close_date_move"] == "unchanged" and ch.loc["D", "stage_move"] == "unchanged"
    )
    bridge = changes_reconciliation(ch.reset_index()).set_index("step")
    assert list(bridge.index) == list(BRIDGE_STEPS)
    assert bridge["amount"].to_dict() == {
        "open_start": 205.0, "new": 70.0, "reopened": 0.0, "won": 0.0, "lost": -50.0,
        "amount_up": 30.0, "amount_down": 0.0, "open_end": 255.0,
    }  # fmt: skip
    assert bridge.loc["open_end", "check"] == 255.0
    # across A's win: A counts as won with its amount at the start (120)
    bridge = changes_reconciliation(pipeline_changes(data, "2024-02-15", "2024-05-10")).set_index(
        "step"
    )
    assert bridge.loc["won", "amount"] == -120.0 and bridge.loc["open_end", "amount"] == 105.0
    assert bridge["amount"].iloc[:-1].sum() == bridge.loc["open_end", "amount"]
    # D lost on 01-25 and re-opened on 02-10
    ch = pipeline_changes(data, "2024-02-01", "2024-02-15").set_index("opportunity_id")
    assert ch.loc["D", "change"] == "reopened"
    with pytest.raises(DataValidationError, match="lies before the 'start' date"):
        pipeline_changes(data, "2024-05-01", "2024-02-01")


def test_pipeline_changes_reconcile_on_the_demo(demo):
    from kamlib.pipeline import changes_reconciliation, pipeline_changes

    company, _, events = demo
    for start, end in [("2025-12-31", "2026-03-31"), ("2026-06-30", "2026-09-30")]:
        ch = pipeline_changes(events, start, end)
        bridge = changes_reconciliation(ch).set_index("step")
        assert bridge.loc["open_start", "amount"] == pytest.approx(
            pipeline_as_of(events, start)["amount"].sum()
        )
        assert bridge.loc["open_end", "amount"] == pytest.approx(
            pipeline_as_of(events, end)["amount"].sum()
        )
        assert bridge["amount"].iloc[:-1].sum() == pytest.approx(bridge.loc["open_end", "amount"])
        assert bridge.loc["won", "deals"] > 0 and bridge.loc["new", "deals"] > 0
        # won in the window per the hidden truth, among deals open at the start
        truth = company.truth["opportunities"].set_index("opportunity_id")
        opened = pipeline_as_of(events, start)["opportunity_id"]
        t = truth.loc[opened]
        won_truth = t[(t["true_outcome"] == "won") & (t["true_close_date"] <= end)].index
        assert sorted(ch.loc[ch["change"] == "won", "opportunity_id"]) == sorted(won_truth)


def test_snapshot_changes_between_two_imports(hand):
    from kamlib.pipeline import changes_reconciliation, snapshot_changes

    before = hand.as_of("2024-02-15")
    after = hand.as_of("2024-05-10")
    ch = snapshot_changes(before, after).set_index("opportunity_id")
    # KamData.as_of reopens deals at their stage then: same answer as the history
    assert ch["change"].to_dict() == {"A": "won", "B": "lost", "C": "new", "D": "open"}
    bridge = changes_reconciliation(ch.reset_index()).set_index("step")
    assert bridge["amount"].iloc[:-1].sum() == bridge.loc["open_end", "amount"]


# -- funnel on the demo against a plain pandas reference -----------------------------------------
def _reference_conversion(company, as_of: str) -> pd.DataFrame:
    """Straightforward pandas: per deal and stage the first entry; converted when a later row
    (in time) is a later open stage or won."""
    from kamlib.methodology import load_methodology

    order = {s.key: s.order for s in load_methodology().stages}
    h = company.tables["stage_history"]
    h = h[h["entered_at"] < pd.Timestamp(as_of) + pd.Timedelta(days=1)].copy()
    h["k"] = h["stage"].map(order)
    h = h.sort_values(["opportunity_id", "entered_at"])
    rows = []
    for _, g in h.groupby("opportunity_id"):
        ks = g["k"].tolist()
        final = g["stage"].iloc[-1]
        for k in sorted(set(ks)):
            if k >= 6:
                continue
            i = ks.index(k)
            conv = any(kk > k and kk != 7 for kk in ks[i + 1 :])
            rows.append({"k": k, "converted": conv, "won": final == "won", "lost": final == "lost"})
    ref = pd.DataFrame(rows).groupby("k").agg(entered=("converted", "size"), converted=("converted", "sum"),
                                             won=("won", "sum"), lost=("lost", "sum"))  # fmt: skip
    return ref


def test_stage_conversion_matches_a_pandas_reference_on_the_demo(demo):
    from kamlib.pipeline import stage_conversion

    company, data, _ = demo
    for day in ("2024-12-31", "2026-09-30"):
        conv = stage_conversion(data, as_of=day, freq=None)
        ref = _reference_conversion(company, day)
        assert (
            conv[["entered", "converted", "won", "lost"]].to_numpy().tolist()
            == ref.to_numpy().tolist()
        )


def test_stale_flags_catch_the_old_zombies(demo):
    from kamlib.pipeline import stale_deals

    company, _, events = demo
    zombies = set(company.truth["opportunities"].query("is_zombie")["opportunity_id"])
    for day in ("2024-06-30", "2025-03-31", "2026-09-30"):
        pipe = pipeline_as_of(events, day)
        flagged = set(stale_deals(events, as_of=day)["opportunity_id"])
        z = pipe["opportunity_id"].isin(zombies)
        old = pipe["days_in_stage"] >= 90
        assert pipe.loc[z & old, "opportunity_id"].isin(flagged).all()  # every old zombie
        f = pipe["opportunity_id"].isin(flagged)
        # most flagged deals are zombies; young zombies (not yet stale) stay unflagged
        share_flagged, share_other = (z & f).sum() / f.sum(), (z & ~f).sum() / (~f).sum()
        assert share_flagged > 0.5 and share_flagged > 3 * share_other


# -- bad input -------------------------------------------------------------------------------------
def test_bad_input_is_noticed_and_handled():
    from kamlib.errors import DataQualityWarning
    from kamlib.pipeline import cycle_times, stage_conversion

    history = list(reversed(HISTORY))  # out of time order
    history.append(("A", "mystery stage", "2024-01-25 09:00", 120.0, None))  # unknown stage
    opps = [
        ("A", "2024-01-01", "won", "won", "2024-05-10", np.nan, "2024-04-30"),
        *OPPS[1:],
        (
            "F",
            "2024-03-01",
            "lost",
            "lost",
            "2024-02-01",
            10.0,
            "2024-02-15",
        ),  # closed before created
        ("G", "2024-01-15", "open", "Mystery", None, 5.0, "2024-09-30"),  # unknown current stage
    ]
    history = [(o, s, t, (np.nan if o == "A" else a), e) for o, s, t, a, e in history]
    data = make_kamdata(hand_frames(history, opps))
    with pytest.warns(DataQualityWarning, match="unknown stage") as rec:
        events = stage_events(data)
    text = str(rec[0].message)
    for check in ("history out of time order", "re-opened after closing", "closed before created",
                  "won without amount", "expected close before created"):  # fmt: skip
        assert check in text
    notices = events.notices.set_index(["check", "table"])
    assert notices.loc[("unknown stage", "stage_history"), "rows"] == 1
    assert notices.loc[("unknown stage", "opportunities"), "example"] == "Mystery"
    assert notices.loc[("skipped stages", "stage_history"), "rows"] == 2
    # the pipeline is the clean one's (sorted, the unknown row ignored), plus G in 'unknown'
    pipe = pipeline_as_of(events, "2024-02-15").set_index("opportunity_id")
    assert list(pipe.index) == ["A", "B", "D", "G"]
    assert (pipe.loc["A", "stage"], pipe.loc["A", "stage_entered_date"]) == (
        "qualified",
        ts("2024-01-20"),
    )
    assert np.isnan(pipe.loc["A", "amount"])  # no amount anywhere: stays missing, counted
    assert pipe.attrs["notices"].set_index("check").loc["open deal without amount", "rows"] == 1
    assert (pipe.loc["G", "stage"], pipe.loc["G", "stage_order"]) == ("unknown", -1)
    assert "F" not in pipeline_as_of(events, "2024-03-01")["opportunity_id"].to_numpy()
    with pytest.warns(DataQualityWarning):
        cyc = cycle_times(data, as_of="2024-06-30")
    assert "F" not in set(cyc["opportunity_id"]) and cyc.attrs["excluded"] == 1
    conv = stage_conversion(data, as_of="2024-06-30", freq=None)
    lead = _row(conv, stage="lead")
    assert lead["won"] == 1 and lead["won_amount"] == 0.0  # A won without an amount
    assert conv.attrs["deals_without_amount"] >= 1


# -- Maven: no stage history -------------------------------------------------------------------------
def test_maven_funnel_degrades_with_a_statement(maven, shared_data):
    from kamlib.pipeline import (
        changes_reconciliation,
        pipeline_changes,
        stage_conversion,
        stage_velocity,
        stale_deals,
        win_rates,
    )  # fmt: skip

    raw = pd.read_csv(shared_data / "maven-crm" / "sales_pipeline.csv")
    conv = stage_conversion(maven, as_of="2017-12-31", freq=None)
    assert conv.attrs["source"] == "opportunities" and "no stage history" in conv.attrs["note"]
    assert list(conv["stage"]) == ["created"]
    assert conv["won"].iloc[0] == (raw["deal_stage"] == "Won").sum()
    w = win_rates(maven, as_of="2017-12-31", freq="yearly")
    assert w["won"].sum() == (raw["deal_stage"] == "Won").sum() == 4238
    assert w["lost"].sum() == (raw["deal_stage"] == "Lost").sum() == 2473
    v = stage_velocity(maven, as_of="2017-12-31")
    assert (v["completed"] == 0).all() and "no stage history" in v.attrs["note"]
    st = stale_deals(maven, as_of="2017-12-31")
    assert "no stage history" in st.attrs["rule"] and set(st["threshold_basis"]) == {"cycle_time"}
    assert not st["is_slipped"].any()  # the export has no expected close dates
    # independent: open deals older than the p90 of closed deals' engage → close days
    raw["engage_date"] = pd.to_datetime(raw["engage_date"])
    raw["close_date"] = pd.to_datetime(raw["close_date"])
    closed = raw.dropna(subset=["engage_date", "close_date"])
    closed = closed[closed["close_date"] >= closed["engage_date"]]
    p90 = np.quantile((closed["close_date"] - closed["engage_date"]).dt.days, 0.9)
    open_raw = raw[raw["engage_date"].notna() & raw["close_date"].isna()]
    age = (pd.Timestamp("2017-12-31") - open_raw["engage_date"]).dt.days
    assert len(st) == (age > p90).sum() > 0
    bridge = changes_reconciliation(pipeline_changes(maven, "2017-06-30", "2017-09-30")).set_index(
        "step"
    )
    assert bridge["deals"]["won"] > 0
    assert bridge["amount"].iloc[:-1].sum() == pytest.approx(bridge.loc["open_end", "amount"])


# -- charts ------------------------------------------------------------------------------------------
def _data_of(chart) -> pd.DataFrame:
    spec = chart.to_dict()
    return pd.DataFrame(next(iter(spec["datasets"].values())))


def test_velocity_and_waterfall_charts(demo, hand):
    from kamlib.charts import pipeline_changes_waterfall, stage_velocity_distribution
    from kamlib.pipeline import changes_reconciliation, pipeline_changes, stage_durations

    company, _, events = demo
    dur = stage_durations(events, as_of=company.end_date)
    data = _data_of(stage_velocity_distribution(dur, lang="zh"))
    assert data["停留次数"].sum() == dur["completed"].sum()  # every completed stint in a bin
    assert set(data["阶段"]) >= {"线索", "商务谈判"}
    assert len(data) < 200  # binned, not one row per stint
    bridge = changes_reconciliation(pipeline_changes(hand, "2024-02-15", "2024-05-09"))
    w = _data_of(pipeline_changes_waterfall(bridge))
    assert list(w["Step"]) == ["Open at start", "New", "Re-opened", "Won", "Lost", "Amount raised",
                               "Amount lowered", "Open at end"]  # fmt: skip
    # each step starts where the previous ended; the last bar is the total at the end
    assert (w["start"].iloc[1:-1].to_numpy() == w["end"].iloc[:-2].to_numpy()).all()
    assert w["end"].iloc[-2] == w["end"].iloc[-1] == 255.0
    empty = stage_velocity_distribution(dur.iloc[0:0])
    assert empty.to_dict()["mark"]["type"] == "text"
    with pytest.raises(DataValidationError, match="required column"):
        pipeline_changes_waterfall(bridge.drop(columns="deals"))


def test_history_starting_after_creation_gives_no_look_ahead():
    from kamlib.pipeline import stage_conversion

    # H: created 02-01, its first history row (lead) only on 03-01; today it is in quote
    history = [*HISTORY, ("H", "lead", "2024-03-01 09:00", 90.0, "2024-06-30"),
               ("H", "quote", "2024-04-01 09:00", 90.0, "2024-06-30")]  # fmt: skip
    opps = [*OPPS, ("H", "2024-02-01", "open", "quote", None, 90.0, "2024-06-30")]
    data = make_kamdata(hand_frames(history, opps))
    conv = stage_conversion(data, as_of="2024-02-15", freq=None)
    assert "quote" not in set(conv["stage"])  # today's stage is not known on 02-15
    assert _row(conv, stage="lead")["entered"] == 3  # A, B, D (H's lead entry is 03-01)
    pipe = pipeline_as_of(data, "2024-02-15").set_index("opportunity_id")
    assert pipe.loc["H", "stage"] == "lead"  # open, in the first stage its history records
    assert (
        _row(stage_conversion(data, as_of="2024-06-30", freq=None), stage="quote")["entered"] == 2
    )


def test_since_and_groups_in_win_rates_and_funnel(hand):
    from kamlib.pipeline import funnel, stage_conversion, win_rates

    later = stage_conversion(hand, as_of="2024-06-30", freq=None, since="2024-01-15")
    # lead entries on/after 01-15: only C (02-20); qualified: A (01-20) and D (02-10)
    assert _row(later, stage="lead")["entered"] == 1
    assert _row(later, stage="qualified")["entered"] == 2
    w = win_rates(hand, as_of="2024-06-30", freq=None, by="owner")
    assert w[["owner", "closed", "won"]].to_numpy().tolist() == [["Wang", 2, 1]]  # Li: none closed
    f = funnel(hand, as_of="2024-06-30", by="owner")
    wang = f[f["owner"] == "Wang"].set_index("stage")
    assert wang.loc["qualified", "reach_rate"] == 0.5  # A of A and B
