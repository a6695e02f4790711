"""The ``research`` section of the methodology file: thresholds of :mod:`kamlib.research`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from kamlib.errors import ConfigError
from kamlib.methodology.parsing import (
    _unknown,
)


@dataclass(frozen=True)
class ResearchSettings:
    """Thresholds of :mod:`kamlib.research` (the ``research`` section of the methodology file).

    Every rule a dossier applies reads its threshold here, so the report can print the rule
    with the number that produced a finding.  Defaults are the shipped file's values.
    """

    # power map
    high_influence: int = 4
    supporter_min_support: int = 1
    opponent_max_support: int = -1
    stale_contact_days: int = 90
    single_thread_share: float = 0.6
    single_thread_min_contacts: int = 2
    relationship_window_days: int = 365
    strength_support_weight: float = 0.5
    strength_recency_weight: float = 0.25
    strength_frequency_weight: float = 0.25
    strength_recency_scale_days: float = 90.0
    strength_full_frequency: float = 6.0
    # service
    service_recent_months: int = 6
    service_baseline_months: int = 18
    service_min_tickets: int = 3
    service_slowdown_ratio: float = 1.5
    service_min_evidence: float = 2.0
    service_breach_alert: float = 0.25
    service_stall_ratio: float = 1.3
    service_stall_min_tickets: int = 20
    backlog_alert_days: int = 14
    # revenue, whitespace, pipeline
    revenue_decline_alert: float = -0.15
    whitespace_peer_share: float = 0.4
    whitespace_min_peers: int = 5
    recent_deals_days: int = 180
    # company registry events (company_events) shown and turned into findings
    registry_event_months: int = 24
    # OGSM
    on_track_ratio: float = 0.95
    at_risk_ratio: float = 0.8
    # findings
    top_findings: int = 5


_RESEARCH_INTS = {
    "high_influence": (1, 5), "supporter_min_support": (-2, 2), "opponent_max_support": (-2, 2),
    "stale_contact_days": (1, 3650), "single_thread_min_contacts": (1, 100),
    "relationship_window_days": (30, 3650), "service_recent_months": (1, 36),
    "service_baseline_months": (1, 60), "service_min_tickets": (1, 1000),
    "service_stall_min_tickets": (1, 100000), "backlog_alert_days": (1, 3650),
    "whitespace_min_peers": (1, 100000), "recent_deals_days": (1, 3650), "top_findings": (1, 50),
    "registry_event_months": (1, 240),
}  # fmt: skip
_RESEARCH_FLOATS = {
    "single_thread_share": (0.0, 1.0), "strength_support_weight": (0.0, 1.0),
    "strength_recency_weight": (0.0, 1.0), "strength_frequency_weight": (0.0, 1.0),
    "strength_recency_scale_days": (1.0, 3650.0), "strength_full_frequency": (0.1, 1000.0),
    "service_slowdown_ratio": (1.0, 100.0), "service_min_evidence": (0.0, 10.0),
    "service_breach_alert": (0.0, 1.0), "service_stall_ratio": (1.0, 100.0),
    "revenue_decline_alert": (-1.0, 0.0), "whitespace_peer_share": (0.0, 1.0),
    "on_track_ratio": (0.0, 2.0), "at_risk_ratio": (0.0, 2.0),
}  # fmt: skip


def parse_research(raw: Any, *, source: str = "<memory>") -> ResearchSettings:
    """Validate the ``research`` section (absent: the defaults of :class:`ResearchSettings`)."""
    if raw is None:
        return ResearchSettings()
    where = f"{source} research"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a mapping of setting → value. Got {raw!r} instead.")
    valid = [*_RESEARCH_INTS, *_RESEARCH_FLOATS]
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in valid:
            raise ConfigError(f"{where}: " + _unknown("setting", key, valid))
        lo, hi = _RESEARCH_INTS.get(key) or _RESEARCH_FLOATS[key]
        whole = key in _RESEARCH_INTS
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(value)
        if ok and whole and float(value) != int(value):
            ok = False
        if not ok or not lo <= float(value) <= hi:
            kind = "a whole number" if whole else "a number"
            raise ConfigError(
                f"{where}.{key}: must be {kind} between {lo} and {hi}. Got {value!r} instead."
            )
        values[key] = int(value) if whole else float(value)
    settings = ResearchSettings(**values)
    weights = (
        settings.strength_support_weight
        + settings.strength_recency_weight
        + settings.strength_frequency_weight
    )
    if abs(weights - 1.0) > 1e-9:
        raise ConfigError(
            f"{where}: strength_support_weight + strength_recency_weight + "
            f"strength_frequency_weight must add up to 1. Got {weights:g} instead."
        )
    if settings.at_risk_ratio > settings.on_track_ratio:
        raise ConfigError(
            f"{where}: at_risk_ratio ({settings.at_risk_ratio:g}) must not exceed "
            f"on_track_ratio ({settings.on_track_ratio:g})."
        )
    return settings
