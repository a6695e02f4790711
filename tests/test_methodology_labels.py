"""The report vocabulary (kamlib/methodology/labels.yml): one table, each key once."""

from __future__ import annotations

from importlib import resources

import pytest

from kamlib.errors import ConfigError
from kamlib.methodology.files import load_yaml_text
from kamlib.methodology.labels import (
    LABELS_FILE,
    LANGUAGES,
    check_lang,
    label,
    note,
    parse_vocabulary,
    vocabulary,
)


def test_a_duplicate_key_is_refused_naming_it_and_both_lines():
    text = 'labels:\n  orders: {en: "Orders", zh: "订单"}\n  orders: {en: "Sales", zh: "销售"}\n'
    with pytest.raises(ConfigError, match=r"line 3: key 'orders' is given twice \(first at line 2\)"):
        load_yaml_text(text, "labels.yml", unique_keys=True)
    # plain YAML would have kept the last one silently
    assert load_yaml_text(text, "labels.yml")["labels"]["orders"]["en"] == "Sales"


def test_a_duplicate_key_is_refused_at_any_level():
    with pytest.raises(ConfigError, match="key 'en' is given twice"):
        load_yaml_text('notes:\n  x: {en: "a", en: "b", zh: "乙"}\n', "labels.yml", unique_keys=True)
    with pytest.raises(ConfigError, match="key 'notes' is given twice"):
        load_yaml_text("notes: {}\nlabels: {}\nnotes: {}\n", "labels.yml", unique_keys=True)


def test_the_shipped_file_loads_through_the_strict_reader():
    text = resources.files("kamlib.methodology").joinpath(LABELS_FILE).read_text("utf-8")
    raw = load_yaml_text(text, LABELS_FILE, unique_keys=True)
    vocab = parse_vocabulary(raw, source=LABELS_FILE)
    assert len(vocab.labels) > 600 and len(vocab.notes) > 40
    assert dict(vocab.labels) == dict(vocabulary().labels)
    assert all(en.strip() and zh.strip() for en, zh in vocab.labels.values())


def test_the_vocabulary_is_read_once():
    assert vocabulary() is vocabulary()


def test_labels_notes_and_their_fallbacks():
    assert LANGUAGES == ("en", "zh")
    assert label("orders", "zh") == "订单"
    assert label("orders") == "Orders"
    assert label("quote", "zh") == "报价/投标"  # a stage: from the methodology file
    assert label("rows_never_heard_of") == "Rows never heard of"
    assert note("tables_overview").startswith("Rows per canonical table")
    assert note("no_such_section", "zh") == ""
    assert check_lang("zh") == "zh"
    with pytest.raises(ConfigError, match="must be one of en, zh"):
        label("orders", "fr")
    with pytest.raises(ConfigError, match="must be one of en, zh"):
        note("tables_overview", "de")


def test_keys_the_old_tables_gave_twice_have_the_text_the_reports_showed():
    # data health and the research power map share no_gaps; tickets and zombie deals age_days
    assert label("no_gaps") == "No coverage gaps found."
    assert label("no_gaps", "zh") == "未发现覆盖缺口。"
    assert label("age_days", "zh") == "已开天数"


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"labels": {}}, "exactly 'labels' and 'notes'"),
        ([], "exactly 'labels' and 'notes'"),
        ({"labels": {"x": {"en": "X"}}, "notes": {}}, r"labels\.x: give the key as text and both"),
        ({"labels": {}, "notes": {"x": "X"}}, r"notes\.x: give the key as text and both"),
        ({"labels": {False: {"en": "No", "zh": "否"}}, "notes": {}}, "labels.False"),
        ({"labels": {"x": {"en": "X", "zh": 1}}, "notes": {}}, r"labels\.x"),
        ({"labels": [], "notes": {}}, "'labels' must map each key"),
    ],
)
def test_a_malformed_vocabulary_is_refused(raw, match):
    with pytest.raises(ConfigError, match=match):
        parse_vocabulary(raw, source="labels.yml")


def test_shipped_files_parse_the_same_with_libyaml():
    """kamlib's own YAML files are parsed with libyaml when PyYAML has it: the same values
    as the pure-Python loader, the same refusal of a key given twice."""
    from importlib import resources

    import pytest

    from kamlib.errors import ConfigError
    from kamlib.methodology.files import load_yaml_text

    for package, name, unique in (
        ("kamlib.resources", "methodology.yml", False),
        ("kamlib.methodology", "labels.yml", True),
    ):
        text = resources.files(package).joinpath(name).read_text("utf-8")
        assert load_yaml_text(text, name, unique_keys=unique, shipped=True) == load_yaml_text(
            text, name, unique_keys=unique
        )
    with pytest.raises(ConfigError, match="line 2: key 'a' is given twice"):
        load_yaml_text("a: 1\na: 2\n", "x", unique_keys=True, shipped=True)
