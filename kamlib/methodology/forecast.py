"""The ``forecast`` section of the methodology file: settings of :mod:`kamlib.forecast`."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from kamlib.errors import ConfigError


@dataclass(frozen=True)
class ForecastSettings:
    """Settings of :mod:`kamlib.forecast` (the ``forecast`` section of the methodology file).

    ``commit`` and ``best_case`` are win-probability thresholds of the forecast categories
    (commit ≥ commit; best case ≥ best_case; the rest is pipeline).  ``min_closed_deals``
    and ``min_per_outcome`` say how much history the win-probability model needs; with less
    it falls back to empirical stage win rates.  ``timing_*`` and ``zombie_*`` set the
    close-timing model (:mod:`kamlib.forecast.close_timing`): age bucket length, events needed
    for the hazard GLM (else the life table), the median |slip| of a stage's won deals above
    which its deals are timed by the hazard model instead of expected close + slippage, and
    the zombie limits (age quantile of closed deals, P(ever closes)).
    """

    simulations: int = 10_000
    seed: int = 2026
    commit: float = 0.7
    best_case: float = 0.4
    min_closed_deals: int = 200
    min_per_outcome: int = 30
    owner_prior_deals: float = 20.0
    stage_prior_deals: float = 10.0
    snapshot_months: int = 36
    snapshot_step_months: int = 3
    holdout_months: int = 6
    new_deal_periods: int = 8
    run_rate_months: int = 36
    timing_bucket_days: int = 7
    timing_min_events: int = 30
    timing_max_slip_days: float = 90.0
    zombie_age_quantile: float = 0.99
    zombie_min_close_probability: float = 0.02


def parse_forecast(raw: Any, *, source: str = "<memory>") -> ForecastSettings:
    """Validate the ``forecast`` section (absent: the defaults of :class:`ForecastSettings`)."""
    where = f"{source} forecast"
    if raw is None:
        return ForecastSettings()
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must be a mapping of settings. Got {raw!r} instead.")
    defaults = ForecastSettings()
    known = set(defaults.__dataclass_fields__)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(
            f"{where}: unknown setting {unknown[0]!r}. Valid settings: {', '.join(sorted(known))}."
        )
    limits = {
        "simulations": (100, 10_000_000, True),
        "seed": (0, 2**63 - 1, True),
        "commit": (0.0, 1.0, False),
        "best_case": (0.0, 1.0, False),
        "min_closed_deals": (1, 10**9, True),
        "min_per_outcome": (1, 10**9, True),
        "owner_prior_deals": (0.0, 1e6, False),
        "stage_prior_deals": (0.0, 1e6, False),
        "snapshot_months": (3, 240, True),
        "snapshot_step_months": (1, 12, True),
        "holdout_months": (1, 60, True),
        "new_deal_periods": (0, 40, True),
        "run_rate_months": (12, 240, True),
        "timing_bucket_days": (1, 366, True),
        "timing_min_events": (1, 10**9, True),
        "timing_max_slip_days": (0.0, 3660.0, False),
        "zombie_age_quantile": (0.5, 1.0, False),
        "zombie_min_close_probability": (0.0, 1.0, False),
    }
    values: dict[str, Any] = {}
    for key, value in raw.items():
        lo, hi, whole = limits[key]
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = (
            ok and math.isfinite(value) and lo <= value <= hi and (not whole or value == int(value))
        )
        if not ok:
            kind = "a whole number" if whole else "a number"
            raise ConfigError(
                f"{where}.{key}: must be {kind} between {lo} and {hi}. Got {value!r} instead."
            )
        values[key] = int(value) if whole else float(value)
    settings = replace(defaults, **values)
    if settings.best_case > settings.commit:
        raise ConfigError(
            f"{where}: best_case ({settings.best_case:g}) must not exceed commit "
            f"({settings.commit:g}): a commit deal is also a best-case deal."
        )
    return settings
