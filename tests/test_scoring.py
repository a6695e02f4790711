"""kamlib.scoring: points, scores and tiers by hand; AHP against Saaty's published examples;
the entropy weight method by hand; data-implied weights; history, migration, validation; the
`kam score` command."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from numpy.testing import assert_allclose

from kamlib.errors import ConfigError, DataQualityWarning, DataValidationError
from kamlib.methodology import (
    KNOWN_FEATURES,
    WeightsNormalisedWarning,
    load_methodology,
    parse_scoring,
)
from kamlib.scoring import (
    ConstantCriterionWarning,
    ahp_weights,
    data_weights,
    entropy_weights,
    indicator_points,
    ranking_gini,
    score_accounts,
    score_history,
    tier_migration,
    validate_scores,
)

TINY = """
indicators:
  - name: revenue_12m
    missing: 0
    bands:
      - {max: 100, points: 0}
      - {min: 100, max: 500, points: 50}
      - {min: 500, points: 100}
  - name: growth_12m
    missing: exclude
    bands:
      - {max: 0, points: 0}
      - {min: 0, points: 100}
  - name: industry
    missing: exclude
    categories: {Machinery: 100, Textiles: 20}
    other: 50
weights:
  method: manual
  values: {revenue_12m: 0.5, growth_12m: 0.3, industry: 0.2}
tiers:
  - {key: a, label: {en: A, zh: 甲}, min_score: 70}
  - {key: b, label: {en: B, zh: 乙}, min_score: 40}
  - {key: c, label: {en: C, zh: 丙}, min_score: 0}
"""


def tiny_model(**changes):
    raw = yaml.safe_load(TINY)
    raw.update(changes)
    return parse_scoring(raw, source="tiny")


def tiny_features() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3", "A4", "A5"],
            "revenue_12m": [600.0, 200.0, np.nan, 100.0, -10.0],
            "growth_12m": [0.1, np.nan, -0.5, 0.0, np.nan],
            "industry": ["Machinery", " textiles", "Mining", None, None],
        }
    )


# Hand calculation (weights 0.5 / 0.3 / 0.2; an excluded indicator's weight is spread over
# the others by dividing by the weight that remains):
#   A1: 600 → 100, 0.1 → 100, Machinery → 100          0.5·100 + 0.3·100 + 0.2·100 = 100
#   A2: 200 → 50, growth excluded, textiles → 20         (0.5·50 + 0.2·20) / 0.7 = 290/7
#   A3: no revenue → 0 (configured), −0.5 → 0, Mining → other 50     0.2·50 = 10
#   A4: 100 → 50 (min included), 0 → 100, industry excluded   (0.5·50 + 0.3·100) / 0.8 = 68.75
#   A5: −10 → 0 (open-below band), growth and industry excluded   0.5·0 / 0.5 = 0
HAND = {"A1": 100.0, "A2": 290 / 7, "A3": 10.0, "A4": 68.75, "A5": 0.0}


def test_scores_tiers_and_ranks_match_the_hand_calculation():
    result = score_accounts(tiny_features(), tiny_model())
    s = result.scores.set_index("account_id")
    assert_allclose(s.loc[list(HAND), "score"], list(HAND.values()), rtol=0, atol=1e-12)
    assert s["tier"].to_dict() == {"A1": "a", "A4": "b", "A2": "b", "A3": "c", "A5": "c"}
    assert result.scores["account_id"].tolist() == ["A1", "A4", "A2", "A3", "A5"]
    assert result.scores["rank"].tolist() == [1, 2, 3, 4, 5]
    assert_allclose(s.loc[["A1", "A2", "A3", "A4", "A5"], "coverage"], [1, 0.7, 1, 0.8, 0.5])
    assert not s["pareto"].any()


def test_explanations_show_points_weights_and_missing_reasons():
    result = score_accounts(tiny_features(), tiny_model())
    e = result.explanations.set_index(["account_id", "indicator"])
    a2_growth = e.loc[("A2", "growth_12m")]
    assert math.isnan(a2_growth["points"]) and a2_growth["weight"] == 0
    assert a2_growth["contribution"] == 0 and a2_growth["configured_weight"] == 0.3
    assert a2_growth["missing_reason"] == (
        "no value; excluded, the other indicators' weights re-normalised"
    )
    a2_ind = e.loc[("A2", "industry")]
    assert a2_ind["raw_value"] == " textiles" and a2_ind["band"] == "Textiles"
    assert a2_ind["weight"] == pytest.approx(0.2 / 0.7)
    assert a2_ind["contribution"] == pytest.approx(20 * 0.2 / 0.7)
    a3_rev = e.loc[("A3", "revenue_12m")]
    assert a3_rev["band"] == "missing" and a3_rev["points"] == 0
    assert a3_rev["missing_reason"] == "no value; scored 0 points as configured"
    assert e.loc[("A3", "industry"), "band"] == "other"
    assert pd.isna(e.loc[("A3", "industry"), "missing_reason"])
    assert e.loc[("A4", "revenue_12m"), "band"] == "100 – < 500"
    assert e.loc[("A5", "revenue_12m"), "band"] == "< 100"
    assert e.loc[("A1", "revenue_12m"), "kind"] == "dynamic"
    assert e.loc[("A1", "industry"), "kind"] == "static"
    assert list(result.explanations.columns) == [
        "account_id", "indicator", "kind", "feature", "raw_value", "band", "points",
        "configured_weight", "weight", "contribution", "missing_reason",
    ]  # fmt: skip
    assert result.explain("A2")["indicator"].tolist() == ["revenue_12m", "growth_12m", "industry"]


def test_scores_are_exactly_the_sum_of_contributions():
    rng = np.random.default_rng(1)
    n = 400
    features = pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(n)],
            "revenue_12m": np.where(rng.random(n) < 0.2, np.nan, rng.lognormal(5, 2, n)),
            "growth_12m": np.where(rng.random(n) < 0.3, np.nan, rng.normal(0, 0.5, n)),
            "industry": rng.choice(["Machinery", "Textiles", "Other", None], n),
        }
    )
    result = score_accounts(features, tiny_model())
    by_account = result.explanations.groupby("account_id")["contribution"].apply(math.fsum)
    scores = result.scores.set_index("account_id")["score"]
    assert (scores == by_account.reindex(scores.index)).all()  # exactly, not approximately
    contributions = result.contributions.set_index("account_id")
    assert (contributions.apply(math.fsum, axis=1) == scores).all()
    wide = result.to_frame()
    assert list(wide.columns) == [
        "account_id",
        "score",
        "tier",
        "revenue_12m",
        "growth_12m",
        "industry",
    ]
    assert_allclose(
        wide[["revenue_12m", "growth_12m", "industry"]].sum(axis=1), wide["score"], atol=1e-9
    )
    assert np.isfinite(wide["score"]).all()
    assert wide["score"].between(0, 100).all()


def test_score_on_a_threshold_is_in_the_higher_tier():
    # weights 0.05 / 0.1 / 0.85; industry unknown, so the others get 1/3 and 2/3:
    # 40/3 + 200/3 = 80 exactly, but 79.99999999999999 in floating point
    raw = yaml.safe_load(TINY)
    raw["indicators"][0]["bands"] = [{"max": 500, "points": 0}, {"min": 500, "points": 40}]
    raw["weights"]["values"] = {"revenue_12m": 0.05, "growth_12m": 0.1, "industry": 0.85}
    raw["tiers"] = [{"key": "a", "min_score": 80}, {"key": "b", "min_score": 0}]
    features = pd.DataFrame(
        {"account_id": ["X", "Y"], "revenue_12m": [600.0, 1.0], "growth_12m": [0.1, -1.0],
         "industry": [None, "Textiles"]}
    )  # fmt: skip
    s = score_accounts(features, parse_scoring(raw)).scores.set_index("account_id")
    assert s.loc["X", "score"] == 79.99999999999999
    assert s.loc["X", "tier"] == "a"


def test_pareto_rule_lifts_the_revenue_head():
    # positive revenue: A1 600, A2 200, A4 100 (total 900); shares before each: 0, 0.667, 0.889
    model = tiny_model(pareto={"feature": "revenue_12m", "share": 0.7, "min_tier": "a"})
    s = score_accounts(tiny_features(), model).scores.set_index("account_id")
    assert s.loc["A2", "tier"] == "a" and s.loc["A2", "tier_by_score"] == "b"
    assert s.loc["A2", "pareto"] and not s.loc["A1", "pareto"]  # A1 was "a" anyway
    assert s.loc["A4", "tier"] == "b"
    half = tiny_model(pareto=[{"feature": "revenue_12m", "share": 0.5, "min_tier": "a"}])
    assert score_accounts(tiny_features(), half).scores["pareto"].sum() == 0


def test_summary_and_labels():
    result = score_accounts(tiny_features(), tiny_model())
    summary = result.summary(lang="zh")
    assert summary[["tier", "label", "accounts"]].values.tolist() == [
        ["a", "甲", 1], ["b", "乙", 2], ["c", "丙", 2],
    ]  # fmt: skip
    assert summary["share"].sum() == pytest.approx(1)
    assert result.to_frame(lang="en")["tier"].tolist() == ["A", "B", "B", "C", "C"]


def test_out_of_range_and_unlisted_values_follow_the_missing_rule():
    raw = yaml.safe_load(TINY)
    raw["indicators"][0]["bands"][0] = {"min": 0, "max": 100, "points": 0}
    raw["indicators"][0]["missing"] = 10
    raw["indicators"][2].pop("other")
    result = score_accounts(tiny_features(), parse_scoring(raw))
    e = result.explanations.set_index(["account_id", "indicator"])
    assert e.loc[("A5", "revenue_12m"), "points"] == 10
    assert e.loc[("A5", "revenue_12m"), "missing_reason"] == (
        "value -10 is below the lowest band (min 0); scored 10 points as configured"
    )
    assert e.loc[("A3", "industry"), "missing_reason"].startswith(
        "'Mining' is not in the category table; excluded"
    )


def test_account_without_any_scored_indicator_warns_and_scores_zero():
    features = pd.DataFrame(
        {"account_id": ["A", "B"], "revenue_12m": [600.0, 1.0], "growth_12m": [np.nan, 1.0],
         "industry": [None, "Machinery"]}
    )  # fmt: skip
    raw = yaml.safe_load(TINY)
    raw["indicators"][0]["missing"] = "exclude"
    features.loc[0, "revenue_12m"] = np.nan
    with pytest.warns(
        DataQualityWarning, match=r"1 account\(s\) had no scored indicator .*: A\. They score 0"
    ):
        result = score_accounts(features, parse_scoring(raw))
    s = result.scores.set_index("account_id")
    assert s.loc["A", "score"] == 0 and s.loc["A", "coverage"] == 0 and s.loc["A", "tier"] == "c"


def test_indicator_unknown_for_every_account_warns():
    features = tiny_features().assign(growth_12m=np.nan)
    with pytest.warns(DataQualityWarning, match=r"Indicator\(s\) growth_12m had no usable value"):
        result = score_accounts(features, tiny_model())
    assert np.isfinite(result.scores["score"]).all()


def test_weights_argument_overrides_and_is_normalised():
    with pytest.warns(WeightsNormalisedWarning, match=r"sum to 2, not 1"):
        result = score_accounts(
            tiny_features(),
            tiny_model(),
            weights={"revenue_12m": 2, "growth_12m": 0, "industry": 0},
        )
    assert result.weight_method == "given"
    s = result.scores.set_index("account_id")["score"]
    assert s.to_dict() == {"A1": 100, "A4": 50, "A2": 50, "A3": 0, "A5": 0}
    with pytest.raises(ConfigError, match=r"no weight for indicator\(s\) industry"):
        score_accounts(tiny_features(), tiny_model(), weights={"revenue_12m": 1, "growth_12m": 0})


@pytest.mark.parametrize(
    ("features", "exc", "message"),
    [
        (tiny_features().drop(columns="growth_12m"), DataValidationError,
         r"Required column 'growth_12m' missing from the features frame \(indicator 'growth_12m' needs it\)"),
        (tiny_features().drop(columns="account_id"), DataValidationError, r"Required column 'account_id' missing"),
        (pd.concat([tiny_features(), tiny_features().head(1)]), DataValidationError,
         r"1 duplicate account_id value\(s\), e\.g\. 'A1'"),
        (tiny_features().assign(revenue_12m=["1", "2", "lots", None, "5"]), DataValidationError,
         r"Column 'revenue_12m' of the features frame holds 'lots' \(account 'A3'\): expected a number"),
        ([1, 2], DataValidationError, r"must be a pandas DataFrame .* Got list instead"),
    ],
)  # fmt: skip
def test_bad_features(features, exc, message):
    with pytest.raises(exc, match=message):
        score_accounts(features, tiny_model())


def test_methodology_argument_must_be_loaded_not_a_path(tmp_path):
    with pytest.raises(ConfigError, match=r"kamlib\.methodology\.load_methodology\(path\)"):
        score_accounts(tiny_features(), str(tmp_path / "m.yml"))


def test_features_frame_is_not_modified():
    features = tiny_features()
    before = features.copy()
    score_accounts(features, tiny_model())
    pd.testing.assert_frame_equal(features, before)


def default_features(n: int = 300, seed: int = 3) -> pd.DataFrame:
    """A features frame with every account_features column, some values missing."""
    rng = np.random.default_rng(seed)
    out = {"account_id": [f"C{i:04d}" for i in range(n)]}
    for name, (_, kind) in KNOWN_FEATURES.items():
        if kind == "text":
            values = rng.choice(["Machinery", "Textiles", "Mining", "Auto parts"], n).astype(object)
        elif name == "strategic_fit":
            values = rng.integers(1, 6, n).astype(float)
        elif name.endswith(("_share", "_rate_12m", "wallet", "margin_12m")):
            values = rng.random(n)
        elif name == "growth_12m":
            values = rng.normal(0, 0.4, n)
        elif name in ("listed", "economic_buyer_known"):  # 0/1 flags
            values = rng.integers(0, 2, n).astype(float)
        elif name == "years_established":
            values = rng.uniform(0, 40, n)
        else:
            values = rng.lognormal(10, 2.5, n)
        values = values.astype(object) if kind == "text" else values.astype(float)
        values[rng.random(n) < 0.1] = None if kind == "text" else np.nan
        out[name] = values
    return pd.DataFrame(out)


def test_default_methodology_never_gives_nan_scores():
    features = default_features()
    result = score_accounts(features)
    model = load_methodology().scoring
    assert len(result.scores) == len(features)
    assert np.isfinite(result.scores["score"]).all()
    assert result.scores["score"].between(0, 100).all()
    assert set(result.scores["tier"]) <= set(model.tier_keys)
    wide = result.to_frame()
    assert list(wide.columns) == ["account_id", "score", "tier", *model.names]
    assert_allclose(wide[list(model.names)].sum(axis=1), wide["score"], atol=1e-9)
    # the fewest accounts that make half of revenue_12m are at least Key
    revenue = features.set_index("account_id")["revenue_12m"].sort_values(ascending=False)
    head = revenue.index[(revenue.cumsum().shift(fill_value=0) / revenue.sum()) < 0.5]
    tiers = result.scores.set_index("account_id")["tier"]
    assert tiers[head].isin(["strategic", "key"]).all()


def test_entropy_method_weights_the_points():
    model = tiny_model(weights={"method": "entropy"})
    features = tiny_features()
    points = indicator_points(features, model)
    result = score_accounts(features, model)
    assert result.weight_method == "entropy"
    expected = entropy_weights(points.drop(columns="account_id"))
    assert_allclose(result.weights.to_numpy(), expected.to_numpy())
    with pytest.raises(
        DataValidationError,
        match=r"Indicator 'growth_12m' is excluded \(missing\) for every one of the 5 accounts",
    ):
        score_accounts(features.assign(growth_12m=np.nan), model)


# --- AHP ---------------------------------------------------------------------------------------

# Saaty, T. L. (1990). How to make a decision: The Analytic Hierarchy Process. European Journal
# of Operational Research 48, 9–26, Table 2: pairwise comparison of the eight criteria for
# buying a house (size, transportation, neighbourhood, age, yard, modern facilities, general
# condition, financing), with published priorities .173 .054 .188 .018 .031 .036 .167 .333,
# λmax = 9.669, C.I. = 0.238, C.R. = 0.169.
HOUSE = [
    [1, 5, 3, 7, 6, 6, 1 / 3, 1 / 4],
    [1 / 5, 1, 1 / 3, 5, 3, 3, 1 / 5, 1 / 7],
    [1 / 3, 3, 1, 6, 3, 4, 6, 1 / 5],
    [1 / 7, 1 / 5, 1 / 6, 1, 1 / 3, 1 / 4, 1 / 7, 1 / 8],
    [1 / 6, 1 / 3, 1 / 3, 3, 1, 1 / 2, 1 / 5, 1 / 6],
    [1 / 6, 1 / 3, 1 / 4, 4, 2, 1, 1 / 5, 1 / 6],
    [3, 5, 1 / 6, 7, 5, 5, 1, 1 / 2],
    [4, 7, 5, 8, 6, 6, 2, 1],
]
HOUSE_LABELS = ["size", "transportation", "neighbourhood", "age", "yard", "modern", "condition", "financing"]  # fmt: skip

# Saaty, T. L. (2008). Decision making with the analytic hierarchy process. Int. J. Services
# Sciences 1(1), 83–98, Table 2: relative consumption of drinks in the USA, eigenvector
# .177 .019 .042 .116 .190 .129 .327 (actual consumption .180 .010 .040 .120 .180 .140 .330).
DRINKS = [
    [1, 9, 5, 2, 1, 1, 1 / 2],
    [1 / 9, 1, 1 / 3, 1 / 9, 1 / 9, 1 / 9, 1 / 9],
    [1 / 5, 3, 1, 1 / 3, 1 / 4, 1 / 3, 1 / 9],
    [1 / 2, 9, 3, 1, 1 / 2, 1, 1 / 3],
    [1, 9, 4, 2, 1, 2, 1 / 2],
    [1, 9, 3, 1, 1 / 2, 1, 1 / 3],
    [2, 9, 9, 3, 2, 3, 1],
]


def test_ahp_reproduces_saaty_1990_house_example():
    with pytest.raises(
        ConfigError,
        match=r"too inconsistent: consistency ratio 0\.169 ≥ 0\.1 \(λmax 9\.669, CI 0\.238, RI 1\.41 for n = 8\)",
    ):
        ahp_weights(HOUSE, labels=HOUSE_LABELS)
    result = ahp_weights(HOUSE, labels=HOUSE_LABELS, allow_inconsistent=True)
    assert_allclose(
        result.weights.round(3).to_numpy(), [0.173, 0.054, 0.188, 0.018, 0.031, 0.036, 0.167, 0.333]
    )
    assert list(result.weights.index) == HOUSE_LABELS
    assert round(result.lambda_max, 3) == 9.669
    assert round(result.consistency_index, 3) == 0.238
    assert round(result.consistency_ratio, 3) == 0.169
    assert result.random_index == 1.41 and not result.is_consistent
    assert result.weights.sum() == pytest.approx(1)
    assert result.to_frame()["criterion"].iloc[0] == "financing"


def test_ahp_reproduces_saaty_2008_drinks_example():
    result = ahp_weights(pd.DataFrame(DRINKS, index=list("CWTBSMA"), columns=list("CWTBSMA")))
    assert_allclose(
        result.weights.round(3).to_numpy(), [0.177, 0.019, 0.042, 0.116, 0.190, 0.129, 0.327]
    )
    assert result.is_consistent and result.consistency_ratio < 0.1
    assert list(result.weights.index) == list("CWTBSMA")


def test_ahp_consistent_matrix_returns_the_ratios():
    w = np.array([0.5, 0.3, 0.15, 0.05])
    result = ahp_weights(w[:, None] / w[None, :])
    assert_allclose(result.weights.to_numpy(), w)
    assert result.lambda_max == pytest.approx(4)
    assert result.consistency_index == 0 and result.consistency_ratio == 0
    two = ahp_weights([[1, 4], [0.25, 1]], labels=["x", "y"])
    assert_allclose(two.weights.to_numpy(), [0.8, 0.2])
    assert two.consistency_ratio == 0


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        ([[1, 3], [3, 1]], r"entry \[1\]\[0\] \('1' vs '0'\) is 3 but 1/\[0\]\[1\] \('0' vs '1'\) is 0\.3333; the matrix must be reciprocal"),
        ([[1, -2], [-0.5, 1]], r"entry \[0\]\[1\] \('0' vs '1'\) is -2; every judgement must be a positive number"),
        ([[1, 0], [0, 1]], r"is 0; every judgement must be a positive number"),
        ([[2, 1], [1, 1]], r"the diagonal must be 1"),
        ([[1, 2, 3], [0.5, 1, 2]], r"must be square \(n × n\)\. Got shape \(2, 3\)"),
        ([[1, "x"], [1, 1]], r"must hold numbers only"),
        (np.ones((11, 11)), r"random-index table covers 1–10 criteria; this matrix compares 11"),
    ],
)  # fmt: skip
def test_ahp_bad_matrices(matrix, message):
    with pytest.raises(ConfigError, match=message):
        ahp_weights(matrix)


def test_ahp_explicit_random_index_and_label_checks():
    assert ahp_weights(np.ones((11, 11)), random_index=1.51).consistency_ratio == 0
    with pytest.raises(ConfigError, match="has 2 rows but 3 labels"):
        ahp_weights([[1, 2], [0.5, 1]], labels=["a", "b", "c"])


# --- entropy weight method --------------------------------------------------------------------


def test_entropy_weights_by_hand_minmax():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [2.0, 2.0, 4.0]})
    # a: min-max → 0, ½, 1 → p = 0, ⅓, ⅔ → −Σp ln p = ln 3 − ⅔ ln 2 → d_a = 1 − e_a = ⅔ ln 2 / ln 3
    # b: min-max → 0, 0, 1 → p = 0, 0, 1 → e_b = 0 → d_b = 1
    d_a = (2 / 3) * math.log(2) / math.log(3)
    weights = entropy_weights(frame, normalise="minmax")
    assert_allclose(weights.to_numpy(), [d_a / (1 + d_a), 1 / (1 + d_a)], rtol=1e-12)
    assert weights.to_numpy() == pytest.approx([0.29608, 0.70392], abs=1e-5)
    assert list(weights.index) == ["a", "b"]


def test_entropy_weights_by_hand_proportion():
    frame = pd.DataFrame({"x": [1.0, 1.0, 2.0], "y": [0.0, 1.0, 3.0]})
    # x: p = ¼, ¼, ½ → −Σp ln p = 1.5 ln 2 → d_x = 1 − 1.5 ln 2 / ln 3
    # y: p = 0, ¼, ¾ → −Σp ln p = 2 ln 2 − ¾ ln 3 → d_y = 1.75 − 2 ln 2 / ln 3
    d_x = 1 - 1.5 * math.log(2) / math.log(3)
    d_y = 1.75 - 2 * math.log(2) / math.log(3)
    weights = entropy_weights(frame, normalise="proportion")
    assert_allclose(weights.to_numpy(), [d_x / (d_x + d_y), d_y / (d_x + d_y)], rtol=1e-12)


def test_entropy_weights_standard_method_by_hand():
    """The standard entropy weight method (Hwang & Yoon 1981; Zeleny 1982; Zou, Yun & Sun
    2006): shares p_ij = x_ij / Σ_i x_ij of the raw (non-negative, benefit) values.  No
    published table was at hand, so the reference is this hand calculation, every step
    written out (m = 4 accounts, ln 4 = 1.3862944):

    a = 10, 20, 30, 40 (Σ 100)      p = .1, .2, .3, .4
        −Σ p ln p = .1·2.3025851 + .2·1.6094379 + .3·1.2039728 + .4·0.9162907 = 1.2798542
        e_a = 1.2798542 / 1.3862944 = 0.9232197        d_a = 0.0767803
    b = 29, 29, 28.9, 29 (Σ 115.9)  p = .2502157, .2502157, .2493529, .2502157
        e_b = 0.9999992                                 d_b = 0.0000008 (8.06e-7)
    c = 0, 1, 0, 3 (Σ 4)            p = 0, .25, 0, .75 (0 ln 0 = 0)
        −Σ p ln p = .25·1.3862944 + .75·0.2876821 = 0.5623351
        e_c = 0.5623351 / 1.3862944 = 0.4056391        d_c = 0.5943609
    Σ d = 0.6711420 →  w_a = 0.1144025, w_b = 0.0000012, w_c = 0.8855963

    The near-constant b gets almost nothing; min-max rescaling first (the old default) gave it
    0.19 — as much as a criterion that varies a lot.
    """
    frame = pd.DataFrame(
        {"a": [10.0, 20.0, 30.0, 40.0], "b": [29.0, 29.0, 28.9, 29.0], "c": [0.0, 1.0, 0.0, 3.0]}
    )
    d = {"a": 1 - 1.2798542 / math.log(4), "b": 8.0597e-7, "c": 1 - 0.5623351 / math.log(4)}
    assert d["a"] == pytest.approx(0.0767803, abs=1e-7)
    assert d["c"] == pytest.approx(0.5943609, abs=1e-7)
    weights = entropy_weights(frame)
    assert_allclose(weights.to_numpy(), [0.1144025, 0.0000012, 0.8855963], atol=5e-7)
    total = sum(d.values())
    assert_allclose(weights.to_numpy(), [d[k] / total for k in "abc"], atol=2e-7)
    assert weights["b"] < 1e-5
    assert entropy_weights(frame, normalise="minmax")["b"] == pytest.approx(0.1935, abs=1e-4)


def test_entropy_constant_and_missing_columns():
    frame = pd.DataFrame({"a": [1.0, 2.0, np.nan, 3.0], "flat": [5.0, 5.0, 5.0, np.nan]})
    with pytest.warns(ConstantCriterionWarning, match=r"flat is/are constant .* gives it weight 0"):
        weights = entropy_weights(frame)
    assert weights.to_dict() == {"a": 1.0, "flat": 0.0}
    with pytest.raises(
        DataValidationError,
        match=r"Column 'empty' has no values; the entropy weight method needs at least two",
    ):
        entropy_weights(frame.assign(empty=np.nan))
    with pytest.raises(DataValidationError, match="Every criterion is constant"):
        entropy_weights(pd.DataFrame({"p": [1.0, 1.0], "q": [2.0, 2.0]}))
    with pytest.raises(DataValidationError, match=r"negative values \(min -1\); .* needs values ≥ 0"):
        entropy_weights(pd.DataFrame({"p": [-1.0, 1.0]}))
    # minmax accepts negative values
    assert entropy_weights(pd.DataFrame({"p": [-1.0, 1.0, 0.0]}), normalise="minmax")["p"] == 1
    with pytest.raises(
        DataValidationError, match="holds 'x': the entropy weight method needs numbers"
    ):
        entropy_weights(pd.DataFrame({"p": ["x", 1.0]}))


# --- data-implied weights --------------------------------------------------------------------


def test_data_weights_recover_the_generating_weights():
    rng = np.random.default_rng(7)
    n = 300
    features = pd.DataFrame(
        {
            "account_id": [f"D{i}" for i in range(n)],
            "revenue_12m": rng.choice([50.0, 300.0, 900.0], n),
            "growth_12m": rng.choice([-1.0, 1.0], n),
            "industry": rng.choice(["Machinery", "Textiles", "Mining"], n),
        }
    )
    points = indicator_points(features, tiny_model()).set_index("account_id")
    # next-year value = 5 + 2·revenue points + 1·growth points; industry plays no part
    target = 5 + 2 * points["revenue_12m"] + points["growth_12m"]
    result = data_weights(features, target, tiny_model(), scale="value")
    assert_allclose(result.weights.to_numpy(), [2 / 3, 1 / 3, 0], atol=1e-9)
    assert result.intercept == pytest.approx(5)
    assert result.r_squared == pytest.approx(1)
    assert_allclose(result.ols["coefficient"].to_numpy(), [2, 1, 0], atol=1e-8)
    frame = result.to_frame()
    assert list(frame.columns) == ["indicator", "configured_weight", "data_weight", "coefficient",
                                   "ols_coefficient", "ols_std_error", "ols_p_value", "spearman"]  # fmt: skip
    assert_allclose(frame["configured_weight"], [0.5, 0.3, 0.2])
    summary = result.summary()
    assert summary["spearman_data_score"] >= summary["spearman_configured_score"]
    section = result.to_methodology()
    assert section["method"] == "data" and sum(section["values"].values()) == pytest.approx(1)
    raw = yaml.safe_load(TINY)
    raw["weights"] = section
    assert parse_scoring(raw).weights.method == "data"


def test_data_weights_bad_input():
    features = tiny_features().head(4)  # 4 accounts, 3 indicators
    with pytest.raises(DataValidationError, match="needs more accounts than indicators"):
        data_weights(features, pd.Series({"A1": 1.0}), tiny_model())
    many = default_features(40)
    target = pd.Series(1.0, index=many["account_id"])
    with pytest.raises(
        DataValidationError, match="The target is 1 for every one of the 40 accounts"
    ):
        data_weights(many, target)
    flat = pd.DataFrame(
        {"account_id": list("abcdef"), "revenue_12m": [10.0, 200, 900, 50, 300, 600],
         "growth_12m": 1.0, "industry": "Machinery"}
    )  # fmt: skip
    falling = pd.Series([6.0, 5, 4, 3, 2, 1], index=list("dabefc"))  # less revenue, more value
    with pytest.raises(
        DataValidationError, match="No indicator's points rise with next year's value"
    ):
        data_weights(flat, falling, tiny_model())
    with pytest.raises(DataValidationError, match=r"'target' has no value for 1 account\(s\)"):
        data_weights(many, target.where(target.index != "C0000"))
    with pytest.raises(ConfigError, match="'scale' parameter of data_weights must be"):
        data_weights(many, target, scale="sqrt")


# --- validation ------------------------------------------------------------------------------


def test_ranking_gini_by_hand():
    value = [10.0, 0.0, 5.0, 5.0]
    # by score 3,2,1,0: cumulative value shares .5 .5 .75 1 at .25 .5 .75 1
    # area = .25·(0+.5 + .5+.5 + .5+.75 + .75+1)/2 = .5625 → Gini = 2·.5625 − 1 = .125
    assert ranking_gini([3, 2, 1, 0], value) == pytest.approx(0.125)
    # ranked by the value itself: the ordinary Gini Σ|xi−xj| / (2n²·mean) = 60 / 160 = .375
    assert ranking_gini(value, value) == pytest.approx(0.375)
    # a tie is one step: (.5, .5) then (1, 1) → area .5 → Gini 0
    assert ranking_gini([1, 1, 0, 0], value) == pytest.approx(0.0)
    rng = np.random.default_rng(5)
    x = rng.lognormal(0, 1, 200)
    ordinary = np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())
    assert ranking_gini(x, x) == pytest.approx(ordinary)
    with pytest.raises(DataValidationError, match="needs a positive total"):
        ranking_gini([1, 2], [0.0, 0.0])


def test_validate_scores_by_hand():
    model = tiny_model()
    scores = pd.DataFrame(
        {"account_id": ["A", "B", "C", "D"], "score": [90.0, 50.0, 45.0, 10.0],
         "tier": ["a", "b", "b", "c"]}
    )  # fmt: skip
    nxt = pd.Series({"A": 10.0, "B": 0.0, "C": 5.0, "E": 7.0})  # D absent: bought nothing
    baseline = pd.Series({"A": 1.0, "B": 3.0, "C": 2.0, "D": 4.0})
    result = validate_scores(scores, nxt, baseline=baseline, methodology=model)
    t = result.by_tier.set_index("tier")
    assert t["accounts"].tolist() == [1, 2, 1]
    assert_allclose(t["value_share"], [10 / 15, 5 / 15, 0])
    assert_allclose(t["lift"], [(10 / 15) / 0.25, (5 / 15) / 0.5, 0])
    assert_allclose(t["cumulative_value_share"], [10 / 15, 1, 1])
    assert result.top_tier == "a" and result.lift_top_tier == pytest.approx(8 / 3)
    # score order A, B, C, D → values 10, 0, 5, 0: shares 2/3 2/3 1 1 → area = .25·(2/3 + 4/3
    # + 5/3 + 2)/2 = 17/24 → Gini 5/12
    assert result.gini_score == pytest.approx(5 / 12)
    # baseline order D, B, C, A → 0, 0, 5, 10: shares 0 0 ⅓ 1 → area = .25·(0+0+⅓+4/3)/2 =
    # 5/24 → Gini −7/12 (last year's revenue ranks this toy book backwards)
    assert result.gini_baseline == pytest.approx(-7 / 12)
    # perfect order: 10, 5, 0, 0 → ⅔ 1 1 1 → area = .25·(⅔ + 5/3 + 2 + 2)/2 = 19/24 → 7/12
    assert result.gini_perfect == pytest.approx(7 / 12)
    assert result.unscored_accounts == 1 and result.unscored_value == 7
    assert result.summary()["normalised_gini_score"] == pytest.approx(5 / 7)
    with pytest.raises(
        DataValidationError,
        match=r"'next_year_value' has no entry for 1 scored account\(s\), e\.g\. 'D'",
    ):
        validate_scores(scores, nxt, methodology=model, absent_as_zero=False)
    with pytest.raises(
        DataValidationError, match=r"tier\(s\) \['vip'\] that the methodology does not define"
    ):
        validate_scores(scores.assign(tier="vip"), nxt, methodology=model)


def test_validate_a_score_result():
    result = score_accounts(tiny_features(), tiny_model())
    nxt = pd.Series({"A1": 700.0, "A2": 100.0, "A4": 200.0})
    v = validate_scores(result, nxt)
    assert v.by_tier["tier"].tolist() == ["a", "b", "c"]
    assert v.lift_top_tier == pytest.approx((700 / 1000) / (1 / 5))
    assert math.isnan(v.gini_baseline)


# --- history and migration --------------------------------------------------------------------


def test_score_history_and_tier_migration():
    model = tiny_model()
    q1 = tiny_features()
    q2 = tiny_features().set_index("account_id")
    q2.loc["A1", ["revenue_12m", "growth_12m"]] = [150.0, -0.2]  # a → c: 25 + 0 + 20 = 45 → b
    q2.loc["A3", ["revenue_12m", "growth_12m"]] = [800.0, 0.5]  # c → a: 50 + 30 + 10 = 90
    q2 = q2.drop(index="A5").reset_index()
    q2 = pd.concat([q2, pd.DataFrame({"account_id": ["A6"], "revenue_12m": [900.0],
                                       "growth_12m": [1.0], "industry": ["Machinery"]})])  # fmt: skip
    history = score_history({"2026-03-31": q1, "2026-06-30": q2}, model)
    assert list(history.columns[:5]) == ["as_of", "account_id", "score", "tier", "rank"]
    assert history["as_of"].dt.strftime("%Y-%m-%d").unique().tolist() == [
        "2026-03-31",
        "2026-06-30",
    ]
    assert len(history) == 10
    long = pd.concat([q1.assign(as_of="2026-03-31"), q2.assign(as_of="2026-06-30")])
    pd.testing.assert_frame_equal(
        score_history(long.set_index(["as_of", "account_id"]), model), history
    )
    m = tier_migration(history, "2026-03-31", "2026-06-30", model)
    matrix = m.matrix
    assert list(matrix.index) == ["a", "b", "c", "(new)"]
    assert list(matrix.columns) == ["a", "b", "c", "(gone)"]
    assert matrix.loc["a", "b"] == 1 and matrix.loc["c", "a"] == 1
    assert (
        matrix.loc["b", "b"] == 2
        and matrix.loc["(new)", "a"] == 1
        and matrix.loc["c", "(gone)"] == 1
    )
    assert matrix.to_numpy().sum() == 6
    risers, fallers = m.risers, m.fallers
    assert risers["account_id"].tolist() == ["A3"] and risers["steps"].tolist() == [2]
    assert risers["score_change"].iloc[0] == pytest.approx(80)
    assert risers["drivers"].iloc[0] == "revenue_12m +50.0; growth_12m +30.0"
    assert fallers["account_id"].tolist() == ["A1"] and fallers["direction"].tolist() == ["down"]
    assert fallers["drivers"].iloc[0] == "growth_12m -30.0; revenue_12m -25.0"
    assert m.summary().to_dict() == {
        "accounts": 4,
        "stayed": 2,
        "risers": 1,
        "fallers": 1,
        "new": 1,
        "gone": 1,
    }
    with pytest.raises(
        ConfigError,
        match=r"Date 2026-09-30 is not in the score history\. Available: 2026-03-31, 2026-06-30",
    ):
        tier_migration(history, "2026-03-31", "2026-09-30", model)
    with pytest.raises(ConfigError, match="Date 'Q3' does not parse"):
        score_history({"Q3": q1}, model)


# --- the `kam score` command ----------------------------------------------------------------------


def kam(*args):
    from kamlib.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_kam_score_help():
    result = kam("score", "--help")
    assert result.exit_code == 0
    for option in ("--store", "--as-of", "--methodology", "--out", "--lang", "--save", "--since"):
        assert option in result.output


def test_kam_score_writes_one_row_per_account(demo_store, tmp_path):
    out = tmp_path / "scores.csv"
    result = kam("score", "--store", demo_store, "--as-of", "2026-09-30", "--out", out)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Scored 300 accounts as of 2026-09-30 → ")
    table = pd.read_csv(out)
    names = list(load_methodology().scoring.names)
    assert list(table.columns) == ["account_id", "score", "tier", *names]
    assert len(table) == 300 and table["account_id"].is_unique
    assert_allclose(table[names].sum(axis=1), table["score"], atol=1e-8)
    # the same scores as the library call
    from kamlib.features import account_features

    expected = score_accounts(account_features(str(demo_store), as_of="2026-09-30")).to_frame()
    assert_allclose(table["score"], expected["score"], rtol=1e-10)
    assert list(table["account_id"]) == list(expected["account_id"])
    zh = kam("score", "--store", demo_store, "--as-of", "2026-09-30", "--out", out, "--lang", "zh")
    assert zh.exit_code == 0
    assert set(pd.read_csv(out)["tier"]) <= {"战略客户", "重点客户", "成长客户", "维持客户"}


def test_kam_score_history_is_saved_in_the_store(store_copy, tmp_path):
    from kamlib.data import load, saved_score_history

    out = tmp_path / "history.csv"
    result = kam(
        "score", "--store", store_copy, "--as-of", "2026-09-30", "--since", "2025-10-01",
        "--freq", "quarterly", "--save", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    table = pd.read_csv(out)
    # accounts created during the year are scored from the first date they exist
    assert 1100 < len(table) <= 1200
    assert f"Saved {len(table):,} scores for 4 date(s)" in result.output
    assert sorted(set(table["as_of"])) == ["2025-12-31", "2026-03-31", "2026-06-30", "2026-09-30"]
    saved = saved_score_history(store_copy)
    assert len(saved) == len(table)
    assert set(saved["snapshot"]) == {load(store_copy).snapshot.fingerprint}
    names = list(load_methodology().scoring.names)
    assert_allclose(saved[names].sum(axis=1), saved["score"], atol=1e-8)
    merged = table.assign(as_of=pd.to_datetime(table["as_of"])).merge(
        saved, on=["as_of", "account_id"], suffixes=("", "_saved")
    )
    assert len(merged) == len(table) and (merged["tier"] == merged["tier_saved"]).all()
    assert_allclose(merged["score"], merged["score_saved"], rtol=1e-10)
    # saving the same dates again replaces them (no duplicates)
    again = kam("score", "--store", store_copy, "--as-of", "2026-09-30", "--save")
    assert again.exit_code == 0, again.stderr
    assert len(saved_score_history(store_copy)) == len(table)
    # the store still loads as data
    assert load(store_copy).counts()["accounts"] == 300


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "yesterday"], "kam: error: Date 'yesterday' does not parse"),
        (["--as-of", "2026-09-30", "--store", "{tmp}/none.duckdb"], "kam: error: store {tmp}/none.duckdb does not exist"),
        (["--as-of", "2026-09-30", "--methodology", "{tmp}/nope.yml"], "kam: error: Cannot read methodology file"),
        (["--as-of", "2026-09-30", "--methodology", "{tmp}/plain.yml"], "kam: error: {tmp}/plain.yml: the methodology file has no 'scoring' section"),
        (["--as-of", "2026-09-30", "--out", "{tmp}/no/such/dir/x.csv"], "kam: error: cannot write"),
        (["--as-of", "2026-09-30", "--since", "2027-01-01"], "kam: error: --since 2027-01-01 is after --as-of 2026-09-30"),
        (["--as-of", "2001-01-01"], "kam: error: no account exists in"),
    ],
)  # fmt: skip
def test_kam_score_mistakes_exit_2_with_one_line(demo_store, tmp_path, args, message):
    full = load_methodology()
    plain = {"stages": {"open": [{"key": s.key} for s in full.open_stages], "won": {"key": "won"},
                        "lost": {"key": "lost"}}}  # fmt: skip
    (tmp_path / "plain.yml").write_text(yaml.safe_dump(plain), encoding="utf-8")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    defaults = ["--store", str(demo_store), "--out", str(tmp_path / "o.csv")]
    result = kam("score", *defaults, *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message.replace("{tmp}", str(tmp_path)))
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "o.csv").exists()


def test_kam_score_needs_an_output(demo_store):
    result = kam("score", "--store", demo_store, "--as-of", "2026-09-30")
    assert result.exit_code == 2
    assert result.stderr.startswith("kam: error: nothing to do: give --out FILE.csv, --save")


def test_kam_score_shows_kamlib_warnings(demo_store, tmp_path):
    from importlib import resources

    raw = yaml.safe_load(
        resources.files("kamlib.resources").joinpath("methodology.yml").read_text("utf-8")
    )
    raw["scoring"]["weights"]["values"]["revenue_12m"] = 1.276  # 0.276 + 1: weights sum to 2
    meth = tmp_path / "m.yml"
    meth.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "o.csv"
    result = kam(
        "score", "--store", demo_store, "--as-of", "2026-09-30", "--methodology", meth, "--out", out
    )
    assert result.exit_code == 0, result.stderr
    assert (
        result.stderr.startswith("kam: warning: ")
        and "the weights sum to 2, not 1" in result.stderr
    )
    assert out.exists()


# --- on the demo company, against the generator's hidden truth ----------------------------------


def test_demo_scores_capture_next_year_value(demo_store):
    import kamlib.features as features_module
    from kamlib.data import load_truth

    truth = load_truth(demo_store)["accounts"].set_index("account_id")
    as_of = "2026-09-30"
    features = features_module.account_features(str(demo_store), as_of=as_of)
    if "account_id" not in features.columns:  # indexed by account_id
        features = features.reset_index()
    result = score_accounts(features)
    assert np.isfinite(result.scores["score"]).all()
    v = validate_scores(
        result,
        truth["true_value_next_12m"],
        baseline=features.set_index("account_id")["revenue_12m"],
    )
    by_tier = v.by_tier.set_index("tier")
    # the top tiers hold far more of next year's value than their share of accounts
    assert v.lift_top_tier > 3
    top2 = by_tier.loc[["strategic", "key"]]
    assert top2["value_share"].sum() > 0.6 > top2["account_share"].sum()
    assert by_tier.loc["maintain", "lift"] < 0.5
    # a good ranking, close to ranking by last year's revenue and far from random
    assert v.gini_score > 0.8 * v.gini_perfect
    assert v.gini_score > v.gini_baseline - 0.1
    # nearly every true key account is Strategic or Key
    tiers = result.scores.set_index("account_id")["tier"]
    key = truth.index[truth["is_key_account"].fillna(False).astype(bool)]
    assert tiers.reindex(key).isin(["strategic", "key"]).mean() > 0.8


# --- issue #17: hostile inputs to `kam score` ------------------------------------------------------

HOSTILE_IDS = ["+cmd|' /C calc'!A0", '=HYPERLINK("http://evil.example","click")', "@SUM(1+1)"]


@pytest.fixture
def hostile_store(tmp_path):
    """A tiny store whose account ids are spreadsheet formulas."""
    accounts = pd.DataFrame(
        {"account_id": [*HOSTILE_IDS, "A4"], "name": ["a", "b", "c", "d"],
         "created_date": ["2020-01-01"] * 4}
    )  # fmt: skip
    orders = pd.DataFrame(
        {"order_id": ["O1", "O2", "O3", "O4"], "line_no": [1, 1, 1, 1],
         "account_id": [*HOSTILE_IDS, "A4"],
         "order_date": ["2024-03-01", "2024-04-01", "2024-05-01", "2024-06-01"],
         "amount": [100.0, -50.0, 300.0, 20.0]}
    )  # fmt: skip
    accounts.to_csv(tmp_path / "accounts.csv", index=False)
    orders.to_csv(tmp_path / "orders.csv", index=False)
    store = tmp_path / "hostile.duckdb"
    result = kam("import", tmp_path / "accounts.csv", tmp_path / "orders.csv", "--store", store)
    assert result.exit_code == 0, result.output
    return store


def test_kam_score_csv_escapes_formulas_unless_raw(hostile_store, tmp_path):
    out = tmp_path / "scores.csv"
    result = kam("score", "--store", hostile_store, "--as-of", "2024-12-31", "--out", out)
    assert result.exit_code == 0, result.stderr
    table = pd.read_csv(out, keep_default_na=False)
    ids = set(table["account_id"])
    assert ids == {"'" + i for i in HOSTILE_IDS} | {"A4"}
    assert not any(str(v).startswith(("=", "+", "-", "@")) for v in table.to_numpy().ravel()
                   if isinstance(v, str))  # fmt: skip
    assert pd.api.types.is_float_dtype(table["score"])
    raw = kam("score", "--store", hostile_store, "--as-of", "2024-12-31", "--out", out, "--raw-csv")
    assert raw.exit_code == 0, raw.stderr
    assert set(pd.read_csv(out, keep_default_na=False)["account_id"]) == {*HOSTILE_IDS, "A4"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (bytes(range(256)), r"kam: error: Methodology file .*m\.yml is not a text YAML file"),
        ((b"extends: default\nscorin: {}\n"), r"kam: error: .*m\.yml: unknown key 'scorin' at the top level\. Did you mean 'scoring'\?"),
        (("extends: default\ntags:\n  deep: \"" + "not " * 490 + "revenue_12m > 1\"\n").encode(),
         r"kam: error: Tag rule 'deep' .*nests 492 levels deep"),
        (("extends: default\ntags:\n  sum: \"" + "+".join(["1"] * 990) + " > 1\"\n").encode(),
         r"kam: error: Tag rule 'sum' .*nests 991 levels deep"),
        (("extends: default\ntags:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n"
          + "".join(f"  {c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip("abcdef", "bcdefg", strict=True))).encode(),
         r"kam: error: Methodology file .*m\.yml expands to more than 200,000 YAML nodes"),
    ],
)  # fmt: skip
def test_kam_score_hostile_methodology_exit_2_with_one_line(demo_store, tmp_path, content, message):
    meth = tmp_path / "m.yml"
    meth.write_bytes(content)
    out = tmp_path / "o.csv"
    result = kam(
        "score", "--store", demo_store, "--as-of", "2026-09-30", "--methodology", meth, "--out", out
    )
    assert result.exit_code == 2
    assert re.match(message, result.stderr)
    assert result.stderr.count("\n") == 1
    assert not out.exists()


def test_kam_score_astronomical_weights_exit_2_with_one_line(demo_store, tmp_path):
    from importlib import resources

    raw = yaml.safe_load(
        resources.files("kamlib.resources").joinpath("methodology.yml").read_text("utf-8")
    )
    raw["scoring"]["weights"]["values"] = dict.fromkeys(raw["scoring"]["weights"]["values"], 1e308)
    meth = tmp_path / "m.yml"
    meth.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    result = kam(
        "score", "--store", demo_store, "--as-of", "2026-09-30", "--methodology", meth,
        "--out", tmp_path / "o.csv",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "the weights sum to more than 1e308" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (bytes(range(256)), "is not a text YAML file"),
        (b"extends: default\nscorin: {}\n", "Did you mean 'scoring'?"),
        (("extends: default\ntags:\n  deep: \"" + "not " * 490 + "revenue_12m > 1\"\n").encode(),
         "nests 492 levels deep"),
        (b"extends: default\nscoring:\n  weights: {method: manual, values: {a: 1.0e+308}}\n"
         b"  missing: 0\n  indicators: [{name: a, feature: revenue_12m, bands: [{points: 1}]}]\n"
         b"  tiers: [{key: all, min_score: 0}]\n", "the weights sum to"),
    ],
)  # fmt: skip
def test_kam_report_hostile_methodology_exit_2_with_one_line(demo_store, tmp_path, content, message):
    meth = tmp_path / "m.yml"
    meth.write_bytes(content)
    out = tmp_path / "out"
    result = kam(
        "report", "portfolio_review", "-p", "as_of=2026-09-30", "--store", demo_store,
        "--methodology", meth, "--out", out,
    )  # fmt: skip
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output
    assert result.stderr.count("\n") == 1
    assert not out.exists()
