"""Task effects (kamlib.sales.effects, kamlib.sales.adjusted_effect) and the interval formulas
they use (kamlib.proportions), against published values and hand-worked cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sales_cases import CHECKLIST, PLAYBOOK, deals, tasks

from kamlib.errors import ConfigError
from kamlib.forecast import wilson_interval as forecast_wilson
from kamlib.proportions import newcombe_interval, wilson_interval
from kamlib.sales import ASSOCIATION_NOTE, adjusted_difference, sales_process_frames, task_effects
from kamlib.sales.effects import task_population

Z = 1.959963984540054


def wilson_by_hand(k: int, n: int) -> tuple[float, float]:
    """Wilson (1927), written out: (2np + z² ∓ z√(z² + 4np(1−p))) / (2(n + z²))."""
    p = k / n
    root = Z * math.sqrt(Z * Z + 4 * n * p * (1 - p))
    return ((2 * n * p + Z * Z - root) / (2 * (n + Z * Z)),
            (2 * n * p + Z * Z + root) / (2 * (n + Z * Z)))  # fmt: skip


# Newcombe (1998b), Statistics in Medicine 17:873-890, Table II, method 10 (hybrid score)
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "published"), NEWCOMBE_TABLE_II)
def test_newcombe_method_10_matches_the_published_table(counts, published):
    d, lo, hi = newcombe_interval(*counts)
    k1, n1, k2, n2 = counts
    assert d == pytest.approx(k1 / n1 - k2 / n2)
    assert (round(lo, 4), round(hi, 4)) == published


def test_newcombe_from_wilson_by_hand_and_edges():
    l1, u1 = wilson_by_hand(4, 5)
    l2, u2 = wilson_by_hand(1, 6)
    d = 4 / 5 - 1 / 6
    expected = (d, d - math.sqrt((0.8 - l1) ** 2 + (u2 - 1 / 6) ** 2),
                d + math.sqrt((u1 - 0.8) ** 2 + (1 / 6 - l2) ** 2))  # fmt: skip
    np.testing.assert_allclose(newcombe_interval(4, 5, 1, 6), expected, rtol=1e-12)
    assert all(math.isnan(x) for x in newcombe_interval(3, 4, 0, 0))
    assert forecast_wilson is wilson_interval  # one definition, re-exported by the forecast


AS_OF = "2026-06-30"
OPPS, HISTORY = deals(
    # with the qualification task (4 of 5 won); cycle = reaching qualified → close
    dict(id="E1", path=[("lead", "2026-01-01"), ("qualified", "2026-01-11"), ("won", "2026-03-02")]),  # 50
    dict(id="E2", path=[("qualified", "2026-01-01"), ("won", "2026-02-10")]),  # 40
    dict(id="E3", path=[("qualified", "2026-01-01"), ("solution", "2026-01-15"), ("won", "2026-03-12")]),  # 70
    dict(id="E4", path=[("qualified", "2026-01-01"), ("lost", "2026-01-31")]),  # 30
    dict(id="E13", process="direct", path=[("qualified", "2026-02-01"), ("won", "2026-04-01")]),  # 59
    # without (1 of 6 won)
    dict(id="E5", path=[("qualified", "2026-01-01"), ("won", "2026-01-21")]),  # 20
    dict(id="E6", path=[("qualified", "2026-01-01"), ("lost", "2026-01-11")]),  # 10
    dict(id="E7", path=[("qualified", "2026-01-01"), ("lost", "2026-02-20")]),  # 50
    dict(id="E8", path=[("lead", "2026-01-01"), ("qualified", "2026-01-02"), ("lost", "2026-01-17")]),  # 15
    dict(id="E12", path=[("qualified", "2026-03-01"), ("lost", "2026-04-01")]),  # 31; task after close
    dict(id="E14", path=[("lead", "2026-01-01"), ("solution", "2026-01-10"), ("lost", "2026-02-09")]),  # skipped qualified: not counted
    # not counted: lost before reaching qualified (survivorship), still open, closed after as_of
    dict(id="E9", path=[("lead", "2026-01-01"), ("lost", "2026-01-05")]),
    dict(id="E10", path=[("qualified", "2026-03-01"), ("solution", "2026-03-10")]),
    dict(id="E11", path=[("qualified", "2026-03-01"), ("won", "2026-08-01")]),
)  # fmt: skip
TASKS = tasks(
    ("E1", "qualification", "2026-01-20"),
    ("E2", "qualification", "2026-01-05"),
    ("E3", "qualification", "2026-01-03"),
    ("E4", "qualification", "2026-01-10"),
    ("E13", "qualification", "2026-02-05"),
    ("E13", "technical_bid", "2026-02-10"),  # the direct playbook has no technical bid
    ("E12", "qualification", "2026-05-01"),  # after the deal was lost: without
    ("E11", "qualification", "2026-03-05"),
    ("E3", "technical_bid", "2026-02-01"),
)


def process(as_of: str = AS_OF, **kw: object):
    frames = dict(opportunities=OPPS, stage_history=HISTORY, tasks=TASKS, playbook=PLAYBOOK,
                  checklist=CHECKLIST, bid_stage="quote")  # fmt: skip
    frames.update(kw)
    return sales_process_frames(as_of=as_of, **frames)


def test_population_reached_the_stage_and_closed_without_survivors():
    pop = task_population(process(), "qualification").set_index("opportunity_id")
    assert sorted(pop.index) == sorted(["E1", "E2", "E3", "E4", "E13", "E5", "E6", "E7", "E8",
                                        "E12"])  # fmt: skip
    assert "E9" not in pop.index  # lost at lead: never had the chance, not a "without"
    assert "E14" not in pop.index  # jumped past qualified: never worked in it
    assert not pop.loc["E12", "done"]  # done after the close
    assert pop.loc["E3", "done"]  # done before E3 moved on to solution
    assert pop.attrs["open"] == 2  # E10, E11 (won after the as-of date)


def test_task_effects_by_hand():
    fx = task_effects(process()).set_index("task")
    q = fx.loc["qualification"]
    assert (q.n_with, q.won_with, q.n_without, q.won_without, q.n_open) == (5, 4, 5, 1, 2)
    assert q.win_rate_with == pytest.approx(0.8) and q.win_rate_without == pytest.approx(0.2)
    l1, u1 = wilson_by_hand(4, 5)
    l2, u2 = wilson_by_hand(1, 5)
    d = 0.8 - 0.2
    assert q.difference == pytest.approx(100 * d)
    assert q.ci_low == pytest.approx(100 * (d - math.sqrt((0.8 - l1) ** 2 + (u2 - 0.2) ** 2)))
    assert q.ci_high == pytest.approx(100 * (d + math.sqrt((u1 - 0.8) ** 2 + (0.2 - l2) ** 2)))
    # medians of [50, 40, 70, 30, 59] and [20, 10, 50, 15, 31]
    assert (q.cycle_days_with, q.cycle_days_without, q.cycle_difference) == (50.0, 20.0, 30.0)
    assert q.kind == "task" and q.stage == "qualified"
    assert q.adjusted_ci_low < q.adjusted_difference < q.adjusted_ci_high
    assert q.adjusted_method == "logistic, delta method"


def test_a_task_counts_only_for_the_processes_whose_playbook_holds_it():
    fx = task_effects(process()).set_index("task")
    # tender, stage solution: entered by E3 (with, won), E14 (lost), E10 (open); E1, E2, E5
    # jumped over it (qualified → won) and never worked in it; E13 is direct: not counted
    t = fx.loc["technical_bid"]
    assert (t.n_with, t.won_with, t.n_without, t.won_without, t.n_open) == (1, 1, 1, 0, 1)
    assert fx.loc["technical_bid", "stage"] == "solution"
    assert list(fx.index) == ["qualification", "technical_bid", "presales_engineer",
                              "commercial_bid", "reference_visit"]  # fmt: skip


def test_small_samples_give_wide_intervals_and_empty_sides_none():
    fx = task_effects(process()).set_index("task")
    t = fx.loc["technical_bid"]  # 1 of 1 vs 0 of 1
    assert t.difference == pytest.approx(100.0) and t.ci_high - t.ci_low > 100
    r = fx.loc["presales_engineer"]  # no deal had it: nothing to compare, no made-up number
    assert r.n_with == 0 and math.isnan(r.difference) and math.isnan(r.adjusted_difference)


def test_association_note_and_as_of():
    fx = task_effects(process())
    assert fx.attrs["note"] == ASSOCIATION_NOTE and "association, not cause" in ASSOCIATION_NOTE
    early = task_effects(process("2026-02-15")).set_index("task").loc["qualification"]
    # by 02-15: with E2 (won 02-10), E4 (lost); without E5 (won), E6, E8 (E7 still open)
    assert (early.n_with, early.won_with, early.n_without, early.won_without) == (2, 1, 3, 1)


def _confounded(seed: int, n: int = 600, effect: float = 0.8):
    """Tasks done more often on big deals, which also win more; owners differ."""
    rng = np.random.default_rng(seed)
    size = rng.normal(0, 1, n)
    owner = rng.integers(0, 6, n)
    bump = rng.normal(0, 0.4, 6)
    proc = np.where(rng.random(n) < 0.5, "tender", "direct")
    done = rng.random(n) < 1 / (1 + np.exp(-1.5 * size))
    base = -0.4 + 1.0 * size + bump[owner] + 0.3 * (proc == "tender")
    won = rng.random(n) < 1 / (1 + np.exp(-(base + effect * done)))
    true = 100 * np.mean(1 / (1 + np.exp(-(base + effect))) - 1 / (1 + np.exp(-base)))
    return won, done, np.exp(11 + size), proc, owner.astype(str), true


def test_adjusted_difference_removes_confounding_by_deal_size():
    covered = 0
    for seed in range(20):
        won, done, amount, proc, owner, true = _confounded(seed)
        raw = 100 * (won[done].mean() - won[~done].mean())
        adj = adjusted_difference(won, done, amount=amount, process=proc, owner=owner)
        assert raw > true + 10  # the raw difference credits the task with the big deals
        covered += adj.ci_low <= true <= adj.ci_high
    assert covered >= 17  # 95 % intervals: at least 17 of 20


def test_adjusted_difference_bootstrap_is_seeded_and_agrees_with_the_delta_method():
    won, done, amount, proc, owner, _ = _confounded(3)
    kw = dict(amount=amount, process=proc, owner=owner, interval="bootstrap", n_boot=100)
    a = adjusted_difference(won, done, random_state=7, **kw)
    b = adjusted_difference(won, done, random_state=7, **kw)
    assert a == b and a.method == "logistic, bootstrap"
    delta = adjusted_difference(won, done, amount=amount, process=proc, owner=owner)
    assert a.difference == delta.difference
    assert abs((a.ci_high - a.ci_low) - (delta.ci_high - delta.ci_low)) < 6
    with pytest.raises(ConfigError, match="'interval' parameter of adjusted_difference"):
        adjusted_difference(won, done, amount=amount, process=proc, owner=owner, interval="x")


def test_owner_is_shrunk_not_free():
    """One owner does the task on every deal and wins them all: a free owner intercept would
    take the whole effect (the task's own effect is then unidentified); the shrunk one leaves
    it to the task, with a wide interval."""
    won = np.array([True] * 6 + [True, False, False, True, False, False])
    done = np.array([True] * 6 + [False] * 6)
    owner = np.array(["Star"] * 6 + ["Ann", "Ann", "Ann", "Bob", "Bob", "Bob"])
    adj = adjusted_difference(won, done, amount=np.full(12, 1e5), process=np.full(12, "t"),
                              owner=owner)  # fmt: skip
    assert 0 < adj.difference < 100 * (1 - 2 / 6)
    assert adj.ci_high - adj.ci_low > 40


def test_the_penalised_fit_is_the_optimum_statsmodels_reaches():
    # an independent reference: statsmodels' penalised binomial GLM (BFGS) on the same design
    import statsmodels.api as sm

    from kamlib.sales import adjusted_effect as ae

    rng = np.random.default_rng(11)
    n = 800
    owner = rng.choice([f"o{i}" for i in range(25)], n)
    amount = np.exp(rng.normal(10, 1, n))
    done = rng.random(n) < 0.4
    won = rng.random(n) < 1 / (1 + np.exp(-(-0.5 + done + 0.2 * np.log(amount / 2e4))))
    proc = rng.choice(["tender", "direct"], n)
    design, is_owner, _col = ae._design(done, amount, proc, owner)
    penalty = np.where(is_owner, 1 / ae.OWNER_SD**2, 1 / ae.PRIOR_SD**2)
    penalty[0] = 0.0
    beta, note = ae._fit(won, design, penalty, None)
    dense = np.column_stack([design.dense, np.eye(design.owners)[design.owner]])
    ref = sm.GLM(won.astype(float), dense, family=sm.families.Binomial()).fit_regularized(
        method="elastic_net", alpha=penalty / n, L1_wt=0.0
    )
    assert note == ""
    np.testing.assert_allclose(beta, ref.params, atol=2e-3)
    # the penalised log-likelihood: Newton's optimum is at least as high as BFGS's
    def objective(b):
        eta = dense @ b
        return won @ eta - np.logaddexp(0, eta).sum() - 0.5 * penalty @ (b * b)

    assert objective(beta) >= objective(np.asarray(ref.params)) - 1e-9


def test_every_deal_won_gives_no_difference_and_says_why():
    won = np.ones(120, dtype=bool)
    done = np.arange(120) % 2 == 0
    got = adjusted_difference(
        won, done, amount=np.ones(120), process=np.array([None] * 120), owner=np.array(["a"] * 120)
    )
    assert abs(got.difference) < 1e-6 and got.ci_low <= 0 <= got.ci_high
    assert "separated" in got.note
