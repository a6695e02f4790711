"""Charts of the forecast: the fan of P10–P90 with actuals, every method's back-test, the
forecast per team or owner against its target (frames from :mod:`kamlib.forecast`)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from kamlib.charts.base import BAR_STEP, COLOR, WIDTH, message_chart, money_axis, require_columns
from kamlib.methodology.labels import check_lang, label


def _period_axis(periods: list[str]) -> alt.Axis:
    """Period labels level while they fit (about 10 across the chart), slanted beyond."""
    return alt.Axis(labelAngle=0 if len(periods) <= 10 else -40)


def forecast_fan(track: pd.DataFrame, *, lang: str = "en", measure: str = "bookings") -> alt.Chart:
    """Fan chart: P10–P90 band and P50 line per period, with actuals where known.

    ``track`` needs ``period``, ``p10``, ``p50``, ``p90``; ``actual`` (NaN for the period
    still to come) and ``weighted_pipeline`` are drawn when present.  Pass the back-test's
    company rows followed by the current forecast to show the track record and the outlook;
    earlier periods with an actual and no forecast (NaN P10–P90) show the history before it.
    ``measure`` is the label key of the y axis (``bookings``, ``revenue``).
    """
    check_lang(lang)
    require_columns(track, ("period", "p10", "p50", "p90"), "forecast_fan")
    if track.empty:
        return message_chart(label("nothing_to_show", lang))
    t_per = label("period", lang)
    t_p10, t_p50, t_p90 = label("p10", lang), label("p50", lang), label("p90", lang)
    periods = track["period"].astype(str).tolist()
    source = pd.DataFrame(
        {
            t_per: periods,
            t_p10: track["p10"].astype(float).to_numpy(),
            t_p50: track["p50"].astype(float).to_numpy(),
            t_p90: track["p90"].astype(float).to_numpy(),
        }
    )
    x = alt.X(f"{t_per}:O", sort=periods, title=None, axis=_period_axis(periods))
    money = money_axis(lang)
    tips = [alt.Tooltip(f"{t_per}:O")] + [
        alt.Tooltip(f"{c}:Q", format=",.0f") for c in (t_p10, t_p50, t_p90)
    ]
    # one legend says what the band, the line and each kind of point are
    t_series, t_value = label("fan_legend", lang), label(measure, lang)
    t_band, t_median = label("fan_band", lang), label("fan_median", lang)
    entries = [(t_band, COLOR, "square"), (t_median, COLOR, "circle")]
    points = [pd.DataFrame({t_per: periods, t_value: source[t_p50], t_series: t_median})]
    for column, colour, shape in (("weighted_pipeline", "#9aa5b1", "square"),
                                  ("actual", "#d64545", "diamond")):  # fmt: skip
        if column in track and track[column].notna().any():
            t_c = label(column, lang)
            entries.append((t_c, colour, shape))
            values = track[column].astype(float).to_numpy()
            points.append(pd.DataFrame({t_per: periods, t_value: values, t_series: t_c}))
    names = [e[0] for e in entries]
    colour = alt.Color(
        f"{t_series}:N",
        scale=alt.Scale(domain=names, range=[e[1] for e in entries]),
        legend=alt.Legend(title=None, orient="bottom", symbolOpacity=0.8),
    )
    shape = alt.Shape(
        f"{t_series}:N", scale=alt.Scale(domain=names, range=[e[2] for e in entries])
    )
    band = source.assign(**{t_series: t_band})
    pts = pd.concat(points, ignore_index=True)
    pts = pts[pts[t_value].notna()]
    layers: list[alt.Chart] = [
        alt.Chart(band).mark_area(opacity=0.25).encode(
            x=x, y=alt.Y(f"{t_p10}:Q", title=label(measure, lang), axis=money),
            y2=f"{t_p90}:Q", color=colour, tooltip=tips,
        ),
        alt.Chart(source).mark_line(color=COLOR).encode(x=x, y=f"{t_p50}:Q", tooltip=tips),
        alt.Chart(pts).mark_point(filled=True, size=70).encode(
            x=x, y=f"{t_value}:Q", color=colour, shape=shape,
            tooltip=[alt.Tooltip(f"{t_per}:O"), alt.Tooltip(f"{t_series}:N"),
                     alt.Tooltip(f"{t_value}:Q", format=",.0f")],
        ),
    ]  # fmt: skip
    return alt.layer(*layers).properties(width=WIDTH, height=260)


def forecast_methods(
    track: pd.DataFrame, *, lang: str = "en", measure: str = "bookings"
) -> alt.Chart:
    """Every forecast method's P50 per back-test period (one line each) and the actuals.

    ``track`` has ``period``, ``method`` (label key, e.g. ``fc_method_naive``), ``p50``,
    ``actual`` and optionally ``chosen`` (bool: the headline method is drawn thicker).
    ``measure`` is the label key of the y axis (``bookings``, ``revenue``).
    """
    check_lang(lang)
    require_columns(track, ("period", "method", "p50", "actual"), "forecast_methods")
    t = track[track["p50"].notna()]
    if t.empty:
        return message_chart(label("nothing_to_show", lang))
    t_per, t_m, t_p50 = label("period", lang), label("method", lang), label("p50", lang)
    t_act = label("actual", lang)
    periods = list(dict.fromkeys(track["period"].astype(str)))
    names = [label(str(m), lang) for m in dict.fromkeys(t["method"].astype(str))]
    chosen = t["chosen"].astype(bool) if "chosen" in t else pd.Series(False, index=t.index)
    source = pd.DataFrame(
        {
            t_per: t["period"].astype(str).to_numpy(),
            t_m: [label(str(m), lang) for m in t["method"]],
            t_p50: t["p50"].astype(float).to_numpy(),
            "width": np.where(chosen.to_numpy(), 3.5, 1.5),
        }
    )
    x = alt.X(f"{t_per}:O", sort=periods, title=None, axis=_period_axis(periods))
    lines = (
        alt.Chart(source)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y(f"{t_p50}:Q", title=label(measure, lang), axis=money_axis(lang)),
            color=alt.Color(f"{t_m}:N", sort=names, scale=alt.Scale(scheme="tableau10")),
            strokeWidth=alt.StrokeWidth("width:Q", scale=None, legend=None),
            tooltip=[alt.Tooltip(f"{t_per}:O"), alt.Tooltip(f"{t_m}:N"),
                     alt.Tooltip(f"{t_p50}:Q", format=",.0f")],
        )
    )  # fmt: skip
    acts = track.drop_duplicates("period")
    acts = pd.DataFrame(
        {t_per: acts["period"].astype(str).to_numpy(), t_act: acts["actual"].astype(float)}
    )
    acts = acts[acts[t_act].notna()]
    points = (
        alt.Chart(acts)
        .mark_point(shape="diamond", filled=True, size=90, color="#d64545")
        .encode(x=x, y=f"{t_act}:Q",
                tooltip=[alt.Tooltip(f"{t_per}:O"), alt.Tooltip(f"{t_act}:Q", format=",.0f")])
    )  # fmt: skip
    return alt.layer(lines, points).properties(width=WIDTH, height=280)


def forecast_by_group(
    gap: pd.DataFrame, *, lang: str = "en", measure: str = "bookings"
) -> alt.Chart:
    """P10–P90 bars with the P50 tick and the target per team / owner (gap to target).

    ``gap`` is :func:`kamlib.forecast.gap_to_target` (``name``, ``p10``, ``p50``, ``p90``,
    ``closed_to_date``, ``target`` — NaN without one —, ``p_reach``), one row per group.
    ``measure`` is the label key of the x axis (``bookings``, ``revenue``).
    """
    check_lang(lang)
    require_columns(gap, ("name", "p10", "p50", "p90", "target"), "forecast_by_group")
    if gap.empty:
        return message_chart(label("nothing_to_show", lang))
    t_name, t_target = label("name", lang), label("target", lang)
    t_p10, t_p50, t_p90 = label("p10", lang), label("p50", lang), label("p90", lang)
    t_reach = label("p_reach", lang)
    names = gap["name"].astype(str).tolist()
    source = pd.DataFrame(
        {
            t_name: names,
            t_p10: gap["p10"].astype(float).to_numpy(),
            t_p50: gap["p50"].astype(float).to_numpy(),
            t_p90: gap["p90"].astype(float).to_numpy(),
            t_target: gap["target"].astype(float).to_numpy(),
            t_reach: gap["p_reach"].astype(float).to_numpy() if "p_reach" in gap else np.nan,
        }
    )
    y = alt.Y(f"{t_name}:N", sort=names, title=None)
    tips = (
        [alt.Tooltip(f"{t_name}:N")]
        + [alt.Tooltip(f"{c}:Q", format=",.0f") for c in (t_p10, t_p50, t_p90, t_target)]
        + [alt.Tooltip(f"{t_reach}:Q", format=".0%")]
    )
    band = alt.Chart(source).mark_bar(opacity=0.35, color=COLOR, height=12).encode(
        y=y, x=alt.X(f"{t_p10}:Q", title=label(measure, lang), axis=money_axis(lang)),
        x2=f"{t_p90}:Q", tooltip=tips,
    )  # fmt: skip
    mid = (
        alt.Chart(source)
        .mark_tick(color=COLOR, thickness=3, size=16)
        .encode(y=y, x=f"{t_p50}:Q", tooltip=tips)
    )
    target = (
        alt.Chart(source[source[t_target].notna()])
        .mark_point(shape="diamond", filled=True, size=80, color="#d64545")
        .encode(y=y, x=f"{t_target}:Q", tooltip=tips)
    )
    return (band + mid + target).properties(width=WIDTH - 140, height=alt.Step(BAR_STEP + 4))
