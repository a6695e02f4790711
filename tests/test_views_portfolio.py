"""kamlib.views.portfolio: the portfolio review on the demo company and on an orders-only store."""

from __future__ import annotations

import dataclasses
import math
import warnings
from importlib import resources
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from kamlib.data import load
from kamlib.errors import ConfigError
from kamlib.features import account_features
from kamlib.scoring import score_accounts
from kamlib.scoring.history import GONE, NEW
from kamlib.views.portfolio import PortfolioReview, portfolio_review

AS_OF = "2026-09-30"
PREVIOUS = "2026-06-30"  # end of the quarter before AS_OF's
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.fixture(scope="module")
def demo(demo_store):
    return load(demo_store)


@pytest.fixture(scope="module")
def review(demo) -> PortfolioReview:
    return portfolio_review(demo, as_of=AS_OF)


@pytest.fixture(scope="module")
def orders_only(demo) -> PortfolioReview:
    """The demo company with nothing but accounts (no firmographics) and orders."""
    tables = {
        "accounts": demo.accounts[["account_id", "name", "created_date"]],
        "orders": demo.orders[["order_id", "line_no", "account_id", "order_date", "amount"]],
    }
    return dataclasses.replace(demo, _tables=tables)


def _accounts_on(data, day: str) -> set[str]:
    return set(data.as_of(pd.Timestamp(day)).accounts["account_id"].astype(str))


# -- tiers and explanations ----------------------------------------------------------------
def test_tiers_sum_to_the_accounts(review, demo):
    n = len(_accounts_on(demo, AS_OF))
    tiers = review.tier_table()
    assert tiers["accounts_count"].sum() == n == len(review.members)
    assert list(tiers["tier"]) == ["Strategic", "Key", "Growth", "Maintain"]
    assert_allclose(tiers["account_share"].sum(), 1.0)
    assert_allclose(tiers["revenue_share"].sum(), 1.0)
    summary = review.summary()
    assert sum(summary[f"tier_{k}"] for k in review.model.tier_keys) == n
    # the key figure says the same
    counts = review.key_figures()["tier_counts"]
    for _, row in tiers.iterrows():
        assert f"{row['tier']} {row['accounts_count']:,}" in counts


def test_explanations_sum_to_the_scores(review):
    ex = review.scores.explanations
    sums = ex.groupby("account_id")["contribution"].sum()
    scores = review.scores.scores.set_index("account_id")["score"]
    assert_allclose(sums.reindex(scores.index).to_numpy(), scores.to_numpy(), atol=1e-9)
    # the breakdown chart's bars are the scores too
    breakdown = review.breakdown(top=10)
    bars = breakdown.groupby("account", sort=False)["contribution"].sum().to_numpy()
    assert_allclose(bars, scores.head(10).to_numpy(), atol=1e-9)
    assert breakdown["account"].nunique() == 10


def test_ranking_explains_each_account(review):
    ranking = review.ranking()
    assert len(ranking) == len(review.members)
    assert ranking["score"].is_monotonic_decreasing
    assert ranking["strongest"].str.len().gt(0).all()
    top = review.scores.explain(ranking["account_id"].iloc[0])
    best = top.sort_values("contribution", ascending=False).iloc[0]
    label = review.model.indicator(best["indicator"]).label("en")
    assert ranking["strongest"].iloc[0].startswith(f"{label} {best['contribution']:.1f}")
    zh = review.with_lang("zh").ranking()
    assert set(zh["tier"]) <= {t.label_zh for t in review.model.tiers}


def test_indicator_table_on_complete_data(review):
    table = review.indicator_table()
    assert list(table["indicator"]) == [i.label_en for i in review.model.indicators]
    assert_allclose(table["weight_share"].sum(), 1.0)
    assert (table["known_share"] > 0).all()
    assert review.unavailable_indicators() == []
    assert review.missing_tables() == []
    assert review.max_score() == pytest.approx(100.0)


# -- migration ------------------------------------------------------------------------------
def test_migration_matrix_totals(review, demo):
    m = review.migration.matrix
    before, now = _accounts_on(demo, PREVIOUS), _accounts_on(demo, AS_OF)
    both = m.drop(index=NEW, columns=GONE).to_numpy()
    assert both.sum() == len(before & now)
    assert m.loc[NEW].sum() == len(now - before)
    assert m[GONE].sum() == len(before - now)
    # rows are the tiers at the previous quarter end, scored independently here
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        then = score_accounts(account_features(demo, as_of=PREVIOUS)).scores
    counts = then["tier"].value_counts()
    rows = m.drop(index=NEW).sum(axis=1)
    for key in review.model.tier_keys:
        assert rows[key] == counts.get(key, 0)
    # columns are the tiers now
    now_counts = review.scores.scores["tier"].value_counts()
    cols = m.drop(columns=GONE).sum(axis=0)
    for key in review.model.tier_keys:
        assert cols[key] == now_counts.get(key, 0)
    # movers are the off-diagonal accounts, split into risers and fallers
    keys = list(review.model.tier_keys)
    square = m.loc[keys, keys].to_numpy()
    up = np.tril(square, -1).sum()  # below the diagonal: from a lower tier to a higher one
    down = np.triu(square, 1).sum()
    assert len(review.movers("up")) == up and len(review.movers("down")) == down
    summary = review.migration_summary()
    assert summary["moved_up"] == up and summary["moved_down"] == down
    assert summary["stayed"] + up + down == summary["accounts_in_both"]


def test_movers_name_their_drivers(review):
    risers = review.movers("up")
    assert (
        (risers["to_score"] - risers["from_score"]).round(9).equals(risers["score_change"].round(9))
    )
    labels = [i.label_en for i in review.model.indicators]
    with_drivers = risers[risers["drivers"] != ""]
    assert len(with_drivers) > 0
    for text in with_drivers["drivers"]:
        assert any(text.startswith(lab) or "Pareto" in text for lab in labels)
    long = review.with_lang("zh").migration_matrix()
    assert long["accounts_count"].sum() == review.migration.matrix.to_numpy().sum()
    with pytest.raises(ConfigError, match="'up' or 'down'"):
        review.movers("sideways")


# -- validation -----------------------------------------------------------------------------
def test_validation_numbers_are_finite(review):
    v = review.validation
    assert v is not None and review.status["validation"].available
    figures = review.validation_figures()
    numbers = [x for x in figures.values() if isinstance(x, int | float)]
    assert numbers and all(math.isfinite(x) for x in numbers)
    assert -1 <= v.gini_score <= v.gini_perfect <= 1
    assert -1 <= v.gini_baseline <= v.gini_perfect
    assert v.lift_top_tier > 1  # the top tier captures more than its share
    table = review.validation_table()
    assert_allclose(table["value_share"].sum(), 1.0)
    assert_allclose(table["account_share"].sum(), 1.0)
    assert table["accounts_count"].sum() == v.n_accounts
    assert np.isfinite(table.loc[table["accounts_count"] > 0, "lift"]).all()
    assert figures["backtest_date"] == pd.Timestamp("2025-09-30")


def test_validation_value_is_the_following_year(review, demo):
    """Next-year value = net order amounts in (as_of − 12 months, as_of], by hand."""
    orders = demo.orders
    window = orders[
        (orders["order_date"] > pd.Timestamp("2025-09-30"))
        & (orders["order_date"] <= pd.Timestamp(AS_OF))
    ]
    by_account = window.groupby("account_id")["amount"].sum()
    validated = review.validation_accounts.set_index("account_id")["value"]
    expected = by_account.reindex(validated.index).fillna(0.0)
    assert_allclose(validated.to_numpy(), expected.to_numpy(), rtol=1e-9, atol=0.01)
    gains = review.gains()
    for _, curve in gains.groupby("ranking"):
        assert curve["account_share"].iloc[0] == 0 and curve["account_share"].iloc[-1] == 1
        assert curve["value_share"].iloc[0] == 0
        assert_allclose(curve["value_share"].iloc[-1], 1.0)


# -- segmentation ---------------------------------------------------------------------------
def test_segmentation_sections(review):
    assert review.status["pareto"].available
    classes = review.frame("pareto", "classes")
    assert list(classes["abc_class"]) == ["A", "B", "C"]
    assert_allclose(classes["revenue_share"].sum(), 1.0)
    curve = review.frame("pareto", "curve")
    assert curve["value_share"].between(0, 1).all()
    assert 0 < review.figures("pareto")["pareto_gini"] < 1
    if review.status["portfolio_matrix"].available:
        quadrants = review.frame("portfolio_matrix", "quadrants")
        points = review.frame("portfolio_matrix", "points")
        assert quadrants["accounts_count"].sum() == len(points)
        options = review.chart_options("portfolio_matrix")
        assert {"x_cut", "y_cut", "x_title", "y_title"} <= set(options)
    if review.status["segments"].available:
        segments = review.with_lang("zh").frame("segments", "segments")
        assert (
            segments["accounts_count"].sum() == review.figures("segments")["accounts_in_segments"]
        )


# -- groups ---------------------------------------------------------------------------------
def test_group_filter(demo):
    top = portfolio_review(demo, as_of=AS_OF, group="top20")
    assert len(top.members) == 20 and top.tier_table()["accounts_count"].sum() == 20
    assert len(top.ranking()) == 20
    assert top.migration.matrix.to_numpy().sum() == 20
    # the back-test cohort is the top 20 as they were a year earlier: no look-ahead
    assert top.validation.n_accounts <= 20
    ids = portfolio_review(demo, as_of=AS_OF, group="ids:A100001,A100002")
    assert set(ids.ranking()["account_id"]) == {"A100001", "A100002"}
    with pytest.raises(ConfigError, match="Valid groups"):
        portfolio_review(demo, as_of=AS_OF, group="best")


def test_methodology_from_a_file(demo, tmp_path):
    raw = resources.files("kamlib.resources").joinpath("methodology.yml").read_text("utf-8")
    path = tmp_path / "m.yml"
    path.write_text(raw.replace("min_score: 80", "min_score: 95"), encoding="utf-8")
    strict = portfolio_review(demo, as_of=AS_OF, methodology=str(path), group="top20")
    assert strict.tier_table()["min_score"].iloc[0] == 95
    assert strict.summary()["tier_strategic"] == 0


# -- an export with only accounts and orders -----------------------------------------------
def test_orders_only_store_degrades_gracefully(orders_only):
    review = portfolio_review(orders_only, as_of=AS_OF)
    assert {"opportunities", "contacts", "service_tickets", "activities"} <= set(
        review.missing_tables()
    )
    unavailable = set(review.unavailable_indicators())
    assert {"open_pipeline", "decision_maker_support", "sla_breach_rate_12m"} <= unavailable
    assert {"category_spend", "strategic_fit", "industry", "share_of_wallet"} <= unavailable
    table = review.indicator_table().set_index("indicator")
    assert table.loc["Open pipeline", "reason"] == "no opportunities table in the data"
    assert table.loc["SLA breaches", "status"] == "unavailable"
    zh = review.with_lang("zh").indicator_table()
    assert "数据中没有商机表" in set(zh["reason"])
    figures = review.key_figures()
    assert "Open pipeline" in figures["indicators_unavailable"]
    assert "Opportunities" in figures["tables_missing"]
    assert figures["max_score_possible"] < 100
    # the registry indicators are off (no firmographics), and the key figures say so
    assert review.off_indicators() == [
        "registry_capital", "insured_headcount", "years_established", "listed"
    ]
    assert "Insured headcount" in figures["indicators_off"]
    assert "参保人数" in review.with_lang("zh").key_figures()["indicators_off"]
    # still a complete review: tiers, migration, validation, numbers finite
    assert review.tier_table()["accounts_count"].sum() == len(review.members)
    assert review.migration is not None and review.validation is not None
    assert all(
        math.isfinite(x) for x in review.validation_figures().values() if isinstance(x, float)
    )
    assert np.isfinite(review.scores.scores["score"]).all()
    # no share of wallet: the portfolio matrix says why instead of failing the review
    assert not review.status["portfolio_matrix"].available
    assert review.empty_message("portfolio_matrix") == "section_failed"
    assert review.frame("portfolio_matrix", "points").empty
    assert "Scoring" in set(review.notices_table()["section"])


# -- the notebooks --------------------------------------------------------------------------
@pytest.mark.slow
def test_portfolio_review_notebook_runs_on_orders_only(orders_only, tmp_path):
    """The report notebook end to end (papermill) on an orders-only store, in Chinese."""
    import papermill as pm

    from kamlib.data import import_frames

    store = tmp_path / "orders_only.duckdb"
    import_frames(
        {"accounts": orders_only.accounts, "orders": orders_only.orders},
        store=store,
        now=pd.Timestamp("2026-10-01"),
    )
    out = tmp_path / "out.ipynb"
    pm.execute_notebook(
        str(NOTEBOOKS / "portfolio_review.ipynb"),
        str(out),
        parameters={"store": str(store), "as_of": AS_OF, "lang": "zh", "group": "top50"},
        cwd=str(tmp_path),
        progress_bar=False,
        kernel_name="python3",
    )
    nb = nbformat.read(out, as_version=4)
    html = "".join(
        o.get("data", {}).get("text/html", "") for c in nb.cells for o in c.get("outputs", [])
    )
    assert "数据中没有商机表" in html
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))


# -- the charts the report draws ----------------------------------------------------------
def _fields(node) -> set[str]:
    """Every ``field`` an encoding of a vega-lite spec reads."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "field" and isinstance(value, str):
                found.add(value)
            else:
                found |= _fields(value)
    elif isinstance(node, list):
        for item in node:
            found |= _fields(item)
    return found


def _columns(spec: dict) -> set[str]:
    cols = {k for rows in spec.get("datasets", {}).values() for row in rows for k in row}
    calculated = {
        t["as"] for t in _walk(spec, "transform") for t in t if isinstance(t, dict) and "as" in t
    }
    return cols | calculated


def _walk(node, key):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            yield from _walk(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, key)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_review_chart_builds(review, lang):
    from kamlib import charts

    review = review.with_lang(lang)
    built = [
        charts.tier_shares(review.tier_shares(), lang=lang),
        charts.score_distribution(review.score_distribution(), review.thresholds(), lang=lang),
        charts.tier_profile(review.tier_points(), lang=lang),
        charts.score_breakdown(review.breakdown(top=5), lang=lang),
        charts.pareto_curve(review.frame("pareto", "curve"), lang=lang),
        charts.portfolio_matrix(
            review.frame("portfolio_matrix", "points"),
            lang=lang,
            **review.chart_options("portfolio_matrix"),
        ),
        charts.migration_matrix(
            review.migration_matrix(), lang=lang, from_date=PREVIOUS, to_date=AS_OF
        ),
        charts.gains_curve(review.gains(), lang=lang),
        charts.segment_profiles(review.frame("segments", "profiles"), lang=lang),
    ]
    for chart in built:
        spec = chart.to_dict()  # validates against the vega-lite schema
        fields = {f.replace("\\", "") for f in _fields(spec)}
        assert fields <= _columns(spec), fields - _columns(spec)
        assert not any("." in f or ":" in f for f in fields)  # would be read as nested


def test_charts_of_an_unavailable_section_say_why(review):
    from kamlib import charts

    curve = review.frame("pareto", "curve").iloc[:0]  # what an unavailable section gives
    spec = charts.pareto_curve(curve, lang="zh", empty="pareto_no_revenue").to_dict()
    (rows,) = spec["datasets"].values()
    assert rows[0]["message"] == "近12个月没有客户产生销售额。"
    assert review.empty_message("pareto") == "nothing_to_show"  # available: the default


@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="no /usr/bin/chromium")
def test_rendered_review_draws_every_chart_offline(demo_store, tmp_path):
    """kam report portfolio_review on the demo, opened in headless Chromium, network cut."""
    from playwright.sync_api import sync_playwright

    from kamlib.reports.engine import ReportEngine

    with ReportEngine(store=demo_store, out=tmp_path / "out", notebook_dir=NOTEBOOKS) as engine:
        jobs = engine.plan("portfolio_review", as_of=AS_OF, parameters={"lang": "zh"})
        batch = engine.run(jobs)
    assert batch.ok, batch.to_frame()["error"].tolist()
    page_path = batch.results[0].path
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(viewport={"width": 1100, "height": 900})

        def only_local(route):
            if route.request.url.startswith("file://"):
                route.continue_()
            else:
                requests.append(route.request.url)
                route.abort()

        context.route("**/*", only_local)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(page_path.as_uri(), wait_until="load")
        expected = page.locator(".kamlib-chart").count()
        page.wait_for_function(
            "n => document.querySelectorAll('.vega-embed svg.marks').length >= n",
            arg=expected,
            timeout=30_000,
        )
        assert expected >= 9
        assert page.locator(".vega-embed svg.marks").count() == expected
        assert "战略客户" in page.content()
        browser.close()
    assert errors == [] and requests == []


# -- the view convention --------------------------------------------------------------------
def test_arguments_are_checked_once_with_the_parameter_named(demo, review):
    with pytest.raises(ConfigError, match=r"'as_of' parameter must be a date.*given to portfolio_review"):
        portfolio_review(demo, as_of="30/09/2026")
    with pytest.raises(ConfigError, match="report language"):
        portfolio_review(demo, as_of=AS_OF, lang="fr")
    with pytest.raises(ConfigError, match="'data' parameter of portfolio_review"):
        portfolio_review(42, as_of=AS_OF)
    with pytest.raises(ConfigError, match="report language"):
        review.with_lang("fr")
    zh = review.with_lang("zh")
    assert zh.lang == "zh" and review.lang == "en" and zh.scores is review.scores
