"""Category values of a display frame written in the report's language.

Analysis frames hold label keys as values (``status = "at_risk"``, ``buying_role =
"economic"``); a view translates them once, so a notebook passes no ``translate=`` tuple.
:func:`kamlib.views.format.table` already translates the ``table``, ``check``, ``measure`` and
``stage`` columns by default, so :func:`translated` leaves those to it (translating twice would
turn a label into its capitalised fallback).  Also the frames several views build the same
way: the forecast methods' back-test track (:func:`methods_track_frame`).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from kamlib.methodology import Indicator
from kamlib.methodology.labels import label

#: Columns whose text values are label keys in the research reports.
CATEGORY_COLUMNS: tuple[str, ...] = (
    "status", "stance", "reaction_mode", "gap", "level", "movement", "buying_role", "type",
    "problem",
)  # fmt: skip


def missing_rule(indicator: Indicator, lang: str) -> str:
    """What the scoring does with an account lacking ``indicator``'s value, in ``lang``."""
    if indicator.missing.exclude:
        return label("missing_excluded", lang)
    return label("missing_points", lang).format(points=f"{indicator.missing.points:g}")


def translated(
    frame: pd.DataFrame, lang: str, columns: Iterable[str] = CATEGORY_COLUMNS
) -> pd.DataFrame:
    """A copy of ``frame`` whose text values in ``columns`` (those it has) are replaced by
    their ``lang`` label; other values (numbers, missing) are kept."""
    out = frame.copy()
    for col in columns:
        if col in out.columns:
            out[col] = (
                out[col].map(lambda v: label(v, lang) if isinstance(v, str) else v).astype(object)
            )
    return out


def methods_track_frame(track: pd.DataFrame, chosen: str) -> pd.DataFrame:
    """Every forecast method's P50 and the actual per back-test period (rows of one scope
    and origin of a back-test track), in the shape :func:`kamlib.charts.forecast_methods`
    reads: ``period``, ``method`` (label key), ``p50``, ``actual``, ``chosen``."""
    return pd.DataFrame(
        {
            "period": track["period"].to_numpy(),
            "method": ("fc_method_" + track["method"].astype(str)).to_numpy(),
            "p50": track["p50"].astype(float).to_numpy(),
            "actual": track["actual"].astype(float).to_numpy(),
            "chosen": (track["method"] == chosen).to_numpy(),
        }
    ).reset_index(drop=True)
