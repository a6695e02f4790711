"""kamlib.views.revenue_forecast: the report's figures and frames, on the small demo and on the
real Online Retail export (also rendered by papermill, once)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kamlib.data import KamData, Snapshot
from kamlib.errors import ConfigError, MissingTableError
from kamlib.forecast.revenue import BASELINES, COMPANY, REVENUE_METHODS
from kamlib.forecast.tournament import MIN_SCORED_ORIGINS
from kamlib.views import RevenueForecast, revenue_forecast

ROOT = Path(__file__).resolve().parents[1]
RETAIL_METHODOLOGY = ROOT / "data" / "methodology-online-retail.yml"
RETAIL_CSV = "online-retail/online_retail.csv.gz"


@pytest.fixture(scope="module")
def demo_report(small_data) -> RevenueForecast:
    return revenue_forecast(small_data, as_of="2026-09-30", backtest_periods=4)


def test_key_figures_compare_the_headline_with_what_a_manager_computes_by_hand(demo_report):
    figures = demo_report.key_figures()
    table = demo_report.forecast.methods().set_index("method")
    row = demo_report.forecast.scope()
    assert figures["forecast_period"] == "2026-Q4"
    assert figures["revenue_p50_amount"] == row["p50"] == row[row["method"]]
    assert figures["revenue_p10_amount"] <= figures["revenue_p50_amount"]
    assert figures["revenue_p50_amount"] <= figures["revenue_p90_amount"]
    # every method's forecast now and its back-test MAPE, next to the headline
    assert figures["revenue_model_p50_amount"] == row["run_rate"]
    for m in BASELINES:
        assert figures[f"{m}_p50_amount"] == row[m]
    for m in REVENUE_METHODS:
        assert figures[f"{m}_mape_rate"] == table.loc[m, "mape"]
        assert np.isfinite(figures[f"{m}_mape_rate"])
    # no key with "rate" in its name holds money (the formatter would write a percentage)
    assert not [k for k in figures if k.endswith("_amount") and "rate" in k]
    # the verdict says which method won, in words the reader knows
    verdict = figures["method_verdict"]
    chosen = figures["forecast_method"]
    assert chosen.lower() in verdict.lower() or row["method"] == "run_rate"
    if row["method"] != "run_rate":
        assert "does worse than" in verdict or "about as accurate" in verdict
    zh = demo_report.with_lang("zh").key_figures()
    assert zh["method_verdict"] != verdict and "MAPE" in zh["method_verdict"]


def test_headline_coverage_is_counted_over_the_backtest(demo_report):
    h = demo_report.forecast.backtest.headline
    h = h[h["scope"] == COMPANY]
    inside = int(((h["actual"] >= h["p10"]) & (h["actual"] <= h["p90"])).sum())
    text = demo_report.key_figures()["headline_coverage_text"]
    assert text.startswith(f"{inside} / {len(h)} (")
    table = demo_report.backtest_table()
    assert len(table) == len(h) == 4 * 3  # 4 quarters × 3 origins
    assert table["in_interval"].sum() == inside
    err = (table["revenue_p50_amount"] - table["actual_amount"]) / table["actual_amount"]
    np.testing.assert_allclose(table["error_rate"], err)


def test_chart_frames(demo_report):
    fan = demo_report.fan_track()
    history = demo_report.forecast.history
    company = history[history["scope"] == COMPANY].tail(12)
    assert list(fan["period"]) == [*company["period"], "2026-Q4"]
    np.testing.assert_allclose(fan["actual"].iloc[:-1], company["revenue"])
    assert np.isnan(fan["actual"].iloc[-1])
    assert np.isfinite(fan[["p10", "p50", "p90"]].iloc[-1].to_numpy(dtype=float)).all()
    assert fan["p50"].notna().sum() == 4 + 1  # the back-tested quarters and the forecast
    track = demo_report.methods_track()
    assert len(track) == 4 * len(REVENUE_METHODS)
    assert set(track["method"]) == {f"fc_method_{m}" for m in REVENUE_METHODS}
    segments = demo_report.segment_chart_frame()
    assert len(segments) == len(demo_report.forecast.forecasts) - 1  # not the company


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_chart_builds(demo_report, lang):
    from kamlib import charts

    r = demo_report.with_lang(lang)
    for chart in (
        charts.forecast_fan(r.fan_track(), lang=lang, measure="revenue"),
        charts.forecast_methods(r.methods_track(), lang=lang, measure="revenue"),
        charts.forecast_by_group(r.segment_chart_frame(), lang=lang, measure="revenue"),
    ):
        spec = chart.to_dict()  # validates against the vega-lite schema
        titles = re.findall(r'"title": "([^"]*)"', str(spec).replace("'", '"'))
        assert ("收入" if lang == "zh" else "Revenue") in titles


def test_tables_are_translated_and_finite(demo_report):
    zh = demo_report.with_lang("zh")
    methods = zh.methods_table()
    assert list(methods["method"]) == [
        "持续性收入模型（指数平滑）",
        "上期实际",
        "去年同期",
        "历史各期均值",
    ]
    assert methods["chosen"].sum() == 1
    segments = zh.segment_table()
    assert segments["segment"].iloc[0] == "公司"
    numbers = segments.select_dtypes("number")
    assert np.isfinite(numbers.to_numpy()).all()
    assert segments["revenue_12m_share"].iloc[1:].sum() == pytest.approx(1.0)


# -- the view convention --------------------------------------------------------------------
def test_arguments_are_checked_with_the_parameter_named(small_data):
    with pytest.raises(
        ConfigError, match=r"'as_of' parameter must be a date.*given to revenue_forecast"
    ):
        revenue_forecast(small_data, as_of="2026/06/30")
    with pytest.raises(ConfigError, match="report language"):
        revenue_forecast(small_data, as_of="2026-06-30", lang="fr")
    with pytest.raises(ConfigError, match="'methodology' parameter of revenue_forecast"):
        revenue_forecast(small_data, 3.5, as_of="2026-06-30")
    with pytest.raises(ConfigError, match="'data' parameter of revenue_forecast"):
        revenue_forecast(42, as_of="2026-06-30")


def test_an_unknown_segment_column_is_a_notice_and_the_company_is_forecast(small_data):
    r = revenue_forecast(small_data, as_of="2026-09-30", segment_by="colour", backtest_periods=0)
    assert list(r.forecast.forecasts["scope"]) == [COMPANY]
    notes = r.notes_table()
    assert notes["message"].str.contains("'segment_by' parameter names 'colour'").any()
    assert "By segment" in set(notes["section"])


def test_won_deals_are_not_order_lines(small_data):
    tables = {t: small_data[t] for t in small_data.tables if t != "orders"}
    crm_only = KamData(tables, snapshot=Snapshot(None, "crm", None, "test"))
    assert crm_only.revenue_source == "won_deals"
    with pytest.raises(MissingTableError, match="no 'orders' table.*won deals are bookings"):
        revenue_forecast(crm_only, as_of="2026-09-30")


# -- the real Online Retail export -----------------------------------------------------------
@pytest.fixture(scope="module")
def retail_report(retail) -> RevenueForecast:
    return revenue_forecast(retail, RETAIL_METHODOLOGY, as_of="2011-11-30")


def test_retail_history_is_the_export_summed_by_hand(retail_report, shared_data):
    raw = pd.read_csv(shared_data / RETAIL_CSV, encoding="latin-1",
                      usecols=["InvoiceDate", "CustomerID", "Quantity", "UnitPrice"])  # fmt: skip
    raw = raw[raw["CustomerID"].notna()]  # lines without a customer are quarantined
    quarter = pd.to_datetime(raw["InvoiceDate"], format="%Y-%m-%d %H:%M").dt.to_period("Q")
    by_hand = (raw["Quantity"] * raw["UnitPrice"]).groupby(quarter).sum()
    h = retail_report.forecast.history
    h = h[h["scope"] == COMPANY].set_index("period")["revenue"]
    # 2010-Q4 holds December only (the log starts on 1 December): left out, and said so
    assert list(h.index) == ["2011-Q1", "2011-Q2", "2011-Q3"]
    for label, value in h.items():
        assert value == pytest.approx(by_hand[pd.Period(label.replace("-", ""))], rel=1e-9)
    assert retail_report.notes_table()["message"].str.contains("part-way into 2010-Q4").any()
    # ordered to date in 2011-Q4 (1 October … 30 November), by hand
    row = retail_report.forecast.scope()
    day = pd.to_datetime(raw["InvoiceDate"], format="%Y-%m-%d %H:%M").dt.normalize()
    closed = (raw["Quantity"] * raw["UnitPrice"])[(day >= "2011-10-01") & (day <= "2011-11-30")]
    assert row["closed_to_date"] == pytest.approx(closed.sum(), rel=1e-9)
    # last quarter (by hand) part-way in: ordered to date + 2011-Q3 × (31 of 92 days left)
    assert row["naive"] == pytest.approx(closed.sum() + by_hand[pd.Period("2011Q3")] * 31 / 92)


def test_retail_headline_is_no_worse_than_the_best_baseline(retail_report):
    f = retail_report.forecast
    table = f.methods().set_index("method")
    judged = table[(table["scored"] >= MIN_SCORED_ORIGINS) & table["mape"].notna()]
    best = judged.loc[judged.index.isin(BASELINES), "mape"]
    assert len(best), "no hand baseline was scored on the retail back-test"
    row = f.scope()
    assert row["method"] == best.idxmin() or table.loc[row["method"], "mape"] <= best.min()
    # the back-test: 2011-Q2 and 2011-Q3 (the only quarters with a complete one before them)
    assert f.backtest.periods == ("2011-Q2", "2011-Q3")
    # segments by country: the United Kingdom first
    assert f.segment_by == "region" and f.forecasts["scope"].iloc[1] == "United Kingdom"
    figures = retail_report.key_figures()
    assert np.isnan(figures["seasonal_naive_p50_amount"])  # no year of complete quarters yet
    assert np.isfinite([figures["revenue_p10_amount"], figures["revenue_p90_amount"]]).all()


@pytest.mark.slow
def test_revenue_forecast_notebook_renders_on_the_retail_export(retail_store, tmp_path):
    """The report notebook end to end (papermill), in Chinese, with the retail methodology."""
    import nbformat
    import papermill as pm

    out = tmp_path / "out.ipynb"
    pm.execute_notebook(
        str(ROOT / "notebooks" / "revenue_forecast.ipynb"),
        str(out),
        parameters={"store": str(retail_store), "as_of": "2011-11-30", "lang": "zh",
                    "methodology": str(RETAIL_METHODOLOGY)},
        cwd=str(tmp_path),
        progress_bar=False,
        kernel_name="python3",
    )  # fmt: skip
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not any(o.get("output_type") == "error" for o in outputs)
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "2011-Q4" in html and "上期实际" in html and "£" in html
    assert html.count("kamlib-chart") >= 3
    tables = "".join(re.findall(r'<table class="kamlib-table">.*?</table>', html, re.S))
    assert tables and not re.search(r">\s*(nan|NaN|inf)\s*<", tables)  # no NaN in any table
