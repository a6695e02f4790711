"""The look shared by every chart: fonts, colours, sizes, number/date locales, and the small
helpers the chart modules build on (the "nothing to show" chart, count axes, column checks).

:data:`REPORT_CONFIG` is the report theme and :data:`LOCALES` the number/date locale of each
report language; the offline renderer (:mod:`kamlib.reports.offline`) applies both.  Nothing
here reads or writes files.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from kamlib.errors import DataValidationError

#: Font stack of every chart: Latin fonts first, then the CJK fonts a Chinese report needs.
FONT = (
    '"Noto Sans", "Segoe UI", "Helvetica Neue", Arial, "Noto Sans CJK SC", '
    '"Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif'
)
#: The house colour (single-series marks, totals, the P50 line).
COLOR = "#2f6690"
#: Width in pixels of a full-width chart; narrower charts subtract from it.
WIDTH = 560
#: Height in pixels of one bar of a horizontal bar chart.
BAR_STEP = 22

#: Chart look applied by the renderer (:func:`kamlib.reports.offline.report_spec`) under
#: each chart's own ``config`` (the chart wins).
REPORT_CONFIG: dict[str, Any] = {
    "font": FONT,
    "background": "white",
    "view": {"stroke": "transparent"},
    "mark": {"color": COLOR},
    "bar": {"color": COLOR},
    "axis": {
        "labelFontSize": 11,
        "titleFontSize": 12,
        "titleFontWeight": "normal",
        "titleColor": "#3d4852",
        "labelColor": "#3d4852",
        "gridColor": "#e8ebee",
        "domainColor": "#9aa5b1",
        "tickColor": "#9aa5b1",
        "labelLimit": 260,
    },
    "legend": {"labelFontSize": 11, "titleFontSize": 12, "titleFontWeight": "normal"},
    "title": {"fontSize": 14, "fontWeight": 600, "anchor": "start", "color": "#1f2933"},
    "range": {
        "category": [
            "#2f6690", "#d1803b", "#3a7d44", "#b5485d", "#7b5ea7",
            "#8c6d46", "#c76fa4", "#6b7b8c", "#a8a23a", "#2aa1a8",
        ]
    },
}  # fmt: skip

#: Number and date format locale (d3 / vl-convert name) of each report language.
LOCALES = {"en": "en-US", "zh": "zh-CN"}

#: Line colours of curves compared in one chart; the last one is for the reference line.
CURVE_COLORS = ("#2f6690", "#d1803b", "#3a7d44", "#9aa5b1")


def message_chart(message: str) -> alt.Chart:
    """A small chart that only says ``message`` (keeps the report's shape when data is empty)."""
    return (
        alt.Chart(pd.DataFrame({"message": [message]}))
        .mark_text(align="left", baseline="middle", fontSize=13, color="#52606d")
        .encode(text="message:N", x=alt.value(0), y=alt.value(12))
        .properties(width=WIDTH - 140, height=24)
    )


#: Short money labels: 8M and 1.2B in English, 800万 and 1.2亿 in Chinese (never "8,000,000"
#: next to "10,000,000", which collide; never d3's "G" for billions).
_MONEY_LABELS = {
    "en": "replace(format(datum.value, '~s'), 'G', 'B')",
    "zh": (
        "abs(datum.value) >= 1e8 ? format(datum.value / 1e8, '.3~r') + '亿' : "
        "abs(datum.value) >= 1e4 ? format(datum.value / 1e4, '.3~r') + '万' : "
        "format(datum.value, ',')"
    ),
}


def money_axis(lang: str, **kwargs: object) -> alt.Axis:
    """An axis for amounts with short labels in the report language (8M / 800万)."""
    return alt.Axis(labelExpr=_MONEY_LABELS[lang], **kwargs)


def count_axis(largest: float) -> alt.Axis:
    """An axis for counts: whole numbers only (vega would put ticks at 0.5 for small counts)."""
    if pd.notna(largest) and largest <= 10:
        return alt.Axis(format=",d", values=list(range(int(largest) + 1)))
    return alt.Axis(format=",d", tickMinStep=1)


def require_columns(frame: pd.DataFrame, columns: tuple[str, ...], where: str) -> None:
    """Raise :class:`~kamlib.errors.DataValidationError` naming every column of ``columns``
    that ``frame`` lacks; ``where`` is the chart function that needs them."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataValidationError(
            f"{where}: required column(s) {', '.join(map(repr, missing))} missing. "
            f"Got columns {list(frame.columns)}; pass the frame kamlib.data.health / "
            "kamlib.research returns."
        )


def date_text(values: pd.Series) -> list[str]:
    """Dates as ``YYYY-MM-DD`` text for tooltips (empty text where a date is missing)."""
    stamps = pd.to_datetime(values)
    return ["" if pd.isna(v) else v.strftime("%Y-%m-%d") for v in stamps]


def distinct_in_order(values: pd.Series) -> list[str]:
    """Distinct values in order of first appearance (the order the frame gives)."""
    return list(dict.fromkeys(values.astype(str)))
