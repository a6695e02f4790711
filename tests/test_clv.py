"""Customer lifetime value (kamlib.clv): RFM summary, BG/NBD, Pareto/NBD, Gamma-Gamma, CLV.

Reference values and where they come from
-----------------------------------------
CDNOW sample (``tests/data/cdnow_sample.csv``, from the ``lifetimes`` 0.11.3 wheel, MIT; see
``tests/data/cdnow_sample.LICENSE.txt``): 2,357 customers who first bought in Q1 1997,
calibration 1997-01-01 … 1997-09-30 (39 weeks), holdout to 1998-06-30, time in weeks.

- BG/NBD: Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers" the
  Easy Way: An Alternative to the Pareto/NBD Model. Marketing Science 24(2), 275–284 —
  r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = −9582.4.
- BG/NBD predictions: Fader, Hardie & Lee (2005), "Implementing the BG/NBD Model for
  Customer Base Analysis in Excel", http://brucehardie.com/notes/004/ — E[X(t)] at
  t = 0.1429, 1, 3, 31.8571, 32, 78 weeks = 0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576,
  and E[Y(39) | x = 2, t_x = 30.43, T = 38.86] = 1.226.
- Pareto/NBD: Fader, Hardie & Lee (2005), Marketing Science (above) —
  r = 0.55, α = 10.58, s = 0.61, β = 11.67.
- Gamma-Gamma: Fader, P. S. & Hardie, B. G. S. (2013). The Gamma-Gamma Model of Monetary
  Value. http://brucehardie.com/notes/025/ — p = 6.25, q = 3.74, γ (``v``) = 15.44, fitted
  on the calibration-period repeat buyers and their mean repeat-transaction value.
- Standard errors of the BG/NBD fit: lifetimes 0.11.3 (``BetaGeoFitter``, Hessian by
  automatic differentiation), printed by ``benchmarks/bench_clv.py`` ("std err" row).

Everything else is a hand calculation written in the test, a direct numerical integration
of the model's definition, or a recovery of known parameters from seeded simulations.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import integrate
from scipy.optimize import approx_fprime

from kamlib.clv import (
    BetaGeoModel,
    ConvergenceWarning,
    GammaGammaModel,
    NotFittedError,
    ParetoNBDModel,
    clv_indicators,
    customer_lifetime_value,
    rfm_summary,
)
from kamlib.data.kamdata import KamData, Snapshot
from kamlib.errors import ConfigError, DataValidationError

DATA = Path(__file__).resolve().parent / "data"


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cdnow_orders() -> pd.DataFrame:
    return pd.read_csv(DATA / "cdnow_sample.csv")


@pytest.fixture(scope="module")
def cdnow(cdnow_orders) -> pd.DataFrame:
    return rfm_summary(
        cdnow_orders,
        observation_end="1998-06-30",
        calibration_end="1997-09-30",
        customer_col="customer_id",
        freq="W",
    )


@pytest.fixture(scope="module")
def bgnbd(cdnow) -> BetaGeoModel:
    return BetaGeoModel().fit(cdnow)


@pytest.fixture(scope="module")
def pareto(cdnow) -> ParetoNBDModel:
    return ParetoNBDModel().fit(cdnow)


@pytest.fixture(scope="module")
def spend(cdnow) -> GammaGammaModel:
    return GammaGammaModel().fit(cdnow)


# -- rfm_summary -----------------------------------------------------------------------------
def tiny_orders() -> pd.DataFrame:
    rows = [
        # A: two lines on 1 Jan (one purchase of 15), 8 Jan (20), 15 Jan (30 bought, 5
        # returned the same day: 25), a return alone on 20 Jan (-8: not a purchase).
        ("A", "2024-01-01", 10.0),
        ("A", "2024-01-01", 5.0),
        ("A", "2024-01-08", 20.0),
        ("A", "2024-01-15", 30.0),
        ("A", "2024-01-15", -5.0),
        ("A", "2024-01-20", -8.0),
        # B: one purchase only.
        ("B", "2024-01-10", 100.0),
        # C: bought only after the observation window.
        ("C", "2024-02-05", 70.0),
        # D: only a return.
        ("D", "2024-01-12", -50.0),
        # E: a free first purchase (0 still counts), then 40 on 25 Jan.
        ("E", "2024-01-05", 0.0),
        ("E", "2024-01-25 16:30", 40.0),
    ]
    return pd.DataFrame(rows, columns=["account_id", "order_date", "amount"])


def test_rfm_summary_by_hand():
    orders = tiny_orders()
    before = orders.copy()
    summary = rfm_summary(orders, observation_end="2024-01-31")
    # A: purchase days 1, 8, 15 Jan → 2 repeats, recency 14 days, T 30 days,
    #    mean repeat value (20 + 25) / 2.  B: 0 repeats, T 21.  E: 1 repeat after 20 days.
    expected = pd.DataFrame(
        {
            "account_id": ["A", "B", "E"],
            "frequency": np.array([2, 0, 1], dtype=np.int64),
            "recency": [14.0, 0.0, 20.0],
            "T": [30.0, 21.0, 26.0],
            "monetary_value": [22.5, np.nan, 40.0],
        }
    )
    pd.testing.assert_frame_equal(summary, expected, check_dtype=False)
    assert summary["frequency"].dtype == np.int64
    pd.testing.assert_frame_equal(orders, before)  # input not mutated

    weeks = rfm_summary(orders, observation_end="2024-01-31", freq="W")
    assert_allclose(weeks["recency"], [2.0, 0.0, 20 / 7])
    assert_allclose(weeks["T"], [30 / 7, 3.0, 26 / 7])


def test_rfm_summary_calibration_and_holdout_by_hand():
    summary = rfm_summary(tiny_orders(), observation_end="2024-01-31", calibration_end="2024-01-10")
    # Calibration to 10 Jan: A bought 1 and 8 Jan (1 repeat of 20, T 9); B first bought on
    # 10 Jan (T 0); E on 5 Jan (T 5).  Holdout 11–31 Jan (21 days): A 15 Jan (25; the
    # 20 Jan return is no purchase), E 25 Jan (40); B nothing.
    expected = pd.DataFrame(
        {
            "account_id": ["A", "B", "E"],
            "frequency": [1, 0, 0],
            "recency": [7.0, 0.0, 0.0],
            "T": [9.0, 0.0, 5.0],
            "monetary_value": [20.0, np.nan, np.nan],
            "frequency_holdout": [1, 0, 1],
            "monetary_value_holdout": [25.0, np.nan, 40.0],
            "duration_holdout": [21.0, 21.0, 21.0],
        }
    )
    pd.testing.assert_frame_equal(summary, expected, check_dtype=False)
    assert summary["frequency_holdout"].dtype == np.int64


def test_rfm_summary_without_amounts_counts_every_order_day():
    summary = rfm_summary(tiny_orders(), observation_end="2024-01-31", amount_col=None)
    # Without amounts a return day is an order day too: A has 1, 8, 15, 20 Jan; D appears.
    assert list(summary.columns) == ["account_id", "frequency", "recency", "T"]
    assert summary.set_index("account_id")["frequency"].to_dict() == {
        "A": 3,
        "B": 0,
        "D": 0,
        "E": 1,
    }


def test_rfm_summary_of_cdnow_matches_the_published_sample(cdnow):
    assert len(cdnow) == 2357
    assert cdnow["customer_id"].is_unique
    # The cohort first bought in the first 12 weeks of 1997: T between 27 and 39 weeks.
    assert cdnow["T"].between(39 - 12, 39).all()
    assert (cdnow["duration_holdout"] == 39.0).all()
    # Fader & Hardie's own summary of this sample (shipped with lifetimes as
    # cdnow_customers_summary_with_transactions.csv) has 946 customers with repeat purchases.
    assert (cdnow["frequency"] > 0).sum() == 946
    assert cdnow["monetary_value"].isna().sum() == 2357 - 946


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"freq": "M"}, ConfigError, r"'freq' parameter of rfm_summary must be one of 'D'"),
        ({"calibration_end": "2024-02-01"}, ConfigError, "must be before observation_end"),
        ({"date_col": "day"}, DataValidationError, "Required column 'day' missing"),
        ({"observation_end": "31/01/2024"}, ConfigError, "does not parse"),
    ],
)
def test_rfm_summary_rejects_bad_parameters(kwargs, error, match):
    args = {"observation_end": "2024-01-31", **kwargs}
    with pytest.raises(error, match=match):
        rfm_summary(tiny_orders(), **args)


def test_rfm_summary_names_bad_values():
    orders = tiny_orders()
    bad_date = orders.assign(order_date=orders["order_date"].where(orders.index != 3, "soon"))
    with pytest.raises(DataValidationError, match=r"Column 'order_date' .* 'soon' at row 3"):
        rfm_summary(bad_date, observation_end="2024-01-31")
    bad_amount = orders.astype({"amount": object})
    bad_amount.loc[4, "amount"] = "abc"
    with pytest.raises(DataValidationError, match=r"Column 'amount' .* 'abc' at row 4"):
        rfm_summary(bad_amount, observation_end="2024-01-31")
    no_customer = orders.assign(account_id=orders["account_id"].where(orders.index != 2))
    with pytest.raises(DataValidationError, match=r"Column 'account_id' .* empty at row 2"):
        rfm_summary(no_customer, observation_end="2024-01-31")


# -- BG/NBD on CDNOW -----------------------------------------------------------------------------
def test_bgnbd_reproduces_fader_hardie_lee_2005(bgnbd):
    assert list(bgnbd.params_.index) == ["r", "alpha", "a", "b"]
    assert_allclose(bgnbd.params_.to_numpy(), [0.243, 4.414, 0.793, 2.426], atol=5e-4)
    assert_allclose(bgnbd.log_likelihood_, -9582.4, atol=0.05)
    assert bgnbd.converged_
    assert bgnbd.n_customers_ == 2357


def test_bgnbd_predictions_match_the_fader_hardie_spreadsheet(bgnbd):
    # Tolerance 1e-3: the spreadsheet's parameters come from Excel's Solver, ours from an
    # exact optimum, and they differ in the 4th decimal.
    times = np.array([0.1429, 1.0, 3.00, 31.8571, 32.00, 78.00])
    expected = [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576]
    assert_allclose(bgnbd.expected_number_of_purchases_up_to_time(times), expected, atol=1e-3)
    conditional = bgnbd.conditional_expected_number_of_purchases_up_to_time(39, 2, 30.43, 38.86)
    assert_allclose(conditional, 1.226, atol=5e-4)


def test_bgnbd_standard_errors_match_automatic_differentiation(bgnbd):
    # lifetimes 0.11.3, exact Hessian by autograd (benchmarks/bench_clv.py, "std err").
    assert_allclose(
        bgnbd.standard_errors_.to_numpy(), [0.012557, 0.378224, 0.185734, 0.705414], rtol=1e-4
    )
    table = bgnbd.summary()
    assert list(table.columns) == ["estimate", "std_error", "ci_lower_95", "ci_upper_95"]
    assert (table["ci_lower_95"] < table["estimate"]).all()
    assert (table["estimate"] < table["ci_upper_95"]).all()
    assert (table["ci_lower_95"] > 0).all()


def test_p_alive_is_one_without_repeat_purchases(bgnbd, pareto):
    # BG/NBD: customers drop out only right after a repeat purchase.
    assert_allclose(bgnbd.conditional_probability_alive(0, 0, [0.0, 1.0, 38.86, 1000.0]), 1.0)
    # Pareto/NBD has no such property (lifetimes can end at any time).
    assert pareto.conditional_probability_alive(0, 0, 38.86) < 1.0


def test_p_alive_falls_with_time_since_last_purchase(bgnbd, pareto):
    for model in (bgnbd, pareto):
        p = model.conditional_probability_alive(5, np.array([38.0, 30.0, 20.0, 5.0]), 38.86)
        assert np.all(np.diff(p) < 0)
        assert np.all((p > 0) & (p <= 1))


def test_predictions_keep_the_index_of_series(bgnbd, cdnow):
    frame = cdnow.set_index("customer_id")
    p = bgnbd.conditional_probability_alive(frame["frequency"], frame["recency"], frame["T"])
    assert isinstance(p, pd.Series)
    assert p.index.equals(frame.index)


def test_bgnbd_prediction_is_finite_for_extreme_histories(bgnbd):
    # Large x and long horizons stress the hypergeometric term (Euler-transformed).
    e = bgnbd.conditional_expected_number_of_purchases_up_to_time(
        np.array([1.0, 52.0, 520.0, 5200.0]), 300, 38.0, 38.86
    )
    assert np.all(np.isfinite(e))
    assert np.all(np.diff(e) > 0)


def test_predictions_are_continuous_where_the_formulas_switch():
    # BG/NBD's eq. (10) is 0/0 at a = 1; Pareto/NBD's lifetime factor has a limit at s = 1.
    def bgnbd_with(a):
        model = BetaGeoModel()
        model.params_ = pd.Series({"r": 0.25, "alpha": 4.4, "a": a, "b": 2.4})
        return model.conditional_expected_number_of_purchases_up_to_time(39, 3, 20.0, 38.0)

    def pareto_with(s):
        model = ParetoNBDModel()
        model.params_ = pd.Series({"r": 0.55, "alpha": 10.6, "s": s, "beta": 11.7})
        return model.conditional_expected_number_of_purchases_up_to_time(39, 3, 20.0, 38.0)

    for formula in (bgnbd_with, pareto_with):
        at_one = formula(1.0)
        assert np.isfinite(at_one)
        assert_allclose([formula(1 - 1e-4), formula(1 + 1e-4)], at_one, rtol=1e-3)
    with pytest.raises(DataValidationError, match="horizon t .* Got -1"):
        bgnbd_model = BetaGeoModel()
        bgnbd_model.params_ = pd.Series({"r": 0.25, "alpha": 4.4, "a": 0.8, "b": 2.4})
        bgnbd_model.conditional_expected_number_of_purchases_up_to_time(-1, 1, 1, 2)


def test_time_unit_only_rescales_alpha(cdnow_orders, bgnbd):
    days = rfm_summary(
        cdnow_orders, observation_end="1997-09-30", customer_col="customer_id", freq="D"
    )
    in_days = BetaGeoModel().fit(days)
    assert_allclose(in_days.params_[["r", "a", "b"]], bgnbd.params_[["r", "a", "b"]], rtol=1e-6)
    assert_allclose(in_days.params_["alpha"], 7 * bgnbd.params_["alpha"], rtol=1e-6)
    # LL of the same data in days differs by the Jacobian of the time change: Σx·ln 7.
    shift = days["frequency"].sum() * np.log(7)
    assert_allclose(in_days.log_likelihood_, bgnbd.log_likelihood_ - shift, rtol=1e-9)


def test_fit_ignores_row_order_and_does_not_mutate(cdnow, bgnbd):
    shuffled = cdnow.sample(frac=1.0, random_state=3)
    before = shuffled.copy()
    again = BetaGeoModel().fit(shuffled)
    assert_allclose(again.params_, bgnbd.params_, rtol=1e-9)
    pd.testing.assert_frame_equal(shuffled, before)


def test_penalizer_shrinks_the_parameters(cdnow, bgnbd):
    penalised = BetaGeoModel(penalizer=0.1).fit(cdnow)
    assert penalised.params_["alpha"] < bgnbd.params_["alpha"]
    assert penalised.params_["b"] < bgnbd.params_["b"]
    assert penalised.log_likelihood_ < bgnbd.log_likelihood_
    restarted = BetaGeoModel(initial_params=bgnbd.params_).fit(cdnow)
    assert_allclose(restarted.params_, bgnbd.params_, rtol=1e-6)


@pytest.mark.parametrize("model_class", [BetaGeoModel, GammaGammaModel])
def test_closed_form_derivatives_match_finite_differences(model_class, cdnow):
    model = model_class()
    data = model._prepare(cdnow)
    rng = np.random.default_rng(11)
    for _ in range(3):
        theta = rng.normal(0.0, 0.7, size=len(model._param_names))
        value, gradient, hessian = model._evaluate(theta, data, order=2)
        numeric_grad = approx_fprime(theta, lambda t: model._evaluate(t, data, order=0)[0], 1e-7)
        assert_allclose(gradient, numeric_grad, rtol=1e-5, atol=1e-7)
        numeric_hess = np.array(
            [
                approx_fprime(theta, lambda t, i=i: model._evaluate(t, data, order=1)[1][i], 1e-7)
                for i in range(theta.size)
            ]
        )
        assert_allclose(hessian, numeric_hess, rtol=1e-4, atol=1e-6)


# -- Pareto/NBD and Gamma-Gamma on CDNOW -----------------------------------------------------------
def test_pareto_nbd_reproduces_fader_hardie_lee_2005(pareto):
    assert list(pareto.params_.index) == ["r", "alpha", "s", "beta"]
    assert_allclose(pareto.params_.to_numpy(), [0.55, 10.58, 0.61, 11.67], atol=5e-3)
    assert pareto.converged_
    assert np.all(np.isfinite(pareto.standard_errors_))


def pareto_p_alive_by_integration(params, x, t_x, T):
    """P(alive) straight from the model's definition, by numerical integration.

    Given λ and μ, the history has likelihood λ^x e^{-λT} e^{-μT} (alive at T) plus
    ∫_{t_x}^{T} λ^x e^{-λτ} μ e^{-μτ} dτ (died at τ after the last purchase).  Integrating λ
    over Gamma(r, α) and μ over Gamma(s, β) in closed form leaves, up to a common factor,
    alive = (α+T)^-(r+x) (β+T)^-s and died = ∫ s (α+τ)^-(r+x) (β+τ)^-(s+1) dτ.
    """
    r, alpha, s, beta = params
    # Divided by the "alive" term, so nothing underflows for large x.
    died = integrate.quad(
        lambda tau: (
            s
            * ((alpha + tau) / (alpha + T)) ** -(r + x)
            * ((beta + tau) / (beta + T)) ** -s
            / (beta + tau)
        ),
        t_x,
        T,
        epsabs=0,
        epsrel=1e-12,
        limit=200,
    )[0]
    return 1.0 / (1.0 + died)


@pytest.mark.parametrize(
    ("params", "x", "t_x", "T"),
    [
        ((0.55, 10.58, 0.61, 11.67), 2, 30.43, 38.86),  # CDNOW, α < β
        ((0.55, 10.58, 0.61, 11.67), 0, 0.0, 38.86),
        ((0.55, 12.0, 0.61, 3.0), 7, 10.0, 38.86),  # α > β
        ((0.8, 0.5, 1.5, 40.0), 60, 5.0, 52.0),  # large x, α ≪ β: 2F1 near its pole
        ((2.0, 1.0, 0.3, 0.2), 200, 100.0, 104.0),  # very large x
    ],
)
def test_pareto_p_alive_equals_numerical_integration(params, x, t_x, T):
    model = ParetoNBDModel()
    model.params_ = pd.Series(params, index=["r", "alpha", "s", "beta"])  # a fitted state
    expected = pareto_p_alive_by_integration(params, x, t_x, T)
    assert_allclose(model.conditional_probability_alive(x, t_x, T), expected, rtol=1e-8)


def test_gamma_gamma_reproduces_fader_hardie_2013(spend, cdnow):
    assert list(spend.params_.index) == ["p", "q", "v"]
    assert_allclose(spend.params_.to_numpy(), [6.25, 3.74, 15.44], atol=5e-3)
    assert spend.n_customers_ == (cdnow["frequency"] > 0).sum()
    p, q, v = spend.params_
    # Hand formula (Fader & Hardie 2013, eq. 5) and the population mean for x = 0.
    got = spend.conditional_expected_average_profit(
        np.array([0, 1, 10]), np.array([np.nan, 20.0, 20.0])
    )
    assert_allclose(
        got,
        [p * v / (q - 1), (p * v + p * 20) / (p + q - 1), (p * v + 10 * p * 20) / (10 * p + q - 1)],
    )


# -- recovery from simulated data ------------------------------------------------------------------
def simulate_bgnbd(rng, n, r, alpha, a, b, T):
    """Repeat purchases under BG/NBD: Poisson(λ) while alive, drop out after a purchase w.p. p."""
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    clock, x, t_x = np.zeros(n), np.zeros(n, dtype=np.int64), np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        clock[idx] += rng.exponential(1 / lam[idx])
        bought = clock[idx] <= T[idx]
        active[idx[~bought]] = False
        buyers = idx[bought]
        x[buyers] += 1
        t_x[buyers] = clock[buyers]
        active[buyers[rng.random(buyers.size) < p[buyers]]] = False
    return pd.DataFrame({"frequency": x, "recency": t_x, "T": T})


def simulate_pareto_nbd(rng, n, r, alpha, s, beta, T):
    """Repeat purchases under Pareto/NBD: Poisson(λ) until an exponential(μ) lifetime ends."""
    lam = rng.gamma(r, 1 / alpha, n)
    mu = rng.gamma(s, 1 / beta, n)
    active_until = np.minimum(rng.exponential(1 / mu), T)
    x = rng.poisson(lam * active_until)
    # The last of x uniform purchase times on (0, active_until].
    t_x = np.where(x > 0, active_until * rng.random(n) ** (1 / np.maximum(x, 1)), 0.0)
    return pd.DataFrame({"frequency": x, "recency": t_x, "T": T})


def assert_recovered(model, truth):
    error = np.abs(model.params_ - pd.Series(truth))
    assert (error < 4 * model.standard_errors_).all(), (model.summary(), truth)


def test_bgnbd_recovers_known_parameters():
    rng = np.random.default_rng(2026)
    truth = {"r": 0.5, "alpha": 6.0, "a": 0.8, "b": 2.5}
    summary = simulate_bgnbd(rng, 6000, *truth.values(), T=rng.uniform(26, 52, 6000))
    assert_recovered(BetaGeoModel().fit(summary), truth)


def test_pareto_nbd_recovers_known_parameters():
    rng = np.random.default_rng(2027)
    truth = {"r": 0.6, "alpha": 8.0, "s": 0.7, "beta": 12.0}
    summary = simulate_pareto_nbd(rng, 6000, *truth.values(), T=rng.uniform(26, 52, 6000))
    assert_recovered(ParetoNBDModel().fit(summary), truth)


def test_gamma_gamma_recovers_known_parameters():
    rng = np.random.default_rng(2028)
    truth = {"p": 6.0, "q": 4.0, "v": 15.0}
    n = 4000
    x = 1 + rng.poisson(3, n)
    nu = rng.gamma(truth["q"], 1 / truth["v"], n)
    # The mean of x Gamma(p, ν) values is Gamma(p·x, x·ν).
    mean_spend = rng.gamma(truth["p"] * x, 1 / (nu * x))
    summary = pd.DataFrame({"frequency": x, "monetary_value": mean_spend})
    assert_recovered(GammaGammaModel().fit(summary), truth)


# -- bad input and convergence ------------------------------------------------------------------
GOOD = pd.DataFrame({"frequency": [0, 2, 5], "recency": [0.0, 10.0, 30.0], "T": [20.0, 30.0, 40.0]})


@pytest.mark.parametrize(
    ("summary", "match"),
    [
        (GOOD.drop(columns="T"), r"Required column 'T' missing from the summary"),
        (GOOD.assign(frequency=[0, -1, 5]), r"Column 'frequency' .* has -1 at row 1"),
        (
            GOOD.assign(frequency=[0, 1.5, 5]),
            r"Column 'frequency' .* 1\.5 at row 1: expected a whole",
        ),
        (GOOD.assign(recency=[0.0, 31.0, 30.0]), r"Column 'recency' .* 31 at row 1 \(T is 30\)"),
        (GOOD.assign(recency=[3.0, 10.0, 30.0]), r"recency must be 0 when frequency is 0"),
        (GOOD.assign(T=[20.0, np.nan, 40.0]), r"Column 'T' .* nan at row 1"),
        (
            GOOD.assign(recency=["0", "x", "30"]),
            r"Column 'recency' .* 'x' at row 1: expected a number",
        ),
        (GOOD.assign(frequency=0, recency=0.0), r"Every customer .* has frequency 0"),
        (GOOD.iloc[:0], r"has no rows"),
    ],
)
def test_bad_summaries_are_refused_with_the_column_and_value(summary, match):
    with pytest.raises(DataValidationError, match=match):
        BetaGeoModel().fit(summary)


def test_gamma_gamma_refuses_non_positive_spend():
    summary = pd.DataFrame({"frequency": [0, 2, 3], "monetary_value": [np.nan, 0.0, 12.0]})
    with pytest.raises(DataValidationError, match=r"'monetary_value' .* has 0 at row 1"):
        GammaGammaModel().fit(summary)
    with pytest.raises(DataValidationError, match="No customer .* has a repeat purchase"):
        GammaGammaModel().fit(summary.assign(frequency=0))


@pytest.mark.parametrize(
    ("model", "match"),
    [
        (
            BetaGeoModel(penalizer=-1),
            r"The 'penalizer' parameter of BetaGeoModel must be a number >= 0\. Got -1",
        ),
        (ParetoNBDModel(max_iter=0), r"The 'max_iter' parameter of ParetoNBDModel must be"),
        (BetaGeoModel(initial_params={"r": 1.0}), r"missing: alpha, a, b"),
    ],
)
def test_bad_settings_are_refused(model, match):
    with pytest.raises(ConfigError, match=match):
        model.fit(GOOD)


def test_predicting_before_fitting_says_what_to_do():
    with pytest.raises(NotFittedError, match=r"Call `BetaGeoModel\(\)\.fit\(summary\)` first"):
        BetaGeoModel().conditional_probability_alive(1, 2, 3)


def test_unidentified_fit_warns_and_keeps_the_optimiser_output(capsys):
    # Everyone bought on their last day and nobody lapsed: drop-out is not identified.
    summary = pd.DataFrame(
        {"frequency": [10] * 50 + [0] * 5, "recency": [10.0] * 50 + [0.0] * 5, "T": 10.0}
    )
    with pytest.warns(ConvergenceWarning, match="did not converge cleanly.*optimizer_result_"):
        model = BetaGeoModel().fit(summary)
    assert not model.converged_
    assert hasattr(model.optimizer_result_, "message")
    assert capsys.readouterr() == ("", "")  # nothing printed


# -- customer lifetime value ---------------------------------------------------------------------
def test_clv_hand_calculation(bgnbd, spend, cdnow):
    frame = customer_lifetime_value(
        bgnbd,
        spend,
        cdnow,
        horizon_months=3,
        discount_rate_monthly=0.02,
        freq="W",
        customer_col="customer_id",
    )
    assert list(frame.columns) == [
        "customer_id",
        "expected_purchases",
        "p_alive",
        "expected_avg_value",
        "clv",
    ]
    assert frame.index.equals(cdnow.index)
    row = cdnow.iloc[0]  # customer 1: x = 2, t_x = 30.43, T = 38.86 weeks
    month = 365.25 / 12 / 7  # weeks
    cumulative = [
        bgnbd.conditional_expected_number_of_purchases_up_to_time(
            m * month, row["frequency"], row["recency"], row["T"]
        )
        for m in range(4)
    ]
    value = spend.conditional_expected_average_profit(row["frequency"], row["monetary_value"])
    by_hand = sum(value * (cumulative[m] - cumulative[m - 1]) / 1.02**m for m in (1, 2, 3))
    assert_allclose(frame["clv"].iloc[0], by_hand, rtol=1e-12)
    assert_allclose(frame["expected_purchases"].iloc[0], cumulative[3], rtol=1e-12)
    assert_allclose(
        frame["p_alive"].iloc[0], bgnbd.conditional_probability_alive(2, row["recency"], row["T"])
    )


def test_clv_without_discount_is_value_times_purchases(pareto, spend, cdnow):
    frame = customer_lifetime_value(
        pareto, spend, cdnow, horizon_months=12, discount_rate_monthly=0.0, freq="W"
    )
    assert_allclose(
        frame["clv"], frame["expected_avg_value"] * frame["expected_purchases"], rtol=1e-10
    )
    discounted = customer_lifetime_value(pareto, spend, cdnow, horizon_months=12, freq="W")
    assert (discounted["clv"] < frame["clv"]).all()
    assert list(discounted.columns) == [
        "expected_purchases",
        "p_alive",
        "expected_avg_value",
        "clv",
    ]
    assert np.isfinite(discounted.to_numpy(dtype=float)).all()


def test_clv_refuses_bad_arguments(bgnbd, spend, cdnow):
    with pytest.raises(ConfigError, match="'transaction_model' .* Got GammaGammaModel"):
        customer_lifetime_value(spend, spend, cdnow)
    with pytest.raises(ConfigError, match="not fitted"):
        customer_lifetime_value(BetaGeoModel(), spend, cdnow)
    with pytest.raises(ConfigError, match="'horizon_months' .* Got 0"):
        customer_lifetime_value(bgnbd, spend, cdnow, horizon_months=0)
    with pytest.raises(ConfigError, match="'discount_rate_monthly' .* Got -0.1"):
        customer_lifetime_value(bgnbd, spend, cdnow, discount_rate_monthly=-0.1)
    with pytest.raises(DataValidationError, match="Required column 'monetary_value'"):
        customer_lifetime_value(bgnbd, spend, cdnow.drop(columns="monetary_value"))


# -- clv_indicators on KamData -----------------------------------------------------------------------
def synthetic_company(seed: int) -> KamData:
    """300 accounts buying under BG/NBD for two years from 2024-01-01 (daily dates), plus
    20 accounts that never order; amounts Gamma-distributed per account."""
    rng = np.random.default_rng(seed)
    n = 300
    start = pd.Timestamp("2024-01-01")
    first = rng.integers(0, 180, n)  # first purchase in the first half year
    lam = rng.gamma(2.0, 1 / 40.0, n)  # purchases per day
    p = rng.beta(1.0, 8.0, n)
    rows = []
    for i in range(n):
        day, alive = float(first[i]), True
        dates = [day]
        while alive:
            day += rng.exponential(1 / lam[i])
            if day > 730:
                break
            dates.append(day)
            alive = rng.random() >= p[i]
        scale = rng.gamma(4.0, 250.0)
        for j, d in enumerate(dates):
            rows.append(
                (
                    f"A{i:03d}",
                    f"O{i:03d}-{j}",
                    start + pd.Timedelta(days=int(d)),
                    rng.gamma(3.0, scale),
                )
            )
    orders = pd.DataFrame(rows, columns=["account_id", "order_id", "order_date", "amount"])
    orders["line_no"] = 1
    accounts = pd.DataFrame(
        {
            "account_id": [f"A{i:03d}" for i in range(n + 20)],
            "name": [f"Account {i}" for i in range(n + 20)],
            "created_date": start,
        }
    )
    return KamData(
        {"accounts": accounts, "orders": orders},
        snapshot=Snapshot(None, f"synthetic-{seed}", None, "test"),
    )


def test_clv_indicators_use_only_orders_up_to_as_of():
    data = synthetic_company(5)
    indicators = clv_indicators(data, as_of="2025-03-31")
    assert list(indicators.columns) == [
        "account_id",
        "expected_purchases_12m",
        "p_alive",
        "expected_avg_value",
        "clv_12m",
    ]
    assert len(indicators) == 320 and indicators["account_id"].is_monotonic_increasing
    # The same data cut at as_of gives exactly the same indicators.
    orders = data.orders
    cut = KamData(
        {"accounts": data.accounts, "orders": orders[orders["order_date"] <= "2025-03-31"]},
        snapshot=data.snapshot,
    )
    pd.testing.assert_frame_equal(clv_indicators(cut, as_of="2025-03-31"), indicators)
    # Accounts that never ordered have no indicators (NaN), the others all of them.
    never = indicators["account_id"] >= "A300"
    assert indicators.loc[never].drop(columns="account_id").isna().all().all()
    values = indicators.loc[~never].drop(columns="account_id")
    assert np.isfinite(values.to_numpy(dtype=float)).all()
    assert values["p_alive"].between(0, 1).all()


def test_clv_indicators_horizon_names_the_columns():
    data = synthetic_company(6)
    six = clv_indicators(data, as_of="2025-06-30", horizon_months=6, discount_rate_monthly=0.0)
    twelve = clv_indicators(data, as_of="2025-06-30", discount_rate_monthly=0.0)
    assert {"expected_purchases_6m", "clv_6m"} <= set(six.columns)
    bought = six["expected_purchases_6m"].notna()
    assert (
        six.loc[bought, "expected_purchases_6m"] < twelve.loc[bought, "expected_purchases_12m"]
    ).all()
    with pytest.raises(ConfigError, match="'purchase_model' .* 'bg_nbd', 'pareto_nbd'"):
        clv_indicators(data, as_of="2025-06-30", purchase_model="bgnbd")


def test_clv_indicators_forecast_the_demo_companys_next_year():
    from kamlib.demo import generate_demo

    company = generate_demo(scale="small", seed=7)
    data = KamData(company.tables, snapshot=Snapshot(None, "demo-small-7", None, "demo"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        indicators = clv_indicators(data, as_of="2025-09-30").set_index("account_id")
    orders = company.tables["orders"]
    after = orders[(orders["order_date"] > "2025-09-30") & (orders["order_date"] <= "2026-09-30")]
    actual_days = (
        after.groupby("account_id")["order_date"].nunique().reindex(indicators.index, fill_value=0)
    )
    actual_value = (
        after.groupby("account_id")["amount"].sum().reindex(indicators.index, fill_value=0.0)
    )
    known = indicators["clv_12m"].notna()
    # Repeat purchase days next year: the model's total within 15% of what happened; the
    # ranking of accounts by CLV follows next year's revenue.
    total_expected = indicators.loc[known, "expected_purchases_12m"].sum()
    assert abs(total_expected / actual_days[known].sum() - 1) < 0.15
    rank_corr = indicators.loc[known, "clv_12m"].corr(actual_value[known], method="spearman")
    assert rank_corr > 0.6


def test_bgnbd_direct_series_equals_euler_form_where_both_are_finite():
    from kamlib.clv.beta_geo import _expected_direct, _expected_euler

    t = np.array([39.0, 39.0, 52.0, 52.0, 13.0])
    x = np.array([0.0, 2.0, 10.0, 50.0, 300.0])
    age = np.array([38.0, 30.0, 40.0, 60.0, 260.0])
    for r, alpha, a, b in [(0.243, 4.414, 0.793, 2.426), (1.4, 9.2, 50.0, 5000.0)]:
        euler = _expected_euler(r, alpha, a, b, t, x, age)
        assert np.isfinite(euler).all()
        assert_allclose(_expected_direct(r, alpha, a, b, t, x, age), euler, rtol=1e-9)


def test_bgnbd_with_almost_no_dropout_tends_to_the_poisson_gamma_forecast():
    # a, b huge with a/(a+b) -> 0: nobody drops out, and the expected purchases of an alive
    # customer in the next t are the Poisson-gamma posterior mean rate (r+x)/(alpha+T) · t.
    # This is the regime of a loyal book (the demo company's fit: a≈8e6, b≈6e9) where
    # Euler's form over/underflows.
    r, alpha, a, b = 1.382, 9.189, 1e6, 1e12
    t, x, t_x, age = (
        52.0,
        np.array([0.0, 5.0, 50.0, 400.0]),
        np.array([0.0, 20.0, 55.0, 259.0]),
        np.array([38.0, 30.0, 60.0, 260.0]),
    )
    model = BetaGeoModel(initial_params={"r": r, "alpha": alpha, "a": a, "b": b})
    model.params_ = pd.Series({"r": r, "alpha": alpha, "a": a, "b": b})
    expected = model.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, age)
    assert np.isfinite(expected).all()
    assert_allclose(expected, (r + x) / (alpha + age) * t, rtol=1e-4)


def test_clv_indicators_are_finite_when_the_book_barely_churns():
    """The default demo company's customers almost never leave: BG/NBD's a, b run off to
    millions.  The indicators must still be finite and rank next year's value."""
    from kamlib.demo import generate_demo

    company = generate_demo(scale="small")
    data = KamData(company.tables, snapshot=Snapshot(None, "demo-small", None, "demo"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        indicators = clv_indicators(data, as_of="2026-09-30").set_index("account_id")
    known = indicators["clv_12m"].notna()
    assert known.sum() > 200
    assert np.isfinite(indicators.loc[known].to_numpy(dtype=float)).all()
    truth = company.truth["accounts"].set_index("account_id")["true_value_next_12m"]
    rank_corr = indicators.loc[known, "clv_12m"].corr(
        truth[indicators.index[known]], method="spearman"
    )
    assert rank_corr > 0.6
