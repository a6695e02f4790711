"""kamlib.views.pipeline_forecast: the view's arguments (the report itself is exercised in
test_forecast_tournament.py and by the notebook tests)."""

from __future__ import annotations

import pytest

from kamlib.data import load
from kamlib.errors import ConfigError
from kamlib.views.pipeline_forecast import pipeline_forecast


@pytest.fixture(scope="module")
def demo(demo_store):
    return load(demo_store)


def test_arguments_are_checked_with_the_parameter_named(demo):
    with pytest.raises(
        ConfigError, match=r"'as_of' parameter must be a date.*given to pipeline_forecast"
    ):
        pipeline_forecast(demo, as_of="2026/06/30")
    with pytest.raises(ConfigError, match="report language"):
        pipeline_forecast(demo, as_of="2026-06-30", lang="fr")
    with pytest.raises(ConfigError, match="'methodology' parameter of pipeline_forecast"):
        pipeline_forecast(demo, 3.5, as_of="2026-06-30")


# -- bid readiness in the deal lists (issue #13) ----------------------------------------------
def test_the_deal_lists_show_bid_readiness_at_the_bid_stage_only(small_data):
    from kamlib.sales import bid_readiness

    report = pipeline_forecast(small_data, as_of="2026-09-30", simulations=200, backtest_periods=0)
    ready = bid_readiness(small_data, as_of="2026-09-30").set_index("opportunity_id")
    assert len(ready)
    deals = report.push_table(top=10_000)
    assert list(deals.columns).index("bid_readiness") == list(deals.columns).index("stage") + 1
    shown = deals.set_index("opportunity_id")["bid_readiness"]
    for deal, row in ready.iterrows():  # e.g. 0.45 with 3 items missing → "45%, 3 missing"
        assert shown[deal] == f"{row['readiness']:.0%}, {len(row['missing'])} missing"
    others = shown[~shown.index.isin(ready.index)]
    assert len(others) and (others == "—").all()
    zh = report.with_lang("zh").push_table(top=10_000).set_index("opportunity_id")
    deal = ready.index[0]
    assert zh.loc[deal, "bid_readiness"] == (
        f"{ready.loc[deal, 'readiness']:.0%}，缺 {len(ready.loc[deal, 'missing'])} 项"
    )
    stale = report.stale_table(top=10_000)
    assert "bid_readiness" in stale.columns


def test_without_a_tasks_table_the_readiness_column_is_absent(small_company):
    from kamlib.data.kamdata import KamData, Snapshot

    tables = {n: f for n, f in small_company.tables.items() if n != "tasks"}
    data = KamData(tables, snapshot=Snapshot(None, "no-tasks", None, "demo"))
    report = pipeline_forecast(data, as_of="2026-09-30", simulations=200, backtest_periods=0)
    assert report.readiness is None
    assert "bid_readiness" not in report.push_table().columns
    assert "bid_readiness" not in report.stale_table().columns
    assert "bid_readiness_section" not in set(report.notices["section"])
