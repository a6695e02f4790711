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

from kamlib.methodology.methodology import load_methodology
from kamlib.methodology.vocabulary import (
    LABELS_FILE,
    LANGUAGES,
    Vocabulary,
    check_lang,
    parse_vocabulary,
    vocabulary,
)

__all__ = [
    "LABELS_FILE",
    "LANGUAGES",
    "Vocabulary",
    "check_lang",
    "label",
    "note",
    "parse_vocabulary",
    "vocabulary",
]

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
