"""kamlib.segmentation: the rule language and its refusals, tags, ABC / Lorenz by hand, RFM by
hand, the portfolio matrix by hand, clusters on constructed blobs, target groups (named,
defined, resolved, recorded), the methodology file's tags / segments sections, and the whole
set on the small demo store."""

from __future__ import annotations

import copy
import itertools
import warnings
from importlib import resources

import numpy as np
import pandas as pd
import pytest
import yaml
from numpy.testing import assert_allclose

from kamlib.errors import ConfigError, DataQualityWarning, DataValidationError
from kamlib.methodology import KNOWN_FEATURES, load_methodology, parse_methodology
from kamlib.segmentation import (
    MEMBER_COLUMNS,
    RECORD_COLUMNS,
    abc_analysis,
    check_group_name,
    cluster_accounts,
    define_target_group,
    filter_accounts,
    lorenz_curve,
    parse_rule,
    portfolio_matrix,
    resolve_target_group,
    rfm_scores,
    tag_accounts,
    target_group,
)

AS_OF = "2026-09-30"


def frame(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame({"account_id": [f"A{i + 1}" for i in range(n)], **columns})


@pytest.fixture
def people() -> pd.DataFrame:
    """Five accounts; A3 has no growth, A5 no region."""
    return frame(
        revenue_12m=[150.0, 80.0, 60.0, 10.0, 10.0],
        growth_12m=[0.5, -0.3, np.nan, 0.1, 0.25],
        region=pd.array(["华东", "华北", "华南", "华东", None], dtype="str"),
        annual_revenue=[2e9, 5e8, 3e9, 1e7, np.nan],
        share_of_wallet=[0.01, 0.2, 0.04, 0.5, 0.01],
        category_spend=[1e7, 0.0, 2e6, 1e5, 3e6],
    )


# -- the rule language ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os')", r"calls are not allowed \(found \"__import__\('os'\)\"\)"),
        ("__import__('os').system('rm -rf /') == 0", "calls are not allowed"),
        ("open('/etc/passwd')", r"calls are not allowed \(found \"open\('/etc/passwd'\)\"\)"),
        ("len(region) > 2", "calls are not allowed"),
        ("growth_12m.real > 0", r"attribute access is not allowed \(found 'growth_12m.real'\)"),
        ("region.__class__ == 'x'", "attribute access is not allowed"),
        ("(lambda: 1)", "lambda is not allowed"),
        ("(lambda x: x)(growth_12m) > 0", "calls are not allowed"),
        ("region[0] == '华'", "indexing is not allowed"),
        ("[r for r in region]", "comprehensions are not allowed"),
        ("__builtins__", "names starting with '_' are not allowed"),
        ("_private > 1", "names starting with '_' are not allowed"),
        ("growth_12m ** 2 > 1", r"operator '\*\*' is not allowed"),
        ("revenue_12m // 2 > 1", "operator '//' is not allowed"),
        ("revenue_12m if growth_12m > 0 else 0", r"'\.\.\. if \.\.\. else \.\.\.' is not allowed"),
        ("(x := 1) > 0", "':=' is not allowed"),
        ("f'{region}' == 'x'", "f-strings are not allowed"),
        ("region is None", "'is' is not allowed; use == or !="),
        ("region == None", "the literal 'None' is not allowed"),
        ("region in {'华东'}", "sets are not allowed"),
        ("growth_12m & 1", "operator '&' is not allowed; use 'and'"),
        ("region = '华东'", r".* is not a valid rule \(invalid syntax.*\)\. Use == to compare"),
        ("growth_12m >", r"'growth_12m >' is not a valid rule"),
        ("", "the rule is empty"),
        ("[1, 2] == growth_12m", "a list can only follow 'in' or 'not in'"),
        ("region in [region]", "a list after 'in' may hold only numbers and quoted text"),
    ],
)
def test_rules_outside_the_whitelist_are_refused(text, message):
    with pytest.raises(ConfigError, match=r"Tag rule 'bad': " + message):
        parse_rule(text, where="Tag rule 'bad'")


def test_refused_rules_never_run(people, monkeypatch):
    import builtins

    called = []
    monkeypatch.setattr(builtins, "open", lambda *a, **k: called.append(a))
    with pytest.raises(ConfigError, match="calls are not allowed"):
        tag_accounts(people, {"bad": "open('/tmp/x') == 1"})
    assert called == []


def test_non_text_and_too_long_rules():
    with pytest.raises(ConfigError, match=r"a rule must be text.*Got 5 instead"):
        parse_rule(5, where="Filter")
    with pytest.raises(ConfigError, match="2001 characters long; at most 2000"):
        parse_rule("growth_12m > 0 " + " " * 1986, where="Filter")


def test_unknown_field_names_the_rule_and_lists_valid_fields(people):
    with pytest.raises(
        ConfigError,
        match=r"Tag rule 'big' \('revnue_12m > 100'\) uses unknown field 'revnue_12m'\. Did you "
        r"mean 'revenue_12m'\? Valid fields: revenue_12m, growth_12m, region, annual_revenue",
    ):
        tag_accounts(people, {"big": "revnue_12m > 100"})
    with pytest.raises(ConfigError, match=r"Filter .* uses unknown field 'colour'"):
        filter_accounts(people, "colour == 'red'")


def test_a_known_feature_missing_from_the_frame_is_a_data_error(people):
    with pytest.raises(
        DataValidationError, match=r"Required column 'recency_days' missing .*'lapsed'"
    ):
        tag_accounts(people, {"lapsed": "recency_days > 180"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("region > 5", r"region \(text\) is compared with 5 \(number\)"),
        ("region > 'a'", "text .* can only be compared with ==, !=, in or not in"),
        ("revenue_12m", "gives a number, not true/false"),
        ("revenue_12m and growth_12m > 0", "revenue_12m is number, not true/false"),
        ("region + 'x' == 'y'", "arithmetic needs numbers; region is text"),
        ("revenue_12m in ['a']", r"revenue_12m \(number\) is looked up in a list of text"),
    ],
)
def test_type_errors_are_config_errors(people, text, message):
    with pytest.raises(ConfigError, match=message):
        filter_accounts(people, text)


def test_rule_semantics_with_missing_values(people):
    def ids(expr):
        return list(filter_accounts(people, expr)["account_id"])

    # A3 has no growth: neither above nor at-or-below, and `not` does not make it true
    assert ids("growth_12m > 0.2") == ["A1", "A5"]
    assert ids("growth_12m <= 0.2") == ["A2", "A4"]
    assert ids("not growth_12m > 0.2") == ["A2", "A4"]
    # Kleene: unknown or true is true; unknown and false is false
    assert ids("growth_12m > 0.2 or region == '华南'") == ["A1", "A3", "A5"]
    # A3: unknown and False = False, so not(...) is True; A5: True and unknown = unknown
    assert ids("not (growth_12m > 0.2 and region == '华东')") == ["A2", "A3", "A4"]
    # lists, not in (A5 has no region: unknown), chains, arithmetic, division by zero
    assert ids("region in ['华东', '华南']") == ["A1", "A3", "A4"]
    assert ids("region not in ['华东']") == ["A2", "A3"]
    assert ids("0.01 < share_of_wallet <= 0.2") == ["A2", "A3"]
    assert ids("revenue_12m * 2 - 100 > 60") == ["A1"]  # A2: 80·2 − 100 = 60, not above
    assert ids("revenue_12m / category_spend > 0") == ["A1", "A3", "A4", "A5"]  # A2: x / 0 unknown
    assert ids("-growth_12m > 0.2") == ["A2"]
    assert ids("annual_revenue >= 1e9 and share_of_wallet < 0.05") == ["A1", "A3"]
    assert ids("revenue_12m >= 1_0 and True") == ["A1", "A2", "A3", "A4", "A5"]


def test_filter_keeps_the_frame_and_does_not_mutate(people):
    indexed = people.set_index("account_id")
    before = indexed.copy()
    got = filter_accounts(indexed, "revenue_12m >= 60")
    assert list(got.index) == ["A1", "A2", "A3"]
    assert got.columns.equals(indexed.columns)
    pd.testing.assert_frame_equal(indexed, before)


# -- tags -------------------------------------------------------------------------------------
def test_tag_accounts_by_hand(people):
    rules = {
        "large_but_small_customer": "annual_revenue >= 1e9 and share_of_wallet < 0.05",
        "growing": "growth_12m > 0.2",
        "in_east": "region in ['华东', '华南']",
        "growing_in_east": "growing and in_east",  # a tag may use the tags before it
    }
    tags = tag_accounts(people, rules)
    assert list(tags.columns) == ["account_id", *rules]
    assert all(tags[c].dtype == bool for c in rules)
    assert tags.to_dict("list") == {
        "account_id": ["A1", "A2", "A3", "A4", "A5"],
        "large_but_small_customer": [True, False, True, False, False],
        "growing": [True, False, False, False, True],  # A3: no growth → False
        "in_east": [True, False, True, True, False],  # A5: no region → False
        "growing_in_east": [True, False, False, False, False],
    }


def test_tags_of_the_default_methodology(people):
    meth = load_methodology()
    names = [t.name for t in meth.tags]
    assert {"big_company_small_customer", "growing", "east_or_south", "lapsing"} <= set(names)
    assert {t.name: t.kind for t in meth.tags}["east_or_south"] == "static"
    assert {t.name: t.kind for t in meth.tags}["growing"] == "dynamic"
    assert meth.tags[0].label("zh") == "大企业小客户"
    full = people.assign(
        **{
            c: np.nan
            for c in KNOWN_FEATURES
            if c not in people.columns and c not in ("industry", "ownership")
        }
    )
    tags = tag_accounts(full.set_index("account_id"))
    assert list(tags.columns) == ["account_id", *names]
    assert list(tags["big_company_small_customer"]) == [True, False, True, False, False]
    got = filter_accounts(full, "growing and east_or_south", tags=True)
    assert list(got["account_id"]) == ["A1"]


# -- ABC / Pareto / Lorenz --------------------------------------------------------------------
def eighty_twenty() -> pd.Series:
    """Ten accounts: A03 and A07 hold 40 each (80% of 100), eight hold 2.5 each."""
    values = {f"A{i:02d}": 2.5 for i in range(1, 11)}
    values["A03"] = values["A07"] = 40.0
    return pd.Series(values)


def test_abc_classic_eighty_twenty():
    abc = abc_analysis(eighty_twenty())
    assert list(abc.columns) == [
        "account_id",
        "value",
        "share",
        "cumulative_share",
        "rank",
        "abc_class",
    ]
    # ties (2.5) broken by account_id
    assert list(abc["account_id"]) == [
        "A03",
        "A07",
        "A01",
        "A02",
        "A04",
        "A05",
        "A06",
        "A08",
        "A09",
        "A10",
    ]
    assert list(abc["rank"]) == list(range(1, 11))
    # cumulative shares 0.40, 0.80, 0.825 … 1.0: A = the first two (20% of accounts, 80%);
    # B while the share before the account is below 0.95 (0.80 … 0.925); C the last two
    assert_allclose(
        abc["cumulative_share"], [0.4, 0.8, 0.825, 0.85, 0.875, 0.9, 0.925, 0.95, 0.975, 1.0]
    )
    assert "".join(abc["abc_class"]) == "AABBBBBBCC"


def test_abc_crossing_account_is_a_and_edge_values():
    # 50 + 35 = 85 ≥ 80: the account crossing 80% (A2, 50% → 85%) is still A
    values = pd.Series(
        {"A1": 50.0, "A2": 35.0, "A3": 10.0, "A4": 5.0, "A5": 0.0, "A6": -3.0, "A7": np.nan}
    )
    abc = abc_analysis(values)
    assert list(abc["account_id"]) == ["A1", "A2", "A3", "A4", "A5", "A6", "A7"]
    assert list(abc["abc_class"].fillna("-")) == ["A", "A", "B", "C", "C", "C", "-"]
    assert_allclose(abc["share"].iloc[:6], [0.5, 0.35, 0.1, 0.05, 0.0, 0.0])
    assert abc["rank"].iloc[6] is pd.NA and np.isnan(abc["cumulative_share"].iloc[6])
    assert abc["value"].iloc[5] == -3.0  # the value is kept as given
    with pytest.raises(ConfigError, match=r"0 < a < b <= 1.*Got a=0.9, b=0.8"):
        abc_analysis(values, a=0.9, b=0.8)


def test_abc_from_a_frame_column(people):
    abc = abc_analysis(people, column="revenue_12m", a=0.5, b=0.9)
    # 150/310 = 48% before A2 → A2 still A (crosses 50%); 74% before A3 → B; 94% → C
    assert list(abc["account_id"]) == ["A1", "A2", "A3", "A4", "A5"]
    assert "".join(abc["abc_class"]) == "AABCC"


def mean_abs_difference_gini(x: np.ndarray) -> float:
    """Gini = Σi Σj |xi − xj| / (2 n² mean), written out independently of lorenz_curve."""
    n = len(x)
    total = sum(abs(a - b) for a in x for b in x)
    return total / (2 * n * n * x.mean())


def test_lorenz_and_gini_by_hand():
    # 1, 2, 3, 4: pairwise |differences| 1+2+3+1+2+1 = 10, doubled 20; 20 / (2·16·2.5) = 0.25.
    # Lorenz points (0,0) (.25,.1) (.5,.3) (.75,.6) (1,1): area .25·(.1+.4+.9+1.6)/2 = .375,
    # Gini = 1 − 2·.375 = 0.25.
    curve = lorenz_curve(pd.Series({"A": 4.0, "B": 1.0, "C": 3.0, "D": 2.0}))
    assert_allclose(curve.points["account_share"], [0, 0.25, 0.5, 0.75, 1])
    assert_allclose(curve.points["value_share"], [0, 0.1, 0.3, 0.6, 1.0])
    assert curve.gini == pytest.approx(0.25)
    # one account holds everything: 1 − 1/n
    assert lorenz_curve(pd.Series({"A": 0.0, "B": 0.0, "C": 0.0, "D": 10.0})).gini == pytest.approx(
        0.75
    )
    # equal values: 0
    assert lorenz_curve(pd.Series({"A": 5.0, "B": 5.0})).gini == pytest.approx(0.0)


def test_lorenz_classic_eighty_twenty():
    curve = lorenz_curve(eighty_twenty())
    assert curve.top_share(0.2) == pytest.approx(0.8)
    assert curve.top_share(0.0) == pytest.approx(0.0) and curve.top_share(1.0) == pytest.approx(1.0)
    # by hand: pairs big–small differ by 37.5; 2·(2·8)·37.5 = 1200; 1200 / (2·100·10) = 0.6
    assert curve.gini == pytest.approx(0.6)
    assert curve.gini == pytest.approx(mean_abs_difference_gini(eighty_twenty().to_numpy()))
    pareto = curve.to_frame()
    assert_allclose(pareto.loc[pareto["account_share"].round(6) == 0.2, "value_share"], [0.8])
    assert curve.summary().loc[0, "top_20"] == pytest.approx(0.8)


def test_lorenz_bad_input():
    with pytest.raises(DataValidationError, match="no account has a positive value"):
        lorenz_curve(pd.Series({"A": 0.0, "B": np.nan}))
    with pytest.raises(DataValidationError, match="must be a pandas Series indexed by account_id"):
        lorenz_curve([1, 2, 3])
    with pytest.raises(DataValidationError, match="Required column 'revenue_12m' missing"):
        lorenz_curve(pd.DataFrame({"account_id": ["A"], "x": [1.0]}))


# -- RFM --------------------------------------------------------------------------------------
def test_rfm_quintiles_by_hand():
    # Ten accounts with distinct values: score = 1 + floor(5 × accounts strictly worse / 10),
    # so two accounts per score.  Recency: fewer days is better.
    f = frame(
        recency_days=[1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        orders_12m=[10.0, 9, 8, 7, 6, 5, 4, 3, 2, 1],
        revenue_12m=[100.0, 90, 80, 70, 60, 50, 40, 30, 20, 10],
    )
    result = rfm_scores(f)
    s = result.scores
    assert list(s.columns) == [
        "account_id", "recency", "frequency", "monetary", "r_score", "f_score", "m_score",
        "rfm_code", "segment",
    ]  # fmt: skip
    assert list(s["r_score"]) == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert list(s["f_score"]) == list(s["r_score"]) == list(s["m_score"])
    assert list(s["rfm_code"]) == [
        "555",
        "555",
        "444",
        "444",
        "333",
        "333",
        "222",
        "222",
        "111",
        "111",
    ]
    # the default table: 5/5/5 and 4/4/4 champions, 3/3/3 potential loyalist,
    # 2/2/2 hibernating, 1/1/1 lost
    assert (
        list(s["segment"])
        == ["champions"] * 4 + ["potential_loyalist"] * 2 + ["hibernating"] * 2 + ["lost"] * 2
    )
    assert result.method == {
        "recency": "quantiles",
        "frequency": "quantiles",
        "monetary": "quantiles",
    }
    summary = result.summary("zh")
    assert summary.loc[summary["segment"] == "champions", "label"].item() == "重要价值客户"
    assert summary.loc[summary["segment"] == "champions", "monetary_share"].item() == pytest.approx(
        340 / 550
    )


def test_rfm_ties_share_a_score_and_missing_values():
    # frequency 1,1,1,1,2,2,3,3,3,NaN: nine with a value.  Accounts strictly lower: 0 for the
    # ones (→ 1 + floor(0) = 1), 4 for the twos (1 + floor(20/9) = 3), 6 for the threes
    # (1 + floor(30/9) = 4).  The account without orders gets no score and segment 'other'.
    f = frame(
        recency_days=[5.0, 5, 5, 5, 5, 5, 5, 5, 5, np.nan],
        orders_12m=[1.0, 1, 1, 1, 2, 2, 3, 3, 3, np.nan],
        revenue_12m=[1.0, 2, 3, 4, 5, 6, 7, 8, 9, np.nan],
    )
    s = rfm_scores(f).scores
    assert list(s["f_score"].iloc[:9]) == [1, 1, 1, 1, 3, 3, 4, 4, 4]
    assert s["f_score"].iloc[9] is pd.NA and s["rfm_code"].isna().iloc[9]
    assert s["segment"].iloc[9] == "other"
    assert list(s["r_score"].iloc[:9]) == [1] * 9  # all equal: nobody is strictly worse


def test_rfm_cut_points_by_hand():
    f = frame(
        recency_days=[10.0, 30, 89, 90, 365, 400],
        orders_12m=[1.0, 2, 4, 7, 12, 20],
        revenue_12m=[0.0, 50_000, 199_999, 200_000, 1_500_000, 9e6],
    )
    result = rfm_scores(
        f,
        cut_points={
            "recency": [30, 90, 180, 365],
            "frequency": [2, 4, 8, 12],
            "monetary": [50_000, 200_000, 500_000, 1_500_000],
        },
    )
    s = result.scores
    # a value equal to a cut point goes to the band above it
    assert list(s["r_score"]) == [5, 4, 4, 3, 1, 1]
    assert list(s["f_score"]) == [1, 2, 3, 3, 5, 5]
    assert list(s["m_score"]) == [1, 2, 2, 3, 5, 5]
    assert result.method["recency"] == "cut points"
    partial = rfm_scores(f, cut_points={"recency": [30, 90, 180, 365]})
    assert partial.method == {
        "recency": "cut points",
        "frequency": "quantiles",
        "monetary": "quantiles",
    }
    with pytest.raises(ConfigError, match=r"3 cut points give 4 scores, but the scale has 5"):
        rfm_scores(f, cut_points={"recency": [30, 90, 180]})
    with pytest.raises(ConfigError, match="strictly increasing"):
        rfm_scores(f, cut_points={"recency": [30, 30, 180, 365]})
    with pytest.raises(ConfigError, match="Unknown RFM dimension 'recent'"):
        rfm_scores(f, cut_points={"recent": [1, 2, 3, 4]})


def test_rfm_segment_table_is_data_and_covers_every_score():
    table = load_methodology().segmentation.rfm.segments
    combos = pd.DataFrame(
        list(itertools.product(range(1, 6), repeat=3)), columns=["R", "F", "M"], dtype=float
    )
    segment = np.full(len(combos), None, dtype=object)
    for seg in table:
        hit = parse_rule(seg.rule, where=seg.key).evaluate(combos).to_numpy() & (segment == None)  # noqa: E711
        segment[hit] = seg.key
    assert not (segment == None).any()  # noqa: E711  every one of the 125 combinations has a segment
    named = dict(zip(map(tuple, combos.astype(int).to_numpy()), segment, strict=True))
    assert named[(5, 5, 5)] == "champions" and named[(1, 5, 5)] == "cannot_lose"
    assert (
        named[(1, 1, 1)] == "lost" and named[(5, 1, 1)] == "new" and named[(2, 4, 1)] == "at_risk"
    )
    # a custom rule table passed in
    f = frame(recency_days=[1.0, 50.0], orders_12m=[5.0, 1.0], revenue_12m=[10.0, 1.0])
    s = rfm_scores(f, quantiles=2, segments={"good": "R == 2 and F == 2", "rest": "True"}).scores
    assert list(s["segment"]) == ["good", "rest"]
    with pytest.raises(ConfigError, match=r"RFM segment 'x' .*uses unknown field 'Q'"):
        rfm_scores(f, segments={"x": "Q > 1"})
    with pytest.raises(ConfigError, match="quantiles must be a whole number from 2 to 10"):
        rfm_scores(f, quantiles=1)


# -- portfolio matrix -------------------------------------------------------------------------
@pytest.fixture
def four() -> pd.DataFrame:
    return frame(
        category_spend=[10.0, 1.0, 5.0, np.nan],
        growth_12m=[0.5, -0.1, 0.1, 0.2],
        strategic_fit=[5.0, 1.0, 3.0, 2.0],
        share_of_wallet=[0.4, 0.1, 0.05, 0.3],
    )


def test_portfolio_matrix_by_hand(four):
    # Percentile ranks: category_spend (A4 missing) A1 1, A2 1/3, A3 2/3; growth A1 1, A2 .25,
    # A3 .5, A4 .75; fit A1 1, A2 .25, A3 .75, A4 .5.  Weights .5/.25/.25:
    # A1 1; A2 .5/3 + .0625 + .0625 = .29167; A3 1/3 + .125 + .1875 = .64583;
    # A4 (.25·.75 + .25·.5)/.5 = .625 (weights re-normalised without category_spend).
    m = portfolio_matrix(four)
    assert_allclose(m.accounts["attractiveness"], [1.0, 0.5 / 3 + 0.125, 1 / 3 + 0.3125, 0.625])
    # median attractiveness (.625 + .64583)/2; median share of wallet (.1 + .3)/2 = .2
    assert m.attractiveness_threshold == pytest.approx((0.625 + 1 / 3 + 0.3125) / 2)
    assert m.position_threshold == pytest.approx(0.2)
    assert m.threshold_method == {"attractiveness": "median", "position": "median"}
    assert list(m.accounts["quadrant"]) == ["invest", "manage_for_cash", "develop", "maintain"]
    zh = m.to_frame("zh")
    assert list(zh["quadrant_label"]) == ["重点投入", "精简服务", "选择性投入", "维持"]
    summary = m.summary()
    assert list(summary["quadrant"]) == ["invest", "develop", "maintain", "manage_for_cash"]
    assert list(summary["accounts"]) == [1, 1, 1, 1]


def test_portfolio_matrix_options(four):
    scores = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3", "A4"],
            "score": [90.0, 20, 60, 40],
            "tier": ["strategic", "maintain", "key", "growth"],
        }
    )
    m = portfolio_matrix(
        four, scores, attractiveness="score", position="share_of_wallet",
        thresholds={"attractiveness": 50, "position": 0.1},
    )  # fmt: skip
    assert list(m.accounts["quadrant"]) == ["invest", "maintain", "develop", "maintain"]
    assert list(m.accounts["tier"]) == ["strategic", "maintain", "key", "growth"]
    assert m.summary()["score_mean"].iloc[0] == 90.0
    # an account without a position value has no quadrant
    gap = four.assign(share_of_wallet=[0.4, np.nan, 0.05, 0.3])
    got = portfolio_matrix(gap).accounts
    assert got["quadrant"].isna().tolist() == [False, True, False, False]
    assert got["high_position"].isna().tolist() == [False, True, False, False]
    with pytest.raises(ConfigError, match="takes the keys attractiveness and position"):
        portfolio_matrix(four, thresholds={"size": 1})
    with pytest.raises(DataValidationError, match="Required column 'colour' missing"):
        portfolio_matrix(four, position="colour")
    with pytest.raises(DataValidationError, match="no account has a value on the position axis"):
        portfolio_matrix(four.assign(share_of_wallet=np.nan))


# -- clusters ---------------------------------------------------------------------------------
GROUPS = ((0, 10), (10, 50), (50, 90))  # row ranges of the three constructed groups


def blobs(seed: int = 3) -> pd.DataFrame:
    """Three well-separated groups: 10 big growing accounts with a low share, 40 small
    shrinking ones with a middling share, 40 mid-sized steady ones with a high share.
    Revenue is skewed as in a real book (so it is log-transformed); the overall medians are
    the mid-sized group's revenue and growth and the small group's share."""
    rng = np.random.default_rng(seed)
    parts = []
    for n, revenue, growth, share in (
        (10, 5e6, 0.4, 0.02),
        (40, 2e4, -0.3, 0.3),
        (40, 4e5, 0.0, 0.6),
    ):
        parts.append(
            pd.DataFrame(
                {
                    "revenue_12m": revenue * np.exp(rng.normal(0, 0.1, n)),
                    "growth_12m": growth + rng.normal(0, 0.03, n),
                    "share_of_wallet": share + rng.normal(0, 0.01, n),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    out.insert(0, "account_id", [f"A{i:03d}" for i in range(len(out))])
    return out


def test_clusters_find_the_constructed_groups():
    data = blobs()
    cols = ["revenue_12m", "growth_12m", "share_of_wallet"]
    result = cluster_accounts(data, columns=cols, random_state=0)
    assert result.k == 3 and result.chosen_by == "silhouette"
    assert list(result.silhouette.index) == [2, 3, 4, 5, 6, 7, 8]
    assert result.silhouette.idxmax() == 3
    labels = result.labels["cluster"].to_numpy()
    # each constructed group is exactly one cluster
    for start, stop in GROUPS:
        assert len(set(labels[start:stop])) == 1
    assert len(set(labels)) == 3
    profiles = result.profiles.set_index("cluster")
    assert list(profiles["size"]) == [40, 40, 10]  # largest first; ties by smallest account_id
    big, small, mid = (int(labels[start]) for start, _stop in GROUPS)
    assert (small, mid, big) == (0, 1, 2)
    assert profiles.loc[big, "label"] == "large, growing, low share of wallet"
    assert profiles.loc[small, "label"] in ("small, shrinking", "shrinking, small")
    assert profiles.loc[mid, "label"] == "high share of wallet"
    assert profiles.loc[big, "label_zh"] == "规模大、增长、份额低"
    assert result.transforms["revenue_12m"] == "log1p"  # revenue is skewed
    assert profiles.loc[big, "revenue_12m"] == pytest.approx(np.median(data["revenue_12m"][:10]))
    # same seed, same clusters
    again = cluster_accounts(data, columns=cols, random_state=0)
    assert again.labels.equals(result.labels)


def test_clusters_given_k_missing_and_constant_columns():
    data = blobs()
    data.loc[5, "growth_12m"] = np.nan
    data["strategic_fit"] = 3.0
    result = cluster_accounts(
        data, columns=["revenue_12m", "growth_12m", "share_of_wallet", "strategic_fit"], k=2
    )
    assert result.k == 2 and result.chosen_by == "given"
    assert result.excluded == ("A005",)
    assert result.labels["cluster"].isna().tolist() == [i == 5 for i in range(90)]
    assert result.transforms["strategic_fit"] == "constant"
    assert result.profiles["size"].sum() == 89
    assert result.profiles["size"].iloc[0] >= result.profiles["size"].iloc[1]  # largest first
    assert list(result.to_frame("zh").columns) == ["account_id", "cluster", "cluster_label"]


def test_cluster_bad_input():
    data = blobs()
    with pytest.raises(
        ConfigError, match=r"'k' parameter of cluster_accounts must be a whole number from 2 to 89"
    ):
        cluster_accounts(data, columns=["revenue_12m"], k=1)
    with pytest.raises(
        ConfigError, match="'columns' parameter of cluster_accounts must be a non-empty list"
    ):
        cluster_accounts(data, columns="revenue_12m")
    with pytest.raises(DataValidationError, match="only 2 account"):
        cluster_accounts(data.head(2), columns=["revenue_12m"])
    same = data.assign(revenue_12m=1.0, growth_12m=0.0, share_of_wallet=0.1)
    with pytest.raises(DataValidationError, match="only 1 distinct combination"):
        cluster_accounts(same, columns=["revenue_12m", "growth_12m"])


# -- target groups ----------------------------------------------------------------------------
def full_features(**columns) -> pd.DataFrame:
    """Every feature column (NaN / missing text) with the given ones filled in."""
    n = len(next(iter(columns.values())))
    base = {c: (pd.array([None] * n, dtype="str") if t == "text" else np.full(n, np.nan))
            for c, (_k, t) in KNOWN_FEATURES.items()}  # fmt: skip
    base.update(columns)
    return pd.DataFrame(base, index=pd.Index([f"A{i + 1}" for i in range(n)], name="account_id"))


@pytest.fixture
def scores() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3", "A4", "A5"],
            "score": [85.0, 70.0, 55.0, 30.0, 65.0],
            "tier": ["strategic", "key", "growth", "maintain", "key"],
            "rank": [1, 2, 4, 5, 3],
        }
    )


def test_define_target_group_forms():
    rule = define_target_group(
        "wallet_gap2", "big_wallet and share_of_wallet < 0.15", label={"en": "Gap", "zh": "缺口"}
    )
    assert (rule.kind, rule.definition, rule.fields, rule.label("zh")) == (
        "rule",
        "big_wallet and share_of_wallet < 0.15",
        ("big_wallet", "share_of_wallet"),
        "缺口",
    )
    tiers = define_target_group("vip", "tiers: strategic, key")
    assert (tiers.kind, tiers.tiers, tiers.rule) == (
        "tiers",
        ("strategic", "key"),
        "tier in ['strategic', 'key']",
    )
    assert define_target_group("vip", ["strategic"]).tiers == ("strategic",)
    assert define_target_group("biggest", "top20").kind == "builtin"
    assert define_target_group("named", {"builtin": "ids:A1,A2"}).definition == "ids:A1,A2"


@pytest.mark.parametrize(
    ("name", "definition", "message"),
    [
        ("top5", "growth_12m > 0", "'top5' is the name of a built-in group"),
        ("strategic", "growth_12m > 0", "is the name of a built-in group"),
        ("bad name", "growth_12m > 0", "group name 'bad name' must be letters"),
        ("g", "tiers: vip", r"Unknown tier 'vip'\. Valid: strategic, key, growth, maintain"),
        ("g", "revnue > 1", r"Target group 'g' .* uses unknown field 'revnue'"),
        ("g", "__import__('os')", "calls are not allowed"),
        ("g", {"rule": "growth_12m > 0", "tiers": ["key"]}, "exactly one of rule, tiers, builtin"),
        ("g", {"builtin": "top0"}, "is not a built-in group"),
        ("g", 5, "a definition is a rule"),
    ],
)
def test_define_target_group_refuses(name, definition, message):
    with pytest.raises(ConfigError, match=message):
        define_target_group(name, definition)


def test_resolve_on_features_rules_tiers_and_builtins(scores):
    features = full_features(
        revenue_12m=[150.0, 80.0, 60.0, 10.0, 10.0],
        growth_12m=[0.5, -0.3, np.nan, 0.3, 0.25],
        region=pd.array(["华东", "华北", "华南", "华东", None], dtype="str"),
        share_of_wallet=[0.01, 0.2, 0.04, 0.5, 0.01],
        category_spend=[1e7, 0.0, 6e6, 1e5, 3e6],
    )
    key = resolve_target_group(features, "key_accounts", as_of=AS_OF, scores=scores, snapshot="abc")
    assert key.account_ids == ["A1", "A2", "A5"]  # by score rank
    assert (
        key.definition.kind == "tiers" and key.snapshot == "abc" and key.as_of.isoformat() == AS_OF
    )
    gap = resolve_target_group(features, "wallet_gap", as_of=AS_OF)  # uses the big_wallet tag
    assert gap.account_ids == ["A1", "A3"]
    custom = define_target_group("east_growers", "growing and east_or_south")
    assert resolve_target_group(features, custom, as_of=AS_OF).account_ids == ["A1", "A4"]
    mixed = define_target_group("mix", "tier == 'key' or abc_class == 'A'")
    # ABC on revenue_12m: A1 150/310 → A2 crosses 80%? 150, 230 (74%), 290 (94%): A = A1, A2, A3
    assert resolve_target_group(features, mixed, as_of=AS_OF, scores=scores).account_ids == [
        "A1",
        "A2",
        "A5",
        "A3",
    ]
    top = resolve_target_group(features, "top2", as_of=AS_OF)
    assert top.account_ids == ["A1", "A2"] and top.basis == "top 12-month revenue"
    assert resolve_target_group(features, "ids:A3,A1", as_of=AS_OF).account_ids == ["A3", "A1"]
    assert resolve_target_group(features, "all", as_of=AS_OF).account_ids == [
        "A1",
        "A2",
        "A3",
        "A4",
        "A5",
    ]
    # the strategic tier from given scores
    strategic = resolve_target_group(features, "strategic", as_of=AS_OF, scores=scores)
    assert (
        strategic.account_ids == ["A1"]
        and strategic.basis == "tier 'strategic' of the composite score"
    )


def test_strategic_falls_back_to_the_revenue_head_when_the_data_cannot_score():
    # only order features: the registry indicators are off (no firmographics: dropped, the
    # rest re-normalised over 0.92, which gives back the pre-registry weights); growth .05,
    # share of wallet .04, pipeline .07, margin .02, support .05, SLA .04, category spend .12,
    # fit .05 and industry .03 carry 47% of the weights and have no value → the Pareto head by
    # revenue (A1 150 + A2 80 of 310)
    features = full_features(
        revenue_12m=[150.0, 80.0, 60.0, 10.0, 10.0],
        recency_days=[29.0, 148, 263, 211, 210],
        active_quarter_share=[0.25, 0.125, 0.125, 0.125, 0.125],
        product_lines_12m=[0.0, 0, 0, 0, 0],
    )
    with pytest.warns(
        DataQualityWarning,
        match=r"Target group 'strategic' on 2026-09-30: no account has a value for .*category_spend.* 47% of the scoring weight",
    ):
        group = resolve_target_group(features, "strategic", as_of=AS_OF)
    assert group.account_ids == ["A1", "A2"]
    assert group.basis.startswith("revenue Pareto head") and "fallback" in group.basis


def test_group_records_are_ready_to_store(scores):
    features = full_features(revenue_12m=[150.0, 80.0, 60.0, 10.0, 10.0])
    group = resolve_target_group(
        features, "key_accounts", as_of=AS_OF, scores=scores, snapshot="snap1"
    )
    members = group.to_frame()
    assert list(members.columns) == MEMBER_COLUMNS
    assert members.to_dict("list") == {
        "group": ["key_accounts"] * 3,
        "as_of": [pd.Timestamp(AS_OF)] * 3,
        "snapshot": ["snap1"] * 3,
        "methodology": [load_methodology().fingerprint] * 3,
        "account_id": ["A1", "A2", "A5"],
        "position": [1, 2, 3],
    }
    record = group.record()
    assert list(record.columns) == RECORD_COLUMNS
    row = record.iloc[0]
    assert (row["kind"], row["definition"], row["rule"], row["members"]) == (
        "tiers",
        "strategic, key",
        "tier in ['strategic', 'key']",
        3,
    )
    assert row["label_zh"] == "战略及重点客户"
    empty = resolve_target_group(
        features, define_target_group("none", "revenue_12m > 1e12"), as_of=AS_OF
    )
    assert len(empty) == 0 and empty.to_frame().empty and empty.record().loc[0, "members"] == 0


def test_resolve_bad_input(scores):
    features = full_features(revenue_12m=[1.0, 2.0])
    with pytest.raises(
        ConfigError,
        match=r"Target group 'nope' is not known\. Valid groups: all, top<N> .*, or a group of the methodology file: key_accounts, wallet_gap",
    ):
        resolve_target_group(features, "nope", as_of=AS_OF)
    dated = features.copy()
    dated.attrs["kamlib.features"] = {"as_of": ["2026-06-30"]}
    with pytest.raises(ConfigError, match="The features frame is as of 2026-06-30, not 2026-09-30"):
        resolve_target_group(dated, "all", as_of=AS_OF)
    with pytest.raises(DataValidationError, match="must be a KamData"):
        resolve_target_group([1, 2], "all", as_of=AS_OF)
    with pytest.raises(ConfigError, match=r"names accounts that do not exist on 2026-09-30: A9"):
        resolve_target_group(features, "ids:A1,A9", as_of=AS_OF)


def test_check_group_name_accepts_named_groups():
    assert check_group_name(" wallet_gap ") == "wallet_gap"
    assert check_group_name("TOP10") == "TOP10"
    with pytest.raises(
        ConfigError, match=r"Target group 'biggest' is not known. Valid groups: all, top<N>"
    ):
        check_group_name("biggest")


# -- the methodology file's tags and segments sections ------------------------------------------
@pytest.fixture
def raw() -> dict:
    text = resources.files("kamlib.resources").joinpath("methodology.yml").read_text("utf-8")
    return copy.deepcopy(yaml.safe_load(text))


def test_file_without_tags_and_segments_still_loads(raw):
    del raw["tags"], raw["segments"]
    meth = parse_methodology(raw, source="m.yml")
    assert meth.tags == ()
    assert meth.segmentation.groups == () and meth.segmentation.rfm is None
    assert (
        meth.segmentation.abc.a == 0.8 and meth.segmentation.portfolio.position == "share_of_wallet"
    )
    with pytest.raises(
        ConfigError, match=r"m\.yml: the methodology file has no 'segments.rfm' section"
    ):
        rfm_scores(frame(recency_days=[1.0], orders_12m=[1.0], revenue_12m=[1.0]), methodology=meth)
    with pytest.raises(
        ConfigError, match=r"Valid groups: all, top<N> \(e\.g\. top10\), strategic, ids:A,B,C\.$"
    ):
        check_group_name("wallet_gap", methodology=meth)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda r: r["tags"].update(x="revnue_12m > 1"),
            r"m\.yml tags\.x\) \('revnue_12m > 1'\) uses unknown field 'revnue_12m'\. Did you mean 'revenue_12m'\?",
        ),
        (
            lambda r: r["tags"].update(x="__import__('os').system('echo hi') == 0"),
            r"Tag rule 'x' \(m\.yml tags\.x\): calls are not allowed",
        ),
        (
            lambda r: r["tags"].update(x="growth_12m.__class__ == 1"),
            "attribute access is not allowed",
        ),
        (
            lambda r: r["tags"].update(x="region > 3"),
            r"region \(text\) is compared with 3 \(number\)",
        ),
        (lambda r: r["tags"].update(revenue_12m="growth_12m > 0"), "is a feature or score column"),
        (
            lambda r: r["tags"].update(
                x={"rule": "growth_12m > 0", "label": {"en": "a", "b": None}}
            ),
            r"tags\.x\.label: the label has unknown key\(s\) \['b'\].*must be quoted",
        ),
        (
            lambda r: r["segments"]["groups"].update(top5="growth_12m > 0"),
            "is the name of a built-in group",
        ),
        (lambda r: r["segments"]["groups"].update(g={"tiers": ["vip"]}), "Unknown tier 'vip'"),
        (
            lambda r: r["segments"]["groups"].update(g="no_such_tag and growing"),
            "unknown field 'no_such_tag'",
        ),
        (
            lambda r: r["segments"].update(colour=1),
            r"m\.yml: unknown key 'colour' at segments\.colour\. Valid keys there: groups, abc",
        ),
        (
            lambda r: r["segments"]["rfm"].update(cut_points={"recency": [30, 90]}),
            "2 cut points give 3 scores, but the scale has 5",
        ),
        (
            lambda r: r["segments"]["rfm"]["segments"].append({"key": "x", "rule": "R >= open(1)"}),
            r"RFM segment 'x' .*calls are not allowed",
        ),
        (
            lambda r: r["segments"]["rfm"]["segments"].append(
                {"key": "champions", "rule": "R > 1"}
            ),
            "segment 'champions' is listed twice",
        ),
        (lambda r: r["segments"]["abc"].update(a=0.99), r"0 < a < b <= 1"),
        (
            lambda r: r["segments"]["portfolio"].update(position="region"),
            "'region' is a text feature",
        ),
        (
            lambda r: r["segments"]["portfolio"].update(quadrants={"stars": "x"}),
            "Unknown quadrant 'stars'",
        ),
    ],
)
def test_bad_tags_and_segments_are_refused_on_load(raw, edit, message):
    edit(raw)
    with pytest.raises(ConfigError, match=message):
        parse_methodology(raw, source="m.yml")


def test_quadrant_labels_and_thresholds_from_the_file(raw, four):
    raw["segments"]["portfolio"] = {
        "attractiveness": "category_spend",
        "thresholds": {"attractiveness": 4, "position": "median"},
        "quadrants": {"develop": {"label": {"en": "Hunt", "zh": "开拓"}}},
    }
    meth = parse_methodology(raw, source="m.yml")
    m = portfolio_matrix(four, methodology=meth)
    assert m.attractiveness == "category_spend" and m.attractiveness_threshold == 4.0
    assert list(m.to_frame()["quadrant_label"].fillna("-")) == [
        "Invest for growth",
        "Manage for cash",
        "Hunt",
        "-",
    ]


# -- on the demo company ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(demo_store):
    from kamlib.data import load
    from kamlib.features import account_features

    data = load(demo_store)
    return data, account_features(data, as_of=AS_OF)


def test_demo_tags_equal_a_plain_pandas_reference(demo):
    _data, features = demo
    tags = tag_accounts(features).set_index("account_id")
    f = features
    with np.errstate(invalid="ignore"):
        reference = {
            "big_company_small_customer": (f["annual_revenue"] >= 1e9)
            & (f["share_of_wallet"] < 0.05),
            "growing": f["growth_12m"] > 0.2,
            "east_or_south": f["region"].isin(["华东", "华南"]),
            "service_strain": (f["sla_breach_rate_12m"] > 0.3) | (f["escalations_12m"] >= 2),
        }
    for name, expected in reference.items():
        assert tags[name].equals(expected.astype(bool).rename(name)), name
    assert 0 < tags["growing"].sum() < len(tags)


def test_demo_pareto_rfm_matrix_and_clusters(demo):
    _data, features = demo
    revenue = features["revenue_12m"]
    abc = abc_analysis(features)
    a = abc[abc["abc_class"] == "A"]
    assert a["cumulative_share"].iloc[-1] >= 0.8 > a["cumulative_share"].iloc[-2]
    assert abc["abc_class"].isna().sum() == revenue.isna().sum()
    curve = lorenz_curve(features)
    known = revenue.dropna().clip(lower=0).to_numpy()
    assert curve.gini == pytest.approx(mean_abs_difference_gini(known))
    assert 0.5 < curve.gini < 0.95 and curve.accounts == len(known)

    rfm = rfm_scores(features).scores
    assert rfm["segment"].notna().all()
    champions = rfm[rfm["segment"] == "champions"]
    assert len(champions) and (champions[["r_score", "f_score", "m_score"]] >= 4).all().all()
    assert (rfm["segment"] == "other").sum() == rfm["recency"].isna().sum()

    matrix = portfolio_matrix(features)
    placed = matrix.accounts["quadrant"].notna()
    assert (
        placed.sum() == (matrix.accounts[["attractiveness", "position"]].notna().all(axis=1)).sum()
    )
    assert set(matrix.accounts.loc[placed, "quadrant"]) == {
        "invest",
        "develop",
        "maintain",
        "manage_for_cash",
    }
    assert abs(matrix.accounts.loc[placed, "high_position"].mean() - 0.5) < 0.1

    clusters = cluster_accounts(features, random_state=0)
    assert 2 <= clusters.k <= 8
    assert clusters.silhouette[clusters.k] == clusters.silhouette.max()
    assert clusters.profiles["size"].sum() + len(clusters.excluded) == len(features)
    assert clusters.profiles["label"].str.len().gt(0).all()


def test_demo_strategic_group_is_the_strategic_tier(demo):
    from kamlib.scoring import score_accounts

    data, features = demo
    scored = score_accounts(features).scores
    expected = list(scored.loc[scored["tier"] == "strategic", "account_id"])
    assert expected
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)  # no fallback on the demo company
        got = target_group(data, "strategic", as_of=AS_OF)
    assert list(got.columns) == ["account_id", "name"]
    assert list(got["account_id"]) == expected
    group = resolve_target_group(data, "strategic", as_of=AS_OF)
    assert group.account_ids == expected and group.snapshot == data.snapshot.fingerprint


def test_demo_named_groups_by_name(demo):
    from kamlib.scoring import score_accounts

    data, features = demo
    scored = score_accounts(features).scores
    key = target_group(data, "key_accounts", as_of=AS_OF)
    assert list(key["account_id"]) == list(
        scored.loc[scored["tier"].isin(["strategic", "key"]), "account_id"]
    )
    assert key["name"].notna().all()
    gap = resolve_target_group(data, "wallet_gap", as_of=AS_OF)
    f = features.loc[gap.account_ids]
    assert (f["category_spend"] >= 5e6).all() and (f["share_of_wallet"] < 0.15).all()
    at_risk = resolve_target_group(data, "rfm_at_risk", as_of=AS_OF)
    assert len(at_risk) > 0
    record = at_risk.record().iloc[0]
    assert record["snapshot"] == data.snapshot.fingerprint and record["members"] == len(at_risk)
