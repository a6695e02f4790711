"""Competitive win/loss (kamlib.sales.competition) on hand-worked cases; the beta-binomial
pooled rates against the published rat-tumour posterior (BDA3 §5.3)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sales_cases import CHECKLIST, PLAYBOOK, deals

from kamlib.errors import MissingTableError
from kamlib.proportions import wilson_interval
from kamlib.sales import (
    COMPETITOR_COLUMNS,
    MET_COLUMNS,
    beta_hyperposterior,
    competitive_win_loss,
    competitors_met,
    sales_process_frames,
)

AS_OF = "2026-06-30"
OPPS, HISTORY = deals(
    dict(id="K1", path=[("qualified", "2026-01-10"), ("won", "2026-02-01")]),
    dict(id="K2", path=[("qualified", "2026-01-10"), ("quote", "2026-02-01"), ("lost", "2026-04-10")],
         lost_to="acme ", lost_reason="price"),
    dict(id="K3", path=[("qualified", "2026-01-10"), ("lost", "2026-03-01")],
         lost_to="No Decision", lost_reason="budget frozen"),
    dict(id="K4", path=[("qualified", "2026-01-10"), ("solution", "2026-02-01")]),
    dict(id="K5", path=[("qualified", "2026-01-10"), ("solution", "2026-02-01"), ("lost", "2026-05-01")],
         lost_to="Bolt", lost_reason="technical"),
    dict(id="K6", path=[("qualified", "2026-01-10"), ("won", "2026-04-01")]),
    dict(id="K7", path=[("qualified", "2026-01-10"), ("lost", "2026-02-01")]),  # no competitor, no lost_to
    dict(id="K8", path=[("qualified", "2026-01-10"), ("lost", "2026-08-01")], lost_to="Bolt"),  # after as_of
)  # fmt: skip
COMPETITORS = pd.DataFrame(
    [
        ("K1", "Acme", True, 90.0, 100.0),
        ("K2", "Acme", True, None, None),
        ("K3", "Acme", True, None, None),
        ("K4", "Acme", True, 100.0, 80.0),
        ("K2", "Bolt", False, None, None),
        ("K5", "Bolt", True, 120.0, 100.0),
        ("K6", "Bolt", False, None, 0.0),  # no usable price
        ("K8", "Bolt", True, None, None),
    ],
    columns=["opportunity_id", "competitor", "primary", "our_price", "competitor_price"],
)


def win_loss(**kw: object):
    frames = dict(opportunities=OPPS, stage_history=HISTORY, playbook=PLAYBOOK,
                  checklist=CHECKLIST, bid_stage="quote",
                  opportunity_competitors=COMPETITORS)  # fmt: skip
    frames.update(kw)
    return competitive_win_loss(sales_process_frames(as_of=AS_OF, **frames))


def test_competitors_by_hand():
    c = win_loss().competitors
    assert list(c.columns) == list(COMPETITOR_COLUMNS)
    acme, bolt = (c.set_index("competitor").loc[n] for n in ("Acme", "Bolt"))
    # Acme: K1 won, K2 lost to Acme, K3 no decision (3 closed); K4 open
    assert (acme.deals, acme.won, acme.lost_to_them, acme.lost_to_other, acme.no_decision,
            acme.open, acme.primary) == (3, 1, 1, 0, 1, 1, 3)  # fmt: skip
    assert acme.win_rate == pytest.approx(1 / 3)
    assert (acme.ci_low, acme.ci_high) == pytest.approx(wilson_interval(1, 3))
    # Bolt: K2 lost to Acme, K5 lost to Bolt, K6 won; K8 lost after the as-of date: open then
    assert (bolt.deals, bolt.won, bolt.lost_to_them, bolt.lost_to_other, bolt.open) == (
        3,
        1,
        1,
        1,
        1,
    )
    # price delta: K1 90/100 − 1, K4 100/80 − 1; K5 120/100 − 1
    assert acme.price_deals == 2
    assert acme.price_delta_median == pytest.approx(np.median([-0.1, 0.25]))
    assert bolt.price_delta_median == pytest.approx(0.2)


def test_overall_quarters_funnel_and_reasons():
    w = win_loss()
    assert (w.overall["deals"], w.overall["won"]) == (5, 2)  # K1, K2, K3, K5, K6
    assert (w.overall["no_competitor_deals"], w.overall["no_competitor_won"]) == (1, 0)  # K7
    q = w.by_quarter.set_index(["competitor", "quarter"])
    assert (q.loc[("Acme", "2026-Q1"), "deals"], q.loc[("Acme", "2026-Q1"), "won"]) == (2, 1)
    assert (q.loc[("Bolt", "2026-Q2"), "deals"], q.loc[("Bolt", "2026-Q2"), "won"]) == (3, 1)
    f = w.funnel_losses
    assert f[["lost_to", "stage", "deals"]].values.tolist() == [
        ["Bolt", "solution", 1], ["acme", "quote", 1], ["no decision", "qualified", 1],
    ]  # fmt: skip
    r = w.loss_reasons
    assert r.fillna({"lost_reason": "-"}).values.tolist() == [
        ["2026-Q1", "no decision", "budget frozen", 1], ["2026-Q1", "not recorded", "-", 1],
        ["2026-Q2", "lost to competitor", "price", 1],
        ["2026-Q2", "lost to competitor", "technical", 1],
    ]  # fmt: skip
    assert list(w.prices["price_delta"].round(2)) == [-0.1, 0.25, 0.2]


def test_fiscal_quarters_follow_the_methodology(tmp_path):
    from kamlib.methodology import load_methodology

    path = tmp_path / "m.yml"
    path.write_text("extends: default\nfiscal_year_start_month: 4\n", encoding="utf-8")
    w = win_loss(methodology=load_methodology(path))
    # February and March are in the fiscal year ending March 2026; April and May start FY2027
    assert set(w.by_quarter["quarter"]) == {"FY2026-Q4", "FY2027-Q1"}


def test_missing_competitor_table():
    with pytest.raises(MissingTableError, match="no 'opportunity_competitors' table"):
        win_loss(opportunity_competitors=None)


def _many(spec: dict[str, tuple[int, int]]):
    """Deals and competitor rows: competitor → (won, lost)."""
    specs, rows = [], []
    for name, (won, lost) in spec.items():
        for i in range(won + lost):
            oid = f"{name}-{i}"
            end = "won" if i < won else "lost"
            specs.append(dict(id=oid, path=[("qualified", "2026-01-10"), (end, "2026-03-01")],
                              lost_to=None if end == "won" else name))  # fmt: skip
            rows.append((oid, name, True, None, None))
    opps, hist = deals(*specs)
    comp = pd.DataFrame(rows, columns=COMPETITORS.columns)
    return win_loss(opportunities=opps, stage_history=hist, opportunity_competitors=comp)


def test_pooling_pulls_a_two_of_two_competitor_to_the_mean_and_leaves_sixty_of_a_hundred():
    # win rates of 20 %–80 % against five rivals met 20 times each
    w = _many({"C20": (4, 16), "C35": (7, 13), "C50": (10, 10), "C65": (13, 7),
               "C80": (16, 4), "Tiny": (2, 0), "Big": (60, 40)})  # fmt: skip
    c = w.competitors.set_index("competitor")
    mean = w.prior["mean"]
    assert w.prior["method"].startswith("hierarchical beta-binomial")
    tiny, big = c.loc["Tiny"], c.loc["Big"]
    assert tiny.win_rate == 1.0 and tiny.shrunk_win_rate < 0.8
    assert abs(tiny.shrunk_win_rate - mean) < 0.5 * abs(1.0 - mean)  # more than half the way
    assert tiny.shrunk_low < tiny.shrunk_win_rate < tiny.shrunk_high
    assert abs(big.shrunk_win_rate - 0.6) < 0.01  # nearly unchanged
    assert big.shrunk_high - big.shrunk_low < 0.2
    # the raw interval of a tiny sample is wide, not missing
    assert tiny.ci_high - tiny.ci_low > 0.6


# The rat-tumour experiments of Gelman et al., Bayesian Data Analysis (3rd ed.), Table 5.1:
# tumours y of n rats in each of 71 experiments.
RATS_Y = [0] * 14 + [1] * 8 + [2] * 9 + [1, 5, 2, 5, 3, 2, 7, 7, 3, 3, 2, 9, 10] + [4] * 7 + [
    10, 4, 4, 4, 5, 11, 12, 5, 5, 6, 5, 6, 6, 6, 6, 16, 15, 15, 9, 4]  # fmt: skip
RATS_N = [20] * 7 + [19] * 4 + [18, 18, 17, 20, 20, 20, 20, 19, 19, 18, 18, 25, 24, 23] + [
    20] * 6 + [10, 49, 19, 46, 27, 17, 49, 47, 20, 20, 13, 48, 50] + [20] * 7 + [
    48, 19, 19, 19, 22, 46, 49, 20, 20, 23, 19, 22, 20, 20, 20, 52, 46, 47, 24, 14]  # fmt: skip


def test_pooling_reproduces_the_published_rat_tumour_posterior():
    """BDA3 §5.3 reports the posterior mode of (log(α/β), log(α+β)) at (−1.79, 2.74) and the
    posterior means E(α|y) ≈ 2.4, E(β|y) ≈ 14.3 under the hyperprior (α+β)^-5/2."""
    y, n = np.array(RATS_Y), np.array(RATS_N)
    assert len(y) == len(n) == 71 and y.sum() == 267 and n.sum() == 1739
    h = beta_hyperposterior(y, n)
    summary = h.summary()
    assert summary["alpha"] == pytest.approx(2.4, abs=0.05)
    assert summary["beta"] == pytest.approx(14.3, abs=0.2)
    assert summary["competitors"] == 71
    top = int(np.argmax(h.weight))
    mode = (math.log(h.alpha[top] / h.beta[top]), math.log(h.alpha[top] + h.beta[top]))
    assert mode == pytest.approx((-1.79, 2.74), abs=0.1)
    # the 71st experiment (4 of 14) is pulled from 29 % toward the population's 14 %
    mean, low, high = h.posterior(y[-1:], n[-1:])
    assert 0.144 < mean[0] < 4 / 14 and low[0] < mean[0] < high[0]


def test_rates_no_more_different_than_chance_are_pooled_without_a_collapsed_interval():
    """Three rivals at 50 of 100: the data cannot tell them apart, so the pooled rates sit
    together — but their 90 % intervals stay about as wide as 300 deals allow (± 4.7 points),
    not the point a single fitted prior gave (empirical Bayes: 49.2 %–50.8 %)."""
    h = beta_hyperposterior(np.array([50, 50, 50]), np.array([100, 100, 100]))
    mean, low, high = h.posterior(np.array([50]), np.array([100]))
    assert mean[0] == pytest.approx(0.5, abs=1e-6)
    assert high[0] - low[0] > 2 * 0.045
    assert high[0] - low[0] < 2 * 0.085  # and no wider than 100 deals alone allow


def test_pooling_with_one_or_no_competitor():
    one = beta_hyperposterior(np.array([3]), np.array([4]))
    mean, low, high = one.posterior(np.array([3]), np.array([4]))
    assert low[0] < mean[0] < high[0] and high[0] - low[0] > 0.3  # wide, not missing
    none = beta_hyperposterior(np.array([0]), np.array([0]))
    assert none.summary()["competitors"] == 0
    assert np.isnan(none.posterior(np.array([0]), np.array([0]))[0]).all()


def test_competitors_met_on_one_account_by_hand():
    """K5 and K6 belong to account A2, the rest to A1."""
    opps = OPPS.assign(account_id=OPPS["opportunity_id"].map({"K5": "A2", "K6": "A2"}).fillna("A1"))
    process = sales_process_frames(
        as_of=AS_OF, opportunities=opps, stage_history=HISTORY, playbook=PLAYBOOK,
        checklist=CHECKLIST, bid_stage="quote", opportunity_competitors=COMPETITORS,
    )  # fmt: skip
    a1 = competitors_met(process, account_id="A1")
    assert list(a1.columns) == list(MET_COLUMNS)
    assert list(a1["competitor"]) == ["Acme", "Bolt"]  # met 4 times, then twice
    acme, bolt = a1.iloc[0], a1.iloc[1]
    # Acme: K1 won, K2 lost to "acme ", K3 no decision, K4 open
    assert (acme["deals"], acme["won"], acme["lost_to_them"], acme["no_decision"]) == (3, 1, 1, 1)
    assert acme["open"] == 1 and acme["win_rate"] == pytest.approx(1 / 3)
    assert (acme["ci_low"], acme["ci_high"]) == pytest.approx(wilson_interval(1, 3))
    # prices on K1 (90 vs 100: −10 %) and K4 (100 vs 80: +25 %): median +7.5 %
    assert acme["price_deals"] == 2 and acme["price_delta_median"] == pytest.approx(0.075)
    assert acme["last_met"] == pd.Timestamp("2026-04-10")  # K2's loss
    # Bolt on A1: K2 (lost to Acme) and K8 (lost after the as-of date: open then)
    assert (bolt["deals"], bolt["won"], bolt["lost_to_other"], bolt["open"]) == (1, 0, 1, 1)
    assert bolt["last_met"] == pd.Timestamp("2026-04-10")
    a2 = competitors_met(process, account_id="A2").set_index("competitor")
    assert list(a2.index) == ["Bolt"]
    assert (a2.loc["Bolt", "deals"], a2.loc["Bolt", "won"], a2.loc["Bolt", "lost_to_them"]) == (
        2,
        1,
        1,
    )
    assert competitors_met(process, account_id="nobody").empty
    # every account together: the counts of the company-wide table
    every = competitors_met(process).set_index("competitor")
    table = win_loss().competitors.set_index("competitor")
    for col in ("deals", "won", "lost_to_them", "open", "price_deals"):
        assert (every[col] == table.loc[every.index, col]).all()
