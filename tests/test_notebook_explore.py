"""kamlib.notebook.explore: the scoring explorer's callback, its sliders, and the training walkthrough."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from numpy.testing import assert_allclose

from kamlib.errors import ConfigError
from kamlib.features import account_features
from kamlib.methodology import parse_scoring
from kamlib.notebook.explore import ScoringExplorer, scoring_walkthrough, what_if
from kamlib.scoring import score_accounts

#: Two indicators, equal weights: revenue and growth each score 0 or 100 points.
MODEL = parse_scoring(
    {
        "missing": "exclude",
        "indicators": [
            {"name": "revenue_12m", "bands": [{"max": 1000, "points": 0}, {"min": 1000, "points": 100}]},
            {"name": "growth_12m", "bands": [{"max": 0.1, "points": 0}, {"min": 0.1, "points": 100}]},
        ],
        "weights": {"method": "manual", "values": {"revenue_12m": 0.5, "growth_12m": 0.5}},
        "tiers": [
            {"key": "strategic", "label": {"en": "Strategic", "zh": "战略客户"}, "min_score": 80},
            {"key": "key", "label": {"en": "Key", "zh": "重点客户"}, "min_score": 60},
            {"key": "growth", "label": {"en": "Growth", "zh": "成长客户"}, "min_score": 40},
            {"key": "maintain", "label": {"en": "Maintain", "zh": "维持客户"}, "min_score": 0},
        ],
    }
)  # fmt: skip

#: Big & flat, small & growing, big & growing, small & flat.
FEATURES = pd.DataFrame(
    {
        "account_id": ["A", "B", "C", "D"],
        "revenue_12m": [5000.0, 10.0, 9000.0, 20.0],
        "growth_12m": [0.0, 0.5, 0.3, -0.2],
    }
)


def tiers(state) -> dict[str, str]:
    return dict(zip(state.scores["account_id"], state.scores["tier"], strict=True))


@pytest.fixture
def explorer() -> ScoringExplorer:
    return ScoringExplorer(FEATURES, MODEL, names={"A": "Alpha Co."})


def test_starts_at_the_methodology(explorer):
    state = explorer.state
    assert tiers(state) == {"A": "growth", "B": "growth", "C": "strategic", "D": "maintain"}
    assert state.changed == 0 and state.error == ""
    assert state.tier_counts == {"strategic": 1, "key": 0, "growth": 2, "maintain": 1}
    assert state.tier_counts == state.methodology_counts


def test_moving_a_weight_changes_tiers(explorer):
    # revenue 0.8 against growth 0.5: A scores 0.8/1.3 × 100 = 61.5 (Key), B 38.5 (Maintain)
    state = explorer.update(weights={"revenue_12m": 0.8})
    scores = state.scores.set_index("account_id")["score"]
    assert_allclose(scores["A"], 80 / 1.3)
    assert_allclose(scores["B"], 50 / 1.3)
    assert tiers(state) == {"A": "key", "B": "maintain", "C": "strategic", "D": "maintain"}
    assert state.changed == 2
    assert_allclose(sum(state.weights_used.values()), 1.0)
    assert state.weights == {"revenue_12m": 0.8, "growth_12m": 0.5}  # as entered
    changes = explorer.state.changes("en", names=explorer.names)
    assert list(changes["account_id"]) == ["A", "B"]
    assert list(changes["name"]) == ["Alpha Co.", "B"]
    assert list(changes["from_tier"]) == ["Growth", "Growth"]
    assert list(changes["to_tier"]) == ["Key", "Maintain"]
    counts = state.counts("zh")
    assert set(counts["scenario"]) == {"方法论文件", "当前设置"}
    assert counts["accounts_count"].sum() == 2 * len(FEATURES)


def test_moving_a_threshold_changes_tiers(explorer):
    state = explorer.update(thresholds={"key": 45})
    assert tiers(state)["A"] == tiers(state)["B"] == "key"
    state = explorer.update(thresholds={"strategic": 101 - 1, "key": 45})
    assert tiers(state)["C"] == "strategic"  # scores exactly 100
    state = explorer.update(thresholds={"strategic": 99.5})
    assert state.tier_counts["strategic"] == 1


def test_a_setting_that_cannot_apply_keeps_the_last_tiers(explorer):
    before = explorer.update(weights={"revenue_12m": 0.8})
    state = explorer.update(thresholds={"key": 85})  # above Strategic's 80
    assert state.error == "thresholds_invalid"
    assert tiers(state) == tiers(before)
    assert state.thresholds["key"] == 85  # the slider keeps what was entered
    state = explorer.update(thresholds={"key": 60})
    assert state.error == ""
    state = explorer.update(weights={"revenue_12m": 0, "growth_12m": 0})
    assert state.error == "weights_all_zero" and tiers(state) == tiers(before)
    with pytest.raises(ConfigError, match="Indicator 'margin' is not in the methodology"):
        explorer.update(weights={"margin": 1})
    with pytest.raises(ConfigError, match="Tier 'gold' is not in the methodology"):
        explorer.update(thresholds={"gold": 1})
    with pytest.raises(ConfigError, match="finite and >= 0"):
        explorer.update(weights={"growth_12m": -1})
    assert explorer.reset() is explorer.baseline


def test_the_sliders_drive_the_callback(explorer):
    box = explorer.widget()
    assert len(explorer._widgets) == 2 + 3  # two weights, three thresholds (the last is 0)
    assert box.children  # a VBox with the sliders and the output
    explorer._widgets["weight:revenue_12m"].value = 0.8
    assert tiers(explorer.state)["A"] == "key"
    explorer._widgets["threshold:growth"].value = 30
    assert tiers(explorer.state)["B"] == "growth"  # 38.5 ≥ 30
    explorer.reset()
    assert explorer._widgets["weight:revenue_12m"].value == 0.5
    assert explorer._widgets["threshold:growth"].value == 40
    assert tiers(explorer.state)["A"] == "growth"


def test_an_update_from_code_moves_the_sliders(explorer):
    """The control shows the setting its output was computed with, whoever changed it."""
    explorer.widget()
    explorer.update(weights={"revenue_12m": 0.8}, thresholds={"growth": 30})
    assert explorer._widgets["weight:revenue_12m"].value == 0.8
    assert explorer._widgets["threshold:growth"].value == 30
    explorer.update(weights={"growth_12m": 1.5})  # beyond the slider's range: it widens
    slider = explorer._widgets["weight:growth_12m"]
    assert slider.value == 1.5 and slider.max >= 1.5
    assert explorer.state.weights == {"revenue_12m": 0.8, "growth_12m": 1.5}


def test_what_if_is_computed_aside_from_the_sliders(explorer):
    explorer.widget()
    explorer._widgets["weight:revenue_12m"].value = 0.8  # a trainee moves a slider
    explorer._widgets["threshold:key"].value = 45
    moved = explorer.state
    aside = explorer.what_if(weights={"growth_12m": 0.2})
    # from the methodology's setting (revenue 0.5, key 60), not from the sliders'
    assert aside.weights == {"revenue_12m": 0.5, "growth_12m": 0.2}
    assert aside.thresholds["key"] == 60
    assert tiers(aside) == {"A": "key", "B": "maintain", "C": "strategic", "D": "maintain"}
    assert explorer.state is moved  # state, sliders and output untouched
    assert explorer._widgets["weight:growth_12m"].value == 0.5
    assert explorer._widgets["weight:revenue_12m"].value == 0.8
    assert tiers(explorer.what_if()) == tiers(explorer.baseline)
    assert explorer.what_if(thresholds={"key": 85}).error == "thresholds_invalid"
    # the module function: the same, with no explorer at all
    assert tiers(what_if(FEATURES, MODEL)) == tiers(explorer.baseline)
    assert what_if(FEATURES, MODEL, weights={"growth_12m": 0.2}).changed == aside.changed == 2


def test_one_control_per_explorer_with_labels_that_fit(explorer):
    box = explorer.widget()
    assert explorer.widget() is box  # displayed twice, both views drive the same explorer
    explorer._widgets["weight:revenue_12m"].value = 0.8
    assert tiers(explorer.state)["A"] == "key"
    reset = next(c for c in box.children if getattr(c, "icon", "") == "undo")
    assert reset.description == "Back to the methodology"
    assert reset.layout.width == "max-content"  # not ipywidgets' fixed width that cut it
    zh = ScoringExplorer(FEATURES, MODEL, lang="zh").widget()
    sliders = [c for c in zh.children if hasattr(c, "readout_format")]
    width = float(sliders[0].style.description_width.removesuffix("em"))
    assert {s.description for s in sliders} >= {"revenue_12m", "战略客户", "成长客户"}
    assert width >= 0.6 * len("revenue_12m") + 1 and width >= 4 + 1  # CJK: one em a character
    # (tests/test_lab_browser.py checks in JupyterLab that no label is cut)


def test_explorer_equals_the_scoring_module(demo_store):
    features = account_features(demo_store, as_of="2026-09-30")
    explorer = ScoringExplorer(features, lang="zh")
    weights = dict.fromkeys(explorer.default_weights, 0.0) | {
        "revenue_12m": 0.6,
        "recency_days": 0.4,
    }
    state = explorer.update(weights=weights, thresholds={"key": 55})
    model = explorer.model.with_thresholds({"key": 55})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = score_accounts(features, model, weights=weights).scores
    got = state.scores.set_index("account_id")
    exp = expected.set_index("account_id")
    assert_allclose(got["score"].to_numpy(), exp.loc[got.index, "score"].to_numpy())
    assert (got["tier"] == exp.loc[got.index, "tier"]).all()
    assert state.changed > 0


def test_indicators_off_for_the_data_get_no_slider_and_their_weights_are_ignored(demo_store):
    """The demo store has no firmographics: the four registry indicators are off — no slider
    (moving one would do nothing), the notes say why, and a weight given for one (an exercise's
    equal weights over the methodology's indicators) is ignored, as score_accounts does."""
    from kamlib.methodology import load_methodology

    features = account_features(demo_store, as_of="2026-09-30")
    explorer = ScoringExplorer(features)
    registry = ("registry_capital", "insured_headcount", "years_established", "listed")
    assert explorer.off_indicators == registry
    assert not set(registry) & set(explorer.model.names)
    assert explorer.notes and "firmographics" in explorer.notes[0]
    explorer.widget()
    assert not {f"weight:{n}" for n in registry} & set(explorer._widgets)
    names = load_methodology().require_scoring().names
    equal = {n: 1 / len(names) for n in names}
    got = what_if(features, weights=equal).scores.set_index("account_id")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = score_accounts(features, weights=equal).scores.set_index("account_id")
    assert_allclose(got["score"].to_numpy(), expected.loc[got.index, "score"].to_numpy())
    walk = scoring_walkthrough(features)
    assert walk.model.names == explorer.model.names


def test_walkthrough_adds_up(demo_store):
    features = account_features(demo_store, as_of="2026-09-30")
    walk = scoring_walkthrough(features)
    facts = walk.example_facts("en")
    steps = walk.example_steps("en")
    assert_allclose(steps["contribution"].sum(), facts["score"])
    assert len(steps) == len(walk.model.indicators)
    assert (steps["band"] != "(no value)").all()  # the example has every value
    bands = walk.bands("zh")
    n_bands = sum(
        len(i.bands) or len(i.categories) + (i.other_points is not None)
        for i in walk.model.indicators
    )
    assert len(bands) == n_bands
    assert walk.tiers("en")["accounts_count"].sum() == len(features)
    with pytest.raises(ConfigError, match="not among the scored accounts"):
        scoring_walkthrough(features, example="NOPE")


def test_weight_sliders_span_twice_the_largest_weight():
    """0.30 as the heaviest weight → sliders to 0.60, so 0.03 and 0.05 sit apart on the track."""
    from kamlib.notebook.explore import weight_slider_max

    assert weight_slider_max({"a": 0.30, "b": 0.03}) == 0.60  # exactly: a slider shows its end
    assert weight_slider_max({"a": 0.31}) == pytest.approx(0.65)  # 0.62 rounded up to 0.05
    assert weight_slider_max({"a": 0.02}) == pytest.approx(0.10)  # never narrower than 0.1
    assert weight_slider_max({"a": 0.8, "b": 0.1}) == pytest.approx(1.0)  # never wider than 1
    assert weight_slider_max({}) == pytest.approx(0.10)
