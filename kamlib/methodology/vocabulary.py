"""The report vocabulary file (``labels.yml``) and its reader: key → (English, Chinese).

Kept apart from :mod:`~kamlib.methodology.labels` (the lookups reports call) so that the
methodology file's parsers can name their codes in both languages (the playbooks' task and
resource codes) without importing the module that reads the methodology file.
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


@cache
def vocabulary() -> Vocabulary:
    """The shipped vocabulary (``labels.yml``), read and checked once."""
    source = f"kamlib:methodology/{LABELS_FILE}"
    text = resources.files("kamlib.methodology").joinpath(LABELS_FILE).read_text("utf-8")
    return parse_vocabulary(load_yaml_text(text, source, unique_keys=True, shipped=True), source=source)


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
