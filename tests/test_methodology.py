"""The methodology file: existing keys, and the scoring section validated on load."""

from __future__ import annotations

import copy
import math
import warnings
from importlib import resources

import pytest
import yaml

from kamlib.errors import ConfigError
from kamlib.methodology import (
    KNOWN_FEATURES,
    Methodology,
    ScoringModel,
    WeightsNormalisedWarning,
    load_methodology,
    parse_methodology,
)

# Saaty (1990), EJOR 48:9-26, Table 2: the eight criteria of buying a house (CR 0.169).
HOUSE = [
    [1, 5, 3, 7, 6, 6, "1/3", "1/4"],
    ["1/5", 1, "1/3", 5, 3, 3, "1/5", "1/7"],
    ["1/3", 3, 1, 6, 3, 4, 6, "1/5"],
    ["1/7", "1/5", "1/6", 1, "1/3", "1/4", "1/7", "1/8"],
    ["1/6", "1/3", "1/3", 3, 1, "1/2", "1/5", "1/6"],
    ["1/6", "1/3", "1/4", 4, 2, 1, "1/5", "1/6"],
    [3, 5, "1/6", 7, 5, 5, 1, "1/2"],
    [4, 7, 5, 8, 6, 6, 2, 1],
]


@pytest.fixture(scope="module")
def default_raw() -> dict:
    text = resources.files("kamlib.resources").joinpath("methodology.yml").read_text("utf-8")
    return yaml.safe_load(text)


@pytest.fixture
def raw(default_raw) -> dict:
    return copy.deepcopy(default_raw)


def indicator(raw: dict, name: str) -> dict:
    return next(i for i in raw["scoring"]["indicators"] if i.get("name", i.get("feature")) == name)


# --- existing behaviour --------------------------------------------------------------------------


def test_default_methodology_keeps_its_existing_keys():
    meth = load_methodology()
    assert isinstance(meth, Methodology)
    assert meth.currency == "CNY"
    assert meth.fiscal_year_start_month == 1
    assert [s.key for s in meth.open_stages][:2] == ["lead", "qualified"]
    assert meth.resolve_stage(" 报价 ").key == "quote"
    assert meth.resolve_stage("Closed Won").status == "won"
    assert meth.resolve_stage("nonsense") is None
    assert load_methodology() is meth  # cached


def test_file_without_scoring_loads_but_cannot_score(raw, tmp_path):
    del raw["scoring"]
    path = tmp_path / "m.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    meth = load_methodology(path)
    assert meth.scoring is None
    assert meth.resolve_stage("tender").key == "quote"
    with pytest.raises(ConfigError, match=r"m\.yml: the methodology file has no 'scoring' section"):
        meth.require_scoring()


def test_stage_errors_unchanged(raw):
    raw["fiscal_year_start_month"] = 13
    with pytest.raises(ConfigError, match="fiscal_year_start_month is 13; it must be 1–12"):
        parse_methodology(raw)


# --- the default scoring section ---------------------------------------------------------------


def test_default_scoring_section():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the shipped weights sum to 1: no warning
        model = parse_methodology(
            yaml.safe_load(
                resources.files("kamlib.resources").joinpath("methodology.yml").read_text("utf-8")
            )
        ).scoring
    assert isinstance(model, ScoringModel)
    assert model.weights.method == "manual"
    assert math.isclose(math.fsum(w for _, w in model.weights.values), 1.0)
    assert {i.feature for i in model.indicators} <= set(KNOWN_FEATURES)
    assert {i.kind for i in model.indicators} == {"static", "dynamic"}
    assert [(t.key, t.min_score, t.label_zh) for t in model.tiers] == [
        ("strategic", 80, "战略客户"),
        ("key", 60, "重点客户"),
        ("growth", 40, "成长客户"),
        ("maintain", 0, "维持客户"),
    ]
    assert model.pareto[0].feature == "revenue_12m" and model.pareto[0].min_tier == "key"
    revenue = model.indicator("revenue_12m")
    assert revenue.bands[0].min is None and revenue.bands[-1].max is None
    assert revenue.missing.points == 0 and not revenue.missing.exclude
    assert model.indicator("growth_12m").missing.exclude  # section default
    assert model.indicator("strategic_fit").categories[0] == (1.0, 0.0)
    assert model.indicator("industry").other_points == 40
    assert revenue.label("zh") == "近12个月销售额"


# --- bad input ------------------------------------------------------------------------------------


def test_unknown_feature_is_refused_with_a_suggestion(raw):
    indicator(raw, "recency_days")["feature"] = "recency_day"
    with pytest.raises(
        ConfigError, match=r"unknown feature 'recency_day'\. Did you mean 'recency_days'\?"
    ):
        parse_methodology(raw, source="m.yml")


def test_extra_features_can_be_declared(raw):
    raw["scoring"]["extra_features"] = {"p_alive": "dynamic"}
    raw["scoring"]["indicators"].append(
        {"name": "p_alive", "bands": [{"max": 0.5, "points": 0}, {"min": 0.5, "points": 100}]}
    )
    raw["scoring"]["weights"]["values"]["p_alive"] = 0.0
    model = parse_methodology(raw).scoring
    assert model.indicator("p_alive").kind == "dynamic"


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        (
            [
                {"max": 100, "points": 0},
                {"min": 50, "max": 200, "points": 50},
                {"min": 200, "points": 100},
            ],
            r"bands '< 100' and '50 – < 200' overlap",
        ),
        (
            [
                {"max": 100, "points": 0},
                {"min": 120, "max": 200, "points": 50},
                {"min": 200, "points": 100},
            ],
            r"bands '< 100' and '120 – < 200' leave a gap from 100 to 120",
        ),
        ([{"max": 100, "points": 0}, {"max": 200, "points": 50}], r"overlap"),
        ([{"min": 0, "points": 0}, {"min": 10, "points": 5}], r"bands '≥ 0' and '≥ 10' overlap"),
        ([{"min": 5, "max": 5, "points": 0}], r"min 5 is not below max 5"),
        ([{"max": 1, "points": 120}], r"points must lie between 0 and 100\. Got 120"),
        ([{"max": 1, "points": "lots"}], r"expected a number\. Got 'lots'"),
        ([{"max": 1, "pts": 1}], r"unknown key 'pts' at scoring\.indicators\[0\]\.bands\[0\]\.pts\. Did you mean 'points'\?"),
        ([{"max": 1}], r"each band needs 'points'"),
        ([], r"must be a non-empty list"),
    ],
)
def test_bad_bands(raw, bands, message):
    indicator(raw, "revenue_12m")["bands"] = bands
    with pytest.raises(ConfigError, match=message):
        parse_methodology(raw, source="m.yml")


def test_bands_may_be_listed_in_any_order(raw):
    indicator(raw, "revenue_12m")["bands"] = [
        {"min": 100, "points": 100},
        {"max": 100, "points": 0},
    ]
    model = parse_methodology(raw).scoring
    assert [b.points for b in model.indicator("revenue_12m").bands] == [0, 100]


def test_missing_rule_is_required(raw):
    del raw["scoring"]["missing"]
    with pytest.raises(
        ConfigError, match=r"indicators\[4\] \(share_of_wallet\): says nothing about missing values"
    ):
        parse_methodology(raw)
    indicator(raw, "share_of_wallet")["missing"] = "zero"
    with pytest.raises(ConfigError, match=r"must be 'exclude' .* Got 'zero' instead"):
        parse_methodology(raw)


def test_text_feature_needs_categories(raw):
    indicator(raw, "industry").pop("categories")
    indicator(raw, "industry").pop("other")
    indicator(raw, "industry")["bands"] = [{"points": 1}]
    with pytest.raises(ConfigError, match="feature 'industry' is text; score it with 'categories'"):
        parse_methodology(raw)


def test_category_tables(raw):
    indicator(raw, "industry")["categories"] = {"Machinery": 100, "machinery ": 50}
    with pytest.raises(ConfigError, match="value 'machinery ' is listed twice"):
        parse_methodology(raw)
    indicator(raw, "industry")["categories"] = {1: 100}
    with pytest.raises(ConfigError, match="the feature is text; quote the category values"):
        parse_methodology(raw)
    indicator(raw, "strategic_fit")["categories"] = {"high": 100}
    with pytest.raises(ConfigError, match="the feature is numeric"):
        parse_methodology(raw)


def test_indicator_needs_exactly_one_table(raw):
    indicator(raw, "strategic_fit")["bands"] = [{"points": 1}]
    with pytest.raises(ConfigError, match="give exactly one band table"):
        parse_methodology(raw)


def test_reserved_and_duplicate_names(raw):
    indicator(raw, "revenue_12m")["name"] = "score"
    with pytest.raises(ConfigError, match="indicator name 'score' cannot be used"):
        parse_methodology(raw)
    indicator(raw, "score")["name"] = "growth_12m"
    with pytest.raises(ConfigError, match="indicator 'growth_12m' is defined twice"):
        parse_methodology(raw)


def test_weights_that_do_not_sum_to_one_are_normalised_with_a_warning(raw):
    values = raw["scoring"]["weights"]["values"]
    for k in values:
        values[k] *= 2
    with pytest.warns(
        WeightsNormalisedWarning, match=r"weights sum to 2, not 1; kamlib divided each by 2"
    ):
        model = parse_methodology(raw).scoring
    assert dict(model.weights.values)["revenue_12m"] == pytest.approx(0.276)
    assert math.fsum(w for _, w in model.weights.values) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda w: w["values"].update(revenue=0.1),
            r"Unknown indicator 'revenue'\. Did you mean 'revenue_12m'\?",
        ),
        (lambda w: w["values"].pop("industry"), r"no weight for indicator\(s\) industry"),
        (
            lambda w: w["values"].update(industry=-0.1),
            r"weight of 'industry' is -0\.1; weights must be finite and at least 0",
        ),
        (lambda w: w.update(values=dict.fromkeys(w["values"], 0)), r"the weights sum to 0"),
        (
            lambda w: w.update(method="magic"),
            r"method is 'magic'; it must be one of manual, ahp, entropy, data",
        ),
        (
            lambda w: w.update(method="entropy"),
            r"method 'entropy' computes the weights; remove 'values'",
        ),
        (lambda w: (w.update(method="data"), w.pop("values")), r"method 'data' needs 'values'"),
        (lambda w: (w.update(method="ahp"), w.pop("values")), r"method 'ahp' needs 'ahp:"),
    ],
)
def test_bad_weights(raw, change, message):
    change(raw["scoring"]["weights"])
    with pytest.raises(ConfigError, match=message):
        parse_methodology(raw)


def test_entropy_method_has_no_values(raw):
    raw["scoring"]["weights"] = {"method": "entropy"}
    model = parse_methodology(raw).scoring
    assert model.weights.method == "entropy" and model.weights.values == ()


def _house_raw(raw: dict) -> dict:
    """Eight indicators (in Saaty's order) weighted by the house matrix."""
    names = ["revenue_12m", "growth_12m", "active_quarter_share", "recency_days",
             "share_of_wallet", "open_pipeline", "product_lines_12m", "category_spend"]  # fmt: skip
    raw["scoring"]["indicators"] = [indicator(raw, n) for n in names]
    raw["scoring"]["weights"] = {"method": "ahp", "ahp": {"criteria": names, "matrix": HOUSE}}
    return raw


def test_ahp_weights_in_the_file(raw):
    raw = _house_raw(raw)
    with pytest.raises(
        ConfigError,
        match=r"weights\.ahp: The AHP judgements are too inconsistent: consistency ratio 0\.169",
    ):
        parse_methodology(raw)
    raw["scoring"]["weights"]["ahp"]["allow_inconsistent"] = True
    model = parse_methodology(raw).scoring
    ahp = model.weights.ahp
    assert round(ahp.lambda_max, 3) == 9.669 and round(ahp.consistency_ratio, 3) == 0.169
    weights = dict(model.weights.values)
    assert round(weights["category_spend"], 3) == 0.333  # Saaty's "financing"
    assert math.isclose(math.fsum(weights.values()), 1.0)


def test_ahp_matrix_errors_name_the_file_and_entry(raw):
    raw = _house_raw(raw)
    raw["scoring"]["weights"]["ahp"]["matrix"][1][0] = 5  # should be 1/5
    with pytest.raises(
        ConfigError,
        match=r"m\.yml scoring\.weights\.ahp: AHP matrix entry \[1\]\[0\] \('growth_12m' vs 'revenue_12m'\) is 5 but 1/\[0\]\[1\].* is 0\.2; the matrix must be reciprocal",
    ):
        parse_methodology(raw, source="m.yml")
    raw["scoring"]["weights"]["ahp"]["matrix"][1][0] = "1/0"
    with pytest.raises(ConfigError, match=r"expected a number\. Got '1/0'"):
        parse_methodology(raw)
    raw["scoring"]["weights"]["ahp"]["criteria"][0] = "growth_12m"
    with pytest.raises(
        ConfigError, match="must list every indicator exactly once; check revenue_12m"
    ):
        parse_methodology(raw)


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        (
            [("a", 60), ("b", 80), ("c", 0)],
            r"thresholds out of order: 'b' \(min_score 80\) comes after 'a' \(min_score 60\)",
        ),
        ([("a", 60), ("b", 60), ("c", 0)], r"thresholds out of order"),
        ([("a", 80), ("b", 10)], r"the last tier 'b' has min_score 10; it must be 0"),
        ([("a", 120), ("b", 0)], r"tier 'a' has min_score 120; scores run from 0 to 100"),
        ([("a", 50), ("a", 0)], r"tier 'a' is listed twice"),
        ([("A tier", 50), ("b", 0)], r"tier key 'A tier' must be letters"),
    ],
)
def test_bad_tiers(raw, tiers, message):
    raw["scoring"]["tiers"] = [{"key": k, "min_score": s} for k, s in tiers]
    raw["scoring"].pop("pareto")
    with pytest.raises(ConfigError, match=message):
        parse_methodology(raw)


def test_bad_pareto(raw):
    raw["scoring"]["pareto"][0]["min_tier"] = "vip"
    with pytest.raises(
        ConfigError, match=r"Unknown tier 'vip'\. Valid: strategic, key, growth, maintain"
    ):
        parse_methodology(raw)
    raw["scoring"]["pareto"] = {"feature": "revenue_12m", "share": 1.5, "min_tier": "key"}
    with pytest.raises(ConfigError, match=r"share is 1\.5; it must lie in \(0, 1\]"):
        parse_methodology(raw)
    raw["scoring"]["pareto"] = {"feature": "industry", "share": 0.5, "min_tier": "key"}
    with pytest.raises(ConfigError, match="'industry' is not a numeric feature column"):
        parse_methodology(raw)


def test_model_copies_with_new_weights_and_thresholds():
    model = load_methodology().scoring
    names = model.names
    with pytest.warns(WeightsNormalisedWarning):
        equal = model.with_weights(dict.fromkeys(names, 1.0))
    assert dict(equal.weights.values)["industry"] == pytest.approx(1 / len(names))
    assert equal.weights.method == "manual" and model.weights.method == "manual"
    lower = model.with_thresholds({"strategic": 70})
    assert lower.tier("strategic").min_score == 70 and model.tier("strategic").min_score == 80
    with pytest.raises(ConfigError, match="thresholds out of order"):
        model.with_thresholds({"key": 90})
    with pytest.raises(ConfigError, match="Unknown tier 'vip'"):
        model.with_thresholds({"vip": 90})


def test_scoring_section_round_trips_through_a_file(raw, tmp_path):
    indicator(raw, "revenue_12m")["bands"][0]["label"] = "tiny"
    path = tmp_path / "mine.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    meth = load_methodology(path)
    assert meth.scoring.indicator("revenue_12m").bands[0].label == "tiny"
    assert meth.scoring.source == str(path)


# -- extends: a methodology file building on another ------------------------------------------
def test_extends_default_replaces_only_the_sections_given(tmp_path):
    from kamlib.methodology import load_methodology

    path = tmp_path / "m.yml"
    path.write_text("extends: default\ncurrency: EUR\nfiscal_year_start_month: 4\n", "utf-8")
    meth = load_methodology(path)
    default = load_methodology()
    assert (meth.currency, meth.fiscal_year_start_month) == ("EUR", 4)
    assert meth.stages == default.stages
    assert meth.scoring.names == default.scoring.names
    assert meth.scoring.weights == default.scoring.weights
    assert meth.fingerprint != default.fingerprint


def test_extends_a_relative_file_and_refuses_cycles(tmp_path):
    import pytest

    from kamlib.errors import ConfigError
    from kamlib.methodology import load_methodology

    (tmp_path / "base.yml").write_text("extends: default\ncurrency: GBP\n", "utf-8")
    sub = tmp_path / "team"
    sub.mkdir()
    (sub / "m.yml").write_text("extends: ../base.yml\nfiscal_year_start_month: 7\n", "utf-8")
    meth = load_methodology(sub / "m.yml")
    assert (meth.currency, meth.fiscal_year_start_month) == ("GBP", 7)
    (tmp_path / "a.yml").write_text("extends: b.yml\n", "utf-8")
    (tmp_path / "b.yml").write_text("extends: a.yml\n", "utf-8")
    with pytest.raises(ConfigError, match="'extends' forms a cycle"):
        load_methodology(tmp_path / "a.yml")
    (tmp_path / "c.yml").write_text("extends: [default]\n", "utf-8")
    with pytest.raises(ConfigError, match="'extends' must be 'default' or the path"):
        load_methodology(tmp_path / "c.yml")
    (tmp_path / "d.yml").write_text("extends: missing.yml\n", "utf-8")
    with pytest.raises(ConfigError, match="missing.yml"):
        load_methodology(tmp_path / "d.yml")


# --- issue #17: nothing lost, nothing wrong (hostile methodology files) --------------------------

BOMB = """\
extends: default
tags:
  a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
  h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
  i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def test_yaml_alias_bomb_is_refused(tmp_path):
    """Refused by counting nodes (how fast: benchmarks/bench_yaml_bomb.py)."""
    path = tmp_path / "bomb.yml"
    path.write_text(BOMB, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bomb\.yml expands to more than 200,000 YAML nodes"):
        load_methodology(path)


def test_recursive_alias_deep_nesting_and_huge_files_are_refused(tmp_path):
    rec = tmp_path / "rec.yml"
    rec.write_text("stages: &s {open: [*s]}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"an alias \(\*name\) refers to the mapping or list"):
        load_methodology(rec)
    deep = tmp_path / "deep.yml"
    deep.write_text("[" * 5000 + "]" * 5000, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"deep\.yml is nested too deeply to read"):
        load_methodology(deep)
    big = tmp_path / "big.yml"
    big.write_text("# padding\n" * 200_000, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"big\.yml is 2,000,000 bytes; at most 1,000,000"):
        load_methodology(big)


def test_binary_methodology_file_is_one_clear_line(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ConfigError, match=r"bad\.yml is not a text YAML file \(byte 128 is not UTF-8\)"):
        load_methodology(path)
    gbk = tmp_path / "gbk.yml"
    gbk.write_bytes("currency: 人民币\n".encode("gbk"))
    with pytest.raises(ConfigError, match=r"gbk\.yml is not a text YAML file"):
        load_methodology(gbk)
    nul = tmp_path / "nul.yml"
    nul.write_bytes(b"currency: CNY\x00\n")
    with pytest.raises(ConfigError, match=r"nul\.yml is not a text YAML file \(it holds NUL"):
        load_methodology(nul)


@pytest.mark.parametrize(
    ("path", "key", "message"),
    [
        ((), "scorin", r"m\.yml: unknown key 'scorin' at the top level\. Did you mean 'scoring'\?"),
        (("scoring",), "tiers_", r"unknown key 'tiers_' at scoring\.tiers_\. Did you mean 'tiers'"),
        (("scoring", "weights"), "metod", r"at scoring\.weights\.metod\. Did you mean 'method'"),
        (("stages",), "opne", r"at stages\.opne\. Did you mean 'open'"),
        (("segments", "portfolio"), "thresholdz", r"Did you mean 'thresholds'"),
        (("research",), "high_influenc", r"Did you mean 'high_influence'"),
        (("forecast",), "simulation", r"Did you mean 'simulations'"),
    ],
)
def test_unknown_keys_are_refused_at_every_level(raw, path, key, message):
    node = raw
    for step in path:
        node = node[step]
    node[key] = node.get(key.rstrip("_"), 1)
    with pytest.raises(ConfigError, match=message):
        parse_methodology(raw, source="m.yml")


def test_unknown_keys_in_list_items_name_the_index(raw):
    raw["scoring"]["tiers"][1]["min_scor"] = 5
    with pytest.raises(ConfigError, match=r"at scoring\.tiers\[1\]\.min_scor\. Did you mean 'min_score'"):
        parse_methodology(raw, source="m.yml")
    indicator(raw, "revenue_12m")
    raw["scoring"]["tiers"][1].pop("min_scor")
    raw["scoring"]["indicators"][2]["lable"] = "x"
    with pytest.raises(ConfigError, match=r"at scoring\.indicators\[2\]\.lable\. Did you mean 'label'"):
        parse_methodology(raw, source="m.yml")


def test_typo_in_a_file_that_extends_the_default_is_refused(tmp_path):
    path = tmp_path / "typo.yml"
    path.write_text("extends: default\nscorin:\n  indicators: []\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"typo\.yml: unknown key 'scorin' at the top level\. Did you mean 'scoring'"):
        load_methodology(path)


def test_shipped_methodology_files_pass_the_key_check():
    for path in ("data/methodology.yml", "data/methodology-online-retail.yml", None):
        assert load_methodology(path).scoring is not None


@pytest.mark.parametrize("value", [1e308, "1e308", 5e11])
def test_astronomical_weights_are_refused_not_overflowed(raw, value):
    names = [i.get("name", i.get("feature")) for i in raw["scoring"]["indicators"]]
    raw["scoring"]["weights"] = {"method": "manual", "values": dict.fromkeys(names, value)}
    with pytest.raises(ConfigError, match=r"weights\.values: the weights sum to .*at most 1e\+12"):
        parse_methodology(raw, source="m.yml")


def test_tiny_weights_are_normalised_safely(raw):
    names = [i.get("name", i.get("feature")) for i in raw["scoring"]["indicators"]]
    raw["scoring"]["weights"] = {"method": "manual", "values": dict.fromkeys(names, 5e-324)}
    with pytest.warns(WeightsNormalisedWarning):
        meth = parse_methodology(raw, source="m.yml")
    assert math.fsum(meth.scoring.weights.as_dict().values()) == pytest.approx(1.0)
    model = meth.scoring
    with pytest.raises(ConfigError, match="weights must be finite"):
        model.with_weights(dict.fromkeys(names, math.inf))
    with pytest.raises(ConfigError, match="the weights sum to more than 1e308"):
        model.with_weights(dict.fromkeys(names, 1e308))
