"""The small parsers every section of the methodology file shares: numbers, ``{en, zh}``
labels, names, weights that sum to 1, and "did you mean" messages."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from kamlib.errors import ConfigError


def normalise_label(value: str) -> str:
    return " ".join(str(value).strip().lower().replace("_", " ").split())


_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def spelling_table(
    entries: Iterable[tuple[str, Iterable[str]]], *, what: str, where: str, article: str = ""
) -> dict[str, str]:
    """Every spelling of each entry (its key, labels and aliases, normalised by
    :func:`normalise_label`) → the entry's key; ``ConfigError`` at ``where.<key>.aliases``
    when one spelling names two entries (an export's value could then mean either;
    ``article`` goes before the other entry's key in the message, e.g. "the sales process ")."""
    table: dict[str, str] = {}
    for key, names in entries:
        for name in (key, *names):
            norm = normalise_label(name)
            if table.get(norm, key) != key:
                raise ConfigError(
                    f"{where}.{key}.aliases: '{name}' also names {article}'{table[norm]}' (as its key, a "
                    f"label or an alias). Each spelling must name one {what}: change it in one "
                    "of them."
                )
            table[norm] = key
    return table


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected a number. Got {value!r} instead.")
    try:
        out = float(Fraction(str(value).strip())) if isinstance(value, str) else float(value)
    except (TypeError, ValueError, ZeroDivisionError) as exc:
        raise ConfigError(f"{where}: expected a number. Got {value!r} instead.") from exc
    if math.isnan(out):
        raise ConfigError(f"{where}: expected a number. Got {value!r} instead.")
    return out


def _unknown(what: str, name: Any, valid: Any) -> str:
    valid = list(valid)
    hint = difflib.get_close_matches(str(name), [str(v) for v in valid], n=1)
    did = f" Did you mean '{hint[0]}'?" if hint else ""
    return f"Unknown {what} '{name}'.{did} Valid: {', '.join(map(str, valid))}."


#: Largest weight sum accepted: weights are shares (0.3) or points (30), never astronomical.
MAX_WEIGHT_SUM = 1e12


def _safe_sum(values: Any, where: str) -> float:
    """The sum of finite, non-negative weights; ``ConfigError`` when it exceeds
    :data:`MAX_WEIGHT_SUM` (1e308 + 1e308 would overflow)."""
    vals = list(values)
    top = max(vals, default=0.0)
    if top <= 0:
        return 0.0
    total = top * math.fsum(v / top for v in vals)  # scaled: no intermediate overflow
    if not total <= MAX_WEIGHT_SUM:
        raise ConfigError(
            f"{where}: the weights sum to "
            f"{f'{total:g}' if math.isfinite(total) else 'more than 1e308'}; weights are shares (e.g. 0.3) or points "
            f"(e.g. 30), at most {MAX_WEIGHT_SUM:g} in total. Give smaller weights."
        )
    return total


def normalised_weights(values: list[float]) -> list[float]:
    """Finite, non-negative weights (sum > 0) divided by their sum, computed without
    overflow or underflow (each is first divided by the largest)."""
    top = max(values)
    scaled = [v / top for v in values]
    total = math.fsum(scaled)
    return [v / total for v in scaled]


def _labels(raw: Any, default: str, where: str = "label") -> tuple[str, str]:
    label = raw if raw is not None else {}
    if isinstance(label, str):
        return label, label
    if not isinstance(label, dict):
        raise ConfigError(f"{where}: a label must be text or {{en, zh}}. Got {raw!r} instead.")
    extra = set(label) - {"en", "zh"}
    if extra:
        raise ConfigError(
            f"{where}: the label has unknown key(s) {sorted(map(str, extra))}; use en and zh. "
            '(Text with a comma inside {...} must be quoted: {en: "Big, small"}.)'
        )
    en = str(label.get("en", default))
    return en, str(label.get("zh", en))


def _check_name(name: str, where: str, what: str) -> None:
    if not _NAME.match(name):
        raise ConfigError(
            f"{where}: {what} name {name!r} must be letters, digits and underscores, starting "
            "with a letter."
        )
