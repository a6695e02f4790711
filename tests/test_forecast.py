"""kamlib.forecast: the Monte Carlo engine, win probability, period probabilities, gap, back-test.

Reference values are closed-form (mean Σ q v and variance Σ q (1 − q) v² of independent
deals), hand calculations written in the test, the coefficients of a known logistic model
the data was drawn from, and the demo generator's hidden truth.
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from kamlib.errors import DataValidationError
from kamlib.forecast import (
    auc_score,
    backtest_forecast,
    deals_to_close_gap,
    exact_moments,
    fit_win_probability,
    forecast_period,
    forecast_with_track_record,
    gap_to_target,
    period_probability,
    simulate_wins,
)
from kamlib.forecast import simulation as simulation_module
from kamlib.forecast.period import ZOMBIE_COLUMNS
from kamlib.methodology import ConfigError, load_methodology, parse_forecast

AS_OF = "2026-06-30"
PERIOD = "2026-Q3"


# -- the Monte Carlo engine ---------------------------------------------------------------------
def _deals(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.gamma(1.5, 200_000.0, n).round(-3), rng.uniform(0.02, 0.95, n)


def test_simulation_mean_and_variance_match_closed_form():
    v, q = _deals(300, 1)
    trials = 20_000
    result = simulate_wins(v, q, simulations=trials, seed=11)
    mean, var = exact_moments(v, q)
    # hand check of the closed form on two deals: 0.5·100 + 1·50 = 100; 0.25·100² = 2500
    assert exact_moments(np.array([100.0, 50.0]), np.array([0.5, 1.0])) == (100.0, 2500.0)
    se_mean = np.sqrt(var / trials)
    assert abs(result.totals.mean() - mean) < 4 * se_mean
    # the sample variance of a near-normal total has relative SE sqrt(2 / trials) ≈ 1%
    assert result.totals.var(ddof=1) == pytest.approx(var, rel=4 * np.sqrt(2 / trials))


def test_simulation_blocks_do_not_change_the_law(monkeypatch):
    """Many small blocks (a deal count that does not divide the block) give the same law."""
    monkeypatch.setattr(simulation_module, "BLOCK_CELLS", 1000)
    v, q = _deals(333, 2)
    codes = np.arange(333) % 3
    result = simulate_wins(
        v, q, simulations=6000, seed=5, groups=codes, group_names=("a", "b", "c")
    )
    mean, var = exact_moments(v, q)
    assert abs(result.totals.mean() - mean) < 4 * np.sqrt(var / 6000)
    np.testing.assert_allclose(result.by_group.sum(axis=1), result.totals, rtol=1e-12)
    m_a, v_a = exact_moments(v[codes == 0], q[codes == 0])
    assert abs(result.by_group[:, 0].mean() - m_a) < 4 * np.sqrt(v_a / 6000)


def test_simulation_is_reproducible_to_the_last_digit():
    v, q = _deals(500, 3)
    a = simulate_wins(v, q, simulations=3000, seed=42)
    b = simulate_wins(v, q, simulations=3000, seed=42)
    c = simulate_wins(v, q, simulations=3000, seed=43)
    assert np.array_equal(a.totals, b.totals)
    assert not np.array_equal(a.totals, c.totals)


def test_simulation_certain_and_impossible_deals():
    result = simulate_wins(np.array([10.0, 20.0, 30.0]), np.array([1.0, 0.0, 1.0]),
                           simulations=500, seed=0)  # fmt: skip
    assert set(result.totals) == {40.0}


@pytest.mark.parametrize(
    ("amounts", "probs", "match"),
    [
        ([100.0, -5.0], [0.5, 0.5], "Deal 1 has amount -5.0"),
        ([100.0, np.nan], [0.5, 0.5], "Deal 1 has amount nan"),
        ([100.0, 5.0], [0.5, 1.5], "Deal 1 has probability 1.5"),
        ([100.0], [0.5, 0.5], "same length"),
    ],
)
def test_simulation_refuses_bad_input(amounts, probs, match):
    with pytest.raises(DataValidationError, match=match):
        simulate_wins(np.array(amounts), np.array(probs), simulations=10, seed=0)


# -- close dates: slippage moves deals between periods ------------------------------------------
def _slippage(slips: list[int], stage: str = "quote") -> SimpleNamespace:
    samples = pd.DataFrame(
        {"opportunity_id": [f"O{i}" for i in range(len(slips))], "stage": stage,
         "outcome": "won", "slip_days": slips, "weight": 1.0, "next_period": False}
    )  # fmt: skip
    return SimpleNamespace(
        available=True,
        samples=samples,
        summary=lambda outcome="won": pd.DataFrame({"stage": [stage], "basis": ["stage"]}),
    )


def _open_deal(ecd: str, stage: str = "quote", created: str = "2026-05-01") -> pd.DataFrame:
    return pd.DataFrame(
        {"opportunity_id": ["D1"], "stage": [stage], "expected_close_date": [pd.Timestamp(ecd)],
         "created_date": [pd.Timestamp(created)]}
    )  # fmt: skip


def test_slippage_moves_a_deal_into_the_next_period():
    as_of = pd.Timestamp("2026-09-30")
    q4 = (pd.Timestamp("2026-10-01"), pd.Timestamp("2026-12-31"))
    q1 = (pd.Timestamp("2027-01-01"), pd.Timestamp("2027-03-31"))
    deal = _open_deal("2026-12-15")
    # every won deal of the stage closed 60 days late: Dec 15 → Feb 13, next quarter
    late = _slippage([60] * 10)
    p_q4, _ = period_probability(deal, late, pd.DataFrame(), as_of=as_of, start=q4[0], end=q4[1])
    p_q1, _ = period_probability(deal, late, pd.DataFrame(), as_of=as_of, start=q1[0], end=q1[1])
    assert p_q4[0] == 0.0 and p_q1[0] == 1.0
    # half on time, half 60 days late: one half in each quarter
    mixed = _slippage([0] * 5 + [60] * 5)
    p_q4, _ = period_probability(deal, mixed, pd.DataFrame(), as_of=as_of, start=q4[0], end=q4[1])
    assert p_q4[0] == pytest.approx(0.5)


def test_past_due_deal_is_conditioned_on_still_being_open():
    """Expected Sep 1, open on Sep 30: slips of 0 and 10 days are ruled out (hand count)."""
    deal = _open_deal("2026-09-01")
    slip = _slippage([0, 10, 40, 45, 200])  # closes Sep 1, Sep 11, Oct 11, Oct 16, Mar 20
    p, _ = period_probability(deal, slip, pd.DataFrame(), as_of=pd.Timestamp("2026-09-30"),
                              start=pd.Timestamp("2026-10-01"), end=pd.Timestamp("2026-12-31"))  # fmt: skip
    assert p[0] == pytest.approx(2 / 3)


def test_no_expected_close_date_uses_cycle_times():
    """Won cycles 30, 60, 90, 120 days; a deal 45 days old: 60 and 90 land in the next 45 days."""
    won = pd.DataFrame(
        {"created_date": pd.to_datetime(["2026-01-01"] * 4),
         "closed_date": pd.to_datetime(["2026-01-31", "2026-03-02", "2026-04-01", "2026-05-01"])}
    )  # fmt: skip
    deal = _open_deal("2026-01-01", created="2026-05-16").assign(expected_close_date=pd.NaT)
    as_of = pd.Timestamp("2026-06-30")  # age 45
    p, note = period_probability(deal, None, won, as_of=as_of, start=pd.Timestamp("2026-07-01"),
                                 end=pd.Timestamp("2026-08-14"))  # fmt: skip
    # alive: cycles > 45 → 60, 90, 120; inside days 46..90 of age → 60, 90
    assert p[0] == pytest.approx(2 / 3)
    assert "cycle times of 4 won deals" in note


# -- win probability ------------------------------------------------------------------------------
TRUE_COEF = {"intercept": -1.2, "stage=quote": 1.0, "stage=negotiation": 2.0, "mean_support": 0.8,
             "log_amount": -0.5}  # fmt: skip


def _synthetic_panel(n: int, seed: int) -> pd.DataFrame:
    """One snapshot per deal; outcomes drawn from a known logistic model."""
    rng = np.random.default_rng(seed)
    stage = rng.choice(["solution", "quote", "negotiation"], n)
    support = rng.normal(0.0, 1.0, n)
    amount = np.exp(rng.normal(np.log(200_000), 0.8, n))
    eta = (
        TRUE_COEF["intercept"]
        + TRUE_COEF["stage=quote"] * (stage == "quote")
        + TRUE_COEF["stage=negotiation"] * (stage == "negotiation")
        + TRUE_COEF["mean_support"] * support
        + TRUE_COEF["log_amount"] * np.log(amount / np.median(amount))
    )
    won = rng.random(n) < 1 / (1 + np.exp(-eta))
    snap = pd.Timestamp("2025-06-30")
    return pd.DataFrame(
        {
            "snapshot_date": snap,
            "opportunity_id": [f"S{i:05d}" for i in range(n)],
            "account_id": "A1",
            "owner": "o",
            "team": "t",
            "product_line": "PLC",
            "stage": stage,
            "stage_order": 0,
            "amount": amount,
            "age_days": 30,
            "days_in_stage": 10,
            "is_past_due": False,
            "n_contacts": 2.0,
            "mean_support": support,
            "economic_for": 0.0,
            "economic_against": 0.0,
            "owner_closed": 0.0,
            "owner_won": 0.0,
            "outcome": np.where(won, "won", "lost"),
            "closed_date": pd.Timestamp("2025-09-30"),
        }
    )


def test_logistic_model_recovers_known_coefficients():
    panel = _synthetic_panel(8000, 5)
    model = fit_win_probability(panel, as_of="2026-01-01")
    assert model.method == "logit"
    coef = model.coefficients
    # the median amount is the reference: the intercept is comparable
    for term, true in TRUE_COEF.items():
        assert coef[term] == pytest.approx(true, abs=4 * model.standard_errors[term]), term
    # calibrated: mean predicted = observed share (a logistic MLE with intercept)
    p = model.predict(panel)
    assert p.mean() == pytest.approx((panel["outcome"] == "won").mean(), abs=1e-6)
    # constant features (age, days in stage, contacts …) are dropped, not fitted
    assert "log_age" not in coef.index
    drivers = model.drivers(panel.head(3))
    assert list(drivers.columns) == ["opportunity_id", "p_win", "drivers_up", "drivers_down"]


def test_too_few_closed_deals_fall_back_to_stage_rates():
    panel = _synthetic_panel(60, 6)
    model = fit_win_probability(panel, as_of="2026-01-01")
    assert model.method == "stage_rates"
    assert "60 closed deals" in model.reason and "200" in model.reason
    # hand calculation: (wins + 10 × methodology probability) / (deals + 10)
    quote = panel[panel["stage"] == "quote"]
    wins = (quote["outcome"] == "won").sum()
    assert model.stage_rates["quote"] == pytest.approx((wins + 10 * 0.55) / (len(quote) + 10))
    assert model.predict(panel.head(1))[0] == model.stage_rates[panel["stage"].iloc[0]]
    # nothing closed before the as-of date: the methodology's stage probabilities
    early = fit_win_probability(panel, as_of="2025-07-01")
    assert early.method == "methodology" and early.stage_rates["negotiation"] == 0.75


def test_auc_hand_calculation():
    # pairs (pos, neg): (0.8>0.3) (0.8>0.5) (0.4>0.3) (0.4<0.5) → 3 of 4
    assert auc_score(np.array([1, 1, 0, 0]), np.array([0.8, 0.4, 0.3, 0.5])) == 0.75
    assert auc_score(np.array([1, 0]), np.array([0.5, 0.5])) == 0.5


def test_forecast_settings_are_validated():
    assert parse_forecast(None).commit == 0.7
    with pytest.raises(ConfigError, match="best_case .* must not exceed commit"):
        parse_forecast({"commit": 0.3, "best_case": 0.5})
    with pytest.raises(ConfigError, match="unknown setting 'simulation'"):
        parse_forecast({"simulation": 10})
    with pytest.raises(ConfigError, match="simulations: must be a whole number"):
        parse_forecast({"simulations": 1.5})
    assert load_methodology().forecast.min_closed_deals == 200


# -- the period forecast on the small demo company -----------------------------------------------
@pytest.fixture(scope="module")
def demo(demo_store):
    from kamlib.data import load

    return load(demo_store)


@pytest.fixture(scope="module")
def prepared(demo):
    """The event log and training snapshots, built once for the forecasts of this module."""
    from kamlib.forecast import pipeline_snapshots, snapshot_dates
    from kamlib.pipeline import stage_events

    events = stage_events(demo)
    dates = snapshot_dates(AS_OF, months=36, step=3)
    return {"events": events, "panel": pipeline_snapshots(demo.as_of(AS_OF), dates, events=events)}


@pytest.fixture(scope="module")
def forecast(demo, prepared):
    return forecast_period(demo, as_of=AS_OF, period=PERIOD, simulations=3000, seed=9, **prepared)


@pytest.fixture(scope="module")
def truth(demo_store):
    import duckdb

    with duckdb.connect(str(demo_store), read_only=True) as con:
        return con.sql("select * from truth_opportunities").df()


def test_forecast_adds_up(forecast):
    t = forecast.total
    assert np.isfinite(forecast.groups[["p10", "p50", "p90", "expected"]].to_numpy()).all()
    assert t["p10"] <= t["p50"] <= t["p90"]
    # expected = closed + Σ amount × p_won_in_period + new deals (within sampling error)
    d = forecast.deals
    exact = t["closed_to_date"] + (d["amount"] * d["p_won_in_period"]).sum()
    exact += t["new_deals_expected"]
    assert t["expected"] == pytest.approx(exact, rel=0.03)
    teams = forecast.groups[forecast.groups["dimension"] == "team"]
    assert teams["pipeline_expected"].sum() == pytest.approx(t["pipeline_expected"])
    assert set(forecast.categories["category"]) == {"commit", "best_case", "pipeline"}
    assert forecast.categories["deals"].sum() == len(d)
    # timed by the expected close date: p_won_in_period is p_win × p_in_period
    by_date = d["timing"] == "expected_close+slippage"
    assert by_date.any()
    np.testing.assert_allclose(
        d.loc[by_date, "p_won_in_period"], d.loc[by_date, "p_win"] * d.loc[by_date, "p_in_period"]
    )
    assert (d.loc[d["timing"] == "zombie", "p_won_in_period"] == 0).all()
    summary = forecast.summary()
    json.dumps(summary)
    assert summary["period"] == PERIOD and summary["as_of"] == AS_OF


def test_forecast_is_reproducible(demo, forecast, prepared):
    again = forecast_period(
        demo, as_of=AS_OF, period=PERIOD, simulations=3000, seed=9, run_rate=False, **prepared
    )
    assert np.array_equal(again.totals, forecast.totals)


def test_win_probability_against_hidden_truth(forecast, truth):
    """The model ranks the open deals by their true outcome better than chance and than stages."""
    t = forecast.deals.merge(truth, on="opportunity_id")
    y = (t["true_outcome"] == "won").to_numpy(dtype=float)
    auc_model = auc_score(y, t["p_win"].to_numpy())
    auc_stage = auc_score(y, t["stage_probability"].to_numpy())
    assert auc_model > 0.7
    assert auc_model > auc_stage - 0.02
    assert np.corrcoef(t["p_win"], t["true_win_probability"])[0, 1] > 0.3


def test_gap_to_target(demo, forecast):
    gap = gap_to_target(forecast, demo.targets)
    company = gap[gap["level"] == "company"].iloc[0]
    target = demo.targets
    want = target[(target["level"] == "company") & (target["period"] == PERIOD)
                  & (target["measure"] == "bookings")]["target_value"].sum()  # fmt: skip
    assert company["target"] == want
    assert company["gap"] == pytest.approx(want - company["p50"])
    assert company["p_reach"] == pytest.approx(np.mean(forecast.totals >= want))
    # a team without a target: listed, no NaN forecast, status says so
    no_targets = gap_to_target(forecast, demo.targets.iloc[0:0])
    assert (no_targets["status"] == "no_target").all()
    assert no_targets["target"].isna().all()
    assert np.isfinite(no_targets[["p10", "p50", "p90", "expected"]].to_numpy()).all()
    push = deals_to_close_gap(forecast, target=want, top=None)
    assert push["expected_value"].is_monotonic_decreasing
    if push["closes_gap"].any():
        needed = push[push["closes_gap"]]
        assert needed.index.max() == len(needed) - 1  # the first deals, in order


def test_period_without_pipeline_is_not_nan(demo, prepared):
    far = forecast_period(demo, as_of=AS_OF, period="2030-Q1", simulations=500, seed=1,
                          run_rate=False, **prepared)  # fmt: skip
    t = far.total
    assert np.isfinite([t["p10"], t["p50"], t["p90"], t["expected"]]).all()
    assert t["closed_to_date"] == 0


def test_bad_as_of_and_period(demo):
    # the one date parser: the same ConfigError, naming the parameter, as every function gives
    with pytest.raises(ConfigError, match=r"Date 'yesterday' does not parse: the 'as_of' parameter must be a date .*\(given to forecast_period\)"):
        forecast_period(demo, as_of="yesterday", period=PERIOD)
    with pytest.raises(ConfigError):
        forecast_period(demo, as_of=AS_OF, period="2026-Q7")


def test_messy_history_still_gives_a_finite_forecast(demo):
    """Out-of-order history, a re-opened deal, a won deal without amount, a close before creation."""
    from kamlib.data.kamdata import KamData

    tables = {name: demo[name] for name in demo.tables}
    opps = tables["opportunities"].copy()
    hist = tables["stage_history"].sample(frac=1.0, random_state=1)  # out of order
    won = opps.index[opps["status"] == "won"]
    opps.loc[won[0], "amount"] = np.nan  # won without an amount
    lost = opps[opps["status"] == "lost"].iloc[0]
    reopen = pd.DataFrame(
        {"opportunity_id": [lost["opportunity_id"]], "stage": ["quote"],
         "entered_at": [lost["closed_date"] + pd.Timedelta(days=3)], "amount": [lost["amount"]],
         "expected_close_date": [lost["closed_date"] + pd.Timedelta(days=60)]}
    ).astype(hist.dtypes.to_dict())  # fmt: skip
    hist = pd.concat([hist, reopen], ignore_index=True)
    opps.loc[won[1], "closed_date"] = opps.loc[won[1], "created_date"] - pd.Timedelta(days=5)
    tables["opportunities"], tables["stage_history"] = opps, hist
    messy = KamData(tables, snapshot=demo.snapshot)
    from kamlib.errors import DataQualityWarning

    with pytest.warns(DataQualityWarning) as record:
        fc = forecast_period(messy, as_of=AS_OF, period=PERIOD, simulations=500, seed=1,
                             run_rate=False)  # fmt: skip
    assert np.isfinite(fc.totals).all()
    # one kamlib warning names each problem made above, with its count
    [message] = [str(w.message) for w in record if w.category is DataQualityWarning]
    for problem in (
        "history out of time order (stage_history)",
        "closed before created (opportunities): 1 rows",
        "won without amount (opportunities): 1 rows",
        "re-opened after closing (stage_history): 1 rows",
    ):
        assert problem in message, message


def test_backtest_on_the_demo(demo):
    result = backtest_forecast(demo, periods=3, simulations=500, seed=3)
    company = result.periods[result.periods["team"] == "all"]
    assert list(company["period"]) == ["2026-Q1", "2026-Q2", "2026-Q3"]  # data ends 2026-09-30
    # actuals are the bookings won in the period (independent recount)
    o = demo.opportunities
    q1 = o[(o["status"] == "won") & o["closed_date"].between("2026-01-01", "2026-03-31")]
    assert company.set_index("period").loc["2026-Q1", "actual"] == pytest.approx(q1["amount"].sum())
    # no look-ahead: the model of 2026-Q1 learnt only from deals closed by 2025-12-31
    closed_by = o[o["status"].isin(["won", "lost"]) & (o["closed_date"] <= "2025-12-31")]
    n_q1 = result.win_models.set_index("period").loc["2026-Q1", "closed_deals"]
    assert n_q1 <= len(closed_by)
    s = result.summary()
    assert {"mape", "interval_coverage", "baseline_mape", "bias"} <= set(s)
    assert 0 <= s["interval_coverage"] <= 1


# -- the command line -----------------------------------------------------------------------------
def test_cli_forecast_json(demo_store):
    from kamlib.cli import main

    args = ["forecast", "--store", str(demo_store), "--as-of", AS_OF, "--period", PERIOD,
            "--simulations", "500", "--seed", "4", "--track-periods", "2", "--json"]  # fmt: skip
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    out = json.loads(first.output)
    assert {"period", "as_of", "closed_to_date", "p10", "p50", "p90", "target", "gap"} <= set(out)
    assert out["p10"] <= out["p50"] <= out["p90"]
    again = json.loads(CliRunner().invoke(main, args).output)
    assert again["p50"] == out["p50"]


def test_cli_forecast_mistakes(demo_store, tmp_path):
    from kamlib.cli import main

    runner = CliRunner()
    missing = runner.invoke(main, ["forecast", "--store", str(tmp_path / "no.duckdb"),
                                   "--as-of", AS_OF, "--period", PERIOD])  # fmt: skip
    assert missing.exit_code == 2 and "does not exist" in missing.output
    no_period = runner.invoke(main, ["forecast", "--store", str(demo_store), "--as-of", AS_OF])
    assert no_period.exit_code == 2 and "--period" in no_period.output
    bad = runner.invoke(main, ["forecast", "--store", str(demo_store), "--as-of", AS_OF,
                               "--period", "2026-Q9"])  # fmt: skip
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_cli_backtest_json(demo_store):
    from kamlib.cli import main

    result = CliRunner().invoke(
        main,
        [
            "forecast",
            "backtest",
            "--store",
            str(demo_store),
            "--periods",
            "2",
            "--simulations",
            "300",
            "--json",
        ],  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert len(out["periods"]) == 2
    assert {"period", "p10", "p50", "p90", "actual", "weighted_pipeline"} <= set(out["periods"][0])
    assert {"mape", "interval_coverage", "baseline_mape"} <= set(out["summary"])


# -- the report ----------------------------------------------------------------------------------
@pytest.mark.slow
def test_pipeline_forecast_notebook_runs_on_the_small_demo(demo_store, tmp_path):
    """The report notebook end to end (papermill), in Chinese, for one team."""
    from pathlib import Path

    import nbformat
    import papermill as pm

    notebook = Path(__file__).resolve().parents[1] / "notebooks" / "pipeline_forecast.ipynb"
    out = tmp_path / "out.ipynb"
    pm.execute_notebook(
        str(notebook),
        str(out),
        parameters={"store": str(demo_store), "as_of": "2026-09-30", "lang": "zh",
                    "team": "华东大客户部", "simulations": 1000, "backtest_periods": 2},
        cwd=str(tmp_path),
        progress_bar=False,
        kernel_name="python3",
    )  # fmt: skip
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not any(o.get("output_type") == "error" for o in outputs)
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "业绩差距" in html or "达成目标概率" in html
    assert "2026-Q4" in html  # the default period: the quarter after a quarter-end as_of
    tables = "".join(re.findall(r'<table class="kamlib-table">.*?</table>', html, re.S))
    assert tables and not re.search(r">\s*(nan|NaN|inf)\s*<", tables)  # no NaN in any table


# -- a real export without stage history, close dates or open amounts (Maven CRM) ---------------
@pytest.fixture(scope="module")
def maven(maven_store):
    from kamlib.data import load

    return load(maven_store)


def test_maven_forecast_does_not_peek_at_later_amounts(maven, shared_data):
    fc = forecast_period(maven, as_of="2017-06-30", period="2017-Q3", simulations=1000, seed=2)
    assert np.isfinite(fc.totals).all() and fc.total["p50"] > 0
    raw = pd.read_csv(shared_data / "maven-crm" / "sales_pipeline.csv")
    closed_later = raw[pd.to_datetime(raw["close_date"]) > "2017-06-30"]["opportunity_id"]
    deals = fc.deals.set_index("opportunity_id")
    later = deals.loc[deals.index.isin(closed_later)]
    # every open deal's amount is imputed: none is the close value it got later
    assert len(later) and later["amount_imputed"].all()
    assert any("carry today's amount" in n for n in fc.notes)
    # no expected close dates: timing comes from the competing-risks hazard model, the deals
    # still open at the as-of date censored
    assert fc.timing_method == "hazard" and fc.summary()["timing_method"] == "hazard"
    assert fc.close_timing is not None and fc.close_timing.n_censored == len(fc.deals)
    assert any("close timing of" in n for n in fc.notes)
    assert not any("cycle times" in n for n in fc.notes)
    # zombies: older than 99% of the deals that ever closed, not counted on
    z = fc.zombies
    assert list(z.columns) == list(ZOMBIE_COLUMNS) and len(z) > 0
    assert fc.summary()["zombie_deals"] == len(z)
    assert fc.summary()["zombie_amount"] == pytest.approx(z["amount"].sum(), abs=0.01)
    assert (z["age_days"] > fc.close_timing.close_age_limit).all()
    assert (deals.loc[z["opportunity_id"], "p_won_in_period"] == 0).all()
    assert any("zombie deals" in n for n in fc.notes)
    assert fc.model.method == "logit" and "log_amount" not in fc.model.coefficients.index
    # no look-ahead: the model learnt only from deals closed by the as-of date
    closed_by = raw[
        raw["deal_stage"].isin(["Won", "Lost"])
        & (pd.to_datetime(raw["close_date"]) <= "2017-06-30")
    ]
    assert 0 < fc.model.n_closed <= len(closed_by)


# -- no look-ahead: rewriting everything after the as-of date leaves the forecast unchanged -------
def _rewrite_after(data, day: str, seed: int):
    """A copy of ``data`` whose future (after ``day``) is different: deals closed later get the
    other outcome, another date and amount; deals never closed are won later; new deals are
    created and won later; every contact's support (a history-less value) changes; orders are
    added later.  Nothing on or before ``day`` changes."""
    from kamlib.data.kamdata import KamData

    rng = np.random.default_rng(seed)
    cut = pd.Timestamp(day)
    tables = {name: data[name] for name in data.tables}
    opps = tables["opportunities"].copy()
    created = opps["created_date"] <= cut
    later = created & opps["closed_date"].notna() & (opps["closed_date"] > cut)
    status = opps["status"].astype("str")
    flipped = status.map({"won": "lost", "lost": "won"})
    opps.loc[later, "status"] = flipped[later]
    opps.loc[later, "stage"] = flipped[later]
    days = pd.to_timedelta(rng.integers(1, 90, len(opps)), unit="D")
    opps.loc[later, "closed_date"] = cut + days[later.to_numpy()]
    opps.loc[later, "amount"] = (opps.loc[later, "amount"].fillna(1000.0) * 1.7).round()
    never = created & opps["closed_date"].isna()
    won_now = never & (rng.random(len(opps)) < 0.5)
    opps.loc[won_now, "status"] = "won"
    opps.loc[won_now, "stage"] = "won"
    opps.loc[won_now, "closed_date"] = cut + days[won_now.to_numpy()]
    opps.loc[won_now, "amount"] = 5000.0
    new = opps.sample(50, random_state=seed).copy()
    new["opportunity_id"] = [f"FUTURE-{i}" for i in range(len(new))]
    new["created_date"] = cut + pd.Timedelta(days=3)
    new["closed_date"] = cut + pd.Timedelta(days=20)
    new["status"] = "won"
    new["stage"] = "won"
    new["amount"] = 1e6
    tables["opportunities"] = pd.concat([opps, new], ignore_index=True)
    changed = set(opps.loc[later | won_now, "opportunity_id"])
    if "stage_history" in tables:
        sh = tables["stage_history"]
        after = sh["entered_at"] >= cut + pd.Timedelta(days=1)  # timestamps: the day counts
        keep = ~(sh["opportunity_id"].isin(changed) & after)
        final = tables["opportunities"]
        final = final[final["opportunity_id"].isin(changed | set(new["opportunity_id"]))]
        add = pd.DataFrame(
            {
                "opportunity_id": final["opportunity_id"].to_numpy(),
                "stage": final["stage"].astype("str").to_numpy(),
                "entered_at": pd.to_datetime(final["closed_date"]).to_numpy(),
                "amount": final["amount"].to_numpy(),
                "expected_close_date": pd.to_datetime(final["closed_date"]).to_numpy(),
            }
        )
        tables["stage_history"] = pd.concat([sh[keep], add.astype(sh.dtypes.to_dict())])
    if "contacts" in tables:
        tables["contacts"] = tables["contacts"].assign(support=2)
    if "orders" in tables:
        o = tables["orders"]
        extra = o.sample(min(100, len(o)), random_state=seed).copy()
        extra["order_id"] = [f"FUTURE-{i}" for i in range(len(extra))]
        extra["order_date"] = cut + pd.Timedelta(days=5)
        tables["orders"] = pd.concat([o, extra], ignore_index=True)
    return KamData(tables, snapshot=data.snapshot)


def _same_forecast(data, day: str, period: str) -> None:
    other = _rewrite_after(data, day, seed=5)
    assert len(other.opportunities) > len(data.opportunities)  # the future did change
    a = forecast_period(data, as_of=day, period=period, simulations=500, seed=3, run_rate=False)
    b = forecast_period(other, as_of=day, period=period, simulations=500, seed=3, run_rate=False)
    assert np.array_equal(a.totals, b.totals)
    for key in ("p10", "p50", "p90", "zombie_deals", "zombie_amount", "timing_method"):
        assert a.summary()[key] == b.summary()[key]
    pd.testing.assert_frame_equal(a.deals, b.deals)
    assert a.model.method == b.model.method
    if a.model.coefficients is not None:
        pd.testing.assert_series_equal(a.model.coefficients, b.model.coefficients)


def test_forecast_does_not_look_ahead_on_the_demo(demo):
    _same_forecast(demo, "2026-03-31", "2026-Q2")


def test_forecast_does_not_look_ahead_on_maven(maven):
    _same_forecast(maven, "2017-06-30", "2017-Q3")


# -- targets on Maven copies: dates shifted by whole years, 70% of the accounts ------------------
def _maven_copy(shared_data, dest, *, years: int = 0, keep_share: float = 1.0, seed: int = 11):
    """The Maven CSVs in ``dest``: dates shifted by ``years``, or a seeded share of the
    accounts kept (deals without an account sampled at the same rate); returns the pipeline."""
    import shutil

    src = shared_data / "maven-crm"
    dest.mkdir(parents=True, exist_ok=True)
    for f in src.glob("*.csv"):
        shutil.copy(f, dest / f.name)
    p = pd.read_csv(src / "sales_pipeline.csv", dtype=str, keep_default_na=False)
    if years:
        for col in ("engage_date", "close_date"):
            day = pd.to_datetime(p[col].replace("", None))
            p[col] = (day + pd.DateOffset(years=years)).dt.strftime("%Y-%m-%d").fillna("")
    if keep_share < 1:
        rng = np.random.default_rng(seed)
        accounts = sorted(set(p["account"]) - {""})
        kept = set(rng.choice(accounts, round(keep_share * len(accounts)), replace=False))
        blank = (p["account"] == "").to_numpy() & (rng.random(len(p)) < keep_share)
        p = p[p["account"].isin(kept).to_numpy() | blank]
    p.to_csv(dest / "sales_pipeline.csv", index=False)
    return p


def _won_between(pipeline: pd.DataFrame, start: str, end: str) -> float:
    won = pipeline[pipeline["deal_stage"] == "Won"]
    day = pd.to_datetime(won["close_date"])
    return float(pd.to_numeric(won["close_value"])[(day >= start) & (day <= end)].sum())


@pytest.fixture(scope="module")
def maven_copies(shared_data, tmp_path_factory):
    """P50 / actual − 1 of Q3 (as of 06-30) and Q4 (as of 09-30) 2017 on three copies."""
    from kamlib.data import import_files, load

    errors = {}
    for name, years, share in (("original", 0, 1.0), ("shifted", 3, 1.0), ("accounts70", 0, 0.7)):
        dest = tmp_path_factory.mktemp(f"maven-{name}")
        raw = _maven_copy(shared_data, dest / "csv", years=years, keep_share=share)
        import_files([dest / "csv"], store=dest / "m.duckdb", preset="maven-crm", now="2031-01-01")
        data = load(dest / "m.duckdb")
        y = 2017 + years
        for q, as_of, start, end in (
            ("Q3", "06-30", "07-01", "09-30"),
            ("Q4", "09-30", "10-01", "12-31"),
        ):
            fc = forecast_period(
                data, as_of=f"{y}-{as_of}", period=f"{y}-{q}", simulations=1000, seed=2026,
                run_rate=False,
            )  # fmt: skip
            actual = _won_between(raw, f"{y}-{start}", f"{y}-{end}")
            errors[name, q] = fc.summary()["p50"] / actual - 1
            headline = forecast_with_track_record(
                data, as_of=f"{y}-{as_of}", period=f"{y}-{q}", forecast=fc,
                backtest_simulations=500, seed=2026,
            )  # fmt: skip
            errors[name, q, "headline"] = headline.p50 / actual - 1
            errors[name, q, "method"] = headline.method
    return errors


@pytest.mark.slow
@pytest.mark.parametrize("name", ["original", "shifted", "accounts70"])
def test_maven_q3_forecast_within_20_percent(maven_copies, name):
    """The same model on shifted dates and fewer accounts: nothing knows Maven's calendar."""
    assert abs(maven_copies[name, "Q3"]) <= 0.20
    # shifting every date by whole years changes nothing but the labels
    assert maven_copies["shifted", "Q3"] == pytest.approx(maven_copies["original", "Q3"], abs=0.01)
    assert maven_copies["shifted", "Q4"] == pytest.approx(maven_copies["original", "Q4"], abs=0.01)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["original", "shifted", "accounts70"])
def test_maven_headline_forecast_within_20_percent(maven_copies, name):
    """What the report shows — the headline chosen by the track record — lands within ±20% in
    both quarters.  The deal model alone misses Q4 by about +24% (deals created in Jul–Aug
    2017 were left open far more often than any earlier cohort; nothing in the data tells them
    apart): the track record then prefers last quarter's bookings, and says so."""
    assert abs(maven_copies[name, "Q3", "headline"]) <= 0.20
    assert abs(maven_copies[name, "Q4", "headline"]) <= 0.20
    assert maven_copies[name, "Q4"] > 0.20  # the deal model's known miss, kept visible
    assert maven_copies[name, "Q4", "method"] != "deal_model"


def _owner_history_loop(frame, data):
    """The per-owner loop ``_owner_history`` replaced (the reference)."""
    opps = data.opportunities
    closed = opps[opps["status"].isin(["won", "lost"]) & opps["closed_date"].notna()]
    days = pd.to_datetime(frame["snapshot_date"])
    n_out, w_out = np.zeros(len(frame)), np.zeros(len(frame))
    owners = frame["owner"].astype("str").to_numpy()
    hist = closed.assign(owner=closed["owner"].astype("str")).sort_values("closed_date")
    for owner, rows in pd.Series(np.arange(len(frame))).groupby(owners):
        h = hist[hist["owner"] == owner]
        if h.empty:
            continue
        won = np.cumsum(h["status"].eq("won").to_numpy(dtype=float))
        idx = rows.to_numpy()
        k = np.searchsorted(h["closed_date"].to_numpy(), days.to_numpy()[idx], side="left")
        n_out[idx] = k
        w_out[idx] = np.where(k > 0, won[np.maximum(k - 1, 0)], 0.0)
    return n_out, w_out


@pytest.mark.parametrize("seed", range(6))
def test_owner_history_counts_what_the_per_owner_loop_counts(seed):
    """Deals each owner closed (and won) strictly before each row's day: ties on the day,
    missing owners, owners with no closed deals, open and undated deals."""
    from kamlib.forecast.win_probability import _owner_history

    rng = np.random.default_rng(seed)
    day0 = pd.Timestamp("2025-01-01")
    owners = ["ann", "bo", "cy", None]
    n = 300
    opps = pd.DataFrame(
        {
            "owner": pd.Series(rng.choice(owners, n, p=[0.4, 0.3, 0.2, 0.1]), dtype="str"),
            "status": pd.Series(rng.choice(["won", "lost", "open"], n), dtype="str"),
            "closed_date": day0 + pd.to_timedelta(rng.integers(0, 60, n), unit="D"),
        }
    )
    opps.loc[rng.random(n) < 0.1, "closed_date"] = pd.NaT
    m = 200
    frame = pd.DataFrame(
        {
            "owner": pd.Series(rng.choice(owners + ["dee"], m), dtype="str"),
            "snapshot_date": day0 + pd.to_timedelta(rng.integers(-5, 70, m), unit="D"),
        }
    )
    data = SimpleNamespace(opportunities=opps, as_of_date=None)
    got, expected = _owner_history(frame, data), _owner_history_loop(frame, data)
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])
    assert expected[0].sum() > 0 and expected[1].sum() > 0
