"""Category values of a display frame written in the report's language.

Analysis frames hold label keys as values (``status = "at_risk"``, ``buying_role =
"economic"``); a view translates them once, so a notebook passes no ``translate=`` tuple.
:func:`kamlib.views.format.table` already translates the ``table``, ``check``, ``measure`` and
``stage`` columns by default, so :func:`translated` leaves those to it (translating twice would
turn a label into its capitalised fallback).  Also the frames several views build the same
way: the forecast methods' back-test track (:func:`methods_track_frame`); the playbooks' task
and checklist codes in a language (:func:`playbook_labels`, :func:`listed`).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from kamlib.methodology import Indicator, Methodology
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


def playbook_labels(meth: Methodology, lang: str) -> dict[str, str]:
    """Task and checklist codes of the methodology's playbooks → their labels in ``lang``
    (the playbooks' catalogue; empty without playbooks)."""
    playbooks = meth.playbooks
    if playbooks is None:
        return {}
    found = {task.code: task.label(lang) for task in playbooks.tasks}
    found.update({i.item: i.label_zh if lang == "zh" else i.label_en for i in playbooks.checklist})
    return found


def listed(codes: object, labels: dict[str, str], lang: str = "en") -> str:
    """A tuple of codes as one text of their labels (``"Technical bid, Commercial bid"``,
    ``"技术标、商务标"``); empty for none."""
    if codes is None or (isinstance(codes, float) and codes != codes):
        return ""
    return ("、" if lang == "zh" else ", ").join(labels.get(str(c), str(c)) for c in codes)
