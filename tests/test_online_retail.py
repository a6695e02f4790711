"""Identify on the real Online Retail export with its own methodology file
(data/methodology-online-retail.yml: GBP bands, behaviour-only indicators); the store is the
session fixture ``retail`` of conftest.py, shared with the revenue forecast tests."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from kamlib.errors import DataQualityWarning
from kamlib.methodology import load_methodology

ROOT = Path(__file__).resolve().parents[1]
RETAIL_METHODOLOGY = ROOT / "data" / "methodology-online-retail.yml"
AS_OF = "2011-06-30"


def test_the_retail_methodology_builds_on_the_default():
    meth = load_methodology(RETAIL_METHODOLOGY)
    default = load_methodology()
    assert meth.currency == "GBP"
    assert list(meth.scoring.names) == [
        "revenue_12m", "order_days_12m", "recency_days", "tenure_days",
    ]  # fmt: skip
    assert meth.stages == default.stages  # inherited whole
    assert meth.fingerprint != default.fingerprint


@pytest.mark.slow
def test_retail_scores_are_fully_measured_and_predict_the_next_months(retail):
    from kamlib.features import account_features
    from kamlib.scoring import score_accounts

    meth = load_methodology(RETAIL_METHODOLOGY)
    features = account_features(retail, as_of=AS_OF)
    result = score_accounts(features, meth)
    revenue = features["revenue_12m"].reindex(result.scores["account_id"]).to_numpy()
    active = result.scores[revenue > 0]
    assert np.isfinite(result.scores["score"]).all()
    assert (active["coverage"] == 1.0).all()  # every indicator has a value
    # What happened next (2011-07-01 … 2011-12-09, the rest of the export), by hand:
    orders = retail.orders
    later = orders[orders["order_date"] > AS_OF].groupby("account_id")["amount"].sum()
    next_value = later.reindex(result.scores["account_id"]).fillna(0.0).to_numpy()
    top = result.scores["rank"].to_numpy() <= int(0.2 * len(result.scores))
    captured = next_value[top].sum() / next_value.sum()
    # the top 20% by score bring most of the next months' revenue (random would be 20%)
    assert captured > 0.6, captured
    strategic = (result.scores["tier"] == "strategic").to_numpy()
    assert next_value[strategic].mean() > 3 * next_value.mean()


@pytest.mark.slow
def test_strategic_group_is_the_tier_not_the_revenue_fallback(retail):
    from kamlib.segmentation import resolve_target_group

    meth = load_methodology(RETAIL_METHODOLOGY)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        group = resolve_target_group(retail, "strategic", as_of=AS_OF, methodology=meth)
    assert "tier 'strategic'" in group.basis
    assert 0 < len(group) < 0.2 * len(retail.accounts)
    # with the default (CNY, firmographics) methodology the same data falls back, saying why
    with pytest.warns(DataQualityWarning, match="revenue Pareto head instead"):
        fallback = resolve_target_group(retail, "strategic", as_of=AS_OF)
    assert fallback.basis.startswith("revenue Pareto head")
