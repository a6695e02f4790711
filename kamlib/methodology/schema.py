"""Every key a methodology file may use, and the check that refuses any other.

Before any section is parsed, :func:`check_methodology_keys` refuses a key the file does
not know at any nesting level (``scorin:``, a band's ``pts:``), naming the file, the key's path
and the closest valid key — a typo is never ignored in favour of the default.
"""

from __future__ import annotations

import difflib
from typing import Any

from kamlib.errors import ConfigError
from kamlib.methodology.forecast import ForecastSettings
from kamlib.methodology.research import ResearchSettings


# --- the keys a methodology file may use ------------------------------------------------------
class _Items:
    """Schema of a list whose items (mappings) follow ``schema``; a lone mapping is checked as
    one item (``pareto`` may be a rule or a list of rules)."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema


class _Each:
    """Schema of a mapping with free keys (names the user chooses) whose values, when they
    are mappings, follow ``schema``."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema


_FREE = None  # any value: the section's own parser checks it
_LABEL = _FREE  # checked by _labels (en, zh), whose message explains quoting
_STAGE = {"key": _FREE, "label": _LABEL, "probability": _FREE, "aliases": _FREE}


def _methodology_schema() -> dict[str, Any]:
    """Every key a methodology file may use, at every nesting level (the shipped
    ``kamlib/resources/methodology.yml`` documents them)."""
    return {
        "version": _FREE,
        "extends": _FREE,
        "currency": _FREE,
        "fiscal_year_start_month": _FREE,
        "stages": {"open": _Items(_STAGE), "won": _STAGE, "lost": _STAGE},
        "scoring": {
            "missing": {"points": _FREE},
            "extra_features": _FREE,
            "indicators": _Items({
                "name": _FREE, "feature": _FREE, "kind": _FREE, "label": _LABEL,
                "description": _FREE, "missing": {"points": _FREE},
                "bands": _Items({"min": _FREE, "max": _FREE, "points": _FREE, "label": _FREE}),
                "categories": _FREE, "other": _FREE, "requires": _FREE,
            }),
            "weights": {
                "method": _FREE, "values": _FREE, "note": _FREE,
                "ahp": {"criteria": _FREE, "matrix": _FREE, "allow_inconsistent": _FREE,
                        "random_index": _FREE},
            },
            "tiers": _Items({"key": _FREE, "label": _LABEL, "min_score": _FREE}),
            "pareto": _Items({"feature": _FREE, "share": _FREE, "min_tier": _FREE}),
        },
        "tags": _Each({"rule": _FREE, "label": _LABEL, "description": _FREE}),
        "segments": {
            "groups": _Each({"rule": _FREE, "tiers": _FREE, "builtin": _FREE, "label": _LABEL,
                             "description": _FREE}),
            "abc": {"feature": _FREE, "a": _FREE, "b": _FREE},
            "rfm": {
                "recency": _FREE, "frequency": _FREE, "monetary": _FREE, "quantiles": _FREE,
                "cut_points": {"recency": _FREE, "frequency": _FREE, "monetary": _FREE},
                "segments": _FREE,  # a list of {key, rule, label} or key: rule (checked there)
                "other": {"key": _FREE, "label": _LABEL},
            },
            "portfolio": {
                "attractiveness": _FREE, "position": _FREE,
                "thresholds": {"attractiveness": _FREE, "position": _FREE},
                "quadrants": _Each({"label": _LABEL, "strategy": _LABEL}),
            },
        },
        "research": dict.fromkeys(ResearchSettings.__dataclass_fields__),
        "playbooks": {
            "tasks": _Each({"kind": _FREE, "label": _LABEL, "aliases": _FREE, "description": _FREE}),
            "processes": _Each({
                "label": _LABEL, "aliases": _FREE, "description": _FREE,
                "stages": _Each({"expected_days": _FREE, "required": _FREE, "recommended": _FREE}),
            }),
            "bid_readiness": {
                "stage": _FREE, "processes": _FREE,
                "checklist": _Items({"item": _FREE, "weight": _FREE, "task": _FREE,
                                     "condition": _FREE, "label": _LABEL, "description": _FREE}),
            },
        },
        "forecast": dict.fromkeys(ForecastSettings.__dataclass_fields__),
    }  # fmt: skip


def check_methodology_keys(raw: Any, *, source: str = "<memory>") -> None:
    """Refuse a key the methodology file does not know, at any nesting level: a typo such
    as ``scorin:`` would otherwise be ignored and the default used silently.

    The message names the file, the key's path and the closest valid key.
    """
    stack: list[tuple[Any, Any, str]] = [(raw, _methodology_schema(), "")]
    while stack:
        value, schema, path = stack.pop()
        if schema is None:
            continue
        if isinstance(schema, _Items):
            if isinstance(value, dict):
                stack.append((value, schema.schema, path))
            elif isinstance(value, list):
                stack.extend((item, schema.schema, f"{path}[{i}]") for i, item in enumerate(value))
            continue
        if isinstance(schema, _Each):
            if isinstance(value, dict):
                stack.extend((v, schema.schema, f"{path}.{k}") for k, v in value.items())
            continue
        if not isinstance(value, dict):
            continue
        for key, item in value.items():
            if key not in schema:
                hint = difflib.get_close_matches(str(key), list(schema), n=1, cutoff=0.6)
                did = f" Did you mean '{hint[0]}'?" if hint else ""
                place = f"at {path.lstrip('.')}.{key}" if path else "at the top level"
                raise ConfigError(
                    f"{source}: unknown key '{key}' {place}.{did} Valid keys there: "
                    f"{', '.join(schema)}."
                )
            stack.append((item, schema[key], f"{path}.{key}"))
