"""Report vocabulary in English and Chinese: table names, column names, headings, notes.

Cross-cutting like the rest of :mod:`kamlib.methodology`: :mod:`kamlib.charts` (axis titles,
tooltips) and :mod:`kamlib.views.format` (table headers, headings) both read it, so it cannot
live in either without one importing the other against the layering in ARCHITECTURE.md.

``label("orders", "zh")`` → ``"订单"``; opportunity stages come from the shipped methodology
file (``label("quote", "zh")`` → ``"报价/投标"``).  A key without an entry comes back readable
(``"rows_loaded"`` → ``"Rows loaded"``) rather than raising: a new column should never break
a report, it should only look untranslated.  :func:`note` gives the paragraph introducing a
report section (empty when there is none).

The vocabulary is data, not code: ``kamlib/methodology/labels.yml`` holds one table of labels
(key → en, zh) and one of section notes, read once (cached) by :func:`vocabulary` with a
YAML reader that refuses a key given twice, so every key has exactly one text.  It is YAML
because the methodology file is YAML and the people who keep these texts are analysts who
translate a table of keys.  gettext / Babel catalogues are the tool for translating a
program's *source strings* (the English text in the code is the message id, extracted from
the code); that is not what this is: here the key is an identifier, both languages are
written side by side, and neither is the source of the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from kamlib.errors import ConfigError
from kamlib.methodology.files import load_yaml_text
from kamlib.methodology.methodology import load_methodology

LANGUAGES: tuple[str, ...] = ("en", "zh")

#: The vocabulary file shipped in this package.
LABELS_FILE = "labels.yml"


@dataclass(frozen=True)
class Vocabulary:
    """The label table and the notes table: key → (English, Chinese)."""

    labels: Mapping[str, tuple[str, str]]
    notes: Mapping[str, tuple[str, str]]
    source: str = "<memory>"


def check_lang(lang: str) -> str:
    """Return ``lang`` if kamlib can write reports in it, else raise ``ConfigError``."""
    if lang not in LANGUAGES:
        raise ConfigError(
            f"The report language must be one of {', '.join(LANGUAGES)}. Got {lang!r} instead."
        )
    return lang


def label(key: str, lang: str = "en") -> str:
    """The ``lang`` label of ``key``; an unknown key comes back as readable text."""
    check_lang(lang)
    pair = vocabulary().labels.get(key)
    if pair is not None:
        return pair[LANGUAGES.index(lang)]
    stage = _stage_labels(lang).get(key)
    if stage is not None:
        return stage
    return str(key).replace("_", " ").strip().capitalize()


def note(key: str, lang: str = "en") -> str:
    """The introductory paragraph of section ``key`` (empty when there is none)."""
    check_lang(lang)
    pair = vocabulary().notes.get(key)
    return "" if pair is None else pair[LANGUAGES.index(lang)]


def _stage_labels(lang: str) -> dict[str, str]:
    """Opportunity stage key → label, from the shipped methodology file."""
    return {stage.key: stage.label(lang) for stage in load_methodology().stages}


@cache
def vocabulary() -> Vocabulary:
    """The shipped vocabulary (``labels.yml``), read and checked once."""
    source = f"kamlib:methodology/{LABELS_FILE}"
    text = resources.files("kamlib.methodology").joinpath(LABELS_FILE).read_text("utf-8")
    return parse_vocabulary(load_yaml_text(text, source, unique_keys=True), source=source)


def parse_vocabulary(raw: Any, *, source: str = "<memory>") -> Vocabulary:
    """Check a parsed vocabulary file: ``labels`` and ``notes``, each mapping a key to
    ``{en, zh}`` texts; ``ConfigError`` naming the file and the entry otherwise."""
    if not isinstance(raw, dict) or set(raw) != {"labels", "notes"}:
        found = sorted(map(str, raw)) if isinstance(raw, dict) else type(raw).__name__
        raise ConfigError(f"{source}: must have exactly 'labels' and 'notes'. Got {found}.")
    tables = {}
    for name in ("labels", "notes"):
        table = raw[name]
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: '{name}' must map each key to {{en, zh}}.")
        entries: dict[str, tuple[str, str]] = {}
        for key, item in table.items():
            texts = item if isinstance(item, dict) else {}
            if (
                not isinstance(key, str)
                or set(texts) != set(LANGUAGES)
                or not all(isinstance(texts[lang], str) for lang in LANGUAGES)
            ):
                raise ConfigError(
                    f"{source}: {name}.{key}: give the key as text and both texts, "
                    f'e.g. orders: {{en: "Orders", zh: "订单"}}. Got {item!r} instead.'
                )
            entries[key] = (texts["en"], texts["zh"])
        tables[name] = MappingProxyType(entries)
    return Vocabulary(labels=tables["labels"], notes=tables["notes"], source=source)
