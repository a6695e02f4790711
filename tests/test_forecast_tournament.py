"""kamlib.forecast.tournament / track_record: baselines, headline choice, conformal intervals.

Reference values are hand calculations written in the test and published values (the Wilson
interval: Newcombe 1998, Statistics in Medicine 17:857–872, table I, method 3).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from kamlib.errors import DataValidationError
from kamlib.forecast import (
    METHODS,
    backtest_forecast,
    baseline_forecasts,
    choose_method,
    conformal_interval,
    conformal_quantile,
    forecast_with_track_record,
    wilson_interval,
)
from kamlib.forecast.tournament import ROLLING_ORIGINS, calibrate, log_scores, series_forecast


# -- the Wilson interval ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611),
     (1, 29, 0.0061, 0.1718)],
)  # fmt: skip
def test_wilson_interval_matches_newcombe_1998(k, n, low, high):
    lo, hi = wilson_interval(k, n)
    assert round(lo, 4) == low and round(hi, 4) == high


def test_wilson_interval_edges():
    assert all(math.isnan(x) for x in wilson_interval(0, 0))
    lo, hi = wilson_interval(9, 9)
    # all inside: the lower bound is n / (n + z²) = 9 / (9 + 1.96²) = 0.7009
    assert hi == 1.0 and lo == pytest.approx(9 / (9 + 1.959963984540054**2))
    with pytest.raises(DataValidationError, match="'k' parameter of wilson_interval"):
        wilson_interval(5, 4)


# -- the baselines --------------------------------------------------------------------------------
def test_baselines_by_hand():
    history = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    at_start = baseline_forecasts(history, season=4)
    assert at_start["naive"] == 50.0  # the last period
    assert at_start["seasonal_naive"] == 20.0  # four periods back: the same quarter last year
    assert at_start["mean"] == 30.0  # (10 + 20 + 30 + 40 + 50) / 5
    # half-way in with 7 won: 7 + F × 0.5
    mid = baseline_forecasts(history, season=4, remaining=0.5, closed_to_date=7.0)
    assert mid["naive"] == 32.0 and mid["seasonal_naive"] == 17.0 and mid["mean"] == 22.0
    # less than a year of history: no seasonal naive; fewer than 3 periods: no time series
    short = baseline_forecasts(np.array([5.0, 7.0]), season=4)
    assert math.isnan(short["seasonal_naive"]) and math.isnan(short["ets"])
    assert short["naive"] == 7.0 and short["mean"] == 6.0
    empty = baseline_forecasts(np.array([]), season=12)
    assert all(math.isnan(v) for v in empty.values())


def test_time_series_model_follows_a_level_and_a_trend():
    assert series_forecast(np.array([5.0, 5.0, 5.0, 5.0]), 12) == (pytest.approx(5.0), "ses")
    value, name = series_forecast(np.arange(10.0, 40.0), 12)
    assert name == "theta" and value == pytest.approx(40.0, abs=1.0)  # the next step of 10…39
    assert series_forecast(np.array([1.0, 2.0]), 12)[1] == ""


# -- conformal intervals --------------------------------------------------------------------------
def test_conformal_quantile_by_hand():
    # n = 9: ⌈(9 + 1)·0.8⌉ = 8 → the 8th smallest score
    assert conformal_quantile(np.arange(1, 10) / 10) == pytest.approx(0.8)
    # n = 5: ⌈6·0.8⌉ = ⌈4.8⌉ = 5 → the largest
    assert conformal_quantile(np.array([0.5, 0.1, 0.4, 0.2, 0.3])) == pytest.approx(0.5)
    # n = 4: ⌈5·0.8⌉ = 4 → the largest
    assert conformal_quantile(np.array([0.3, 0.1, 0.2, 0.05])) == pytest.approx(0.3)


def test_conformal_interval_by_hand():
    # scores |log(actual / p50)|: actuals 110, 80, 100, 125 against p50 100
    scores = log_scores(np.full(4, 100.0), np.array([110.0, 80.0, 100.0, 125.0]))
    np.testing.assert_allclose(scores, [math.log(1.1), math.log(1.25), 0.0, math.log(1.25)])
    lo, hi = conformal_interval(200.0, scores)
    q = math.log(1.25)  # the 4th smallest of 4
    assert lo == pytest.approx(200 * math.exp(-q)) and hi == pytest.approx(250.0)
    # part-way into a period the scores and the band are about the remainder above what is
    # already won: closed 190, P50 200 → 190 + 10·e^∓q
    lo, hi = conformal_interval(200.0, scores, floor=190.0)
    assert lo == pytest.approx(190 + 10 * math.exp(-q)) and hi == pytest.approx(202.5)
    # scores of part-way origins: remainders actual − closed over p50 − closed
    part = log_scores(np.array([150.0, 150.0]), np.array([175.0, 100.0]), np.array([100.0, 100.0]))
    assert part[0] == pytest.approx(math.log(1.5)) and np.isnan(part[1])  # nothing more won
    # too few scores: no conformal interval
    assert conformal_interval(200.0, scores[:3]) is None


# -- the headline choice --------------------------------------------------------------------------
def _track(errors: dict[str, list[float]], ends: list[str], actual: float = 100.0) -> pd.DataFrame:
    rows = []
    for method, errs in errors.items():
        for end, e in zip(ends, errs, strict=True):
            rows.append({"end": pd.Timestamp(end), "method": method, "p50": actual * (1 + e),
                         "actual": actual})  # fmt: skip
    return pd.DataFrame(rows)


def test_chosen_method_is_the_lowest_mape_without_look_ahead():
    ends = ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31"]
    track = _track(
        {
            "deal_model": [0.5, -0.5, 0.5, -0.5, 0.0],  # MAPE 50 % over the first four
            "mean": [0.1, -0.1, 0.1, 0.1, 3.0],  # 10 %, then a disaster in May
            "naive": [0.2, 0.2, -0.2, 0.2, 0.0],  # 20 %, perfect in May
        },
        ends,
    )
    # as of 30 April only January–April are known: mean wins
    method, reason, scores = choose_method(track, "2026-04-30")
    assert method == "mean" and "10.0%" in reason and "naive 20.0%" in reason
    assert scores.set_index("method").loc["mean", "scored"] == 4
    # a day before May ends, May still does not count
    assert choose_method(track, "2026-05-30")[0] == "mean"
    # once May is known: mean 68 %, naive 16 % → naive
    assert choose_method(track, "2026-05-31")[0] == "naive"
    # too little history (3 scored origins < 4): the deal model, and it says so
    method, reason, _ = choose_method(track, "2026-03-31")
    assert method == "deal_model" and "too little track record" in reason
    # a method without a forecast now cannot be chosen
    assert choose_method(track, "2026-04-30", available={"deal_model", "naive"})[0] == "naive"


def test_calibrate_falls_back_to_the_monte_carlo_band():
    track = _track({m: [0.1, 0.1] for m in METHODS}, ["2026-01-31", "2026-02-28"])
    cands = dict.fromkeys(METHODS, 100.0) | {"deal_model": 120.0}
    cal = calibrate(cands, track, "2026-03-15", model_band=(90.0, 120.0, 180.0))
    assert cal.method == "deal_model" and cal.interval_method == "monte_carlo"
    assert (cal.p10, cal.p50, cal.p90) == (90.0, 120.0, 180.0)
    # enough history: mean chosen (10 % vs 30 % for the rest), conformal band around its P50
    ends = ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]
    errs = {m: [0.3, -0.3, 0.3, -0.3] for m in METHODS} | {"mean": [0.1, -0.1, 0.25, 0.0]}
    cal = calibrate(cands, _track(errs, ends), "2026-05-10", model_band=(115.0, 120.0, 130.0))
    assert cal.method == "mean" and cal.interval_method == "conformal" and cal.p50 == 100.0
    q = max(abs(math.log(1 / 1.1)), abs(math.log(1 / 0.9)), abs(math.log(1 / 1.25)), 0.0)
    assert cal.p90 == pytest.approx(100 * math.exp(q))
    assert cal.p10 == pytest.approx(100 * math.exp(-q))
    # the track record widens the deal model's band, never narrows it: a wide Monte Carlo band
    # (scaled to the headline: 75–150) keeps its side where it is wider than the conformal one
    cal = calibrate(cands, _track(errs, ends), "2026-05-10", model_band=(90.0, 120.0, 180.0))
    assert cal.p10 == pytest.approx(75.0) and cal.p90 == pytest.approx(150.0)


def test_other_contestants_a_default_of_their_own_and_no_widening():
    """The order revenue forecast's use of the tournament: its methods, the run-rate model kept
    while the record is short, the conformal band alone (no model band to widen it)."""
    methods = ("run_rate", "naive", "mean")
    ends = ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]
    errs = {"run_rate": [0.3, -0.3, 0.3, -0.3], "naive": [0.1, -0.1, 0.25, 0.0],
            "mean": [0.2, 0.2, -0.2, 0.2]}  # fmt: skip
    track = _track(errs, ends)
    method, reason, scores = choose_method(track, "2026-03-31", methods=methods,
                                           default="run_rate", default_name="the run-rate model")  # fmt: skip
    assert method == "run_rate" and reason.endswith("the run-rate model is kept")
    assert list(scores["method"]) == list(methods)
    # MAE by hand: actual 100, |P50 − actual| = 10, 10, 25, 0 for naive → 11.25
    scores = choose_method(track, "2026-04-30", methods=methods, default="run_rate")[2]
    assert scores.set_index("method").loc["naive", "mae"] == pytest.approx(11.25)
    cands = {"run_rate": 120.0, "naive": 100.0, "mean": 90.0}
    kw = {"methods": methods, "default": "run_rate", "model_band": (60.0, 120.0, 240.0)}
    q = max(abs(math.log(1 / 1.1)), abs(math.log(1 / 0.9)), abs(math.log(1 / 1.25)), 0.0)
    narrow = calibrate(cands, track, "2026-05-10", widen=False, **kw)
    assert narrow.method == "naive" and narrow.interval_method == "conformal"
    assert narrow.p10 == pytest.approx(100 * math.exp(-q))
    assert narrow.p90 == pytest.approx(100 * math.exp(q))
    wide = calibrate(cands, track, "2026-05-10", **kw)  # the bookings rule: 50–200 at least
    assert (wide.p10, wide.p90) == (pytest.approx(50.0), pytest.approx(200.0))


# -- the rolling-origin back-test on the small demo ----------------------------------------------
@pytest.fixture(scope="module")
def demo(demo_store):
    from kamlib.data import load

    return load(demo_store)


@pytest.fixture(scope="module")
def rolling(demo, demo_store):
    from kamlib.data import load_truth

    truth = load_truth(demo_store)["opportunities"]
    return backtest_forecast(demo, periods=3, simulations=300, seed=3, revenue=False,
                             origins=ROLLING_ORIGINS, truth=truth)  # fmt: skip


@pytest.mark.slow
def test_rolling_backtest_origins_and_baselines(rolling, demo):
    p = rolling.periods[rolling.periods["team"] == "all"]
    assert list(p["period"]) == ["2026-Q1"] * 3 + ["2026-Q2"] * 3 + ["2026-Q3"] * 3
    q2 = p[p["period"] == "2026-Q2"]
    assert [d.date().isoformat() for d in q2["as_of"]] == ["2026-03-31", "2026-04-30",
                                                           "2026-05-31"]  # fmt: skip
    # part-way in, closed to date is what was won in the period by then (independent recount)
    o = demo.opportunities
    won = o[o["status"] == "won"]
    to_date = won[won["closed_date"].between("2026-04-01", "2026-04-30")]["amount"].sum()
    assert q2.iloc[1]["closed_to_date"] == pytest.approx(to_date)
    # naive at the start of Q2 = Q1's bookings; mean = the mean of every complete quarter before
    t = rolling.track
    t = t[(t["team"] == "all") & (t["period"] == "2026-Q2") & (t["origin"] == 0.0)]
    t = t.set_index("method")["p50"]
    q1 = won[won["closed_date"].between("2026-01-01", "2026-03-31")]["amount"].sum()
    assert t["naive"] == pytest.approx(q1)
    q = won.assign(q=won["closed_date"].dt.to_period("Q"))
    before = q[q["q"] < pd.Period("2026Q2")].groupby("q")["amount"].sum()
    assert t["mean"] == pytest.approx(before.mean())
    assert t["seasonal_naive"] == pytest.approx(before[pd.Period("2025Q2")])
    # a third of the way in: closed + F × the share of days left
    mid = rolling.track
    mid = mid[(mid["team"] == "all") & (mid["period"] == "2026-Q2") & (mid["origin"] > 0.3)
              & (mid["origin"] < 0.4) & (mid["method"] == "naive")]  # fmt: skip
    share = (pd.Timestamp("2026-06-30") - pd.Timestamp("2026-04-30")).days / 91
    assert mid["p50"].iloc[0] == pytest.approx(to_date + q1 * share)


@pytest.mark.slow
def test_rolling_backtest_intervals_use_only_ended_periods(rolling):
    p = rolling.periods[rolling.periods["team"] == "all"].reset_index(drop=True)
    # nothing had ended before Q1: the deal model and its Monte Carlo band
    q1 = p[p["period"] == "2026-Q1"]
    assert (q1["method"] == "deal_model").all() and (q1["interval_method"] == "monte_carlo").all()
    assert (q1["p10"] == q1["model_p10"]).all() and (q1["p90"] == q1["model_p90"]).all()
    # Q3 at its start: the three Q1 and three Q2 origins are the record (6 ≥ 4)
    row = p[(p["period"] == "2026-Q3") & (p["origin"] == 0.0)].iloc[0]
    t = rolling.track[rolling.track["team"] == "all"]
    known = t[t["period"].isin(["2026-Q1", "2026-Q2"])]
    mape = {
        m: float((abs(g["p50"] - g["actual"]) / g["actual"]).mean())
        for m, g in known.groupby("method")
        if g["p50"].notna().sum() >= 4
    }
    assert row["method"] == min(mape, key=mape.get)
    mine = known[known["method"] == row["method"]]
    # scores on the remainder above what each origin had already closed
    rest = mine["actual"] - mine["closed_to_date"], mine["p50"] - mine["closed_to_date"]
    scores = np.sort(np.abs(np.log(rest[0] / rest[1])).to_numpy())
    q = scores[math.ceil(7 * 0.8) - 1]  # n = 6: the 6th smallest
    assert row["interval_method"] == "conformal"
    # Q3's start: nothing closed yet; the band is the wider of the conformal one and the deal
    # model's Monte Carlo band scaled to the headline
    assert row["closed_to_date"] == 0
    mc = row["p50"] / row["model_p50"]
    assert row["p90"] == pytest.approx(max(row["p50"] * math.exp(q), row["model_p90"] * mc))
    assert row["p10"] == pytest.approx(min(row["p50"] * math.exp(-q), row["model_p10"] * mc))


@pytest.mark.slow
def test_rolling_backtest_summary(rolling):
    s = rolling.summary()
    assert s["periods"] == 3 and s["origins"] == [0.0, 0.3333, 0.6667]
    assert set(s["methods"]) == set(METHODS)
    assert s["chosen_method"] in METHODS
    lo, hi = s["coverage_interval"]
    assert 0 <= lo <= s["interval_coverage"] <= hi <= 1
    assert s["oracle_mape"] is not None and 0 <= s["oracle_mape"] < 1
    assert s["all_origins"]["origins"] == 9


@pytest.mark.slow
def test_forecast_with_track_record(demo):
    tr = forecast_with_track_record(demo, as_of="2026-06-30", period="2026-Q3", track_periods=2,
                                    simulations=500, backtest_simulations=300, seed=4,
                                    run_rate=False)  # fmt: skip
    assert tr.method in METHODS and tr.p10 <= tr.p50 <= tr.p90
    # no look-ahead: every back-tested period ended by the as-of date
    assert (tr.backtest.track["end"] <= pd.Timestamp("2026-06-30")).all()
    assert list(tr.methods["method"]) == list(METHODS) and tr.methods["chosen"].sum() == 1
    s = tr.summary()
    assert {"method", "interval_method", "zombie_deals", "zombie_amount", "model_p50"} <= set(s)
    assert s["zombie_deals"] == len(tr.forecast.zombies)
    # no tournament: the deal-level model alone
    alone = forecast_with_track_record(demo, as_of="2026-06-30", period="2026-Q3",
                                       track_periods=0, simulations=500, seed=4,
                                       forecast=tr.forecast)  # fmt: skip
    assert alone.method == "deal_model" and alone.interval_method == "monte_carlo"
    assert alone.p50 == pytest.approx(float(tr.forecast.total["p50"]))


@pytest.mark.slow
def test_cli_forecast_json_says_the_method(demo_store):
    from kamlib.cli import main

    args = ["forecast", "--store", str(demo_store), "--as-of", "2026-06-30", "--period",
            "2026-Q3", "--simulations", "300", "--track-periods", "1", "--json"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert {"method", "interval_method", "zombie_deals", "zombie_amount"} <= set(out)
    assert out["method"] == "deal_model"  # one period back-tested: too little to judge
    assert out["p10"] <= out["p50"] <= out["p90"]


# -- the report: the methods section and the zombie finding ---------------------------------------
@pytest.mark.slow
def test_forecast_methods_chart_and_zombie_table(demo):
    import dataclasses

    from kamlib import charts
    from kamlib.views.pipeline_forecast import pipeline_forecast

    report = pipeline_forecast(demo, as_of="2026-06-30", period="2026-Q3",
                                      simulations=500, backtest_periods=2,
                                      backtest_simulations=300, seed=2)  # fmt: skip
    track = report.methods_track()
    assert set(track["method"]) == {f"fc_method_{m}" for m in METHODS}
    assert track["chosen"].any()
    spec = charts.forecast_methods(track, lang="zh").to_dict()
    assert len(spec["layer"]) == 2
    table = report.methods_table()
    assert table["chosen"].sum() == 1 and len(table) == len(METHODS)
    assert report.key_figures()["bookings_p50_amount"] == pytest.approx(report.track_record.p50)
    # the reason in the report's language (2 quarters × 3 origins = 6 scored ≥ 4)
    choice = report.with_lang("zh").methods_choice()
    assert "回测" in choice["method_reason"] and "MAPE" in choice["method_reason"]
    assert report.zombie_figures()["zombie_deals_count"] == len(report.forecast.zombies)
    none = dataclasses.replace(
        report, forecast=dataclasses.replace(report.forecast, zombies=report.forecast.zombies[:0])
    )
    assert none.zombie_figures() == {"zombie_deals_count": 0}
    zombies = pd.DataFrame({"opportunity_id": ["a", "b"], "account_id": ["x", "y"],
                            "owner": ["o", "o"], "team": ["t", "t"], "stage": ["lead", "lead"],
                            "amount": [100.0, 300.0], "amount_imputed": [False, True],
                            "age_days": [400, 600], "days_in_stage": [200, 90]})  # fmt: skip
    with_z = dataclasses.replace(
        report, forecast=dataclasses.replace(report.forecast, zombies=zombies)
    )
    assert with_z.zombie_figures() == {"zombie_deals_count": 2, "zombie_amount": 400.0,
                                       "zombie_median_age_days": 500,
                                       "zombie_oldest_age_days": 600,
                                       "zombie_amount_imputed": 1}  # fmt: skip
    assert list(with_z.zombie_table()["opportunity_id"]) == ["b", "a"]


def test_combination_weights_by_hand():
    from kamlib.forecast.tournament import combination_weights, combined_p50

    ends = ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]
    known = _track({"mean": [0.1, -0.1, 0.1, -0.1], "naive": [0.2, -0.2, 0.2, -0.2],
                    "deal_model": [0.5, 0.5, 0.5, 0.5], "ets": [0.1, 0.1, 0.1, 0.1]},
                   ends)  # fmt: skip
    known = known[~((known["method"] == "ets") & (known["end"] == pd.Timestamp(ends[3])))]
    # ets has 3 scored origins (< 4): left out; 1/0.1 : 1/0.2 : 1/0.5 = 10 : 5 : 2
    w = combination_weights(known)
    assert set(w) == {"mean", "naive", "deal_model"}
    assert w["mean"] == pytest.approx(10 / 17) and w["deal_model"] == pytest.approx(2 / 17)
    cands = {"mean": 100.0, "naive": 120.0, "deal_model": 200.0, "ets": 1e9}
    assert combined_p50(cands, w) == pytest.approx((1000 + 600 + 400) / 17)
    # only methods with a forecast now, and at least two of them
    assert set(combination_weights(known, {"mean", "naive"})) == {"mean", "naive"}
    assert combination_weights(known, {"mean"}) == {}
