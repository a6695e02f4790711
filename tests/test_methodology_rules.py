"""Property-based tests (Hypothesis): user text never crashes the rule parser or the methodology
loader — it is a parsed rule / a Methodology, or one clear ConfigError (issue #17)."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamlib.errors import ConfigError
from kamlib.methodology import load_methodology, parse_methodology
from kamlib.methodology.rules import MAX_RULE_DEPTH, Rule, parse_rule

FIELDS = {"revenue_12m": "number", "growth_12m": "number", "region": "text", "vip": "bool"}
FRAME = pd.DataFrame(
    {
        "account_id": ["a", "b", "c"],
        "revenue_12m": [1.0, float("nan"), -3.5],
        "growth_12m": [0.1, 0.3, float("nan")],
        "region": ["East", None, "华东"],
        "vip": [True, False, True],
    }
)
PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ATOMS = st.sampled_from(
    ["revenue_12m", "growth_12m", "region", "vip", "1", "0.2", "-3", "1e9", "'East'", "'华东'",
     "True", "nan_field", "__import__('os')", "x.y", "[1, 2]", "1 if 2 else 3"]
)  # fmt: skip
OPS = st.sampled_from(
    [" and ", " or ", " + ", " - ", " * ", " / ", " > ", " <= ", " == ", " != ", " in ", " ** ",
     " // ", " | ", ",", " not in "]
)  # fmt: skip


@st.composite
def rule_texts(draw) -> str:
    """Rule-like text: atoms joined by operators, wrapped in not / brackets / minus, at depths
    from shallow to far beyond MAX_RULE_DEPTH, plus raw random text."""
    kind = draw(st.sampled_from(["expr", "nots", "sum", "brackets", "text"]))
    if kind == "text":
        return draw(st.text(max_size=300))
    if kind == "nots":
        n = draw(st.integers(0, 1000))
        return draw(st.sampled_from(["not ", "-", "+", "not -"])) * n + draw(ATOMS) + " > 1"
    if kind == "sum":
        n = draw(st.integers(1, 1200))
        return draw(OPS).join([draw(ATOMS)] * n) + " > 1"
    if kind == "brackets":
        n = draw(st.integers(0, 400))
        return "(" * n + draw(ATOMS) + " > 1" + ")" * n
    parts = [draw(ATOMS)]
    for _ in range(draw(st.integers(0, 12))):
        parts += [draw(OPS), draw(ATOMS)]
    return "".join(parts)


def _check(text: str) -> None:
    try:
        rule = parse_rule(text, where="Tag rule 'prop'", fields=list(FIELDS))
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith("Tag rule 'prop'") and "\n" not in message.split(". ")[0]
        return
    assert isinstance(rule, Rule)
    for step in (lambda: rule.check_kinds(FIELDS), lambda: rule.evaluate(FRAME)):
        try:
            step()
        except ConfigError:
            return


@PROPERTY
@given(rule_texts())
def test_any_rule_text_is_a_rule_or_a_config_error(text):
    _check(text)


@PROPERTY
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400))
def test_any_unicode_text_is_a_rule_or_a_config_error(text):
    _check(text)


@pytest.mark.parametrize(
    "text",
    ["not " * 490 + "revenue_12m > 1", "+".join(["1"] * 990) + " > 1", "-" * 1500 + "1 > 0"],
)
def test_deep_rules_are_refused_with_the_limit(text):
    with pytest.raises(ConfigError, match=rf"nests \d+ levels deep .* at most {MAX_RULE_DEPTH}"):
        parse_rule(text, where="Tag rule 'deep'", fields=list(FIELDS))


def test_rules_at_the_depth_limit_still_work():
    rule = parse_rule("not " * 20 + "revenue_12m > 0", where="t", fields=list(FIELDS))
    assert rule.evaluate(FRAME).tolist() == [True, False, False]
    rule = parse_rule(" + ".join(["revenue_12m"] * 30) + " > 0", where="t", fields=list(FIELDS))
    assert rule.evaluate(FRAME).tolist() == [True, False, False]


# --- methodology documents ---------------------------------------------------------------------

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
    st.text(max_size=30), st.sampled_from(["exclude", "manual", "entropy", "revenue_12m", "1/3"]),
)  # fmt: skip
KEYS = st.one_of(
    st.sampled_from(
        ["stages", "scoring", "tags", "segments", "research", "forecast", "currency", "open",
         "won", "lost", "key", "indicators", "weights", "tiers", "bands", "min", "max", "points",
         "missing", "method", "values", "label", "rule", "groups", "abc", "rfm", "scorin",
         "fiscal_year_start_month", "extends", "min_score", "feature", "name"]
    ),
    st.text(max_size=12),
)  # fmt: skip
DOCS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(KEYS, inner, max_size=6)
    ),
    max_leaves=40,
)


@PROPERTY
@given(DOCS)
def test_any_parsed_document_is_a_methodology_or_a_config_error(doc):
    try:
        meth = parse_methodology(doc, source="prop.yml")
    except ConfigError as exc:
        assert str(exc)
        return
    assert meth.stages


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_default_methodology_is_a_methodology_or_a_config_error(data):
    import copy
    from importlib import resources

    text = resources.files("kamlib.resources").joinpath("methodology.yml").read_text("utf-8")
    raw = copy.deepcopy(yaml.safe_load(text))
    node = raw
    for _ in range(data.draw(st.integers(0, 4))):
        if isinstance(node, dict) and node:
            key = data.draw(st.sampled_from(sorted(node, key=str)))
        elif isinstance(node, list) and node:
            key = data.draw(st.integers(0, len(node) - 1))
        else:
            break
        if not isinstance(node[key], (dict, list)):
            break
        node = node[key]
    if isinstance(node, dict):
        node[data.draw(KEYS)] = data.draw(DOCS)
    elif isinstance(node, list):
        node.append(data.draw(DOCS))
    try:
        parse_methodology(raw, source="prop.yml")
    except ConfigError as exc:
        assert str(exc)


@PROPERTY
@given(st.binary(max_size=2000) | st.text(max_size=2000).map(lambda t: t.encode("utf-8")))
def test_any_file_content_is_a_methodology_or_a_config_error(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("m") / "prop.yml"
    path.write_bytes(content)
    try:
        load_methodology(path)
    except ConfigError as exc:
        assert "prop.yml" in str(exc)


@PROPERTY
@given(DOCS)
def test_any_yaml_file_of_a_document_is_a_methodology_or_a_config_error(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("m") / "doc.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    try:
        load_methodology(path)
    except ConfigError as exc:
        assert "doc.yml" in str(exc)
