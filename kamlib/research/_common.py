"""Small helpers shared by the research modules (not public)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from kamlib.methodology import Methodology, ResearchSettings, load_methodology
from kamlib.periods import as_day


def text(value: Any) -> str | None:
    """``value`` as stripped text, ``None`` when missing or blank."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    if value is pd.NaT:
        return None
    out = str(value).strip()
    return out or None


def resolve_methodology(methodology: Methodology | None) -> Methodology:
    return load_methodology() if methodology is None else methodology


def settings_of(methodology: Methodology | None) -> ResearchSettings:
    """The ``research`` settings of ``methodology`` (the shipped defaults when absent)."""
    meth = resolve_methodology(methodology)
    return meth.research if meth.research is not None else ResearchSettings()


def as_cut(as_of: Any, who: str) -> pd.Timestamp:
    """``as_of`` as a midnight timestamp; ``ConfigError`` when it does not parse."""
    return as_day(as_of, owner=who)


def empty_frame(columns: dict[str, str]) -> pd.DataFrame:
    """An empty frame with the given column → dtype."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


def months_back(cut: pd.Timestamp, months: int) -> pd.Timestamp:
    """``cut`` minus whole calendar months (month ends stay month ends)."""
    out = cut - pd.DateOffset(months=months)
    if cut.is_month_end:
        out = out + pd.offsets.MonthEnd(0)
    return pd.Timestamp(out).normalize()
