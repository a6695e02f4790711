"""kamlib.forecast.close_timing: the competing-risks close-timing model, checked by hand.

The small histories below are written so that the life table and the cumulative incidences
can be computed on paper; each expected value is derived in a comment next to it.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from kamlib.forecast.close_timing import (
    close_histories,
    fit_close_timing,
    person_periods,
    quarter_month,
    zombie_deals,
)

DAY0 = pd.Timestamp("2030-01-01")


def _events(deals: list[tuple[str, int, int | None, str]], *, line: str = "x") -> SimpleNamespace:
    """A StageEvents look-alike: (id, start day, close day or None, outcome) per deal."""
    opps, ev = [], []
    for oid, start, close, outcome in deals:
        opps.append({"opportunity_id": oid, "start_date": DAY0 + pd.Timedelta(days=start),
                     "product_line": line})  # fmt: skip
        ev.append({"opportunity_id": oid, "day": DAY0 + pd.Timedelta(days=start),
                   "status": "open", "stage": "unknown", "amount": np.nan})  # fmt: skip
        if close is not None:
            ev.append({"opportunity_id": oid, "day": DAY0 + pd.Timedelta(days=close),
                       "status": outcome, "stage": outcome, "amount": np.nan})  # fmt: skip
    return SimpleNamespace(
        opportunities=pd.DataFrame(opps), events=pd.DataFrame(ev), source="opportunities"
    )


# A won at age 5 (bucket 0), B lost at 15 (bucket 1), C won at 25 (bucket 2), D open since
# day 0 (censored at age 30: buckets 0, 1, 2 open), E started 5 days before as-of (no complete
# bucket), F closes after the as-of date (censored like D: the future is not looked at).
HISTORY = [
    ("A", 0, 5, "won"), ("B", 0, 15, "lost"), ("C", 0, 25, "won"), ("D", 0, None, "open"),
    ("E", 25, None, "open"), ("F", 0, 60, "won"),
]  # fmt: skip
AS_OF = DAY0 + pd.Timedelta(days=30)


def _model(history=HISTORY):
    return fit_close_timing(_events(history), as_of=AS_OF, bucket_days=10)


def test_person_periods_censor_open_deals():
    hist = close_histories(_events(HISTORY), as_of=AS_OF)
    assert dict(zip(hist["opportunity_id"], hist["outcome"], strict=True)) == {
        "A": "won", "B": "lost", "C": "won", "D": "open", "E": "open", "F": "open",
    }  # fmt: skip
    rows = person_periods(hist, bucket_days=10)
    per_deal = rows.groupby("opportunity_id")["bucket"].apply(list).to_dict()
    assert per_deal == {"A": [0], "B": [0, 1], "C": [0, 1, 2], "D": [0, 1, 2], "F": [0, 1, 2]}
    events = rows[rows["event"] > 0].set_index("opportunity_id")["event"].to_dict()
    assert events == {"A": 1, "B": 2, "C": 1}  # D, E, F: no event


def test_life_table_by_hand():
    m = _model()
    assert m.method == "life_table"  # 2 wins, 1 loss: far below min_events
    lt = m.life_table.set_index("bucket")
    # bucket 0: A B C D F at risk, A won; bucket 1: B C D F, B lost; bucket 2: C D F, C won
    np.testing.assert_allclose(lt.loc[[0, 1, 2], "at_risk"], [5, 4, 3])
    np.testing.assert_allclose(lt.loc[[0, 1, 2], "h_won"], [1 / 5, 0, 1 / 3])
    np.testing.assert_allclose(lt.loc[[0, 1, 2], "h_lost"], [0, 1 / 4, 0])


def test_a_censored_deal_adds_exposure_but_no_event():
    with_d = _model().life_table.set_index("bucket")
    without_d = _model([h for h in HISTORY if h[0] != "D"]).life_table.set_index("bucket")
    np.testing.assert_allclose(with_d["won"], without_d["won"])
    np.testing.assert_allclose(with_d["lost"], without_d["lost"])
    np.testing.assert_allclose(
        with_d.loc[[0, 1, 2], "at_risk"] - 1, without_d.loc[[0, 1, 2], "at_risk"]
    )


def test_cumulative_incidence_by_hand():
    m = _model()
    deal = pd.DataFrame({"opportunity_id": ["N"], "age_days": [9]})  # next day starts bucket 1
    # window = the 10 days of bucket 1: only the loss hazard 1/4 acts
    inc = m.incidence(deal, start=AS_OF + pd.Timedelta(days=1), end=AS_OF + pd.Timedelta(days=10))
    assert inc["p_won_window"].iloc[0] == pytest.approx(0.0, abs=1e-12)
    assert inc["p_lost_window"].iloc[0] == pytest.approx(1 / 4)
    # buckets 1 and 2: survive bucket 1 with 3/4, then win with 1/3 → 1/4
    inc = m.incidence(deal, start=AS_OF + pd.Timedelta(days=1), end=AS_OF + pd.Timedelta(days=20))
    assert inc["p_won_window"].iloc[0] == pytest.approx(3 / 4 * 1 / 3)
    # ever: the tail (bucket 3 on) has no event, so 1/4 won, 1/4 lost
    assert inc["p_won_ever"].iloc[0] == pytest.approx(1 / 4)
    assert inc["p_close_ever"].iloc[0] == pytest.approx(1 / 2)
    # a deal of age 0 with 9 days of bucket 0 left: the daily hazard 1 − (4/5)^(1/10), 9 days
    young = pd.DataFrame({"opportunity_id": ["Y"], "age_days": [0]})
    inc = m.incidence(young, start=AS_OF, end=AS_OF + pd.Timedelta(days=9))
    assert inc["p_won_window"].iloc[0] == pytest.approx(1 - (4 / 5) ** (9 / 10))
    # a window before the as-of date counts nothing
    inc = m.incidence(young, start=AS_OF - pd.Timedelta(days=20), end=AS_OF)
    assert inc["p_won_window"].iloc[0] == 0.0


def test_older_than_every_closed_deal_is_a_zombie():
    m = _model()
    deals = pd.DataFrame({"opportunity_id": ["young", "old"], "age_days": [9, 40]})
    inc = m.incidence(deals, start=AS_OF, end=AS_OF + pd.Timedelta(days=365))
    # the old deal is past every bucket with an event: it never closes
    assert inc.loc[1, "p_close_ever"] == pytest.approx(0.0, abs=1e-12)
    assert m.close_age_limit < 40
    mask = zombie_deals(deals, inc, m, min_close_probability=0.02)
    assert mask.tolist() == [False, True]


def test_left_truncated_history_counts_exposure_from_the_first_close():
    # deals started on days 0 … 99, none closed before day 200: an export that begins then
    deals = [(f"d{i}", i, 200 + i % 20, "won" if i % 3 else "lost") for i in range(100)]
    m = fit_close_timing(_events(deals), as_of=DAY0 + pd.Timedelta(days=260), bucket_days=10)
    assert m.history_start == DAY0 + pd.Timedelta(days=200)
    assert any("no close is recorded before" in n for n in m.notes)
    # buckets that ended before day 200 are not exposure: bucket 0 of every deal is gone
    assert m.life_table.loc[0, "at_risk"] == 0


def test_hazard_glm_competing_risks_are_coherent():
    rng = np.random.default_rng(4)
    deals = []
    for i in range(3000):
        line = "fast" if i % 2 else "slow"
        start = int(rng.integers(0, 300))
        rate = 0.15 if line == "fast" else 0.05  # per 10-day bucket, won : lost = 2 : 1
        age = int(rng.geometric(rate)) * 10 - int(rng.integers(1, 10))
        outcome = "won" if rng.random() < 2 / 3 else "lost"
        deals.append((f"{line}{i}", start, start + age, outcome, line))
    ev = _events([d[:4] for d in deals])
    ev.opportunities["product_line"] = [d[4] for d in deals]
    as_of = DAY0 + pd.Timedelta(days=400)
    m = fit_close_timing(ev, as_of=as_of, bucket_days=10)
    assert m.method == "hazard"
    open_deals = pd.DataFrame({"opportunity_id": ["a", "b"], "age_days": [15, 15],
                               "product_line": ["fast", "slow"]})  # fmt: skip
    inc = m.incidence(open_deals, start=as_of, end=as_of + pd.Timedelta(days=90))
    assert (inc["p_won_window"] + inc["p_lost_window"] <= 1 + 1e-12).all()
    assert (inc["p_won_ever"] <= inc["p_close_ever"] + 1e-12).all()
    assert (inc["p_won_window"] <= inc["p_won_ever"] + 1e-12).all()
    # the fast line closes more inside 90 days; both win about 2 / 3 of what closes
    assert inc.loc[0, "p_won_window"] > inc.loc[1, "p_won_window"]
    share = inc["p_won_ever"] / inc["p_close_ever"]
    np.testing.assert_allclose(share, 2 / 3, atol=0.06)
    # over 90 days the fast line (hazard 0.15 per 10 days) closes 1 − 0.85^9 ≈ 0.77 of deals
    closed = inc.loc[0, "p_won_window"] + inc.loc[0, "p_lost_window"]
    assert closed == pytest.approx(1 - 0.85**9, abs=0.08)


def _two_stage_events() -> SimpleNamespace:
    """Early deals move to 'late' (30% a bucket of 10 days) or are lost (10%); late deals win
    (20%) or are lost (10%); stage history, seeded."""
    rng = np.random.default_rng(8)
    opps, ev = [], []
    for i in range(2500):
        oid, day, stage = f"d{i}", int(rng.integers(0, 200)) * 10, "early"
        opps.append({"opportunity_id": oid, "start_date": DAY0 + pd.Timedelta(days=day),
                     "product_line": "x"})  # fmt: skip
        ev.append({"opportunity_id": oid, "day": DAY0 + pd.Timedelta(days=day), "status": "open",
                   "stage": stage, "amount": np.nan})  # fmt: skip
        for _ in range(200):
            u = rng.random()
            if stage == "early":
                outcome = "lost" if u < 0.1 else ("move" if u < 0.4 else None)
            else:
                outcome = "won" if u < 0.2 else ("lost" if u < 0.3 else None)
            if outcome in ("won", "lost"):
                ev.append({"opportunity_id": oid, "day": DAY0 + pd.Timedelta(days=day + 5),
                           "status": outcome, "stage": outcome, "amount": np.nan})  # fmt: skip
                break
            day += 10
            if outcome == "move":
                stage = "late"
                ev.append({"opportunity_id": oid, "day": DAY0 + pd.Timedelta(days=day),
                           "status": "open", "stage": "late", "amount": np.nan})  # fmt: skip
    return SimpleNamespace(
        opportunities=pd.DataFrame(opps), events=pd.DataFrame(ev), source="stage_history"
    )


def test_stage_moves_let_an_early_deal_win_later():
    """Early-stage deals never win directly: they move to 'late' (30% a bucket) or are lost
    (10%); late deals win 20% and lose 10% a bucket.  Held in its stage an early deal would
    never win; with the stage transitions P(won ever | late) = 0.2 / 0.3 = 2/3 and
    P(won ever | early) = P(reach late) · 2/3 = 0.3 / 0.4 · 2/3 = 1/2."""
    events = _two_stage_events()
    as_of = DAY0 + pd.Timedelta(days=2500)
    m = fit_close_timing(events, as_of=as_of, bucket_days=10)
    assert m.method == "hazard" and m.stages == ("early", "late")
    assert m.transitions.loc["early", "late"] == pytest.approx(0.3 / 0.9, abs=0.03)
    deals = pd.DataFrame({"opportunity_id": ["e", "l"], "age_days": [9, 9],
                          "stage": ["early", "late"]})  # fmt: skip
    inc = m.incidence(deals, start=as_of, end=as_of + pd.Timedelta(days=3650))
    assert inc.loc[1, "p_won_ever"] == pytest.approx(2 / 3, abs=0.06)
    assert inc.loc[0, "p_won_ever"] == pytest.approx(1 / 2, abs=0.06)
    # held in its stage the early deal would (nearly) never win
    held_w, _ = m.hazards(deals.iloc[:1])
    assert held_w.max() < 0.02


def test_quarter_month_by_hand():
    days = np.array(["2030-01-31", "2030-02-01", "2030-03-31", "2030-04-01", "2030-12-15"],
                    dtype="datetime64[D]")  # fmt: skip
    assert quarter_month(days).tolist() == [0, 1, 2, 0, 2]
    # fiscal year from April: April, July, October and January open a quarter
    assert quarter_month(days, fiscal_year_start_month=4).tolist() == [0, 1, 2, 0, 2]
    assert quarter_month(days, fiscal_year_start_month=2).tolist() == [2, 0, 1, 2, 1]


def test_an_unseen_stage_is_spread_like_the_history():
    m = fit_close_timing(_two_stage_events(), as_of=DAY0 + pd.Timedelta(days=2500), bucket_days=10)
    shares = m.stage_shares.reindex(["early", "late"]).to_numpy()
    deals = pd.DataFrame({"opportunity_id": ["e", "l", "u"], "age_days": [9, 9, 9],
                          "stage": ["early", "late", "renamed"]})  # fmt: skip
    as_of = m.as_of
    inc = m.incidence(deals, start=as_of, end=as_of + pd.Timedelta(days=3650))
    assert inc.loc[2, "p_won_ever"] == pytest.approx(
        shares[0] * inc.loc[0, "p_won_ever"] + shares[1] * inc.loc[1, "p_won_ever"]
    )


def test_zombies_are_the_generators_zombies(demo_store):
    """Checked against the demo generator's hidden truth (``truth_opportunities.is_zombie``):
    with stage history a zombie is a deal stuck in its stage longer than nearly every deal
    later won stayed there.  Deal age alone flagged big, slow deals that were won."""
    from kamlib.data import load, load_truth
    from kamlib.forecast import forecast_period

    data = load(demo_store)
    truth = load_truth(demo_store)["opportunities"].drop_duplicates("opportunity_id")
    truth = truth.set_index(truth["opportunity_id"].astype("str"))
    flagged = won = true_zombies = found = 0
    for as_of, period in (("2025-06-30", "2025-Q3"), ("2026-03-31", "2026-Q2")):
        fc = forecast_period(data, as_of=as_of, period=period, simulations=200, seed=1,
                             run_rate=False)  # fmt: skip
        ids = fc.zombies["opportunity_id"].astype("str")
        flagged += len(ids)
        won += int((truth.loc[ids, "true_outcome"] == "won").sum())
        open_ids = fc.deals["opportunity_id"].astype("str")
        zombies_open = truth.loc[open_ids][truth.loc[open_ids, "is_zombie"]].index
        true_zombies += len(zombies_open)
        found += int(ids.isin(set(zombies_open)).sum())
        # the forecast does not count on them
        counted = fc.deals.set_index(fc.deals["opportunity_id"].astype("str"))
        assert (counted.loc[ids, "p_won_in_period"] == 0).all()
    assert flagged >= 10 and true_zombies >= 10
    assert won / flagged <= 0.15  # few flagged deals are won after all
    assert found / flagged >= 0.75  # most flagged deals are the generator's zombies
    assert found / true_zombies >= 0.5  # and at least half of those are found


def test_with_stage_history_a_zombie_is_stuck_in_its_stage_not_old():
    m = _model()
    deals = pd.DataFrame({"opportunity_id": ["old-but-moving", "young-but-stuck", "fresh"],
                          "age_days": [40, 9, 5], "stage": ["quote", "lead", "lead"],
                          "days_in_stage": [3, 9, 5]})  # fmt: skip
    inc = m.incidence(deals, start=AS_OF, end=AS_OF + pd.Timedelta(days=365))
    inc["p_close_ever"] = 1.0  # only the stage rule speaks here
    limits = pd.Series({"lead": 6.0, "quote": 30.0})  # what deals later won spent there
    mask = zombie_deals(deals, inc, m, min_close_probability=0.02, stuck_limit=limits)
    assert mask.tolist() == [False, True, False]
    # without stage history the age is the only clock
    assert zombie_deals(deals, inc, m, min_close_probability=0.02).tolist() == [True, False, False]
