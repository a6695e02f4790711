"""The look shared by every chart: fonts, colours, sizes, number/date locales, and the small
helpers the chart modules build on (the "nothing to show" chart, count axes, column checks).

:data:`REPORT_CONFIG` is the report theme; the offline renderer
(:mod:`kamlib.reports.offline`) applies it under each chart's own ``config``.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

FONT = (
    '"Noto Sans", "Segoe UI", "Helvetica Neue", Arial, "Noto Sans CJK SC", '
    '"Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif'
)


COLOR = "#2f6690"


WIDTH = 560


BAR_STEP = 22


#: Chart look applied by the renderer under each chart's own ``config`` (the chart wins).
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


_LOCALES = {"en": "en-US", "zh": "zh-CN"}


def _message_chart(message: str) -> alt.Chart:
    """A small chart that only says ``message`` (keeps the report's shape when data is empty)."""
    return (
        alt.Chart(pd.DataFrame({"message": [message]}))
        .mark_text(align="left", baseline="middle", fontSize=13, color="#52606d")
        .encode(text="message:N", x=alt.value(0), y=alt.value(12))
        .properties(width=WIDTH - 140, height=24)
    )


def _count_axis(largest: float) -> alt.Axis:
    """An axis for counts: whole numbers only (vega would put ticks at 0.5 for small counts)."""
    if pd.notna(largest) and largest <= 10:
        return alt.Axis(format=",d", values=list(range(int(largest) + 1)))
    return alt.Axis(format=",d", tickMinStep=1)


def _require(frame: pd.DataFrame, columns: tuple[str, ...], where: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        from kamlib.errors import DataValidationError

        raise DataValidationError(
            f"{where}: required column(s) {', '.join(map(repr, missing))} missing. "
            f"Got columns {list(frame.columns)}; pass the frame kamlib.data.health / "
            "kamlib.research returns."
        )


def _date_text(values: pd.Series) -> list[str]:
    stamps = pd.to_datetime(values)
    return ["" if pd.isna(v) else v.strftime("%Y-%m-%d") for v in stamps]


_CURVE_COLORS = ("#2f6690", "#d1803b", "#3a7d44", "#9aa5b1")


def _order(values: pd.Series) -> list[str]:
    """Distinct values in order of first appearance (the order the frame gives)."""
    return list(dict.fromkeys(values.astype(str)))
