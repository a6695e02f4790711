"""Small helpers shared by the research modules (not public)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from kamlib.methodology import Methodology, ResearchSettings, resolve_methodology


def text(value: Any) -> str | None:
    """``value`` as stripped text, ``None`` when missing or blank."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    if value is pd.NaT:
        return None
    out = str(value).strip()
    return out or None


def settings_of(
    methodology: Methodology | str | None, owner: str = "this function"
) -> ResearchSettings:
    """The ``research`` settings of ``methodology`` (resolved by
    :func:`kamlib.methodology.resolve_methodology`; the shipped defaults when it has none)."""
    return resolve_methodology(methodology, owner=owner).research_settings


def months_back(cut: pd.Timestamp, months: int) -> pd.Timestamp:
    """``cut`` minus whole calendar months (month ends stay month ends)."""
    out = cut - pd.DateOffset(months=months)
    if cut.is_month_end:
        out = out + pd.offsets.MonthEnd(0)
    return pd.Timestamp(out).normalize()
